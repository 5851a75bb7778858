/* vk_cli: shared helpers of the subcommands (usage errors, progress). */
#include "vk_cli.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t vk_progress_lock = PTHREAD_MUTEX_INITIALIZER;

int vk_cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "vitskip %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\ntry 'vitskip %s --help'\n", cmd);
    return VK_EXIT_USAGE;
}

int vk_cli_parse_num(const char *cmd, const char *opt, const char *s, double lo, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (*end || end == s || !isfinite(v) || !(v >= lo))
        return vk_cli_usage(cmd, "%s '%s': expected a finite number >= %g", opt, s, lo);
    *out = v;
    return 0;
}

int vk_cli_parse_int(const char *cmd, const char *opt, const char *s, long long lo, long long hi,
                     long long *out)
{
    char *end;
    long long v;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (*end || end == s || errno || v < lo || v > hi)
        return vk_cli_usage(cmd, "%s '%s': expected an integer from %lld to %lld", opt, s, lo, hi);
    *out = v;
    return 0;
}

void vk_progress_begin(vk_progress *p, const char *label, int total)
{
    p->label = label;
    p->total = total > 0 ? total : 1;
    p->last_pct = -1;
    p->tty = isatty(2);
    p->t0 = vk_clock_now();
    vk_progress_update(p, 0);
}

void vk_progress_update(vk_progress *p, int done)
{
    int pct = (int)(100.0 * done / p->total);
    pthread_mutex_lock(&vk_progress_lock);
    if (pct != p->last_pct && (p->tty || pct / 10 != p->last_pct / 10 || p->last_pct < 0)) {
        double el = vk_clock_now() - p->t0;
        double eta = done > 0 ? el * (p->total - done) / done : 0;
        if (p->tty) {
            char bar[31];
            int fill = pct * 30 / 100;
            for (int i = 0; i < 30; i++)
                bar[i] = i < fill ? '#' : '.';
            bar[30] = 0;
            fprintf(stderr, "\r%s [%s] %3d%% %d/%d  %.1fs, eta %.1fs ", p->label, bar, pct, done,
                    p->total, el, eta);
        } else {
            fprintf(stderr, "%s: %d/%d (%d%%) %.1fs\n", p->label, done, p->total, pct, el);
        }
        p->last_pct = pct;
    }
    pthread_mutex_unlock(&vk_progress_lock);
}

void vk_progress_end(vk_progress *p)
{
    if (p->last_pct != 100)
        vk_progress_update(p, p->total);
    if (p->tty)
        fputc('\n', stderr);
}

void vk_progress_board(void *ctx, int done, int total)
{
    (void)total;
    vk_progress_update(ctx, done);
}
