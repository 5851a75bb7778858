/* vk_cycles: the cycle and energy model of the vitskip kernel on the ZCU102.
 *
 * Counts the clock cycles of kernels/vk_kernel.c AS WRITTEN (its loops, the
 * directives in kernels/hls/directives.tcl, and Vitis HLS's automatic
 * pipelining of the unannotated loops at II = 1, UG1399 "Automatic Loop
 * Pipelining"), stage by stage (vk_stage), for one image, a mode word per
 * encoder and a START/SAVE pair; then latency = cycles / clock and
 * energy = static power * latency + pJ/MAC * MACs + pJ/byte * DDR bytes
 * + pJ/byte * on-chip bytes. Every parameter comes from a board file
 * (boards/zcu102.json), each with a "source" string saying where it comes
 * from or that it is an assumption. Nothing here is measured: every figure
 * is "modeled".
 *
 * The count (P = mac_pe, N = mac_lanes, depth = pipeline_depth; a loop of
 * `trip` iterations doing `lanes` elements per cycle costs
 * loop(trip, lanes) = ceil(trip / lanes) + depth, and 0 when trip = 0):
 *   linear(n_tok, n_in, n_out)  (vk_k_linear), per tile of p <= P rows:
 *       load  = ceil(p * n_in / R) + depth      lin_load, R bytes/cycle =
 *               min(wt_load_bytes_per_cycle, axi_port_bits/8, DDR bytes/cycle)
 *       comp  = n_tok * (loop(p, io) + loop(n_in, N) + loop(p, io))
 *               lin_init, lin_itile (pipelined MAC array), lin_store
 *       serial: sum(load + comp); double_buffered: load_0 +
 *       sum_j max(comp_j, load_j+1) (the next tile's load under this compute)
 *   LayerNorm row (vk_layernorm_row): 3 * loop(D, ln_lanes) (ln_sum, ln_var,
 *       ln_out) + 3 * div_cycles (mean, variance, reciprocal) + loop(32, 1)
 *       (isqrt_bits); LN1 and LN2 run it for each of the T tokens
 *   attention, per head and query (vk_k_attention):
 *       QK^T    loop(T, P)                                   qk_ktile
 *       softmax loop(T - 1, softmax_max_lanes) + loop(T, softmax_lanes)
 *               + div_cycles + loop(T, softmax_lanes)  sm_max, sm_exp, 1/z, sm_norm
 *       AV      loop(dh, io) + loop(T, P) + loop(dh, io)  av_init, av_vtile, av_store
 *   encoder, attention computed: LN1 (T rows), QKV = linear(T, D, 3D), H*T
 *       times the attention above, proj = linear(T, D, D), LN2 (T rows),
 *       MLP = linear(T, D, M) + loop(T*M, act_lanes) (act_table)
 *       + linear(T, M, D); attention skipped: LN2 and MLP only.
 *   embed (start = 0): loop(D, io) (embed_cls) + G^2 patches of
 *       loop(D, io) + loop(PD, io) + linear(1, PD, D) (embed_pos,
 *       embed_gather, and one linear call PER PATCH, which re-reads the
 *       patch weights G^2 times); start > 0: loop(T*D, io) (act_load);
 *       act_save, when asked: loop(T*D, io). All counted in VK_STAGE_EMBED
 *       ("input and residual-stream I/O").
 *   head: one LayerNorm row + K * loop(D, min(head_lanes, R_axi)) (head_mac
 *       reads wt straight from DDR: R_axi = min(axi_port_bits/8, DDR bytes/
 *       cycle)) + loop(K-1, 1) (argmax) + loop(K-1, 1) + loop(K, 1) +
 *       loop(63, 1) + div_cycles (entropy: max, sum, log2 leading one,
 *       division) + loop(K, io) (out_logits).
 * Not counted: the parameter and mode checks (a few cycles), AXI-Lite
 * control, and par reads: the model assumes the design holds an encoder's
 * par constants on chip (the C reads them through m_axi).
 * MACs: int8 multiply-accumulates of embed, QKV, QK^T, AV, proj, FC1, FC2,
 * head. DDR bytes: weights as the loops stream them (patch weights once per
 * patch), par once per image (the words the run uses), the input image,
 * act load/save (int32) and the out words. On-chip bytes: two int8 operand
 * reads per MAC.
 *
 * Thread-safety: pure functions on caller-owned structs.
 *
 *     vk_cycles_hw hw; vk_cycles_dims d; vk_measure m;
 *     if (vk_cycles_hw_load("boards/zcu102.json", &hw, &err) != VK_OK) die(err.msg);
 *     vk_cycles_dims_from_par(q.par, &d);
 *     vk_path_req req = {.modes = modes};
 *     vk_cycles_measure(&hw, &d, &req, 1, 0, &m);   // m.latency_ms: modeled
 */
#ifndef VK_CYCLES_H
#define VK_CYCLES_H

#include <stdint.h>

#include "boards/vk_board.h"

/* A board file's parameters (see boards/zcu102.json for each one's source). */
typedef struct {
    char board[96];                 /* "ZCU102 (XCZU9EG-FFVB1156-2)" */
    double clock_mhz;               /* kernel clock */
    int mac_pe;                     /* MAC array: output rows per cycle */
    int mac_lanes;                  /* MAC array: inputs per row per cycle */
    int int8_macs_per_dsp;          /* int8 MACs one DSP48E2 does per cycle */
    int dsp_total;                  /* DSP48E2 slices on the device */
    int softmax_lanes;              /* sm_exp / sm_norm elements per cycle */
    int softmax_max_lanes;          /* sm_max elements per cycle */
    int ln_lanes;                   /* LayerNorm passes, elements per cycle */
    int act_lanes;                  /* act_table elements per cycle */
    int io_lanes;                   /* copy/init/store loops, elements per cycle */
    int head_lanes;                 /* head_mac unroll factor */
    double wt_load_bytes_per_cycle; /* lin_load: weight bytes per cycle */
    int axi_port_bits;              /* PL-PS port width of the weight bundle */
    double ddr_bandwidth_gbs;       /* sustained DDR bandwidth, GB/s (1e9) */
    int double_buffered;            /* weight tile load overlaps compute */
    int pipeline_depth;             /* fill latency of a pipelined loop, cycles */
    int div_cycles;                 /* one 64-bit integer division, cycles */
    double static_power_w;          /* power independent of activity, W */
    double pj_per_mac;              /* energy of one int8 MAC, pJ */
    double pj_per_ddr_byte;         /* energy of one DDR byte moved, pJ */
    double pj_per_sram_byte;        /* energy of one on-chip buffer byte, pJ */
} vk_cycles_hw;

/* A model's shape, as the kernel reads it from the par header. */
typedef struct {
    int32_t image, patch, channels, dim, layers, heads, mlp, classes, tokens;
} vk_cycles_dims;

/* Counts for one image. */
typedef struct {
    uint64_t cycles;
    uint64_t stage_cycles[VK_STAGE_N];
    uint64_t macs;
    uint64_t ddr_bytes;
    uint64_t sram_bytes;
    uint64_t load_cycles; /* weight-tile loads not hidden under compute
                             (included in the stages' cycles) */
} vk_cycles_count;

/* Reads and validates a board file (every field present, a number with a
 * "source" string, in range). what names it in errors (usually the path).
 * On error *hw is untouched and err names the file and the field. */
vk_status vk_cycles_hw_parse(const char *text, const char *what, vk_cycles_hw *hw, vk_err *err);
vk_status vk_cycles_hw_load(const char *path, vk_cycles_hw *hw, vk_err *err);

/* The default board file, boards/zcu102.json, found by vk_datafile_find
 * (host/vk_datafile.h: next to the binary, installed or in a build tree,
 * else in the working directory). Fills path (len bytes) or fails with
 * VK_E_NOTFOUND. */
vk_status vk_cycles_hw_find_default(char *path, size_t len, vk_err *err);

/* Checks that hw describes the compiled kernel: mac_pe, mac_lanes and
 * softmax_lanes equal VK_HLS_PE, VK_HLS_LANES, VK_HLS_SM_LANES, and the MAC
 * array fits the DSPs (mac_pe * mac_lanes / int8_macs_per_dsp <= dsp_total). */
vk_status vk_cycles_hw_check_kernel(const vk_cycles_hw *hw, const char *what, vk_err *err);

/* Dimensions from a par header (no validation), and their validation
 * against the kernel's maxima (what vk_kernel_top accepts). */
void vk_cycles_dims_from_par(const int32_t *par, vk_cycles_dims *d);
vk_status vk_cycles_dims_check(const vk_cycles_dims *d, const char *what, vk_err *err);

/* Counts one kernel call: encoders [start, d->layers) in modes[] (indexed by
 * encoder; VK_ATTN_SKIP skips the attention branch, anything else counts as
 * computed), act saved after `save` encoders when save > 0. */
void vk_cycles_run(const vk_cycles_hw *hw, const vk_cycles_dims *d, const uint32_t *modes,
                   int start, int save, vk_cycles_count *c);

double vk_cycles_ms(const vk_cycles_hw *hw, double cycles);
double vk_cycles_mj(const vk_cycles_hw *hw, const vk_cycles_count *c);

/* MACs per cycle of the MAC array times the clock: the roofline bound of
 * `macs` in ms. */
double vk_cycles_roofline_ms(const vk_cycles_hw *hw, uint64_t macs);

/* One line on the model, for vk_measure.note ("modeled: ZCU102 ... @ 200 MHz, ..."). */
void vk_cycles_note(const vk_cycles_hw *hw, char *buf, size_t len);

/* Fills out's modeled fields for req over n images of which n_escalated ran
 * the high path: a single path costs vk_cycles_run(modes, 0, 0); a cascade
 * costs per image the low path (saving act after req->resume encoders when
 * resume > 0) plus, when escalated, the high path's suffix from resume (act
 * load included). Latency, energy and counts are means per image; suffix_ms
 * / suffix_mj are those of the path that resumes (the single path, or the
 * cascade's high path). Sets latency/energy sources to VK_SRC_MODELED, the
 * note, n_images and n_escalated. */
void vk_cycles_measure(const vk_cycles_hw *hw, const vk_cycles_dims *d, const vk_path_req *req,
                       int n, int n_escalated, vk_measure *out);

#endif
