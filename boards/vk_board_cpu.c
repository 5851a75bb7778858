/* vk_board_cpu: the `cpu` board — the kernel's integer computation run
 * natively on this host, with MEASURED wall-clock latency (see vk_board.h).
 *
 * Spec: "cpu" (no options). Environment:
 *   VITSKIP_CPU_THREADS    worker threads, 1..256 (default 2)
 *   VITSKIP_SUFFIX_IMAGES  images the suffix timings use, 0..32 (default 8;
 *                          0 leaves suffix_ms[k >= 1] at 0, "not measured")
 *   VITSKIP_CPU_RAPL       the RAPL energy counter to read (default
 *                          /sys/class/powercap/intel-rapl:0/energy_uj)
 *
 * Computation: cpu_run() below is the one place an image is computed; it
 * calls vk_kernel_top, so results equal the sim board's byte for byte by
 * construction. The fast native twin (host/vk_fast.h, bit-exact with the
 * kernel) replaces it by changing that one function (plus a context made
 * in load).
 *
 * measure, in two phases, each on min(threads, items) worker threads with an
 * 8 MiB stack (the kernel keeps about 1.1 MiB of local arrays):
 *  1. the request over the n images. Each worker first computes
 *     VK_CPU_WARMUP images untimed; when all are warm the RAPL counter is
 *     read and timing starts. Images are handed out one at a time; each
 *     image's wall time (CLOCK_MONOTONIC) is taken inside its worker thread,
 *     around the low path and, separately, around the high path when a
 *     cascade escalates (routing exactly as vk_board.h: low path saving act
 *     after `resume` encoders, high path from `resume` reading it, or from
 *     scratch when resume = 0). So per-image latency is measured while the
 *     other workers compute their own images: with more threads than free
 *     cores it includes that contention, and the note says how many
 *     threads ran. RAPL is read again once all images are done.
 *  2. suffix timings of the path that resumes (the single path, or the
 *     cascade's high path) on VITSKIP_SUFFIX_IMAGES images spread evenly
 *     over the n: for k = 1..L, an untimed run from encoder k-1 saving act
 *     after k, then a timed run from encoder k (START = k, SAVE = 0, as a
 *     cascade resumes); suffix_ms[k] is the median over those images.
 *     suffix_ms[0] is the single path's latency, or for a cascade the high
 *     path from scratch timed on the same images. suffix_mj is not
 *     measured (0).
 * Figures: single path: latency_ms = median of the per-image times, p10 and
 * p90 their 10th and 90th percentiles. Cascade: latency_ms = median low-path
 * time + (escalated share) x median high-path time over the escalated
 * images (the expected cost per image; a median of the bimodal totals would
 * hide the escalations); p10/p90 of the per-image totals.
 * Energy: RAPL package energy between the two reads / n (the whole CPU
 * package, every process on it included), VK_SRC_MEASURED; a counter that
 * went backwards wrapped once at max_energy_range_uj (next to the counter).
 * VK_SRC_NONE when the counter cannot be read (describe says why), or it
 * wrapped and its range is unknown. Counts (cycles, bytes, MACs) are not
 * filled.
 *
 * A kernel status other than OK fails the request (VK_E_UNSUPPORTED for a
 * mode this kernel does not implement, VK_E_BOARD otherwise); no partial
 * results are returned. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boards/vk_board.h"
#include "kernels/vk_kernel.h"

#define VK_CPU_DEFAULT_THREADS 2
#define VK_CPU_MAX_THREADS 256
#define VK_CPU_STACK (8u << 20)
#define VK_CPU_WARMUP 2
#define VK_CPU_SUFFIX_DEFAULT 8
#define VK_CPU_SUFFIX_MAX 32
#define VK_CPU_RAPL "/sys/class/powercap/intel-rapl:0/energy_uj"

typedef struct {
    int n_threads;
    int n_suffix;        /* suffix sample images */
    char model[64];      /* CPU model */
    char rapl[PATH_MAX]; /* energy_uj file; "" when unreadable */
    char rapl_why[PATH_MAX + 64];
    uint64_t rapl_max; /* max_energy_range_uj; 0 when unknown */
    int32_t *par;      /* owned copy of the blob */
    int8_t *wt;
    int n_layers;
    size_t img_n, act_n;
    int8_t *imgs; /* owned, n_imgs * img_n */
    int n_imgs;
} vk_cpu;

/* One phase of one measure call, shared by its workers. */
typedef struct {
    const vk_cpu *s;
    const vk_path_req *req;
    int suffix;            /* 0: the request over the images; 1: suffix timings */
    int n;                 /* items: images, or suffix sample images */
    vk_img_result *res;    /* phase 0: [n] */
    double *lo_ms, *hi_ms; /* phase 0: [n]; hi_ms only for escalated images */
    double *suf_ms;        /* phase 1: [n][n_layers + 1] */
    int n_total;           /* phase 1: images loaded for the request */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int next, done, active, warm, go;
    int failed;
    int fail_img;
    int32_t fail_kstat; /* 0 when the failure is out of memory */
    const char *fail_path;
} cpu_job;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

/* The one function that computes an image (kernel semantics: cfg, img, act
 * in; out and, when SAVE asks, act out). */
static void cpu_run(const vk_cpu *s, const uint32_t *cfg, const int8_t *img, int32_t *act,
                    int32_t *out)
{
    vk_kernel_top(s->wt, s->par, cfg, img, act, out);
}

static const char *kstat_str(int32_t st)
{
    switch (st) {
    case VK_KSTAT_BAD_PAR:
        return "par header magic or a dimension out of range";
    case VK_KSTAT_BAD_CFG:
        return "cfg magic, start or save out of range";
    case VK_KSTAT_BAD_MODE:
        return "a mode this kernel build does not implement";
    default:
        return "unknown kernel status";
    }
}

static int env_int(const char *name, int def, int lo, int hi, int *v, vk_err *err)
{
    const char *e = getenv(name);
    char *end;
    long x;
    if (!e || !*e) {
        *v = def;
        return 1;
    }
    errno = 0;
    x = strtol(e, &end, 10);
    if (errno || *end || x < lo || x > hi) {
        vk_fail(err, VK_E_ARG, "%s='%s': expected an integer in %d..%d", name, e, lo, hi);
        return 0;
    }
    *v = (int)x;
    return 1;
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
    int threads, suffix;
    if (strcmp(spec, "cpu"))
        return vk_fail(err, VK_E_ARG,
                       "board '%s': the cpu board takes no options (threads: "
                       "VITSKIP_CPU_THREADS)",
                       spec);
    if (!env_int("VITSKIP_CPU_THREADS", VK_CPU_DEFAULT_THREADS, 1, VK_CPU_MAX_THREADS, &threads,
                 err) ||
        !env_int("VITSKIP_SUFFIX_IMAGES", VK_CPU_SUFFIX_DEFAULT, 0, VK_CPU_SUFFIX_MAX, &suffix,
                 err))
        return VK_E_ARG;
    s = calloc(1, sizeof *s);
    if (!s)
        return vk_fail(err, VK_E_NOMEM, "board '%s': out of memory", spec);
    s->n_threads = threads;
    s->n_suffix = suffix;
    cpu_model(s->model, sizeof s->model);
    rapl_probe(s);
    *state = s;
    return VK_OK;
}

static vk_status cpu_load(void *state, const vk_qmodel *q, vk_err *err)
{
    vk_cpu *s = state;
    int32_t *par = malloc(q->par_n * sizeof *par);
    int8_t *wt = malloc(q->wt_n ? q->wt_n : 1);
    if (!par || !wt) {
        free(par);
        free(wt);
        return vk_fail(err, VK_E_NOMEM, "board 'cpu': out of memory copying the model");
    }
    memcpy(par, q->par, q->par_n * sizeof *par);
    memcpy(wt, q->wt, q->wt_n);
    free(s->par);
    free(s->wt);
    free(s->imgs);
    s->imgs = NULL;
    s->n_imgs = 0;
    s->par = par;
    s->wt = wt;
    s->n_layers = par[VK_HDR_LAYERS];
    s->img_n = vk_qmodel_img_n(q);
    s->act_n = vk_qmodel_act_n(q);
    return VK_OK;
}

static vk_status cpu_load_data(void *state, const int8_t *imgs, int n, vk_err *err)
{
    vk_cpu *s = state;
    int8_t *c = malloc((size_t)n * s->img_n);
    if (!c)
        return vk_fail(err, VK_E_NOMEM, "board 'cpu': out of memory for %d images", n);
    memcpy(c, imgs, (size_t)n * s->img_n);
    free(s->imgs);
    s->imgs = c;
    s->n_imgs = n;
    return VK_OK;
}

static void cfg_init(uint32_t *cfg, const uint32_t *modes, int n_layers, int start, int save)
{
    memset(cfg, 0, VK_CFG_WORDS * sizeof *cfg);
    cfg[VK_CFG_MAGIC_W] = VK_CFG_MAGIC;
    cfg[VK_CFG_START] = (uint32_t)start;
    cfg[VK_CFG_SAVE] = (uint32_t)save;
    for (int l = 0; l < n_layers; l++)
        cfg[VK_CFG_MODES + l] = modes[l];
}

static void job_fail(cpu_job *j, int img, int32_t kstat, const char *path)
{
    pthread_mutex_lock(&j->mu);
    if (!j->failed) {
        j->failed = 1;
        j->fail_img = img;
        j->fail_kstat = kstat;
        j->fail_path = path;
    }
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

/* Phase 0, image i: results and the two wall times. 0 on a kernel failure
 * (recorded). */
static int do_image(cpu_job *j, int i, const uint32_t *cfg_lo, const uint32_t *cfg_hi, int32_t *act,
                    int32_t *out)
{
    const vk_cpu *s = j->s;
    const int8_t *img = &s->imgs[(size_t)i * s->img_n];
    vk_img_result r = {0};
    double t0 = now_ms(), t1, t2;
    cpu_run(s, cfg_lo, img, act, out);
    t1 = now_ms();
    if (out[VK_OUT_STATUS] != VK_KSTAT_OK) {
        job_fail(j, i, out[VK_OUT_STATUS], cfg_hi ? "low path" : "path");
        return 0;
    }
    r.cls = out[VK_OUT_CLASS];
    r.entropy_q16 = out[VK_OUT_ENTROPY];
    if (cfg_hi && r.entropy_q16 > j->req->threshold_q16) {
        cpu_run(s, cfg_hi, img, act, out);
        t2 = now_ms();
        if (out[VK_OUT_STATUS] != VK_KSTAT_OK) {
            job_fail(j, i, out[VK_OUT_STATUS], "high path");
            return 0;
        }
        r.cls = out[VK_OUT_CLASS];
        r.entropy_q16 = out[VK_OUT_ENTROPY];
        r.escalated = 1;
        j->hi_ms[i] = t2 - t1;
    }
    j->lo_ms[i] = t1 - t0;
    j->res[i] = r;
    return 1;
}

/* Phase 1, sample image number si: suffix times of the resuming path. */
static int do_suffix(cpu_job *j, int si, int32_t *act, int32_t *out)
{
    const vk_cpu *s = j->s;
    const vk_path_req *req = j->req;
    const uint32_t *modes = req->modes_high ? req->modes_high : req->modes;
    const int L = s->n_layers, i = (int)((long)si * j->n_total / j->n);
    const int8_t *img = &s->imgs[(size_t)i * s->img_n];
    double *t = &j->suf_ms[(size_t)si * (size_t)(L + 1)];
    uint32_t cfg[VK_CFG_WORDS];
    for (int k = req->modes_high ? 0 : 1; k <= L; k++) {
        double t0;
        if (k > 0) {
            cfg_init(cfg, modes, L, k - 1, k); /* act after k encoders, untimed */
            cpu_run(s, cfg, img, act, out);
            if (out[VK_OUT_STATUS] != VK_KSTAT_OK)
                break;
        }
        cfg_init(cfg, modes, L, k, 0);
        t0 = now_ms();
        cpu_run(s, cfg, img, act, out);
        t[k] = now_ms() - t0;
        if (out[VK_OUT_STATUS] != VK_KSTAT_OK)
            break;
    }
    if (out[VK_OUT_STATUS] != VK_KSTAT_OK) {
        job_fail(j, i, out[VK_OUT_STATUS], "suffix timing");
        return 0;
    }
    return 1;
}

static void *cpu_worker(void *arg)
{
    cpu_job *j = arg;
    const vk_cpu *s = j->s;
    const vk_path_req *req = j->req;
    const int L = s->n_layers, cascade = req->modes_high != NULL;
    int32_t *act = malloc(s->act_n * sizeof *act);
    int32_t *out = malloc(VK_OUT_WORDS * sizeof *out);
    uint32_t cfg_lo[VK_CFG_WORDS], cfg_hi[VK_CFG_WORDS];
    int ok = act && out;

    cfg_init(cfg_lo, req->modes, L, 0, cascade ? req->resume : 0);
    if (cascade)
        cfg_init(cfg_hi, req->modes_high, L, req->resume, 0);
    if (!ok)
        job_fail(j, -1, 0, "");
    if (ok && !j->suffix)
        for (int w = 0; w < VK_CPU_WARMUP && w < j->n; w++)
            cpu_run(s, cfg_lo, &s->imgs[(size_t)w * s->img_n], act, out);
    pthread_mutex_lock(&j->mu);
    j->warm++;
    pthread_cond_broadcast(&j->cv);
    while (!j->go && !j->failed)
        pthread_cond_wait(&j->cv, &j->mu);
    pthread_mutex_unlock(&j->mu);
    while (ok) {
        int i;
        pthread_mutex_lock(&j->mu);
        if (j->failed || j->next >= j->n) {
            pthread_mutex_unlock(&j->mu);
            break;
        }
        i = j->next++;
        pthread_mutex_unlock(&j->mu);
        ok = j->suffix ? do_suffix(j, i, act, out)
                       : do_image(j, i, cfg_lo, cascade ? cfg_hi : NULL, act, out);
        pthread_mutex_lock(&j->mu);
        j->done += ok;
        pthread_cond_broadcast(&j->cv);
        pthread_mutex_unlock(&j->mu);
    }
    free(act);
    free(out);
    pthread_mutex_lock(&j->mu);
    j->active--;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

/* Runs one phase on up to n_threads workers. Phase 0 reads RAPL into
 * the RAPL counter into e0 and e1 (when *rapl_ok) around the timed part and
 * reports progress. */
static void run_phase(const vk_cpu *s, cpu_job *j, uint64_t *e0, uint64_t *e1, int *rapl_ok)
{
    pthread_t tid[VK_CPU_MAX_THREADS];
    pthread_attr_t attr;
    int n_threads = s->n_threads < j->n ? s->n_threads : j->n, started = 0, last = 0;
    const vk_path_req *req = j->req;

    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, VK_CPU_STACK);
    j->active = n_threads;
    for (int t = 0; t < n_threads; t++) {
        if (pthread_create(&tid[t], &attr, cpu_worker, j) != 0) {
            pthread_mutex_lock(&j->mu);
            j->active -= n_threads - t;
            pthread_mutex_unlock(&j->mu);
            job_fail(j, -1, 0, "");
            break;
        }
        started++;
    }
    pthread_attr_destroy(&attr);
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
                req->progress(req->progress_ctx, d, j->n);
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

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* q-quantile of v[0..n) (sorted in place), linear between order statistics. */
static double quantile(double *v, int n, double q)
{
    double pos;
    int i;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    pos = q * (n - 1);
    i = (int)pos;
    return i + 1 < n ? v[i] + (pos - i) * (v[i + 1] - v[i]) : v[n - 1];
}

static vk_status job_error(const cpu_job *j, vk_err *err)
{
    if (j->fail_kstat == 0)
        return vk_fail(err, VK_E_NOMEM, "board 'cpu': out of memory or threads");
    return vk_fail(err, j->fail_kstat == VK_KSTAT_BAD_MODE ? VK_E_UNSUPPORTED : VK_E_BOARD,
                   "board 'cpu': kernel status %d (%s) on image %d, %s", (int)j->fail_kstat,
                   kstat_str(j->fail_kstat), j->fail_img, j->fail_path);
}

static vk_status cpu_measure(void *state, const vk_path_req *req, int n, vk_img_result *res,
                             vk_measure *out, vk_err *err)
{
    vk_cpu *s = state;
    const int L = s->n_layers, cascade = req->modes_high != NULL;
    const int n_suf = s->n_suffix < n ? s->n_suffix : n;
    cpu_job j, js;
    uint64_t e0 = 0, e1 = 0;
    int rapl_ok = s->rapl[0] != 0, n_esc = 0;
    double *tot = NULL, *hi = NULL, *col = NULL;
    char en[64] = "";
    vk_status rc = VK_OK;
    vk_measure m;

    memset(&j, 0, sizeof j);
    memset(&js, 0, sizeof js);
    j.s = js.s = s;
    j.req = js.req = req;
    j.n = n;
    j.res = malloc((size_t)n * sizeof *j.res);
    j.lo_ms = malloc((size_t)n * sizeof *j.lo_ms);
    j.hi_ms = calloc((size_t)n, sizeof *j.hi_ms);
    tot = malloc((size_t)n * sizeof *tot);
    hi = malloc((size_t)n * sizeof *hi);
    js.suffix = 1;
    js.n = n_suf;
    js.n_total = n;
    js.suf_ms = calloc((size_t)(n_suf ? n_suf : 1) * (size_t)(L + 1), sizeof *js.suf_ms);
    col = malloc((size_t)(n_suf ? n_suf : 1) * sizeof *col);
    if (!j.res || !j.lo_ms || !j.hi_ms || !tot || !hi || !js.suf_ms || !col) {
        rc = vk_fail(err, VK_E_NOMEM, "board 'cpu': out of memory for %d results", n);
        goto out;
    }
    run_phase(s, &j, &e0, &e1, &rapl_ok);
    if (j.failed) {
        rc = job_error(&j, err);
        goto out;
    }
    if (n_suf > 0) {
        run_phase(s, &js, NULL, NULL, NULL);
        if (js.failed) {
            rc = job_error(&js, err);
            goto out;
        }
    }

    memset(&m, 0, sizeof m);
    m.n_images = n;
    for (int i = 0; i < n; i++) {
        tot[i] = j.lo_ms[i] + j.hi_ms[i];
        if (j.res[i].escalated)
            hi[n_esc++] = j.hi_ms[i];
    }
    if (cascade) {
        double lo_med = quantile(j.lo_ms, n, 0.5);
        m.latency_ms = lo_med + (n_esc ? (double)n_esc / n * quantile(hi, n_esc, 0.5) : 0);
        m.n_escalated = n_esc;
    } else {
        m.latency_ms = quantile(tot, n, 0.5);
    }
    m.latency_p10_ms = quantile(tot, n, 0.1);
    m.latency_p90_ms = quantile(tot, n, 0.9);
    m.latency_src = VK_SRC_MEASURED;
    for (int k = cascade ? 0 : 1; k <= L && n_suf > 0; k++) {
        for (int si = 0; si < n_suf; si++)
            col[si] = js.suf_ms[(size_t)si * (size_t)(L + 1) + (size_t)k];
        m.suffix_ms[k] = quantile(col, n_suf, 0.5);
    }
    if (!cascade)
        m.suffix_ms[0] = m.latency_ms;
    /* a counter that went backwards wrapped once at max_energy_range_uj */
    if (rapl_ok && (e1 >= e0 || s->rapl_max > e0)) {
        uint64_t d = e1 >= e0 ? e1 - e0 : s->rapl_max - e0 + e1;
        m.energy_mj = (double)d / 1000.0 / n;
        m.energy_src = VK_SRC_MEASURED;
    }
    if (m.energy_src == VK_SRC_MEASURED && !strcmp(s->rapl, VK_CPU_RAPL))
        snprintf(en, sizeof en, "; energy: RAPL package-0, includes the whole CPU package");
    else if (m.energy_src == VK_SRC_MEASURED)
        snprintf(en, sizeof en, "; energy: RAPL counter %.24s", s->rapl);
    snprintf(m.note, sizeof m.note,
             "measured: host wall clock per image in each of %d thread%s, %.48s%.60s",
             s->n_threads < n ? s->n_threads : n, s->n_threads < 2 || n < 2 ? "" : "s", s->model,
             en);
    memcpy(res, j.res, (size_t)n * sizeof *res);
    *out = m;
out:
    free(j.res);
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
    snprintf(buf, len, "host CPU (%s), %d threads, kernel C code, measured wall time; energy: %s%s",
             s->model, s->n_threads, s->rapl[0] ? "RAPL " : "none, ",
             s->rapl[0] ? s->rapl : s->rapl_why);
}

static void cpu_close(void *state)
{
    vk_cpu *s = state;
    if (!s)
        return;
    free(s->par);
    free(s->wt);
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
    .close = cpu_close,
};
