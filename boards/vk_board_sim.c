/* vk_board_sim: the `sim` board — the HLS kernel's integers for the
 * results, the ZCU102 cycle/energy model (vk_cycles) for latency and energy.
 *
 * Spec: "sim" (boards/zcu102.json, looked up in ./boards, then next to the
 * executable: <exe dir>/../boards, <exe dir>/../../boards) or "sim:FILE.json",
 * then options (vk_board_opt_long): threads (VK_SIM_THREADS, 1..256,
 * default 2) and verify (VITSKIP_SIM_VERIFY, 0..1000000, default 8), e.g.
 * "sim:threads=4" or "sim:FILE.json,verify=0".
 * The board file must describe the compiled kernel (vk_cycles_hw_check_kernel).
 *
 * Results: the fast native path (host/vk_fast.c, byte-equal to the
 * kernel's C simulation) through a prefix cache computes every image; then
 * the kernel's C simulation itself runs VITSKIP_SIM_VERIFY images of the
 * request (default 8, spread over it; 0: none) and each must give the same
 * class, entropy and routing, else the request fails with VK_E_BOARD. Paths
 * the fast path cannot run (its modes, or a model it refuses) go through
 * the C simulation for every image, as follows.
 *
 * measure runs the kernel once per image (twice for an escalated cascade
 * image) on VK_SIM_THREADS worker threads (default 2).
 * Images are handed out one at a time under a mutex; progress is reported
 * from the calling thread. A kernel status other than OK on any image fails
 * the whole request (VK_E_UNSUPPORTED for a mode this kernel does not
 * implement, VK_E_BOARD otherwise); no partial results are returned.
 * Cascade routing per image: the low path (saving act after `resume`
 * encoders when resume > 0); if its entropy > threshold, the high path from
 * encoder `resume` reading that act (or from scratch when resume = 0). */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "boards/vk_board.h"
#include "boards/vk_cycles.h"
#include "host/vk_env.h"
#include "host/vk_fast.h"
#include "host/vk_prefix.h"
#include "kernels/vk_kernel.h"

#define VK_SIM_DEFAULT_THREADS 2
#define VK_SIM_MAX_THREADS 256
#define VK_SIM_STACK (8u << 20)
#define VK_SIM_VERIFY_DEFAULT 8

typedef struct {
    char spec[PATH_MAX + 8];
    char json[PATH_MAX];
    vk_cycles_hw hw;
    int n_threads;
    int32_t *par; /* owned copy of the blob */
    int8_t *wt;
    vk_cycles_dims dims;
    size_t act_n;
    int8_t *imgs; /* owned, n_imgs * img_n */
    size_t img_n;
    int n_imgs;
    vk_fast_ctx *f; /* NULL: the model is one the fast path refuses */
    vk_prefix *pc;
    int n_verify;             /* images per request checked on the C simulation */
    char id[VK_BOARD_ID_MAX]; /* sim:BOARD:<board JSON's SHA-256, 16 hex> */
} vk_sim;

/* One measure call shared by its workers. */
typedef struct {
    const vk_sim *s;
    const vk_path_req *req;
    int n;
    const int *idx; /* which loaded image each of the n is (NULL: the first n) */
    vk_img_result *res;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int next, done, active;
    int failed; /* first failure wins */
    int fail_img;
    int32_t fail_kstat; /* 0 when the failure is out of memory */
    const char *fail_path;
} sim_job;

static const char *kstat_str(int32_t st)
{
    switch (st) {
    case VK_KSTAT_BAD_PAR:
        return "par header magic or a dimension out of range";
    case VK_KSTAT_BAD_CFG:
        return "cfg magic, start or save out of range";
    case VK_KSTAT_BAD_MODE:
        return "a mode word the kernel cannot run (see the README's per-encoder modes)";
    case VK_KSTAT_NOMEM:
        return "no memory for the C simulation's on-chip buffers";
    default:
        return "unknown kernel status";
    }
}

static vk_status sim_open(const char *spec, void **state, vk_err *err)
{
    vk_sim *s;
    long threads, verify;
    vk_status rc;
    static const char *const keys[] = {"threads", "verify", NULL};
    if ((rc = vk_board_opts_check(spec, keys, 1, err)) != VK_OK ||
        (rc = vk_board_opt_long(spec, "threads", "VK_SIM_THREADS", VK_SIM_DEFAULT_THREADS, 1,
                                VK_SIM_MAX_THREADS, &threads, err)) != VK_OK ||
        (rc = vk_board_opt_long(spec, "verify", "VITSKIP_SIM_VERIFY", VK_SIM_VERIFY_DEFAULT, 0,
                                1000000, &verify, err)) != VK_OK)
        return rc;
    s = calloc(1, sizeof *s);
    if (!s)
        return vk_fail(err, VK_E_NOMEM, "board '%s': out of memory", spec);
    snprintf(s->spec, sizeof s->spec, "%s", spec);
    s->n_threads = (int)threads;
    s->n_verify = (int)verify;
    if ((rc = vk_prefix_new(0, &s->pc, err)) != VK_OK) {
        free(s);
        return rc;
    }
    vk_board_opt_file(spec, s->json, sizeof s->json);
    if (!s->json[0] && (rc = vk_cycles_hw_find_default(s->json, sizeof s->json, err)) != VK_OK) {
        vk_prefix_free(s->pc);
        free(s);
        vk_err_prefix(err, "board 'sim' (or sim:FILE.json)");
        return rc;
    }
    char fp[17], name[64];
    if ((rc = vk_cycles_hw_load(s->json, &s->hw, err)) != VK_OK ||
        (rc = vk_cycles_hw_check_kernel(&s->hw, s->json, err)) != VK_OK ||
        (rc = vk_board_file_fingerprint(s->json, fp, err)) != VK_OK) {
        vk_prefix_free(s->pc);
        free(s);
        return rc;
    }
    snprintf(name, sizeof name, "%s", s->hw.board[0] ? s->hw.board : "board");
    vk_board_identity_clean(name);
    snprintf(s->id, sizeof s->id, "sim:%s:%s", name, fp);
    *state = s;
    return VK_OK;
}

static vk_status sim_load(void *state, const vk_qmodel *q, vk_err *err)
{
    vk_sim *s = state;
    int32_t *par = malloc(q->par_n * sizeof *par);
    int8_t *wt = malloc(q->wt_n ? q->wt_n : 1);
    if (!par || !wt) {
        free(par);
        free(wt);
        return vk_fail(err, VK_E_NOMEM, "board '%s': out of memory copying the model", s->spec);
    }
    memcpy(par, q->par, q->par_n * sizeof *par);
    memcpy(wt, q->wt, q->wt_n);
    vk_fast_ctx_free(s->f);
    s->f = NULL;
    { /* a model the fast path refuses runs on the C simulation alone */
        vk_err ferr = {{0}};
        if (vk_fast_ctx_new(q, VK_FAST_ISA_AUTO, &s->f, &ferr) != VK_OK)
            s->f = NULL;
    }
    {
        vk_prefix *pc;
        if (vk_prefix_new(0, &pc, err) != VK_OK) {
            free(par);
            free(wt);
            return VK_E_NOMEM;
        }
        vk_prefix_free(s->pc);
        s->pc = pc;
    }
    free(s->par);
    free(s->wt);
    free(s->imgs);
    s->imgs = NULL;
    s->n_imgs = 0;
    s->par = par;
    s->wt = wt;
    vk_cycles_dims_from_par(par, &s->dims);
    s->img_n = vk_qmodel_img_n(q);
    s->act_n = vk_qmodel_act_n(q);
    return VK_OK;
}

static vk_status sim_load_data(void *state, const int8_t *imgs, int n, vk_err *err)
{
    vk_sim *s = state;
    return vk_board_keep_images(s->spec, imgs, n, s->img_n, &s->imgs, &s->n_imgs, err);
}

/* Every image through the fast path and the prefix cache, as the cpu board
 * computes them: both paths on all images, routed by the low path's
 * entropy (the high path resuming from the low path's stream gives the
 * same integers as the high path run whole). */
static vk_status fast_results(vk_sim *s, const vk_path_req *req, int n, vk_img_result *res,
                              vk_err *err)
{
    size_t on = vk_fast_out_n(s->f);
    int32_t *lo = malloc((size_t)n * on * sizeof *lo), *hi = NULL;
    vk_status rc;
    if (req->modes_high)
        hi = malloc((size_t)n * on * sizeof *hi);
    if (!lo || (req->modes_high && !hi)) {
        free(lo);
        free(hi);
        return vk_fail(err, VK_E_NOMEM, "board '%s': out of memory for %d results", s->spec, n);
    }
    rc = vk_prefix_run(s->pc, s->f, req->modes, s->imgs, n, lo, err);
    if (rc == VK_OK && hi)
        rc = vk_prefix_run(s->pc, s->f, req->modes_high, s->imgs, n, hi, err);
    for (int i = 0; rc == VK_OK && i < n; i++) {
        const int32_t *o = &lo[(size_t)i * on];
        res[i].escalated = hi && o[VK_OUT_ENTROPY] > req->threshold_q16;
        if (res[i].escalated)
            o = &hi[(size_t)i * on];
        res[i].cls = o[VK_OUT_CLASS];
        res[i].entropy_q16 = o[VK_OUT_ENTROPY];
    }
    free(lo);
    free(hi);
    if (rc != VK_OK)
        vk_err_prefix(err, "board 'sim'");
    return rc;
}

static void job_fail(sim_job *j, int img, int32_t kstat, const char *path)
{
    pthread_mutex_lock(&j->mu);
    if (!j->failed) {
        j->failed = 1;
        j->fail_img = img;
        j->fail_kstat = kstat;
        j->fail_path = path;
    }
    pthread_mutex_unlock(&j->mu);
}

static void *sim_worker(void *arg)
{
    sim_job *j = arg;
    const vk_sim *s = j->s;
    const vk_path_req *req = j->req;
    const int L = s->dims.layers, cascade = req->modes_high != NULL;
    int32_t *act = malloc(s->act_n * sizeof *act);
    int32_t *out = malloc(VK_OUT_WORDS * sizeof *out);
    uint32_t cfg_lo[VK_CFG_WORDS], cfg_hi[VK_CFG_WORDS];

    vk_cfg_init(cfg_lo, req->modes, L, 0, cascade ? req->resume : 0);
    if (cascade)
        vk_cfg_init(cfg_hi, req->modes_high, L, req->resume, 0);
    if (!act || !out)
        job_fail(j, -1, 0, "");
    for (;;) {
        int i;
        vk_img_result r = {0};
        pthread_mutex_lock(&j->mu);
        if (j->failed || j->next >= j->n) {
            pthread_mutex_unlock(&j->mu);
            break;
        }
        i = j->next++;
        pthread_mutex_unlock(&j->mu);

        const int8_t *img = &s->imgs[(size_t)(j->idx ? j->idx[i] : i) * s->img_n];
        vk_kernel_run(s->wt, s->par, cfg_lo, img, act, out);
        if (out[VK_OUT_STATUS] != VK_KSTAT_OK) {
            job_fail(j, i, out[VK_OUT_STATUS], cascade ? "low path" : "path");
            break;
        }
        r.cls = out[VK_OUT_CLASS];
        r.entropy_q16 = out[VK_OUT_ENTROPY];
        if (cascade && r.entropy_q16 > req->threshold_q16) {
            vk_kernel_run(s->wt, s->par, cfg_hi, img, act, out);
            if (out[VK_OUT_STATUS] != VK_KSTAT_OK) {
                job_fail(j, i, out[VK_OUT_STATUS], "high path");
                break;
            }
            r.cls = out[VK_OUT_CLASS];
            r.entropy_q16 = out[VK_OUT_ENTROPY];
            r.escalated = 1;
        }
        j->res[i] = r;
        pthread_mutex_lock(&j->mu);
        j->done++;
        pthread_cond_signal(&j->cv);
        pthread_mutex_unlock(&j->mu);
    }
    free(act);
    free(out);
    pthread_mutex_lock(&j->mu);
    j->active--;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

/* The C simulation's results for images idx[0..n) (all images: idx NULL). */
static vk_status sim_results(vk_sim *s, const vk_path_req *req, int n, const int *idx,
                             vk_img_result *res, vk_err *err);

static vk_status sim_measure(void *state, const vk_path_req *req, int n, vk_img_result *res,
                             vk_measure *out, vk_err *err)
{
    vk_sim *s = state;
    vk_status rc;
    int n_esc = 0;
    if (s->f && vk_fast_modes_ok(s->f, req->modes, 0) &&
        (!req->modes_high || vk_fast_modes_ok(s->f, req->modes_high, 0))) {
        int nv = s->n_verify < n ? s->n_verify : n, idx[64];
        vk_img_result chk[64];
        if ((rc = fast_results(s, req, n, res, err)) != VK_OK)
            return rc;
        if (req->progress)
            req->progress(req->progress_ctx, n, n);
        for (int done = 0; done < nv; done += 64) { /* spread over the request */
            int m = nv - done < 64 ? nv - done : 64;
            for (int k = 0; k < m; k++)
                idx[k] = (int)((long)(done + k) * n / nv);
            if ((rc = sim_results(s, req, m, idx, chk, err)) != VK_OK)
                return rc;
            for (int k = 0; k < m; k++) {
                const vk_img_result *a = &res[idx[k]], *b = &chk[k];
                if (a->cls != b->cls || a->entropy_q16 != b->entropy_q16 ||
                    a->escalated != b->escalated)
                    return vk_fail(err, VK_E_BOARD,
                                   "board '%s': image %d: the kernel's C simulation gives class "
                                   "%d, entropy %d%s but the fast path class %d, entropy %d%s",
                                   s->spec, idx[k], b->cls, b->entropy_q16,
                                   b->escalated ? " (escalated)" : "", a->cls, a->entropy_q16,
                                   a->escalated ? " (escalated)" : "");
            }
        }
    } else if ((rc = sim_results(s, req, n, NULL, res, err)) != VK_OK) {
        return rc;
    }
    for (int i = 0; i < n; i++)
        n_esc += res[i].escalated;
    vk_cycles_measure(&s->hw, &s->dims, req, n, n_esc, out);
    return VK_OK;
}

static vk_status sim_results(vk_sim *s, const vk_path_req *req, int n, const int *idx,
                             vk_img_result *res, vk_err *err)
{
    sim_job j;
    pthread_t tid[VK_SIM_MAX_THREADS];
    pthread_attr_t attr;
    int n_threads = s->n_threads < n ? s->n_threads : n, started = 0, last = 0;
    vk_status rc = VK_OK;

    memset(&j, 0, sizeof j);
    j.s = s;
    j.req = req;
    j.n = n;
    j.idx = idx;
    j.res = malloc((size_t)n * sizeof *j.res);
    if (!j.res)
        return vk_fail(err, VK_E_NOMEM, "board '%s': out of memory for %d results", s->spec, n);
    pthread_mutex_init(&j.mu, NULL);
    pthread_cond_init(&j.cv, NULL);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, VK_SIM_STACK);
    j.active = n_threads;
    for (int t = 0; t < n_threads; t++) {
        if (pthread_create(&tid[t], &attr, sim_worker, &j) != 0) {
            pthread_mutex_lock(&j.mu);
            j.active -= n_threads - t;
            pthread_mutex_unlock(&j.mu);
            job_fail(&j, -1, 0, "");
            break;
        }
        started++;
    }
    pthread_attr_destroy(&attr);
    pthread_mutex_lock(&j.mu);
    while (j.active > 0 || last != j.done) {
        if (last != j.done && !j.failed) {
            int d = j.done;
            pthread_mutex_unlock(&j.mu);
            if (req->progress && !idx)
                req->progress(req->progress_ctx, d, n);
            pthread_mutex_lock(&j.mu);
            last = d;
            continue;
        }
        if (j.active == 0)
            break;
        pthread_cond_wait(&j.cv, &j.mu);
    }
    pthread_mutex_unlock(&j.mu);
    for (int t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    pthread_cond_destroy(&j.cv);
    pthread_mutex_destroy(&j.mu);

    if (j.failed) {
        if (j.fail_kstat == 0)
            rc = vk_fail(err, VK_E_NOMEM,
                         "board '%s': out of memory or threads for the C "
                         "simulation",
                         s->spec);
        else
            rc = vk_fail(err, j.fail_kstat == VK_KSTAT_BAD_MODE ? VK_E_UNSUPPORTED : VK_E_BOARD,
                         "board '%s': kernel status %d (%s) on image %d, %s",
                         s->spec, (int)j.fail_kstat, kstat_str(j.fail_kstat), j.fail_img,
                         j.fail_path);
        free(j.res);
        return rc;
    }
    memcpy(res, j.res, (size_t)n * sizeof *res);
    free(j.res);
    return VK_OK;
}

static void sim_describe(void *state, char *buf, size_t len)
{
    const vk_sim *s = state;
    snprintf(buf, len,
             "kernel integers (fast path, %d images a request checked on the C simulation, %d "
             "threads) + modeled %s @ %g MHz (%s)",
             s->n_verify, s->n_threads, s->hw.board, s->hw.clock_mhz, s->json);
}

static void sim_identity(void *state, char *buf, size_t len)
{
    snprintf(buf, len, "%s", ((const vk_sim *)state)->id);
}

static void sim_close(void *state)
{
    vk_sim *s = state;
    if (!s)
        return;
    free(s->par);
    free(s->wt);
    free(s->imgs);
    vk_fast_ctx_free(s->f);
    vk_prefix_free(s->pc);
    free(s);
}

const vk_board_ops vk_board_sim_ops = {
    .kind = "sim",
    .open = sim_open,
    .load = sim_load,
    .load_data = sim_load_data,
    .measure = sim_measure,
    .describe = sim_describe,
    .identity = sim_identity,
    .close = sim_close,
};
