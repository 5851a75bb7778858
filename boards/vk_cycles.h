/* vk_cycles: the cycle and energy model of the vitskip kernel on the ZCU102.
 *
 * Counts what kernels/vk_kernel.c does, loop by loop, for one image, a mode
 * word per encoder and a START/SAVE pair: every labelled loop's trip count
 * (kernels/vk_loops.h; tests/test_cycles.c checks each one against a
 * counting build of the kernel's C simulation, for every mode), then the
 * cycles they take on the design:
 *   - a pipelined loop of n iterations at initiation interval II costs
 *     n * II + depth (depth: engine_depth for eng_mac, div_cycles for the
 *     dividers' loops, 32 + div_cycles for ln_prep, pipeline_depth else),
 *     plus axi_latency for a loop that reads DDR;
 *   - a GEMM op is a sequence of steps whose processes run concurrently
 *     (vk_k_gemm: weight load || engine || epilogue || softmax beside it):
 *     a step costs its longest process plus step_overhead. A weight group
 *     load is 256 beats on every port at once, or the group's bytes at the
 *     DDR bandwidth if that is lower, plus axi_latency;
 *   - every other loop runs alone, one after the other.
 * Then latency = cycles / clock and
 * energy = static power * latency + pJ/MAC * MACs issued by the engine
 * (padding included) + pJ/byte * DDR bytes + pJ/byte * on-chip bytes.
 * Every parameter comes from a board file (boards/zcu102.json) with a
 * "source" string saying where it comes from or that it is an assumption.
 * Nothing here is measured: every figure is "modeled".
 *
 * Stages (vk_stage) get each op's steps: QKV (also q_s/k_s and V alone),
 * QK^T, AV, proj, MLP, the patch embedding with the input I/O (EMBED), the
 * classifier (HEAD), LayerNorms (LN), token pruning (PRUNE), softmax run
 * alone plus the part of a step where a softmax beside an op outlasts the
 * op (SOFTMAX); per-layer constant loads go to the stage that needs them
 * first (LN for an encoder).
 *
 * The roofline of a path is max(compute bound, weight-bandwidth bound):
 * useful MACs at VK_PE * VK_LANES per cycle, and the weight bytes the path
 * streams at min(ports * 16 B, DDR bandwidth) per cycle.
 *
 * Thread-safety: pure functions on caller-owned structs.
 *
 *     vk_cycles_hw hw; vk_cycles_dims d; vk_cycles_count c;
 *     if (vk_cycles_hw_load("boards/zcu102.json", &hw, &err) != VK_OK) die(err.msg);
 *     vk_cycles_dims_from_par(q.par, &d);
 *     vk_cycles_run(&hw, &d, modes, 0, 0, 0, &c);
 *     printf("%.3f ms modeled\n", vk_cycles_ms(&hw, (double)c.cycles));
 */
#ifndef VK_CYCLES_H
#define VK_CYCLES_H

#include <stdint.h>

#include "boards/vk_board.h"
#include "kernels/vk_loops.h"

/* A board file's parameters (see boards/zcu102.json for each one's source). */
typedef struct {
    char board[96];          /* "ZCU102 (XCZU9EG-FFVB1156-2)" */
    double clock_mhz;        /* kernel clock */
    int engine_pe;           /* GEMM engine: output channels (VK_PE) */
    int engine_lanes;        /* GEMM engine: inputs per cycle (VK_LANES) */
    int int8_macs_per_dsp;   /* int8 multiplies one DSP48E2 does per cycle */
    int weight_ports;        /* 128-bit AXI ports streaming weights (VK_WPORTS) */
    int axi_port_bits;       /* width of every AXI port */
    int epilogue_lanes;      /* outputs retired per cycle (VK_EPI_LANES) */
    int ln_lanes;            /* LayerNorm channels per cycle (VK_LN_LANES) */
    int softmax_lanes;       /* softmax elements per cycle (VK_SM_LANES) */
    double ddr_bandwidth_gbs; /* sustained DDR bandwidth, GB/s (1e9) */
    int axi_latency;         /* cycles from a burst's request to its first beat */
    int engine_depth;        /* eng_mac pipeline depth */
    int pipeline_depth;      /* depth of the other pipelined loops */
    int div_cycles;          /* latency of a pipelined 64-bit divider */
    int step_overhead;       /* cycles to start and join a step's processes */
    int dsp_total;           /* DSP48E2 slices on the device */
    int bram36_total;        /* 36 Kb block RAMs */
    int lut_total;
    int ff_total;
    double dsp_budget;       /* largest share of each the design may use */
    double bram_budget;
    double lut_budget;
    double static_power_w;   /* power independent of activity, W */
    double pj_per_mac;       /* energy of one int8 MAC, pJ */
    double pj_per_ddr_byte;  /* energy of one DDR byte moved, pJ */
    double pj_per_sram_byte; /* energy of one on-chip buffer byte, pJ */
} vk_cycles_hw;

/* A model's shape, as the kernel reads it from the par header. */
typedef struct {
    int32_t image, patch, channels, dim, layers, heads, mlp, classes, tokens, prefix;
} vk_cycles_dims;

/* Counts for one kernel call. */
typedef struct {
    uint64_t trips[VK_L_N];   /* iterations of each labelled loop */
    uint64_t cycles;
    uint64_t stage_cycles[VK_STAGE_N];
    uint64_t macs;            /* useful int8 MACs (the model's products) */
    uint64_t macs_issued;     /* MACs the engine issues, padding included */
    uint64_t ddr_bytes;       /* weights, constants, image, act, out, spills */
    uint64_t wt_bytes;        /* weights streamed */
    uint64_t sram_bytes;      /* on-chip buffer traffic */
    uint64_t load_stall;      /* step cycles the weight load outlasted the rest */
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

/* Checks that hw describes the compiled kernel: engine geometry, ports and
 * lanes equal kernels/vk_config.h's. */
vk_status vk_cycles_hw_check_kernel(const vk_cycles_hw *hw, const char *what, vk_err *err);

/* Dimensions from a par header (no validation), and their validation
 * against the kernel's maxima (what vk_kernel_top accepts). */
void vk_cycles_dims_from_par(const int32_t *par, vk_cycles_dims *d);
vk_status vk_cycles_dims_check(const vk_cycles_dims *d, const char *what, vk_err *err);

/* Counts one kernel call: encoders [start, d->layers) in modes[] (indexed
 * by encoder; any word the kernel accepts), the residual stream of
 * `tokens_in` tokens loaded when start > 0 (0: the model's count), saved
 * after `save` encoders when save > 0. Returns the token count at the end. */
int32_t vk_cycles_run(const vk_cycles_hw *hw, const vk_cycles_dims *d, const uint32_t *modes,
                      int start, int save, int32_t tokens_in, vk_cycles_count *c);

double vk_cycles_ms(const vk_cycles_hw *hw, double cycles);
double vk_cycles_mj(const vk_cycles_hw *hw, const vk_cycles_count *c);

/* The roofline of a counted call in ms: max(c->macs at the engine's peak,
 * c->wt_bytes at the weight ports' bandwidth). */
double vk_cycles_roofline_ms(const vk_cycles_hw *hw, const vk_cycles_count *c);

/* One line on the model, for vk_measure.note ("modeled: ZCU102 ... @ 200 MHz, ..."). */
void vk_cycles_note(const vk_cycles_hw *hw, char *buf, size_t len);

/* Tokens in the stream after encoder `upto` (exclusive) from encoder
 * `from` with `tokens` tokens: the pruning that the mode words ask for. */
int32_t vk_cycles_tokens_after(const vk_cycles_dims *d, const uint32_t *modes, int from,
                               int upto, int32_t tokens);

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
