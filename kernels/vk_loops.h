/* vk_loops: the kernel's labelled loops, as the cycle model counts them.
 *
 * Every pipelined or sequential loop of kernels/vk_kernel.c (and of the
 * vk_int.h operators the kernel calls) has a label and an id here. A build
 * with -DVK_COUNT_LOOPS counts each loop's executed iterations in
 * vk_loop_trips[] (VK_TRIP(id) at the top of the loop body; loops unrolled
 * completely by a constant bound are hardware, not iterations, and carry no
 * VK_TRIP). boards/vk_cycles.c predicts the same counts from the model's
 * dimensions and the mode words; tests/test_cycles.c checks that the two
 * agree exactly, loop by loop, for every mode on several shapes. In other
 * builds VK_TRIP compiles to nothing.
 *
 *     vk_loop_trips_reset();
 *     vk_kernel_run(wt, par, cfg, img, act, out);      // counting build
 *     printf("%llu\n", (unsigned long long)vk_loop_trips[VK_L_ENG_MAC]);
 */
#ifndef VK_LOOPS_H
#define VK_LOOPS_H

#include <stdint.h>

#define VK_LOOP_LIST(X)                                                                       \
    X(HDR_LOAD, "hdr_load")         /* par header beats */                               \
    X(MODE_CHECK, "mode_check")     /* one per encoder run */                            \
    X(PAR_LOAD, "par_load")         /* per-layer constants, 128-bit beats */             \
    X(TOK_INIT, "tok_init")         /* prefix+position tokens into h, per 4 words */     \
    X(IMG_GATHER, "img_gather")     /* image into patch rows, per 16 bytes */            \
    X(ACT_LOAD, "act_load")         /* resume: residual stream in, per 4 words */        \
    X(ACT_SAVE, "act_save")         /* cascade: residual stream out, per 4 words */      \
    X(LN_PREP, "ln_prep")           /* per token: mean, isqrt, reciprocal */             \
    X(LN_OUT, "ln_out")             /* per token and VK_LN_LANES channels */             \
    X(GEMM_STEP, "gemm_step")       /* load || engine || epilogue steps */               \
    X(WL_BEAT, "wl_beat")           /* weight beats, VK_WPORTS ports in parallel */      \
    X(ENG_PROLOGUE, "eng_prologue") /* first block's stationary registers */             \
    X(ENG_MAC, "eng_mac")           /* one token through the 64x64 block */              \
    X(EPI_OUT, "epi_out")           /* epilogue lanes per cycle */                       \
    X(SM_EXP, "sm_exp")             /* softmax: exp2 of VK_SM_LANES scores */            \
    X(SM_DIV, "sm_div")             /* softmax: one reciprocal per row */                \
    X(SM_NORM, "sm_norm")           /* softmax: VK_SM_LANES probabilities */             \
    X(P_SPILL, "p_spill")           /* a head's probabilities out to DDR, per 16 B */     \
    X(P_FILL, "p_fill")             /* a head's probabilities back in, per 16 B */       \
    X(PRUNE_SCORE, "prune_score")   /* token pruning: class attention per token */       \
    X(PRUNE_RANK, "prune_rank")     /* token pruning: ranks, VK_PE compares/cycle */     \
    X(PRUNE_MOVE, "prune_move")     /* token pruning: kept rows, per 16 words */         \
    X(ARGMAX, "argmax")                                                                   \
    X(ENT_MAX, "ent_max")                                                                 \
    X(ENT_SUM, "ent_sum")                                                                 \
    X(LOG2_MSB, "log2_msb")                                                               \
    X(OUT_LOGITS, "out_logits")

#define VK_LOOP_ENUM(id, name) VK_L_##id,
typedef enum { VK_LOOP_LIST(VK_LOOP_ENUM) VK_L_N } vk_loop;
#undef VK_LOOP_ENUM

#ifdef VK_COUNT_LOOPS
#ifndef __SYNTHESIS__
extern _Thread_local uint64_t vk_loop_trips[VK_L_N];
void vk_loop_trips_reset(void);
#define VK_TRIP(id) (vk_loop_trips[VK_L_##id]++)
#else
#define VK_TRIP(id) ((void)0)
#endif
#else
#define VK_TRIP(id) ((void)0)
#endif

#endif
