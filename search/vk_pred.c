/* vk_pred: the surrogate that screens candidates (see vk_pred.h). */
#include "vk_pred.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vk_hv.h"

/* Ridge penalty on every weight but the intercept, in the targets' units
 * squared per unit feature: weak, so a few measurements of a choice set its
 * effect; the unmeasured choices stay at the mean. */
#define RIDGE_LAMBDA 0.1
#define HUBER_ITERS 4 /* fits: the first plain, then reweighted */

struct vk_pred {
    vk_space sp;
    int n_layers, n_targets, d;
    double *x;   /* observations' features, n_obs x d */
    double *y;   /* their targets, n_obs x n_targets */
    int n_obs, cap;
    double *l;   /* per target, the Cholesky factor of X'WX + lambda I'
                    (d x d, lower; W the target's Huber weights) */
    double *w;   /* weights, n_targets x d */
    double s2[VK_PRED_MAX_TARGETS]; /* residual variance per target */
    int fitted;
};

/* features per encoder at most: 4 letters, 7 keep and 7 FFN percents
 * beyond the defaults, the token share */
#define MAX_PER_LAYER 19

static int per_layer(const vk_space *sp)
{
    return sp->n_attn + (sp->n_keep - 1) + (sp->n_ffn - 1) + (sp->n_keep > 1);
}

/* The features of g into f[0..d): the intercept, the shared counts (how
 * many encoders take each choice: a choice's effect learnt anywhere
 * carries to encoders where it was never measured), then per encoder its
 * one-hot choices (the effect at that position, beyond the shared one)
 * and the token share reaching it. */
static void features(const vk_pred *p, const vk_genome *g, double *f)
{
    const vk_space *sp = &p->sp;
    double share = 1; /* of the patch tokens reaching encoder i */
    int k = 1 + per_layer(sp) - (sp->n_keep > 1);
    memset(f, 0, (size_t)p->d * sizeof *f);
    f[0] = 1;
    for (int i = 0; i < p->n_layers; i++) {
        int base = k;
        uint32_t m = g->modes[i];
        for (int a = 0; a < sp->n_attn; a++)
            f[k++] = VK_MODE_ATTN(m) == sp->attn[a];
        for (int j = 1; j < sp->n_keep; j++)
            f[k++] = VK_MODE_KEEP(m) == sp->keep[j];
        for (int j = 1; j < sp->n_ffn; j++)
            f[k++] = VK_MODE_FFN(m) == sp->ffn[j];
        for (int j = base; j < k; j++)
            f[1 + j - base] += f[j];
        if (sp->n_keep > 1)
            f[k++] = share;
        if (VK_MODE_PRUNES(m))
            share *= VK_MODE_KEEP(m) / 100.0;
    }
}

vk_pred *vk_pred_new(const vk_space *sp, int n_layers, int n_targets)
{
    if (n_layers < 1 || n_layers > VK_MAX_LAYERS || n_targets < 1 ||
        n_targets > VK_PRED_MAX_TARGETS)
        return NULL;
    vk_pred *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->sp = *sp;
    p->n_layers = n_layers;
    p->n_targets = n_targets;
    p->d = 1 + per_layer(sp) - (sp->n_keep > 1) + n_layers * per_layer(sp);
    p->l = malloc((size_t)n_targets * p->d * p->d * sizeof *p->l);
    p->w = calloc((size_t)n_targets * p->d, sizeof *p->w);
    if (!p->l || !p->w) {
        vk_pred_free(p);
        return NULL;
    }
    return p;
}

void vk_pred_free(vk_pred *p)
{
    if (!p)
        return;
    free(p->x);
    free(p->y);
    free(p->l);
    free(p->w);
    free(p);
}

int vk_pred_n_features(const vk_pred *p)
{
    return p->d;
}

int vk_pred_n_obs(const vk_pred *p)
{
    return p->n_obs;
}

vk_status vk_pred_add(vk_pred *p, const vk_genome *g, const double *y, vk_err *err)
{
    if (p->n_obs == p->cap) {
        int cap = p->cap ? 2 * p->cap : 64;
        double *nx = realloc(p->x, (size_t)cap * p->d * sizeof *nx);
        if (nx)
            p->x = nx;
        double *ny = realloc(p->y, (size_t)cap * p->n_targets * sizeof *ny);
        if (ny)
            p->y = ny;
        if (!nx || !ny)
            return vk_fail(err, VK_E_NOMEM, "predictor: out of memory");
        p->cap = cap;
    }
    features(p, g, p->x + (size_t)p->n_obs * p->d);
    memcpy(p->y + (size_t)p->n_obs * p->n_targets, y, (size_t)p->n_targets * sizeof *y);
    p->n_obs++;
    p->fitted = 0;
    return VK_OK;
}

/* Solves L L' z = b in place (L lower, d x d). */
static void chol_solve(const double *l, int d, double *b)
{
    for (int i = 0; i < d; i++) {
        double s = b[i];
        for (int k = 0; k < i; k++)
            s -= l[i * d + k] * b[k];
        b[i] = s / l[i * d + i];
    }
    for (int i = d - 1; i >= 0; i--) {
        double s = b[i];
        for (int k = i + 1; k < d; k++)
            s -= l[k * d + i] * b[k];
        b[i] = s / l[i * d + i];
    }
}

/* Weighted ridge fit of target t: its Cholesky factor into p->l's slot t
 * and its weights into p->w's; b is scratch of d. */
static void fit_weighted(vk_pred *p, int t, const double *wt, double *b)
{
    int d = p->d, n = p->n_obs;
    double *a = p->l + (size_t)t * d * d, *w = p->w + (size_t)t * d;
    /* A = X'WX + lambda on the weights (a tiny ridge on the intercept keeps
       A positive definite with no observation) */
    for (int i = 0; i < d; i++)
        for (int j = 0; j <= i; j++) {
            double s = 0;
            for (int r = 0; r < n; r++)
                s += wt[r] * p->x[(size_t)r * d + i] * p->x[(size_t)r * d + j];
            a[i * d + j] = s + (i == j ? (i ? RIDGE_LAMBDA : 1e-9) : 0);
        }
    for (int j = 0; j < d; j++) { /* Cholesky, in place, lower triangle */
        double s = a[j * d + j];
        for (int k = 0; k < j; k++)
            s -= a[j * d + k] * a[j * d + k];
        a[j * d + j] = sqrt(s > 1e-300 ? s : 1e-300);
        for (int i = j + 1; i < d; i++) {
            double v = a[i * d + j];
            for (int k = 0; k < j; k++)
                v -= a[i * d + k] * a[j * d + k];
            a[i * d + j] = v / a[j * d + j];
        }
    }
    for (int i = 0; i < d; i++) {
        double s = 0;
        for (int r = 0; r < n; r++)
            s += wt[r] * p->x[(size_t)r * d + i] * p->y[(size_t)r * p->n_targets + t];
        b[i] = s;
    }
    chol_solve(a, d, b);
    memcpy(w, b, (size_t)d * sizeof *w);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

vk_status vk_pred_fit(vk_pred *p, vk_err *err)
{
    int d = p->d, n = p->n_obs;
    double *b = malloc((size_t)d * sizeof *b), *wt = malloc((size_t)(n ? n : 1) * sizeof *wt);
    double *res = malloc((size_t)(n ? n : 1) * sizeof *res);
    double *abs_r = malloc((size_t)(n ? n : 1) * sizeof *abs_r);
    if (!b || !wt || !res || !abs_r) {
        free(b);
        free(wt);
        free(res);
        free(abs_r);
        return vk_fail(err, VK_E_NOMEM, "predictor: out of memory");
    }
    for (int t = 0; t < p->n_targets; t++) {
        double mean = 0, var = 0, rss = 0, sw = 0;
        for (int r = 0; r < n; r++)
            wt[r] = 1;
        /* Huber's M-estimate by reweighting: a path far off the additive
           model (all encoders skipped, the accuracy collapsing) does not
           bend the costs of every choice */
        for (int it = 0; it < HUBER_ITERS; it++) {
            fit_weighted(p, t, wt, b);
            for (int r = 0; r < n; r++) {
                double f = 0;
                for (int i = 0; i < d; i++)
                    f += p->w[(size_t)t * d + i] * p->x[(size_t)r * d + i];
                res[r] = p->y[(size_t)r * p->n_targets + t] - f;
                abs_r[r] = fabs(res[r]);
            }
            if (it == HUBER_ITERS - 1 || n < 4)
                break;
            qsort(abs_r, (size_t)n, sizeof *abs_r, cmp_double);
            double c = 1.345 * 1.4826 * abs_r[n / 2];
            if (!(c > 0))
                break;
            for (int r = 0; r < n; r++)
                wt[r] = fabs(res[r]) <= c ? 1 : c / fabs(res[r]);
        }
        for (int r = 0; r < n; r++)
            mean += p->y[(size_t)r * p->n_targets + t] / n;
        for (int r = 0; r < n; r++) {
            double yr = p->y[(size_t)r * p->n_targets + t];
            rss += wt[r] * res[r] * res[r];
            sw += wt[r];
            var += (yr - mean) * (yr - mean) / n;
        }
        /* the residual scale, floored at a hundredth of the targets' spread
           (a fit through every point is not a certainty) */
        p->s2[t] = n ? fmax(rss / sw, 1e-4 * var) : INFINITY;
        if (!(p->s2[t] > 0))
            p->s2[t] = 1e-12;
    }
    free(b);
    free(wt);
    free(res);
    free(abs_r);
    p->fitted = 1;
    return VK_OK;
}

void vk_pred_predict(const vk_pred *p, const vk_genome *g, double *mean, double *sd)
{
    double f[1 + VK_MAX_LAYERS * MAX_PER_LAYER], z[1 + VK_MAX_LAYERS * MAX_PER_LAYER];
    int d = p->d;
    features(p, g, f);
    for (int t = 0; t < p->n_targets; t++) {
        double m = 0, q = 0;
        if (!p->fitted || !p->n_obs) {
            mean[t] = 0;
            sd[t] = INFINITY;
            continue;
        }
        memcpy(z, f, (size_t)d * sizeof *z);
        chol_solve(p->l + (size_t)t * d * d, d, z);
        for (int i = 0; i < d; i++) {
            m += p->w[(size_t)t * d + i] * f[i];
            q += f[i] * z[i];
        }
        mean[t] = m;
        sd[t] = sqrt(p->s2[t] * (1 + q));
    }
}

/* Hypervolume of pts[0..n) (pairs) against ref; 0 when out of memory. */
static double hv2(const double *pts, int n, const double ref[2])
{
    double hv = 0;
    vk_err err;
    return vk_hv_compute(pts, n, 2, ref, &hv, &err) == VK_OK ? hv : 0;
}

int vk_pred_pick(const double (*mean)[2], const double (*sd)[2], const double *viol, int n,
                 const double *front, int n_front, const double ref[2], int k, int *pick)
{
    double *pts = malloc((size_t)(n_front + k + 1) * 2 * sizeof *pts);
    char *taken = calloc((size_t)(n ? n : 1), 1);
    int np = n_front, m = 0;
    if (!pts || !taken) {
        free(pts);
        free(taken);
        return 0;
    }
    memcpy(pts, front, (size_t)n_front * 2 * sizeof *pts);
    while (m < k && m < n) {
        double base = hv2(pts, np, ref), best_s = -INFINITY;
        int best = -1;
        for (int i = 0; i < n; i++) {
            if (taken[i])
                continue;
            double o[2], s;
            for (int j = 0; j < 2; j++) {
                o[j] = mean[i][j] - (isfinite(sd[i][j]) ? sd[i][j] : 0);
                if (o[j] < 0)
                    o[j] = 0;
            }
            if (viol[i] > 0) {
                s = -1 - viol[i];
            } else {
                pts[2 * np] = o[0];
                pts[2 * np + 1] = o[1];
                s = hv2(pts, np + 1, ref) - base;
                if (!(s > 0)) { /* dominated: by how little it misses the front */
                    double miss = INFINITY;
                    for (int f = 0; f < np; f++) {
                        double e = fmax((o[0] - pts[2 * f]) / ref[0],
                                        (o[1] - pts[2 * f + 1]) / ref[1]);
                        miss = fmin(miss, e);
                    }
                    s = -fmin(fmax(miss, 0), 1);
                }
            }
            if (s > best_s) {
                best_s = s;
                best = i;
            }
        }
        if (best < 0)
            break;
        taken[best] = 1;
        pick[m++] = best;
        if (!(viol[best] > 0)) { /* believed at its mean for the next pick */
            pts[2 * np] = mean[best][0];
            pts[2 * np + 1] = mean[best][1];
            np++;
        }
    }
    free(pts);
    free(taken);
    return m;
}
