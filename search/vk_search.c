/* vk_search: the co-search driver (see vk_search.h). */
#include "vk_search.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "../boards/vk_board.h"
#include "../db/vk_store.h"
#include "../host/vk_clock.h"
#include "../host/vk_workload.h"
#include "vk_evo.h"
#include "vk_hv.h"
#include "vk_pred.h"
#include "vk_proxy.h"

void vk_search_opts_default(vk_search_opts *o)
{
    memset(o, 0, sizeof *o);
    o->objective = VK_OBJ_LATENCY;
    o->predict = 1; /* the strategy the search benchmark supports (README) */
    o->max_acc_drop = -1;
    o->population = 6;
    o->seed = 1;
    o->max_retries = 3;
    o->space = "FS";
}

static double cost_of(vk_objective o, const vk_measure *m)
{
    return vk_objective_cost(o, m->latency_ms, m->energy_mj);
}

/* ---- parallel measurement of one batch ---------------------------------- */

typedef struct {
    vk_genome g;
    char text[VK_GENOME_TEXT_MAX];
    int done, failed, tries;
    vk_path_rec rec;
} job;

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a job finished, failed or was handed back */
    job *jobs;
    int n_jobs, next;
    vk_board **boards;
    int n_boards;
    vk_store *db;
    const vk_workload *w;
    const vk_imageset *set; /* the images measured on (validation) */
    int64_t run;
    const char *board_key;
    int max_retries;
    int n_measured, n_failed;
    vk_err first_err; /* of the first path that ran out of retries */
    vk_err last_err;  /* of the last failed attempt */
    const vk_search_events *ev; /* NULL: silent */
    int n_found;                /* jobs answered by the database */
    const volatile sig_atomic_t *stop; /* set: no new job is taken */
} batch_ctx;

typedef struct {
    batch_ctx *c;
    int bi;
} worker_arg;

/* The next job to measure, marked in flight; -1 when none is left. While
 * other boards still hold jobs in flight it waits: one of them may fail and
 * come back for this board to retry. */
static int take_job(batch_ctx *c)
{
    int j = -1;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        int in_flight = 0;
        if (c->stop && *c->stop)
            break;
        for (int i = 0; i < c->n_jobs && j < 0; i++) {
            int k = (c->next + i) % c->n_jobs;
            if (c->jobs[k].done || c->jobs[k].failed)
                continue;
            if (c->jobs[k].tries < 0) {
                in_flight = 1;
                continue;
            }
            j = k;
            c->jobs[k].tries = -c->jobs[k].tries - 1; /* negative: in flight */
            c->next = k + 1;
        }
        if (j >= 0 || !in_flight)
            break;
        pthread_cond_wait(&c->cv, &c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return j;
}

static void *worker(void *p)
{
    worker_arg *a = p;
    batch_ctx *c = a->c;
    vk_board *b = c->boards[a->bi];
    const int n = c->set->n;
    vk_img_result *res = malloc((size_t)n * sizeof *res);
    int32_t *cls = malloc((size_t)n * sizeof *cls);
    int consecutive_fail = 0;
    if (!res || !cls)
        goto out;
    for (;;) {
        int j = take_job(c);
        if (j < 0)
            break;
        job *jb = &c->jobs[j];
        vk_measure m;
        vk_err err = {{0}};
        vk_path_req req = {.modes = jb->g.modes};
        vk_status rc = vk_board_measure(b, &req, n, res, &m, &err);
        pthread_mutex_lock(&c->mu);
        int tries = -jb->tries; /* attempts so far, this one included */
        if (rc != VK_OK) {
            vk_store_attempt(c->db, c->run, jb->text, vk_board_spec(b), 0, err.msg, NULL);
            jb->tries = tries;
            if (tries > c->max_retries) {
                jb->failed = 1;
                c->n_failed++;
                if (!c->first_err.msg[0])
                    c->first_err = err;
            }
            c->last_err = err;
            consecutive_fail++;
            pthread_cond_broadcast(&c->cv); /* the path is free for another board */
            if (c->ev && c->ev->attempt_failed)
                c->ev->attempt_failed(c->ev->ctx, jb->text, vk_board_spec(b), tries, err.msg);
            pthread_mutex_unlock(&c->mu);
            if (consecutive_fail >= 3)
                break; /* this board looks down; the others carry on */
            continue;
        }
        consecutive_fail = 0;
        for (int i = 0; i < n; i++)
            cls[i] = res[i].cls;
        memset(&jb->rec, 0, sizeof jb->rec);
        snprintf(jb->rec.genome, sizeof jb->rec.genome, "%s", jb->text);
        snprintf(jb->rec.board, sizeof jb->rec.board, "%s", c->board_key);
        jb->rec.top1 = vk_imageset_top1(c->set, cls);
        jb->rec.m = m;
        jb->rec.res = res;
        vk_err derr = {{0}};
        if (vk_store_path_insert(c->db, c->run, c->w->model_hash, c->set->hash, &jb->rec, n,
                                 &derr) != VK_OK) {
            jb->failed = 1;
            c->n_failed++;
            if (!c->first_err.msg[0])
                c->first_err = derr;
            jb->rec.res = NULL;
        } else {
            vk_store_attempt(c->db, c->run, jb->text, vk_board_spec(b), 1, "", NULL);
            jb->rec.res = malloc((size_t)n * sizeof *res);
            if (jb->rec.res)
                memcpy(jb->rec.res, res, (size_t)n * sizeof *res);
            jb->done = 1;
            c->n_measured++;
            if (c->ev && c->ev->batch_progress)
                c->ev->batch_progress(c->ev->ctx, c->n_found + c->n_measured);
        }
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
    }
out:
    free(res);
    free(cls);
    return NULL;
}

/* ---- the run --------------------------------------------------------------- */

typedef struct {
    vk_genome g;
    vk_path_rec rec;
    double obj[2], viol;
} evaluated;

double vk_search_violation(double max_acc_drop, double latency_budget_ms,
                           double energy_budget_mj, double full_top1, double top1,
                           double latency_ms, double energy_mj)
{
    double v = 0;
    if (max_acc_drop >= 0 && full_top1 - top1 > max_acc_drop)
        v += (full_top1 - top1 - max_acc_drop) / (max_acc_drop > 0.1 ? max_acc_drop : 0.1);
    if (latency_budget_ms > 0 && latency_ms > latency_budget_ms)
        v += (latency_ms - latency_budget_ms) / latency_budget_ms;
    if (energy_budget_mj > 0 && energy_mj > energy_budget_mj)
        v += (energy_mj - energy_budget_mj) / energy_budget_mj;
    return v;
}

/* The predict strategy's screen (vk_evo_set_screen): the surrogate (top-1,
 * latency, energy) fitted on the run's measurements so far predicts each
 * candidate; vk_pred_pick chooses on optimistic objectives and violation. */
typedef struct {
    const vk_search_opts *o;
    vk_pred *pred;
    vk_proxy *px;
    const evaluated *ev;
    int n_ev;
    double full_top1;
    const double *ref;
} screen_ctx;

/* The calibration of the accuracy proxy: measured top-1 = a + b * proxy,
 * least squares on the run's measured paths (b = 1 with fewer than 3 or
 * one proxy value), its residual sd (at least 0.25 points) and the
 * proxies' mean and spread, for a prediction's sd. 0, or -1 when a proxy
 * cannot be had. */
typedef struct {
    double a, b, s, pm, sxx;
    int n;
} calib_fit;

static int calibrate(screen_ctx *s, calib_fit *c)
{
    double sp = 0, sy = 0, spp = 0, spy = 0, ssr = 0;
    int n = 0;
    memset(c, 0, sizeof *c);
    c->b = 1;
    for (int i = 0; i < s->n_ev; i++) {
        double p;
        vk_err err;
        if (vk_proxy_top1(s->px, &s->ev[i].g, &p, &err) != VK_OK)
            return -1;
        sp += p;
        sy += s->ev[i].rec.top1;
        spp += p * p;
        spy += p * s->ev[i].rec.top1;
        n++;
    }
    if (n == 0)
        return -1;
    c->n = n;
    c->pm = sp / n;
    c->sxx = spp - sp * sp / n;
    if (n >= 3 && c->sxx > 1e-9)
        c->b = (spy - sp * sy / n) / c->sxx;
    c->a = sy / n - c->b * c->pm;
    for (int i = 0; i < s->n_ev; i++) {
        double p, r;
        vk_err err;
        vk_proxy_top1(s->px, &s->ev[i].g, &p, &err);
        r = s->ev[i].rec.top1 - (c->a + c->b * p);
        ssr += r * r;
    }
    c->s = n > 2 ? sqrt(ssr / (n - 2)) : 1.0;
    if (c->s < 0.25)
        c->s = 0.25;
    return 0;
}

static int screen(void *ctx, const vk_genome *cand, int n, int k, int *chosen)
{
    screen_ctx *s = ctx;
    double(*mean)[2] = malloc((size_t)n * sizeof *mean), (*sd)[2] = malloc((size_t)n * sizeof *sd);
    double *viol = malloc((size_t)n * sizeof *viol);
    double *front = malloc((size_t)(s->n_ev ? s->n_ev : 1) * 2 * sizeof *front);
    int nf = 0, m = 0, calibrated;
    calib_fit cf;
    vk_err err;
    if (!mean || !sd || !viol || !front || vk_pred_fit(s->pred, &err) != VK_OK)
        goto out;
    calibrated = s->px && calibrate(s, &cf) == 0;
    for (int i = 0; i < s->n_ev; i++)
        if (s->ev[i].viol == 0) {
            front[2 * nf] = s->ev[i].obj[0];
            front[2 * nf + 1] = s->ev[i].obj[1];
            nf++;
        }
    for (int i = 0; i < n; i++) {
        double y[3], e[3], p;
        vk_path_rec r;
        vk_pred_predict(s->pred, &cand[i], y, e);
        if (calibrated && vk_proxy_top1(s->px, &cand[i], &p, &err) == VK_OK) {
            double d = p - cf.pm; /* top-1: the proxy, calibrated */
            y[0] = cf.a + cf.b * p;
            e[0] = cf.s * sqrt(1 + 1.0 / cf.n + (cf.sxx > 1e-9 ? d * d / cf.sxx : 0));
        }
        mean[i][0] = 100 - y[0];
        sd[i][0] = e[0];
        mean[i][1] = vk_objective_cost(s->o->objective, y[1], y[2]);
        sd[i][1] = mean[i][1] - vk_objective_cost(s->o->objective, fmax(y[1] - e[1], 0),
                                                  fmax(y[2] - e[2], 0));
        memset(&r, 0, sizeof r); /* the violation of the optimistic figures */
        r.top1 = y[0] + e[0];
        r.m.latency_ms = fmax(y[1] - e[1], 0);
        r.m.energy_mj = fmax(y[2] - e[2], 0);
        viol[i] = vk_search_violation(s->o->max_acc_drop, s->o->latency_budget_ms,
                                      s->o->energy_budget_mj, s->full_top1, r.top1,
                                      r.m.latency_ms, r.m.energy_mj);
    }
    m = vk_pred_pick((const double(*)[2])mean, (const double(*)[2])sd, viol, n, front, nf, s->ref,
                     k, chosen);
out:
    free(mean);
    free(sd);
    free(viol);
    free(front);
    return m;
}

/* The Pareto front of ev[0..n) (constrained domination), by cost, into
 * res->front (records without per-image results). */
static vk_status front_of(const evaluated *ev, int n, vk_search_result *res, vk_err *err)
{
    double(*obj)[2] = malloc((size_t)n * sizeof *obj);
    double *viol = malloc((size_t)n * sizeof *viol);
    int *rank = malloc((size_t)n * sizeof *rank), *ord = malloc((size_t)n * sizeof *ord), m = 0;
    vk_status rc = VK_OK;
    if (!obj || !viol || !rank || !ord) {
        rc = vk_fail(err, VK_E_NOMEM, "front: out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        obj[i][0] = ev[i].obj[0];
        obj[i][1] = ev[i].obj[1];
        viol[i] = ev[i].viol;
    }
    vk_evo_ranks((const double(*)[2])obj, viol, n, rank);
    for (int i = 0; i < n; i++)
        if (rank[i] == 0)
            ord[m++] = i;
    for (int i = 1; i < m; i++)
        for (int j = i; j > 0 && obj[ord[j]][1] < obj[ord[j - 1]][1]; j--) {
            int t = ord[j];
            ord[j] = ord[j - 1];
            ord[j - 1] = t;
        }
    if (m && !(res->front = malloc((size_t)m * sizeof *res->front))) {
        rc = vk_fail(err, VK_E_NOMEM, "front: out of memory");
        goto out;
    }
    for (int k = 0; k < m; k++) {
        res->front[k] = ev[ord[k]].rec;
        res->front[k].res = NULL;
    }
    res->n_front = m;
    res->front_infeasible = m && ev[ord[0]].viol > 0;
    res->has_front = 1;
out:
    free(obj);
    free(viol);
    free(rank);
    free(ord);
    return rc;
}

/* Cascades from pairs of measured paths, thresholds chosen on the
 * validation images: their Pareto set in res (stored later, by
 * store_cascades, with its test figures), with the cheapest cascade within
 * 0.5 points of the full path, both ways. */
static vk_status cascades(const vk_search_opts *o, int64_t run, const vk_workload *w,
                          const vk_imageset *set, evaluated *ev, int n, double full_top1,
                          vk_search_result *res, vk_err *err)
{
    int nl = w->model.hp.n_layers, n_img = set->n, cap = 4096, k = 0;
    vk_cascade_rec *all = malloc((size_t)cap * sizeof *all);
    vk_cascade_rec *front = malloc((size_t)cap * sizeof *front);
    vk_sweep_pt *pts = malloc((size_t)(n_img + 1) * sizeof *pts);
    uint8_t *ok_lo = malloc((size_t)n_img), *ok_hi = malloc((size_t)n_img);
    int32_t *ent = malloc((size_t)n_img * sizeof *ent);
    vk_status rc = VK_OK;
    if (!all || !front || !pts || !ok_lo || !ok_hi || !ent) {
        rc = vk_fail(err, VK_E_NOMEM, "cascades: out of memory");
        goto out;
    }
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++) {
            const vk_path_rec *lo = &ev[a].rec, *hi = &ev[b].rec;
            if (a == b || lo->m.latency_ms >= hi->m.latency_ms || lo->top1 >= hi->top1)
                continue;
            int shared = vk_genome_resume_depth(&ev[a].g, &ev[b].g, nl);
            for (int i = 0; i < n_img; i++) {
                ok_lo[i] = lo->res[i].cls == set->data.labels[i];
                ok_hi[i] = hi->res[i].cls == set->data.labels[i];
                ent[i] = lo->res[i].entropy_q16;
            }
            double hi_lat =
                hi->m.suffix_ms[shared] > 0 ? hi->m.suffix_ms[shared] : hi->m.latency_ms;
            double hi_en = hi->m.suffix_mj[shared] > 0 ? hi->m.suffix_mj[shared] : hi->m.energy_mj;
            int np = vk_cascade_sweep(ent, ok_lo, ok_hi, n_img, lo->m.latency_ms, hi_lat, pts);
            for (int p = 1; p < np && k < cap; p++) { /* p = 0 is the low path alone */
                double f = (double)pts[p].n_escalated / n_img;
                if (pts[p].n_escalated == n_img)
                    continue; /* escalate-all is never cheaper than the high path */
                vk_cascade_rec c = {.run_id = run, .low = lo->id, .high = hi->id,
                                    .threshold_q16 = pts[p].threshold_q16, .resume = shared,
                                    .top1 = pts[p].top1, .escalated = f,
                                    .latency_ms = pts[p].cost,
                                    .energy_mj = lo->m.energy_mj + f * hi_en,
                                    .latency_scratch_ms = lo->m.latency_ms + f * hi->m.latency_ms,
                                    .energy_scratch_mj = lo->m.energy_mj + f * hi->m.energy_mj};
                all[k++] = c;
            }
        }
    /* Pareto set on (error, expected cost of the objective) */
    double best_resume = INFINITY, best_scratch = INFINITY;
    int n_front = 0;
    for (int i = 0; i < k; i++) {
        double ci = vk_objective_cost(o->objective, all[i].latency_ms, all[i].energy_mj);
        int dominated = 0;
        for (int j = 0; j < k && !dominated; j++) {
            double cj = vk_objective_cost(o->objective, all[j].latency_ms, all[j].energy_mj);
            dominated = j != i && all[j].top1 >= all[i].top1 && cj <= ci &&
                        (all[j].top1 > all[i].top1 || cj < ci || j < i);
        }
        if (full_top1 - all[i].top1 <= 0.5) {
            if (all[i].latency_ms < best_resume)
                best_resume = all[i].latency_ms;
            if (all[i].latency_scratch_ms < best_scratch)
                best_scratch = all[i].latency_scratch_ms;
        }
        if (!dominated)
            front[n_front++] = all[i];
    }
    res->best_resume_ms = best_resume;
    res->best_scratch_ms = best_scratch;
    res->n_cascades = n_front;
    res->cascades = front;
    front = NULL;
out:
    free(front);
    free(all);
    free(pts);
    free(ok_lo);
    free(ok_hi);
    free(ent);
    return rc;
}

/* Hypervolumes of the feasible points among ev[0..n): 2 objectives against
 * ref[0..1], and 3 (error, latency, energy) against 100% and 1.1 x the
 * full path's (ev[0]) latency and energy; *hv3 = -1 when the board gives
 * no energy. Counts evaluations without 2-objective gain in *stagnant. */
static vk_status hypervolumes(const evaluated *ev, int n, const double ref[2], double *hv,
                              double *hv3, int *stagnant, vk_err *err)
{
    double *pts = malloc((size_t)n * 3 * sizeof *pts), nhv = 0;
    double ref3[3] = {100, 1.1 * ev[0].rec.m.latency_ms, 1.1 * ev[0].rec.m.energy_mj};
    int np = 0;
    vk_status rc;
    if (!pts)
        return vk_fail(err, VK_E_NOMEM, "hypervolume: out of memory");
    for (int j = 0; j < n; j++)
        if (ev[j].viol == 0) {
            pts[2 * np] = ev[j].obj[0];
            pts[2 * np + 1] = ev[j].obj[1];
            np++;
        }
    if ((rc = vk_hv_compute(pts, np, 2, ref, &nhv, err)) != VK_OK)
        goto out;
    *stagnant = nhv > *hv * (1 + 1e-9) ? 0 : *stagnant + 1;
    *hv = nhv;
    *hv3 = -1;
    if (ev[0].rec.m.energy_src == VK_SRC_NONE)
        goto out;
    np = 0;
    for (int j = 0; j < n; j++)
        if (ev[j].viol == 0 && ev[j].rec.m.energy_src != VK_SRC_NONE) {
            pts[3 * np] = ev[j].obj[0];
            pts[3 * np + 1] = ev[j].rec.m.latency_ms;
            pts[3 * np + 2] = ev[j].rec.m.energy_mj;
            np++;
        }
    rc = vk_hv_compute(pts, np, 3, ref3, hv3, err);
out:
    free(pts);
    return rc;
}

/* The front's paths, the full path (ev[0]) and the cascades' paths on the
 * test split: each one found in the database for this test set, else
 * measured on the first board that does it (up to max_retries failures per
 * path) and stored. Fills res->front_test_top1 and res->full_test_top1. */
/* Every board of a run measures as one thing: the same identity on every
 * board, and on a resume the identity its stored paths were measured by
 * (older runs stored the board kind alone, which identifies nothing). */
static vk_status check_identities(vk_board *const *boards, int n_boards, vk_store *db,
                                  int64_t resume_run, int n_images, vk_err *err)
{
    const char *id = vk_board_identity(boards[0]);
    int64_t *ids = NULL;
    int n = 0;
    vk_status rc;
    for (int i = 1; i < n_boards; i++)
        if (strcmp(vk_board_identity(boards[i]), id))
            return vk_fail(err, VK_E_MISMATCH,
                           "boards '%s' and '%s' measure different things (%s, %s); the "
                           "results of one run come from one kind of measurement: search on "
                           "each separately and compare the runs with `vitskip report`",
                           vk_board_spec(boards[0]), vk_board_spec(boards[i]), id,
                           vk_board_identity(boards[i]));
    if (resume_run <= 0)
        return VK_OK;
    if ((rc = vk_store_run_paths(db, resume_run, &ids, &n, err)) != VK_OK)
        return rc;
    for (int i = 0; i < n && rc == VK_OK; i++) {
        vk_path_rec r;
        memset(&r, 0, sizeof r);
        if ((rc = vk_store_path_get(db, ids[i], n_images, &r, err)) != VK_OK)
            break;
        if (strcmp(r.board, id))
            rc = vk_fail(err, VK_E_MISMATCH,
                         "--resume %lld: the run's paths were measured by %s, but %s is %s; "
                         "resume on the boards that measured it, or start a new run",
                         (long long)resume_run, r.board, vk_board_spec(boards[0]), id);
        vk_store_rec_free(&r);
    }
    free(ids);
    return rc;
}

static vk_status test_front(const vk_search_opts *o, vk_store *db, const vk_workload *w,
                            vk_board **boards, int n_boards, const evaluated *ev, int n_ev,
                            vk_search_result *res, vk_err *err)
{
    const vk_search_events *evs = o->events;
    int nt = res->n_front + 1 + 2 * res->n_cascades, n_missing = 0, loaded = 0, done = 0;
    int64_t *ids = malloc((size_t)nt * sizeof *ids);
    double *top1 = malloc((size_t)nt * sizeof *top1);
    int *found = calloc((size_t)nt, sizeof *found);
    vk_img_result *r = malloc((size_t)w->n * sizeof *r);
    int32_t *cls = malloc((size_t)w->n * sizeof *cls);
    vk_status rc = VK_OK;
    if (!ids || !top1 || !found || !r || !cls) {
        rc = vk_fail(err, VK_E_NOMEM, "test split: out of memory");
        goto out;
    }
    for (int k = 0; k < nt && rc == VK_OK; k++) {
        int c = k - res->n_front - 1; /* [front][full][each cascade's low, high] */
        ids[k] = k < res->n_front ? res->front[k].id
                 : c < 0          ? ev[0].rec.id
                 : c % 2 ? res->cascades[c / 2].high : res->cascades[c / 2].low;
        rc = vk_store_path_test_get(db, ids[k], w->data_hash, &top1[k], &found[k], err);
        for (int j = 0; j < k && !found[k]; j++)
            found[k] = ids[j] == ids[k] ? -1 : 0; /* a path twice: measured once */
        n_missing += !found[k];
    }
    if (rc == VK_OK && n_missing && evs && evs->batch_begin)
        evs->batch_begin(evs->ctx, -1, nt, nt - n_missing);
    for (int k = 0; k < nt && rc == VK_OK; k++) {
        if (found[k] < 0)
            for (int j = 0; j < k; j++)
                if (ids[j] == ids[k])
                    top1[k] = top1[j];
        if (found[k])
            continue;
        const evaluated *pe = NULL;
        for (int j = 0; j < n_ev && !pe; j++)
            if (ev[j].rec.id == ids[k])
                pe = &ev[j];
        vk_path_req req = {.modes = pe->g.modes};
        vk_measure m;
        vk_err e = {{0}};
        rc = VK_E_BOARD;
        for (int a = 0; a <= o->max_retries && rc != VK_OK; a++) {
            vk_board *b = boards[a % n_boards];
            if (!loaded || n_boards > 1)
                rc = vk_board_load_data(b, w->imgs, w->n, &e);
            else
                rc = VK_OK;
            if (rc == VK_OK)
                rc = vk_board_measure(b, &req, w->n, r, &m, &e);
            loaded = loaded || rc == VK_OK;
            if (rc != VK_OK && evs && evs->attempt_failed)
                evs->attempt_failed(evs->ctx, pe->rec.genome, vk_board_spec(b), a + 1, e.msg);
        }
        if (rc != VK_OK) {
            rc = vk_fail(err, rc, "test split: %s", e.msg);
            break;
        }
        for (int i = 0; i < w->n; i++)
            cls[i] = r[i].cls;
        top1[k] = vk_workload_top1(w, cls, w->n);
        rc = vk_store_path_test_put(db, ids[k], w->data_hash, w->n, top1[k], r, err);
        if (evs && evs->batch_progress)
            evs->batch_progress(evs->ctx, nt - n_missing + ++done);
    }
    if (n_missing && evs && evs->batch_end)
        evs->batch_end(evs->ctx);
    if (rc == VK_OK) {
        res->front_test_top1 = top1;
        top1 = NULL;
        res->full_test_top1 = res->front_test_top1[res->n_front];
    }
out:
    free(ids);
    free(top1);
    free(found);
    free(r);
    free(cls);
    return rc;
}

/* The objective or the energy budget needs energy and the boards give
 * none (seen on the first path measured): a new run is removed (its
 * measurement kept for dedup) and the search refused. */
static vk_status no_energy(vk_store *db, const vk_run_info *run, const vk_search_opts *o,
                           const vk_path_rec *full, vk_err *err)
{
    int n;
    vk_err e2 = {{0}};
    char what[64];
    if (o->objective != VK_OBJ_LATENCY)
        snprintf(what, sizeof what, "--objective %s", vk_objective_name(o->objective));
    else
        snprintf(what, sizeof what, "--energy-budget");
    if (o->resume_run <= 0)
        vk_store_run_remove(db, run->id, 0, &n, &e2);
    return vk_fail(err, VK_E_ARG,
                   "%s: board %s gives no energy figure (%s); use --objective latency "
                   "without --energy-budget, or a board that measures energy%s",
                   what, full->board, full->m.note,
                   o->resume_run > 0 ? "" : "; the run was removed");
}

/* A cascade's top-1 and escalated share on the test split, exactly, from
 * its two paths' per-image test results stored for it (lo, hi: scratch of
 * w->n): an image is escalated when the low path's entropy is above the
 * threshold chosen on validation, and then the high path's class counts. */
static vk_status cascade_test(vk_store *db, const vk_workload *w, vk_cascade_rec *c,
                              vk_img_result *lo, vk_img_result *hi, vk_err *err)
{
    int f_lo = 0, f_hi = 0, right = 0, esc = 0;
    vk_status rc = vk_store_path_test_results(db, c->low, w->data_hash, w->n, lo, &f_lo, err);
    if (rc == VK_OK)
        rc = vk_store_path_test_results(db, c->high, w->data_hash, w->n, hi, &f_hi, err);
    if (rc != VK_OK)
        return rc;
    if (!f_lo || !f_hi)
        return vk_fail(err, VK_E_NOTFOUND, "cascade of paths %lld and %lld: no test figure stored "
                       "for the %s path", (long long)c->low, (long long)c->high,
                       f_lo ? "high" : "low");
    for (int i = 0; i < w->n; i++) {
        int up = lo[i].entropy_q16 > c->threshold_q16;
        esc += up;
        right += (up ? hi[i].cls : lo[i].cls) == w->data.labels[i];
    }
    c->has_test = 1;
    c->top1_test = 100.0 * right / w->n;
    c->escalated_test = (double)esc / w->n;
    return VK_OK;
}

/* Stores res's cascades, with their test figures when the test split was
 * measured (with_test), and marks them stored (has_cascades). */
static vk_status store_cascades(vk_store *db, const vk_workload *w, int with_test,
                                vk_search_result *res, vk_err *err)
{
    vk_img_result *lo = malloc((size_t)w->n * sizeof *lo), *hi = malloc((size_t)w->n * sizeof *hi);
    vk_status rc = lo && hi ? VK_OK : vk_fail(err, VK_E_NOMEM, "cascades: out of memory");
    for (int i = 0; i < res->n_cascades && rc == VK_OK; i++) {
        if (with_test)
            rc = cascade_test(db, w, &res->cascades[i], lo, hi, err);
        if (rc == VK_OK)
            rc = vk_store_cascade_insert(db, &res->cascades[i], err);
    }
    res->has_cascades = rc == VK_OK;
    free(lo);
    free(hi);
    return rc;
}

static double peak_rss_mib(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss / 1024.0 : -1;
}

void vk_search_result_free(vk_search_result *res)
{
    if (!res)
        return;
    free(res->front);
    free(res->front_test_top1);
    free(res->cascades);
    memset(res, 0, sizeof *res);
}

/* One search as it runs: its settings (a resume's taken from the run),
 * workload, boards, run row, the evolution and what it has evaluated.
 * vk_search_run's steps below share it; search_free releases it. */
typedef struct {
    vk_search_opts o;          /* as given, then a resume's settings */
    const vk_search_opts *in;  /* as given */
    vk_search_result *res;
    const vk_search_events *evs;
    vk_workload own_w;
    const vk_workload *w;
    vk_imageset vs;            /* the validation images, measured on */
    vk_store *db;
    vk_board *boards[VK_SEARCH_MAX_BOARDS];
    const char *used[VK_SEARCH_MAX_BOARDS]; /* the specs of boards[] */
    int n_boards;
    vk_run_info run;
    int run_boards;            /* a resume on the boards the run stored */
    vk_space sp;
    vk_genome seeds[VK_SEARCH_MAX_SEEDS];
    char seed_buf[sizeof ((vk_run_info *)0)->seed_genomes];
    char boards_buf[sizeof ((vk_run_info *)0)->boards];
    int nl, n_sweep;
    vk_evo *evo;
    vk_pred *pred;
    vk_proxy *own_px;          /* the accuracy proxy, unless opts gave one */
    screen_ctx sc;
    evaluated *ev;
    int n_ev, cap_ev, stagnant;
    double full_top1, ref[3], hv, hv3, t0;
} search;

/* Splits a comma-separated list in buf (modified) into at most max items. */
static int split_list(char *buf, const char **items, int max)
{
    int n = 0;
    for (char *p = buf, *q; *p && n < max; p = q) {
        q = p + strcspn(p, ",");
        if (*q)
            *q++ = 0;
        items[n++] = p;
    }
    return n;
}

/* --resume: the run's own settings win (a resume continues the same
 * search), its boards too unless others are given; --budget extends it. */
static vk_status take_run_settings(search *s, vk_err *err)
{
    vk_search_opts *o = &s->o;
    vk_run_info *run = &s->run;
    vk_status rc;
    if ((rc = vk_store_open(o->db, &s->db, err)) != VK_OK ||
        (rc = vk_store_run_get(s->db, o->resume_run, run, err)) != VK_OK)
        return rc;
    o->model = run->model;
    o->data = run->data;
    o->calib = run->calib[0] ? run->calib : NULL;
    if (!run->test_hash[0])
        return vk_fail(err, VK_E_MISMATCH,
                       "--resume %lld: the run was stored before validation and test splits "
                       "(it selected and reported on the same images); start a new run",
                       (long long)run->id);
    o->val = run->val[0] ? run->val : NULL;
    o->test = run->test[0] ? run->test : NULL;
    o->n_val = run->n_images;
    o->limit = run->n_test;
    o->seed = run->seed;
    o->space = run->space;
    /* the run's seed genomes, proposed again in the same order */
    snprintf(s->seed_buf, sizeof s->seed_buf, "%s", run->seed_genomes);
    o->n_seed_genomes = split_list(s->seed_buf, o->seed_genomes, VK_SEARCH_MAX_SEEDS);
    /* and its boards, unless told others: a resume measures where the run
       measured */
    if (o->n_boards == 0) {
        snprintf(s->boards_buf, sizeof s->boards_buf, "%s", run->boards);
        o->n_boards = split_list(s->boards_buf, o->boards, VK_SEARCH_MAX_BOARDS);
        s->run_boards = 1;
    }
    o->random = !strcmp(run->strategy, "random");
    o->predict = !strcmp(run->strategy, "predict");
    o->one_at_a_time = !strcmp(run->strategy, "one-at-a-time");
    o->exhaustive |= o->one_at_a_time;
    /* the predict strategy's accuracy proxy on the run's images: the same
       screen (a count beyond the validation split runs all of it) */
    if (o->proxy_n > 0 && !o->predict)
        return vk_fail(err, VK_E_MISMATCH, "--resume %lld: --proxy-images is the predict "
                       "strategy's; the run's is %s", (long long)run->id, run->strategy);
    if (o->proxy_n > 0 &&
        (o->proxy_n < run->n_images ? o->proxy_n : run->n_images) != run->proxy_n)
        return vk_fail(err, VK_E_MISMATCH, "--resume %lld: the run screens with the accuracy "
                       "proxy on %d images, not %d (--proxy-images); a resume continues the "
                       "same search", (long long)run->id, run->proxy_n, o->proxy_n);
    o->proxy_n = run->proxy_n;
    o->budget = s->in->budget > 0 ? s->in->budget : run->budget; /* --budget N extends */
    o->population = run->population;
    o->offspring = run->offspring;
    o->max_acc_drop = run->max_acc_drop;
    o->latency_budget_ms = run->latency_budget_ms;
    o->energy_budget_mj = run->energy_budget_mj;
    if ((rc = vk_objective_parse(run->objective, &o->objective, err)) != VK_OK)
        vk_err_prefix(err, "run %lld", (long long)run->id);
    return rc;
}

/* The space, the workload and its validation split, the seed genomes and
 * a sweep's size; a resume's model and images must be the run's. */
static vk_status prepare(search *s, vk_err *err)
{
    vk_search_opts *o = &s->o;
    vk_workload_opts wo = {0};
    vk_status rc;
    if (!o->model || !o->data || o->n_boards < 1)
        return vk_fail(err, VK_E_ARG, "a model, a dataset and at least one board are required");
    if ((rc = vk_space_parse(o->space ? o->space : "FS", &s->sp, err)) != VK_OK) {
        vk_err_prefix(err, "--space");
        return rc;
    }
    wo.model = o->model;
    wo.data = o->data;
    wo.calib = o->calib;
    wo.limit = o->limit;
    if (o->n_val <= 0 && o->limit > 0) /* a quick run: as many validation images as test */
        o->n_val = o->limit < VK_SPLIT_VAL_N ? o->limit : VK_SPLIT_VAL_N;
    wo.val = o->val;
    wo.test = o->test;
    wo.n_val = o->n_val;
    wo.quiet = o->quiet;
    if (o->cache)
        wo.cache = *o->cache;
    if (!s->w) {
        if ((rc = vk_workload_open(&wo, &s->own_w, err)) != VK_OK)
            return rc;
        s->w = &s->own_w;
    }
    if ((rc = vk_workload_take(s->w, VK_SPLIT_VAL, &s->vs, err)) != VK_OK)
        return rc;
    s->nl = s->w->model.hp.n_layers;
    for (int i = 0; i < o->n_seed_genomes; i++) { /* before a run exists */
        if ((rc = vk_genome_parse(o->seed_genomes[i], s->nl, &s->seeds[i], err)) != VK_OK) {
            vk_err_prefix(err, "--seed-genome");
            return rc;
        }
        if (!vk_space_contains(&s->sp, &s->seeds[i], s->nl)) {
            char t[64];
            vk_space_format(&s->sp, t, sizeof t);
            return vk_fail(err, VK_E_ARG, "--seed-genome %s: a gene outside the space %s",
                           o->seed_genomes[i], t);
        }
    }
    if (o->one_at_a_time) { /* exactly these: NSGA-II would breed on */
        s->n_sweep = 1 + vk_space_one_at_a_time(&s->sp, s->nl, NULL, 0);
        o->budget = s->n_sweep;
    } else if (o->exhaustive) {
        uint64_t n_valid = vk_space_valid(&s->sp, s->nl);
        s->n_sweep = (int)(n_valid <= VK_SEARCH_MAX_SWEEP ? n_valid : VK_SEARCH_MAX_SWEEP + 1);
    }
    if (o->exhaustive && s->n_sweep > VK_SEARCH_MAX_SWEEP)
        return vk_fail(err, VK_E_ARG,
                       "sweep: the space %s has %llu valid paths for %d encoders; a sweep "
                       "measures at most %d (use search, or a smaller --space)",
                       o->space, (unsigned long long)vk_space_valid(&s->sp, s->nl), s->nl,
                       VK_SEARCH_MAX_SWEEP);
    if (o->resume_run > 0 &&
        (strcmp(s->run.model_hash, s->w->model_hash) || strcmp(s->run.data_hash, s->vs.hash) ||
         strcmp(s->run.test_hash, s->w->data_hash)))
        return vk_fail(err, VK_E_MISMATCH,
                       "--resume %lld: the run used model %.16s, validation images %.16s and "
                       "test images %.16s, but %s quantizes to %.16s and %s gives %.16s and "
                       "%.16s",
                       (long long)s->run.id, s->run.model_hash, s->run.data_hash,
                       s->run.test_hash, o->model, s->w->model_hash, o->data, s->vs.hash,
                       s->w->data_hash);
    return VK_OK;
}

/* The boards, loaded with the model and the validation images: one that
 * cannot be opened or loaded is reported and left out; all of one
 * identity (and a resume's, the run's). */
static vk_status open_boards(search *s, vk_err *err)
{
    const vk_search_opts *o = &s->o;
    for (int i = 0; i < o->n_boards; i++) {
        vk_err be = {{0}};
        vk_board *b = NULL;
        if (vk_board_open(o->boards[i], &b, &be) != VK_OK ||
            vk_board_load(b, &s->w->q, &be) != VK_OK ||
            vk_board_load_data(b, s->vs.imgs, s->vs.n, &be) != VK_OK) {
            vk_board_close(b);
            if (s->evs && s->evs->board_unavailable)
                s->evs->board_unavailable(s->evs->ctx, o->boards[i], be.msg);
            *err = be;
            continue;
        }
        s->used[s->n_boards] = o->boards[i];
        s->boards[s->n_boards++] = b;
    }
    if (s->n_boards == 0) {
        vk_err_prefix(err, "no board could be used (of %d)", o->n_boards);
        return VK_E_BOARD;
    }
    return check_identities(s->boards, s->n_boards, s->db, o->resume_run, s->vs.n, err);
}

/* A resumed run: its budget checked and extended, marked running. */
static vk_status reopen_run(search *s, vk_err *err)
{
    int n_done = 0;
    int64_t *ids = NULL;
    vk_status rc = vk_store_run_paths(s->db, s->run.id, &ids, &n_done, err);
    free(ids);
    if (rc != VK_OK)
        return rc;
    if (s->in->budget > 0 && s->in->budget < n_done)
        return vk_fail(err, VK_E_ARG, "--budget %d: run %lld has evaluated %d paths already",
                       s->in->budget, (long long)s->run.id, n_done);
    if (s->o.budget != s->run.budget &&
        (rc = vk_store_run_set_budget(s->db, s->run.id, s->o.budget, err)) != VK_OK)
        return rc;
    return vk_store_run_set_status(s->db, s->run.id, "running", err);
}

/* A new run: the database opened (only now, so that a bad argument leaves
 * nothing behind) and the run stored with every setting. */
static vk_status create_run(search *s, vk_err *err)
{
    vk_search_opts *o = &s->o;
    vk_run_info *run = &s->run;
    vk_status rc;
    if ((rc = vk_store_open(o->db, &s->db, err)) != VK_OK)
        return rc;
    snprintf(run->model, sizeof run->model, "%s", o->model);
    snprintf(run->data, sizeof run->data, "%s", o->data);
    snprintf(run->calib, sizeof run->calib, "%s", o->calib ? o->calib : "");
    snprintf(run->model_hash, sizeof run->model_hash, "%s", s->w->model_hash);
    snprintf(run->data_hash, sizeof run->data_hash, "%s", s->vs.hash);
    run->n_images = s->vs.n;
    snprintf(run->val, sizeof run->val, "%s", o->val ? o->val : "");
    snprintf(run->test, sizeof run->test, "%s", o->test ? o->test : "");
    snprintf(run->test_hash, sizeof run->test_hash, "%s", s->w->data_hash);
    run->n_test = s->w->n;
    for (int i = 0; i < s->n_boards; i++) { /* those in use */
        size_t l = strlen(run->boards);
        snprintf(run->boards + l, sizeof run->boards - l, "%s%s", i ? "," : "", s->used[i]);
    }
    snprintf(run->objective, sizeof run->objective, "%s", vk_objective_name(o->objective));
    run->max_acc_drop = o->max_acc_drop;
    run->latency_budget_ms = o->latency_budget_ms;
    run->energy_budget_mj = o->energy_budget_mj;
    run->seed = o->seed;
    vk_space_format(&s->sp, run->space, sizeof run->space);
    for (int i = 0; i < o->n_seed_genomes; i++) {
        size_t l = strlen(run->seed_genomes);
        snprintf(run->seed_genomes + l, sizeof run->seed_genomes - l, "%s%s", i ? "," : "",
                 o->seed_genomes[i]);
    }
    snprintf(run->strategy, sizeof run->strategy, "%s",
             o->random ? "random" : o->predict ? "predict"
             : o->one_at_a_time ? "one-at-a-time" : "nsga2");
    run->budget = o->budget;
    if (o->offspring <= 0)
        o->offspring = s->n_boards < o->population ? s->n_boards : o->population;
    run->population = o->population;
    run->offspring = o->offspring;
    /* the proxy's images as seed_evolution's proxy runs them */
    int proxy_n = o->proxy_n > 0 ? o->proxy_n : VK_PROXY_DEFAULT_N;
    run->proxy_n = !o->predict ? 0 : o->proxy ? vk_proxy_n(o->proxy)
                   : proxy_n < s->vs.n ? proxy_n : s->vs.n;
    return vk_store_run_create(s->db, run, err);
}

/* The started event: what runs, on what. */
static void announce(const search *s)
{
    const vk_search_opts *o = &s->o;
    if (!s->evs || !s->evs->started)
        return;
    vk_search_start st = {.run_id = s->run.id,
                          .model = o->model,
                          .n_images = s->vs.n,
                          .n_test = s->w->n,
                          .n_layers = s->nl,
                          .n_boards = s->n_boards,
                          .objective = o->objective,
                          .random = o->random,
                          .predict = o->predict && !o->random,
                          .seed = o->seed,
                          .space = s->run.space,
                          .n_valid = vk_space_valid(&s->sp, s->nl),
                          .boards = s->used,
                          .run_boards = s->run_boards,
                          .identity = vk_board_identity(s->boards[0])};
    s->evs->started(s->evs->ctx, &st);
}

/* The evolution (a sweep's generation 0 holds the whole space), its
 * predictor for the predict strategy, and its seeds: the full path first
 * (constraints are relative to it; random search gets only it), PIVOT's
 * patterns, the user's seed genomes, a one-at-a-time sweep's variants or
 * a sweep's every valid path, in order. The predict strategy seeds no more:
 * its screen chooses from the first child on (the accuracy proxy needs no
 * measurement to rank candidates, and the cost model's shared per-choice
 * effects are learnt from the patterns). */
static vk_status seed_evolution(search *s, vk_err *err)
{
    const vk_search_opts *o = &s->o;
    int nl = s->nl;
    vk_genome g;
    s->evo = o->exhaustive ? vk_evo_new(nl, s->n_sweep, s->n_sweep, o->seed)
                           : vk_evo_new(nl, o->population, o->offspring, o->seed);
    if (!s->evo)
        return vk_fail(err, VK_E_NOMEM, "out of memory");
    vk_evo_set_space(s->evo, &s->sp);
    if (o->random)
        vk_evo_set_random(s->evo);
    if (o->predict && !o->random && !o->exhaustive) {
        if (!(s->pred = vk_pred_new(&s->sp, nl, 3)))
            return vk_fail(err, VK_E_NOMEM, "out of memory");
        s->sc.pred = s->pred;
        s->sc.ref = s->ref;
        s->sc.px = o->proxy;
        if (!s->sc.px) {
            vk_status rc = vk_proxy_new(&s->w->q, &s->vs, o->proxy_n > 0 ? o->proxy_n
                                                                         : VK_PROXY_DEFAULT_N,
                                        &s->own_px, err);
            if (rc != VK_OK)
                return rc;
            s->sc.px = s->own_px;
        }
        vk_evo_set_screen(s->evo, VK_SEARCH_PRED_POOL, screen, &s->sc);
    }
    for (int p = 0; p < (o->random || o->one_at_a_time ? 1 : 3); p++) {
        vk_genome_pattern(&g, nl, p == 0 ? 0 : p == 1 ? 2 : 1);
        if (p == 0 || vk_space_contains(&s->sp, &g, nl))
            vk_evo_seed(s->evo, &g);
    }
    for (int i = 0; i < o->n_seed_genomes && !o->one_at_a_time; i++)
        vk_evo_seed(s->evo, &s->seeds[i]);
    if (o->one_at_a_time) { /* the full path's variants, in order */
        vk_genome *v = malloc((size_t)s->n_sweep * sizeof *v);
        if (!v)
            return vk_fail(err, VK_E_NOMEM, "out of memory");
        for (int i = 0, nv = vk_space_one_at_a_time(&s->sp, nl, v, s->n_sweep); i < nv; i++)
            vk_evo_seed(s->evo, &v[i]);
        free(v);
    } else if (o->exhaustive) { /* sweep: every valid path, in order */
        int genes = vk_space_genes(&s->sp);
        uint64_t size = vk_space_size(&s->sp, nl);
        vk_err e2;
        for (uint64_t m = 0; m < size; m++) {
            uint64_t x = m;
            memset(&g, 0, sizeof g);
            for (int i = 0; i < nl; i++, x /= (uint64_t)genes)
                g.modes[i] = vk_space_gene(&s->sp, (int)(x % (uint64_t)genes));
            if (vk_genome_check(&g, nl, 0, &e2) == VK_OK)
                vk_evo_seed(s->evo, &g);
        }
    }
    return VK_OK;
}

/* A batch's jobs: each found in the database (same model, images and
 * board identity) or measured by the worker pool, one thread per board. */
static vk_status measure_batch(search *s, job *jobs, int nb, int gen, int *n_found, vk_err *err)
{
    const vk_search_opts *o = &s->o;
    const char *key = vk_board_identity(s->boards[0]);
    int found = 0;
    vk_status rc = VK_OK;
    for (int i = 0; i < nb && rc == VK_OK; i++) {
        int f = 0;
        vk_genome_format(&jobs[i].g, s->nl, jobs[i].text);
        rc = vk_store_path_find(s->db, s->w->model_hash, s->vs.hash, key, jobs[i].text, s->vs.n,
                                &jobs[i].rec, &f, err);
        if (rc == VK_OK && f) {
            jobs[i].done = 1;
            found++;
            rc = vk_store_run_eval(s->db, s->run.id, jobs[i].rec.id, err);
        }
    }
    *n_found = found;
    if (rc != VK_OK || found == nb)
        return rc;
    batch_ctx c = {.jobs = jobs,
                   .n_jobs = nb,
                   .boards = s->boards,
                   .n_boards = s->n_boards,
                   .db = s->db,
                   .w = s->w,
                   .set = &s->vs,
                   .run = s->run.id,
                   .board_key = key,
                   .max_retries = o->max_retries,
                   .ev = s->evs,
                   .n_found = found,
                   .stop = o->stop};
    pthread_t th[VK_SEARCH_MAX_BOARDS];
    worker_arg wa[VK_SEARCH_MAX_BOARDS];
    if (s->evs && s->evs->batch_begin)
        s->evs->batch_begin(s->evs->ctx, gen, nb, found);
    pthread_mutex_init(&c.mu, NULL);
    pthread_cond_init(&c.cv, NULL);
    for (int b = 0; b < s->n_boards; b++) {
        wa[b].c = &c;
        wa[b].bi = b;
        pthread_create(&th[b], NULL, worker, &wa[b]);
    }
    for (int b = 0; b < s->n_boards; b++)
        pthread_join(th[b], NULL);
    pthread_mutex_destroy(&c.mu);
    pthread_cond_destroy(&c.cv);
    if (s->evs && s->evs->batch_end)
        s->evs->batch_end(s->evs->ctx);
    for (int i = 0; i < nb && !(o->stop && *o->stop); i++)
        if (!jobs[i].done)
            return vk_fail(err, VK_E_BOARD, "path %s could not be measured on any board: %s",
                           jobs[i].text,
                           c.first_err.msg[0]  ? c.first_err.msg
                           : c.last_err.msg[0] ? c.last_err.msg
                                               : "every board failed");
    return VK_OK;
}

/* Tells the evolution (and the predictor) a batch's results in batch
 * order, deterministic whatever the boards' timing; the first evaluation
 * is the full path, the reference of constraints and hypervolume. The
 * records' results move into s->ev. */
static vk_status tell_batch(search *s, job *jobs, int nb, vk_err *err)
{
    const vk_search_opts *o = &s->o;
    vk_status rc = VK_OK;
    for (int i = 0; rc == VK_OK && i < nb; i++) {
        evaluated *e;
        if (s->n_ev == s->cap_ev) {
            int cap = s->cap_ev ? 2 * s->cap_ev : 64;
            evaluated *ne = realloc(s->ev, (size_t)cap * sizeof *ne);
            if (!ne)
                return vk_fail(err, VK_E_NOMEM, "out of memory");
            s->ev = ne;
            s->cap_ev = cap;
        }
        e = &s->ev[s->n_ev++];
        e->g = jobs[i].g;
        e->rec = jobs[i].rec;
        jobs[i].rec.res = NULL;
        if (s->full_top1 < 0) {
            s->full_top1 = e->rec.top1;
            s->ref[1] = 1.1 * cost_of(o->objective, &e->rec.m);
            if ((o->objective != VK_OBJ_LATENCY || o->energy_budget_mj > 0) &&
                e->rec.m.energy_src == VK_SRC_NONE) {
                rc = no_energy(s->db, &s->run, o, &e->rec, err);
                if (o->resume_run <= 0)
                    s->res->run_id = 0; /* removed */
                return rc;
            }
        }
        e->obj[0] = 100 - e->rec.top1;
        e->obj[1] = cost_of(o->objective, &e->rec.m);
        e->viol = vk_search_violation(o->max_acc_drop, o->latency_budget_ms, o->energy_budget_mj,
                                      s->full_top1, e->rec.top1, e->rec.m.latency_ms,
                                      e->rec.m.energy_mj);
        vk_evo_tell(s->evo, &e->g, e->obj, e->viol);
        if (s->pred) {
            double y[3] = {e->rec.top1, e->rec.m.latency_ms, e->rec.m.energy_mj};
            if ((rc = vk_pred_add(s->pred, &e->g, y, err)) != VK_OK)
                return rc;
        }
        if ((rc = hypervolumes(s->ev, s->n_ev, s->ref, &s->hv, &s->hv3, &s->stagnant, err)) !=
            VK_OK)
            return rc;
        rc = vk_store_hv(s->db, s->run.id, s->n_ev, s->hv, s->hv3, err);
    }
    return rc;
}

/* The generation event: the cheapest feasible evaluation so far (else the
 * least infeasible). */
static void report_generation(const search *s, int gen, int found)
{
    if (!s->evs || !s->evs->generation)
        return;
    int best = 0;
    for (int j = 1; j < s->n_ev; j++)
        if (s->ev[j].viol < s->ev[best].viol ||
            (s->ev[j].viol == s->ev[best].viol && s->ev[j].obj[1] < s->ev[best].obj[1]))
            best = j;
    vk_search_gen g = {.gen = gen,
                       .n_evaluated = s->n_ev,
                       .n_found = found,
                       .hv = s->hv,
                       .best = &s->ev[best].rec,
                       .best_feasible = !(s->ev[best].viol > 0),
                       .best_cost = s->ev[best].obj[1],
                       .seconds = vk_clock_now() - s->t0};
    s->evs->generation(s->evs->ctx, &g);
}

/* Marks the run interrupted (a resume proposes the same batch again and
 * finds what was measured in the database). */
static vk_status interrupted(search *s, vk_err *err)
{
    s->res->interrupted = 1;
    return vk_store_run_set_status(s->db, s->run.id, "interrupted", err);
}

/* Generations until the budget, the time budget or stagnation ends the
 * search, or a stop request interrupts it. */
static vk_status evolve(search *s, vk_err *err)
{
    const vk_search_opts *o = &s->o;
    vk_status rc = VK_OK;
    for (int gen = 0;; gen++) {
        vk_genome batch[2 * VK_MAX_LAYERS + 1024];
        int found = 0;
        if (o->stop && *o->stop)
            return interrupted(s, err);
        int want = o->exhaustive ? s->n_sweep : o->population * 2 + 64;
        if (want > (int)(sizeof batch / sizeof batch[0]))
            want = (int)(sizeof batch / sizeof batch[0]);
        s->sc.ev = s->ev; /* what the screen trains on */
        s->sc.n_ev = s->n_ev;
        s->sc.full_top1 = s->full_top1;
        int nb = vk_evo_ask(s->evo, batch, want);
        if (o->budget > 0 && s->n_ev + nb > o->budget)
            nb = o->budget - s->n_ev;
        if (nb <= 0)
            return VK_OK;
        job *jobs = calloc((size_t)nb, sizeof *jobs);
        if (!jobs)
            return vk_fail(err, VK_E_NOMEM, "out of memory");
        for (int i = 0; i < nb; i++)
            jobs[i].g = batch[i];
        rc = measure_batch(s, jobs, nb, gen, &found, err);
        if (rc == VK_OK && o->stop && *o->stop) /* what was measured is stored */
            rc = interrupted(s, err);
        else if (rc == VK_OK)
            rc = tell_batch(s, jobs, nb, err);
        for (int i = 0; i < nb; i++)
            vk_store_rec_free(&jobs[i].rec);
        free(jobs);
        if (rc != VK_OK || s->res->interrupted)
            return rc;
        vk_evo_next(s->evo);
        report_generation(s, gen, found);
        if ((o->budget > 0 && s->n_ev >= o->budget) ||
            (o->time_budget_s > 0 && vk_clock_now() - s->t0 >= o->time_budget_s) ||
            (o->stagnation > 0 && s->stagnant >= o->stagnation))
            return VK_OK;
    }
}

/* The result: figures, the front, the cascades (on validation), the front
 * on the test split; the run marked done. */
static vk_status finish(search *s, vk_err *err)
{
    const vk_search_opts *o = &s->o;
    vk_search_result *res = s->res;
    vk_status rc;
    if (s->n_ev == 0)
        return vk_fail(err, VK_E_ARG, "nothing was evaluated (budget 0?)");
    res->objective = o->objective;
    res->random = o->random;
    res->predict = o->predict && !o->random;
    res->n_evaluated = s->n_ev;
    res->seconds = vk_clock_now() - s->t0;
    res->full_top1 = s->full_top1;
    res->n_val = s->vs.n;
    res->n_test = s->w->n;
    res->hv = s->hv;
    res->hv3 = s->hv3;
    res->peak_rss_mib = peak_rss_mib();
    if ((rc = front_of(s->ev, s->n_ev, res, err)) != VK_OK)
        return rc;
    if (!o->no_cascades && (rc = cascades(o, s->run.id, s->w, &s->vs, s->ev, s->n_ev,
                                          s->full_top1, res, err)) != VK_OK)
        return rc;
    if (!o->no_test && (rc = test_front(o, s->db, s->w, s->boards, s->n_boards, s->ev, s->n_ev,
                                        res, err)) != VK_OK)
        return rc;
    if (!o->no_cascades && (rc = store_cascades(s->db, s->w, !o->no_test, res, err)) != VK_OK)
        return rc;
    return vk_store_run_set_status(s->db, s->run.id, "done", err);
}

static void search_free(search *s)
{
    for (int i = 0; i < s->n_ev; i++)
        vk_store_rec_free(&s->ev[i].rec);
    free(s->ev);
    vk_evo_free(s->evo);
    vk_pred_free(s->pred);
    vk_proxy_free(s->own_px);
    for (int i = 0; i < s->n_boards; i++)
        vk_board_close(s->boards[i]);
    vk_imageset_free(&s->vs);
    if (s->w == &s->own_w)
        vk_workload_free(&s->own_w);
    vk_store_close(s->db);
    free(s);
}

vk_status vk_search_run(const vk_search_opts *o_in, vk_search_result *res, vk_err *err)
{
    search *s = calloc(1, sizeof *s);
    vk_status rc;
    memset(res, 0, sizeof *res);
    res->hv3 = -1;
    res->best_resume_ms = res->best_scratch_ms = INFINITY;
    if (!s)
        return vk_fail(err, VK_E_NOMEM, "out of memory");
    s->o = *o_in;
    s->in = o_in;
    s->res = res;
    s->evs = o_in->events;
    s->w = o_in->workload;
    s->sc.o = &s->o;
    s->full_top1 = -1;
    s->ref[0] = 100;
    s->hv3 = -1;
    s->t0 = vk_clock_now();
    rc = o_in->resume_run > 0 ? take_run_settings(s, err) : VK_OK;
    s->o.predict = s->o.predict && !s->o.random && !s->o.exhaustive; /* the default's */
    if (rc == VK_OK)
        rc = prepare(s, err);
    if (rc == VK_OK)
        rc = open_boards(s, err);
    if (rc == VK_OK && s->o.stop && *s->o.stop) {
        res->interrupted = 1;
        rc = vk_fail(err, VK_E_ARG, "interrupted before the run started");
    }
    if (rc == VK_OK)
        rc = s->o.resume_run > 0 ? reopen_run(s, err) : create_run(s, err);
    if (rc == VK_OK) {
        res->run_id = s->run.id;
        announce(s);
        rc = seed_evolution(s, err);
    }
    if (rc == VK_OK)
        rc = evolve(s, err);
    if (rc == VK_OK && !res->interrupted)
        rc = finish(s, err);
    if (rc != VK_OK && !res->interrupted && res->run_id && s->db) {
        vk_err e2 = {{0}}; /* the run's error is the one to report */
        vk_store_run_set_status(s->db, s->run.id, "failed", &e2);
    }
    search_free(s);
    return rc;
}
