/* vk_ref: float32 reference forward pass (see vk_ref.h).
 * Dot products accumulate in double, so the reference is closer to exact
 * arithmetic than PyTorch's float32 kernels are. */
#include "vk_ref.h"

#include <math.h>
#include <stdlib.h>

struct vk_ref_ws {
    float *h;     /* [T][D] */
    float *xn;    /* [T][D] */
    float *qkv;   /* [T][3D] */
    float *ctx;   /* [T][D] */
    float *mid;   /* [T][M] */
    float *p;     /* [T] */
    float *patch; /* [C*P*P] */
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
    ws->mid = malloc(t * (size_t)hp->mlp_dim * sizeof(float));
    ws->p = malloc(t * sizeof(float));
    ws->patch = malloc((size_t)hp->n_channels * hp->patch_size * hp->patch_size * sizeof(float));
    if (!ws->h || !ws->xn || !ws->qkv || !ws->ctx || !ws->mid || !ws->p || !ws->patch) {
        vk_ref_ws_free(ws);
        return NULL;
    }
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
    free(ws->p);
    free(ws->patch);
    free(ws);
}

float vk_ref_act(vk_act act, float x)
{
    switch (act) {
    case VK_ACT_GELU: return (float)(0.5 * x * (1.0 + erf(x / sqrt(2.0))));
    case VK_ACT_GELU_TANH:
        return (float)(0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x))));
    case VK_ACT_RELU: return x > 0 ? x : 0;
    case VK_ACT_QUICK_GELU: return (float)(x / (1.0 + exp(-1.702 * x)));
    }
    return x;
}

static void upd(float *mx, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fabsf(v[i]) > *mx)
            *mx = fabsf(v[i]);
}

/* y[t][o] = x[t] . w[o] + b[o] (+ y if add) */
static void linear(const float *x, int n_tok, int n_in, const float *w, const float *b,
                   int n_out, float *y, int add)
{
    for (int t = 0; t < n_tok; t++) {
        const float *xr = &x[(size_t)t * n_in];
        for (int o = 0; o < n_out; o++) {
            const float *wr = &w[(size_t)o * n_in];
            double acc = b[o];
            for (int i = 0; i < n_in; i++)
                acc += (double)xr[i] * wr[i];
            if (add)
                y[(size_t)t * n_out + o] += (float)acc;
            else
                y[(size_t)t * n_out + o] = (float)acc;
        }
    }
}

static void layernorm(const float *x, int n_tok, int d, const float *g, const float *b,
                      float eps, float *y)
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

static void attention(const vk_model *m, vk_ref_ws *ws)
{
    int t_n = m->n_tokens, d = m->hp.dim, nh = m->hp.n_heads, dh = d / nh;
    double scale = 1.0 / sqrt((double)dh);
    for (int hd = 0; hd < nh; hd++) {
        for (int t = 0; t < t_n; t++) {
            const float *q = &ws->qkv[(size_t)t * 3 * d + hd * dh];
            double mx = -INFINITY, z = 0;
            for (int j = 0; j < t_n; j++) {
                const float *k = &ws->qkv[(size_t)j * 3 * d + d + hd * dh];
                double acc = 0;
                for (int c = 0; c < dh; c++)
                    acc += (double)q[c] * k[c];
                ws->p[j] = (float)(acc * scale);
                if (ws->p[j] > mx)
                    mx = ws->p[j];
            }
            for (int j = 0; j < t_n; j++) {
                ws->p[j] = (float)exp(ws->p[j] - mx);
                z += ws->p[j];
            }
            for (int c = 0; c < dh; c++) {
                double acc = 0;
                for (int j = 0; j < t_n; j++)
                    acc += (double)ws->p[j] * ws->qkv[(size_t)j * 3 * d + 2 * d + hd * dh + c];
                ws->ctx[(size_t)t * d + hd * dh + c] = (float)(acc / z);
            }
        }
    }
}

void vk_ref_forward(const vk_model *m, vk_ref_ws *ws, const float *img,
                    const uint32_t *modes, float *logits, vk_ref_stats *st)
{
    const vk_hparams *hp = &m->hp;
    int d = hp->dim, t_n = m->n_tokens, p = hp->patch_size, c = hp->n_channels;
    int side = hp->image_size, g = side / p, pd = c * p * p, mlp = hp->mlp_dim;
    size_t td = (size_t)t_n * d;

    if (st)
        upd(&st->in, img, (size_t)c * side * side);
    for (int o = 0; o < d; o++)
        ws->h[o] = m->cls[o] + m->pos[o];
    for (int py = 0; py < g; py++) {
        for (int px = 0; px < g; px++) {
            int tok = 1 + py * g + px;
            for (int ch = 0; ch < c; ch++)
                for (int ky = 0; ky < p; ky++)
                    for (int kx = 0; kx < p; kx++)
                        ws->patch[(ch * p + ky) * p + kx] =
                            img[((size_t)ch * side + py * p + ky) * side + px * p + kx];
            linear(ws->patch, 1, pd, m->patch_w, m->patch_b, d, &ws->h[(size_t)tok * d], 0);
            for (int o = 0; o < d; o++)
                ws->h[(size_t)tok * d + o] += m->pos[(size_t)tok * d + o];
        }
    }
    if (st)
        upd(&st->h, ws->h, td);

    for (int l = 0; l < hp->n_layers; l++) {
        const vk_layer *L = &m->layers[l];
        uint32_t mode = modes ? VK_MODE_ATTN(modes[l]) : VK_ATTN_FULL;
        if (mode == VK_ATTN_FULL) {
            layernorm(ws->h, t_n, d, L->ln1_w, L->ln1_b, hp->ln_eps, ws->xn);
            linear(ws->xn, t_n, d, L->qkv_w, L->qkv_b, 3 * d, ws->qkv, 0);
            attention(m, ws);
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
        }
        layernorm(ws->h, t_n, d, L->ln2_w, L->ln2_b, hp->ln_eps, ws->xn);
        linear(ws->xn, t_n, d, L->fc1_w, L->fc1_b, mlp, ws->mid, 0);
        if (st) {
            upd(&st->ln2[l], ws->xn, td);
            upd(&st->fc1[l], ws->mid, (size_t)t_n * mlp);
        }
        for (size_t i = 0; i < (size_t)t_n * mlp; i++)
            ws->mid[i] = vk_ref_act(hp->act, ws->mid[i]);
        linear(ws->mid, t_n, mlp, L->fc2_w, L->fc2_b, d, ws->h, 1);
        if (st)
            upd(&st->h, ws->h, td);
    }
    layernorm(ws->h, 1, d, m->lnf_w, m->lnf_b, hp->ln_eps, ws->xn);
    linear(ws->xn, 1, d, m->head_w, m->head_b, hp->n_classes, logits, 0);
    if (st) {
        upd(&st->lnf, ws->xn, (size_t)d);
        upd(&st->logits, logits, (size_t)hp->n_classes);
    }
}
