/* vk_config: compile-time maxima, the engine's geometry, mode words and
 * buffer layouts shared by the HLS kernel (kernels/vk_kernel.c), its fast
 * native twin (host/vk_fast.c), the quantizer and the boards.
 *
 * The kernel reads four kinds of DDR buffer:
 *   wt  (int8)   every weight matrix PRE-TILED for the GEMM engine: a matrix
 *                [N][K] (N outputs, K inputs) is cut into N-tiles of VK_PE
 *                rows and K-chunks of VK_LANES columns; block (nt, kc) is the
 *                VK_PE x VK_LANES bytes W[nt*64 + r][kc*64 + c] at r*64 + c,
 *                zero-padded past N and K, and the blocks follow each other
 *                in (nt, kc) order. One block is 4096 bytes, 4 KB-aligned:
 *                one full AXI burst of 256 128-bit beats. vk_wt_at() gives a
 *                weight's byte; vk_layout the matrices' offsets.
 *   par  (int32) a VK_HDR_WORDS header (dims, scales), then biases, requant
 *                multipliers/shifts, LayerNorm constants and activation
 *                tables; every section starts on a 4-word (128-bit) boundary
 *                so the kernel reads it in whole 128-bit words.
 *   cfg (uint32) one run's configuration: which encoders run, their mode
 *                words, the resume/save points (VK_CFG_*);
 *   img  (int8)  the quantized normalized image [C][H][W];
 * and writes out (int32, VK_OUT_* words) and, when asked, act (int32: the
 * residual stream after an encoder, VK_ACT_* layout, read back to resume a
 * cascade).
 *
 * Everything here is integer arithmetic on sizes, usable in synthesis.
 * Maxima cover ViT-B/16 (768 wide, 12 heads, 12 encoders, MLP 3072) with
 * up to 198 tokens (DeiT's class and distillation tokens plus 196 patches),
 * 16x16x3 patches and 1000 classes, and every smaller model. */
#ifndef VK_CONFIG_H
#define VK_CONFIG_H

#include <stdint.h>

#define VK_MAX_DIM 768
#define VK_MAX_HEADS 12
#define VK_MAX_HEAD_DIM 64
#define VK_MAX_LAYERS 12
#define VK_MAX_TOKENS 198
#define VK_MAX_PREFIX 2 /* class token (+ DeiT's distillation token) */
#define VK_MAX_MLP 3072
#define VK_MAX_CLASSES 1000
#define VK_MAX_PATCH_DIM 768 /* channels * patch * patch */
#define VK_MAX_IMAGE 224
#define VK_MAX_CHANNELS 3

/* ---- the GEMM engine (one instance; see vk_kernel.c) -------------------
 * A weight-stationary array of VK_PE output channels x VK_LANES inputs:
 * 4096 int8 MACs per cycle, two per DSP48E2 (2,048 DSPs). Weights stream
 * in over VK_WPORTS 128-bit AXI ports, one 4 KB block per port at a time.
 * The epilogue retires VK_EPI_LANES outputs per cycle (VK_PE for raw
 * attention scores), LayerNorm VK_LN_LANES channels per cycle, softmax
 * VK_SM_LANES elements per cycle. boards/zcu102.json describes the same
 * build; the sim board checks that they agree. */
#define VK_PE 64
#define VK_LANES 64
#define VK_BLOCK_BYTES (VK_PE * VK_LANES) /* 4096 */
#define VK_AXI_BYTES 16                   /* one 128-bit beat */
#define VK_BLOCK_BEATS (VK_BLOCK_BYTES / VK_AXI_BYTES)
#define VK_WPORTS 4
#define VK_EPI_LANES 16
#define VK_LN_LANES 16
#define VK_SM_LANES 32
#define VK_FFN_BLOCK VK_PE /* FFN sparsity drops whole N-tiles of FC1 */

/* Tiles of a dimension: ceil(n / 64) (VK_PE == VK_LANES). */
#define VK_TILES(n) (((uint32_t)(n) + 63u) / 64u)
#define VK_PAD64(n) (VK_TILES(n) * 64u)

/* Bytes of a tiled [n][k] matrix, and the byte of W[n][k] in a tiled
 * matrix that starts at off and has k_in inputs. */
static inline uint32_t vk_mat_bytes(uint32_t n_out, uint32_t n_in)
{
    return VK_TILES(n_out) * VK_TILES(n_in) * VK_BLOCK_BYTES;
}

static inline uint32_t vk_wt_at(uint32_t off, uint32_t n_in, uint32_t n, uint32_t k)
{
    return off + ((n / VK_PE) * VK_TILES(n_in) + k / VK_LANES) * VK_BLOCK_BYTES +
           (n % VK_PE) * VK_LANES + k % VK_LANES;
}

/* ---- mode word: one uint32 per encoder (semantics: README "modes") ----- */
/* bits 0..3: attention */
#define VK_ATTN_FULL 0u   /* multi-head attention computed */
#define VK_ATTN_SKIP 1u   /* attention branch absent; residual passes */
#define VK_ATTN_REUSE 2u  /* the latest computed attention probabilities, own V */
#define VK_ATTN_SHARED 3u /* one attention matrix from head-mean Q/K projections */
#define VK_ATTN_MASK 0xFu
/* bits 8..15: percent of the patch tokens kept after this encoder's
 * attention (1..99 prunes and needs FULL or SHARED attention; 0 or 100:
 * all tokens, no pruning) */
#define VK_KEEP_SHIFT 8
#define VK_KEEP_ALL 100u
/* bits 16..23: percent of the FFN hidden neurons dropped (0..99), in whole
 * VK_FFN_BLOCK blocks of the importance-ordered neurons */
#define VK_FFN_SHIFT 16

#define VK_MODE(attn) ((uint32_t)(attn) | (VK_KEEP_ALL << VK_KEEP_SHIFT))
#define VK_MODE_FULL_WORD(attn, keep, ffn)                                                   \
    ((uint32_t)(attn) | ((uint32_t)(keep) << VK_KEEP_SHIFT) | ((uint32_t)(ffn) << VK_FFN_SHIFT))
#define VK_MODE_ATTN(w) ((w) & VK_ATTN_MASK)
#define VK_MODE_KEEP(w) (((w) >> VK_KEEP_SHIFT) & 0xFFu)
#define VK_MODE_FFN(w) (((w) >> VK_FFN_SHIFT) & 0xFFu)
/* 1 if the word asks this encoder to prune tokens */
#define VK_MODE_PRUNES(w) (VK_MODE_KEEP(w) >= 1u && VK_MODE_KEEP(w) < VK_KEEP_ALL)

/* Patch tokens kept of n by keep percent: ceil(keep * n / 100). */
static inline int32_t vk_keep_count(int32_t n, int32_t keep)
{
    return (keep * n + 99) / 100;
}

/* FFN hidden neurons computed of mlp with ffn percent dropped. */
static inline int32_t vk_ffn_keep(int32_t mlp, int32_t ffn)
{
    return mlp - (ffn * mlp / (100 * VK_FFN_BLOCK)) * VK_FFN_BLOCK;
}

/* ---- cfg buffer (uint32 words) ---------------------------------------- */
#define VK_CFG_MAGIC 0x32434B56u /* "VKC2" little-endian */
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

/* ---- act buffer (int32 words): the residual stream between two calls -- */
#define VK_ACT_TOKENS 0 /* tokens in the stream (after any pruning) */
#define VK_ACT_HDR 4    /* then tokens x dim words, row-major */
#define VK_ACT_WORDS(t, d) (VK_ACT_HDR + (uint32_t)(t) * (uint32_t)(d))

/* ---- out buffer (int32 words) ----------------------------------------- */
#define VK_OUT_STATUS 0  /* 0 ok, else VK_KSTAT_* */
#define VK_OUT_CLASS 1   /* argmax of logits, lowest index on ties */
#define VK_OUT_ENTROPY 2 /* entropy of softmax(logits), Q16 nats */
#define VK_OUT_NCLASS 3
#define VK_OUT_LOGITS 4 /* n_classes int32 logits at scale par[VK_HDR_S_LOGIT] */
#define VK_OUT_WORDS (VK_OUT_LOGITS + VK_MAX_CLASSES)

#define VK_KSTAT_OK 0
#define VK_KSTAT_BAD_PAR 1  /* par header magic or a dimension out of range */
#define VK_KSTAT_BAD_CFG 2  /* cfg magic, start/save out of range, bad act */
#define VK_KSTAT_BAD_MODE 3 /* a mode word this kernel cannot run (unknown
                               attention, keep/ffn out of range, pruning
                               without computed attention, reuse with no
                               matching source) */
#define VK_KSTAT_NOMEM 4    /* C simulation only: no memory for the on-chip
                               buffers */

/* ---- par header (int32 words) ------------------------------------------ */
#define VK_PAR_MAGIC 0x32424B56 /* "VKB2" */
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
    VK_HDR_TOKENS,   /* (image/patch)^2 + prefix */
    VK_HDR_LN_EPS,   /* LayerNorm epsilon in residual units^2 (int) */
    VK_HDR_S_IN,     /* float bits: input scale (normalized pixel per LSB) */
    VK_HDR_S_H,      /* float bits: residual stream scale */
    VK_HDR_S_LOGIT,  /* float bits: logit scale */
    VK_HDR_ENT_MULT, /* logit diff -> Q16 log2 units: (d * mult) >> shift */
    VK_HDR_ENT_SHIFT,
    VK_HDR_PREFIX,   /* special tokens before the patches: 1 (class) or 2
                        (class, distillation: the logits average both heads) */
    VK_HDR_WORDS = 32
};
#define VK_PAR_VERSION 2

/* Fixed-point constants of the integer operators (see vk_int.h). */
#define VK_LN_GS 12          /* LayerNorm gamma/beta fraction bits */
#define VK_RESID_LIM (1 << 25) /* residual stream saturates to +-2^25 */
#define VK_MULT_BITS 17      /* requant multipliers are in [2^16, 2^17) */

/* Offsets of every tensor in wt (bytes) and par (words), derived from the
 * dimensions alone so that kernel and host agree by construction. */
typedef struct {
    uint32_t patch_w;   /* wt: [D][PD] */
    uint32_t layer_w;   /* wt: first encoder's qkv_w */
    uint32_t layer_w_n; /* wt: bytes per encoder */
    uint32_t qkv_w, qks_w, proj_w, fc1_w, fc2_w; /* wt: offsets within an encoder */
    uint32_t head_w;    /* wt: [K][D] class-token head */
    uint32_t headd_w;   /* wt: [K][D] distillation head (prefix 2 only) */
    uint32_t wt_n;      /* wt: total bytes */

    uint32_t patch_b, patch_m, patch_s; /* par: [D] each */
    uint32_t tok0;                      /* par: [T][D] prefix+pos at S_h */
    uint32_t layer_p, layer_p_n;        /* par: first encoder, words each */
    /* within an encoder: */
    uint32_t ln1_g, ln1_b;              /* [D] */
    uint32_t qkv_b, qkv_m, qkv_s;       /* [3D] */
    uint32_t qks_b, qks_m, qks_s;       /* [2 dh]: shared-heads q_s, k_s */
    uint32_t sm_m, sm_s;                /* 1: score diff -> Q16 log2 units */
    uint32_t smh_m, smh_s;              /* 1: the same for shared heads */
    uint32_t av_m, av_s;                /* 1: context acc -> int8 */
    uint32_t proj_b, proj_m, proj_s;    /* [D] -> S_h */
    uint32_t ln2_g, ln2_b;              /* [D] */
    uint32_t fc1_b, fc1_m, fc1_s;       /* [M] -> int8 */
    uint32_t gelu;                      /* [256] int8 values, index q+128 */
    uint32_t fc2_b, fc2_m, fc2_s;       /* [D] -> S_h */
    uint32_t lnf_g, lnf_b;              /* par: [D] */
    uint32_t head_b, head_m, head_s;    /* par: [K] -> S_logit */
    uint32_t headd_b, headd_m, headd_s; /* par: [K] (prefix 2 only) */
    uint32_t par_n;                     /* par: total words */
} vk_layout;

/* Largest buffers the maxima allow (the m_axi ports' depth= for
 * co-simulation): weights in 128-bit beats (a ViT-B/16 with a
 * distillation head), par in beats, image bytes, act words. */
#define VK_WT_BEATS_MAX 5600000
#define VK_PAR_BEATS_MAX 120000
#define VK_IMG_BYTES_MAX (VK_MAX_CHANNELS * VK_MAX_IMAGE * VK_MAX_IMAGE)
#define VK_ACT_WORDS_MAX VK_ACT_WORDS(VK_MAX_TOKENS, VK_MAX_DIM)
/* The probability spill area (ps): [head][token][256] bytes, used only
 * when an encoder reuses an earlier encoder's attention. */
#define VK_PSPILL_BYTES (VK_MAX_HEADS * VK_MAX_TOKENS * 256)

/* n words rounded up to whole 128-bit words */
#define VK_PAR_ALIGN(n) (((uint32_t)(n) + 3u) & ~3u)

static inline void vk_layout_compute(vk_layout *l, uint32_t c, uint32_t p, uint32_t d,
                                     uint32_t n_layers, uint32_t mlp, uint32_t k,
                                     uint32_t t, uint32_t n_heads, uint32_t prefix)
{
    uint32_t pd = c * p * p, dh = n_heads ? d / n_heads : d, o;
    l->patch_w = 0;
    l->qkv_w = 0;
    l->qks_w = vk_mat_bytes(3 * d, d);
    l->proj_w = l->qks_w + vk_mat_bytes(2 * dh, d);
    l->fc1_w = l->proj_w + vk_mat_bytes(d, d);
    l->fc2_w = l->fc1_w + vk_mat_bytes(mlp, d);
    l->layer_w_n = l->fc2_w + vk_mat_bytes(d, mlp);
    l->layer_w = vk_mat_bytes(d, pd);
    l->head_w = l->layer_w + n_layers * l->layer_w_n;
    l->headd_w = l->head_w + vk_mat_bytes(k, d);
    l->wt_n = l->headd_w + (prefix > 1 ? vk_mat_bytes(k, d) : 0);

#define VK_SECT(field, n) (l->field = o, o += VK_PAR_ALIGN(n))
    o = VK_HDR_WORDS;
    VK_SECT(patch_b, d);
    VK_SECT(patch_m, d);
    VK_SECT(patch_s, d);
    VK_SECT(tok0, t * d);
    l->layer_p = o;
    o = 0;
    VK_SECT(ln1_g, d);
    VK_SECT(ln1_b, d);
    VK_SECT(qkv_b, 3 * d);
    VK_SECT(qkv_m, 3 * d);
    VK_SECT(qkv_s, 3 * d);
    VK_SECT(qks_b, 2 * dh);
    VK_SECT(qks_m, 2 * dh);
    VK_SECT(qks_s, 2 * dh);
    l->sm_m = o;
    l->sm_s = o + 1;
    l->smh_m = o + 2;
    l->smh_s = o + 3;
    o += 4;
    l->av_m = o;
    l->av_s = o + 1;
    o += 4;
    VK_SECT(proj_b, d);
    VK_SECT(proj_m, d);
    VK_SECT(proj_s, d);
    VK_SECT(ln2_g, d);
    VK_SECT(ln2_b, d);
    VK_SECT(fc1_b, mlp);
    VK_SECT(fc1_m, mlp);
    VK_SECT(fc1_s, mlp);
    VK_SECT(gelu, 256);
    VK_SECT(fc2_b, d);
    VK_SECT(fc2_m, d);
    VK_SECT(fc2_s, d);
    l->layer_p_n = o;
    o = l->layer_p + n_layers * l->layer_p_n;
    VK_SECT(lnf_g, d);
    VK_SECT(lnf_b, d);
    VK_SECT(head_b, k);
    VK_SECT(head_m, k);
    VK_SECT(head_s, k);
    if (prefix > 1) {
        VK_SECT(headd_b, k);
        VK_SECT(headd_m, k);
        VK_SECT(headd_s, k);
    } else {
        l->headd_b = l->headd_m = l->headd_s = o;
    }
    l->par_n = o;
#undef VK_SECT
}

#endif
