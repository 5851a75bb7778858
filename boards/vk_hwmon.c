/* vk_hwmon: INA226 rails through Linux hwmon, sampled and integrated (see
 * vk_hwmon.h).
 *
 * Invariants: n_rails >= 1 after open; while `running` (only while the
 * sampler thread exists) the fields stop, e_j, t_prev, p_prev, failed and
 * fail_msg are shared with the thread and touched under mu; start and stop
 * touch them alone before the thread starts and after it is joined. */
#include "boards/vk_hwmon.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host/vk_clock.h"

#define VK_HWMON_MAX_RAILS 64
#define VK_HWMON_WARN_MAX 1024
#define VK_HWMON_ROOT_MAX 2048 /* root/class/hwmon; leaves room for hwmonN/file */

typedef struct {
    int num;             /* N of hwmonN, for a stable order */
    char dev[64];        /* hwmon `name`, e.g. "ina226_u76" */
    char rail[64];       /* rail name, or dev when unmapped */
    char path[PATH_MAX]; /* .../power1_input */
} hw_rail;

struct vk_hwmon {
    hw_rail *rails;
    int n_rails;
    int update_ms;
    char warn[VK_HWMON_WARN_MAX];
    /* sampler */
    pthread_t thr;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signals stop; waits on CLOCK_MONOTONIC */
    int running, stop, period_ms;
    double t0, t_prev, p_prev, e_j; /* s, s, W, J */
    int failed;
    char fail_msg[VK_ERR_MAX];
};

/* The ZCU102's INA226 monitors by reference designator, as its Linux names
 * them (ina226_u76, ...); a monitor not listed keeps its hwmon name. */
static const struct {
    const char *ref;
    const char *rail;
} zcu102_rails[] = {
    {"u76", "VCCPSINTFP"},     {"u77", "VCCPSINTLP"}, {"u78", "VCCPSAUX"}, {"u87", "VCCPSPLL"},
    {"u93", "VCCO_PSDDR_504"}, {"u88", "VCCOPS"},     {"u79", "VCCINT"},   {"u81", "VCCBRAM"},
    {"u80", "VCCAUX"},         {"u84", "VCC1V2"},     {"u16", "VCC3V3"},   {"u74", "MGTAVCC"},
    {"u75", "MGTAVTT"},
};

/* Appends "dev skipped: why" to the warnings (truncated when full). */
static void warn_add(vk_hwmon *h, const char *dev, const char *why)
{
    size_t n = strlen(h->warn);
    if (n >= sizeof h->warn - 1)
        return;
    snprintf(h->warn + n, sizeof h->warn - n, "%s%s skipped: %s", n ? "; " : "", dev, why);
}

/* Reads a small sysfs file into buf without the trailing newline. -1 and
 * errno set when it cannot be opened or read. */
static int read_small(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    size_t n;
    if (!f)
        return -1;
    n = fread(buf, 1, len - 1, f);
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        errno = e ? e : EIO;
        return -1;
    }
    fclose(f);
    buf[n] = 0;
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
        buf[--n] = 0;
    return 0;
}

/* Parses a non-negative decimal integer (the whole string). */
static int parse_nonneg(const char *s, long long *v)
{
    char *end;
    long long x;
    if (*s < '0' || *s > '9')
        return 0;
    errno = 0;
    x = strtoll(s, &end, 10);
    if (errno || *end)
        return 0;
    *v = x;
    return 1;
}

/* One rail's power in microwatts; fills msg on failure. */
static int read_uw(const char *path, long long *uw, char *msg, size_t len)
{
    char buf[64];
    if (read_small(path, buf, sizeof buf) != 0) {
        snprintf(msg, len, "cannot read %s: %s", path, strerror(errno));
        return 0;
    }
    if (!parse_nonneg(buf, uw)) {
        snprintf(msg, len, "%s holds '%.32s', expected microwatts (a non-negative integer)", path,
                 buf);
        return 0;
    }
    return 1;
}

static const char *rail_name(const char *dev)
{
    if (!strncmp(dev, "ina226_", 7))
        for (size_t i = 0; i < sizeof zcu102_rails / sizeof zcu102_rails[0]; i++)
            if (!strcmp(dev + 7, zcu102_rails[i].ref))
                return zcu102_rails[i].rail;
    return dev;
}

static int rail_cmp(const void *a, const void *b)
{
    const hw_rail *x = a, *y = b;
    return (x->num > y->num) - (x->num < y->num);
}

/* Examines one hwmonN folder; adds a rail, a warning, or nothing (not an
 * INA226). *n_ina counts INA226 monitors seen. */
static vk_status scan_one(vk_hwmon *h, const char *dir, const char *entry, int *n_ina, vk_err *err)
{
    char path[PATH_MAX], name[64], buf[64], msg[VK_ERR_MAX];
    long long uw, ms;
    hw_rail *r;
    snprintf(path, sizeof path, "%s/%s/name", dir, entry);
    if (read_small(path, name, sizeof name) != 0 || strncmp(name, "ina226", 6))
        return VK_OK;
    (*n_ina)++;
    snprintf(path, sizeof path, "%s/%s/power1_input", dir, entry);
    if (!read_uw(path, &uw, msg, sizeof msg)) {
        warn_add(h, name, msg);
        return VK_OK;
    }
    if (h->n_rails == VK_HWMON_MAX_RAILS)
        return vk_fail(err, VK_E_FORMAT, "%s: more than %d INA226 monitors", dir,
                       VK_HWMON_MAX_RAILS);
    r = &h->rails[h->n_rails++];
    r->num = atoi(entry + 5);
    snprintf(r->dev, sizeof r->dev, "%s", name);
    snprintf(r->rail, sizeof r->rail, "%s", rail_name(name));
    snprintf(r->path, sizeof r->path, "%s", path);
    snprintf(path, sizeof path, "%s/%s/update_interval", dir, entry);
    if (read_small(path, buf, sizeof buf) == 0 && parse_nonneg(buf, &ms) && ms < INT_MAX &&
        ms > h->update_ms)
        h->update_ms = (int)ms;
    return VK_OK;
}

vk_status vk_hwmon_open(const char *root, vk_hwmon **out, vk_err *err)
{
    char dir[VK_HWMON_ROOT_MAX];
    DIR *d;
    struct dirent *e;
    vk_hwmon *h;
    int n_ina = 0;
    vk_status rc = VK_OK;
    if (!root || !out)
        return vk_fail(err, VK_E_ARG, "vk_hwmon_open: root and h must be non-NULL");
    if (strlen(root) + sizeof "/class/hwmon" > sizeof dir)
        return vk_fail(err, VK_E_ARG, "hwmon root '%.64s...' is too long", root);
    snprintf(dir, sizeof dir, "%s/class/hwmon", root);
    if (!(d = opendir(dir)))
        return vk_fail(err, VK_E_NOTFOUND, "no hwmon devices: cannot open %s: %s", dir,
                       strerror(errno));
    h = calloc(1, sizeof *h);
    if (!h || !(h->rails = calloc(VK_HWMON_MAX_RAILS, sizeof *h->rails))) {
        closedir(d);
        free(h);
        return vk_fail(err, VK_E_NOMEM, "%s: out of memory", dir);
    }
    while ((e = readdir(d)) != NULL) {
        const char *p = e->d_name + 5;
        if (strncmp(e->d_name, "hwmon", 5) || *p < '0' || *p > '9')
            continue;
        if ((rc = scan_one(h, dir, e->d_name, &n_ina, err)) != VK_OK)
            break;
    }
    closedir(d);
    if (rc == VK_OK && n_ina == 0)
        rc = vk_fail(err, VK_E_NOTFOUND, "no INA226 power monitors under %s", dir);
    else if (rc == VK_OK && h->n_rails == 0)
        rc = vk_fail(err, VK_E_FORMAT, "no usable INA226 rail under %s: %s", dir, h->warn);
    if (rc != VK_OK) {
        free(h->rails);
        free(h);
        return rc;
    }
    qsort(h->rails, (size_t)h->n_rails, sizeof *h->rails, rail_cmp);
    pthread_mutex_init(&h->mu, NULL);
    {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&h->cv, &ca);
        pthread_condattr_destroy(&ca);
    }
    *out = h;
    return VK_OK;
}

int vk_hwmon_n_rails(const vk_hwmon *h)
{
    return h->n_rails;
}

const char *vk_hwmon_rail(const vk_hwmon *h, int i)
{
    return h->rails[i].rail;
}

const char *vk_hwmon_device(const vk_hwmon *h, int i)
{
    return h->rails[i].dev;
}

const char *vk_hwmon_warnings(const vk_hwmon *h)
{
    return h->warn;
}

int vk_hwmon_update_ms(const vk_hwmon *h)
{
    return h->update_ms;
}

void vk_hwmon_describe(const vk_hwmon *h, char *buf, size_t len)
{
    size_t n;
    if (!len)
        return;
    n = (size_t)snprintf(buf, len, "sum of %d INA226 rail%s:", h->n_rails,
                         h->n_rails == 1 ? "" : "s");
    for (int i = 0; i < h->n_rails && n < len; i++) {
        if (strcmp(h->rails[i].rail, h->rails[i].dev))
            n += (size_t)snprintf(buf + n, len - n, "%s %s (%s)", i ? "," : "", h->rails[i].rail,
                                  h->rails[i].dev);
        else
            n += (size_t)snprintf(buf + n, len - n, "%s %s", i ? "," : "", h->rails[i].dev);
    }
    if (n < len)
        snprintf(buf + n, len - n, "; not 12 V wall power");
}

/* Summed power now; msg names the failing file. */
static int sample_w(const vk_hwmon *h, double *w, char *msg, size_t len)
{
    long long sum = 0, uw;
    for (int i = 0; i < h->n_rails; i++) {
        if (!read_uw(h->rails[i].path, &uw, msg, len))
            return 0;
        sum += uw;
    }
    *w = (double)sum * 1e-6;
    return 1;
}

vk_status vk_hwmon_read_w(const vk_hwmon *h, double *watts, vk_err *err)
{
    char msg[VK_ERR_MAX];
    double w;
    if (!sample_w(h, &w, msg, sizeof msg))
        return vk_fail(err, VK_E_IO, "hwmon: %s", msg);
    *watts = w;
    return VK_OK;
}

/* Adds the trapezoid from the previous sample to (t, w). Under mu. */
static void integrate(vk_hwmon *h, double t, double w)
{
    h->e_j += 0.5 * (h->p_prev + w) * (t - h->t_prev);
    h->t_prev = t;
    h->p_prev = w;
}

static void *sampler(void *arg)
{
    vk_hwmon *h = arg;
    char msg[VK_ERR_MAX];
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    pthread_mutex_lock(&h->mu);
    while (!h->stop) {
        double w, t;
        int ok;
        next.tv_nsec += (long)h->period_ms * 1000000L;
        next.tv_sec += next.tv_nsec / 1000000000L;
        next.tv_nsec %= 1000000000L;
        while (!h->stop && pthread_cond_timedwait(&h->cv, &h->mu, &next) != ETIMEDOUT)
            ;
        if (h->stop)
            break;
        pthread_mutex_unlock(&h->mu);
        ok = sample_w(h, &w, msg, sizeof msg);
        t = vk_clock_now();
        pthread_mutex_lock(&h->mu);
        if (!ok) {
            h->failed = 1;
            snprintf(h->fail_msg, sizeof h->fail_msg, "%s", msg);
            break;
        }
        integrate(h, t, w);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

vk_status vk_hwmon_start(vk_hwmon *h, int period_ms, vk_err *err)
{
    char msg[VK_ERR_MAX];
    double w;
    if (!h)
        return vk_fail(err, VK_E_ARG, "hwmon: no monitor to sample");
    if (h->running)
        return vk_fail(err, VK_E_ARG, "hwmon: sampler already running");
    if (period_ms < 1 || period_ms > 10000)
        return vk_fail(err, VK_E_ARG, "hwmon: sampling period %d ms outside 1..10000", period_ms);
    if (!sample_w(h, &w, msg, sizeof msg))
        return vk_fail(err, VK_E_IO, "hwmon: %s", msg);
    h->t0 = h->t_prev = vk_clock_now();
    h->p_prev = w;
    h->e_j = 0;
    h->failed = 0;
    h->stop = 0;
    h->period_ms = period_ms;
    if (pthread_create(&h->thr, NULL, sampler, h) != 0)
        return vk_fail(err, VK_E_NOMEM, "hwmon: cannot start the sampling thread");
    h->running = 1;
    return VK_OK;
}

/* Stops and joins the sampler thread. */
static void halt(vk_hwmon *h)
{
    pthread_mutex_lock(&h->mu);
    h->stop = 1;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->thr, NULL);
    h->running = 0;
}

vk_status vk_hwmon_stop(vk_hwmon *h, double *energy_j, double *mean_w, vk_err *err)
{
    char msg[VK_ERR_MAX];
    double w, t;
    if (!h || !h->running)
        return vk_fail(err, VK_E_ARG, "hwmon: sampler not running");
    halt(h);
    if (h->failed)
        return vk_fail(err, VK_E_IO, "hwmon: sampling failed: %s", h->fail_msg);
    if (!sample_w(h, &w, msg, sizeof msg))
        return vk_fail(err, VK_E_IO, "hwmon: %s", msg);
    t = vk_clock_now();
    integrate(h, t, w);
    *energy_j = h->e_j;
    *mean_w = t > h->t0 ? h->e_j / (t - h->t0) : w;
    return VK_OK;
}

void vk_hwmon_close(vk_hwmon *h)
{
    if (!h)
        return;
    if (h->running)
        halt(h);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h->rails);
    free(h);
}
