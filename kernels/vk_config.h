/* vk_config: compile-time maxima, mode words and buffer layouts shared by the
 * HLS kernel (kernels/vk_kernel.c), its fast native twin and the host.
 *
 * The kernel reads four buffers:
 *   wt  (int8)   all weight matrices, row-major [out][in], in the order of
 *                vk_layout (patch, then per encoder qkv/proj/fc1/fc2, head);
 *   par (int32)  a VK_HDR_WORDS header (dims, scales) then biases, requant
 *                multipliers/shifts, LayerNorm constants, GELU tables;
 *   cfg (uint32) one run's configuration: which encoders, their mode words,
 *                resume/save points (VK_CFG_*);
 *   img (int8)   the quantized normalized image [C][H][W];
 * and writes out (int32, VK_OUT_* words) and, when asked, act (int32 [T][D],
 * the residual stream after an encoder, read back to resume a cascade).
 *
 * Everything here is integer arithmetic on sizes, usable in synthesis.
 * Maxima cover DeiT-S (384 wide, 6 heads, 12 encoders, 197 tokens, MLP 1536,
 * 16x16x3 patches, 1000 classes) and smaller models. */
#ifndef VK_CONFIG_H
#define VK_CONFIG_H

#include <stdint.h>

#define VK_MAX_DIM 384
#define VK_MAX_HEADS 12
#define VK_MAX_HEAD_DIM 64
#define VK_MAX_LAYERS 12
#define VK_MAX_TOKENS 197
#define VK_MAX_MLP 1536
#define VK_MAX_CLASSES 1000
#define VK_MAX_PATCH_DIM 768 /* channels * patch * patch */
#define VK_MAX_IMAGE 224
#define VK_MAX_CHANNELS 3

/* ---- mode word: one uint32 per encoder --------------------------------- */
/* bits 0..3: attention mode */
#define VK_ATTN_FULL 0u   /* multi-head attention computed */
#define VK_ATTN_SKIP 1u   /* attention branch not computed; residual passes */
#define VK_ATTN_REUSE 2u  /* reserved: reuse previous encoder's probabilities */
#define VK_ATTN_SHARED 3u /* reserved: one attention matrix for all heads */
#define VK_ATTN_MASK 0xFu
/* bits 8..15: token keep ratio in 1/255 (255 = keep all; reserved) */
#define VK_KEEP_SHIFT 8
#define VK_KEEP_ALL 255u
/* bits 16..23: FFN sparsity (reserved, 0 = dense) */
#define VK_FFN_SHIFT 16

#define VK_MODE(attn) ((uint32_t)(attn) | (VK_KEEP_ALL << VK_KEEP_SHIFT))
#define VK_MODE_ATTN(w) ((w) & VK_ATTN_MASK)
#define VK_MODE_KEEP(w) (((w) >> VK_KEEP_SHIFT) & 0xFFu)
#define VK_MODE_FFN(w) (((w) >> VK_FFN_SHIFT) & 0xFFu)

/* ---- cfg buffer (uint32 words) ---------------------------------------- */
#define VK_CFG_MAGIC 0x31434B56u /* "VKC1" little-endian */
#define VK_CFG_MAGIC_W 0
#define VK_CFG_START 1 /* first encoder to run; > 0 reads act as its input */
#define VK_CFG_SAVE 2  /* if > 0: write act after this many encoders */
#define VK_CFG_MODES 4 /* VK_MAX_LAYERS mode words follow */
#define VK_CFG_WORDS (VK_CFG_MODES + VK_MAX_LAYERS)

/* Host side: a run configuration (VK_CFG_WORDS words) for n_layers mode
 * words, starting at encoder start and saving act after save encoders. */
static inline void vk_cfg_init(uint32_t *cfg, const uint32_t *modes, int n_layers, int start,
                               int save)
{
    for (int w = 0; w < VK_CFG_WORDS; w++)
        cfg[w] = 0;
    cfg[VK_CFG_MAGIC_W] = VK_CFG_MAGIC;
    cfg[VK_CFG_START] = (uint32_t)start;
    cfg[VK_CFG_SAVE] = (uint32_t)save;
    for (int l = 0; l < n_layers; l++)
        cfg[VK_CFG_MODES + l] = modes[l];
}

/* ---- out buffer (int32 words) ----------------------------------------- */
#define VK_OUT_STATUS 0  /* 0 ok, else VK_KSTAT_* */
#define VK_OUT_CLASS 1   /* argmax of logits, lowest index on ties */
#define VK_OUT_ENTROPY 2 /* entropy of softmax(logits), Q16 nats */
#define VK_OUT_NCLASS 3
#define VK_OUT_LOGITS 4 /* n_classes int32 logits at scale par[VK_HDR_S_LOGIT] */
#define VK_OUT_WORDS (VK_OUT_LOGITS + VK_MAX_CLASSES)

#define VK_KSTAT_OK 0
#define VK_KSTAT_BAD_PAR 1   /* par header magic or a dimension out of range */
#define VK_KSTAT_BAD_CFG 2   /* cfg magic, start/save out of range */
#define VK_KSTAT_BAD_MODE 3  /* a mode this kernel build does not implement */

/* ---- par header (int32 words) ------------------------------------------ */
#define VK_PAR_MAGIC 0x31424B56 /* "VKB1" */
enum {
    VK_HDR_MAGIC = 0,
    VK_HDR_VERSION,
    VK_HDR_IMAGE,    /* image side, pixels */
    VK_HDR_PATCH,    /* patch side, pixels */
    VK_HDR_CHANNELS,
    VK_HDR_DIM,
    VK_HDR_LAYERS,
    VK_HDR_HEADS,
    VK_HDR_MLP,
    VK_HDR_CLASSES,
    VK_HDR_TOKENS,   /* (image/patch)^2 + 1 */
    VK_HDR_LN_EPS,   /* LayerNorm epsilon in residual units^2 (int) */
    VK_HDR_S_IN,     /* float bits: input scale (normalized pixel per LSB) */
    VK_HDR_S_H,      /* float bits: residual stream scale */
    VK_HDR_S_LOGIT,  /* float bits: logit scale */
    VK_HDR_ENT_MULT, /* logit diff -> Q16 log2 units: (d * mult) >> shift */
    VK_HDR_ENT_SHIFT,
    VK_HDR_WORDS = 32
};
#define VK_PAR_VERSION 1

/* ---- the HLS design's parallelism (the MAC array) ---------------------
 * Linear layers: VK_HLS_PE output channels x VK_HLS_LANES inputs per cycle
 * (4096 int8 MACs/cycle = 2048 DSP48E2 at 2 MACs each, 81% of the XCZU9EG's
 * 2,520). Attention: QK^T and AV use the same array (keys/values in PE
 * groups, head dimension in lanes). Softmax: VK_HLS_SM_LANES exp units.
 * boards/zcu102.json describes the same build; the sim board checks it. */
#define VK_HLS_PE 64
#define VK_HLS_LANES 64
#define VK_HLS_SM_LANES 16

/* Fixed-point constants of the integer operators (see vk_int.h). */
#define VK_LN_GS 12 /* LayerNorm gamma/beta fraction bits */

/* Offsets (in elements) of every tensor in wt and par, derived from the
 * dimensions alone so that kernel and host agree by construction. */
typedef struct {
    uint32_t patch_w;   /* wt: [D][PD] */
    uint32_t layer_w;   /* wt: first encoder's qkv_w */
    uint32_t layer_w_n; /* wt: elements per encoder */
    uint32_t qkv_w, proj_w, fc1_w, fc2_w; /* wt: offsets within an encoder */
    uint32_t head_w;    /* wt: [K][D] */
    uint32_t wt_n;      /* wt: total elements */

    uint32_t patch_b, patch_m, patch_s; /* par: [D] each */
    uint32_t tok0;                      /* par: [T][D] cls+pos at S_h */
    uint32_t layer_p, layer_p_n;        /* par: first encoder, words each */
    /* within an encoder: */
    uint32_t ln1_g, ln1_b;              /* [D] */
    uint32_t qkv_b, qkv_m, qkv_s;       /* [3D] */
    uint32_t sm_m, sm_s;                /* 1: score diff -> Q16 log2 units */
    uint32_t av_m, av_s;                /* 1: context acc -> int8 */
    uint32_t proj_b, proj_m, proj_s;    /* [D] -> S_h */
    uint32_t ln2_g, ln2_b;              /* [D] */
    uint32_t fc1_b, fc1_m, fc1_s;       /* [M] -> int8 */
    uint32_t gelu;                      /* [256] int8 values, index q+128 */
    uint32_t fc2_b, fc2_m, fc2_s;       /* [D] -> S_h */
    uint32_t lnf_g, lnf_b;              /* par: [D] */
    uint32_t head_b, head_m, head_s;    /* par: [K] -> S_logit */
    uint32_t par_n;                     /* par: total words */
} vk_layout;

static inline void vk_layout_compute(vk_layout *l, uint32_t c, uint32_t p, uint32_t d,
                                     uint32_t n_layers, uint32_t mlp, uint32_t k,
                                     uint32_t t)
{
    uint32_t pd = c * p * p, o;
    l->patch_w = 0;
    l->qkv_w = 0;
    l->proj_w = 3 * d * d;
    l->fc1_w = l->proj_w + d * d;
    l->fc2_w = l->fc1_w + mlp * d;
    l->layer_w_n = l->fc2_w + d * mlp;
    l->layer_w = d * pd;
    l->head_w = l->layer_w + n_layers * l->layer_w_n;
    l->wt_n = l->head_w + k * d;

    o = VK_HDR_WORDS;
    l->patch_b = o; o += d;
    l->patch_m = o; o += d;
    l->patch_s = o; o += d;
    l->tok0 = o; o += t * d;
    l->layer_p = o;
    o = 0;
    l->ln1_g = o; o += d;
    l->ln1_b = o; o += d;
    l->qkv_b = o; o += 3 * d;
    l->qkv_m = o; o += 3 * d;
    l->qkv_s = o; o += 3 * d;
    l->sm_m = o; o += 1;
    l->sm_s = o; o += 1;
    l->av_m = o; o += 1;
    l->av_s = o; o += 1;
    l->proj_b = o; o += d;
    l->proj_m = o; o += d;
    l->proj_s = o; o += d;
    l->ln2_g = o; o += d;
    l->ln2_b = o; o += d;
    l->fc1_b = o; o += mlp;
    l->fc1_m = o; o += mlp;
    l->fc1_s = o; o += mlp;
    l->gelu = o; o += 256;
    l->fc2_b = o; o += d;
    l->fc2_m = o; o += d;
    l->fc2_s = o; o += d;
    l->layer_p_n = o;
    o = l->layer_p + n_layers * l->layer_p_n;
    l->lnf_g = o; o += d;
    l->lnf_b = o; o += d;
    l->head_b = o; o += k;
    l->head_m = o; o += k;
    l->head_s = o; o += k;
    l->par_n = o;
}

#endif
