/* vk_kernel: integer-only ViT forward pass for one image on one
 * weight-stationary int8 GEMM engine (see vk_kernel.h).
 *
 * The machine (sizes in vk_config.h, cycles in boards/vk_cycles.c):
 *   - ONE GEMM engine, a stationary block of VK_PE output channels x
 *     VK_LANES inputs held in registers (two int8 multiplies per DSP48E2,
 *     vk_k_mac2). Every matrix product of the model is an op issued to it
 *     from one call site (vk_k_gemm -> vk_k_engine): the patch embedding
 *     over all patches, QKV (or the shared-heads q_s/k_s and V), QK^T and
 *     AV per head, the projection, FC1, FC2 and the classifier(s).
 *   - Per op, the N-tiles run as steps of a three-stage pipeline: while the
 *     engine streams every token through tile s-1 (one token per cycle per
 *     64-input block, II = 1), the loader bursts tile s's weight blocks
 *     from DDR (block kc on port kc % VK_WPORTS, 256 beats each) into the
 *     other half of a ping-pong buffer, and the epilogue retires tile s-2
 *     (bias, requantization, GELU table, residual add with the next
 *     LayerNorm's running sums, raw scores with the row maxima, or logits).
 *     A softmax can run beside any op as a fourth process (heads are
 *     pipelined: softmax of head h runs under the engine's next ops).
 *   - On chip: the residual stream and its LayerNorm sums, every activation
 *     (one int8 activation memory: LayerNorm output / context / patches in
 *     region A, per-head Q/K/V or the MLP hidden in region B), the scores,
 *     the attention probabilities of every head (kept for reuse), the
 *     layer's constants (copied once per layer). DDR is read only by the
 *     weight loader, the per-layer constant copy, the image gather and the
 *     resume load; written by the residual-stream save and the outputs.
 * Per encoder, by mode (README "Per-encoder modes"):
 *   full:   LN1, QKV, [QK^T(h), softmax(h), AV(h)] per head, proj
 *   shared: LN1, q_s/k_s, QK^T, V (softmax beside it), AV per head, proj
 *   reuse:  LN1, V, AV per head with the source encoder's probabilities, proj
 *   skip:   nothing; then (any mode) token pruning when asked, LN2, FC1
 *           (kept FFN tiles only), FC2.
 *
 * Synthesizable subset: no allocation, recursion or function pointers
 * outside `#ifndef __SYNTHESIS__`; every unrolled loop has a constant bound;
 * runtime trip counts are on pipelined loops. Directives for HLS are in
 * this file next to the loops they shape and in kernels/hls/directives.tcl. */
#include "vk_kernel.h"

#include "vk_int.h"

#ifndef __SYNTHESIS__
#include <stdlib.h> /* C simulation: the on-chip memories live on the heap */
#endif

#if defined(VK_COUNT_LOOPS) && !defined(__SYNTHESIS__)
_Thread_local uint64_t vk_loop_trips[VK_L_N];
void vk_loop_trips_reset(void)
{
    for (int i = 0; i < VK_L_N; i++)
        vk_loop_trips[i] = 0;
}
#endif

/* ---- on-chip memories ---------------------------------------------------- */
#define VK_TP VK_PAD64(VK_MAX_TOKENS)    /* 256: a score/probability row */
#define VK_KC_MAX VK_TILES(VK_MAX_MLP)   /* 48 K-chunks: one tile's blocks */
#define VK_HROW 64                       /* a head's Q/K/V row, padded */
#define VK_A_BYTES (VK_MAX_TOKENS * VK_MAX_DIM)
#define VK_QKV_PART (VK_MAX_HEADS * VK_MAX_TOKENS * VK_HROW)
#define VK_B_BYTES (3 * VK_QKV_PART > VK_MAX_TOKENS * VK_MAX_MLP ? 3 * VK_QKV_PART            \
                                                                 : VK_MAX_TOKENS * VK_MAX_MLP)
#define VK_ABUF_BYTES (VK_A_BYTES + VK_B_BYTES)
#define VK_LP_WORDS                                                                           \
    (19 * VK_MAX_DIM + 3 * VK_MAX_MLP + 6 * VK_MAX_HEAD_DIM + 256 + 8 + 4 * 24)

#define VK_WGROUPS 3 /* weight groups in flight: loading, computing, next */

typedef struct {
    int32_t h[VK_MAX_TOKENS * VK_MAX_DIM];     /* residual stream [T][D], S_h */
    int64_t ln_sum[VK_MAX_TOKENS];            /* per token: sum of h */
    int64_t ln_sq[VK_MAX_TOKENS];             /* per token: sum of h^2 */
    int8_t abuf[VK_ABUF_BYTES];               /* activations, regions A, B */
    int32_t sbuf[2][VK_MAX_TOKENS][VK_TP];    /* scores, then exp2 (ping-pong by head) */
    int32_t smax[2][VK_MAX_TOKENS];           /* row maxima of sbuf */
    uint8_t pbuf[2][VK_MAX_TOKENS][VK_TP];    /* probabilities, Q8 (ping-pong by head) */
    uint8_t clsp[VK_MAX_HEADS][VK_TP];        /* every head's class-token row */
    int8_t wbuf[VK_WGROUPS][VK_WPORTS][VK_PE][VK_LANES]; /* weight block groups */
    int8_t reg[2][VK_PE][VK_LANES];           /* the stationary block (registers) */
    int32_t acc[2][VK_MAX_TOKENS][VK_PE];     /* engine accumulators (ping-pong by tile) */
    int32_t lp[VK_LP_WORDS];                  /* the current layer's constants */
    int32_t logit[VK_MAX_CLASSES];
} vk_k_mem;

#ifndef __SYNTHESIS__
size_t vk_kernel_mem_bytes(void)
{
    return sizeof(vk_k_mem);
}
#endif

/* Region A: LayerNorm output [T][Dp], context [T][Dp], patches [T][PDp].
 * Region B: Q, K, V as [part][head][token][64], or the MLP hidden [T][Mp]. */
#define VK_REG_A 0
#define VK_REG_B VK_A_BYTES
#define VK_QKV_AT(part, head, t) (VK_REG_B + (((part) * VK_MAX_HEADS + (head)) * VK_MAX_TOKENS + (t)) * VK_HROW)

/* ---- ops --------------------------------------------------------------- */
enum { VK_X_ABUF = 0, VK_X_PBUF = 1 };                 /* streamed operand */
enum { VK_W_DDR = 0, VK_W_ROWS = 1, VK_W_COLS = 2 };   /* stationary operand */
enum {                                                 /* epilogue */
    VK_E_QKV = 0,  /* int8 into the per-head Q/K/V layout */
    VK_E_FC1,      /* int8 through the activation table into the MLP hidden */
    VK_E_RESID,    /* added to the residual stream, LayerNorm sums kept */
    VK_E_SCORE,    /* raw int32 scores, row maxima */
    VK_E_CTX,      /* int8 context of one head, scalar requant */
    VK_E_LOGIT,    /* logits (the second head averages into the first's) */
    VK_E_LOGIT_AVG
};

enum { VK_OP_GEMM = 0, VK_OP_LN, VK_OP_PRUNE }; /* what an op of the list does */

typedef struct {
    int32_t kind;           /* VK_OP_* */
    int32_t epi;            /* VK_E_* */
    int32_t rows;           /* tokens streamed through the engine */
    int32_t n_lo, n_hi;     /* output channels [n_lo, n_hi) of the matrix */
    int32_t n_in;           /* inputs (K) */
    int32_t x_src, x_off, x_stride; /* X[t][k] */
    int32_t w_src;          /* VK_W_* */
    uint32_t w_off;         /* DDR: tiled matrix byte offset; on chip: abuf offset */
    int32_t w_stride;       /* on chip: bytes between rows */
    int32_t o_off, o_stride, row0; /* output placement */
    int32_t part_w, part0;  /* VK_E_QKV: outputs per part, first part */
    int32_t head;           /* VK_E_SCORE: sbuf half; VK_E_CTX: head */
    int32_t x_head;         /* VK_X_PBUF: which probability set streams */
    int32_t w_kc;           /* VK_W_DDR: K-chunks per tile in the stored matrix */
    int32_t p_b, p_m, p_s;  /* lp offsets of bias, mult, shift (-1: no bias) */
    int32_t p_tab;          /* VK_E_FC1: lp offset of the activation table */
    int32_t m_c, s_c;       /* VK_E_CTX: scalar mult, shift */
    /* a softmax beside this op: rows [sm_r0, sm_r1) of sbuf half sm_buf
       into pbuf[sm_head] (sm_head < 0: none) */
    int32_t sm_head, sm_buf, sm_r0, sm_r1, sm_m, sm_s, sm_cols;
    /* a probability set moving beside this op, its rows shared out over the
       steps: pbuf[sp_slot] out to ps set sp_set (sp_set < 0: none), or ps
       set fl_set into pbuf[fl_slot] (fl_set < 0: none); xp_rows rows */
    int32_t sp_set, sp_slot, fl_set, fl_slot, xp_rows;
    /* VK_OP_LN: rows, lp offsets of gamma and beta (p_m, p_s unused);
       VK_OP_PRUNE: rows tokens, the class rows of n_sets heads, keep % */
    int32_t ln_g, ln_b, n_sets, keep;
} vk_k_op;

#define VK_OPS_MAX 32 /* ops of one stage: an encoder at most 6 + 2 x 12 + 1 */

typedef struct {
    vk_k_op op[VK_OPS_MAX];
    int32_t n;
} vk_k_plan;

typedef struct {
    int32_t d, dp, heads, dh, mlp, classes, prefix, eps;
} vk_k_dims;

/* ---- the engine's arithmetic --------------------------------------------- */

/* Two products sharing the streamed operand x (an int8 activation or a Q8
 * probability, -128..255) in one DSP48E2: (w1 * 2^18 + w0) * x on the
 * 27 x 18 multiplier. |w0 * x| <= 32640 < 2^17, so w0 * x is the low 18
 * bits sign-extended and w1 * x the rest: both exact. */
static inline void vk_k_mac2(int32_t x, int32_t w0, int32_t w1, int32_t *p0, int32_t *p1)
{
    int64_t packed = (int64_t)w1 * 262144 + w0;
    int64_t p = packed * x;
#pragma HLS BIND_OP variable = p op = mul impl = dsp
    uint64_t low = (uint64_t)p & 0x3FFFFu;
    int64_t lo = low >= 0x20000u ? (int64_t)low - 0x40000 : (int64_t)low;
    *p0 = (int32_t)lo;
    *p1 = (int32_t)((p - lo) / 262144);
}

/* Where block b of an op comes from: its tile, input chunk, and (DDR) its
 * weight group and slot. Blocks run tile by tile, chunks in order; a tile's
 * chunks form groups of VK_WPORTS (the last may be shorter). */
typedef struct {
    int32_t nt, kc, grp, slot;
} vk_k_blk;

static vk_k_blk vk_k_block(const vk_k_op *op, int32_t b)
{
    int32_t n_kc = (int32_t)VK_TILES(op->n_in), gpt = (n_kc + VK_WPORTS - 1) / VK_WPORTS;
    vk_k_blk r;
    r.nt = b / n_kc;
    r.kc = b % n_kc;
    r.grp = r.nt * gpt + r.kc / VK_WPORTS;
    r.slot = r.kc % VK_WPORTS;
    return r;
}

/* Loads row r of block b's stationary weights into reg[b & 1] (one row of 64
 * bytes per cycle: from the weight group buffer, from on-chip K rows, or
 * from V rows written as columns for AV). Rows past the matrix are 0. */
static void vk_k_reg_row(const vk_k_op *op, vk_k_mem *m, int32_t b, int32_t r)
{
    vk_k_blk k = vk_k_block(op, b);
    int32_t c, base, t0 = op->n_lo / VK_PE;
    int8_t(*reg)[VK_LANES] = m->reg[b & 1];
    if (op->w_src == VK_W_DDR) {
    reg_ddr:
        for (c = 0; c < VK_LANES; c++)
            reg[r][c] = m->wbuf[k.grp % VK_WGROUPS][k.slot][r][c];
    } else if (op->w_src == VK_W_ROWS) { /* W[n][k] = K row n (keys) */
        int32_t n = (t0 + k.nt) * VK_PE + r;
        base = (int32_t)op->w_off + n * op->w_stride;
    reg_rows:
        for (c = 0; c < VK_LANES; c++)
            reg[r][c] = n < op->n_hi && c < op->n_in ? m->abuf[base + c] : 0;
    } else { /* W[c][j] = V[j][c]: V row j = kc*64 + r fills column r */
        int32_t j = k.kc * VK_LANES + r;
        base = (int32_t)op->w_off + j * op->w_stride;
    reg_cols:
        for (c = 0; c < VK_PE; c++)
            reg[c][r] = j < op->n_in && c < op->n_hi ? m->abuf[base + c] : 0;
    }
}

/* The first block's stationary registers, one row per cycle. */
static void vk_k_prologue(const vk_k_op *op, vk_k_mem *m)
{
    int32_t r;
eng_prologue:
    for (r = 0; r < VK_PE; r++) {
#pragma HLS PIPELINE II = 1
        VK_TRIP(ENG_PROLOGUE);
        vk_k_reg_row(op, m, 0, r);
    }
}

/* Blocks [b0, b0 + nb) of the op: every token streams through each
 * stationary block, one token per cycle (II = 1); while block b computes,
 * the registers of block b + 1 load one row per cycle, so a block costs
 * max(rows, VK_PE) cycles. Each tile accumulates in acc[tile & 1]. (hls-lint: single instance) */
static void vk_k_engine(const vk_k_op *op, vk_k_mem *m, int32_t b0, int32_t nb, int32_t nb_all)
{
    int32_t tt = op->rows > VK_PE ? op->rows : VK_PE, i, t = 0, b = b0, n, c;
eng_mac:
    for (i = 0; i < nb * tt; i++) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 64 max = 792
#pragma HLS DEPENDENCE variable = m->acc inter false
        VK_TRIP(ENG_MAC);
        vk_k_blk k = vk_k_block(op, b);
        if (t < op->rows) {
            int32_t x[VK_LANES];
            int32_t(*acc)[VK_PE] = m->acc[k.nt & 1];
#pragma HLS ARRAY_PARTITION variable = x complete
        eng_x:
            for (c = 0; c < VK_LANES; c++) {
                int32_t kk = k.kc * VK_LANES + c;
                x[c] = kk >= op->n_in ? 0
                       : op->x_src == VK_X_PBUF
                           ? (int32_t)m->pbuf[op->x_head][t][kk]
                           : (int32_t)m->abuf[op->x_off + t * op->x_stride + kk];
            }
        eng_pe:
            for (n = 0; n < VK_PE; n += 2) {
                int32_t s0 = k.kc == 0 ? 0 : acc[t][n], s1 = k.kc == 0 ? 0 : acc[t][n + 1];
            eng_lane:
                for (c = 0; c < VK_LANES; c++) {
                    int32_t p0, p1;
                    vk_k_mac2(x[c], m->reg[b & 1][n][c], m->reg[b & 1][n + 1][c], &p0, &p1);
                    s0 += p0;
                    s1 += p1;
                }
                acc[t][n] = s0;
                acc[t][n + 1] = s1;
            }
        }
        if (t < VK_PE && b + 1 < nb_all)
            vk_k_reg_row(op, m, b + 1, t);
        if (++t == tt) {
            t = 0;
            b++;
        }
    }
}

/* Weight group g of a DDR op into wbuf[g % VK_WGROUPS]: its blocks come
 * over ports 0..3 side by side, each block one 256-beat burst. (hls-lint: ddr) */
static void vk_k_wload(const vk_k_op *op, const vk_wword *w0, const vk_wword *w1,
                       const vk_wword *w2, const vk_wword *w3, vk_k_mem *m, int32_t g)
{
    int32_t n_kc = (int32_t)VK_TILES(op->n_in), gpt = (n_kc + VK_WPORTS - 1) / VK_WPORTS;
    int32_t nt = op->n_lo / VK_PE + g / gpt, kc0 = g % gpt * VK_WPORTS, i, p, e;
    uint32_t tile = op->w_off / VK_AXI_BYTES + (uint32_t)(nt * op->w_kc) * VK_BLOCK_BEATS;
wl_beat:
    for (i = 0; i < VK_BLOCK_BEATS; i++) {
#pragma HLS PIPELINE II = 1
        VK_TRIP(WL_BEAT);
        int32_t row = i / (VK_LANES / VK_AXI_BYTES);
        int32_t col = i % (VK_LANES / VK_AXI_BYTES) * VK_AXI_BYTES;
    wl_port:
        for (p = 0; p < VK_WPORTS; p++) {
            if (kc0 + p < n_kc) {
                uint32_t at = tile + (uint32_t)(kc0 + p) * VK_BLOCK_BEATS + (uint32_t)i;
                vk_wword v = p == 0 ? w0[at] : p == 1 ? w1[at] : p == 2 ? w2[at] : w3[at];
            wl_byte:
                for (e = 0; e < VK_AXI_BYTES; e++)
                    m->wbuf[g % VK_WGROUPS][p][row][col + e] = v.b[e];
            }
        }
    }
}

/* Retires rows [r0, r1) of tile nt (op-relative) from acc[nt & 1]:
 * VK_EPI_LANES outputs per cycle (VK_PE raw scores, which need no
 * multiplier). The residual epilogue also keeps each token's sum and sum of
 * squares for the next LayerNorm. */
static void vk_k_epilogue(const vk_k_op *op, vk_k_mem *m, const vk_k_dims *dm, int32_t nt,
                          int32_t r0, int32_t r1)
{
    int32_t lanes = op->epi == VK_E_SCORE ? VK_PE : VK_EPI_LANES;
    int32_t groups = VK_PE / lanes, i, e, t = r0, g = 0, tile = op->n_lo / VK_PE + nt;
    int32_t(*acc)[VK_PE] = m->acc[nt & 1];
    if (r1 <= r0)
        return;
epi_out:
    for (i = 0; i < (r1 - r0) * groups; i++) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 792
        VK_TRIP(EPI_OUT);
        int64_t sum = 0, sq = 0;
    epi_lane:
        for (e = 0; e < VK_PE; e++) {
            int32_t c = g * lanes + e, n = tile * VK_PE + c, j = n - op->n_lo;
            int64_t a;
            if (e >= lanes || n < op->n_lo || n >= op->n_hi)
                continue;
            a = (int64_t)acc[t][c] + (op->p_b >= 0 ? m->lp[op->p_b + j] : 0);
            if (op->epi == VK_E_QKV) {
                int32_t part = op->part0 + j / op->part_w;
                int32_t hd = j % op->part_w / dm->dh, cc = j % dm->dh;
                m->abuf[VK_QKV_AT(part, hd, t) + cc] =
                    vk_sat8(vk_requant(a, m->lp[op->p_m + j], m->lp[op->p_s + j]));
            } else if (op->epi == VK_E_FC1) {
                int8_t q = vk_sat8(vk_requant(a, m->lp[op->p_m + j], m->lp[op->p_s + j]));
                m->abuf[op->o_off + t * op->o_stride + j] = (int8_t)m->lp[op->p_tab + q + 128];
            } else if (op->epi == VK_E_RESID) {
                int32_t at = (op->row0 + t) * VK_MAX_DIM + j;
                int32_t v = vk_sat_resid((int64_t)m->h[at] +
                                         vk_requant(a, m->lp[op->p_m + j], m->lp[op->p_s + j]));
                m->h[at] = v;
                sum += v;
                sq += (int64_t)v * v;
            } else if (op->epi == VK_E_SCORE) {
                int32_t v = (int32_t)a;
                m->sbuf[op->head][t][j] = v;
                if (j == 0 || v > m->smax[op->head][t])
                    m->smax[op->head][t] = v;
            } else if (op->epi == VK_E_CTX) {
                m->abuf[op->o_off + t * op->o_stride + op->head * dm->dh + j] =
                    vk_sat8(vk_requant(a, op->m_c, op->s_c));
            } else { /* VK_E_LOGIT, VK_E_LOGIT_AVG */
                int32_t v = vk_sat30(vk_requant(a, m->lp[op->p_m + j], m->lp[op->p_s + j]));
                m->logit[j] = op->epi == VK_E_LOGIT
                                  ? v
                                  : (int32_t)vk_rshift_round((int64_t)m->logit[j] + v, 1);
            }
        }
        if (op->epi == VK_E_RESID) {
            int32_t row = op->row0 + t, first = tile == 0 && g == 0;
            m->ln_sum[row] = (first ? 0 : m->ln_sum[row]) + sum;
            m->ln_sq[row] = (first ? 0 : m->ln_sq[row]) + sq;
        }
        if (++g == groups) {
            g = 0;
            t++;
        }
    }
}

/* Softmax of rows [r0, r1) of the scores in sbuf[b] (n_cols keys) into
 * pbuf[b] (and each head's class-token row into clsp[hd]): exp2 of the
 * max-subtracted scaled scores (written over the scores), one reciprocal
 * per row, Q8 probabilities; VK_SM_LANES elements per cycle. The same
 * integers as vk_softmax_row_q8. */
static void vk_k_softmax(vk_k_mem *m, int32_t b, int32_t hd, int32_t r0, int32_t r1,
                         int32_t n_cols, int32_t mult, int32_t shift)
{
    int64_t z[VK_MAX_TOKENS], rz[VK_MAX_TOKENS];
    int32_t n_ch = (n_cols + VK_SM_LANES - 1) / VK_SM_LANES, i, e, r = r0, ch = 0;
    if (r1 <= r0)
        return;
sm_exp:
    for (i = 0; i < (r1 - r0) * n_ch; i++) {
#pragma HLS PIPELINE II = 1
        VK_TRIP(SM_EXP);
        int64_t part = 0;
    sm_exp_lane:
        for (e = 0; e < VK_SM_LANES; e++) {
            int32_t j = ch * VK_SM_LANES + e;
            if (j < n_cols) {
                int32_t v = vk_exp2_neg_q16(vk_rshift_round(
                    (int64_t)(m->sbuf[b][r][j] - m->smax[b][r]) * mult, shift));
                m->sbuf[b][r][j] = v;
                part += v;
            }
        }
        z[r] = (ch == 0 ? 0 : z[r]) + part;
        if (++ch == n_ch) {
            ch = 0;
            r++;
        }
    }
sm_div:
    for (r = r0; r < r1; r++) {
#pragma HLS PIPELINE II = 1
        VK_TRIP(SM_DIV);
        rz[r] = ((int64_t)1 << 40) / z[r]; /* z >= 32768: the max term */
    }
    r = r0;
    ch = 0;
sm_norm:
    for (i = 0; i < (r1 - r0) * n_ch; i++) {
#pragma HLS PIPELINE II = 1
        VK_TRIP(SM_NORM);
    sm_norm_lane:
        for (e = 0; e < VK_SM_LANES; e++) {
            int32_t j = ch * VK_SM_LANES + e;
            if (j < n_cols) {
                int64_t q = vk_rshift_round((int64_t)m->sbuf[b][r][j] * rz[r], 32);
                uint8_t p = (uint8_t)(q > 255 ? 255 : q);
                m->pbuf[b][r][j] = p;
                if (r == 0)
                    m->clsp[hd][j] = p;
            }
        }
        if (++ch == n_ch) {
            ch = 0;
            r++;
        }
    }
}

/* Rows [r0, r1) of probability set `set` between pbuf[slot] and the DDR
 * spill area ps ([set][token][VK_TP] bytes), 16 bytes per beat over the
 * io port: out for an encoder whose attention a later one reuses, in when
 * reusing it. (hls-lint: ddr) */
static void vk_k_p_spill(uint8_t *ps, int32_t set, int32_t slot, int32_t r0, int32_t r1,
                         int32_t n_tok, const vk_k_mem *m)
{
    int32_t nb = (n_tok + 15) / 16, i, e, r = r0, c = 0;
    if (r1 <= r0)
        return;
p_spill:
    for (i = 0; i < (r1 - r0) * nb; i++) {
#pragma HLS PIPELINE II = 1
        VK_TRIP(P_SPILL);
    p_spill_byte:
        for (e = 0; e < 16; e++)
            ps[(set * VK_MAX_TOKENS + r) * VK_TP + c * 16 + e] = m->pbuf[slot][r][c * 16 + e];
        if (++c == nb) {
            c = 0;
            r++;
        }
    }
}

/* (hls-lint: ddr) */
static void vk_k_p_fill(const uint8_t *ps, int32_t set, int32_t slot, int32_t r0, int32_t r1,
                        int32_t n_tok, vk_k_mem *m)
{
    int32_t nb = (n_tok + 15) / 16, i, e, r = r0, c = 0;
    if (r1 <= r0)
        return;
p_fill:
    for (i = 0; i < (r1 - r0) * nb; i++) {
#pragma HLS PIPELINE II = 1
        VK_TRIP(P_FILL);
    p_fill_byte:
        for (e = 0; e < 16; e++)
            m->pbuf[slot][r][c * 16 + e] = ps[(set * VK_MAX_TOKENS + r) * VK_TP + c * 16 + e];
        if (++c == nb) {
            c = 0;
            r++;
        }
    }
}

/* 1 if op streams DDR weights (its first groups can be fetched ahead). */
static int32_t vk_k_prefetchable(const vk_k_op *op)
{
    return op->kind == VK_OP_GEMM && op->w_src == VK_W_DDR && op->n_hi > op->n_lo;
}

/* A DDR op's first two steps, run ahead while the op before it finishes:
 * weight group 0, then group 1 beside the first block's registers. */
static void vk_k_pre(const vk_k_op *op, const vk_wword *w0, const vk_wword *w1,
                     const vk_wword *w2, const vk_wword *w3, vk_k_mem *m)
{
    int32_t n_kc = (int32_t)VK_TILES(op->n_in), gpt = (n_kc + VK_WPORTS - 1) / VK_WPORTS;
    int32_t n_g = ((int32_t)VK_TILES(op->n_hi) - op->n_lo / VK_PE) * gpt;
    vk_k_wload(op, w0, w1, w2, w3, m, 0);
    if (n_g > 1)
        vk_k_wload(op, w0, w1, w2, w3, m, 1);
    vk_k_prologue(op, m);
}

/* One GEMM op, as steps whose processes run concurrently (each step touches
 * different buffer halves, so a step costs its longest process):
 *   DDR weights: step s loads group s (4 blocks over 4 ports) while the
 *   engine computes group s - 2 (the group between is complete, so the
 *   engine can preload its first block's registers) and the epilogue
 *   retires the previous tile, its rows shared out over the current tile's
 *   steps; one step at the end drains the last tile.
 *   On-chip weights (QK^T, AV): step s computes tile s, retires tile s - 1.
 * A softmax or a probability transfer beside the op has its rows shared out
 * over all steps; an op with no tiles runs just that. pre: the op before
 * fetched this op's first two steps (vk_k_pre), so it starts at step 2; nx:
 * a DDR op to fetch ahead in the last step (the drain). (hls-lint: single instance) */
static void vk_k_gemm(const vk_k_op *op, const vk_k_op *nx, int32_t pre, const vk_wword *w0,
                      const vk_wword *w1, const vk_wword *w2, const vk_wword *w3, uint8_t *ps,
                      vk_k_mem *m, const vk_k_dims *dm)
{
    int32_t n_t = (int32_t)VK_TILES(op->n_hi) - op->n_lo / VK_PE;
    int32_t n_kc = (int32_t)VK_TILES(op->n_in), ddr = op->w_src == VK_W_DDR;
    int32_t gpt = ddr ? (n_kc + VK_WPORTS - 1) / VK_WPORTS : 1; /* engine steps per tile */
    int32_t n_g = n_t * gpt, lag = ddr ? 2 : 0, n_steps = n_g + lag + 1, s;
    int32_t s0 = pre ? lag : 0, n_run = n_steps - s0; /* the steps this call runs */
    int32_t sm_rows = op->sm_head >= 0 ? op->sm_r1 - op->sm_r0 : 0;
    int32_t sm_step = (sm_rows + n_run - 1) / n_run;
    int32_t xp_step = (op->xp_rows + n_run - 1) / n_run;
    int32_t epi_step = (op->rows + gpt - 1) / gpt;
gemm_step:
    for (s = s0; s < n_steps; s++) {
#pragma HLS LOOP_TRIPCOUNT min = 2 max = 580
#pragma HLS DEPENDENCE variable = m->wbuf inter false
#pragma HLS DEPENDENCE variable = m->acc inter false
        VK_TRIP(GEMM_STEP);
        int32_t ge = s - lag; /* the engine's group (a tile when on chip) */
        if (ddr && s < n_g)
            vk_k_wload(op, w0, w1, w2, w3, m, s);
        if (s == (ddr ? 1 : 0) && n_t > 0)
            vk_k_prologue(op, m);
        if (ge >= 0 && ge < n_g) {
            int32_t b0 = ge / gpt * n_kc + ge % gpt * VK_WPORTS;
            int32_t nb = ddr ? (n_kc - ge % gpt * VK_WPORTS < VK_WPORTS
                                    ? n_kc - ge % gpt * VK_WPORTS
                                    : VK_WPORTS)
                             : n_kc;
            vk_k_engine(op, m, b0, nb, n_t * n_kc);
        }
        if (ge >= gpt) { /* the previous tile, a share of its rows per step */
            int32_t tp = ge / gpt - 1, i = ge % gpt;
            if (ge >= n_g) { /* drain: all of the last tile */
                tp = n_t - 1;
                i = 0;
            }
            int32_t a = i * epi_step, e = ge >= n_g ? op->rows : a + epi_step;
            vk_k_epilogue(op, m, dm, tp, a < op->rows ? a : op->rows, e < op->rows ? e : op->rows);
        }
        if (sm_rows > 0) {
            int32_t a = op->sm_r0 + (s - s0) * sm_step, e = a + sm_step;
            vk_k_softmax(m, op->sm_buf, op->sm_head, a < op->sm_r1 ? a : op->sm_r1,
                         e < op->sm_r1 ? e : op->sm_r1, op->sm_cols, op->sm_m, op->sm_s);
        }
        if (op->xp_rows > 0) {
            int32_t a = (s - s0) * xp_step, e = a + xp_step, n = op->xp_rows;
            a = a < n ? a : n;
            e = e < n ? e : n;
            if (op->sp_set >= 0)
                vk_k_p_spill(ps, op->sp_set, op->sp_slot, a, e, n, m);
            if (op->fl_set >= 0)
                vk_k_p_fill(ps, op->fl_set, op->fl_slot, a, e, n, m);
        }
        if (nx && s == n_steps - 1) /* the engine is done: the next op's weights */
            vk_k_pre(nx, w0, w1, w2, w3, m);
    }
}

/* LayerNorm of rows [0, rows) of h into region A ([row][dp] int8), from the
 * running sums the residual epilogue kept: per token the mean, integer
 * square root (unrolled: 32 stages) and reciprocal, pipelined over tokens;
 * then VK_LN_LANES channels per cycle. */
static void vk_k_layernorm(vk_k_mem *m, const vk_k_dims *dm, int32_t rows, int32_t p_g,
                           int32_t p_b)
{
    int64_t mean[VK_MAX_TOKENS], inv[VK_MAX_TOKENS];
    int32_t n_ch = (dm->d + VK_LN_LANES - 1) / VK_LN_LANES, i, e, t, t2 = 0, ch = 0;
ln_prep:
    for (t = 0; t < rows; t++) {
#pragma HLS PIPELINE II = 1
        VK_TRIP(LN_PREP);
        vk_ln_stats(m->ln_sum[t], m->ln_sq[t], dm->d, dm->eps, &mean[t], &inv[t]);
    }
ln_out:
    for (i = 0; i < rows * n_ch; i++) {
#pragma HLS PIPELINE II = 1
        VK_TRIP(LN_OUT);
    ln_lane:
        for (e = 0; e < VK_LN_LANES; e++) {
            int32_t c = ch * VK_LN_LANES + e;
            if (c < dm->d)
                m->abuf[VK_REG_A + t2 * dm->dp + c] = vk_ln_apply(
                    m->h[t2 * VK_MAX_DIM + c], mean[t2], inv[t2], m->lp[p_g + c], m->lp[p_b + c]);
        }
        if (++ch == n_ch) {
            ch = 0;
            t2++;
        }
    }
}

/* Keeps the prefix tokens and the top `keep` of the patch tokens ranked by
 * the class token's attention summed over the heads' class rows [0, n_p)
 * (ties: lower index first), in their order; compacts h and its sums.
 * Returns the new token count. */
static int32_t vk_k_prune(vk_k_mem *m, const vk_k_dims *dm, int32_t n_tok, int32_t n_p,
                          int32_t keep_pct)
{
    int32_t score[VK_MAX_TOKENS], rank[VK_MAX_TOKENS];
    int32_t n_patch = n_tok - dm->prefix, keep = vk_keep_count(n_patch, keep_pct);
    int32_t j, i, hd, e, t, dst, n_ch = (dm->d + 15) / 16, w = 0, ch = 0;
prune_score:
    for (j = 0; j < n_patch; j++) {
#pragma HLS PIPELINE II = 1
        VK_TRIP(PRUNE_SCORE);
        int32_t s = 0;
    prune_head:
        for (hd = 0; hd < VK_MAX_HEADS; hd++)
            if (hd < n_p)
                s += m->clsp[hd][dm->prefix + j];
        score[j] = s;
        rank[j] = 0;
    }
    /* rank[j] = tokens ahead of j; VK_PE comparisons per cycle */
    j = 0;
    i = 0;
prune_rank:
    for (t = 0; t < n_patch * (int32_t)VK_TILES(n_patch); t++) {
#pragma HLS PIPELINE II = 1
        VK_TRIP(PRUNE_RANK);
        int32_t add = 0;
    prune_cmp:
        for (e = 0; e < VK_PE; e++) {
            int32_t o = i * VK_PE + e;
            if (o < n_patch && (score[o] > score[j] || (score[o] == score[j] && o < j)))
                add++;
        }
        rank[j] += add;
        if (++i == (int32_t)VK_TILES(n_patch)) {
            i = 0;
            j++;
        }
    }
    /* move the kept rows down, in order: 16 words per cycle */
    dst = dm->prefix;
prune_move:
    for (t = 0; t < n_patch * n_ch; t++) {
#pragma HLS PIPELINE II = 1
        VK_TRIP(PRUNE_MOVE);
        if (rank[w] < keep) {
        prune_word:
            for (e = 0; e < 16; e++) {
                int32_t c = ch * 16 + e;
                if (c < dm->d)
                    m->h[dst * VK_MAX_DIM + c] = m->h[(dm->prefix + w) * VK_MAX_DIM + c];
            }
            if (ch == 0) {
                m->ln_sum[dst] = m->ln_sum[dm->prefix + w];
                m->ln_sq[dst] = m->ln_sq[dm->prefix + w];
            }
        }
        if (++ch == n_ch) {
            ch = 0;
            if (rank[w] < keep)
                dst++;
            w++;
        }
    }
    return dm->prefix + keep;
}

/* ---- DDR transfers ------------------------------------------------------ */

/* n words of par from word `at` (a multiple of 4) into lp: 128-bit beats. (hls-lint: ddr) */
static void vk_k_par_load(const vk_pword *par, uint32_t at, uint32_t n, vk_k_mem *m)
{
    uint32_t i;
    int32_t e;
par_load:
    for (i = 0; i < (n + 3) / 4; i++) {
#pragma HLS PIPELINE II = 1
        VK_TRIP(PAR_LOAD);
        vk_pword v = par[at / 4 + i];
    par_word:
        for (e = 0; e < 4; e++)
            if (4 * i + (uint32_t)e < n)
                m->lp[4 * i + (uint32_t)e] = v.w[e];
    }
}

/* The prefix and position tokens into h (saturated to the residual range),
 * with each row's LayerNorm sums: 4 words per beat. (hls-lint: ddr) */
static void vk_k_tok_init(const vk_pword *par, uint32_t at, int32_t n_tok, const vk_k_dims *dm,
                          vk_k_mem *m)
{
    int32_t i, e, t = 0, c = 0, n = n_tok * dm->d;
tok_init:
    for (i = 0; i < (n + 3) / 4; i++) {
#pragma HLS PIPELINE II = 1
        VK_TRIP(TOK_INIT);
        vk_pword v = par[at / 4 + (uint32_t)i];
    tok_word:
        for (e = 0; e < 4; e++) {
            if (4 * i + e < n) {
                int32_t x = vk_sat_resid(v.w[e]);
                m->h[t * VK_MAX_DIM + c] = x;
                m->ln_sum[t] = (c == 0 ? 0 : m->ln_sum[t]) + x;
                m->ln_sq[t] = (c == 0 ? 0 : m->ln_sq[t]) + (int64_t)x * x;
                if (++c == dm->d) {
                    c = 0;
                    t++;
                }
            }
        }
    }
}

/* The image [C][S][S] into the patch rows of region A ([patch][PDp], the
 * patch's pixels in (channel, row, column) order): one image row at a time,
 * 16 bytes per cycle, the patch column of every pixel from a small index
 * table built first. (hls-lint: ddr) */
static void vk_k_img_gather(const int8_t *img, int32_t side, int32_t p, int32_t ch_n,
                            int32_t pdp, vk_k_mem *m)
{
    uint8_t px_of[VK_MAX_IMAGE], xx_of[VK_MAX_IMAGE];
#pragma HLS ARRAY_PARTITION variable = px_of cyclic factor = 16
#pragma HLS ARRAY_PARTITION variable = xx_of cyclic factor = 16
    int32_t g = side / p, n_ch = (side + 15) / 16, x, i, e, px = 0, xx = 0;
    int32_t ch = 0, y = 0, py = 0, yy = 0, chunk = 0;
img_index:
    for (x = 0; x < side; x++) {
#pragma HLS PIPELINE II = 1
        px_of[x] = (uint8_t)px;
        xx_of[x] = (uint8_t)xx;
        if (++xx == p) {
            xx = 0;
            px++;
        }
    }
img_gather:
    for (i = 0; i < ch_n * side * n_ch; i++) {
#pragma HLS PIPELINE II = 1
        VK_TRIP(IMG_GATHER);
        int32_t base = (ch * side + y) * side, row0 = py * g, col0 = (ch * p + yy) * p;
    img_lane:
        for (e = 0; e < 16; e++) {
            int32_t xe = chunk * 16 + e;
            if (xe < side)
                m->abuf[VK_REG_A + (row0 + px_of[xe]) * pdp + col0 + xx_of[xe]] =
                    img[base + xe];
        }
        if (++chunk == n_ch) {
            chunk = 0;
            if (++yy == p) {
                yy = 0;
                py++;
            }
            if (++y == side) {
                y = 0;
                py = 0;
                ch++;
            }
        }
    }
}

/* Resume: the residual stream saved by an earlier call (VK_ACT_* layout),
 * saturated to the residual range, with its LayerNorm sums. Returns the
 * token count, or 0 when the saved count is out of range. (hls-lint: ddr) */
static int32_t vk_k_act_load(const int32_t *act, int32_t n_max, const vk_k_dims *dm,
                             vk_k_mem *m)
{
    int32_t n_tok = act[VK_ACT_TOKENS], i, e, t = 0, c = 0, n;
    if (n_tok <= dm->prefix || n_tok > n_max)
        return 0;
    n = n_tok * dm->d;
act_load:
    for (i = 0; i < (n + 3) / 4; i++) {
#pragma HLS PIPELINE II = 1
        VK_TRIP(ACT_LOAD);
    act_load_word:
        for (e = 0; e < 4; e++) {
            if (4 * i + e < n) {
                int32_t x = vk_sat_resid(act[VK_ACT_HDR + 4 * i + e]);
                m->h[t * VK_MAX_DIM + c] = x;
                m->ln_sum[t] = (c == 0 ? 0 : m->ln_sum[t]) + x;
                m->ln_sq[t] = (c == 0 ? 0 : m->ln_sq[t]) + (int64_t)x * x;
                if (++c == dm->d) {
                    c = 0;
                    t++;
                }
            }
        }
    }
    return n_tok;
}

/* The residual stream out for a later resume. (hls-lint: ddr) */
static void vk_k_act_save(int32_t *act, int32_t n_tok, const vk_k_dims *dm, const vk_k_mem *m)
{
    int32_t i, e, t = 0, c = 0, n = n_tok * dm->d;
    act[VK_ACT_TOKENS] = n_tok;
act_save:
    for (i = 0; i < (n + 3) / 4; i++) {
#pragma HLS PIPELINE II = 1
        VK_TRIP(ACT_SAVE);
    act_save_word:
        for (e = 0; e < 4; e++) {
            if (4 * i + e < n) {
                act[VK_ACT_HDR + 4 * i + e] = m->h[t * VK_MAX_DIM + c];
                if (++c == dm->d) {
                    c = 0;
                    t++;
                }
            }
        }
    }
}

/* ---- the model as op lists: one list per stage, one place that runs them -- */

static vk_k_op *vk_k_push(vk_k_plan *p, int32_t kind, int32_t epi, int32_t rows, int32_t n_lo,
                          int32_t n_hi, int32_t n_in)
{
    vk_k_op *op = &p->op[p->n++];
    vk_k_op z = {0};
    *op = z;
    op->kind = kind;
    op->epi = epi;
    op->rows = rows;
    op->n_lo = n_lo;
    op->n_hi = n_hi;
    op->n_in = n_in;
    op->w_kc = (int32_t)VK_TILES(n_in);
    op->w_src = VK_W_ROWS; /* on chip unless a DDR op says otherwise */
    op->p_b = op->p_m = op->p_s = op->p_tab = -1;
    op->sm_head = op->sp_set = op->fl_set = -1;
    return op;
}

/* A GEMM whose stationary operand is the tiled DDR matrix at w_off with
 * n_stored inputs, streaming region A or B rows; bias, mult, shift at lp
 * offsets b, mul, sh. */
static vk_k_op *vk_k_push_ddr(vk_k_plan *p, int32_t epi, int32_t rows, int32_t n_lo,
                              int32_t n_hi, int32_t n_in, int32_t n_stored, int32_t x_off,
                              int32_t x_stride, uint32_t w_off, uint32_t b, uint32_t mul,
                              uint32_t sh)
{
    vk_k_op *op = vk_k_push(p, VK_OP_GEMM, epi, rows, n_lo, n_hi, n_in);
    op->x_src = VK_X_ABUF;
    op->x_off = x_off;
    op->x_stride = x_stride;
    op->w_src = VK_W_DDR;
    op->w_off = w_off;
    op->w_kc = (int32_t)VK_TILES(n_stored);
    op->p_b = (int32_t)b;
    op->p_m = (int32_t)mul;
    op->p_s = (int32_t)sh;
    return op;
}

/* QK^T of head hd (its Q rows against its K rows, head_dim inputs) into
 * scores half b. */
static vk_k_op *vk_k_push_qk(vk_k_plan *p, int32_t n_tok, int32_t dh, int32_t hd, int32_t b)
{
    vk_k_op *op = vk_k_push(p, VK_OP_GEMM, VK_E_SCORE, n_tok, 0, n_tok, dh);
    op->x_src = VK_X_ABUF;
    op->x_off = VK_QKV_AT(0, hd, 0);
    op->x_stride = VK_HROW;
    op->w_src = VK_W_ROWS;
    op->w_off = (uint32_t)VK_QKV_AT(1, hd, 0);
    op->w_stride = VK_HROW;
    op->head = b;
    return op;
}

/* AV of head hd, streaming pbuf[slot], into the context (region A). */
static vk_k_op *vk_k_push_av(vk_k_plan *p, int32_t n_tok, const vk_k_dims *dm, int32_t hd,
                             int32_t slot, const vk_k_mem *m, const vk_layout *lay)
{
    vk_k_op *op = vk_k_push(p, VK_OP_GEMM, VK_E_CTX, n_tok, 0, dm->dh, n_tok);
    op->x_src = VK_X_PBUF;
    op->x_head = slot;
    op->w_src = VK_W_COLS;
    op->w_off = (uint32_t)VK_QKV_AT(2, hd, 0);
    op->w_stride = VK_HROW;
    op->o_off = VK_REG_A;
    op->o_stride = dm->dp;
    op->head = hd;
    op->m_c = m->lp[lay->av_m];
    op->s_c = m->lp[lay->av_s];
    return op;
}

/* V only (the V rows of the QKV matrix) into the per-head layout. */
static vk_k_op *vk_k_push_v(vk_k_plan *p, int32_t n_tok, const vk_k_dims *dm, uint32_t lw,
                            const vk_layout *lay)
{
    vk_k_op *op = vk_k_push_ddr(p, VK_E_QKV, n_tok, 2 * dm->d, 3 * dm->d, dm->d, dm->d, VK_REG_A,
                                dm->dp, lw + lay->qkv_w, lay->qkv_b + 2 * (uint32_t)dm->d,
                                lay->qkv_m + 2 * (uint32_t)dm->d,
                                lay->qkv_s + 2 * (uint32_t)dm->d);
    op->part_w = dm->d;
    op->part0 = 2;
    return op;
}

static void vk_k_side_softmax(vk_k_op *op, int32_t hd, int32_t b, int32_t r0, int32_t r1,
                              int32_t n_tok, int32_t mult, int32_t shift)
{
    op->sm_head = hd;
    op->sm_buf = b;
    op->sm_r0 = r0;
    op->sm_r1 = r1;
    op->sm_cols = n_tok;
    op->sm_m = mult;
    op->sm_s = shift;
}

static void vk_k_side_xp(vk_k_op *op, int32_t spill, int32_t set, int32_t slot, int32_t n_tok)
{
    if (spill) {
        op->sp_set = set;
        op->sp_slot = slot;
    } else {
        op->fl_set = set;
        op->fl_slot = slot;
    }
    op->xp_rows = n_tok;
}

static void vk_k_push_ln(vk_k_plan *p, int32_t rows, uint32_t g, uint32_t b)
{
    vk_k_op *op = vk_k_push(p, VK_OP_LN, 0, rows, 0, 0, 0);
    op->ln_g = (int32_t)g;
    op->ln_b = (int32_t)b;
}

/* Multi-head attention with every head computed: QKV, then per head QK^T,
 * softmax and AV, the heads pipelined so that the softmax of head g runs
 * beside the engine's next ops (AV of g-1 with 5/8 of its rows, QK^T of g+1
 * with the rest; an op of no tiles when there is one head); scores and
 * probabilities ping-pong between two slots. spill: every head's
 * probabilities go out to ps beside its AV (a later encoder reuses them). */
static void vk_k_plan_full(vk_k_plan *p, int32_t n_tok, const vk_k_dims *dm, uint32_t lw,
                           const vk_layout *lay, int32_t spill, const vk_k_mem *m)
{
    /* rows of softmax g beside AV(g-1), the rest beside QK^T(g+1): about
       their lengths (AV's one tile is the longer op) */
    int32_t hd, nh = dm->heads, half = n_tok * 5 / 8, sm_m = m->lp[lay->sm_m],
                sm_s = m->lp[lay->sm_s];
    vk_k_op *op = vk_k_push_ddr(p, VK_E_QKV, n_tok, 0, 3 * dm->d, dm->d, dm->d, VK_REG_A, dm->dp,
                                lw + lay->qkv_w, lay->qkv_b, lay->qkv_m, lay->qkv_s);
    op->part_w = dm->d;
attn_head:
    for (hd = 0; hd <= nh; hd++) {
#pragma HLS LOOP_TRIPCOUNT min = 2 max = 13
        if (hd < nh) {
            op = vk_k_push_qk(p, n_tok, dm->dh, hd, hd & 1);
            if (hd == 1)
                vk_k_side_softmax(op, 0, 0, 0, n_tok, n_tok, sm_m, sm_s);
            else if (hd > 1)
                vk_k_side_softmax(op, hd - 1, (hd - 1) & 1, half, n_tok, n_tok, sm_m, sm_s);
        }
        if (hd == 0 && nh == 1) /* nothing to run beside: an op of no tiles */
            vk_k_side_softmax(vk_k_push(p, VK_OP_GEMM, VK_E_SCORE, n_tok, 0, 0, 0), 0, 0, 0,
                              n_tok, n_tok, sm_m, sm_s);
        if (hd >= 1) {
            op = vk_k_push_av(p, n_tok, dm, hd - 1, (hd - 1) & 1, m, lay);
            if (hd < nh)
                vk_k_side_softmax(op, hd, hd & 1, 0, hd < nh - 1 ? half : n_tok, n_tok, sm_m,
                                  sm_s);
            if (spill)
                vk_k_side_xp(op, 1, hd - 1, (hd - 1) & 1, n_tok);
        }
    }
}

/* Shared-heads or reused attention: (shared) q_s, k_s, one QK^T, its
 * softmax beside the V projection; (reuse) V with the first probability set
 * coming in beside it, each next head's set beside the AV before it; then
 * AV per head. n_sets: sets of the reused source; spill: the shared set goes
 * out beside the first AV. */
static void vk_k_plan_one(vk_k_plan *p, uint32_t attn, int32_t n_tok, int32_t n_sets,
                          const vk_k_dims *dm, uint32_t lw, const vk_layout *lay, int32_t spill,
                          const vk_k_mem *m)
{
    int32_t hd, per_head = attn == VK_ATTN_REUSE && n_sets > 1;
    vk_k_op *op;
    if (attn == VK_ATTN_SHARED) {
        op = vk_k_push_ddr(p, VK_E_QKV, n_tok, 0, 2 * dm->dh, dm->d, dm->d, VK_REG_A, dm->dp,
                           lw + lay->qks_w, lay->qks_b, lay->qks_m, lay->qks_s);
        op->part_w = dm->dh;
        vk_k_push_qk(p, n_tok, dm->dh, 0, 0);
        vk_k_side_softmax(vk_k_push_v(p, n_tok, dm, lw, lay), 0, 0, 0, n_tok, n_tok,
                          m->lp[lay->smh_m], m->lp[lay->smh_s]);
    } else {
        vk_k_side_xp(vk_k_push_v(p, n_tok, dm, lw, lay), 0, 0, 0, n_tok);
    }
attn_one_head:
    for (hd = 0; hd < dm->heads; hd++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 12
        op = vk_k_push_av(p, n_tok, dm, hd, per_head ? hd & 1 : 0, m, lay);
        if (per_head && hd + 1 < dm->heads)
            vk_k_side_xp(op, 0, hd + 1, (hd + 1) & 1, n_tok);
        if (attn == VK_ATTN_SHARED && spill && hd == 0)
            vk_k_side_xp(op, 1, 0, 0, n_tok);
    }
}

/* The op list of encoder l in mode w on n_tok tokens (its constants already
 * in lp); returns the token count after it. *n_sets: probability sets of
 * the latest encoder that computed attention (what a reuse reads); spill:
 * this encoder's probabilities go out to ps for a later reuse. */
static int32_t vk_k_plan_encoder(vk_k_plan *p, int32_t l, uint32_t w, int32_t n_tok,
                                 int32_t spill, const vk_k_dims *dm, const vk_layout *lay,
                                 const vk_k_mem *m, int32_t *n_sets)
{
    uint32_t lw = lay->layer_w + (uint32_t)l * lay->layer_w_n, attn = VK_MODE_ATTN(w);
    int32_t m_keep = vk_ffn_keep(dm->mlp, (int32_t)VK_MODE_FFN(w));
    int32_t mp = (int32_t)VK_PAD64(dm->mlp);
    vk_k_op *op;
    if (attn != VK_ATTN_SKIP) {
        vk_k_push_ln(p, n_tok, lay->ln1_g, lay->ln1_b);
        if (attn == VK_ATTN_FULL)
            vk_k_plan_full(p, n_tok, dm, lw, lay, spill, m);
        else
            vk_k_plan_one(p, attn, n_tok, *n_sets, dm, lw, lay, spill, m);
        *n_sets = attn == VK_ATTN_FULL ? dm->heads : attn == VK_ATTN_SHARED ? 1 : *n_sets;
        vk_k_push_ddr(p, VK_E_RESID, n_tok, 0, dm->d, dm->d, dm->d, VK_REG_A, dm->dp,
                      lw + lay->proj_w, lay->proj_b, lay->proj_m, lay->proj_s);
        if (VK_MODE_PRUNES(w)) {
            op = vk_k_push(p, VK_OP_PRUNE, 0, n_tok, 0, 0, 0);
            op->n_sets = attn == VK_ATTN_FULL ? dm->heads : 1;
            op->keep = (int32_t)VK_MODE_KEEP(w);
            n_tok = dm->prefix + vk_keep_count(n_tok - dm->prefix, op->keep);
        }
    }
    vk_k_push_ln(p, n_tok, lay->ln2_g, lay->ln2_b);
    op = vk_k_push_ddr(p, VK_E_FC1, n_tok, 0, m_keep, dm->d, dm->d, VK_REG_A, dm->dp,
                       lw + lay->fc1_w, lay->fc1_b, lay->fc1_m, lay->fc1_s);
    op->p_tab = (int32_t)lay->gelu;
    op->o_off = VK_REG_B;
    op->o_stride = mp;
    vk_k_push_ddr(p, VK_E_RESID, n_tok, 0, dm->d, m_keep, dm->mlp, VK_REG_B, mp, lw + lay->fc2_w,
                  lay->fc2_b, lay->fc2_m, lay->fc2_s);
    return n_tok;
}

/* Runs a stage's ops in order: the one place the engine, the LayerNorm and
 * the pruning are driven from. Each DDR op's first two steps (vk_k_pre) run
 * beside the op before it: its drain step, its LayerNorm or its pruning,
 * which touch neither the weight groups nor the registers. */
static void vk_k_run_ops(const vk_k_plan *p, const vk_wword *w0, const vk_wword *w1,
                         const vk_wword *w2, const vk_wword *w3, uint8_t *ps, vk_k_mem *m,
                         const vk_k_dims *dm)
{
    int32_t i;
op_loop:
    for (i = 0; i < p->n; i++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 31
        const vk_k_op *op = &p->op[i];
        /* a DDR op's first weight groups come in while the op before it ends */
        const vk_k_op *nx = i + 1 < p->n && vk_k_prefetchable(&p->op[i + 1]) ? &p->op[i + 1] : 0;
        int32_t pre = i > 0 && vk_k_prefetchable(op);
        if (op->kind == VK_OP_GEMM)
            vk_k_gemm(op, nx, pre, w0, w1, w2, w3, ps, m, dm);
        else if (op->kind == VK_OP_LN)
            vk_k_layernorm(m, dm, op->rows, op->ln_g, op->ln_b);
        else
            vk_k_prune(m, dm, op->rows, op->n_sets, op->keep);
        if (nx && op->kind != VK_OP_GEMM) /* beside the LayerNorm or the pruning */
            vk_k_pre(nx, w0, w1, w2, w3, m);
    }
}

/* The par header, two 128-bit beats at a time. (hls-lint: ddr) */
static void vk_k_hdr_load(const vk_pword *par, int32_t hdr[VK_HDR_WORDS])
{
    int32_t i, e;
#pragma HLS ARRAY_PARTITION variable = hdr complete
hdr_load:
    for (i = 0; i < VK_HDR_WORDS / 4; i++) {
#pragma HLS PIPELINE II = 1
        VK_TRIP(HDR_LOAD);
        vk_pword v = par[i];
    hdr_word:
        for (e = 0; e < 4; e++)
            hdr[4 * i + e] = v.w[e];
    }
}

/* The logits out, a word a cycle. (hls-lint: ddr) */
static void vk_k_out_logits(int32_t *out, int32_t k, const vk_k_mem *m)
{
    int32_t i;
out_logits:
    for (i = 0; i < k; i++) {
#pragma HLS PIPELINE II = 1
        VK_TRIP(OUT_LOGITS);
        out[VK_OUT_LOGITS + i] = m->logit[i];
    }
}

/* The header checks: every dimension inside the compile-time maxima. */
static int32_t vk_k_check_par(const int32_t *hdr)
{
    int32_t img = hdr[VK_HDR_IMAGE], p = hdr[VK_HDR_PATCH], c = hdr[VK_HDR_CHANNELS];
    int32_t d = hdr[VK_HDR_DIM], nh = hdr[VK_HDR_HEADS], pre = hdr[VK_HDR_PREFIX], g;
    if (hdr[VK_HDR_MAGIC] != VK_PAR_MAGIC || hdr[VK_HDR_VERSION] != VK_PAR_VERSION)
        return 0;
    if (img < 1 || img > VK_MAX_IMAGE || p < 1 || img % p || c < 1 || c > VK_MAX_CHANNELS)
        return 0;
    if (c * p * p > VK_MAX_PATCH_DIM || d < 1 || d > VK_MAX_DIM || nh < 1 ||
        nh > VK_MAX_HEADS || d % nh || d / nh > VK_MAX_HEAD_DIM)
        return 0;
    g = img / p;
    if (pre < 1 || pre > VK_MAX_PREFIX || hdr[VK_HDR_TOKENS] != g * g + pre ||
        hdr[VK_HDR_TOKENS] > VK_MAX_TOKENS)
        return 0;
    if (hdr[VK_HDR_LAYERS] < 1 || hdr[VK_HDR_LAYERS] > VK_MAX_LAYERS || hdr[VK_HDR_MLP] < 1 ||
        hdr[VK_HDR_MLP] > VK_MAX_MLP || hdr[VK_HDR_CLASSES] < 2 ||
        hdr[VK_HDR_CLASSES] > VK_MAX_CLASSES)
        return 0;
    return 1;
}

/* The mode words of encoders [start, n_layers): known attention, keep and
 * ffn in range, pruning only after computed attention, reuse only with a
 * source (an encoder since start that computed attention, no pruning
 * since). Marks in spill[] the sources a later reuse reads. (hls-lint: ddr) */
static int32_t vk_k_check_modes(const uint32_t *cfg, int32_t start, int32_t n_layers,
                                int32_t spill[VK_MAX_LAYERS])
{
    int32_t l, ok = 1, src = -1;
mode_check:
    for (l = 0; l < VK_MAX_LAYERS; l++) {
#pragma HLS PIPELINE II = 1
        spill[l] = 0;
        if (l >= start && l < n_layers) {
            VK_TRIP(MODE_CHECK);
            uint32_t w = cfg[VK_CFG_MODES + l], a = VK_MODE_ATTN(w);
            int32_t computes = a == VK_ATTN_FULL || a == VK_ATTN_SHARED, prunes = VK_MODE_PRUNES(w);
            if (a > VK_ATTN_SHARED || VK_MODE_KEEP(w) > VK_KEEP_ALL || VK_MODE_FFN(w) > 99 ||
                (w & 0xFF0000F0u) != 0 || (prunes && !computes) ||
                (a == VK_ATTN_REUSE && src < 0))
                ok = 0;
            if (a == VK_ATTN_REUSE && src >= 0)
                spill[src] = 1;
            if (computes)
                src = l;
            if (prunes)
                src = -1;
        }
    }
    return ok;
}

/* Everything the kernel computes, on memories m (on chip). */
static void vk_k_run(const vk_wword *w0, const vk_wword *w1, const vk_wword *w2,
                     const vk_wword *w3, const vk_pword *par, const uint32_t *cfg,
                     const int8_t *img, int32_t *act, int32_t *out, uint8_t *ps, vk_k_mem *m)
{
    int32_t hdr[VK_HDR_WORDS], spill[VK_MAX_LAYERS];
    vk_layout lay;
    vk_k_dims dm;
    vk_k_plan plan;
    int32_t l, s, n_layers, t, start, save, n_tok, n_sets = 0, g, pd;
    vk_k_hdr_load(par, hdr);
    if (!vk_k_check_par(hdr)) {
        out[VK_OUT_STATUS] = VK_KSTAT_BAD_PAR;
        return;
    }
    dm.d = hdr[VK_HDR_DIM];
    dm.dp = (int32_t)VK_PAD64(dm.d);
    dm.heads = hdr[VK_HDR_HEADS];
    dm.dh = dm.d / dm.heads;
    dm.mlp = hdr[VK_HDR_MLP];
    dm.classes = hdr[VK_HDR_CLASSES];
    dm.prefix = hdr[VK_HDR_PREFIX];
    dm.eps = hdr[VK_HDR_LN_EPS];
    n_layers = hdr[VK_HDR_LAYERS];
    t = hdr[VK_HDR_TOKENS];
    g = hdr[VK_HDR_IMAGE] / hdr[VK_HDR_PATCH];
    pd = hdr[VK_HDR_CHANNELS] * hdr[VK_HDR_PATCH] * hdr[VK_HDR_PATCH];
    vk_layout_compute(&lay, (uint32_t)hdr[VK_HDR_CHANNELS], (uint32_t)hdr[VK_HDR_PATCH],
                      (uint32_t)dm.d, (uint32_t)n_layers, (uint32_t)dm.mlp,
                      (uint32_t)dm.classes, (uint32_t)t, (uint32_t)dm.heads,
                      (uint32_t)dm.prefix);

    start = (int32_t)cfg[VK_CFG_START];
    save = (int32_t)cfg[VK_CFG_SAVE];
    if (cfg[VK_CFG_MAGIC_W] != VK_CFG_MAGIC || start < 0 || start > n_layers || save < 0 ||
        save > n_layers || (save > 0 && save < start)) {
        out[VK_OUT_STATUS] = VK_KSTAT_BAD_CFG;
        return;
    }
    if (!vk_k_check_modes(cfg, start, n_layers, spill)) {
        out[VK_OUT_STATUS] = VK_KSTAT_BAD_MODE;
        return;
    }

    /* stage 0: the input (the patch embedding as one GEMM over all patches,
       or the resumed stream); then one stage per encoder; then the head */
    n_tok = t;
stage:
    for (s = 0; s < n_layers - start + 2; s++) {
#pragma HLS LOOP_TRIPCOUNT min = 2 max = 14
        vk_k_op *op;
        plan.n = 0;
        if (s == 0 && start == 0) {
            vk_k_tok_init(par, lay.tok0, t, &dm, m);
            vk_k_img_gather(img, hdr[VK_HDR_IMAGE], hdr[VK_HDR_PATCH], hdr[VK_HDR_CHANNELS],
                            (int32_t)VK_PAD64(pd), m);
            vk_k_par_load(par, lay.patch_b, lay.tok0 - lay.patch_b, m);
            op = vk_k_push_ddr(&plan, VK_E_RESID, g * g, 0, dm.d, pd, pd, VK_REG_A,
                               (int32_t)VK_PAD64(pd), lay.patch_w, 0, lay.patch_m - lay.patch_b,
                               lay.patch_s - lay.patch_b);
            op->row0 = dm.prefix;
        } else if (s == 0) {
            n_tok = vk_k_act_load(act, t, &dm, m);
            if (n_tok == 0) {
                out[VK_OUT_STATUS] = VK_KSTAT_BAD_CFG;
                return;
            }
        } else if (s <= n_layers - start) {
            l = start + s - 1;
            if (l == save && save > 0)
                vk_k_act_save(act, n_tok, &dm, m);
            vk_k_par_load(par, lay.layer_p + (uint32_t)l * lay.layer_p_n, lay.layer_p_n, m);
            n_tok = vk_k_plan_encoder(&plan, l, cfg[VK_CFG_MODES + l], n_tok, spill[l], &dm, &lay,
                                      m, &n_sets);
        } else { /* final LayerNorm of the prefix rows; the classifier(s) */
            if (save == n_layers && save > 0)
                vk_k_act_save(act, n_tok, &dm, m);
            vk_k_par_load(par, lay.lnf_g, lay.par_n - lay.lnf_g, m);
            vk_k_push_ln(&plan, dm.prefix, 0, lay.lnf_b - lay.lnf_g);
            vk_k_push_ddr(&plan, VK_E_LOGIT, 1, 0, dm.classes, dm.d, dm.d, VK_REG_A, dm.dp,
                          lay.head_w, lay.head_b - lay.lnf_g, lay.head_m - lay.lnf_g,
                          lay.head_s - lay.lnf_g);
            if (dm.prefix > 1)
                vk_k_push_ddr(&plan, VK_E_LOGIT_AVG, 1, 0, dm.classes, dm.d, dm.d,
                              VK_REG_A + dm.dp, dm.dp, lay.headd_w, lay.headd_b - lay.lnf_g,
                              lay.headd_m - lay.lnf_g, lay.headd_s - lay.lnf_g);
        }
        vk_k_run_ops(&plan, w0, w1, w2, w3, ps, m, &dm);
    }
    out[VK_OUT_STATUS] = VK_KSTAT_OK;
    out[VK_OUT_CLASS] = vk_argmax(m->logit, dm.classes);
    out[VK_OUT_ENTROPY] = vk_entropy_q16(m->logit, dm.classes, hdr[VK_HDR_ENT_MULT],
                                         hdr[VK_HDR_ENT_SHIFT]);
    out[VK_OUT_NCLASS] = dm.classes;
    vk_k_out_logits(out, dm.classes, m);
}

void vk_kernel_top(const vk_wword *w0, const vk_wword *w1, const vk_wword *w2,
                   const vk_wword *w3, const vk_pword *par, const uint32_t *cfg,
                   const int8_t *img, int32_t *act, int32_t *out, uint8_t *ps)
{
#pragma HLS INTERFACE m_axi port = w0 offset = slave bundle = gmem_w0 depth = VK_WT_BEATS_MAX max_read_burst_length = 256 num_read_outstanding = 4 max_widen_bitwidth = 128
#pragma HLS INTERFACE m_axi port = w1 offset = slave bundle = gmem_w1 depth = VK_WT_BEATS_MAX max_read_burst_length = 256 num_read_outstanding = 4 max_widen_bitwidth = 128
#pragma HLS INTERFACE m_axi port = w2 offset = slave bundle = gmem_w2 depth = VK_WT_BEATS_MAX max_read_burst_length = 256 num_read_outstanding = 4 max_widen_bitwidth = 128
#pragma HLS INTERFACE m_axi port = w3 offset = slave bundle = gmem_w3 depth = VK_WT_BEATS_MAX max_read_burst_length = 256 num_read_outstanding = 4 max_widen_bitwidth = 128
#pragma HLS INTERFACE m_axi port = par offset = slave bundle = gmem_p depth = VK_PAR_BEATS_MAX max_read_burst_length = 256 num_read_outstanding = 4
#pragma HLS INTERFACE m_axi port = cfg offset = slave bundle = gmem_p depth = VK_CFG_WORDS
#pragma HLS INTERFACE m_axi port = img offset = slave bundle = gmem_io depth = VK_IMG_BYTES_MAX max_widen_bitwidth = 128
#pragma HLS INTERFACE m_axi port = act offset = slave bundle = gmem_io depth = VK_ACT_WORDS_MAX max_widen_bitwidth = 128
#pragma HLS INTERFACE m_axi port = out offset = slave bundle = gmem_io depth = VK_OUT_WORDS
#pragma HLS INTERFACE m_axi port = ps offset = slave bundle = gmem_io depth = VK_PSPILL_BYTES max_widen_bitwidth = 128
#pragma HLS INTERFACE s_axilite port = w0 bundle = control
#pragma HLS INTERFACE s_axilite port = w1 bundle = control
#pragma HLS INTERFACE s_axilite port = w2 bundle = control
#pragma HLS INTERFACE s_axilite port = w3 bundle = control
#pragma HLS INTERFACE s_axilite port = par bundle = control
#pragma HLS INTERFACE s_axilite port = cfg bundle = control
#pragma HLS INTERFACE s_axilite port = img bundle = control
#pragma HLS INTERFACE s_axilite port = act bundle = control
#pragma HLS INTERFACE s_axilite port = out bundle = control
#pragma HLS INTERFACE s_axilite port = ps bundle = control
#pragma HLS INTERFACE s_axilite port = return bundle = control
#ifdef __SYNTHESIS__
    vk_k_mem m; /* BRAM; partitioning in kernels/hls/directives.tcl */
    vk_k_run(w0, w1, w2, w3, par, cfg, img, act, out, ps, &m);
#else
    /* C simulation: about 3 MB of on-chip memories, off the caller's stack */
    vk_k_mem *m = malloc(sizeof *m);
    if (!m) {
        out[VK_OUT_STATUS] = VK_KSTAT_NOMEM;
        return;
    }
    vk_k_run(w0, w1, w2, w3, par, cfg, img, act, out, ps, m);
    free(m);
#endif
}
