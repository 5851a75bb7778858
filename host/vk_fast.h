/* vk_fast: the kernel's integer forward pass, fast, on the host CPU.
 *
 * vk_fast_run() computes exactly what vk_kernel_top() (kernels/vk_kernel.c)
 * computes, byte for byte: the same out words (status, class, entropy,
 * logits) and the same act words for START/SAVE resume, on the same
 * buffers, in every per-encoder mode the kernel runs (vk_config.h: full,
 * skipped, shared-heads and reused attention, token pruning, structured
 * FFN sparsity) and with the same refusals. Each mode skips the work it
 * skips in the kernel: reuse projects V only and applies the held
 * probabilities, shared heads projects q_s/k_s and V and computes one
 * attention matrix, :fNN computes the first FFN neurons only, and every
 * encoder after a pruning one runs on the kept tokens. The int8 matrix
 * products are re-implemented with int32 sums that equal the kernel's
 * exactly:
 *   - AVX-512 VNNI: vpdpbusd on (x + 128) as unsigned bytes, minus a per
 *     column 128 * sum(w) fixed at load, one per FFN-sparsity input prefix
 *     of FC2 (no saturation anywhere);
 *   - AVX2: int8 sign-extended to int16, vpmaddwd into int32;
 *   - portable C: plain int32 dot products.
 * The other operators are kernels/vk_int.h's (portable path: all of them);
 * the SIMD paths requantize in vector lanes, and the AVX-512 path also has
 * vector twins of the LayerNorm and attention softmax rows, each checked
 * against vk_int.h by vk_fast_selfcheck and used only inside the range
 * where it is the same integer function (vk_fast.c says why).
 * The best instruction set the CPU has is picked at run time
 * (VK_FAST_ISA_AUTO); the binary runs on any x86-64 and elsewhere.
 *
 * Lifecycle: vk_fast_ctx_new (packs the weights into each ISA's panel
 * layout and allocates all scratch once) -> vk_fast_run / vk_fast_run_batch
 * (no allocation per image) -> vk_fast_ctx_free. The context copies what it
 * needs from the vk_qmodel; the model may be freed after vk_fast_ctx_new.
 *
 * Threads: a context is used by one caller thread at a time.
 * vk_fast_run_batch spreads images over OpenMP threads (one image per
 * thread, a scratch set per thread); vk_fast_run on one image can split
 * its matrix products and heads over vk_fast_set_threads() threads (default
 * 1). The two never nest.
 *
 *     vk_fast_ctx *f;
 *     if (vk_fast_ctx_new(&q, VK_FAST_ISA_AUTO, &f, &err) != VK_OK) die(err.msg);
 *     uint32_t cfg[VK_CFG_WORDS] = {VK_CFG_MAGIC};  // + VK_CFG_MODES words
 *     vk_fast_run_batch(f, cfg, imgs, n, NULL, outs, &err);  // outs: n * vk_fast_out_n(f)
 *     vk_fast_ctx_free(f);
 */
#ifndef VK_FAST_H
#define VK_FAST_H

#include <stddef.h>
#include <stdint.h>

#include "vk_quant.h"

typedef enum {
    VK_FAST_ISA_AUTO = 0,   /* the best one this CPU supports */
    VK_FAST_ISA_SCALAR = 1, /* portable C */
    VK_FAST_ISA_AVX2 = 2,
    VK_FAST_ISA_VNNI = 3    /* AVX-512 F/BW + VNNI */
} vk_fast_isa;

typedef struct vk_fast_ctx vk_fast_ctx;

/* 1 if this CPU (and build) can run isa; AUTO and SCALAR always can. */
int vk_fast_isa_supported(vk_fast_isa isa);
const char *vk_fast_isa_str(vk_fast_isa isa); /* "scalar", "avx2", "avx512-vnni" */

/* Builds a context for q. Fails with VK_E_FORMAT when q's header is one
 * the kernel would answer VK_KSTAT_BAD_PAR, VK_E_UNSUPPORTED when isa is
 * not supported here, VK_E_NOMEM. *ctx is untouched on error; caller owns
 * the result. */
vk_status vk_fast_ctx_new(const vk_qmodel *q, vk_fast_isa isa, vk_fast_ctx **ctx,
                          vk_err *err);
void vk_fast_ctx_free(vk_fast_ctx *ctx); /* NULL is a no-op */

vk_fast_isa vk_fast_ctx_isa(const vk_fast_ctx *ctx); /* never AUTO */
const uint8_t *vk_fast_model_hash(const vk_fast_ctx *ctx); /* the blob's 32-byte SHA-256 */

/* Words one image's out occupies in vk_fast_run_batch (VK_OUT_LOGITS +
 * classes), int32 words of one act buffer (VK_ACT_WORDS of all tokens),
 * bytes of one image. */
size_t vk_fast_out_n(const vk_fast_ctx *ctx);
size_t vk_fast_act_n(const vk_fast_ctx *ctx);
size_t vk_fast_img_n(const vk_fast_ctx *ctx);
/* int32 words of a stream of `tokens` tokens in the act layout (header and
 * rows; vk_fast_act_n for all tokens). */
size_t vk_fast_act_words(const vk_fast_ctx *ctx, int tokens);
int vk_fast_n_layers(const vk_fast_ctx *ctx);

/* Threads vk_fast_run uses inside one image (clamped to 1..1024; default
 * 1): the column panels of a product, and the heads of attention, are
 * shared out when the product is large enough to gain from it. */
void vk_fast_set_threads(vk_fast_ctx *ctx, int n);

/* One image, kernel semantics: reads cfg, img and (START > 0) act; writes
 * out (status only when the status is not VK_KSTAT_OK, else VK_OUT_LOGITS
 * + classes words) and, when SAVE asks, act. */
void vk_fast_run(vk_fast_ctx *ctx, const uint32_t *cfg, const int8_t *img, int32_t *act,
                 int32_t *out);

/* n images with one cfg, on all OpenMP threads: image i reads
 * imgs + i * vk_fast_img_n, acts + i * vk_fast_act_n (may be NULL when
 * cfg has START = 0 and SAVE = 0) and writes outs + i * vk_fast_out_n.
 * Each image's words equal vk_fast_run's (and so vk_kernel_top's).
 * VK_E_NOMEM if per-thread scratch cannot be had (outs untouched),
 * VK_E_ARG for acts NULL when cfg needs them. */
vk_status vk_fast_run_batch(vk_fast_ctx *ctx, const uint32_t *cfg, const int8_t *imgs,
                            int n, int32_t *acts, int32_t *outs, vk_err *err);

/* ---- pieces, for callers that keep residual streams themselves (the
 * prefix cache, the cpu board's timing). worker < vk_fast_workers(): each
 * concurrent caller thread uses its own worker index. act is a stream in
 * the kernel's act layout (vk_fast_act_n words: act[VK_ACT_TOKENS] tokens,
 * then their rows from act + VK_ACT_HDR), so a stream's token count
 * travels with it. A worker also holds the attention probabilities a
 * later reuse reads (no spill: they stay in the worker), for the stream
 * it last ran; vk_fast_encoders continues that stream, vk_fast_resume
 * starts from a saved one as the kernel's START does. */

/* Ensures n worker scratch sets exist (n >= 1). VK_E_NOMEM on failure. */
vk_status vk_fast_reserve_workers(vk_fast_ctx *ctx, int n, vk_err *err);
int vk_fast_workers(const vk_fast_ctx *ctx);

/* 1 if the kernel runs mode words modes[from .. n_layers) with START =
 * from (the rules of vk_config.h: known attention, keep <= 100, ffn <= 99,
 * no reserved bits, pruning only after full or shared attention, a reuse
 * only with a source since `from` and no pruning since the source), else
 * 0, where the kernel answers VK_KSTAT_BAD_MODE. A path valid from 0 is
 * valid from k exactly when no reuse after k reads attention computed
 * before k. vk_fast_modes_bad: -1, or the first encoder whose word the
 * kernel refuses. */
int vk_fast_modes_ok(const vk_fast_ctx *ctx, const uint32_t *modes, int from);
int vk_fast_modes_bad(const vk_fast_ctx *ctx, const uint32_t *modes, int from);

/* Tokens in the stream after the first k encoders of path modes (each
 * pruning encoder keeps the prefix and vk_keep_count of the patches). */
int vk_fast_tokens(const vk_fast_ctx *ctx, const uint32_t *modes, int k);

/* Patch embedding plus class/position tokens into act: the stream before
 * encoder 0, all tokens. */
void vk_fast_embed(vk_fast_ctx *ctx, int worker, const int8_t *img, int32_t *act);
/* Encoders [from, to) on act in place (modes: n_layers words), continuing
 * this worker's last vk_fast_embed / vk_fast_encoders / vk_fast_resume on
 * the same act buffer, which left it after `from` encoders: a reuse may
 * read attention computed by those calls. Returns VK_KSTAT_OK;
 * VK_KSTAT_BAD_CFG when act is not that stream (another buffer, another
 * depth) or its token count or [from, to) is out of range; VK_KSTAT_BAD_MODE
 * when a word in [from, to) is one the kernel refuses on this path. On
 * error act is untouched. */
int32_t vk_fast_encoders(vk_fast_ctx *ctx, int worker, const uint32_t *modes, int from, int to,
                         int32_t *act);
/* Encoders [from, to) from a stream saved after `from` encoders (the
 * kernel's START = from: rows saturated to the residual range, token count
 * from act[VK_ACT_TOKENS], a reuse needs its source in [from, to)).
 * Returns as vk_fast_encoders, act untouched on error. */
int32_t vk_fast_resume(vk_fast_ctx *ctx, int worker, const uint32_t *modes, int from, int to,
                       int32_t *act);
/* Final LayerNorm, classifier and entropy of the stream act: writes a
 * VK_KSTAT_OK out. */
void vk_fast_head(vk_fast_ctx *ctx, int worker, const int32_t *act, int32_t *out);

/* Test support: this ISA's vectorized row operators (attention softmax,
 * with every exp2 input once; LayerNorm; square roots around squares; the
 * requantizing epilogues at extreme multipliers and shifts) against
 * kernels/vk_int.h on n_rows random rows each. Returns the number of rows
 * that differ (0 when exact), -1 if isa cannot run here or is AUTO. */
long vk_fast_selfcheck(vk_fast_isa isa, int n_rows, uint64_t seed);

/* Multiply-accumulates per image of a path (patch embedding, the linear
 * layers and attention products of every encoder as its mode runs them,
 * on the tokens it has, the classifier); skipped attentions count
 * nothing. For GOP/s figures. */
uint64_t vk_fast_macs(const vk_fast_ctx *ctx, const uint32_t *modes);

#endif
