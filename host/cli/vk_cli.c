/* vk_cli: shared helpers of the subcommands (usage errors, progress). */
#include "vk_cli.h"

#include "boards/vk_board.h"
#include "search/vk_genome.h"
#include "search/vk_objective.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Edits between a and b (insert, delete, replace, swap of two neighbours);
 * 99 for words longer than 47 characters. */
static int edits(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    int d[48][48];
    if (n > 47 || m > 47)
        return 99;
    for (size_t i = 0; i <= n; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            int v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < v)
                v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[n][m];
}

const char *vk_cli_suggest(const char *word, const char *const *cands, int n)
{
    const char *best = NULL;
    size_t len = strlen(word);
    int bd = len < 4 ? 1 : len < 9 ? 2 : 3;
    for (int i = 0; i < n; i++) {
        int e = edits(word, cands[i]);
        if (e <= bd && (!best || e < bd)) {
            best = cands[i];
            bd = e;
        }
    }
    if (!best && len >= 3) /* an unambiguous prefix */
        for (int i = 0; i < n; i++)
            if (!strncmp(cands[i], word, len)) {
                if (best)
                    return NULL;
                best = cands[i];
            }
    return best;
}

int vk_cli_bad_option(const char *cmd, const struct option *opts, char *const *argv)
{
    const char *names[64], *arg = optind > 0 ? argv[optind - 1] : "", *best;
    int n = 0, is_long = strncmp(arg, "--", 2) == 0;
    char word[64];
    for (const struct option *o = opts; o->name && n < 64; o++) {
        /* a known option: its value is missing, or it was given one it takes not */
        if (optopt && o->val == optopt && !o->flag) {
            if (!is_long)
                return vk_cli_usage(cmd, "option '-%c' needs a value", optopt);
            return vk_cli_usage(cmd, o->has_arg == required_argument
                                         ? "option '--%s' needs a value"
                                         : "option '--%s' takes no value",
                                o->name);
        }
        names[n++] = o->name;
    }
    if (optopt)
        return vk_cli_usage(cmd, "unknown option '-%c'", optopt);
    /* "--name=value" or "--name": the name */
    snprintf(word, sizeof word, "%s", arg + (is_long ? 2 : arg[0] == '-'));
    word[strcspn(word, "=")] = 0;
    if ((best = vk_cli_suggest(word, names, n)))
        return vk_cli_usage(cmd, "unknown option '%s'; did you mean '--%s'?", arg, best);
    return vk_cli_usage(cmd, "unknown option '%s'", arg);
}

int vk_cli_check_board(const char *cmd, const char *spec)
{
    static const char *const kinds[] = {"sim", "cpu", "xrt"};
    vk_err err = {{0}};
    const char *near;
    if (vk_board_check_spec(spec, &err) == VK_OK) {
        if (!strncmp(spec, "sim:", 4) && access(spec + 4, R_OK) != 0)
            return vk_cli_usage(cmd, "board '%s': cannot read %s (%s)", spec, spec + 4,
                                strerror(errno));
        return 0;
    }
    if ((near = vk_cli_suggest(spec, kinds, 3)))
        return vk_cli_usage(cmd, "%s; did you mean '%s'?", err.msg, near);
    return vk_cli_usage(cmd, "%s", err.msg);
}

int vk_cli_check_genome(const char *cmd, const char *opt, const char *text, const char *space)
{
    int nl = vk_genome_text_layers(text);
    vk_genome g;
    vk_space sp;
    vk_err e = {{0}};
    if (nl < 1 || nl > VK_MAX_LAYERS || vk_genome_parse(text, nl, &g, &e) != VK_OK)
        return vk_cli_usage(cmd, "%s '%s': %s", opt, text,
                            e.msg[0] ? e.msg
                                     : "not a genome (a letter F, S, R or H per encoder, "
                                       "e.g. FSFSFSFS; see vitskip eval --help)");
    if (space && vk_space_parse(space, &sp, &e) == VK_OK && !vk_space_contains(&sp, &g, nl))
        return vk_cli_usage(cmd, "%s '%s' is not in the space %s (--space)", opt, text, space);
    return 0;
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

/* "37s", "3m05s", "1h02m" */
static void fmt_secs(double s, char *out, size_t n)
{
    int t = s > 0 && s < 3.6e6 ? (int)(s + 0.5) : 0; /* under 1000 hours */
    if (t < 60)
        snprintf(out, n, "%ds", t);
    else if (t < 3600)
        snprintf(out, n, "%dm%02ds", t / 60, t % 60);
    else
        snprintf(out, n, "%dh%02dm", t / 3600, t / 60 % 60);
}

static void calib_progress(void *ctx, int done, int total)
{
    vk_calib_bar *p = ctx;
    pthread_mutex_lock(&vk_progress_lock);
    if (done == 0 || p->t0 == 0) {
        p->t0 = vk_clock_now();
        p->last_pct = -1;
    }
    int pct = total > 0 ? (int)(100.0 * done / total) : 100;
    if (pct != p->last_pct && (p->tty || pct / 10 != p->last_pct / 10 || done == total)) {
        double el = vk_clock_now() - p->t0, rate = el > 0 ? done / el : 0;
        char eta[32];
        if (rate > 0)
            fmt_secs((total - done) / rate, eta, sizeof eta);
        else
            snprintf(eta, sizeof eta, "-");
        fprintf(stderr, "%scalibration: %d/%d images, %.1f images/s, %s %s%s", p->tty ? "\r" : "",
                done, total, rate, done == total ? "took" : "eta",
                done == total ? (fmt_secs(el, eta, sizeof eta), eta) : eta,
                p->tty && done < total ? "   " : "\n");
        p->last_pct = pct;
    }
    pthread_mutex_unlock(&vk_progress_lock);
}

void vk_cli_calib_progress(vk_calib_opts *o, vk_calib_bar *p, int force)
{
    memset(p, 0, sizeof *p);
    p->tty = isatty(2);
    if (!p->tty && !force)
        return;
    o->progress = calib_progress;
    o->progress_ctx = p;
}

void vk_cli_print_energy(double latency_ms, double energy_mj, vk_source src)
{
    if (src != VK_SRC_NONE)
        printf("energy    %.4f mJ/image [%s], EDP %.5f mJ*ms\n", energy_mj, vk_source_str(src),
               vk_objective_cost(VK_OBJ_EDP, latency_ms, energy_mj));
    else
        printf("energy    not available on this board\n");
}
