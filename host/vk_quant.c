/* vk_quant: post-training quantization and the blob file (see vk_quant.h). */
#include "vk_quant.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/vk_int.h"
#include "vk_sha256.h"

#ifdef _OPENMP /* builds without OpenMP (the fuzz target) calibrate on one thread */
#include <omp.h>
#define THREADS() omp_get_max_threads()
#define THREAD_ID() omp_get_thread_num()
#else
#define THREADS() 1
#define THREAD_ID() 0
#endif

#define VK_QM_MAGIC "VKQM0002"

vk_status vk_quant_mult(double m, int32_t *mult, int32_t *shift)
{
    const double one = (double)(1 << VK_MULT_BITS); /* mult in [2^16, 2^17) */
    int e;
    double f;
    long long mi;
    if (!(m > 0) || !isfinite(m)) {
        *mult = 0;
        *shift = 0;
        return m == 0 ? VK_OK : VK_E_ARG;
    }
    f = frexp(m, &e); /* m = f * 2^e, f in [0.5, 1) */
    mi = llround(f * one);
    if (mi == (long long)one) {
        mi /= 2;
        e++;
    }
    if (VK_MULT_BITS - e < 0)
        return VK_E_UNSUPPORTED; /* multiplier >= 2^17 */
    if (VK_MULT_BITS - e > 62) { /* tiny: fewer significant bits, shift 62 */
        *mult = (int32_t)llround(m * 4611686018427387904.0); /* 2^62 */
        *shift = 62;
        return VK_OK;
    }
    *mult = (int32_t)mi;
    *shift = VK_MULT_BITS - e;
    return VK_OK;
}

static int32_t f2bits(float f)
{
    int32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

static float bits2f(int32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

static int32_t clamp_i32(double v)
{
    const double lim = 1073741824.0; /* 2^30 */
    if (v > lim)
        v = lim;
    if (v < -lim)
        v = -lim;
    return (int32_t)llround(v);
}

static float safe_scale(float mx, float levels)
{
    return mx > 0 && isfinite(mx) ? mx / levels : 1.0f / levels;
}

/* Quantizes rows of w [n_out][n_in] into the tiled matrix at wt[off]
 * (vk_wt_at), writes per-row scales. Row r of the stored matrix is row
 * perm[r] of w (perm NULL: identity); cperm likewise permutes the inputs. */
static void quant_rows(const float *w, int n_out, int n_in, const int *perm, const int *cperm,
                       int8_t *wt, uint32_t off, float *sw)
{
    for (int o = 0; o < n_out; o++) {
        const float *r = &w[(size_t)(perm ? perm[o] : o) * n_in];
        float mx = 0;
        for (int i = 0; i < n_in; i++)
            if (fabsf(r[i]) > mx)
                mx = fabsf(r[i]);
        sw[o] = safe_scale(mx, 127.0f);
        for (int i = 0; i < n_in; i++) {
            long v = lroundf(r[cperm ? cperm[i] : i] / sw[o]);
            wt[vk_wt_at(off, (uint32_t)n_in, (uint32_t)o, (uint32_t)i)] =
                (int8_t)(v > 127 ? 127 : (v < -127 ? -127 : v));
        }
    }
}

/* Bias and (mult, shift) for an output with acc scale s_x * sw[o]. */
static vk_status quant_out(const float *b, const int *perm, const float *sw, int n, float s_x,
                           float s_out, int32_t *pb, int32_t *pm, int32_t *ps)
{
    for (int o = 0; o < n; o++) {
        double acc_scale = (double)s_x * sw[o];
        pb[o] = clamp_i32(b[perm ? perm[o] : o] / acc_scale);
        if (vk_quant_mult(acc_scale / s_out, &pm[o], &ps[o]) != VK_OK)
            return VK_E_UNSUPPORTED;
    }
    return VK_OK;
}

static void quant_ln(const float *g, const float *b, int d, float s_out, int32_t *pg,
                     int32_t *pb)
{
    for (int i = 0; i < d; i++) {
        pg[i] = clamp_i32(g[i] / s_out * (1 << VK_LN_GS));
        pb[i] = clamp_i32(b[i] / s_out * (1 << VK_LN_GS));
    }
}

/* What the steps of vk_quant_build share: the model and its statistics,
 * the blob being written, the hidden-state scale and scratch space. Each
 * step returns VK_OK, or VK_E_UNSUPPORTED when a rescale factor falls outside
 * the kernel's range (without a message: vk_quant_build gives it). */
typedef struct {
    const vk_model *m;
    const vk_ref_stats *st;
    vk_qmodel *r;
    float s_in, s_h, s_logit;
    float *sw;       /* per-row weight scales */
    float *wqk, *bqk; /* shared heads: the head-mean Q/K projection */
    double *imp;     /* FFN neuron importance */
    int *perm;       /* FFN neurons, most important first */
} quant_job;

/* The par header: dimensions, LayerNorm epsilon, scales, the entropy
 * multiplier. */
static vk_status quant_header(quant_job *j)
{
    const vk_hparams *hp = &j->m->hp;
    int32_t *P = j->r->par;
    P[VK_HDR_MAGIC] = VK_PAR_MAGIC;
    P[VK_HDR_VERSION] = VK_PAR_VERSION;
    P[VK_HDR_IMAGE] = hp->image_size;
    P[VK_HDR_PATCH] = hp->patch_size;
    P[VK_HDR_CHANNELS] = hp->n_channels;
    P[VK_HDR_DIM] = hp->dim;
    P[VK_HDR_LAYERS] = hp->n_layers;
    P[VK_HDR_HEADS] = hp->n_heads;
    P[VK_HDR_MLP] = hp->mlp_dim;
    P[VK_HDR_CLASSES] = hp->n_classes;
    P[VK_HDR_TOKENS] = j->m->n_tokens;
    P[VK_HDR_PREFIX] = j->m->n_prefix;
    P[VK_HDR_LN_EPS] = clamp_i32((double)hp->ln_eps / ((double)j->s_h * j->s_h));
    P[VK_HDR_S_IN] = f2bits(j->s_in);
    P[VK_HDR_S_H] = f2bits(j->s_h);
    P[VK_HDR_S_LOGIT] = f2bits(j->s_logit);
    return vk_quant_mult((double)j->s_logit * M_LOG2E * 65536.0, &P[VK_HDR_ENT_MULT],
                         &P[VK_HDR_ENT_SHIFT]);
}

/* Patch embedding, class (and distillation) token and positions. */
static vk_status quant_embed(quant_job *j)
{
    const vk_model *m = j->m;
    const vk_layout *lay = &j->r->lay;
    int32_t *P = j->r->par;
    int d = m->hp.dim, t = m->n_tokens;
    int pd = m->hp.n_channels * m->hp.patch_size * m->hp.patch_size;
    quant_rows(m->patch_w, d, pd, NULL, NULL, j->r->wt, lay->patch_w, j->sw);
    if (quant_out(m->patch_b, NULL, j->sw, d, j->s_in, j->s_h, &P[lay->patch_b],
                  &P[lay->patch_m], &P[lay->patch_s]) != VK_OK)
        return VK_E_UNSUPPORTED;
    for (int o = 0; o < d; o++)
        P[lay->tok0 + o] = clamp_i32((m->cls[o] + m->pos[o]) / j->s_h);
    for (int o = 0; m->dist && o < d; o++) /* DeiT: the distillation token second */
        P[lay->tok0 + d + o] = clamp_i32((m->dist[o] + m->pos[d + o]) / j->s_h);
    for (int i = m->n_prefix; i < t; i++)
        for (int o = 0; o < d; o++)
            P[lay->tok0 + i * d + o] = clamp_i32(m->pos[(size_t)i * d + o] / j->s_h);
    return VK_OK;
}

/* Encoder l's attention: LayerNorm 1, Q/K/V, the shared heads' head-mean
 * Q/K, the softmax and AV rescales, the output projection. */
static vk_status quant_attention(quant_job *j, int l)
{
    const vk_ref_stats *st = j->st;
    const vk_layer *L = &j->m->layers[l];
    const vk_layout *lay = &j->r->lay;
    uint32_t W = lay->layer_w + (uint32_t)l * lay->layer_w_n;
    int32_t *lp = &j->r->par[lay->layer_p + (size_t)l * lay->layer_p_n];
    int d = j->m->hp.dim, nh = j->m->hp.n_heads, dh = d / nh;
    float s_ln1 = safe_scale(st->ln1[l], 127.0f);
    float s_q = safe_scale(st->q[l], 127.0f), s_k = safe_scale(st->k[l], 127.0f);
    float s_qs = safe_scale(st->qs[l], 127.0f), s_ks = safe_scale(st->ks[l], 127.0f);
    float s_v = safe_scale(st->v[l], 127.0f), s_ctx = safe_scale(st->ctx[l], 127.0f);
    float *sw = j->sw, *wqk = j->wqk, *bqk = j->bqk;

    quant_ln(L->ln1_w, L->ln1_b, d, s_ln1, &lp[lay->ln1_g], &lp[lay->ln1_b]);
    quant_rows(L->qkv_w, 3 * d, d, NULL, NULL, j->r->wt, W + lay->qkv_w, sw);
    for (int part = 0; part < 3; part++) {
        float s_o = part == 0 ? s_q : (part == 1 ? s_k : s_v);
        if (quant_out(&L->qkv_b[part * d], NULL, &sw[part * d], d, s_ln1, s_o,
                      &lp[lay->qkv_b + part * d], &lp[lay->qkv_m + part * d],
                      &lp[lay->qkv_s + part * d]) != VK_OK)
            return VK_E_UNSUPPORTED;
    }
    /* shared heads: the head-mean query and key projections */
    for (int part = 0; part < 2; part++)
        for (int c = 0; c < dh; c++) {
            double bs = 0;
            for (int hd = 0; hd < nh; hd++)
                bs += L->qkv_b[part * d + hd * dh + c];
            bqk[part * dh + c] = (float)(bs / nh);
            for (int i = 0; i < d; i++) {
                double ws = 0;
                for (int hd = 0; hd < nh; hd++)
                    ws += L->qkv_w[(size_t)(part * d + hd * dh + c) * d + i];
                wqk[(size_t)(part * dh + c) * d + i] = (float)(ws / nh);
            }
        }
    quant_rows(wqk, 2 * dh, d, NULL, NULL, j->r->wt, W + lay->qks_w, sw);
    if (quant_out(bqk, NULL, sw, dh, s_ln1, s_qs, &lp[lay->qks_b], &lp[lay->qks_m],
                  &lp[lay->qks_s]) != VK_OK ||
        quant_out(&bqk[dh], NULL, &sw[dh], dh, s_ln1, s_ks, &lp[lay->qks_b + dh],
                  &lp[lay->qks_m + dh], &lp[lay->qks_s + dh]) != VK_OK)
        return VK_E_UNSUPPORTED;
    if (vk_quant_mult((double)s_q * s_k / sqrt((double)dh) * M_LOG2E * 65536.0, &lp[lay->sm_m],
                      &lp[lay->sm_s]) != VK_OK ||
        vk_quant_mult((double)s_qs * s_ks / sqrt((double)dh) * M_LOG2E * 65536.0,
                      &lp[lay->smh_m], &lp[lay->smh_s]) != VK_OK ||
        vk_quant_mult((double)s_v / 256.0 / s_ctx, &lp[lay->av_m], &lp[lay->av_s]) != VK_OK)
        return VK_E_UNSUPPORTED;
    quant_rows(L->proj_w, d, d, NULL, NULL, j->r->wt, W + lay->proj_w, sw);
    if (quant_out(L->proj_b, NULL, sw, d, s_ctx, j->s_h, &lp[lay->proj_b], &lp[lay->proj_m],
                  &lp[lay->proj_s]) != VK_OK)
        return VK_E_UNSUPPORTED;
    return VK_OK;
}

/* Encoder l's FFN: LayerNorm 2, FC1 with its neurons most important first
 * (FFN sparsity drops the last), the activation table, FC2. */
static vk_status quant_ffn(quant_job *j, int l)
{
    const vk_hparams *hp = &j->m->hp;
    const vk_layer *L = &j->m->layers[l];
    const vk_layout *lay = &j->r->lay;
    uint32_t W = lay->layer_w + (uint32_t)l * lay->layer_w_n;
    int32_t *lp = &j->r->par[lay->layer_p + (size_t)l * lay->layer_p_n];
    int d = hp->dim, mlp = hp->mlp_dim;
    float s_ln2 = safe_scale(j->st->ln2[l], 127.0f), s_fc1 = safe_scale(j->st->fc1[l], 127.0f);
    float amax = 0, s_act;

    quant_ln(L->ln2_w, L->ln2_b, d, s_ln2, &lp[lay->ln2_g], &lp[lay->ln2_b]);
    vk_model_ffn_order(j->m, l, j->imp, j->perm);
    quant_rows(L->fc1_w, mlp, d, j->perm, NULL, j->r->wt, W + lay->fc1_w, j->sw);
    if (quant_out(L->fc1_b, j->perm, j->sw, mlp, s_ln2, s_fc1, &lp[lay->fc1_b], &lp[lay->fc1_m],
                  &lp[lay->fc1_s]) != VK_OK)
        return VK_E_UNSUPPORTED;
    /* activation table: its output scale covers its whole input range */
    for (int v = -128; v < 128; v++) {
        float a = fabsf(vk_ref_act(hp->act, (float)v * s_fc1));
        if (a > amax)
            amax = a;
    }
    s_act = safe_scale(amax, 127.0f);
    for (int v = -128; v < 128; v++)
        lp[lay->gelu + v + 128] = vk_sat8(llroundf(vk_ref_act(hp->act, (float)v * s_fc1) / s_act));
    quant_rows(L->fc2_w, d, mlp, NULL, j->perm, j->r->wt, W + lay->fc2_w, j->sw);
    if (quant_out(L->fc2_b, NULL, j->sw, d, s_act, j->s_h, &lp[lay->fc2_b], &lp[lay->fc2_m],
                  &lp[lay->fc2_s]) != VK_OK)
        return VK_E_UNSUPPORTED;
    return VK_OK;
}

/* The final LayerNorm and the classifier head. */
static vk_status quant_head(quant_job *j)
{
    const vk_model *m = j->m;
    const vk_layout *lay = &j->r->lay;
    int32_t *P = j->r->par;
    int d = m->hp.dim, k = m->hp.n_classes;
    float s_lnf = safe_scale(j->st->lnf, 127.0f);
    quant_ln(m->lnf_w, m->lnf_b, d, s_lnf, &P[lay->lnf_g], &P[lay->lnf_b]);
    quant_rows(m->head_w, k, d, NULL, NULL, j->r->wt, lay->head_w, j->sw);
    if (quant_out(m->head_b, NULL, j->sw, k, s_lnf, j->s_logit, &P[lay->head_b], &P[lay->head_m],
                  &P[lay->head_s]) != VK_OK)
        return VK_E_UNSUPPORTED;
    if (!m->headd_w)
        return VK_OK;
    /* the distillation head: same scales, the kernel averages the two */
    quant_rows(m->headd_w, k, d, NULL, NULL, j->r->wt, lay->headd_w, j->sw);
    return quant_out(m->headd_b, NULL, j->sw, k, s_lnf, j->s_logit, &P[lay->headd_b],
                     &P[lay->headd_m], &P[lay->headd_s]) != VK_OK
               ? VK_E_UNSUPPORTED
               : VK_OK;
}

vk_status vk_quant_build(const vk_model *m, const vk_ref_stats *st, vk_qmodel *q, vk_err *err)
{
    const vk_hparams *hp = &m->hp;
    int d = hp->dim, mlp = hp->mlp_dim, k = hp->n_classes, dh = d / hp->n_heads;
    int pd = hp->n_channels * hp->patch_size * hp->patch_size;
    vk_qmodel r = {0};
    quant_job j = {.m = m, .st = st, .r = &r};
    size_t n_sw = (size_t)(mlp > 3 * d ? mlp : 3 * d) + (size_t)k + (size_t)pd;
    vk_status rc = vk_hparams_check(hp, "model", err);
    if (rc == VK_OK && hp->distilled && !hp->dist_head)
        return vk_fail(err, VK_E_UNSUPPORTED,
                       "quantize: the model has a distillation token but no distillation head "
                       "(DeiTForImageClassification); the kernel averages the class and "
                       "distillation heads (DeiTForImageClassificationWithTeacher, timm's "
                       "distilled DeiT); the float reference runs it: eval --float");
    if (rc != VK_OK)
        return rc;
    vk_layout_compute(&r.lay, (uint32_t)hp->n_channels, (uint32_t)hp->patch_size, (uint32_t)d,
                      (uint32_t)hp->n_layers, (uint32_t)mlp, (uint32_t)k, (uint32_t)m->n_tokens,
                      (uint32_t)hp->n_heads, (uint32_t)m->n_prefix);
    r.par_n = r.lay.par_n;
    r.wt_n = r.lay.wt_n;
    r.par = calloc(r.par_n, sizeof(int32_t));
    r.wt = calloc(r.wt_n, 1);
    j.sw = malloc(n_sw * sizeof(float));
    j.wqk = malloc((size_t)2 * dh * d * sizeof(float));
    j.bqk = malloc((size_t)2 * dh * sizeof(float));
    j.imp = malloc((size_t)mlp * sizeof(double));
    j.perm = malloc((size_t)mlp * sizeof(int));
    j.s_in = safe_scale(st->in, 127.0f);
    j.s_h = safe_scale(st->h, 1048576.0f); /* 2^20; saturation at 2^25 */
    j.s_logit = safe_scale(st->logits, 16384.0f);
    if (!r.par || !r.wt || !j.sw || !j.wqk || !j.bqk || !j.imp || !j.perm) {
        rc = vk_fail(err, VK_E_NOMEM, "quantize: out of memory");
    } else {
        rc = quant_header(&j);
        if (rc == VK_OK)
            rc = quant_embed(&j);
        for (int l = 0; l < hp->n_layers && rc == VK_OK; l++)
            if ((rc = quant_attention(&j, l)) == VK_OK)
                rc = quant_ffn(&j, l);
        if (rc == VK_OK)
            rc = quant_head(&j);
        if (rc != VK_OK)
            rc = vk_fail(err, VK_E_UNSUPPORTED,
                         "quantize: a rescale factor is outside the kernel's range (scale >= "
                         "2^17); check the calibration images and the model's weights");
    }
    if (rc == VK_OK) {
        uint8_t *buf;
        size_t len;
        if ((rc = vk_qmodel_to_bytes(&r, &buf, &len, err)) == VK_OK) {
            vk_sha256(buf, len, r.hash);
            free(buf);
        }
    }
    free(j.sw);
    free(j.wqk);
    free(j.bqk);
    free(j.imp);
    free(j.perm);
    if (rc != VK_OK) {
        free(r.par);
        free(r.wt);
        return rc;
    }
    *q = r;
    return VK_OK;
}

vk_status vk_quant_stats(const vk_model *m, int n, vk_calib_image_fn image, void *image_ctx,
                         vk_progress_fn progress, void *progress_ctx, vk_ref_stats *st,
                         vk_err *err)
{
    enum { N_MAX = sizeof(vk_ref_stats) / sizeof(float) };
    size_t img_n = (size_t)m->hp.n_channels * m->hp.image_size * m->hp.image_size;
    int n_thr = THREADS(), failed = 0, done = 0;
    vk_ref_stats *part;
    if (n < 1)
        return vk_fail(err, VK_E_ARG, "calibration: need at least one image");
    part = calloc((size_t)n_thr, sizeof *part);
    if (!part)
        return vk_fail(err, VK_E_NOMEM, "calibration: out of memory");
    if (progress) /* the start: a rate and an ETA count from here */
        progress(progress_ctx, 0, n);
    /* images spread over the threads, each keeping its own maxima; the
       maximum of maxima is the same whatever the split */
#pragma omp parallel num_threads(n_thr) reduction(| : failed)
    {
        vk_ref_ws *ws = vk_ref_ws_new(m);
        float *logits = malloc((size_t)m->hp.n_classes * sizeof(float));
        float *img = malloc(img_n * sizeof(float));
        vk_ref_stats *mine = &part[THREAD_ID()];
        failed = !ws || !logits || !img;
#pragma omp for schedule(dynamic, 1)
        for (int i = 0; i < n; i++) {
            if (failed)
                continue;
            image(image_ctx, i, img);
            vk_ref_forward(m, ws, img, NULL, logits, mine);
            if (progress) {
                int d;
#pragma omp atomic capture
                d = ++done;
                progress(progress_ctx, d, n);
            }
        }
        vk_ref_ws_free(ws);
        free(logits);
        free(img);
    }
    if (failed) {
        free(part);
        return vk_fail(err, VK_E_NOMEM, "calibration: out of memory");
    }
    memset(st, 0, sizeof *st);
    for (int t = 0; t < n_thr; t++) {
        const float *a = (const float *)&part[t];
        float *b = (float *)st;
        for (int k = 0; k < N_MAX; k++)
            b[k] = a[k] > b[k] ? a[k] : b[k];
    }
    free(part);
    return VK_OK;
}

typedef struct {
    const float *imgs;
    size_t img_n;
} float_imgs;

static void float_image(void *ctx, int i, float *out)
{
    const float_imgs *f = ctx;
    memcpy(out, f->imgs + (size_t)i * f->img_n, f->img_n * sizeof(float));
}

vk_status vk_quant_calibrate(const vk_model *m, const float *imgs, int n, vk_qmodel *q,
                             vk_err *err)
{
    float_imgs f = {imgs, (size_t)m->hp.n_channels * m->hp.image_size * m->hp.image_size};
    vk_ref_stats st;
    vk_status rc = vk_quant_stats(m, n, float_image, &f, NULL, NULL, &st, err);
    return rc != VK_OK ? rc : vk_quant_build(m, &st, q, err);
}

int32_t vk_qmodel_dim(const vk_qmodel *q, int hdr_field)
{
    return q->par[hdr_field];
}

size_t vk_qmodel_img_n(const vk_qmodel *q)
{
    size_t s = (size_t)q->par[VK_HDR_IMAGE];
    return (size_t)q->par[VK_HDR_CHANNELS] * s * s;
}

size_t vk_qmodel_act_n(const vk_qmodel *q)
{
    return VK_ACT_WORDS(q->par[VK_HDR_TOKENS], q->par[VK_HDR_DIM]);
}

void vk_quant_input(const vk_qmodel *q, const float *img, int8_t *out)
{
    float s_in = bits2f(q->par[VK_HDR_S_IN]);
    size_t n = vk_qmodel_img_n(q);
    for (size_t i = 0; i < n; i++)
        out[i] = vk_sat8(llroundf(img[i] / s_in));
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

vk_status vk_qmodel_to_bytes(const vk_qmodel *q, uint8_t **buf, size_t *len, vk_err *err)
{
    size_t n = 16 + q->par_n * 4 + q->wt_n;
    uint8_t *b = malloc(n);
    if (!b)
        return vk_fail(err, VK_E_NOMEM, "model blob: out of memory");
    memcpy(b, VK_QM_MAGIC, 8);
    put_u32(b + 8, (uint32_t)q->par_n);
    put_u32(b + 12, (uint32_t)q->wt_n);
    for (size_t i = 0; i < q->par_n; i++)
        put_u32(b + 16 + 4 * i, (uint32_t)q->par[i]);
    memcpy(b + 16 + q->par_n * 4, q->wt, q->wt_n);
    *buf = b;
    *len = n;
    return VK_OK;
}

/* Every number of a blob against the range the kernel's arithmetic takes
 * (vk_int.h): multipliers in [0, 2^VK_MULT_BITS] and shifts in [0, 62]
 * (so acc * mult stays far inside int64), GELU table entries int8, the
 * prefix/position rows inside the residual stream's range, a LayerNorm
 * epsilon >= 0, finite positive scales. The first number out of range is
 * named with its place. */
static vk_status check_values(const vk_qmodel *r, const char *what, vk_err *err)
{
    const int32_t *P = r->par;
    const vk_layout *l = &r->lay;
    int d = P[VK_HDR_DIM], nl = P[VK_HDR_LAYERS], mlp = P[VK_HDR_MLP], k = P[VK_HDR_CLASSES];
    int dh = d / P[VK_HDR_HEADS], t = P[VK_HDR_TOKENS], pre = P[VK_HDR_PREFIX];
    const int32_t mult_max = 1 << VK_MULT_BITS;
    struct {
        const char *name;
        uint32_t m, s; /* offsets of the mults and shifts (in the layer, or global) */
        int n, layer;
    } rq[] = {
        {"patch", l->patch_m, l->patch_s, d, 0},   {"qkv", l->qkv_m, l->qkv_s, 3 * d, 1},
        {"shared qk", l->qks_m, l->qks_s, 2 * dh, 1}, {"softmax", l->sm_m, l->sm_s, 1, 1},
        {"shared softmax", l->smh_m, l->smh_s, 1, 1}, {"attention-value", l->av_m, l->av_s, 1, 1},
        {"projection", l->proj_m, l->proj_s, d, 1}, {"fc1", l->fc1_m, l->fc1_s, mlp, 1},
        {"fc2", l->fc2_m, l->fc2_s, d, 1},          {"head", l->head_m, l->head_s, k, 0},
        {"distillation head", l->headd_m, l->headd_s, pre > 1 ? k : 0, 0},
        {"entropy", VK_HDR_ENT_MULT, VK_HDR_ENT_SHIFT, 1, 0},
    };
    for (size_t i = 0; i < sizeof rq / sizeof rq[0]; i++)
        for (int e = 0; e < (rq[i].layer ? nl : 1); e++) {
            uint32_t base = rq[i].layer ? l->layer_p + (uint32_t)e * l->layer_p_n : 0;
            for (int j = 0; j < rq[i].n; j++) {
                int32_t m = P[base + rq[i].m + (uint32_t)j], sh = P[base + rq[i].s + (uint32_t)j];
                if (m < 0 || m > mult_max || sh < 0 || sh > 62)
                    return vk_fail(err, VK_E_FORMAT,
                                   "%s: %s%.0d %s requantizer [%d]: multiplier %d, shift %d "
                                   "(expected 0..%d and 0..62)",
                                   what, rq[i].layer ? "encoder " : "", rq[i].layer ? e + 1 : 0,
                                   rq[i].name, j, m, sh, mult_max);
            }
        }
    for (int e = 0; e < nl; e++)
        for (int j = 0; j < 256; j++) {
            int32_t v = P[l->layer_p + (uint32_t)e * l->layer_p_n + l->gelu + (uint32_t)j];
            if (v < -128 || v > 127)
                return vk_fail(err, VK_E_FORMAT,
                               "%s: encoder %d activation table [%d] = %d (expected -128..127)",
                               what, e + 1, j, v);
        }
    for (int j = 0; j < t * d; j++)
        if (P[l->tok0 + (uint32_t)j] < -VK_RESID_LIM || P[l->tok0 + (uint32_t)j] > VK_RESID_LIM)
            return vk_fail(err, VK_E_FORMAT,
                           "%s: prefix/position row word %d = %d (expected within +-%d)", what,
                           j, P[l->tok0 + (uint32_t)j], VK_RESID_LIM);
    if (P[VK_HDR_LN_EPS] < 0)
        return vk_fail(err, VK_E_FORMAT, "%s: LayerNorm epsilon %d (expected >= 0)", what,
                       P[VK_HDR_LN_EPS]);
    for (int h = VK_HDR_S_IN; h <= VK_HDR_S_LOGIT; h++) {
        float f;
        memcpy(&f, &P[h], sizeof f);
        if (!isfinite(f) || !(f > 0))
            return vk_fail(err, VK_E_FORMAT, "%s: header scale word %d is %g (expected a "
                           "finite positive float)", what, h, (double)f);
    }
    return VK_OK;
}

vk_status vk_qmodel_from_bytes(const uint8_t *buf, size_t len, const char *what,
                               vk_qmodel *q, vk_err *err)
{
    vk_qmodel r = {0};
    vk_hparams hp;
    size_t par_n, wt_n;
    vk_status rc;
    if (len < 16 + VK_HDR_WORDS * 4 || memcmp(buf, VK_QM_MAGIC, 8) != 0)
        return vk_fail(err, VK_E_FORMAT, "%s: not a vitskip model blob (magic %s expected)",
                       what, VK_QM_MAGIC);
    par_n = get_u32(buf + 8);
    wt_n = get_u32(buf + 12);
    if (par_n < VK_HDR_WORDS || par_n > len / 4 || 16 + par_n * 4 + wt_n != len)
        return vk_fail(err, VK_E_FORMAT,
                       "%s: blob sizes (%zu parameter words, %zu weight bytes) disagree with "
                       "its length %zu",
                       what, par_n, wt_n, len);
    r.par = malloc(par_n * 4);
    r.wt = malloc(wt_n ? wt_n : 1);
    if (!r.par || !r.wt) {
        free(r.par);
        free(r.wt);
        return vk_fail(err, VK_E_NOMEM, "%s: out of memory", what);
    }
    for (size_t i = 0; i < par_n; i++)
        r.par[i] = (int32_t)get_u32(buf + 16 + 4 * i);
    memcpy(r.wt, buf + 16 + par_n * 4, wt_n);
    r.par_n = par_n;
    r.wt_n = wt_n;
    rc = VK_E_FORMAT;
    if (r.par[VK_HDR_MAGIC] != VK_PAR_MAGIC || r.par[VK_HDR_VERSION] != VK_PAR_VERSION) {
        vk_fail(err, rc, "%s: parameter header magic/version mismatch", what);
        goto err;
    }
    hp.image_size = r.par[VK_HDR_IMAGE];
    hp.patch_size = r.par[VK_HDR_PATCH];
    hp.n_channels = r.par[VK_HDR_CHANNELS];
    hp.dim = r.par[VK_HDR_DIM];
    hp.n_layers = r.par[VK_HDR_LAYERS];
    hp.n_heads = r.par[VK_HDR_HEADS];
    hp.mlp_dim = r.par[VK_HDR_MLP];
    hp.n_classes = r.par[VK_HDR_CLASSES];
    hp.ln_eps = 1e-6f;
    hp.act = VK_ACT_GELU;
    rc = vk_hparams_check(&hp, what, err);
    if (rc != VK_OK)
        goto err;
    {
        int g = hp.image_size / hp.patch_size, pre = r.par[VK_HDR_PREFIX];
        if (pre < 1 || pre > VK_MAX_PREFIX || g * g + pre > VK_MAX_TOKENS) {
            rc = vk_fail(err, VK_E_FORMAT, "%s: %d prefix tokens (1 or 2 expected)", what, pre);
            goto err;
        }
        vk_layout_compute(&r.lay, (uint32_t)hp.n_channels, (uint32_t)hp.patch_size,
                          (uint32_t)hp.dim, (uint32_t)hp.n_layers, (uint32_t)hp.mlp_dim,
                          (uint32_t)hp.n_classes, (uint32_t)(g * g + pre), (uint32_t)hp.n_heads,
                          (uint32_t)pre);
        if (r.par[VK_HDR_TOKENS] != g * g + pre || r.lay.par_n != par_n || r.lay.wt_n != wt_n) {
            rc = vk_fail(err, VK_E_FORMAT,
                         "%s: blob sizes do not match its dimensions (%u parameter words and "
                         "%u weight bytes expected)",
                         what, r.lay.par_n, r.lay.wt_n);
            goto err;
        }
    }
    if ((rc = check_values(&r, what, err)) != VK_OK)
        goto err;
    vk_sha256(buf, len, r.hash);
    *q = r;
    return VK_OK;
err:
    free(r.par);
    free(r.wt);
    return rc;
}

vk_status vk_qmodel_save(const vk_qmodel *q, const char *path, vk_err *err)
{
    uint8_t *buf;
    size_t len;
    vk_status rc = vk_qmodel_to_bytes(q, &buf, &len, err);
    FILE *f;
    if (rc != VK_OK)
        return rc;
    f = fopen(path, "wb");
    if (!f) {
        free(buf);
        return vk_fail(err, VK_E_IO, "%s: cannot create: %m", path);
    }
    if (fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        free(buf);
        return vk_fail(err, VK_E_IO, "%s: write failed", path);
    }
    free(buf);
    return VK_OK;
}

vk_status vk_qmodel_load(const char *path, vk_qmodel *q, vk_err *err)
{
    FILE *f = fopen(path, "rb");
    long n;
    uint8_t *buf;
    vk_status rc;
    if (!f)
        return vk_fail(err, VK_E_IO, "%s: cannot open: %m", path);
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return vk_fail(err, VK_E_IO, "%s: cannot read", path);
    }
    buf = malloc((size_t)n + 1);
    if (!buf) {
        fclose(f);
        return vk_fail(err, VK_E_NOMEM, "%s: out of memory", path);
    }
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(buf);
        return vk_fail(err, VK_E_IO, "%s: short read", path);
    }
    fclose(f);
    rc = vk_qmodel_from_bytes(buf, (size_t)n, path, q, err);
    free(buf);
    return rc;
}

void vk_qmodel_free(vk_qmodel *q)
{
    if (!q)
        return;
    free(q->par);
    free(q->wt);
    q->par = NULL;
    q->wt = NULL;
}
