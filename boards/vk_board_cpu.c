/* vk_board_cpu: the `cpu` board — the kernel's integer computation run
 * natively on this host by the fast path (host/vk_fast.h, bit-exact with
 * the kernel), with MEASURED wall-clock latency (see vk_board.h).
 *
 * Spec: "cpu" or "cpu:key=value,..." (vk_board_opt_long), each option's
 * default from its environment variable, else the value given:
 *   threads   VITSKIP_CPU_THREADS    timing threads, 1..256 (default 2)
 *   timed     VITSKIP_CPU_TIMED      images timed per request, 0..100000
 *                                    (default 64; 0 = every image)
 *   suffix    VITSKIP_SUFFIX_IMAGES  images the suffix timings use, 0..32
 *                                    (default 8; 0 leaves suffix_ms[k >= 1]
 *                                    at 0, "not measured")
 *   prefix_mb VITSKIP_PREFIX_MB      residual streams kept for shared
 *                                    prefixes, 0..65536 MiB (default 256;
 *                                    0 = no cache)
 * and VITSKIP_CPU_RAPL, the RAPL energy counter to read (default
 * /sys/class/powercap/intel-rapl:0/energy_uj).
 *
 * measure, in three phases:
 *  1. results: every image's class and entropy from vk_prefix_run over the
 *     n images on all OpenMP threads, so encoders a path shares with one
 *     measured before on the same model and images are not computed again
 *     (the cache is emptied by load and load_data). A cascade runs its low
 *     and its high path this way (the high path resumes from the low
 *     path's cached streams); each image takes the high path's result when
 *     the low path's entropy > threshold. Equal to vk_kernel_top byte for
 *     byte (tests/test_fast.c, tests/test_board_cpu.c).
 *  2. timing, on VITSKIP_CPU_TIMED images spread evenly over the n, never
 *     from the cache: each image runs its whole path as deployment does,
 *     batch 1, one image per worker thread (min(threads, images) of them),
 *     after VK_CPU_WARMUP untimed images per worker. Each image's wall time
 *     (CLOCK_MONOTONIC) is taken inside its worker, around the low path and
 *     separately around the high path when it escalates (resuming from the
 *     low path's stream after `resume` encoders, or from scratch when
 *     resume = 0); with more threads than free cores it includes that
 *     contention. Every timed image's class and entropy must equal phase
 *     1's (else VK_E_BOARD). RAPL is read around this phase.
 *  3. suffix timings of the path that resumes (the single path, or the
 *     cascade's high path) on VITSKIP_SUFFIX_IMAGES images: for k = 1..L,
 *     the stream after k encoders is computed untimed, then encoders k..L
 *     and the head are timed; suffix_ms[k] is the median. suffix_ms[0] is
 *     the single path's latency, or for a cascade the high path from
 *     scratch timed on the same images. suffix_mj is not measured (0).
 * Figures: single path: latency_ms = median of the timed images, p10 and
 * p90 their 10th and 90th percentiles. Cascade: latency_ms = median low-path
 * time + (escalated share of all n images) x median high-path time over the
 * timed escalated images; p10/p90 of the per-image totals.
 * Energy: RAPL package energy between the two reads / timed images (the
 * whole CPU package, every process on it included), VK_SRC_MEASURED; a
 * counter that went backwards wrapped once at max_energy_range_uj (next to
 * the counter). VK_SRC_NONE when the counter cannot be read (describe says
 * why), or it wrapped and its range is unknown. Counts are not filled.
 * close prints the prefix cache's statistics on stderr.
 *
 * A mode word the kernel refuses (on the path from encoder 0, or on a
 * cascade's high path resumed after `resume` encoders, where a reuse must
 * not read attention of the shared prefix) fails the request with
 * VK_E_UNSUPPORTED (kernel status 3, as the kernel would answer); no
 * partial results are returned. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boards/vk_board.h"
#include "host/vk_clock.h"
#include "host/vk_env.h"
#include "host/vk_fast.h"
#include "host/vk_prefix.h"

#define VK_CPU_DEFAULT_THREADS 2
#define VK_CPU_MAX_THREADS 256
#define VK_CPU_WARMUP 2
#define VK_CPU_TIMED_DEFAULT 64
#define VK_CPU_SUFFIX_DEFAULT 8
#define VK_CPU_SUFFIX_MAX 32
#define VK_CPU_PREFIX_MB_DEFAULT 256
#define VK_CPU_RAPL "/sys/class/powercap/intel-rapl:0/energy_uj"

typedef struct {
    int n_threads;
    int n_timed;         /* 0 = all */
    int n_suffix;        /* suffix sample images */
    size_t prefix_bytes; /* 0 = no cache */
    char model[64];      /* CPU model */
    char rapl[PATH_MAX]; /* energy_uj file; "" when unreadable */
    char rapl_why[PATH_MAX + 64];
    uint64_t rapl_max; /* max_energy_range_uj; 0 when unknown */
    vk_fast_ctx *f;
    vk_prefix *pc;     /* NULL without a cache */
    vk_prefix_stats total; /* of caches already emptied */
    int n_layers;
    size_t img_n, act_n, out_n;
    int8_t *imgs; /* owned, n_imgs * img_n */
    int n_imgs;
} vk_cpu;

/* One timed phase of one measure call, shared by its workers. */
typedef struct {
    vk_cpu *s;
    const vk_path_req *req;
    int suffix;            /* 0: timed images; 1: suffix timings */
    int n;                 /* items: timed images, or suffix sample images */
    int n_total;           /* images of the request */
    const vk_img_result *want; /* phase 1's results, [n_total] */
    double *lo_ms, *hi_ms; /* timing: [n]; hi_ms only for escalated images */
    double *suf_ms;        /* suffix: [n][n_layers + 1] */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int next, done, active, warm, go, n_workers;
    int failed;            /* 1: mismatch (fail_img), 2: out of memory or threads */
    int fail_img;
} cpu_job;

static double now_ms(void)
{
    return vk_clock_now() * 1e3;
}

/* "model name" (x86) or "CPU part" (Arm) from /proc/cpuinfo. */
static void cpu_model(char *buf, size_t len)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256], part[64] = "";
    snprintf(buf, len, "unknown CPU");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        char *v = strchr(line, ':');
        if (!v)
            continue;
        v += 1 + (v[1] == ' ');
        v[strcspn(v, "\n")] = 0;
        if (!strncmp(line, "model name", 10)) {
            snprintf(buf, len, "%s", v);
            fclose(f);
            return;
        }
        if (!strncmp(line, "CPU part", 8) && !part[0])
            snprintf(part, sizeof part, "%s", v);
    }
    fclose(f);
    if (part[0])
        snprintf(buf, len, "CPU part %s", part);
}

/* Reads a counter file holding one unsigned decimal. */
static int read_u64(const char *path, uint64_t *v)
{
    FILE *f = fopen(path, "r");
    unsigned long long x;
    int ok;
    if (!f)
        return 0;
    ok = fscanf(f, "%llu", &x) == 1;
    fclose(f);
    if (ok)
        *v = x;
    else
        errno = EINVAL;
    return ok;
}

static void rapl_probe(vk_cpu *s)
{
    const char *e = getenv("VITSKIP_CPU_RAPL");
    const char *path = e && *e ? e : VK_CPU_RAPL;
    char max[PATH_MAX + 32];
    const char *slash;
    uint64_t v;
    if (!read_u64(path, &v)) {
        snprintf(s->rapl_why, sizeof s->rapl_why, "no RAPL: %s: %s", path,
                 errno == EINVAL ? "not a counter" : strerror(errno));
        return;
    }
    snprintf(s->rapl, sizeof s->rapl, "%s", path);
    slash = strrchr(path, '/');
    snprintf(max, sizeof max, "%.*smax_energy_range_uj", slash ? (int)(slash - path + 1) : 0, path);
    if (!read_u64(max, &s->rapl_max))
        s->rapl_max = 0;
}

static vk_status cpu_open(const char *spec, void **state, vk_err *err)
{
    vk_cpu *s;
    long threads, timed, suffix, mb;
    vk_status rc;
    static const char *const keys[] = {"threads", "timed", "suffix", "prefix_mb", NULL};
    if ((rc = vk_board_opts_check(spec, keys, 0, err)) != VK_OK ||
        (rc = vk_board_opt_long(spec, "threads", "VITSKIP_CPU_THREADS", VK_CPU_DEFAULT_THREADS, 1,
                                VK_CPU_MAX_THREADS, &threads, err)) != VK_OK ||
        (rc = vk_board_opt_long(spec, "timed", "VITSKIP_CPU_TIMED", VK_CPU_TIMED_DEFAULT, 0,
                                100000, &timed, err)) != VK_OK ||
        (rc = vk_board_opt_long(spec, "suffix", "VITSKIP_SUFFIX_IMAGES", VK_CPU_SUFFIX_DEFAULT, 0,
                                VK_CPU_SUFFIX_MAX, &suffix, err)) != VK_OK ||
        (rc = vk_board_opt_long(spec, "prefix_mb", "VITSKIP_PREFIX_MB", VK_CPU_PREFIX_MB_DEFAULT,
                                0, 65536, &mb, err)) != VK_OK)
        return rc;
    s = calloc(1, sizeof *s);
    if (!s)
        return vk_fail(err, VK_E_NOMEM, "board '%s': out of memory", spec);
    s->n_threads = (int)threads;
    s->n_timed = (int)timed;
    s->n_suffix = (int)suffix;
    s->prefix_bytes = (size_t)mb << 20;
    cpu_model(s->model, sizeof s->model);
    rapl_probe(s);
    *state = s;
    return VK_OK;
}

/* Adds the cache's counts to the board's totals and frees it. */
static void fold_cache(vk_cpu *s)
{
    vk_prefix_stats st;
    if (!s->pc)
        return;
    vk_prefix_get_stats(s->pc, &st);
    s->total.paths += st.paths;
    s->total.enc_requested += st.enc_requested;
    s->total.enc_computed += st.enc_computed;
    s->total.hits += st.hits;
    s->total.evictions += st.evictions;
    s->total.skipped += st.skipped;
    if (st.bytes > s->total.bytes)
        s->total.bytes = st.bytes; /* the most any cache held */
    vk_prefix_free(s->pc);
    s->pc = NULL;
}

/* A new, empty cache (a one-byte bound when disabled: it stores nothing
 * and still counts). */
static vk_status reset_cache(vk_cpu *s, vk_err *err)
{
    fold_cache(s);
    return vk_prefix_new(s->prefix_bytes ? s->prefix_bytes : 1, &s->pc, err);
}

static vk_status cpu_load(void *state, const vk_qmodel *q, vk_err *err)
{
    vk_cpu *s = state;
    vk_fast_ctx *f;
    vk_status rc = vk_fast_ctx_new(q, VK_FAST_ISA_AUTO, &f, err);
    if (rc != VK_OK) {
        vk_err_prefix(err, "board 'cpu'");
        return rc;
    }
    if ((rc = vk_fast_reserve_workers(f, s->n_threads, err)) != VK_OK ||
        (rc = reset_cache(s, err)) != VK_OK) {
        vk_fast_ctx_free(f);
        return rc;
    }
    vk_fast_ctx_free(s->f);
    s->f = f;
    free(s->imgs);
    s->imgs = NULL;
    s->n_imgs = 0;
    s->n_layers = vk_fast_n_layers(f);
    s->img_n = vk_fast_img_n(f);
    s->act_n = vk_fast_act_n(f);
    s->out_n = vk_fast_out_n(f);
    return VK_OK;
}

static vk_status cpu_load_data(void *state, const int8_t *imgs, int n, vk_err *err)
{
    vk_cpu *s = state;
    vk_status rc = vk_board_keep_images("cpu", imgs, n, s->img_n, &s->imgs, &s->n_imgs, err);
    return rc != VK_OK ? rc : reset_cache(s, err);
}

static void job_fail(cpu_job *j, int img, int why)
{
    pthread_mutex_lock(&j->mu);
    if (!j->failed) {
        j->failed = why;
        j->fail_img = img;
    }
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

/* Image index of timed item k of m spread over n. */
static int spread(int k, int m, int n)
{
    return (int)((long)k * n / m);
}

/* Timing, item k: image i's whole path, timed; 0 on a mismatch with
 * phase 1 (recorded). */
static int do_image(cpu_job *j, int w, int k, int32_t *act, int32_t *save, int32_t *out)
{
    vk_cpu *s = j->s;
    const vk_path_req *req = j->req;
    const int L = s->n_layers, i = spread(k, j->n, j->n_total);
    const int res = req->modes_high ? req->resume : 0;
    const int8_t *img = &s->imgs[(size_t)i * s->img_n];
    int esc = 0;
    double t0 = now_ms(), t1, t2;
    vk_fast_embed(s->f, w, img, act);
    if (req->modes_high && res > 0) {
        vk_fast_encoders(s->f, w, req->modes, 0, res, act);
        memcpy(save, act, s->act_n * sizeof *act); /* the kernel's SAVE */
        vk_fast_encoders(s->f, w, req->modes, res, L, act);
    } else {
        vk_fast_encoders(s->f, w, req->modes, 0, L, act);
    }
    vk_fast_head(s->f, w, act, out);
    t1 = now_ms();
    if (req->modes_high && out[VK_OUT_ENTROPY] > req->threshold_q16) {
        esc = 1;
        if (res > 0) { /* START = resume, reading the saved stream */
            memcpy(act, save, s->act_n * sizeof *act);
        } else {
            vk_fast_embed(s->f, w, img, act);
        }
        vk_fast_resume(s->f, w, req->modes_high, res, L, act);
        vk_fast_head(s->f, w, act, out);
        t2 = now_ms();
        j->hi_ms[k] = t2 - t1;
    }
    j->lo_ms[k] = t1 - t0;
    if (out[VK_OUT_CLASS] != j->want[i].cls || out[VK_OUT_ENTROPY] != j->want[i].entropy_q16 ||
        esc != j->want[i].escalated) {
        job_fail(j, i, 1);
        return 0;
    }
    return 1;
}

/* Suffix item si: suffix times of the resuming path. */
static void do_suffix(cpu_job *j, int w, int si, int32_t *act, int32_t *out)
{
    vk_cpu *s = j->s;
    const vk_path_req *req = j->req;
    const uint32_t *modes = req->modes_high ? req->modes_high : req->modes;
    const int L = s->n_layers, i = spread(si, j->n, j->n_total);
    const int8_t *img = &s->imgs[(size_t)i * s->img_n];
    double *t = &j->suf_ms[(size_t)si * (size_t)(L + 1)];
    for (int k = req->modes_high ? 0 : 1; k <= L; k++) {
        double t0;
        vk_fast_embed(s->f, w, img, act); /* the stream after k encoders, untimed */
        vk_fast_encoders(s->f, w, modes, 0, k, act);
        t0 = now_ms();
        if (k == 0) /* from scratch: the embedding is part of it */
            vk_fast_embed(s->f, w, img, act);
        vk_fast_encoders(s->f, w, modes, k, L, act);
        vk_fast_head(s->f, w, act, out);
        t[k] = now_ms() - t0;
    }
}

static void *cpu_worker(void *arg)
{
    cpu_job *j = arg;
    vk_cpu *s = j->s;
    int32_t *act = malloc(s->act_n * sizeof *act), *save = malloc(s->act_n * sizeof *save);
    int32_t *out = malloc(s->out_n * sizeof *out);
    int ok = act && save && out, w;
    pthread_mutex_lock(&j->mu);
    w = j->n_workers++;
    pthread_mutex_unlock(&j->mu);
    if (!ok)
        job_fail(j, -1, 2);
    if (ok && !j->suffix) /* warm caches and branch predictors, untimed */
        for (int k = 0; k < VK_CPU_WARMUP && k < j->n; k++) {
            vk_fast_embed(s->f, w, &s->imgs[(size_t)spread(k, j->n, j->n_total) * s->img_n], act);
            vk_fast_encoders(s->f, w, j->req->modes, 0, s->n_layers, act);
            vk_fast_head(s->f, w, act, out);
        }
    pthread_mutex_lock(&j->mu);
    j->warm++;
    pthread_cond_broadcast(&j->cv);
    while (!j->go && !j->failed)
        pthread_cond_wait(&j->cv, &j->mu);
    pthread_mutex_unlock(&j->mu);
    while (ok) {
        int k;
        pthread_mutex_lock(&j->mu);
        if (j->failed || j->next >= j->n) {
            pthread_mutex_unlock(&j->mu);
            break;
        }
        k = j->next++;
        pthread_mutex_unlock(&j->mu);
        if (j->suffix)
            do_suffix(j, w, k, act, out);
        else
            ok = do_image(j, w, k, act, save, out);
        pthread_mutex_lock(&j->mu);
        j->done += ok;
        pthread_cond_broadcast(&j->cv);
        pthread_mutex_unlock(&j->mu);
    }
    free(act);
    free(save);
    free(out);
    pthread_mutex_lock(&j->mu);
    j->active--;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

/* Runs one timed phase on up to n_threads workers (worker w uses the fast
 * context's scratch set w). The timing phase reads the RAPL counter into
 * e0 and e1 (when *rapl_ok) around the timed part and reports progress
 * (timed images scaled to the request's). */
static void run_phase(vk_cpu *s, cpu_job *j, uint64_t *e0, uint64_t *e1, int *rapl_ok)
{
    pthread_t tid[VK_CPU_MAX_THREADS];
    int n_threads = s->n_threads < j->n ? s->n_threads : j->n, started = 0, last = 0;
    const vk_path_req *req = j->req;

    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    j->active = n_threads;
    for (int t = 0; t < n_threads; t++) {
        if (pthread_create(&tid[t], NULL, cpu_worker, j) != 0) {
            pthread_mutex_lock(&j->mu);
            j->active -= n_threads - t;
            pthread_mutex_unlock(&j->mu);
            job_fail(j, -1, 2);
            break;
        }
        started++;
    }
    pthread_mutex_lock(&j->mu);
    while (j->warm < started && !j->failed)
        pthread_cond_wait(&j->cv, &j->mu);
    if (!j->suffix && *rapl_ok)
        *rapl_ok = read_u64(s->rapl, e0);
    j->go = 1;
    pthread_cond_broadcast(&j->cv);
    while (j->active > 0 || last != j->done) {
        if (!j->suffix && last != j->done && !j->failed) {
            int d = j->done;
            pthread_mutex_unlock(&j->mu);
            if (req->progress)
                req->progress(req->progress_ctx, spread(d, j->n, j->n_total), j->n_total);
            pthread_mutex_lock(&j->mu);
            last = d;
            continue;
        }
        if (j->active == 0)
            break;
        pthread_cond_wait(&j->cv, &j->mu);
    }
    pthread_mutex_unlock(&j->mu);
    for (int t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    if (!j->suffix && *rapl_ok)
        *rapl_ok = read_u64(s->rapl, e1);
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
}

/* Phase 1: every image's result, through the prefix cache. */
static vk_status results(vk_cpu *s, const vk_path_req *req, int n, vk_img_result *res,
                         vk_err *err)
{
    int32_t *lo = malloc((size_t)n * s->out_n * sizeof *lo), *hi = NULL;
    vk_status rc;
    if (!lo)
        return vk_fail(err, VK_E_NOMEM, "board 'cpu': out of memory for %d results", n);
    if (req->modes_high) {
        hi = malloc((size_t)n * s->out_n * sizeof *hi);
        if (!hi) {
            free(lo);
            return vk_fail(err, VK_E_NOMEM, "board 'cpu': out of memory for %d results", n);
        }
    }
    rc = vk_prefix_run(s->pc, s->f, req->modes, s->imgs, n, lo, err);
    if (rc == VK_OK && hi)
        rc = vk_prefix_run(s->pc, s->f, req->modes_high, s->imgs, n, hi, err);
    for (int i = 0; rc == VK_OK && i < n; i++) {
        const int32_t *o = &lo[(size_t)i * s->out_n];
        res[i].escalated = hi && o[VK_OUT_ENTROPY] > req->threshold_q16;
        if (res[i].escalated)
            o = &hi[(size_t)i * s->out_n];
        res[i].cls = o[VK_OUT_CLASS];
        res[i].entropy_q16 = o[VK_OUT_ENTROPY];
    }
    free(lo);
    free(hi);
    if (rc != VK_OK)
        vk_err_prefix(err, "board 'cpu'");
    return rc;
}

static vk_status cpu_measure(void *state, const vk_path_req *req, int n, vk_img_result *res,
                             vk_measure *out, vk_err *err)
{
    vk_cpu *s = state;
    const int L = s->n_layers, cascade = req->modes_high != NULL;
    const int n_tim = s->n_timed > 0 && s->n_timed < n ? s->n_timed : n;
    const int n_suf = s->n_suffix < n ? s->n_suffix : n;
    cpu_job j, js;
    uint64_t e0 = 0, e1 = 0;
    int rapl_ok = s->rapl[0] != 0, n_esc = 0, n_esc_all = 0;
    double *tot = NULL, *hi = NULL, *col = NULL;
    vk_img_result *r = NULL;
    char en[64] = "";
    vk_status rc = VK_OK;
    vk_measure m;

    if (!s->f || !s->imgs)
        return vk_fail(err, VK_E_ARG, "board 'cpu': load a model and images first");
    if (n < 1 || n > s->n_imgs)
        return vk_fail(err, VK_E_ARG, "board 'cpu': %d images requested, %d loaded", n,
                       s->n_imgs);
    if (!req->modes || !vk_fast_modes_ok(s->f, req->modes, 0) ||
        (cascade && (!vk_fast_modes_ok(s->f, req->modes_high, 0) ||
                     (req->resume >= 0 && req->resume < L &&
                      !vk_fast_modes_ok(s->f, req->modes_high, req->resume)))))
        return vk_fail(err, req->modes ? VK_E_UNSUPPORTED : VK_E_ARG,
                       "board 'cpu': %s", req->modes ? "kernel status 3 (a mode this kernel "
                                                       "build does not implement)"
                                                     : "no mode words");
    if (cascade && (req->resume < 0 || req->resume > L))
        return vk_fail(err, VK_E_ARG, "board 'cpu': resume %d (expected 0..%d)", req->resume, L);
    memset(&j, 0, sizeof j);
    memset(&js, 0, sizeof js);
    j.s = js.s = s;
    j.req = js.req = req;
    j.n = n_tim;
    j.n_total = js.n_total = n;
    r = malloc((size_t)n * sizeof *r);
    j.lo_ms = malloc((size_t)n_tim * sizeof *j.lo_ms);
    j.hi_ms = calloc((size_t)n_tim, sizeof *j.hi_ms);
    tot = malloc((size_t)n_tim * sizeof *tot);
    hi = malloc((size_t)n_tim * sizeof *hi);
    js.suffix = 1;
    js.n = n_suf;
    js.suf_ms = calloc((size_t)(n_suf ? n_suf : 1) * (size_t)(L + 1), sizeof *js.suf_ms);
    col = malloc((size_t)(n_suf ? n_suf : 1) * sizeof *col);
    if (!r || !j.lo_ms || !j.hi_ms || !tot || !hi || !js.suf_ms || !col) {
        rc = vk_fail(err, VK_E_NOMEM, "board 'cpu': out of memory for %d results", n);
        goto out;
    }
    if ((rc = results(s, req, n, r, err)) != VK_OK)
        goto out;
    j.want = js.want = r;
    run_phase(s, &j, &e0, &e1, &rapl_ok);
    if (j.failed) {
        rc = j.failed == 2 ? vk_fail(err, VK_E_NOMEM, "board 'cpu': out of memory or threads")
                           : vk_fail(err, VK_E_BOARD,
                                     "board 'cpu': image %d timed gave a different result "
                                     "than the batch run (a fast-path bug; please report)",
                                     j.fail_img);
        goto out;
    }
    if (n_suf > 0) {
        run_phase(s, &js, NULL, NULL, NULL);
        if (js.failed) {
            rc = vk_fail(err, VK_E_NOMEM, "board 'cpu': out of memory or threads");
            goto out;
        }
    }

    memset(&m, 0, sizeof m);
    m.n_images = n;
    for (int i = 0; i < n; i++)
        n_esc_all += r[i].escalated;
    for (int k = 0; k < n_tim; k++) {
        tot[k] = j.lo_ms[k] + j.hi_ms[k];
        if (r[spread(k, n_tim, n)].escalated)
            hi[n_esc++] = j.hi_ms[k];
    }
    vk_board_latency(tot, cascade ? j.lo_ms : NULL, n_tim, hi, n_esc, n_esc_all, n, &m);
    for (int k = cascade ? 0 : 1; k <= L && n_suf > 0; k++) {
        for (int si = 0; si < n_suf; si++)
            col[si] = js.suf_ms[(size_t)si * (size_t)(L + 1) + (size_t)k];
        m.suffix_ms[k] = vk_board_quantile(col, n_suf, 0.5);
    }
    if (!cascade)
        m.suffix_ms[0] = m.latency_ms;
    /* a counter that went backwards wrapped once at max_energy_range_uj */
    if (rapl_ok && (e1 >= e0 || s->rapl_max > e0)) {
        uint64_t d = e1 >= e0 ? e1 - e0 : s->rapl_max - e0 + e1;
        m.energy_mj = (double)d / 1000.0 / n_tim;
        m.energy_src = VK_SRC_MEASURED;
    }
    if (m.energy_src == VK_SRC_MEASURED && !strcmp(s->rapl, VK_CPU_RAPL))
        snprintf(en, sizeof en, "; energy: RAPL package-0, includes the whole CPU package");
    else if (m.energy_src == VK_SRC_MEASURED)
        snprintf(en, sizeof en, "; energy: RAPL counter %.24s", s->rapl);
    snprintf(m.note, sizeof m.note,
             "measured: host wall clock per image in each of %d thread%s, %d of %d images "
             "timed, %s, %.40s%.60s",
             s->n_threads < n_tim ? s->n_threads : n_tim,
             s->n_threads < 2 || n_tim < 2 ? "" : "s", n_tim, n,
             vk_fast_isa_str(vk_fast_ctx_isa(s->f)), s->model, en);
    memcpy(res, r, (size_t)n * sizeof *res);
    *out = m;
out:
    free(r);
    free(j.lo_ms);
    free(j.hi_ms);
    free(tot);
    free(hi);
    free(js.suf_ms);
    free(col);
    return rc;
}

static void cpu_describe(void *state, char *buf, size_t len)
{
    const vk_cpu *s = state;
    snprintf(buf, len,
             "host CPU (%s), %d threads, fast native path (%s), prefix cache %zu MiB, measured "
             "wall time; energy: %s%s",
             s->model, s->n_threads, s->f ? vk_fast_isa_str(vk_fast_ctx_isa(s->f)) : "not loaded",
             s->prefix_bytes >> 20, s->rapl[0] ? "RAPL " : "none, ",
             s->rapl[0] ? s->rapl : s->rapl_why);
}

static void cpu_identity(void *state, char *buf, size_t len)
{
    const vk_cpu *s = state;
    char model[sizeof s->model];
    snprintf(model, sizeof model, "%s", s->model);
    vk_board_identity_clean(model);
    snprintf(buf, len, "cpu:%s:%dt", model, s->n_threads);
}

static void cpu_close(void *state)
{
    vk_cpu *s = state;
    if (!s)
        return;
    fold_cache(s);
    if (s->total.paths > 0)
        fprintf(stderr,
                "cpu board: prefix cache: %llu of %llu encoder-images computed (%.1f%% reused), "
                "%llu of %llu paths resumed, %llu evictions, at most %.1f MiB held\n",
                (unsigned long long)s->total.enc_computed,
                (unsigned long long)s->total.enc_requested,
                100.0 * (1.0 - (double)s->total.enc_computed / (double)s->total.enc_requested),
                (unsigned long long)s->total.hits, (unsigned long long)s->total.paths,
                (unsigned long long)s->total.evictions, s->total.bytes / 1048576.0);
    vk_fast_ctx_free(s->f);
    free(s->imgs);
    free(s);
}

const vk_board_ops vk_board_cpu_ops = {
    .kind = "cpu",
    .open = cpu_open,
    .load = cpu_load,
    .load_data = cpu_load_data,
    .measure = cpu_measure,
    .describe = cpu_describe,
    .identity = cpu_identity,
    .close = cpu_close,
};
