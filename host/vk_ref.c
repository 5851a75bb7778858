/* vk_ref: float32 reference forward pass (see vk_ref.h).
 *
 * Every matrix product goes through one blocked kernel (gemm_nt: 4 rows x 2
 * columns of the output per pass, 8 float lanes per accumulator, GCC vector
 * extensions), compiled twice: for AVX2+FMA, chosen at run time when the CPU
 * has it, and for the build's baseline. Sums are float32 as in PyTorch, in
 * another order, so results differ from it by rounding only (the tests bound
 * that against PyTorch's and timm's logits). */
#include "vk_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct vk_ref_ws {
    float *h;        /* [T][D] */
    float *xn;       /* [T][D] */
    float *qkv;      /* [T][3D] */
    float *ctx;      /* [T][D] */
    float *mid;      /* [T][M] */
    float *vt;       /* [2][dh][T] one head's values, transposed; H: q_s and k_s */
    float *patch;    /* [T-1][C*P*P] patches, one row each */
    float *tok;      /* [T-1][D] patch embeddings */
    float *attn;     /* [H][T][T] the last computed attention probabilities */
    int attn_shared; /* attn holds one matrix for every head (H mode) */
    int attn_ok;     /* attn is a valid reuse source for the current tokens */
    float *score;    /* [T] pruning scores */
    int *keep;       /* [T] kept token indices */
    int *ffn_rank;   /* [L][M] neuron j's importance rank in encoder l */
};

vk_ref_ws *vk_ref_ws_new(const vk_model *m)
{
    const vk_hparams *hp = &m->hp;
    size_t t = (size_t)m->n_tokens, d = (size_t)hp->dim;
    vk_ref_ws *ws = calloc(1, sizeof *ws);
    if (!ws)
        return NULL;
    ws->h = malloc(t * d * sizeof(float));
    ws->xn = malloc(t * d * sizeof(float));
    ws->qkv = malloc(t * 3 * d * sizeof(float));
    ws->ctx = malloc(t * d * sizeof(float));
    /* mid also holds the distillation head's logits */
    ws->mid = malloc((t * hp->mlp_dim > (size_t)hp->n_classes ? t * hp->mlp_dim
                                                                : (size_t)hp->n_classes) *
                     sizeof(float));
    ws->vt = malloc(2 * d / (size_t)hp->n_heads * t * sizeof(float));
    ws->patch =
        malloc(t * (size_t)hp->n_channels * hp->patch_size * hp->patch_size * sizeof(float));
    ws->tok = malloc(t * d * sizeof(float));
    ws->attn = malloc((size_t)hp->n_heads * t * t * sizeof(float));
    ws->score = malloc(t * sizeof(float));
    ws->keep = malloc(t * sizeof(int));
    ws->ffn_rank = malloc((size_t)hp->n_layers * hp->mlp_dim * sizeof(int));
    double *imp = malloc((size_t)hp->mlp_dim * sizeof(double));
    int *perm = malloc((size_t)hp->mlp_dim * sizeof(int));
    if (!ws->h || !ws->xn || !ws->qkv || !ws->ctx || !ws->mid || !ws->vt || !ws->patch ||
        !ws->tok || !ws->attn || !ws->score || !ws->keep || !ws->ffn_rank || !imp || !perm) {
        free(imp);
        free(perm);
        vk_ref_ws_free(ws);
        return NULL;
    }
    for (int l = 0; l < hp->n_layers; l++) {
        vk_model_ffn_order(m, l, imp, perm);
        for (int r = 0; r < hp->mlp_dim; r++)
            ws->ffn_rank[(size_t)l * hp->mlp_dim + perm[r]] = r;
    }
    free(imp);
    free(perm);
    return ws;
}

void vk_ref_ws_free(vk_ref_ws *ws)
{
    if (!ws)
        return;
    free(ws->h);
    free(ws->xn);
    free(ws->qkv);
    free(ws->ctx);
    free(ws->mid);
    free(ws->vt);
    free(ws->patch);
    free(ws->tok);
    free(ws->attn);
    free(ws->score);
    free(ws->keep);
    free(ws->ffn_rank);
    free(ws);
}

float vk_ref_act(vk_act act, float x)
{
    switch (act) {
    case VK_ACT_GELU:
        return 0.5f * x * (1.0f + erff(x * (float)M_SQRT1_2));
    case VK_ACT_GELU_TANH:
        return 0.5f * x *
               (1.0f + tanhf((float)(M_2_SQRTPI * M_SQRT1_2) * (x + 0.044715f * x * x * x)));
    case VK_ACT_RELU:
        return x > 0 ? x : 0;
    case VK_ACT_QUICK_GELU:
        return x / (1.0f + expf(-1.702f * x));
    }
    return x;
}

static void upd(float *mx, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fabsf(v[i]) > *mx)
            *mx = fabsf(v[i]);
}

typedef float vf8 __attribute__((vector_size(32)));

/* (vectors passed by pointer: a vector argument's ABI depends on the ISA) */
static inline __attribute__((always_inline)) void load8(vf8 *v, const float *p)
{
    memcpy(v, p, sizeof *v);
}

static inline __attribute__((always_inline)) float hsum8(const vf8 *v)
{
    return (((*v)[0] + (*v)[4]) + ((*v)[1] + (*v)[5])) +
           (((*v)[2] + (*v)[6]) + ((*v)[3] + (*v)[7]));
}

/* R rows of a times C rows of b over k: out[r][c] = a_r . b_c. */
static inline __attribute__((always_inline)) void
dot_block(const float *a, int lda, const float *b, int ldb, int k, int R, int C, float out[4][2])
{
    vf8 acc[4][2] = {{{0}}};
    int i = 0;
    for (; i + 8 <= k; i += 8) {
        vf8 bv[2], av;
#pragma GCC unroll 2
        for (int c = 0; c < C; c++)
            load8(&bv[c], b + (size_t)c * ldb + i);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            load8(&av, a + (size_t)r * lda + i);
#pragma GCC unroll 2
            for (int c = 0; c < C; c++)
                acc[r][c] += av * bv[c];
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            float t = hsum8(&acc[r][c]);
            for (int j = i; j < k; j++)
                t += a[(size_t)r * lda + j] * b[(size_t)c * ldb + j];
            out[r][c] = t;
        }
}

/* Rows i..i+R-1 of c (see gemm_nt_body), two columns at a time. */
static inline __attribute__((always_inline)) void rows_block(const float *a, int lda,
                                                             const float *b, int ldb, int n, int k,
                                                             float *c, int ldc, const float *bias,
                                                             int add, int R)
{
    float out[4][2];
    for (int j = 0; j < n;) {
        int C = n - j >= 2 ? 2 : 1;
        if (C == 2)
            dot_block(a, lda, b + (size_t)j * ldb, ldb, k, R, 2, out);
        else
            dot_block(a, lda, b + (size_t)j * ldb, ldb, k, R, 1, out);
        for (int r = 0; r < R; r++)
            for (int q = 0; q < C; q++) {
                float v = out[r][q] + (bias ? bias[j + q] : 0.0f);
                float *y = &c[(size_t)r * ldc + j + q];
                *y = add ? *y + v : v;
            }
        j += C;
    }
}

/* c[i][j] = bias[j] + a_i . b_j for i < m, j < n (bias NULL: 0), or
 * c[i][j] += that when add; a is [m][k] with row stride lda, b [n][k]
 * with stride ldb (PyTorch's Linear layout), c [m][n] with stride ldc. */
static inline __attribute__((always_inline)) void gemm_nt_body(const float *a, int lda,
                                                               const float *b, int ldb, int m,
                                                               int n, int k, float *c, int ldc,
                                                               const float *bias, int add)
{
    /* panels of b small enough to stay in a 256 KiB cache while every row
       of a passes over them */
    int nb = (int)(65536 / (k > 0 ? k : 1)) & ~1;
    if (nb < 2)
        nb = 2;
    for (int j = 0; j < n; j += nb) {
        int nj = n - j < nb ? n - j : nb, i = 0;
        const float *bj = b + (size_t)j * ldb, *bb = bias ? bias + j : NULL;
        for (; i + 4 <= m; i += 4)
            rows_block(a + (size_t)i * lda, lda, bj, ldb, nj, k, c + (size_t)i * ldc + j, ldc, bb,
                       add, 4);
        for (; i < m; i++)
            rows_block(a + (size_t)i * lda, lda, bj, ldb, nj, k, c + (size_t)i * ldc + j, ldc, bb,
                       add, 1);
    }
}

#if defined(__x86_64__) || defined(__i386__)
/* gcc contracts a * b + c into an FMA only when told (-std=c11 turns it
   off); clang does within an expression by default */
#if defined(__clang__)
#define VK_REF_AVX2 __attribute__((target("avx2,fma")))
#else
#define VK_REF_AVX2 __attribute__((target("avx2,fma"), optimize("fp-contract=fast")))
#endif
VK_REF_AVX2 static void
gemm_nt_avx2(const float *a, int lda, const float *b, int ldb, int m, int n, int k, float *c,
             int ldc, const float *bias, int add)
{
    gemm_nt_body(a, lda, b, ldb, m, n, k, c, ldc, bias, add);
}
#endif

static void gemm_nt_base(const float *a, int lda, const float *b, int ldb, int m, int n, int k,
                         float *c, int ldc, const float *bias, int add)
{
    gemm_nt_body(a, lda, b, ldb, m, n, k, c, ldc, bias, add);
}

static void gemm_nt(const float *a, int lda, const float *b, int ldb, int m, int n, int k, float *c,
                    int ldc, const float *bias, int add)
{
#if defined(__x86_64__) || defined(__i386__)
    static int avx2 = -1; /* benign race: every thread computes the same value */
    if (avx2 < 0)
        avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (avx2) {
        gemm_nt_avx2(a, lda, b, ldb, m, n, k, c, ldc, bias, add);
        return;
    }
#endif
    gemm_nt_base(a, lda, b, ldb, m, n, k, c, ldc, bias, add);
}

/* y[t][o] = x[t] . w[o] + b[o] (+ y if add) */
static void linear(const float *x, int n_tok, int n_in, const float *w, const float *b, int n_out,
                   float *y, int add)
{
    gemm_nt(x, n_in, w, n_in, n_tok, n_out, n_in, y, n_out, b, add);
}

static void layernorm(const float *x, int n_tok, int d, const float *g, const float *b, float eps,
                      float *y)
{
    for (int t = 0; t < n_tok; t++) {
        const float *xr = &x[(size_t)t * d];
        double mean = 0, var = 0;
        for (int i = 0; i < d; i++)
            mean += xr[i];
        mean /= d;
        for (int i = 0; i < d; i++)
            var += (xr[i] - mean) * (xr[i] - mean);
        var /= d;
        double inv = 1.0 / sqrt(var + eps);
        for (int i = 0; i < d; i++)
            y[(size_t)t * d + i] = (float)((xr[i] - mean) * inv * g[i] + b[i]);
    }
}

/* Row-wise softmax of scale * s over t_n x t_n. */
static void softmax_rows(float *s, int t_n, float scale)
{
    for (int t = 0; t < t_n; t++) {
        float *p = &s[(size_t)t * t_n], mx = -INFINITY, z = 0;
        for (int j = 0; j < t_n; j++) {
            p[j] *= scale;
            if (p[j] > mx)
                mx = p[j];
        }
        for (int j = 0; j < t_n; j++) {
            p[j] = expf(p[j] - mx);
            z += p[j];
        }
        for (int j = 0; j < t_n; j++)
            p[j] /= z;
    }
}

/* The attention branch of an encoder in mode a (F, H or R) over t_n tokens,
 * from ws->qkv (q and k unused for R) to ws->ctx; F and H leave their
 * probabilities in ws->attn for a later reuse or pruning. */
static void attention(const vk_model *m, vk_ref_ws *ws, int t_n, uint32_t a)
{
    int d = m->hp.dim, nh = m->hp.n_heads, dh = d / nh;
    size_t tt = (size_t)t_n * t_n;
    float scale = (float)(1.0 / sqrt((double)dh));
    if (a == VK_ATTN_SHARED) {
        /* q_s, k_s: the mean over heads (the mean of the heads' projections
           applied to the input), one matrix for every head */
        float *qs = ws->vt, *ks = ws->vt + (size_t)dh * t_n;
        for (int t = 0; t < t_n; t++)
            for (int c = 0; c < dh; c++) {
                double sq = 0, sk = 0;
                for (int hd = 0; hd < nh; hd++) {
                    sq += ws->qkv[(size_t)t * 3 * d + hd * dh + c];
                    sk += ws->qkv[(size_t)t * 3 * d + d + hd * dh + c];
                }
                qs[(size_t)t * dh + c] = (float)(sq / nh);
                ks[(size_t)t * dh + c] = (float)(sk / nh);
            }
        gemm_nt(qs, dh, ks, dh, t_n, t_n, dh, ws->attn, t_n, NULL, 0);
        softmax_rows(ws->attn, t_n, scale);
        ws->attn_shared = 1;
        ws->attn_ok = 1;
    } else if (a == VK_ATTN_FULL) {
        for (int hd = 0; hd < nh; hd++) {
            /* scores = q k^T, one row per query token */
            gemm_nt(&ws->qkv[hd * dh], 3 * d, &ws->qkv[d + hd * dh], 3 * d, t_n, t_n, dh,
                    ws->attn + hd * tt, t_n, NULL, 0);
            softmax_rows(ws->attn + hd * tt, t_n, scale);
        }
        ws->attn_shared = 0;
        ws->attn_ok = 1;
    }
    for (int hd = 0; hd < nh; hd++) {
        const float *v = &ws->qkv[2 * d + hd * dh];
        for (int j = 0; j < t_n; j++)
            for (int c = 0; c < dh; c++)
                ws->vt[(size_t)c * t_n + j] = v[(size_t)j * 3 * d + c];
        /* ctx_h = P V */
        gemm_nt(ws->attn + (ws->attn_shared ? 0 : hd * tt), t_n, ws->vt, t_n, t_n, dh, t_n,
                &ws->ctx[hd * dh], d, NULL, 0);
    }
}

/* Token pruning after an encoder's attention branch: keep the prefix token
 * and the top ceil(keep * N / 100) patch tokens by the class token's
 * attention (mean over heads; ties: lower index), in their order. Returns
 * the new token count; the residual stream is compacted. */
static int prune(const vk_model *m, vk_ref_ws *ws, int t_n, uint32_t keep)
{
    /* the prefix tokens (class, and DeiT's distillation token) always stay */
    int pre = m->n_prefix, d = m->hp.dim, nh = ws->attn_shared ? 1 : m->hp.n_heads;
    int n = t_n - pre, mk = (int)((keep * (uint32_t)n + 99) / 100);
    size_t tt = (size_t)t_n * t_n;
    for (int j = pre; j < t_n; j++) {
        double s = 0;
        for (int hd = 0; hd < nh; hd++)
            s += ws->attn[hd * tt + j];
        ws->score[j] = (float)(s / nh);
    }
    /* selection by rank: token j is kept when fewer than mk tokens beat it */
    int k = 0;
    for (; k < pre; k++)
        ws->keep[k] = k;
    for (int j = pre; j < t_n; j++) {
        int better = 0;
        for (int i = pre; i < t_n && better < mk; i++)
            better += ws->score[i] > ws->score[j] || (ws->score[i] == ws->score[j] && i < j);
        if (better < mk)
            ws->keep[k++] = j;
    }
    for (int i = pre; i < k; i++)
        memmove(&ws->h[(size_t)i * d], &ws->h[(size_t)ws->keep[i] * d], (size_t)d * sizeof(float));
    ws->attn_ok = 0; /* the matrices no longer match the tokens */
    return k;
}

void vk_ref_forward(const vk_model *m, vk_ref_ws *ws, const float *img, const uint32_t *modes,
                    float *logits, vk_ref_stats *st)
{
    const vk_hparams *hp = &m->hp;
    int d = hp->dim, t_n = m->n_tokens, p = hp->patch_size, c = hp->n_channels;
    int side = hp->image_size, g = side / p, pd = c * p * p, mlp = hp->mlp_dim;
    size_t td = (size_t)t_n * d;

    if (st)
        upd(&st->in, img, (size_t)c * side * side);
    for (int o = 0; o < d; o++)
        ws->h[o] = m->cls[o] + m->pos[o];
    if (m->dist) /* DeiT: the distillation token second */
        for (int o = 0; o < d; o++)
            ws->h[d + o] = m->dist[o] + m->pos[d + o];
    /* every patch a row, then one product with the embedding weights */
    for (int py = 0; py < g; py++)
        for (int px = 0; px < g; px++) {
            float *row = &ws->patch[(size_t)(py * g + px) * pd];
            for (int ch = 0; ch < c; ch++)
                for (int ky = 0; ky < p; ky++)
                    for (int kx = 0; kx < p; kx++)
                        row[(ch * p + ky) * p + kx] =
                            img[((size_t)ch * side + py * p + ky) * side + px * p + kx];
        }
    linear(ws->patch, g * g, pd, m->patch_w, m->patch_b, d, ws->tok, 0);
    for (size_t i = 0; i < (size_t)g * g * d; i++)
        ws->h[(size_t)m->n_prefix * d + i] = ws->tok[i] + m->pos[(size_t)m->n_prefix * d + i];
    if (st)
        upd(&st->h, ws->h, td);

    ws->attn_ok = 0;
    for (int l = 0; l < hp->n_layers; l++) {
        const vk_layer *L = &m->layers[l];
        uint32_t w = modes ? modes[l] : VK_MODE(VK_ATTN_FULL), mode = VK_MODE_ATTN(w);
        if (mode == VK_ATTN_REUSE && !ws->attn_ok)
            mode = VK_ATTN_FULL; /* invalid genome (vk_genome_check refuses it) */
        td = (size_t)t_n * d;
        if (mode != VK_ATTN_SKIP) {
            layernorm(ws->h, t_n, d, L->ln1_w, L->ln1_b, hp->ln_eps, ws->xn);
            linear(ws->xn, t_n, d, L->qkv_w, L->qkv_b, 3 * d, ws->qkv, 0);
            attention(m, ws, t_n, mode);
            if (st) {
                upd(&st->ln1[l], ws->xn, td);
                for (int t = 0; t < t_n; t++) {
                    const float *r = &ws->qkv[(size_t)t * 3 * d];
                    int nh = hp->n_heads, dh = d / nh;
                    upd(&st->q[l], r, (size_t)d);
                    upd(&st->k[l], r + d, (size_t)d);
                    upd(&st->v[l], r + 2 * d, (size_t)d);
                    for (int part = 0; part < 2; part++) /* the shared-heads q_s, k_s */
                        for (int cc = 0; cc < dh; cc++) {
                            double s = 0;
                            for (int hd = 0; hd < nh; hd++)
                                s += r[part * d + hd * dh + cc];
                            float v = (float)(s / nh);
                            upd(part ? &st->ks[l] : &st->qs[l], &v, 1);
                        }
                }
                upd(&st->ctx[l], ws->ctx, td);
            }
            linear(ws->ctx, t_n, d, L->proj_w, L->proj_b, d, ws->h, 1);
            if (st)
                upd(&st->h, ws->h, td);
            if (VK_MODE_PRUNES(w) && mode != VK_ATTN_REUSE)
                td = (size_t)(t_n = prune(m, ws, t_n, VK_MODE_KEEP(w))) * d;
        }
        layernorm(ws->h, t_n, d, L->ln2_w, L->ln2_b, hp->ln_eps, ws->xn);
        linear(ws->xn, t_n, d, L->fc1_w, L->fc1_b, mlp, ws->mid, 0);
        if (st) {
            upd(&st->ln2[l], ws->xn, td);
            upd(&st->fc1[l], ws->mid, (size_t)t_n * mlp);
        }
        for (size_t i = 0; i < (size_t)t_n * mlp; i++)
            ws->mid[i] = vk_ref_act(hp->act, ws->mid[i]);
        if (VK_MODE_FFN(w) >= 1 && VK_MODE_FFN(w) <= 99) {
            /* :fNN: only the M_keep most important neurons contribute */
            int keep = vk_ffn_keep(mlp, (int)VK_MODE_FFN(w));
            const int *rank = &ws->ffn_rank[(size_t)l * mlp];
            for (int t = 0; t < t_n; t++)
                for (int j = 0; j < mlp; j++)
                    if (rank[j] >= keep)
                        ws->mid[(size_t)t * mlp + j] = 0;
        }
        linear(ws->mid, t_n, mlp, L->fc2_w, L->fc2_b, d, ws->h, 1);
        if (st)
            upd(&st->h, ws->h, td);
    }
    layernorm(ws->h, m->headd_w ? 2 : 1, d, m->lnf_w, m->lnf_b, hp->ln_eps, ws->xn);
    linear(ws->xn, 1, d, m->head_w, m->head_b, hp->n_classes, logits, 0);
    if (st) /* a distilled DeiT's int8 head quantizes both rows and both heads */
        upd(&st->lnf, ws->xn, (size_t)d * (m->headd_w ? 2 : 1));
    if (m->headd_w) { /* the two heads averaged, as DeiT with its teacher head */
        linear(ws->xn + d, 1, d, m->headd_w, m->headd_b, hp->n_classes, ws->mid, 0);
        if (st) {
            upd(&st->logits, logits, (size_t)hp->n_classes);
            upd(&st->logits, ws->mid, (size_t)hp->n_classes);
        }
        for (int j = 0; j < hp->n_classes; j++)
            logits[j] = (logits[j] + ws->mid[j]) / 2;
    }
    if (st)
        upd(&st->logits, logits, (size_t)hp->n_classes);
}
