/* vk_fast: the kernel's integer forward pass on the host (see vk_fast.h).
 *
 * Structure. Every int8 product of the model is one shape, C[m][n] =
 * sum_k A[m][k] * B[n][k] with int32 sums: A is the activation (tokens x
 * inputs: LayerNorm output, attention context, MLP hidden, patches, Q of a
 * head, or the Q8 probabilities P of a head, which are unsigned), B the
 * weights (outputs x inputs) or, inside attention, K and V^T of a head.
 * B is packed once into panels of NR outputs (weights at load, K/V per head
 * per image), A is converted per product into the ISA's operand type, and a
 * register tile of up to 6 rows x NR columns runs over k. An epilogue then
 * applies the kernel's operators to the int32 sums, column panel by column
 * panel:
 *   OUT8   y = sat8(requant(sum + bias)), optionally through the GELU table;
 *   RESID  h = sat_resid(h + requant(sum + bias))  (residual stream, +-2^25);
 *   SET32  y = sat30(requant(sum + bias))       (logits).
 *
 * Operators. The portable path calls kernels/vk_int.h for every operator.
 * The AVX2 path calls it for LayerNorm and softmax (compiled for AVX2 at
 * O3, same source) and requantizes 8 columns at a time; the AVX-512 path
 * also has vector twins of vk_layernorm_row and vk_softmax_row_q8. Each
 * twin is the same integer function written for vector lanes (derivations
 * next to each); vk_fast_selfcheck compares them with vk_int.h (every
 * exp2 input, random rows, extreme multipliers and shifts), and the
 * requantizers are used only where their derivation holds (mult >= 0,
 * shift 0..63, checked at load; else the vk_int.h code runs). The
 * per-token scalars (mean, reciprocals) are vk_int.h's own.
 *
 * Exactness. The kernel accumulates bias + sum of int8 x int8 in int32;
 * here the sum is accumulated first and the bias added after, which is the
 * same integer (no intermediate leaves int32 for any model the kernel can
 * run: |sum| <= 1536 * 128 * 128 < 2^25). Per ISA:
 *   scalar: int32 += int16(a) * int8(b);
 *   AVX2:   a and b as int16, vpmaddwd (pairs, exact in int32), vpaddd;
 *   VNNI:   vpdpbusd (u8 x s8, groups of 4, int32 without saturation) on
 *           a' = a ^ 0x80 = a + 128 when A is signed, then minus
 *           128 * sum_k b (computed at packing); modulo-2^32 arithmetic
 *           makes the difference exact. Unsigned A (probabilities) as is.
 * Zero padding of k (to 2 or 4) and of n (to NR) contributes nothing.
 * A product may use only the first n_use outputs (FFN sparsity: FC1's
 * first neurons) and the first k_use inputs (FC2 reads only those): the
 * panels loop over the first k_use inputs, whose A is zero-padded, and
 * VNNI subtracts the correction of that input prefix (one per 64-neuron
 * cut, computed at packing).
 *
 * Modes (the README's "Per-encoder modes"; vk_kernel.c's op lists). The QKV matrix is
 * packed as two, Q/K rows and V rows, so that reuse and shared heads
 * project V alone; shared heads projects q_s/k_s with its own matrix. A
 * worker keeps the probability sets of the latest encoder that computed
 * attention (one per head, or the shared one) with their A operands: a
 * reuse multiplies them with its own V, pruning ranks the patch tokens by
 * their class rows. Pruning compacts the residual rows; every later
 * product runs on the kept tokens.
 *
 * Buffers. Weight panels are shared and read-only after vk_fast_ctx_new;
 * each worker (one per concurrent thread) owns the activations of one image
 * and one attention scratch per head, so the heads of one image may run on
 * different threads. */
#include "vk_fast.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/vk_int.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define VK_FAST_X86 1
#endif

#define MR 6      /* rows of a register tile */
#define NR_MAX 32 /* widest panel (VNNI: two zmm of 16 int32) */
/* products smaller than this many MACs stay on one thread */
#define PAR_MIN_MACS (1L << 21)

typedef struct {
    int n, k;         /* outputs, inputs */
    int n_pad, k_pad; /* rounded up to the panel width and the k step */
    void *b;          /* panels: [n_pad/NR][k_pad/KQ][NR][KQ] (scalar: [n_pad][k_pad]) */
    int32_t *corr;    /* VNNI, signed A: [n_cut][n_pad], cut c: 128 * sum of b[n][i]
                         over the first k - 64 c inputs (a product may use only those) */
    int n_cut;        /* input prefixes corr covers (FC2: every FFN sparsity) */
} fmat;

typedef struct {
    void *aq;     /* Q of the head, as A */
    fmat km;      /* K of the head, as B (n = tokens, k = head dim) */
    int32_t *s;   /* scores [T][km.n_pad] */
    int32_t *e;   /* softmax scratch [T] */
    uint8_t *p;   /* probabilities [tokens][tokens] */
    void *ap;     /* P as A (kept with p: a later reuse reads both) */
    fmat vm;      /* V^T of the head (n = head dim, k = tokens) */
    int32_t *cv;  /* context sums [T][vm.n_pad] */
} fhead;

typedef struct {
    int32_t *h;      /* residual stream [T][D] (vk_fast_run) */
    int8_t *patch;   /* [G*G][PD] */
    int8_t *xn;      /* LayerNorm output [T][D] */
    int8_t *qkv;     /* [T][3D] */
    int8_t *ctx8;    /* attention context [T][D] */
    int8_t *mid;     /* MLP hidden after the activation table [T][M] */
    void *a;         /* A operand of the current product */
    int32_t *c;      /* int32 sums of the current product */
    int32_t *logit;  /* [K] */
    int32_t *logitd; /* [K] the distillation head's (prefix 2) */
    fhead *hs;       /* [n_heads] */
    /* attention a later reuse reads: 0 (none), 1 (the shared-heads matrix,
       in hs[0]) or n_heads (one per head) probability sets, held in hs[].p
       and hs[].ap for the tokens now in the stream */
    int att_sets;
    /* the stream the pieces (vk_fast_embed/_encoders/_resume) last left:
       its act buffer and the encoders run on it (NULL: none) */
    const int32_t *st_act;
    int st_at;
} fworker;

enum { EPI_NONE = 0, EPI_OUT8, EPI_RESID, EPI_SET32 };

typedef struct {
    int kind;
    const int32_t *bias;         /* [n] or NULL */
    const int32_t *mult, *shift; /* [n], or NULL for m1/s1 */
    int32_t m1, s1;
    const int32_t *table;        /* OUT8: activation table, index q + 128, or NULL */
    const int16_t *table16;      /* the same, (int8_t) of each entry, when table is set */
    int8_t *y;                   /* OUT8 */
    int32_t *h;                  /* RESID, SET32 */
    int ys;                      /* row stride of y or h */
} fepi;

/* One ISA's implementation of the hot loops. */
typedef struct {
    /* A rows (int8, or uint8 if src_unsigned; stride lds bytes) -> operand
     * rows of kp elements */
    void (*prep_a)(const void *src, int lds, int m, int k, int kp, int src_unsigned, void *dst);
    /* C[r][p*NR + j] = sum_{k < kl} A[r][k] B[p*NR + j][k], r < m, j < NR: A
     * rows of kl elements (kl <= k_pad, a multiple of the k step), minus
     * corr[p*NR + j] when corr is given (VNNI with signed A) */
    void (*panel)(const fmat *mt, const void *a, int kl, int m, const int32_t *corr, int p,
                  int32_t *c, int ldc);
    /* the epilogue on columns [j0, j1) of m rows of C */
    void (*epilogue)(const fepi *e, const int32_t *c, int ldc, int m, int j0, int j1);
    void (*ln_rows)(const int32_t *h, int t, int d, const int32_t *g, const int32_t *b,
                    int32_t eps, int8_t *y);
    void (*sm_rows)(const int32_t *s, int lds, int t, int32_t mult, int32_t shift, int32_t *e,
                    uint8_t *p);
} fops;

struct vk_fast_ctx {
    vk_fast_isa isa;
    fops ops;
    int nr, kq, asz, bsz;  /* panel width, k step, A and B element bytes */
    int32_t *par;          /* copy of the blob's par */
    vk_layout lay;
    int img, p, ch, d, n_layers, heads, dh, mlp, k, t, g, pd, prefix;
    fmat patch, head, headd; /* headd: the distillation head (prefix 2) */
    int16_t gelu16[VK_MAX_LAYERS][256]; /* (int8_t) of the activation tables */
    /* per encoder: Q and K rows of the QKV matrix (2D outputs), its V rows
       (D), the shared-heads q_s/k_s (2 head dims), projection, FC1, FC2 */
    fmat qk[VK_MAX_LAYERS], v[VK_MAX_LAYERS], qks[VK_MAX_LAYERS];
    fmat proj[VK_MAX_LAYERS], fc1[VK_MAX_LAYERS], fc2[VK_MAX_LAYERS];
    fworker *w;
    int n_workers;
    int threads;           /* vk_fast_run's threads inside one image */
    uint8_t hash[32];      /* the blob's SHA-256 */
};


/* ---- ISA detection ------------------------------------------------------ */

int vk_fast_isa_supported(vk_fast_isa isa)
{
    switch (isa) {
    case VK_FAST_ISA_AUTO:
    case VK_FAST_ISA_SCALAR:
        return 1;
#ifdef VK_FAST_X86
    case VK_FAST_ISA_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2");
    case VK_FAST_ISA_VNNI:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx512f") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
#endif
    default:
        return 0;
    }
}

const char *vk_fast_isa_str(vk_fast_isa isa)
{
    switch (isa) {
    case VK_FAST_ISA_AUTO: return "auto";
    case VK_FAST_ISA_SCALAR: return "scalar";
    case VK_FAST_ISA_AVX2: return "avx2";
    case VK_FAST_ISA_VNNI: return "avx512-vnni";
    }
    return "?";
}

/* ---- operands ----------------------------------------------------------- */

static int round_up(int x, int m)
{
    return (x + m - 1) / m * m;
}

static size_t a_bytes(const vk_fast_ctx *f, int m, int k)
{
    return (size_t)m * round_up(k, f->kq) * f->asz;
}

static void mat_dims(const vk_fast_ctx *f, fmat *mt, int n, int k)
{
    mt->n = n;
    mt->k = k;
    mt->n_pad = round_up(n, f->nr);
    mt->k_pad = round_up(k, f->kq);
}

static size_t mat_b_bytes(const vk_fast_ctx *f, const fmat *mt)
{
    return (size_t)mt->n_pad * mt->k_pad * f->bsz;
}

/* B[j][i] = src[j * sn + i * sk] (int8) into mt's panels, and corr (when
 * allocated: VNNI matrices used with signed A). Only the n x k entries are
 * written: the padding stays zero from allocation, since a matrix is always
 * repacked with the same shape. */
static void pack_b(const vk_fast_ctx *f, const int8_t *src, long sn, long sk, fmat *mt)
{
    int kp = mt->k_pad, k = mt->k, j, i;
    if (f->isa == VK_FAST_ISA_VNNI && sn == 1) { /* V^T: token rows are contiguous */
        for (i = 0; i < k; i++) {
            const int8_t *s = src + i * sk;
            int8_t *d = (int8_t *)mt->b + (size_t)(i >> 2) * 128 + (i & 3);
            for (j = 0; j < mt->n; j++)
                d[(size_t)(j >> 5) * kp * 32 + (size_t)(j & 31) * 4] = s[j];
        }
    } else {
        for (j = 0; j < mt->n; j++) {
            const int8_t *s = src + j * sn;
            if (f->isa == VK_FAST_ISA_SCALAR) {
                int8_t *d = (int8_t *)mt->b + (size_t)j * kp;
                for (i = 0; i < k; i++)
                    d[i] = s[i * sk];
            } else if (f->isa == VK_FAST_ISA_AVX2) { /* [n/16][k/2][16][2] int16 */
                int16_t *d = (int16_t *)mt->b + (size_t)(j >> 4) * kp * 16 + (size_t)(j & 15) * 2;
                for (i = 0; i < k; i++)
                    d[((i >> 1) << 5) + (i & 1)] = s[i * sk];
            } else { /* [n/32][k/4][32][4] int8 */
                int8_t *d = (int8_t *)mt->b + (size_t)(j >> 5) * kp * 32 + (size_t)(j & 31) * 4;
                for (i = 0; i < k; i++)
                    d[((i >> 2) << 7) + (i & 3)] = s[i * sk];
            }
        }
    }
    if (mt->corr)
        for (j = 0; j < mt->n; j++) {
            int32_t sum = 0;
            for (i = 0; i < k; i++) {
                int c = (k - 1 - i) / 64; /* the deepest cut input i is in */
                sum += src[j * sn + i * sk];
                if ((k - 1 - i) % 64 == 0 && c < mt->n_cut)
                    mt->corr[(size_t)c * mt->n_pad + j] = 128 * sum;
            }
        }
}

/* Outputs [n0, n0 + mt->n) of a tiled matrix of the blob (vk_wt_at; k_in
 * inputs at wt + off) packed through the row-major scratch tmp. */
static void pack_tiled(const vk_fast_ctx *f, const int8_t *wt, uint32_t off, int n0, int k_in,
                       int8_t *tmp, fmat *mt)
{
    for (int n = 0; n < mt->n; n++)
        for (int k = 0; k < k_in; k++)
            tmp[(size_t)n * k_in + k] =
                wt[vk_wt_at(off, (uint32_t)k_in, (uint32_t)(n0 + n), (uint32_t)k)];
    pack_b(f, tmp, k_in, 1, mt);
}

/* ---- generic bodies, compiled once per ISA ------------------------------
 * Each is instantiated in a plain function (scalar) and in functions with a
 * target attribute (and O3, so that gcc vectorizes the vk_int.h loops for
 * that ISA); the source, and so the integers, are the same. */

#define VK_INL static inline __attribute__((always_inline))

/* A rows (int8, or uint8 if src_unsigned; stride lds bytes) -> int16 rows
 * of kp elements, zero padded (scalar and AVX2 operand). */
VK_INL void prep_a16_body(const void *src, int lds, int m, int k, int kp, int src_unsigned,
                          void *dst)
{
    int r, i;
    for (r = 0; r < m; r++) {
        const uint8_t *su = (const uint8_t *)src + (size_t)r * lds;
        const int8_t *ss = (const int8_t *)su;
        int16_t *dr = (int16_t *)dst + (size_t)r * kp;
        if (src_unsigned)
            for (i = 0; i < k; i++)
                dr[i] = su[i];
        else
            for (i = 0; i < k; i++)
                dr[i] = ss[i];
        for (i = k; i < kp; i++)
            dr[i] = 0;
    }
}

/* -> uint8 rows, signed input biased by 128 (VNNI operand) */
VK_INL void prep_a8_body(const void *src, int lds, int m, int k, int kp, int src_unsigned,
                         void *dst)
{
    int r, i;
    uint8_t x = src_unsigned ? 0 : 0x80;
    for (r = 0; r < m; r++) {
        const uint8_t *sr = (const uint8_t *)src + (size_t)r * lds;
        uint8_t *dr = (uint8_t *)dst + (size_t)r * kp;
        for (i = 0; i < k; i++)
            dr[i] = sr[i] ^ x;
        for (i = k; i < kp; i++)
            dr[i] = 0;
    }
}

VK_INL void ln_rows_body(const int32_t *h, int t, int d, const int32_t *g, const int32_t *b,
                         int32_t eps, int8_t *y)
{
    int i;
    for (i = 0; i < t; i++)
        vk_layernorm_row(h + (size_t)i * d, d, g, b, eps, y + (size_t)i * d);
}

VK_INL void sm_rows_body(const int32_t *s, int lds, int t, int32_t mult, int32_t shift,
                         int32_t *e, uint8_t *p)
{
    int r;
    for (r = 0; r < t; r++)
        vk_softmax_row_q8(s + (size_t)r * lds, t, mult, shift, e, p + (size_t)r * t);
}

/* One output of the epilogue with the kernel's operators. */
VK_INL void epi_one(const fepi *e, int32_t c, int r, int o)
{
    int32_t acc = (int32_t)((uint32_t)c + (uint32_t)(e->bias ? e->bias[o] : 0));
    int64_t v = e->mult ? vk_requant(acc, e->mult[o], e->shift[o]) : vk_requant(acc, e->m1, e->s1);
    if (e->kind == EPI_OUT8) {
        int8_t q = vk_sat8(v);
        e->y[(size_t)r * e->ys + o] = e->table ? (int8_t)e->table[q + 128] : q;
    } else if (e->kind == EPI_RESID) {
        int32_t *hp = &e->h[(size_t)r * e->ys + o];
        *hp = vk_sat_resid((int64_t)*hp + v);
    } else {
        e->h[(size_t)r * e->ys + o] = vk_sat30(v);
    }
}

/* ---- portable C --------------------------------------------------------- */

static void prep_a_scalar(const void *src, int lds, int m, int k, int kp, int src_unsigned,
                          void *dst)
{
    prep_a16_body(src, lds, m, k, kp, src_unsigned, dst);
}

static void panel_scalar(const fmat *mt, const void *av, int kl, int m, const int32_t *corr,
                         int p, int32_t *c, int ldc)
{
    const int16_t *a = av;
    int r, j, i, kp = mt->k_pad;
    (void)corr;
    for (r = 0; r < m; r++) {
        const int16_t *ar = a + (size_t)r * kl;
        for (j = p * 16; j < p * 16 + 16; j++) {
            const int8_t *br = (const int8_t *)mt->b + (size_t)j * kp;
            int32_t s = 0;
            for (i = 0; i < kl; i++)
                s += (int32_t)ar[i] * br[i];
            c[(size_t)r * ldc + j] = s;
        }
    }
}

static void epilogue_scalar(const fepi *e, const int32_t *c, int ldc, int m, int j0, int j1)
{
    int r, o;
    for (r = 0; r < m; r++)
        for (o = j0; o < j1; o++)
            epi_one(e, c[(size_t)r * ldc + o], r, o);
}

static void ln_rows_scalar(const int32_t *h, int t, int d, const int32_t *g, const int32_t *b,
                           int32_t eps, int8_t *y)
{
    ln_rows_body(h, t, d, g, b, eps, y);
}

static void sm_rows_scalar(const int32_t *s, int lds, int t, int32_t mult, int32_t shift,
                           int32_t *e, uint8_t *p)
{
    sm_rows_body(s, lds, t, mult, shift, e, p);
}

static const fops ops_scalar = {prep_a_scalar, panel_scalar, epilogue_scalar, ln_rows_scalar,
                                sm_rows_scalar};

#ifdef VK_FAST_X86
/* ---- AVX2 --------------------------------------------------------------- */

#define VK_HOT_AVX2 __attribute__((target("avx2"), optimize("O3")))

VK_HOT_AVX2 static void prep_a_avx2(const void *src, int lds, int m, int k, int kp,
                                    int src_unsigned, void *dst)
{
    prep_a16_body(src, lds, m, k, kp, src_unsigned, dst);
}

VK_HOT_AVX2 static void ln_rows_avx2(const int32_t *h, int t, int d, const int32_t *g,
                                     const int32_t *b, int32_t eps, int8_t *y)
{
    ln_rows_body(h, t, d, g, b, eps, y);
}

VK_HOT_AVX2 static void sm_rows_avx2(const int32_t *s, int lds, int t, int32_t mult,
                                     int32_t shift, int32_t *e, uint8_t *p)
{
    sm_rows_body(s, lds, t, mult, shift, e, p);
}

/* Register tile: mr rows x 16 columns, int16 pairs through vpmaddwd. */
__attribute__((target("avx2"), always_inline)) static inline void
tile_avx2(const int mr, const int16_t *a, int kp, const int16_t *bp, int32_t *c, int ldc)
{
    __m256i acc[MR][2];
    int r, i;
#pragma GCC unroll 6
    for (r = 0; r < mr; r++)
        acc[r][0] = acc[r][1] = _mm256_setzero_si256();
    for (i = 0; i < kp; i += 2) {
        __m256i w0 = _mm256_loadu_si256((const __m256i *)(bp + (size_t)i * 16));
        __m256i w1 = _mm256_loadu_si256((const __m256i *)(bp + (size_t)i * 16 + 16));
#pragma GCC unroll 6
        for (r = 0; r < mr; r++) {
            int32_t av;
            memcpy(&av, a + (size_t)r * kp + i, sizeof av);
            __m256i x = _mm256_set1_epi32(av);
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(x, w0));
            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(x, w1));
        }
    }
#pragma GCC unroll 6
    for (r = 0; r < mr; r++) {
        _mm256_storeu_si256((__m256i *)(c + (size_t)r * ldc), acc[r][0]);
        _mm256_storeu_si256((__m256i *)(c + (size_t)r * ldc + 8), acc[r][1]);
    }
}

__attribute__((target("avx2"))) static void panel_avx2(const fmat *mt, const void *av, int kp,
                                                       int m, const int32_t *corr, int p,
                                                       int32_t *c, int ldc)
{
    const int16_t *a = av;
    int r0 = 0;
    const int16_t *bp = (const int16_t *)mt->b + (size_t)p * mt->k_pad * 16;
    (void)corr;
    c += p * 16;
    for (; r0 + MR <= m; r0 += MR)
        tile_avx2(MR, a + (size_t)r0 * kp, kp, bp, c + (size_t)r0 * ldc, ldc);
    switch (m - r0) {
    case 5: tile_avx2(5, a + (size_t)r0 * kp, kp, bp, c + (size_t)r0 * ldc, ldc); break;
    case 4: tile_avx2(4, a + (size_t)r0 * kp, kp, bp, c + (size_t)r0 * ldc, ldc); break;
    case 3: tile_avx2(3, a + (size_t)r0 * kp, kp, bp, c + (size_t)r0 * ldc, ldc); break;
    case 2: tile_avx2(2, a + (size_t)r0 * kp, kp, bp, c + (size_t)r0 * ldc, ldc); break;
    case 1: tile_avx2(1, a + (size_t)r0 * kp, kp, bp, c + (size_t)r0 * ldc, ldc); break;
    default: break;
    }
}

/* Requantization of 4 lanes: |acc| * mult (unsigned, < 2^62 for mult in
 * [0, 2^31)), plus half, logical shift, sign put back: round half away
 * from zero, the same integer as vk_requant for shift in [0, 63]
 * (vk_fast_ctx_new falls back to the scalar epilogue otherwise).
 * m64, s64, half64: per lane mult, shift and 2^(shift-1) (0 for shift 0). */
__attribute__((target("avx2"), always_inline)) static inline __m256i
rq4(__m128i acc, __m256i m64, __m256i s64, __m256i half64)
{
    __m256i neg = _mm256_cvtepi32_epi64(_mm_srai_epi32(acc, 31));
    __m256i u = _mm256_cvtepu32_epi64(_mm_abs_epi32(acc)); /* 2^31 for INT32_MIN */
    __m256i r = _mm256_srlv_epi64(_mm256_add_epi64(_mm256_mul_epu32(u, m64), half64), s64);
    return _mm256_sub_epi64(_mm256_xor_si256(r, neg), neg);
}

__attribute__((target("avx2"), always_inline)) static inline __m256i clamp64(__m256i v,
                                                                          __m256i lo, __m256i hi)
{
    v = _mm256_blendv_epi8(v, hi, _mm256_cmpgt_epi64(v, hi));
    return _mm256_blendv_epi8(v, lo, _mm256_cmpgt_epi64(lo, v));
}

/* 4 int64 lanes holding int32 values -> 4 int32 */
__attribute__((target("avx2"), always_inline)) static inline __m128i narrow4(__m256i v)
{
    return _mm256_castsi256_si128(
        _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6)));
}

/* Columns o..o+7's multipliers, shifts and biases (one value for every
 * column where the epilogue has a single multiplier; zeros without bias). */
__attribute__((target("avx2"), always_inline)) static inline void
epi_cols8(const fepi *e, int o, __m256i *mu, __m256i *sh, __m256i *bias)
{
    *mu = e->mult ? _mm256_loadu_si256((const __m256i *)(e->mult + o)) : _mm256_set1_epi32(e->m1);
    *sh = e->mult ? _mm256_loadu_si256((const __m256i *)(e->shift + o)) : _mm256_set1_epi32(e->s1);
    *bias = e->bias ? _mm256_loadu_si256((const __m256i *)(e->bias + o)) : _mm256_setzero_si256();
}

/* Columns 8 at a time (mult, shift widened once per 8 columns), the
 * remainder through epi_one. */
__attribute__((target("avx2"))) static void epilogue_avx2(const fepi *e, const int32_t *c,
                                                          int ldc, int m, int j0, int j1)
{
    const __m256i one = _mm256_set1_epi64x(1);
    const int64_t lim = e->kind == EPI_RESID ? VK_RESID_LIM : (int64_t)1 << 30;
    const __m256i lim_hi = _mm256_set1_epi64x(lim), lim_lo = _mm256_set1_epi64x(-lim);
    const __m256i b_hi = _mm256_set1_epi64x(127), b_lo = _mm256_set1_epi64x(-128);
    int r, o;
    for (o = j0; o + 8 <= j1; o += 8) {
        __m256i mu, sh, bias;
        epi_cols8(e, o, &mu, &sh, &bias);
        __m256i m_lo = _mm256_cvtepu32_epi64(_mm256_castsi256_si128(mu));
        __m256i m_hi = _mm256_cvtepu32_epi64(_mm256_extracti128_si256(mu, 1));
        __m256i s_lo = _mm256_cvtepu32_epi64(_mm256_castsi256_si128(sh));
        __m256i s_hi = _mm256_cvtepu32_epi64(_mm256_extracti128_si256(sh, 1));
        __m256i h_lo = _mm256_srli_epi64(_mm256_sllv_epi64(one, s_lo), 1);
        __m256i h_hi = _mm256_srli_epi64(_mm256_sllv_epi64(one, s_hi), 1);
        for (r = 0; r < m; r++) {
            __m256i acc = _mm256_add_epi32(
                _mm256_loadu_si256((const __m256i *)(c + (size_t)r * ldc + o)), bias);
            __m256i lo = rq4(_mm256_castsi256_si128(acc), m_lo, s_lo, h_lo);
            __m256i hi = rq4(_mm256_extracti128_si256(acc, 1), m_hi, s_hi, h_hi);
            if (e->kind == EPI_OUT8) {
                int8_t *y = e->y + (size_t)r * e->ys + o;
                __m128i w = _mm_packs_epi32(narrow4(clamp64(lo, b_lo, b_hi)),
                                            narrow4(clamp64(hi, b_lo, b_hi)));
                _mm_storel_epi64((__m128i *)y, _mm_packs_epi16(w, w));
                if (e->table)
                    for (int i = 0; i < 8; i++)
                        y[i] = (int8_t)e->table[y[i] + 128];
            } else {
                int32_t *hp = e->h + (size_t)r * e->ys + o;
                if (e->kind == EPI_RESID) {
                    lo = _mm256_add_epi64(
                        lo, _mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)hp)));
                    hi = _mm256_add_epi64(
                        hi, _mm256_cvtepi32_epi64(_mm_loadu_si128((const __m128i *)(hp + 4))));
                }
                _mm_storeu_si128((__m128i *)hp, narrow4(clamp64(lo, lim_lo, lim_hi)));
                _mm_storeu_si128((__m128i *)(hp + 4), narrow4(clamp64(hi, lim_lo, lim_hi)));
            }
        }
    }
    for (r = 0; r < m && o < j1; r++)
        for (int oo = o; oo < j1; oo++)
            epi_one(e, c[(size_t)r * ldc + oo], r, oo);
}

static const fops ops_avx2 = {prep_a_avx2, panel_avx2, epilogue_avx2, ln_rows_avx2,
                              sm_rows_avx2};

/* ---- AVX-512 VNNI ------------------------------------------------------- */

#define VK_T512 "avx2,avx512f,avx512bw,avx512dq,avx512vl,avx512vnni"
#define VK_HOT_512 __attribute__((target(VK_T512), optimize("O3")))

VK_HOT_512 static void prep_a_512(const void *src, int lds, int m, int k, int kp,
                                  int src_unsigned, void *dst)
{
    prep_a8_body(src, lds, m, k, kp, src_unsigned, dst);
}

/* vk_rshift_round of int64 lanes by a constant s >= 1: for x >= 0
 * (x + half) >> s, for x < 0 -((-x + half) >> s) = (x + half - 1) >> s
 * (arithmetic), since ceil(a / 2^s) = floor((a + 2^s - 1) / 2^s). */
__attribute__((target(VK_T512), always_inline)) static inline __m512i rsr64(__m512i x, int s)
{
    __m512i half = _mm512_set1_epi64((int64_t)1 << (s - 1));
    return _mm512_srai_epi64(_mm512_add_epi64(_mm512_add_epi64(x, half), _mm512_srai_epi64(x, 63)),
                             s);
}

/* floor(sqrt(v)) for v >= 0, as vk_isqrt64: the double square root, then
 * corrected to the exact floor (s * s fits in uint64 for v < 2^63). */
static inline int64_t isqrt_exact(int64_t v)
{
    uint64_t u = (uint64_t)v, q = (uint64_t)sqrt((double)v);
    while (q * q > u)
        q--;
    while ((q + 1) * (q + 1) <= u)
        q++;
    return (int64_t)q;
}

/* vk_layernorm_row on 8 channels at a time: the same sums (int64), the
 * per-token mean through vk_int.h's vk_div_round, the square root exact
 * (isqrt_exact), the same reciprocal, and
 * the same two roundings per channel (vpmullq, rsr64, vpmovsqb = vk_sat8). */
__attribute__((target(VK_T512))) static void ln_rows_512(const int32_t *h, int t, int d,
                                                         const int32_t *g, const int32_t *b,
                                                         int32_t eps, int8_t *y)
{
    int r, i;
    for (r = 0; r < t; r++) {
        const int32_t *hr = h + (size_t)r * d;
        int8_t *yr = y + (size_t)r * d;
        __m512i acc = _mm512_setzero_si512(), vm;
        int64_t mean, var, sd, inv;
        for (i = 0; i < d; i += 8) {
            __mmask8 k = (__mmask8)(d - i >= 8 ? 0xFF : (1u << (d - i)) - 1);
            acc = _mm512_add_epi64(acc, _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(k, hr + i)));
        }
        mean = vk_div_round(_mm512_reduce_add_epi64(acc), d);
        vm = _mm512_set1_epi64(mean);
        acc = _mm512_setzero_si512();
        for (i = 0; i < d; i += 8) {
            __mmask8 k = (__mmask8)(d - i >= 8 ? 0xFF : (1u << (d - i)) - 1);
            __m512i c = _mm512_sub_epi64(
                _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(k, hr + i)), vm);
            acc = _mm512_mask_add_epi64(acc, k, acc, _mm512_mullo_epi64(c, c));
        }
        var = _mm512_reduce_add_epi64(acc) / d + (eps > 0 ? eps : 0);
        sd = isqrt_exact(var);
        if (sd < 1)
            sd = 1;
        inv = ((int64_t)1 << 40) / sd;
        for (i = 0; i < d; i += 8) {
            __mmask8 k = (__mmask8)(d - i >= 8 ? 0xFF : (1u << (d - i)) - 1);
            __m512i c = _mm512_sub_epi64(
                _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(k, hr + i)), vm);
            __m512i q = rsr64(_mm512_mullo_epi64(c, _mm512_set1_epi64(inv)), 24);
            __m512i gv = _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(k, g + i));
            __m512i bv = _mm512_slli_epi64(
                _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(k, b + i)), 16);
            __m512i o = rsr64(_mm512_add_epi64(_mm512_mullo_epi64(q, gv), bv), 16 + VK_LN_GS);
            _mm_mask_storeu_epi8(yr + i, k, _mm512_cvtsepi64_epi8(o));
        }
    }
}

/* vk_softmax_row_q8 on 16 scores at a time, for mult >= 0 and shift in
 * [0, 63] (else the vk_int.h code runs): nx = -x = ((mx - s) * mult + half)
 * >> shift as in vk_rshift_round of a non-positive product; exp2 of -nx as
 * vk_exp2_neg_q16 in int32 lanes (nx clamped at 16 << 16, where it returns
 * 0; table by vpermt2d, 0 where n >= 16); one reciprocal per row from the
 * same int64 division; probabilities (e * rz + 2^31) >> 32, at most 255. */
__attribute__((target(VK_T512))) static void sm_rows_512(const int32_t *s, int lds, int t,
                                                         int32_t mult, int32_t shift, int32_t *e,
                                                         uint8_t *p)
{
    const __m512i t_a0 = _mm512_loadu_si512(vk_exp2_tbl), t_a1 = _mm512_loadu_si512(vk_exp2_tbl + 16);
    const __m512i t_b0 = _mm512_loadu_si512(vk_exp2_tbl + 1),
                  t_b1 = _mm512_loadu_si512(vk_exp2_tbl + 17);
    const __m512i m64 = _mm512_set1_epi64(mult), s64 = _mm512_set1_epi64(shift);
    const __m512i lim = _mm512_set1_epi64(16 << 16), one = _mm512_set1_epi32(1);
    __m512i half;
    int r, j;
    if (mult < 0 || shift < 0 || shift > 63) {
        sm_rows_body(s, lds, t, mult, shift, e, p);
        return;
    }
    half = _mm512_srli_epi64(_mm512_sllv_epi64(_mm512_set1_epi64(1), s64), 1);
    for (r = 0; r < t; r++) {
        const int32_t *sr = s + (size_t)r * lds;
        uint8_t *pr = p + (size_t)r * t;
        __m512i vmx = _mm512_set1_epi32(INT32_MIN), vz = _mm512_setzero_si512(), rz;
        int32_t mx;
        for (j = 0; j < t; j += 16) {
            __mmask16 k = (__mmask16)(t - j >= 16 ? 0xFFFF : (1u << (t - j)) - 1);
            vmx = _mm512_mask_max_epi32(vmx, k, vmx, _mm512_maskz_loadu_epi32(k, sr + j));
        }
        mx = _mm512_reduce_max_epi32(vmx);
        for (j = 0; j < t; j += 16) {
            __mmask16 k = (__mmask16)(t - j >= 16 ? 0xFFFF : (1u << (t - j)) - 1);
            __m512i dd = _mm512_sub_epi32(_mm512_set1_epi32(mx), _mm512_maskz_loadu_epi32(k, sr + j));
            __m512i lo = _mm512_cvtepu32_epi64(_mm512_castsi512_si256(dd));
            __m512i hi = _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(dd, 1));
            lo = _mm512_min_epu64(
                _mm512_srlv_epi64(_mm512_add_epi64(_mm512_mul_epu32(lo, m64), half), s64), lim);
            hi = _mm512_min_epu64(
                _mm512_srlv_epi64(_mm512_add_epi64(_mm512_mul_epu32(hi, m64), half), s64), lim);
            __m512i nx = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi64_epi32(lo)),
                                            _mm512_cvtepi64_epi32(hi), 1);
            __m512i n = _mm512_srli_epi32(nx, 16), f = _mm512_and_si512(nx, _mm512_set1_epi32(0xFFFF));
            __m512i idx = _mm512_srli_epi32(f, 11), rr = _mm512_and_si512(f, _mm512_set1_epi32(0x7FF));
            __m512i a = _mm512_permutex2var_epi32(t_a0, idx, t_a1);
            __m512i bb = _mm512_permutex2var_epi32(t_b0, idx, t_b1);
            __m512i v = _mm512_sub_epi32(
                a, _mm512_srli_epi32(_mm512_add_epi32(_mm512_mullo_epi32(_mm512_sub_epi32(a, bb), rr),
                                                      _mm512_set1_epi32(1024)),
                                     11));
            __m512i ev = _mm512_srlv_epi32(_mm512_add_epi32(v, _mm512_sllv_epi32(one, n)),
                                           _mm512_add_epi32(n, one));
            ev = _mm512_maskz_mov_epi32(
                _mm512_mask_cmplt_epu32_mask(k, n, _mm512_set1_epi32(16)), ev);
            _mm512_mask_storeu_epi32(e + j, k, ev);
            vz = _mm512_add_epi32(vz, ev);
        }
        rz = _mm512_set1_epi64(((int64_t)1 << 40) / _mm512_reduce_add_epi32(vz));
        for (j = 0; j < t; j += 8) {
            __mmask8 k = (__mmask8)(t - j >= 8 ? 0xFF : (1u << (t - j)) - 1);
            __m512i q = _mm512_cvtepu32_epi64(_mm256_maskz_loadu_epi32(k, e + j));
            q = _mm512_srli_epi64(
                _mm512_add_epi64(_mm512_mul_epu32(q, rz), _mm512_set1_epi64((int64_t)1 << 31)), 32);
            q = _mm512_min_epu64(q, _mm512_set1_epi64(255));
            _mm_mask_storeu_epi8(pr + j, k, _mm512_cvtepi64_epi8(q));
        }
    }
}

/* Register tile: mr rows x 32 columns, vpdpbusd on 4 inputs at a time. */
__attribute__((target(VK_T512), always_inline)) static inline void
tile_vnni(const int mr, const uint8_t *a, int kp, const int8_t *bp, int32_t *c, int ldc,
          const int32_t *corr)
{
    __m512i acc[MR][2];
    int r, i;
#pragma GCC unroll 6
    for (r = 0; r < mr; r++)
        acc[r][0] = acc[r][1] = _mm512_setzero_si512();
    for (i = 0; i < kp; i += 4) {
        __m512i w0 = _mm512_loadu_si512(bp + (size_t)i * 32);
        __m512i w1 = _mm512_loadu_si512(bp + (size_t)i * 32 + 64);
#pragma GCC unroll 6
        for (r = 0; r < mr; r++) {
            int32_t av;
            memcpy(&av, a + (size_t)r * kp + i, sizeof av);
            __m512i x = _mm512_set1_epi32(av);
            acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], x, w0);
            acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], x, w1);
        }
    }
    if (corr) {
        __m512i c0 = _mm512_loadu_si512(corr), c1 = _mm512_loadu_si512(corr + 16);
#pragma GCC unroll 6
        for (r = 0; r < mr; r++) {
            acc[r][0] = _mm512_sub_epi32(acc[r][0], c0);
            acc[r][1] = _mm512_sub_epi32(acc[r][1], c1);
        }
    }
#pragma GCC unroll 6
    for (r = 0; r < mr; r++) {
        _mm512_storeu_si512(c + (size_t)r * ldc, acc[r][0]);
        _mm512_storeu_si512(c + (size_t)r * ldc + 16, acc[r][1]);
    }
}

__attribute__((target(VK_T512))) static void panel_vnni(const fmat *mt, const void *av, int kp,
                                                        int m, const int32_t *corr, int p,
                                                        int32_t *c, int ldc)
{
    const uint8_t *a = av;
    int r0 = 0;
    const int8_t *bp = (const int8_t *)mt->b + (size_t)p * mt->k_pad * 32;
    if (corr)
        corr += p * 32;
    c += p * 32;
    for (; r0 + MR <= m; r0 += MR)
        tile_vnni(MR, a + (size_t)r0 * kp, kp, bp, c + (size_t)r0 * ldc, ldc, corr);
    switch (m - r0) {
    case 5: tile_vnni(5, a + (size_t)r0 * kp, kp, bp, c + (size_t)r0 * ldc, ldc, corr); break;
    case 4: tile_vnni(4, a + (size_t)r0 * kp, kp, bp, c + (size_t)r0 * ldc, ldc, corr); break;
    case 3: tile_vnni(3, a + (size_t)r0 * kp, kp, bp, c + (size_t)r0 * ldc, ldc, corr); break;
    case 2: tile_vnni(2, a + (size_t)r0 * kp, kp, bp, c + (size_t)r0 * ldc, ldc, corr); break;
    case 1: tile_vnni(1, a + (size_t)r0 * kp, kp, bp, c + (size_t)r0 * ldc, ldc, corr); break;
    default: break;
    }
}

/* y = (int8_t)table[y + 128] on columns [j0, j1) of m rows, 32 at a time:
 * the 256 entries (as int16) in 8 registers, four vpermt2w lookups of 64
 * entries each, picked by bits 6 and 7 of the index. */
__attribute__((target(VK_T512))) static void table_512(int8_t *y, int ys, int m, int j0, int j1,
                                                       const int16_t *t16)
{
    __m512i tv[8], off = _mm512_set1_epi16(128);
    int r, o, i;
    for (i = 0; i < 8; i++)
        tv[i] = _mm512_loadu_si512(t16 + 32 * i);
    for (r = 0; r < m; r++)
        for (o = j0; o < j1; o += 32) {
            int8_t *yr = y + (size_t)r * ys + o;
            __mmask32 k = j1 - o >= 32 ? 0xFFFFFFFFu : (1u << (j1 - o)) - 1;
            __m512i ix = _mm512_add_epi16(_mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(k, yr)), off);
            __mmask32 b6 = _mm512_test_epi16_mask(ix, _mm512_set1_epi16(64));
            __mmask32 b7 = _mm512_test_epi16_mask(ix, _mm512_set1_epi16(128));
            __m512i lo = _mm512_mask_blend_epi16(b6, _mm512_permutex2var_epi16(tv[0], ix, tv[1]),
                                                 _mm512_permutex2var_epi16(tv[2], ix, tv[3]));
            __m512i hi = _mm512_mask_blend_epi16(b6, _mm512_permutex2var_epi16(tv[4], ix, tv[5]),
                                                 _mm512_permutex2var_epi16(tv[6], ix, tv[7]));
            _mm512_mask_cvtepi16_storeu_epi8(yr, k, _mm512_mask_blend_epi16(b7, lo, hi));
        }
}

/* As epilogue_avx2 with 8 lanes of 64 bits: the same requantization
 * (|acc| * mult + half, logical shift, sign back), then saturation by
 * vpmovsqb (= vk_sat8) or min/max (= vk_sat30). */
__attribute__((target(VK_T512))) static void epilogue_512(const fepi *e, const int32_t *c,
                                                          int ldc, int m, int j0, int j1)
{
    const __m512i one = _mm512_set1_epi64(1), zero = _mm512_setzero_si512();
    const int64_t lim = e->kind == EPI_RESID ? VK_RESID_LIM : (int64_t)1 << 30;
    const __m512i lim_hi = _mm512_set1_epi64(lim), lim_lo = _mm512_set1_epi64(-lim);
    int r, o;
    for (o = j0; o + 8 <= j1; o += 8) {
        __m256i mu, sh, bias;
        epi_cols8(e, o, &mu, &sh, &bias);
        __m512i m64 = _mm512_cvtepu32_epi64(mu), s64 = _mm512_cvtepu32_epi64(sh);
        __m512i half = _mm512_srli_epi64(_mm512_sllv_epi64(one, s64), 1);
        for (r = 0; r < m; r++) {
            __m256i acc = _mm256_add_epi32(
                _mm256_loadu_si256((const __m256i *)(c + (size_t)r * ldc + o)), bias);
            __mmask8 neg = _mm256_cmplt_epi32_mask(acc, _mm256_setzero_si256());
            __m512i u = _mm512_cvtepu32_epi64(_mm256_abs_epi32(acc));
            __m512i v = _mm512_srlv_epi64(_mm512_add_epi64(_mm512_mul_epu32(u, m64), half), s64);
            v = _mm512_mask_sub_epi64(v, neg, zero, v);
            if (e->kind == EPI_OUT8) {
                int8_t *y = e->y + (size_t)r * e->ys + o;
                _mm_storel_epi64((__m128i *)y, _mm512_cvtsepi64_epi8(v));
            } else {
                int32_t *hp = e->h + (size_t)r * e->ys + o;
                if (e->kind == EPI_RESID)
                    v = _mm512_add_epi64(
                        v, _mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i *)hp)));
                v = _mm512_min_epi64(_mm512_max_epi64(v, lim_lo), lim_hi);
                _mm256_storeu_si256((__m256i *)hp, _mm512_cvtepi64_epi32(v));
            }
        }
    }
    if (e->kind == EPI_OUT8 && e->table)
        table_512(e->y, e->ys, m, j0, o, e->table16);
    for (r = 0; r < m && o < j1; r++)
        for (int oo = o; oo < j1; oo++)
            epi_one(e, c[(size_t)r * ldc + oo], r, oo);
}

static const fops ops_vnni = {prep_a_512, panel_vnni, epilogue_512, ln_rows_512, sm_rows_512};
#endif

static int threads_for(const vk_fast_ctx *f, int nt, long macs)
{
    (void)f;
    return macs >= PAR_MIN_MACS ? nt : 1;
}

/* A = m rows of src (stride lds bytes; k inputs, or unsigned probabilities)
 * as the ISA's operand into abuf: rows of round_up(k, k step) elements. */
static void prep(const vk_fast_ctx *f, const void *src, int lds, int m, int k, int src_unsigned,
                 void *abuf)
{
    f->ops.prep_a(src, lds, m, k, round_up(k, f->kq), src_unsigned, abuf);
}

/* C = A B^T over the first n_use outputs and the first k_use inputs of mt
 * (k_use: mt->k, or mt->k less whole 64-input blocks), then the epilogue;
 * a is the operand prep() made of k_use inputs, signed unless it holds
 * probabilities. */
static void gemm(const vk_fast_ctx *f, const fmat *mt, const void *a, int m, int n_use,
                 int k_use, int a_signed, const fepi *e, int32_t *cbuf, int nt)
{
    int kl = round_up(k_use, f->kq), np = (n_use + f->nr - 1) / f->nr, pi;
    const int32_t *corr =
        a_signed && mt->corr ? mt->corr + (size_t)((mt->k - k_use) / 64) * mt->n_pad : NULL;
    nt = threads_for(f, nt, (long)m * n_use * k_use);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (pi = 0; pi < np; pi++) {
        int j0 = pi * f->nr, j1 = j0 + f->nr < n_use ? j0 + f->nr : n_use;
        f->ops.panel(mt, a, kl, m, corr, pi, cbuf, mt->n_pad);
        if (e->kind != EPI_NONE)
            f->ops.epilogue(e, cbuf, mt->n_pad, m, j0, j1);
    }
}

/* The whole product: prep() into abuf, then gemm() over all of mt. */
static void linear(const vk_fast_ctx *f, const fmat *mt, const void *src, int lds, int m,
                   const fepi *e, void *abuf, int32_t *cbuf, int nt)
{
    prep(f, src, lds, m, mt->k, 0, abuf);
    gemm(f, mt, abuf, m, mt->n, mt->k, 1, e, cbuf, nt);
}

/* ---- the forward pass --------------------------------------------------- */

static const int32_t *layer_par(const vk_fast_ctx *f, int l)
{
    return f->par + f->lay.layer_p + (size_t)l * f->lay.layer_p_n;
}

/* One probability set: scores q k^T of t tokens (q, k: head-dim int8 rows
 * of stride ys), the softmax into hs->p, and hs->ap made of it. */
static void att_probs(const vk_fast_ctx *f, fhead *hs, const int8_t *q, const int8_t *k, int ys,
                      int t, int32_t mult, int32_t shift, int nt)
{
    mat_dims(f, &hs->km, t, f->dh);
    pack_b(f, k, ys, 1, &hs->km);
    prep(f, q, ys, t, f->dh, 0, hs->aq);
    gemm(f, &hs->km, hs->aq, t, t, f->dh, 1, &(fepi){.kind = EPI_NONE}, hs->s, nt);
    f->ops.sm_rows(hs->s, hs->km.n_pad, t, mult, shift, hs->e, hs->p);
    prep(f, hs->p, t, t, t, 1, hs->ap);
}

/* Attention of t tokens in mode attn from the int8 projections in w->qkv
 * ([t][3D]: Q, K (full) or q_s, k_s (shared) in front, V at 2D) into the
 * context w->ctx8: full computes a probability set per head, shared one
 * for all heads, reuse applies the sets held since the latest computing
 * encoder; each head's context is its set times its own V. */
static void attention(const vk_fast_ctx *f, fworker *w, uint32_t attn, const int32_t *lp, int t,
                      int nt)
{
    int d = f->d, dh = f->dh, d3 = 3 * d, hd;
    if (attn == VK_ATTN_SHARED)
        att_probs(f, &w->hs[0], w->qkv, w->qkv + dh, d3, t, lp[f->lay.smh_m], lp[f->lay.smh_s],
                  nt);
    if (attn != VK_ATTN_REUSE)
        w->att_sets = attn == VK_ATTN_FULL ? f->heads : 1;
    nt = threads_for(f, nt, (attn == VK_ATTN_FULL ? 2L : 1L) * t * t * d);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (hd = 0; hd < f->heads; hd++) {
        fhead *hs = &w->hs[hd];
        fepi e = {.kind = EPI_OUT8, .m1 = lp[f->lay.av_m], .s1 = lp[f->lay.av_s],
                  .y = w->ctx8 + hd * dh, .ys = d};
        if (attn == VK_ATTN_FULL)
            att_probs(f, hs, w->qkv + hd * dh, w->qkv + d + hd * dh, d3, t, lp[f->lay.sm_m],
                      lp[f->lay.sm_s], 1);
        mat_dims(f, &hs->vm, dh, t);
        pack_b(f, w->qkv + 2 * d + hd * dh, 1, d3, &hs->vm);
        gemm(f, &hs->vm, w->hs[w->att_sets == 1 ? 0 : hd].ap, t, dh, t, 0, &e, hs->cv, 1);
    }
}

/* Token pruning after an encoder's attention: keeps the prefix tokens and
 * the top vk_keep_count(patches, keep) patch tokens ranked by the class
 * token's attention summed over the held probability sets (ties: the lower
 * index first), in their order, compacting the rows of h. Returns the
 * token count. The sets no longer match the tokens: none is held after. */
static int prune(const vk_fast_ctx *f, fworker *w, int32_t *h, int t, int keep)
{
    int32_t score[VK_MAX_TOKENS], cnt[VK_MAX_HEADS * 255 + 1];
    int pre = f->prefix, n = t - pre, m = vk_keep_count(n, keep), top = 255 * w->att_sets;
    int j, s, v, above = 0, ties, dst = pre;
    memset(cnt, 0, (size_t)(top + 1) * sizeof *cnt);
    for (j = 0; j < n; j++) {
        int32_t sum = 0;
        for (s = 0; s < w->att_sets; s++)
            sum += w->hs[s].p[pre + j]; /* row 0: the class token's */
        score[j] = sum;
        cnt[sum]++;
    }
    /* the m-th largest score v: all above it are kept, and the first ties */
    for (v = top; above + cnt[v] < m; v--)
        above += cnt[v];
    ties = m - above;
    for (j = 0; j < n; j++)
        if (score[j] > v || (score[j] == v && ties-- > 0)) {
            if (dst != pre + j)
                memcpy(h + (size_t)dst * f->d, h + (size_t)(pre + j) * f->d,
                       (size_t)f->d * sizeof *h);
            dst++;
        }
    w->att_sets = 0;
    return dst;
}

/* Encoder l in mode word `mode` on the t = *n_tok rows of h (in place);
 * *n_tok is the token count after it. */
static void encoder(const vk_fast_ctx *f, fworker *w, int l, uint32_t mode, int32_t *h,
                    int *n_tok, int nt)
{
    const vk_layout *L = &f->lay;
    const int32_t *lp = layer_par(f, l);
    int32_t eps = f->par[VK_HDR_LN_EPS];
    uint32_t attn = VK_MODE_ATTN(mode);
    int d = f->d, t = *n_tok, m_keep = vk_ffn_keep(f->mlp, (int32_t)VK_MODE_FFN(mode));
    if (attn != VK_ATTN_SKIP) {
        f->ops.ln_rows(h, t, d, &lp[L->ln1_g], &lp[L->ln1_b], eps, w->xn);
        prep(f, w->xn, d, t, d, 0, w->a);
        if (attn == VK_ATTN_FULL)
            gemm(f, &f->qk[l], w->a, t, 2 * d, d, 1,
                 &(fepi){.kind = EPI_OUT8, .bias = &lp[L->qkv_b], .mult = &lp[L->qkv_m],
                         .shift = &lp[L->qkv_s], .y = w->qkv, .ys = 3 * d},
                 w->c, nt);
        else if (attn == VK_ATTN_SHARED)
            gemm(f, &f->qks[l], w->a, t, 2 * f->dh, d, 1,
                 &(fepi){.kind = EPI_OUT8, .bias = &lp[L->qks_b], .mult = &lp[L->qks_m],
                         .shift = &lp[L->qks_s], .y = w->qkv, .ys = 3 * d},
                 w->c, nt);
        gemm(f, &f->v[l], w->a, t, d, d, 1,
             &(fepi){.kind = EPI_OUT8, .bias = &lp[L->qkv_b + 2 * d], .mult = &lp[L->qkv_m + 2 * d],
                     .shift = &lp[L->qkv_s + 2 * d], .y = w->qkv + 2 * d, .ys = 3 * d},
             w->c, nt);
        attention(f, w, attn, lp, t, nt);
        linear(f, &f->proj[l], w->ctx8, d, t,
               &(fepi){.kind = EPI_RESID, .bias = &lp[L->proj_b], .mult = &lp[L->proj_m],
                       .shift = &lp[L->proj_s], .h = h, .ys = d},
               w->a, w->c, nt);
        if (VK_MODE_PRUNES(mode))
            t = prune(f, w, h, t, (int)VK_MODE_KEEP(mode));
    }
    f->ops.ln_rows(h, t, d, &lp[L->ln2_g], &lp[L->ln2_b], eps, w->xn);
    prep(f, w->xn, d, t, d, 0, w->a);
    gemm(f, &f->fc1[l], w->a, t, m_keep, d, 1,
         &(fepi){.kind = EPI_OUT8, .bias = &lp[L->fc1_b], .mult = &lp[L->fc1_m],
                 .shift = &lp[L->fc1_s], .table = &lp[L->gelu], .table16 = f->gelu16[l],
                 .y = w->mid, .ys = f->mlp},
         w->c, nt);
    prep(f, w->mid, f->mlp, t, m_keep, 0, w->a);
    gemm(f, &f->fc2[l], w->a, t, d, m_keep, 1,
         &(fepi){.kind = EPI_RESID, .bias = &lp[L->fc2_b], .mult = &lp[L->fc2_m],
                 .shift = &lp[L->fc2_s], .h = h, .ys = d},
         w->c, nt);
    *n_tok = t;
}

/* The stream before encoder 0 (all tokens) into h. */
static void embed(const vk_fast_ctx *f, fworker *w, const int8_t *img, int32_t *h, int nt)
{
    int g = f->g, p = f->p, s = f->img, py, px, ch, ky, kx;
    for (size_t i = 0; i < (size_t)f->t * f->d; i++)
        h[i] = vk_sat_resid(f->par[f->lay.tok0 + i]);
    for (py = 0; py < g; py++)
        for (px = 0; px < g; px++) {
            int8_t *pt = w->patch + (size_t)(py * g + px) * f->pd;
            for (ch = 0; ch < f->ch; ch++)
                for (ky = 0; ky < p; ky++)
                    for (kx = 0; kx < p; kx++)
                        pt[(ch * p + ky) * p + kx] =
                            img[(ch * s + py * p + ky) * s + px * p + kx];
        }
    linear(f, &f->patch, w->patch, f->pd, g * g,
           &(fepi){.kind = EPI_RESID, .bias = f->par + f->lay.patch_b,
                   .mult = f->par + f->lay.patch_m, .shift = f->par + f->lay.patch_s,
                   .h = h + (size_t)f->prefix * f->d, .ys = f->d},
           w->a, w->c, nt);
    w->att_sets = 0;
}

/* Final LayerNorm of the class token (row 0 of h), classifier, entropy;
 * with a distillation token (row 1), its head's logits averaged in, as the
 * kernel's VK_E_LOGIT_AVG: (class + distillation + 1) >> 1. */
static void head(const vk_fast_ctx *f, fworker *w, const int32_t *h, int32_t *out, int nt)
{
    const vk_layout *L = &f->lay;
    int o;
    vk_layernorm_row(h, f->d, f->par + L->lnf_g, f->par + L->lnf_b, f->par[VK_HDR_LN_EPS],
                     w->xn);
    linear(f, &f->head, w->xn, f->d, 1,
           &(fepi){.kind = EPI_SET32, .bias = f->par + L->head_b, .mult = f->par + L->head_m,
                   .shift = f->par + L->head_s, .h = w->logit, .ys = f->k},
           w->a, w->c, nt);
    if (f->prefix > 1) {
        vk_layernorm_row(h + f->d, f->d, f->par + L->lnf_g, f->par + L->lnf_b,
                         f->par[VK_HDR_LN_EPS], w->xn);
        linear(f, &f->headd, w->xn, f->d, 1,
               &(fepi){.kind = EPI_SET32, .bias = f->par + L->headd_b,
                       .mult = f->par + L->headd_m, .shift = f->par + L->headd_s, .h = w->logitd,
                       .ys = f->k},
               w->a, w->c, nt);
        for (o = 0; o < f->k; o++)
            w->logit[o] = (int32_t)vk_rshift_round((int64_t)w->logit[o] + w->logitd[o], 1);
    }
    out[VK_OUT_STATUS] = VK_KSTAT_OK;
    out[VK_OUT_CLASS] = vk_argmax(w->logit, f->k);
    out[VK_OUT_ENTROPY] =
        vk_entropy_q16(w->logit, f->k, f->par[VK_HDR_ENT_MULT], f->par[VK_HDR_ENT_SHIFT]);
    out[VK_OUT_NCLASS] = f->k;
    for (o = 0; o < f->k; o++)
        out[VK_OUT_LOGITS + o] = w->logit[o];
}

/* The kernel's mode rules (vk_k_check_modes) on encoders [from, to), with
 * a reuse source held at `from` when have_src: -1 if every word is one the
 * kernel runs, else the first encoder whose word it refuses. */
static int first_bad_mode(const uint32_t *modes, int from, int to, int have_src)
{
    int l, src = have_src;
    for (l = from; l < to; l++) {
        uint32_t m = modes[l], a = VK_MODE_ATTN(m);
        int computes = a == VK_ATTN_FULL || a == VK_ATTN_SHARED, prunes = VK_MODE_PRUNES(m);
        if (a > VK_ATTN_SHARED || VK_MODE_KEEP(m) > VK_KEEP_ALL || VK_MODE_FFN(m) > 99 ||
            (m & 0xFF0000F0u) != 0 || (prunes && !computes) || (a == VK_ATTN_REUSE && !src))
            return l;
        if (computes)
            src = 1;
        if (prunes)
            src = 0;
    }
    return -1;
}

/* The kernel's cfg checks; VK_KSTAT_OK or the status it writes. */
static int32_t check_cfg(const vk_fast_ctx *f, const uint32_t *cfg)
{
    int32_t start = (int32_t)cfg[VK_CFG_START], save = (int32_t)cfg[VK_CFG_SAVE];
    if (cfg[VK_CFG_MAGIC_W] != VK_CFG_MAGIC || start < 0 || start > f->n_layers || save < 0 ||
        save > f->n_layers || (save > 0 && save < start))
        return VK_KSTAT_BAD_CFG;
    if (!vk_fast_modes_ok(f, cfg + VK_CFG_MODES, start))
        return VK_KSTAT_BAD_MODE;
    return VK_KSTAT_OK;
}

/* The residual stream of t tokens into an act buffer (VK_ACT_* layout;
 * the header's other words untouched, as the kernel leaves them). */
static void act_save(const vk_fast_ctx *f, const int32_t *h, int t, int32_t *act)
{
    act[VK_ACT_TOKENS] = t;
    memcpy(act + VK_ACT_HDR, h, (size_t)t * f->d * sizeof *h);
}

/* 1 if a saved stream's token count is one the kernel resumes from. */
static int tokens_ok(const vk_fast_ctx *f, int32_t n)
{
    return n > f->prefix && n <= f->t;
}

static void run_one(vk_fast_ctx *f, fworker *w, const uint32_t *cfg, const int8_t *img,
                    int32_t *act, int32_t *out, int nt)
{
    int32_t st = check_cfg(f, cfg), start, save, l;
    int t = f->t;
    if (st != VK_KSTAT_OK) {
        out[VK_OUT_STATUS] = st;
        return;
    }
    w->st_act = NULL;
    start = (int32_t)cfg[VK_CFG_START];
    save = (int32_t)cfg[VK_CFG_SAVE];
    if (start == 0) {
        embed(f, w, img, w->h, nt);
    } else {
        if (!tokens_ok(f, act[VK_ACT_TOKENS])) {
            out[VK_OUT_STATUS] = VK_KSTAT_BAD_CFG;
            return;
        }
        t = act[VK_ACT_TOKENS];
        for (size_t i = 0; i < (size_t)t * f->d; i++)
            w->h[i] = vk_sat_resid(act[VK_ACT_HDR + i]);
        w->att_sets = 0;
    }
    for (l = start; l < f->n_layers; l++) {
        if (l == save && save > 0)
            act_save(f, w->h, t, act);
        encoder(f, w, l, cfg[VK_CFG_MODES + l], w->h, &t, nt);
    }
    if (save == f->n_layers && save > 0)
        act_save(f, w->h, t, act);
    head(f, w, w->h, out, nt);
}

/* ---- public ------------------------------------------------------------- */

int vk_fast_modes_bad(const vk_fast_ctx *f, const uint32_t *modes, int from)
{
    return first_bad_mode(modes, from, f->n_layers, 0);
}

int vk_fast_modes_ok(const vk_fast_ctx *f, const uint32_t *modes, int from)
{
    return vk_fast_modes_bad(f, modes, from) < 0;
}

int vk_fast_tokens(const vk_fast_ctx *f, const uint32_t *modes, int k)
{
    int t = f->t, l;
    for (l = 0; l < k && l < f->n_layers; l++)
        if (VK_MODE_PRUNES(modes[l]))
            t = f->prefix + vk_keep_count(t - f->prefix, (int32_t)VK_MODE_KEEP(modes[l]));
    return t;
}

void vk_fast_run(vk_fast_ctx *f, const uint32_t *cfg, const int8_t *img, int32_t *act,
                 int32_t *out)
{
    run_one(f, &f->w[0], cfg, img, act, out, f->threads);
}

vk_status vk_fast_run_batch(vk_fast_ctx *f, const uint32_t *cfg, const int8_t *imgs, int n,
                            int32_t *acts, int32_t *outs, vk_err *err)
{
    size_t in = vk_fast_img_n(f), an = vk_fast_act_n(f), on = vk_fast_out_n(f);
    int32_t st = check_cfg(f, cfg);
    int nthr = omp_get_max_threads(), i;
    vk_status rc;
    if (n <= 0)
        return VK_OK;
    if (st == VK_KSTAT_OK && !acts && (cfg[VK_CFG_START] > 0 || cfg[VK_CFG_SAVE] > 0))
        return vk_fail(err, VK_E_ARG, "vk_fast_run_batch: cfg resumes or saves (START %u, "
                                      "SAVE %u) but acts is NULL",
                       cfg[VK_CFG_START], cfg[VK_CFG_SAVE]);
    if (nthr > n)
        nthr = n;
    if ((rc = vk_fast_reserve_workers(f, nthr, err)) != VK_OK)
        return rc;
#pragma omp parallel num_threads(nthr)
    {
        fworker *w = &f->w[omp_get_thread_num()];
#pragma omp for schedule(dynamic, 4)
        for (i = 0; i < n; i++)
            run_one(f, w, cfg, imgs + (size_t)i * in, acts ? acts + (size_t)i * an : NULL,
                    outs + (size_t)i * on, 1);
    }
    return VK_OK;
}

void vk_fast_embed(vk_fast_ctx *f, int worker, const int8_t *img, int32_t *act)
{
    fworker *w = &f->w[worker];
    embed(f, w, img, act + VK_ACT_HDR, 1);
    act[VK_ACT_TOKENS] = f->t;
    w->st_act = act;
    w->st_at = 0;
}

/* Encoders [from, to) on the stream act for the pieces: continuing the
 * worker's sets (cont), or from a saved stream (saturated first, as the
 * kernel loads it). */
static int32_t pieces_run(vk_fast_ctx *f, fworker *w, const uint32_t *modes, int from, int to,
                          int32_t *act, int cont)
{
    int t = act[VK_ACT_TOKENS], l;
    if (from < 0 || to < from || to > f->n_layers || !tokens_ok(f, t))
        return VK_KSTAT_BAD_CFG;
    if (first_bad_mode(modes, from, to, cont && w->att_sets > 0) >= 0)
        return VK_KSTAT_BAD_MODE;
    if (!cont) {
        for (size_t i = 0; i < (size_t)t * f->d; i++)
            act[VK_ACT_HDR + i] = vk_sat_resid(act[VK_ACT_HDR + i]);
        w->att_sets = 0;
    }
    for (l = from; l < to; l++)
        encoder(f, w, l, modes[l], act + VK_ACT_HDR, &t, 1);
    act[VK_ACT_TOKENS] = t;
    w->st_act = act;
    w->st_at = to;
    return VK_KSTAT_OK;
}

int32_t vk_fast_encoders(vk_fast_ctx *f, int worker, const uint32_t *modes, int from, int to,
                         int32_t *act)
{
    fworker *w = &f->w[worker];
    if (w->st_act != act || w->st_at != from)
        return VK_KSTAT_BAD_CFG;
    return pieces_run(f, w, modes, from, to, act, 1);
}

int32_t vk_fast_resume(vk_fast_ctx *f, int worker, const uint32_t *modes, int from, int to,
                       int32_t *act)
{
    return pieces_run(f, &f->w[worker], modes, from, to, act, 0);
}

void vk_fast_head(vk_fast_ctx *f, int worker, const int32_t *act, int32_t *out)
{
    head(f, &f->w[worker], act + VK_ACT_HDR, out, 1);
}

uint64_t vk_fast_macs(const vk_fast_ctx *f, const uint32_t *modes)
{
    uint64_t d = (uint64_t)f->d, dh = (uint64_t)f->dh;
    uint64_t n = (uint64_t)f->g * f->g * f->pd * d + d * (uint64_t)f->k;
    int l;
    for (l = 0; l < f->n_layers; l++) {
        uint64_t t = (uint64_t)vk_fast_tokens(f, modes, l), attn = VK_MODE_ATTN(modes[l]);
        uint64_t m = (uint64_t)vk_ffn_keep(f->mlp, (int32_t)VK_MODE_FFN(modes[l]));
        if (attn == VK_ATTN_FULL)
            n += t * d * 2 * d + t * t * d;
        else if (attn == VK_ATTN_SHARED)
            n += t * d * 2 * dh + t * t * dh;
        if (attn != VK_ATTN_SKIP)
            n += t * d * d + t * t * d + t * d * d; /* V, context, projection */
        if (VK_MODE_PRUNES(modes[l]))
            t = (uint64_t)vk_fast_tokens(f, modes, l + 1);
        n += 2 * t * d * m;
    }
    return n;
}

const uint8_t *vk_fast_model_hash(const vk_fast_ctx *f)
{
    return f->hash;
}

vk_fast_isa vk_fast_ctx_isa(const vk_fast_ctx *f)
{
    return f->isa;
}

size_t vk_fast_out_n(const vk_fast_ctx *f)
{
    return (size_t)VK_OUT_LOGITS + (size_t)f->k;
}

size_t vk_fast_act_n(const vk_fast_ctx *f)
{
    return VK_ACT_WORDS(f->t, f->d);
}

size_t vk_fast_act_words(const vk_fast_ctx *f, int tokens)
{
    return VK_ACT_WORDS(tokens, f->d);
}

size_t vk_fast_img_n(const vk_fast_ctx *f)
{
    return (size_t)f->ch * f->img * f->img;
}

int vk_fast_n_layers(const vk_fast_ctx *f)
{
    return f->n_layers;
}

int vk_fast_workers(const vk_fast_ctx *f)
{
    return f->n_workers;
}

void vk_fast_set_threads(vk_fast_ctx *f, int n)
{
    f->threads = n < 1 ? 1 : (n > 1024 ? 1024 : n);
}

/* ---- self-check of the vectorized operators ---------------------------- */

static const fops *ops_of(vk_fast_isa isa)
{
#ifdef VK_FAST_X86
    if (isa == VK_FAST_ISA_AVX2)
        return &ops_avx2;
    if (isa == VK_FAST_ISA_VNNI)
        return &ops_vnni;
#else
    (void)isa;
#endif
    return &ops_scalar;
}

static uint64_t sc_next(uint64_t *st)
{
    *st ^= *st << 13;
    *st ^= *st >> 7;
    *st ^= *st << 17;
    return *st;
}

/* uniform in [lo, hi] */
static int64_t sc_range(uint64_t *st, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(sc_next(st) % (uint64_t)(hi - lo + 1));
}

long vk_fast_selfcheck(vk_fast_isa isa, int n_rows, uint64_t seed)
{
    const fops *o;
    enum { T = VK_MAX_TOKENS, D = VK_MAX_DIM, NC = 64 };
    static const int32_t kinds[4] = {EPI_OUT8, EPI_OUT8, EPI_RESID, EPI_SET32};
    int32_t s[T * T], e[T], h[D], g[D], b[D], c[4 * NC], bias[NC], mu[NC], sh[NC], tbl[256];
    int32_t h1[4 * NC], h2[4 * NC];
    uint8_t p1[T * T], p2[T * T];
    int8_t y1[4 * NC], y2[4 * NC], l1[D], l2[D];
    int16_t tbl16[256];
    uint64_t st = seed | 1;
    long bad = 0, nx = 0;
    int r, j, i;
    if (isa == VK_FAST_ISA_AUTO || !vk_fast_isa_supported(isa))
        return -1;
    o = ops_of(isa);
    /* softmax (T x T tiles, as attention has): every exp2 input 0 .. 16 << 16
     * once (mult 1, shift 0), then random sizes, scores, multipliers, shifts */
    for (r = 0; nx <= (16 << 16) || r < n_rows / 16; r++) {
        int t = nx <= (16 << 16) ? T : (int)sc_range(&st, 1, T);
        int32_t m = 1, sf = 0;
        if (nx <= (16 << 16)) {
            for (i = 0; i < t * t; i++)
                s[i] = i % t ? (int32_t)-nx++ : 0;
        } else {
            m = (int32_t)(sc_range(&st, 0, 3) ? sc_range(&st, 0, INT32_MAX) : sc_range(&st, 0, 65536));
            sf = (int32_t)sc_range(&st, 0, 62); /* larger: the scalar softmax runs */
            for (i = 0; i < t * t; i++)
                s[i] = (int32_t)sc_range(&st, -(1 << 20), 1 << 20);
        }
        ops_scalar.sm_rows(s, t, t, m, sf, e, p1);
        o->sm_rows(s, t, t, m, sf, e, p2);
        bad += memcmp(p1, p2, (size_t)t * t) != 0;
    }
    /* LayerNorm: random widths, streams, gains, offsets, epsilons */
    for (r = 0; r < n_rows; r++) {
        int d = (int)sc_range(&st, 1, D), span = (int)sc_range(&st, 0, 24);
        int32_t eps = (int32_t)sc_range(&st, 0, 1 << 20);
        for (i = 0; i < d; i++) {
            h[i] = (int32_t)sc_range(&st, -((int64_t)1 << span), (int64_t)1 << span);
            g[i] = (int32_t)sc_range(&st, -(1 << 15), 1 << 15); /* outputs mostly unsaturated */
            b[i] = (int32_t)sc_range(&st, -(1 << 13), 1 << 13);
        }
        ops_scalar.ln_rows(h, 1, d, g, b, eps, l1);
        o->ln_rows(h, 1, d, g, b, eps, l2);
        bad += memcmp(l1, l2, (size_t)d) != 0;
    }
#ifdef VK_FAST_X86 /* the vector LayerNorm's square root */
    for (i = 0; i < 100000; i++) { /* square roots at and around squares */
        int64_t q = sc_range(&st, 0, (int64_t)3037000499), v = q * q + sc_range(&st, -1, 1);
        if (v >= 0)
            bad += isqrt_exact(v) != vk_isqrt64(v);
    }
#endif
    /* epilogues: every kind, extreme multipliers and shifts, 4 rows of 64 */
    for (i = 0; i < 256; i++) {
        tbl[i] = (int32_t)sc_next(&st);
        tbl16[i] = (int8_t)tbl[i];
    }
    for (r = 0; r < n_rows; r++) {
        fepi ep = {.kind = kinds[r % 4], .table = r % 4 == 1 ? tbl : NULL, .table16 = tbl16,
                   .ys = NC};
        int j0 = (int)sc_range(&st, 0, 8), j1 = (int)sc_range(&st, j0, NC);
        for (j = 0; j < NC; j++) {
            int64_t pick = sc_range(&st, 0, 3);
            mu[j] = (int32_t)(pick == 0 ? INT32_MAX : (pick == 1 ? 0 : sc_range(&st, 0, INT32_MAX)));
            sh[j] = (int32_t)sc_range(&st, 0, 62); /* the range the SIMD requant runs in */
            bias[j] = (int32_t)sc_range(&st, -(1 << 24), 1 << 24);
        }
        for (i = 0; i < 4 * NC; i++) {
            int64_t pick = sc_range(&st, 0, 7);
            c[i] = (int32_t)(pick == 0 ? INT32_MIN : (pick == 1 ? INT32_MAX : (int32_t)sc_next(&st)));
            h1[i] = h2[i] = (int32_t)sc_next(&st);
            y1[i] = y2[i] = (int8_t)sc_next(&st);
        }
        ep.bias = r % 3 ? bias : NULL;
        ep.mult = r % 5 ? mu : NULL;
        ep.shift = sh;
        ep.m1 = mu[0];
        ep.s1 = sh[0];
        ep.y = y1;
        ep.h = h1;
        epilogue_scalar(&ep, c, NC, 4, j0, j1);
        ep.y = y2;
        ep.h = h2;
        o->epilogue(&ep, c, NC, 4, j0, j1);
        bad += memcmp(y1, y2, sizeof y1) != 0 || memcmp(h1, h2, sizeof h1) != 0;
    }
    return bad;
}

/* ---- allocation --------------------------------------------------------- */

static void *zalloc(size_t n, int *fail)
{
    size_t sz = (n + 63) / 64 * 64;
    void *p = sz ? aligned_alloc(64, sz) : NULL;
    if (!p && sz)
        *fail = 1;
    else if (p)
        memset(p, 0, sz);
    return p;
}

/* n_cut: input prefixes (k, k - 64, ...) the matrix is used with by
 * signed A (VNNI keeps a correction for each); 0 for V^T, used with P. */
static void mat_alloc(const vk_fast_ctx *f, fmat *mt, int n, int k, int n_cut, int *fail)
{
    mat_dims(f, mt, n, k);
    mt->b = zalloc(mat_b_bytes(f, mt), fail);
    mt->n_cut = f->isa == VK_FAST_ISA_VNNI ? n_cut : 0;
    mt->corr = mt->n_cut ? zalloc((size_t)mt->n_cut * mt->n_pad * 4, fail) : NULL;
}

static void mat_free(fmat *mt)
{
    free(mt->b);
    free(mt->corr);
}

static void worker_free(const vk_fast_ctx *f, fworker *w)
{
    int i;
    free(w->h);
    free(w->patch);
    free(w->xn);
    free(w->qkv);
    free(w->ctx8);
    free(w->mid);
    free(w->a);
    free(w->c);
    free(w->logit);
    free(w->logitd);
    if (w->hs) {
        for (i = 0; i < f->heads; i++) {
            fhead *hs = &w->hs[i];
            free(hs->aq);
            mat_free(&hs->km);
            free(hs->s);
            free(hs->e);
            free(hs->p);
            free(hs->ap);
            mat_free(&hs->vm);
            free(hs->cv);
        }
        free(w->hs);
    }
    memset(w, 0, sizeof *w);
}

static size_t max_z(size_t a, size_t b)
{
    return a > b ? a : b;
}

static int worker_alloc(const vk_fast_ctx *f, fworker *w)
{
    int fail = 0, t = f->t, d = f->d, gg = f->g * f->g, i;
    size_t ab = 0, cb = 0;
    ab = max_z(a_bytes(f, gg, f->pd), a_bytes(f, t, d));
    ab = max_z(ab, a_bytes(f, t, f->mlp));
    cb = max_z((size_t)gg * round_up(d, f->nr), (size_t)t * round_up(3 * d, f->nr));
    cb = max_z(cb, (size_t)t * round_up(f->mlp, f->nr));
    cb = max_z(cb, (size_t)round_up(f->k, f->nr));
    memset(w, 0, sizeof *w);
    w->h = zalloc((size_t)t * d * 4, &fail);
    w->patch = zalloc((size_t)gg * f->pd, &fail);
    w->xn = zalloc((size_t)t * d, &fail);
    w->qkv = zalloc((size_t)t * 3 * d, &fail);
    w->ctx8 = zalloc((size_t)t * d, &fail);
    w->mid = zalloc((size_t)t * f->mlp, &fail);
    w->a = zalloc(ab, &fail);
    w->c = zalloc(cb * 4, &fail);
    w->logit = zalloc((size_t)f->k * 4, &fail);
    w->logitd = zalloc((size_t)f->k * 4, &fail);
    w->hs = calloc((size_t)f->heads, sizeof *w->hs);
    if (!w->hs)
        fail = 1;
    for (i = 0; w->hs && i < f->heads; i++) {
        fhead *hs = &w->hs[i];
        hs->aq = zalloc(a_bytes(f, t, f->dh), &fail);
        mat_alloc(f, &hs->km, t, f->dh, 1, &fail);
        hs->s = zalloc((size_t)t * hs->km.n_pad * 4, &fail);
        hs->e = zalloc((size_t)t * 4, &fail);
        hs->p = zalloc((size_t)t * t, &fail);
        hs->ap = zalloc(a_bytes(f, t, t), &fail);
        mat_alloc(f, &hs->vm, f->dh, t, 0, &fail);
        hs->cv = zalloc((size_t)t * hs->vm.n_pad * 4, &fail);
    }
    if (fail)
        worker_free(f, w);
    return !fail;
}

vk_status vk_fast_reserve_workers(vk_fast_ctx *f, int n, vk_err *err)
{
    fworker *nw;
    if (n <= f->n_workers)
        return VK_OK;
    nw = realloc(f->w, (size_t)n * sizeof *nw);
    if (!nw)
        return vk_fail(err, VK_E_NOMEM, "vk_fast: out of memory for %d workers", n);
    f->w = nw;
    while (f->n_workers < n) {
        if (!worker_alloc(f, &f->w[f->n_workers]))
            return vk_fail(err, VK_E_NOMEM, "vk_fast: out of memory for worker %d",
                           f->n_workers);
        f->n_workers++;
    }
    return VK_OK;
}

/* 1 if the n (mult, shift) pairs at par[m], par[s] are in the range
 * where the SIMD requantizers equal vk_requant (mult >= 0, shift 0..63). */
static int pairs_ok(const int32_t *par, uint32_t m, uint32_t s, int n)
{
    int j;
    for (j = 0; j < n; j++)
        if (par[m + j] < 0 || par[s + j] < 0 || par[s + j] > 62)
            return 0;
    return 1;
}

/* 1 if every requantizer the epilogues use is in that range. */
static int requant_in_range(const vk_fast_ctx *f)
{
    const vk_layout *L = &f->lay;
    int l, ok = pairs_ok(f->par, L->patch_m, L->patch_s, f->d) &&
                pairs_ok(f->par, L->head_m, L->head_s, f->k);
    for (l = 0; ok && l < f->n_layers; l++) {
        uint32_t o = L->layer_p + (uint32_t)l * L->layer_p_n;
        ok = pairs_ok(f->par, o + L->qkv_m, o + L->qkv_s, 3 * f->d) &&
             pairs_ok(f->par, o + L->qks_m, o + L->qks_s, 2 * f->dh) &&
             pairs_ok(f->par, o + L->av_m, o + L->av_s, 1) &&
             pairs_ok(f->par, o + L->proj_m, o + L->proj_s, f->d) &&
             pairs_ok(f->par, o + L->fc1_m, o + L->fc1_s, f->mlp) &&
             pairs_ok(f->par, o + L->fc2_m, o + L->fc2_s, f->d);
    }
    return ok;
}

/* 1 if every softmax shift is one the vector softmax computes as vk_int.h
 * does (vk_rshift_round treats shifts above 62 as 62). */
static int softmax_in_range(const vk_fast_ctx *f)
{
    for (int l = 0; l < f->n_layers; l++) {
        const int32_t *lp = f->par + f->lay.layer_p + (size_t)l * f->lay.layer_p_n;
        if (lp[f->lay.sm_s] < 0 || lp[f->lay.sm_s] > 62 || lp[f->lay.smh_s] < 0 ||
            lp[f->lay.smh_s] > 62)
            return 0;
    }
    return 1;
}

/* The kernel's header checks (vk_kernel.c vk_k_check_par), with a reason. */
static const char *bad_par(const int32_t *par, size_t par_n)
{
    int32_t img, p, c, d, nh, g;
    if (par_n < VK_HDR_WORDS)
        return "par shorter than its header";
    img = par[VK_HDR_IMAGE], p = par[VK_HDR_PATCH], c = par[VK_HDR_CHANNELS];
    d = par[VK_HDR_DIM], nh = par[VK_HDR_HEADS];
    if (par[VK_HDR_MAGIC] != VK_PAR_MAGIC || par[VK_HDR_VERSION] != VK_PAR_VERSION)
        return "par magic or version";
    if (img < 1 || img > VK_MAX_IMAGE || p < 1 || img % p || c < 1 || c > VK_MAX_CHANNELS)
        return "image, patch or channels out of range";
    if (c * p * p > VK_MAX_PATCH_DIM || d < 1 || d > VK_MAX_DIM || nh < 1 ||
        nh > VK_MAX_HEADS || d % nh || d / nh > VK_MAX_HEAD_DIM)
        return "patch dimension, dim or heads out of range";
    g = img / p;
    if (par[VK_HDR_PREFIX] < 1 || par[VK_HDR_PREFIX] > VK_MAX_PREFIX)
        return "prefix tokens (1 or 2)";
    if (par[VK_HDR_TOKENS] != g * g + par[VK_HDR_PREFIX] || par[VK_HDR_TOKENS] > VK_MAX_TOKENS)
        return "token count";
    if (par[VK_HDR_LAYERS] < 1 || par[VK_HDR_LAYERS] > VK_MAX_LAYERS || par[VK_HDR_MLP] < 1 ||
        par[VK_HDR_MLP] > VK_MAX_MLP || par[VK_HDR_CLASSES] < 2 ||
        par[VK_HDR_CLASSES] > VK_MAX_CLASSES)
        return "layers, mlp or classes out of range";
    return NULL;
}

void vk_fast_ctx_free(vk_fast_ctx *f)
{
    int l, i;
    if (!f)
        return;
    for (i = 0; i < f->n_workers; i++)
        worker_free(f, &f->w[i]);
    free(f->w);
    mat_free(&f->patch);
    mat_free(&f->head);
    mat_free(&f->headd);
    for (l = 0; l < f->n_layers; l++) {
        mat_free(&f->qk[l]);
        mat_free(&f->v[l]);
        mat_free(&f->qks[l]);
        mat_free(&f->proj[l]);
        mat_free(&f->fc1[l]);
        mat_free(&f->fc2[l]);
    }
    free(f->par);
    free(f);
}

vk_status vk_fast_ctx_new(const vk_qmodel *q, vk_fast_isa isa, vk_fast_ctx **ctx, vk_err *err)
{
    const char *why = bad_par(q->par, q->par_n);
    vk_fast_ctx *f;
    int fail = 0, l;
    vk_status rc;
    if (why)
        return vk_fail(err, VK_E_FORMAT, "vk_fast: model blob rejected: %s", why);
    if (!vk_fast_isa_supported(isa))
        return vk_fail(err, VK_E_UNSUPPORTED, "vk_fast: this CPU has no %s",
                       vk_fast_isa_str(isa));
    if (isa == VK_FAST_ISA_AUTO)
        isa = vk_fast_isa_supported(VK_FAST_ISA_VNNI)   ? VK_FAST_ISA_VNNI
              : vk_fast_isa_supported(VK_FAST_ISA_AVX2) ? VK_FAST_ISA_AVX2
                                                        : VK_FAST_ISA_SCALAR;
    f = calloc(1, sizeof *f);
    if (!f)
        return vk_fail(err, VK_E_NOMEM, "vk_fast: out of memory");
    f->isa = isa;
    f->nr = isa == VK_FAST_ISA_VNNI ? 32 : 16;
    f->kq = isa == VK_FAST_ISA_VNNI ? 4 : 2;
    f->asz = isa == VK_FAST_ISA_VNNI ? 1 : 2;
    f->bsz = isa == VK_FAST_ISA_AVX2 ? 2 : 1;
    f->threads = 1;
    memcpy(f->hash, q->hash, sizeof f->hash);
    f->img = q->par[VK_HDR_IMAGE];
    f->p = q->par[VK_HDR_PATCH];
    f->ch = q->par[VK_HDR_CHANNELS];
    f->d = q->par[VK_HDR_DIM];
    f->n_layers = q->par[VK_HDR_LAYERS];
    f->heads = q->par[VK_HDR_HEADS];
    f->dh = f->d / f->heads;
    f->mlp = q->par[VK_HDR_MLP];
    f->k = q->par[VK_HDR_CLASSES];
    f->t = q->par[VK_HDR_TOKENS];
    f->g = f->img / f->p;
    f->pd = f->ch * f->p * f->p;
    f->prefix = q->par[VK_HDR_PREFIX];
    vk_layout_compute(&f->lay, (uint32_t)f->ch, (uint32_t)f->p, (uint32_t)f->d,
                      (uint32_t)f->n_layers, (uint32_t)f->mlp, (uint32_t)f->k, (uint32_t)f->t,
                      (uint32_t)f->heads, (uint32_t)f->prefix);
    if (q->par_n < f->lay.par_n || q->wt_n < f->lay.wt_n) {
        rc = vk_fail(err, VK_E_FORMAT,
                     "vk_fast: model blob has %zu par words and %zu weights, its header "
                     "needs %u and %u",
                     q->par_n, q->wt_n, f->lay.par_n, f->lay.wt_n);
        free(f);
        return rc;
    }
    f->par = malloc(q->par_n * sizeof *f->par);
    if (!f->par)
        fail = 1;
    else
        memcpy(f->par, q->par, q->par_n * sizeof *f->par);
    mat_alloc(f, &f->patch, f->d, f->pd, 1, &fail);
    mat_alloc(f, &f->head, f->k, f->d, 1, &fail);
    if (f->prefix > 1)
        mat_alloc(f, &f->headd, f->k, f->d, 1, &fail);
    for (l = 0; l < f->n_layers; l++) {
        mat_alloc(f, &f->qk[l], 2 * f->d, f->d, 1, &fail);
        mat_alloc(f, &f->v[l], f->d, f->d, 1, &fail);
        mat_alloc(f, &f->qks[l], 2 * f->dh, f->d, 1, &fail);
        mat_alloc(f, &f->proj[l], f->d, f->d, 1, &fail);
        mat_alloc(f, &f->fc1[l], f->mlp, f->d, 1, &fail);
        mat_alloc(f, &f->fc2[l], f->d, f->mlp, (f->mlp - 1) / VK_FFN_BLOCK + 1, &fail);
    }
    if (fail) {
        vk_fast_ctx_free(f);
        return vk_fail(err, VK_E_NOMEM, "vk_fast: out of memory for the packed weights");
    }
    for (l = 0; l < f->n_layers; l++)
        for (int i = 0; i < 256; i++)
            f->gelu16[l][i] = (int8_t)f->par[f->lay.layer_p + (size_t)l * f->lay.layer_p_n +
                                             f->lay.gelu + i];
    {
        int8_t *tmp = malloc((size_t)3 * f->d * (f->mlp > f->d ? f->mlp : f->d) +
                             (size_t)f->d * f->pd + (size_t)f->k * f->d);
        if (!tmp) {
            vk_fast_ctx_free(f);
            return vk_fail(err, VK_E_NOMEM, "vk_fast: out of memory for the packed weights");
        }
        pack_tiled(f, q->wt, f->lay.patch_w, 0, f->pd, tmp, &f->patch);
        pack_tiled(f, q->wt, f->lay.head_w, 0, f->d, tmp, &f->head);
        if (f->prefix > 1)
            pack_tiled(f, q->wt, f->lay.headd_w, 0, f->d, tmp, &f->headd);
        for (l = 0; l < f->n_layers; l++) {
            uint32_t lw = f->lay.layer_w + (uint32_t)l * f->lay.layer_w_n;
            pack_tiled(f, q->wt, lw + f->lay.qkv_w, 0, f->d, tmp, &f->qk[l]);
            pack_tiled(f, q->wt, lw + f->lay.qkv_w, 2 * f->d, f->d, tmp, &f->v[l]);
            pack_tiled(f, q->wt, lw + f->lay.qks_w, 0, f->d, tmp, &f->qks[l]);
            pack_tiled(f, q->wt, lw + f->lay.proj_w, 0, f->d, tmp, &f->proj[l]);
            pack_tiled(f, q->wt, lw + f->lay.fc1_w, 0, f->d, tmp, &f->fc1[l]);
            pack_tiled(f, q->wt, lw + f->lay.fc2_w, 0, f->mlp, tmp, &f->fc2[l]);
        }
        free(tmp);
    }
#ifdef VK_FAST_X86
    if (isa == VK_FAST_ISA_AVX2)
        f->ops = ops_avx2;
    else if (isa == VK_FAST_ISA_VNNI)
        f->ops = ops_vnni;
    else
#endif
        f->ops = ops_scalar;
    if (!requant_in_range(f))
        f->ops.epilogue = epilogue_scalar;
    if (!softmax_in_range(f))
        f->ops.sm_rows = ops_scalar.sm_rows;
    if ((rc = vk_fast_reserve_workers(f, 1, err)) != VK_OK) {
        vk_fast_ctx_free(f);
        return rc;
    }
    *ctx = f;
    return VK_OK;
}
