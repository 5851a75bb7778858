/* vk_levels: multi-level cascades over different weights (see vk_levels.h). */
#include "vk_levels.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/vk_config.h"

static int n_layers_of(const vk_qmodel *q)
{
    return vk_qmodel_dim(q, VK_HDR_LAYERS);
}

void vk_levels_resume(const vk_level *lv, int n_levels, int *resume)
{
    resume[0] = 0;
    for (int l = 1; l < n_levels; l++) {
        resume[l] = 0;
        if (resume[l - 1] == 0 && !memcmp(lv[l].q->hash, lv[l - 1].q->hash, 32))
            resume[l] = vk_genome_resume_depth(&lv[l - 1].path, &lv[l].path,
                                               n_layers_of(lv[l].q));
    }
}

/* ---- the sweep ----------------------------------------------------------- */

typedef struct {
    const vk_levels_sweep_in *in;
    vk_levels_pt best;
    double best_cost;
    int have;
} sweep_state;

/* Offers one cascade to the choice. */
static void offer(sweep_state *s, int correct, const int *reached, const int32_t *thr)
{
    const vk_levels_sweep_in *in = s->in;
    vk_levels_pt p;
    memset(&p, 0, sizeof p);
    p.top1 = 100.0 * correct / in->n;
    for (int l = 0; l < in->n_levels; l++) {
        double f = (double)reached[l] / in->n;
        p.reached[l] = reached[l];
        p.latency_ms += f * in->latency_ms[l];
        p.energy_mj += f * in->energy_mj[l];
    }
    for (int l = 0; l + 1 < in->n_levels; l++)
        p.thr_q16[l] = thr[l];
    p.met = p.top1 >= in->min_top1;
    double c = vk_objective_cost(in->objective, p.latency_ms, p.energy_mj);
    int esc = 0, best_esc = 0;
    for (int l = 1; l < in->n_levels; l++) {
        esc += p.reached[l];
        best_esc += s->best.reached[l];
    }
    int better;
    if (!s->have)
        better = 1;
    else if (p.met != s->best.met)
        better = p.met;
    else if (p.met)
        better = c < s->best_cost ||
                 (c == s->best_cost && (p.top1 > s->best.top1 ||
                                        (p.top1 == s->best.top1 && esc < best_esc)));
    else
        better = p.top1 > s->best.top1 || (p.top1 == s->best.top1 && c < s->best_cost);
    if (better) {
        s->best = p;
        s->best_cost = c;
        s->have = 1;
    }
}

static const int32_t *sort_ent; /* qsort has no context argument */

static int cmp_desc(const void *a, const void *b)
{
    int32_t x = sort_ent[*(const int *)a], y = sort_ent[*(const int *)b];
    if (x != y)
        return x < y ? 1 : -1;
    return *(const int *)a - *(const int *)b;
}

/* The threshold that escalates exactly the first j of n images of an order
 * by descending entropy (j at a tie-group boundary). */
static int32_t thr_at(const int32_t *ent, const int *order, int j, int n)
{
    return j == 0 ? INT32_MAX : j < n ? ent[order[j]] : -1;
}

vk_status vk_levels_sweep(const vk_levels_sweep_in *in, vk_levels_pt *best, vk_err *err)
{
    const int n = in->n, L = in->n_levels;
    if (n < 1 || L < 2 || L > VK_LEVELS_MAX)
        return vk_fail(err, VK_E_ARG, "cascade sweep: %d levels over %d images (expected 2..%d "
                                      "levels, at least one image)",
                       L, n, VK_LEVELS_MAX);
    int *o1 = malloc((size_t)n * sizeof *o1), *e = malloc((size_t)n * sizeof *e);
    if (!o1 || !e) {
        free(o1);
        free(e);
        return vk_fail(err, VK_E_NOMEM, "cascade sweep: out of memory for %d images", n);
    }
    sweep_state s;
    memset(&s, 0, sizeof s);
    s.in = in;
    const uint8_t *ok0 = in->ok[0], *ok1 = in->ok[1], *ok2 = L > 2 ? in->ok[2] : NULL;
    const int32_t *ent0 = in->ent[0], *ent1 = in->ent[1];
    int correct = 0; /* level 1 on the images it keeps, level 2 on the escalated */
    for (int i = 0; i < n; i++) {
        o1[i] = i;
        correct += ok0[i];
    }
    sort_ent = ent0;
    qsort(o1, (size_t)n, sizeof *o1, cmp_desc);
    int reached[VK_LEVELS_MAX] = {n, 0, 0};
    int32_t thr[VK_LEVELS_MAX - 1] = {INT32_MAX, INT32_MAX};
    offer(&s, correct, reached, thr); /* level 1 alone */
    int m = 0;                        /* e[0..m): the escalated, by level-2 entropy, descending */
    for (int j = 0; j < n;) {
        int k = j;
        while (k < n && ent0[o1[k]] == ent0[o1[j]]) { /* a tie group escalates together */
            int i = o1[k++];
            correct += ok1[i] - ok0[i];
            if (L > 2) { /* insert i into e, keeping the order (cmp_desc on ent1) */
                int p = m;
                while (p > 0 && (ent1[e[p - 1]] < ent1[i] ||
                                 (ent1[e[p - 1]] == ent1[i] && e[p - 1] > i)))
                    p--;
                memmove(&e[p + 1], &e[p], (size_t)(m - p) * sizeof *e);
                e[p] = i;
                m++;
            }
        }
        j = k;
        reached[1] = j;
        thr[0] = thr_at(ent0, o1, j, n);
        reached[2] = 0;
        thr[1] = INT32_MAX;
        offer(&s, correct, reached, thr); /* level 2 keeps every image it gets */
        if (L > 2) {
            int c2 = correct;
            for (int a = 0; a < m;) {
                int b2 = a;
                while (b2 < m && ent1[e[b2]] == ent1[e[a]]) {
                    c2 += ok2[e[b2]] - ok1[e[b2]];
                    b2++;
                }
                a = b2;
                reached[2] = a;
                thr[1] = thr_at(ent1, e, a, m);
                offer(&s, c2, reached, thr);
            }
        }
    }
    free(o1);
    free(e);
    *best = s.best;
    return VK_OK;
}

void vk_levels_route(const vk_img_result *const *alone, int n_levels, const int32_t *thr_q16,
                     int n, vk_img_result *out, uint8_t *level)
{
    for (int i = 0; i < n; i++) {
        int l = 0;
        while (l + 1 < n_levels && alone[l][i].entropy_q16 > thr_q16[l])
            l++;
        out[i] = alone[l][i];
        out[i].escalated = l > 0;
        level[i] = (uint8_t)l;
    }
}

/* ---- on the board -------------------------------------------------------- */

typedef struct {
    void (*fn)(void *ctx, int done, int total);
    void *ctx;
    int base, total;
} prog;

static void prog_cb(void *ctx, int done, int total)
{
    prog *p = ctx;
    (void)total;
    if (p->fn)
        p->fn(p->ctx, p->base + done, p->total);
}

vk_status vk_levels_alone(vk_board *b, const vk_level *lv, int n_levels, int n,
                          vk_img_result *const *res, vk_measure *meas,
                          void (*progress)(void *ctx, int done, int total), void *ctx,
                          vk_err *err)
{
    prog p = {progress, ctx, 0, n_levels * n};
    for (int l = 0; l < n_levels; l++) {
        vk_path_req req = {.modes = lv[l].path.modes, .progress = prog_cb, .progress_ctx = &p};
        vk_status rc;
        p.base = l * n;
        if ((rc = vk_board_load(b, lv[l].q, err)) != VK_OK ||
            (rc = vk_board_load_data(b, lv[l].imgs, n, err)) != VK_OK ||
            (rc = vk_board_measure(b, &req, n, res[l], &meas[l], err)) != VK_OK)
            return rc;
    }
    return VK_OK;
}

static vk_source weakest(vk_source a, vk_source b)
{
    /* none < modeled < measured: a composite is only as good as its worst part */
    static const int rank[] = {[VK_SRC_NONE] = 0, [VK_SRC_MODELED] = 1, [VK_SRC_MEASURED] = 2};
    return rank[a] <= rank[b] ? a : b;
}

vk_status vk_levels_run(vk_board *b, const vk_level *lv, int n_levels, const int32_t *thr_q16,
                        int n, vk_img_result *res, uint8_t *level, vk_levels_measure *out,
                        void (*progress)(void *ctx, int done, int total), void *ctx,
                        vk_err *err)
{
    vk_levels_measure m;
    vk_status rc = VK_OK;
    if (n_levels < 1 || n_levels > VK_LEVELS_MAX || n < 1)
        return vk_fail(err, VK_E_ARG, "cascade: %d levels over %d images (expected 1..%d "
                                      "levels, at least one image)",
                       n_levels, n, VK_LEVELS_MAX);
    for (int l = 1; l < n_levels; l++)
        if (vk_qmodel_dim(lv[l].q, VK_HDR_CLASSES) != vk_qmodel_dim(lv[0].q, VK_HDR_CLASSES))
            return vk_fail(err, VK_E_ARG, "cascade: level %d has %d classes, level 1 has %d",
                           l + 1, vk_qmodel_dim(lv[l].q, VK_HDR_CLASSES),
                           vk_qmodel_dim(lv[0].q, VK_HDR_CLASSES));
    memset(&m, 0, sizeof m);
    m.n_levels = n_levels;
    m.n_images = n;
    m.latency_src = m.energy_src = VK_SRC_MEASURED;
    vk_levels_resume(lv, n_levels, m.resume);
    int *idx = malloc((size_t)n * sizeof *idx); /* the images reaching the level */
    vk_img_result *r = malloc((size_t)n * sizeof *r);
    size_t img_max = 0;
    for (int l = 0; l < n_levels; l++)
        if (vk_qmodel_img_n(lv[l].q) > img_max)
            img_max = vk_qmodel_img_n(lv[l].q);
    int8_t *sub = malloc((size_t)n * img_max);
    if (!idx || !r || !sub) {
        rc = vk_fail(err, VK_E_NOMEM, "cascade: out of memory for %d images", n);
        goto out;
    }
    int n_in = n;
    for (int i = 0; i < n; i++) {
        idx[i] = i;
        level[i] = 0;
    }
    prog p = {progress, ctx, 0, n * n_levels}; /* at most n images per level */
    for (int l = 0; l < n_levels && n_in > 0;) {
        int pair = l + 1 < n_levels && m.resume[l + 1] > 0; /* l and l + 1 in one board run */
        size_t img_n = vk_qmodel_img_n(lv[l].q);
        for (int k = 0; k < n_in; k++)
            memcpy(&sub[(size_t)k * img_n], &lv[l].imgs[(size_t)idx[k] * img_n], img_n);
        vk_path_req req = {.modes = lv[l].path.modes, .progress = prog_cb, .progress_ctx = &p};
        if (pair) {
            req.modes_high = lv[l + 1].path.modes;
            req.threshold_q16 = thr_q16[l];
            req.resume = m.resume[l + 1];
        }
        if ((rc = vk_board_load(b, lv[l].q, err)) != VK_OK ||
            (rc = vk_board_load_data(b, sub, n_in, err)) != VK_OK ||
            (rc = vk_board_measure(b, &req, n_in, r, &m.meas[l], err)) != VK_OK)
            goto out;
        m.measured[l] = 1;
        m.reached[l] = n_in;
        double f = (double)n_in / n;
        m.latency_ms += f * m.meas[l].latency_ms;
        m.energy_mj += f * m.meas[l].energy_mj;
        m.latency_src = weakest(m.latency_src, m.meas[l].latency_src);
        m.energy_src = weakest(m.energy_src, m.meas[l].energy_src);
        int last = l + pair, n_next = 0;
        for (int k = 0; k < n_in; k++) {
            int i = idx[k];
            res[i] = r[k];
            level[i] = (uint8_t)(pair && r[k].escalated ? l + 1 : l);
            res[i].escalated = level[i] > 0;
            if (pair && r[k].escalated)
                m.reached[l + 1]++;
            if (level[i] == last && last + 1 < n_levels && r[k].entropy_q16 > thr_q16[last])
                idx[n_next++] = i;
        }
        p.base += n_in;
        n_in = n_next;
        l = last + 1;
    }
    if (m.energy_src == VK_SRC_NONE)
        m.energy_mj = 0;
    *out = m;
out:
    free(idx);
    free(r);
    free(sub);
    return rc;
}
