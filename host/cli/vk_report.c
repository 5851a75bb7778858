/* vk_report: the HTML report of runs (see vk_report.h). */
#include "host/cli/vk_report.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "search/vk_evo.h"
#include "search/vk_objective.h"
#include "search/vk_search.h"

/* the objectives, indexed by vk_objective */
enum { OBJ_LAT = VK_OBJ_LATENCY, OBJ_EN = VK_OBJ_ENERGY, OBJ_EDP = VK_OBJ_EDP, OBJ_N };
static const char *const obj_unit[OBJ_N] = {"ms", "mJ", "mJ*ms"};
static const char *const obj_axis[OBJ_N] = {"latency, ms per image", "energy, mJ per image",
                                            "EDP, mJ*ms per image"};

enum { K_FULL, K_FRONT, K_FEAS, K_INFEAS, K_CASCADE, K_REPLAY, K_N };
static const char *const kind_name[K_N] = {"full",       "front",   "feasible",
                                           "infeasible", "cascade", "replay"};
static const char *const kind_color[K_N] = {"#111111", "#d62728", "#1f77b4",
                                            "#a0a0a0", "#2ca02c", "#9467bd"};
/* colours of the runs in the overlaid plots */
static const char *const run_color[] = {"#d62728", "#1f77b4", "#2ca02c", "#ff7f0e",
                                        "#9467bd", "#8c564b", "#e377c2", "#17becf"};
#define N_RUN_COLORS (int)(sizeof run_color / sizeof run_color[0])

/* One plotted configuration: a path, a cascade or a replay. */
typedef struct {
    char config[24]; /* P12, C3; a replay: the configuration it replays */
    char what[128];  /* genome, "P3 -> P7 above 1.20 nats", replay's board */
    int kind;        /* K_*: paths K_FULL/K_FEAS/K_INFEAS, then K_CASCADE, K_REPLAY */
    int path;        /* index into run_data.paths; -1 otherwise */
    int feasible;
    int front[OBJ_N];
    double top1;
    double lat, en;
    vk_source lat_src, en_src;
} point;

typedef struct {
    vk_run_info info;
    vk_path_rec *paths;
    int n_paths;
    vk_cascade_rec *cas;
    int n_cas;
    point *pts; /* paths, then cascades, then replays */
    int n_pts;
    int full;   /* index of the full model's point; -1 if the run has none */
    int ok_attempts, failed_attempts;
    double *hv, *hv3; /* after k + 1 evaluations; NAN when not recorded, hv3 -1 n/a */
    int chosen;       /* point whose stages are broken down; -1 none */
} run_data;

static void esc(FILE *o, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", o); break;
        case '<': fputs("&lt;", o); break;
        case '>': fputs("&gt;", o); break;
        case '"': fputs("&quot;", o); break;
        case '\'': fputs("&#39;", o); break;
        default: fputc(*s, o);
        }
    }
}

/* The cost of p under objective k; NAN when the board gave no such figure. */
static double cost(const point *p, int k)
{
    int lat = p->lat_src != VK_SRC_NONE, en = p->en_src != VK_SRC_NONE;
    if ((k != OBJ_EN && !lat) || (k != OBJ_LAT && !en))
        return NAN;
    return vk_objective_cost((vk_objective)k, p->lat, p->en);
}

/* Measured only when every figure behind the cost was measured. */
static vk_source cost_src(const point *p, int k)
{
    vk_source a = p->lat_src, b = p->en_src;
    if (k == OBJ_LAT)
        return a;
    if (k == OBJ_EN)
        return b;
    return a == VK_SRC_MEASURED && b == VK_SRC_MEASURED ? VK_SRC_MEASURED : VK_SRC_MODELED;
}

static int feasible(const vk_run_info *r, double full_top1, double top1, double lat, double en)
{
    /* without a full model in the run, no accuracy constraint can be judged */
    return vk_search_violation(isnan(full_top1) ? -1 : r->max_acc_drop, r->latency_budget_ms,
                               r->energy_budget_mj, full_top1, top1, lat, en) == 0;
}

/* The run's objective; latency for a name this build does not know. */
static int run_obj(const vk_run_info *r)
{
    vk_objective o = VK_OBJ_LATENCY;
    vk_objective_parse(r->objective, &o, NULL);
    return (int)o;
}

static void run_free(run_data *d)
{
    for (int i = 0; i < d->n_paths; i++)
        vk_store_rec_free(&d->paths[i]);
    free(d->paths);
    free(d->cas);
    free(d->pts);
    free(d->hv);
    free(d->hv3);
    memset(d, 0, sizeof *d);
}

/* Front of the feasible paths under each objective (constrained
 * domination ranks of error vs cost; rank 0 and feasible). */
static vk_status mark_fronts(run_data *d, vk_err *err)
{
    int n = d->n_paths;
    double(*obj)[2] = malloc((size_t)(n ? n : 1) * sizeof *obj);
    double *viol = malloc((size_t)(n ? n : 1) * sizeof *viol);
    int *rank = malloc((size_t)(n ? n : 1) * sizeof *rank), *idx = malloc((size_t)(n ? n : 1) * sizeof *idx);
    if (!obj || !viol || !rank || !idx) {
        free(obj), free(viol), free(rank), free(idx);
        return vk_fail(err, VK_E_NOMEM, "report: out of memory");
    }
    for (int k = 0; k < OBJ_N; k++) {
        int m = 0;
        for (int i = 0; i < n; i++) {
            double c = cost(&d->pts[i], k);
            if (isnan(c))
                continue;
            obj[m][0] = 100 - d->pts[i].top1;
            obj[m][1] = c;
            viol[m] = d->pts[i].feasible ? 0 : 1;
            idx[m++] = i;
        }
        vk_evo_ranks((const double(*)[2])obj, viol, m, rank);
        for (int j = 0; j < m; j++)
            d->pts[idx[j]].front[k] = rank[j] == 0 && d->pts[idx[j]].feasible;
    }
    free(obj), free(viol), free(rank), free(idx);
    return VK_OK;
}

static vk_status load_run(vk_store *db, int64_t id, run_data *d, vk_replay_rec *rep, int n_rep,
                          vk_err *err)
{
    int64_t *ids = NULL;
    vk_status rc;
    memset(d, 0, sizeof *d);
    d->full = d->chosen = -1;
    if ((rc = vk_store_run_get(db, id, &d->info, err)) != VK_OK ||
        (rc = vk_store_run_paths(db, id, &ids, &d->n_paths, err)) != VK_OK ||
        (rc = vk_store_cascade_list(db, id, &d->cas, &d->n_cas, err)) != VK_OK ||
        (rc = vk_store_attempt_count(db, id, &d->ok_attempts, &d->failed_attempts, err)) != VK_OK)
        goto out;
    d->paths = calloc((size_t)d->n_paths + 1, sizeof *d->paths);
    d->pts = calloc((size_t)(d->n_paths + d->n_cas + n_rep) + 1, sizeof *d->pts);
    d->hv = malloc(((size_t)d->n_paths + 1) * sizeof *d->hv);
    d->hv3 = malloc(((size_t)d->n_paths + 1) * sizeof *d->hv3);
    if (!d->paths || !d->pts || !d->hv || !d->hv3) {
        rc = vk_fail(err, VK_E_NOMEM, "report: out of memory");
        goto out;
    }
    for (int i = 0; i < d->n_paths; i++) {
        vk_path_rec *r = &d->paths[i];
        point *p = &d->pts[d->n_pts++];
        if ((rc = vk_store_path_get(db, ids[i], d->info.n_images, r, err)) != VK_OK)
            goto out;
        snprintf(p->config, sizeof p->config, "P%lld", (long long)r->id);
        snprintf(p->what, sizeof p->what, "%s", r->genome);
        p->path = i;
        p->top1 = r->top1;
        p->lat = r->m.latency_ms;
        p->en = r->m.energy_mj;
        p->lat_src = r->m.latency_src;
        p->en_src = r->m.energy_src;
        if (d->full < 0 && r->genome[0] && strspn(r->genome, "F") == strlen(r->genome))
            d->full = i;
    }
    double full_top1 = d->full >= 0 ? d->pts[d->full].top1 : NAN;
    for (int i = 0; i < d->n_paths; i++) {
        point *p = &d->pts[i];
        p->feasible = feasible(&d->info, full_top1, p->top1, p->lat, p->en);
        p->kind = i == d->full ? K_FULL : p->feasible ? K_FEAS : K_INFEAS;
    }
    if ((rc = mark_fronts(d, err)) != VK_OK)
        goto out;
    for (int i = 0; i < d->n_cas; i++) {
        const vk_cascade_rec *c = &d->cas[i];
        point *p = &d->pts[d->n_pts++];
        vk_source src = VK_SRC_NONE, esrc = VK_SRC_NONE;
        for (int j = 0; j < d->n_paths; j++)
            if (d->paths[j].id == c->low) {
                src = d->paths[j].m.latency_src;
                esrc = d->paths[j].m.energy_src;
            }
        snprintf(p->config, sizeof p->config, "C%lld", (long long)c->id);
        snprintf(p->what, sizeof p->what, "P%lld -> P%lld above %.2f nats, resume after %d",
                 (long long)c->low, (long long)c->high, c->threshold_q16 / 65536.0, c->resume);
        p->kind = K_CASCADE;
        p->path = -1;
        p->top1 = c->top1;
        p->lat = c->latency_ms;
        p->en = c->energy_mj;
        p->lat_src = src;
        p->en_src = esrc;
        p->feasible = feasible(&d->info, full_top1, p->top1, p->lat, p->en);
    }
    /* replays of this run's paths and cascades, for this model */
    for (int i = 0; i < n_rep; i++) {
        int mine = 0;
        for (int j = 0; j < d->n_paths + d->n_cas && !mine; j++)
            mine = !strcmp(rep[i].config, d->pts[j].config);
        if (!mine || strcmp(rep[i].model_hash, d->info.model_hash))
            continue;
        point *p = &d->pts[d->n_pts++];
        snprintf(p->config, sizeof p->config, "%s", rep[i].config);
        snprintf(p->what, sizeof p->what, "replayed on %.100s", rep[i].board);
        p->kind = K_REPLAY;
        p->path = -1;
        p->top1 = rep[i].top1;
        p->lat = rep[i].latency_ms;
        p->en = rep[i].energy_mj;
        p->lat_src = rep[i].latency_src;
        p->en_src = rep[i].energy_src;
        p->feasible = feasible(&d->info, full_top1, p->top1, p->lat, p->en);
    }
    for (int k = 0; k < d->n_paths; k++) {
        int found;
        d->hv[k] = NAN;
        d->hv3[k] = -1;
        if ((rc = vk_store_hv_at(db, id, k + 1, &d->hv[k], &d->hv3[k], &found, err)) != VK_OK)
            goto out;
        if (!found)
            d->hv[k] = NAN;
    }
    /* default breakdown: the cheapest feasible front path of the run's objective */
    {
        int k = run_obj(&d->info);
        for (int i = 0; i < d->n_paths; i++)
            if (d->pts[i].front[k] &&
                (d->chosen < 0 || cost(&d->pts[i], k) < cost(&d->pts[d->chosen], k)))
                d->chosen = i;
    }
out:
    free(ids);
    return rc;
}

/* ---- SVG ----------------------------------------------------------------- */

typedef struct {
    double x0, x1, y0, y1; /* data range */
    int w, h;              /* whole picture, px */
    int l, r, t, b;        /* margins */
} frame;

static double fx(const frame *f, double x)
{
    return f->l + (x - f->x0) / (f->x1 - f->x0) * (f->w - f->l - f->r);
}

static double fy(const frame *f, double y)
{
    return f->h - f->b - (y - f->y0) / (f->y1 - f->y0) * (f->h - f->t - f->b);
}

/* A tick step of 1, 2 or 5 times a power of ten, for about 5 ticks. */
static double tick_step(double span)
{
    double raw = span / 5, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/* Widens [lo, hi] to whole ticks with a margin; a single value gets a span. */
static void round_range(double *lo, double *hi)
{
    if (!(*hi > *lo)) {
        double d = fabs(*lo) > 0 ? fabs(*lo) * 0.1 : 1;
        *lo -= d;
        *hi += d;
    }
    double m = (*hi - *lo) * 0.06, s;
    *lo -= m;
    *hi += m;
    s = tick_step(*hi - *lo);
    *lo = floor(*lo / s) * s;
    *hi = ceil(*hi / s) * s;
}

/* Opens a plot of run `run` (0: several) under objective key obj (NULL: none). */
static void svg_open(FILE *o, const frame *f, const char *cls, int64_t run, const char *obj)
{
    fprintf(o, "<svg class=\"%s\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\"", cls,
            f->w, f->h, f->w, f->h);
    if (run)
        fprintf(o, " data-run=\"%lld\"", (long long)run);
    if (obj)
        fprintf(o, " data-obj=\"%s\"", obj);
    fputs(" xmlns=\"http://www.w3.org/2000/svg\">\n", o);
}

static void axes(FILE *o, const frame *f, const char *xlabel, const char *ylabel)
{
    double sx = tick_step(f->x1 - f->x0), sy = tick_step(f->y1 - f->y0);
    fprintf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"plotarea\"/>\n", f->l,
            f->t, f->w - f->l - f->r, f->h - f->t - f->b);
    for (double x = ceil(f->x0 / sx - 1e-9) * sx; x <= f->x1 + sx * 1e-9; x += sx) {
        double px = fx(f, x);
        fprintf(o, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
                   "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n",
                px, f->t, px, f->h - f->b, px, f->h - f->b + 14, fabs(x) < sx * 1e-9 ? 0 : x);
    }
    for (double y = ceil(f->y0 / sy - 1e-9) * sy; y <= f->y1 + sy * 1e-9; y += sy) {
        double py = fy(f, y);
        fprintf(o, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
                   "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
                f->l, py, f->w - f->r, py, f->l - 4, py + 4, fabs(y) < sy * 1e-9 ? 0 : y);
    }
    fprintf(o, "<text class=\"axis\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", (f->l + f->w - f->r) / 2.0,
            f->h - 4);
    esc(o, xlabel);
    fprintf(o, "</text><text class=\"axis\" transform=\"translate(12 %.1f) rotate(-90)\" "
               "text-anchor=\"middle\">",
            (f->t + f->h - f->b) / 2.0);
    esc(o, ylabel);
    fputs("</text>\n", o);
}

/* A marker: circle (path), square (full model), triangle (cascade), diamond
 * (replay); filled when measured, hollow when modeled. */
static void marker(FILE *o, int kind, double x, double y, const char *color, vk_source src)
{
    const char *fill = src == VK_SRC_MEASURED ? color : "#ffffff";
    double r = kind == K_FRONT || kind == K_FULL ? 5 : 4;
    if (kind == K_FULL)
        fprintf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"", x - r, y - r,
                2 * r, 2 * r);
    else if (kind == K_CASCADE)
        fprintf(o, "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fZ\"", x, y - r - 1, x + r + 1,
                y + r, x - r - 1, y + r);
    else if (kind == K_REPLAY)
        fprintf(o, "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fL%.1f %.1fZ\"", x, y - r - 1,
                x + r + 1, y, x, y + r + 1, x - r - 1, y);
    else
        fprintf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\"", x, y, r);
    fprintf(o, " fill=\"%s\" stroke=\"%s\" stroke-width=\"1.6\"/>", fill, color);
}

/* x of point p in a plot of objective k: its cost, or (rel) its cost
 * relative to its run's full model. */
static double px_of(const run_data *d, const point *p, int k, int rel)
{
    return rel ? cost(p, k) / cost(&d->pts[d->full], k) : cost(p, k);
}

/* The indices of run d's front points of objective k, at most max of them,
 * into ord, cheapest first (stable); returns how many. */
static int front_order(const run_data *d, int k, int *ord, int max)
{
    int n = 0;
    for (int i = 0; i < d->n_paths && n < max; i++)
        if (d->pts[i].front[k])
            ord[n++] = i;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && cost(&d->pts[ord[j]], k) < cost(&d->pts[ord[j - 1]], k); j--) {
            int t = ord[j];
            ord[j] = ord[j - 1];
            ord[j - 1] = t;
        }
    return n;
}

/* The front of objective k as a staircase through its points, cheapest first. */
static void front_line(FILE *o, const frame *f, const run_data *d, int k, int rel,
                       const char *color, const char *cls)
{
    int n, *ord = malloc(((size_t)d->n_paths + 1) * sizeof *ord);
    if (!ord)
        return;
    n = front_order(d, k, ord, d->n_paths);
    if (n > 1) {
        fprintf(o, "<polyline class=\"%s\" fill=\"none\" stroke=\"%s\" points=\"", cls, color);
        for (int j = 0; j < n; j++) {
            const point *p = &d->pts[ord[j]];
            double x = fx(f, px_of(d, p, k, rel));
            if (j)
                fprintf(o, "%.1f,%.1f ", x, fy(f, d->pts[ord[j - 1]].top1));
            fprintf(o, "%.1f,%.1f ", x, fy(f, p->top1));
        }
        fputs("\"/>\n", o);
    }
    free(ord);
}

/* The data range of objective k over the given runs' points (only the
 * front's with front_only, then relative to each run's full model); the
 * top-1 range leaves out infeasible paths far below the rest (they are
 * drawn on the bottom axis). 0 if there is nothing to plot. */
static int range(const run_data *runs, int n_runs, int k, int front_only, frame *f)
{
    int any = 0, anyy = 0;
    for (int r = 0; r < n_runs; r++) {
        const run_data *d = &runs[r];
        if (front_only && (d->full < 0 || !(cost(&d->pts[d->full], k) > 0)))
            continue;
        for (int i = 0; i < d->n_pts; i++) {
            const point *p = &d->pts[i];
            double c = px_of(d, p, k, front_only), a = p->top1;
            if (isnan(c) || (front_only && !(i < d->n_paths && p->front[k])))
                continue;
            if (!any)
                f->x0 = f->x1 = c;
            any = 1;
            f->x0 = fmin(f->x0, c), f->x1 = fmax(f->x1, c);
            if (p->kind == K_INFEAS)
                continue;
            if (!anyy)
                f->y0 = f->y1 = a;
            anyy = 1;
            f->y0 = fmin(f->y0, a), f->y1 = fmax(f->y1, a);
        }
        if (!front_only && d->full >= 0 && d->info.max_acc_drop >= 0 && anyy)
            f->y0 = fmin(f->y0, d->pts[d->full].top1 - d->info.max_acc_drop);
    }
    if (any && !anyy) { /* only infeasible points: all of them */
        for (int r = 0; r < n_runs; r++)
            for (int i = 0; i < runs[r].n_pts; i++) {
                double a = runs[r].pts[i].top1;
                if (isnan(cost(&runs[r].pts[i], k)))
                    continue;
                f->y0 = anyy ? fmin(f->y0, a) : a;
                f->y1 = anyy ? fmax(f->y1, a) : a;
                anyy = 1;
            }
    }
    if (any) {
        round_range(&f->x0, &f->x1);
        round_range(&f->y0, &f->y1);
        if (f->x0 < 0)
            f->x0 = 0;
        if (f->y1 > 100)
            f->y1 = 100;
        if (f->y0 < 0)
            f->y0 = 0;
    }
    return any;
}

static const char *src_word(vk_source s)
{
    return s == VK_SRC_MEASURED ? "measured" : s == VK_SRC_MODELED ? "modeled" : "none";
}

/* Run d's points under objective k. */
static void pareto_plot(FILE *o, const run_data *d, int k)
{
    frame f = {.w = 460, .h = 320, .l = 56, .r = 14, .t = 12, .b = 40};
    int below = 0;
    if (!range(d, 1, k, 0, &f)) {
        fprintf(o, "<p class=\"na\">run %lld: no %s figures from its board.</p>\n",
                (long long)d->info.id, vk_objective_name((vk_objective)k));
        return;
    }
    svg_open(o, &f, "pareto", d->info.id, vk_objective_name((vk_objective)k));
    axes(o, &f, obj_axis[k], "top-1, %");
    if (d->full >= 0 && d->info.max_acc_drop >= 0) {
        double y = d->pts[d->full].top1 - d->info.max_acc_drop;
        if (y >= f.y0 && y <= f.y1)
            fprintf(o, "<line class=\"limit\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
                       "<text class=\"tick\" x=\"%d\" y=\"%.1f\">full model - %g points"
                       "</text>\n",
                    f.l, fy(&f, y), f.w - f.r, fy(&f, y), f.l + 4, fy(&f, y) - 3,
                    d->info.max_acc_drop);
    }
    front_line(o, &f, d, k, 0, kind_color[K_FRONT], "frontline");
    /* infeasible first, so that the rest is drawn over them */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < d->n_pts; i++) {
            const point *p = &d->pts[i];
            double c = cost(p, k);
            int kind = p->kind == K_FULL      ? K_FULL
                       : i < d->n_paths && p->front[k] ? K_FRONT
                                                       : p->kind;
            if (isnan(c) || (pass == 0) != (kind == K_INFEAS))
                continue;
            /* far below the plotted range: drawn on the bottom axis */
            double y = p->top1 < f.y0 ? f.y0 : p->top1;
            below += p->top1 < f.y0;
            fprintf(o, "<g class=\"pt\" data-run=\"%lld\" data-obj=\"%s\" data-config=\"%s\" "
                       "data-kind=\"%s\" data-src=\"%s\"%s><title>",
                    (long long)d->info.id, vk_objective_name((vk_objective)k), p->config, kind_name[kind],
                    src_word(cost_src(p, k)), p->top1 < f.y0 ? " data-below=\"1\"" : "");
            fprintf(o, "%s %s%s: top-1 %.2f%%, %s %.4g (%s)", p->config, kind_name[kind],
                    p->kind == K_FULL && p->front[k] ? ", on the front" : "", p->top1,
                    vk_objective_name((vk_objective)k), c, src_word(cost_src(p, k)));
            fputs(", ", o);
            esc(o, p->what);
            fputs("</title>", o);
            marker(o, kind, fx(&f, c), fy(&f, y), kind_color[kind], cost_src(p, k));
            fputs("</g>\n", o);
            if (kind == K_FRONT || kind == K_FULL)
                fprintf(o, "<text class=\"lbl\" x=\"%.1f\" y=\"%.1f\">%s</text>\n",
                        fx(&f, c) + 7, fy(&f, y) - 5, p->config);
        }
    if (below)
        fprintf(o, "<text class=\"tick\" x=\"%d\" y=\"%d\" text-anchor=\"end\">%d infeasible "
                   "below %g%%, drawn on the axis</text>\n",
                f.w - f.r - 4, f.h - f.b - 4, below, f.y0);
    fputs("</svg>\n", o);
}

/* Every run's front of objective k on one pair of axes, each cost relative
 * to its own run's full model (runs on different boards differ in scale). */
static void overlay_plot(FILE *o, const run_data *runs, int n_runs, int k)
{
    frame f = {.w = 640, .h = 340, .l = 56, .r = 14, .t = 12, .b = 40};
    char xl[96];
    if (!range(runs, n_runs, k, 1, &f))
        return;
    snprintf(xl, sizeof xl, "%s relative to the run's full model (1 = full model)", vk_objective_name((vk_objective)k));
    svg_open(o, &f, "overlay", 0, vk_objective_name((vk_objective)k));
    axes(o, &f, xl, "top-1, %");
    for (int r = 0; r < n_runs; r++) {
        const run_data *d = &runs[r];
        const char *col = run_color[r % N_RUN_COLORS];
        if (d->full < 0 || !(cost(&d->pts[d->full], k) > 0))
            continue;
        front_line(o, &f, d, k, 1, col, "frontline");
        for (int i = 0; i < d->n_paths; i++) {
            const point *p = &d->pts[i];
            if (!p->front[k])
                continue;
            fprintf(o, "<g class=\"opt\" data-run=\"%lld\" data-obj=\"%s\" data-config=\"%s\">"
                       "<title>run %lld %s: top-1 %.2f%%, %s %.4g (%s), %.3f of the full model"
                       "</title>",
                    (long long)d->info.id, vk_objective_name((vk_objective)k), p->config, (long long)d->info.id,
                    p->config, p->top1, vk_objective_name((vk_objective)k), cost(p, k), src_word(cost_src(p, k)),
                    px_of(d, p, k, 1));
            marker(o, K_FRONT, fx(&f, px_of(d, p, k, 1)), fy(&f, p->top1), col, cost_src(p, k));
            fputs("</g>\n", o);
        }
    }
    fputs("</svg>\n", o);
}

static void hv_plot(FILE *o, const run_data *d, int three)
{
    frame f = {.w = 460, .h = 240, .l = 64, .r = 14, .t = 12, .b = 40};
    int n = 0;
    double lo = 0, hi = 0;
    for (int i = 0; i < d->n_paths; i++) {
        double v = three ? d->hv3[i] : d->hv[i];
        if (isnan(v) || v < 0)
            continue;
        hi = n++ ? fmax(hi, v) : v;
    }
    if (!n) {
        fprintf(o, "<p class=\"na\">run %lld: %s</p>\n", (long long)d->info.id,
                three ? "no 3-objective hypervolume (its board gives no energy)"
                      : "no hypervolume recorded");
        return;
    }
    f.x0 = 0;
    f.x1 = d->n_paths;
    f.y0 = lo;
    f.y1 = hi;
    round_range(&f.x0, &f.x1);
    round_range(&f.y0, &f.y1);
    f.x0 = fmax(f.x0, 0);
    f.y0 = fmax(f.y0, 0);
    svg_open(o, &f, three ? "hv hv3" : "hv", d->info.id, NULL);
    axes(o, &f, "evaluations (paths measured or found in the database)",
         three ? "hypervolume (error, latency, energy)" : "hypervolume (error vs cost)");
    fprintf(o, "<polyline class=\"hvline\" fill=\"none\" stroke=\"%s\" points=\"",
            kind_color[K_FEAS]);
    for (int i = 0; i < d->n_paths; i++) {
        double v = three ? d->hv3[i] : d->hv[i];
        if (!isnan(v) && v >= 0)
            fprintf(o, "%.1f,%.1f ", fx(&f, i + 1), fy(&f, v));
    }
    fputs("\"/>\n</svg>\n", o);
}

static void heatmap(FILE *o, const run_data *d)
{
    int k = run_obj(&d->info), n = 0, L = 0, cw = 30, rh = 20, lw = 200;
    int ord[256];
    n = front_order(d, k, ord, 256);
    if (!n) {
        fprintf(o, "<p class=\"na\">run %lld: no feasible path, so no front.</p>\n",
                (long long)d->info.id);
        return;
    }
    L = (int)strlen(d->paths[ord[0]].genome);
    int w = lw + L * cw + 10, h = 24 + (n + 1) * rh + 8;
    frame f = {.w = w, .h = h};
    svg_open(o, &f, "heatmap", d->info.id, vk_objective_name((vk_objective)k));
    for (int e = 0; e < L; e++)
        fprintf(o, "<text class=\"tick\" x=\"%d\" y=\"16\" text-anchor=\"middle\">%d</text>",
                lw + e * cw + cw / 2, e + 1);
    fputs("\n", o);
    for (int r = 0; r < n; r++) {
        const vk_path_rec *p = &d->paths[ord[r]];
        int y = 24 + r * rh;
        fprintf(o, "<text class=\"tick\" x=\"%d\" y=\"%d\" text-anchor=\"end\">%s %.2f%% %.4g %s</text>",
                lw - 6, y + 14, d->pts[ord[r]].config, p->top1, cost(&d->pts[ord[r]], k),
                obj_unit[k]);
        for (int e = 0; e < L && p->genome[e]; e++) {
            char g = p->genome[e];
            fprintf(o, "<rect class=\"hm\" data-mode=\"%c\" x=\"%d\" y=\"%d\" width=\"%d\" "
                       "height=\"%d\" fill=\"%s\"/><text class=\"hmt\" x=\"%d\" y=\"%d\" "
                       "text-anchor=\"middle\">%c</text>",
                    g, lw + e * cw, y, cw - 2, rh - 2,
                    g == 'F' ? "#1f4e79" : g == 'S' ? "#f4d35e" : "#bbbbbb", lw + e * cw + cw / 2,
                    y + 14, g);
        }
        fputs("\n", o);
    }
    /* the share of front paths that skip each encoder */
    int y = 24 + n * rh;
    fprintf(o, "<text class=\"tick\" x=\"%d\" y=\"%d\" text-anchor=\"end\">skipped in</text>",
            lw - 6, y + 14);
    for (int e = 0; e < L; e++) {
        int s = 0;
        for (int r = 0; r < n; r++)
            s += d->paths[ord[r]].genome[e] == 'S';
        fprintf(o, "<text class=\"tick\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">%d/%d</text>",
                lw + e * cw + cw / 2, y + 14, s, n);
    }
    fputs("\n</svg>\n", o);
}

static void bar(FILE *o, int y, const char *label, double v, double vmax, const char *text)
{
    int lw = 110, bw = 220;
    fprintf(o, "<text class=\"tick\" x=\"%d\" y=\"%d\" text-anchor=\"end\">", lw - 6, y + 12);
    esc(o, label);
    fprintf(o, "</text><rect class=\"stage\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"14\"/>"
               "<text class=\"tick\" x=\"%.1f\" y=\"%d\">%s</text>\n",
            lw, y, vmax > 0 ? v / vmax * bw : 0, lw + (vmax > 0 ? v / vmax * bw : 0) + 4, y + 12,
            text);
}

/* Where run d's chosen path spends its latency: per stage, per encoder. */
static void breakdown(FILE *o, const run_data *d)
{
    if (d->chosen < 0) {
        fprintf(o, "<p class=\"na\">run %lld: no configuration to break down.</p>\n",
                (long long)d->info.id);
        return;
    }
    const vk_path_rec *p = &d->paths[d->pts[d->chosen].path];
    uint64_t sum = 0, mx = 0;
    char t[64];
    int L = (int)strlen(p->genome);
    for (int s = 0; s < VK_STAGE_N; s++) {
        sum += p->m.stage_cycles[s];
        if (p->m.stage_cycles[s] > mx)
            mx = p->m.stage_cycles[s];
    }
    fprintf(o, "<p>%s %s: %.4f ms per image (%s), top-1 %.2f%%</p>\n", d->pts[d->chosen].config,
            p->genome, p->m.latency_ms, src_word(p->m.latency_src), p->top1);
    if (!sum) {
        fprintf(o, "<p class=\"na\">Its board measured the path end to end; it reports no "
                   "cycles per stage.</p>\n");
    } else {
        frame f = {.w = 480, .h = VK_STAGE_N * 18 + 4};
        svg_open(o, &f, "stages", d->info.id, NULL);
        for (int s = 0; s < VK_STAGE_N; s++) {
            double share = (double)p->m.stage_cycles[s] / (double)sum;
            snprintf(t, sizeof t, "%.4f ms, %.1f%%", share * p->m.latency_ms, 100 * share);
            bar(o, 2 + s * 18, vk_stage_str((vk_stage)s), (double)p->m.stage_cycles[s],
                (double)mx, t);
        }
        fputs("</svg>\n", o);
    }
    /* per encoder: suffix_ms[e] - suffix_ms[e + 1] */
    double emax = 0;
    int ok = p->m.suffix_ms[0] > 0;
    for (int e = 0; e < L && ok; e++) {
        double c = p->m.suffix_ms[e] - p->m.suffix_ms[e + 1];
        ok = c >= 0;
        emax = fmax(emax, c);
    }
    if (!ok) {
        fprintf(o, "<p class=\"na\">No cost per encoder stored for this path.</p>\n");
        return;
    }
    fputs("<p>Cost per encoder (from the stored suffix costs; encoder 1 includes the patch "
          "embedding, the head is the cost after the last encoder):</p>\n",
          o);
    frame fe = {.w = 480, .h = (L + 1) * 18 + 4};
    svg_open(o, &fe, "encoders", d->info.id, NULL);
    for (int e = 0; e <= L; e++) {
        double c = e < L ? p->m.suffix_ms[e] - p->m.suffix_ms[e + 1] : p->m.suffix_ms[L];
        char label[32];
        if (e < L)
            snprintf(label, sizeof label, "encoder %d (%c)", e + 1, p->genome[e]);
        else
            snprintf(label, sizeof label, "head");
        snprintf(t, sizeof t, "%.4f ms", c);
        bar(o, 2 + e * 18, label, c, fmax(emax, p->m.suffix_ms[L]), t);
    }
    fputs("</svg>\n", o);
}

static void legend(FILE *o)
{
    static const int kinds[] = {K_FULL, K_FRONT, K_FEAS, K_INFEAS, K_CASCADE, K_REPLAY};
    fputs("<svg class=\"legend\" width=\"900\" height=\"26\" "
          "xmlns=\"http://www.w3.org/2000/svg\">\n",
          o);
    for (int i = 0; i < 6; i++) {
        marker(o, kinds[i], 12 + i * 120, 13, kind_color[kinds[i]], VK_SRC_MEASURED);
        fprintf(o, "<text class=\"tick\" x=\"%d\" y=\"17\">%s</text>\n", 22 + i * 120,
                kinds[i] == K_FRONT ? "front (feasible)" : kind_name[kinds[i]]);
    }
    marker(o, K_FEAS, 742, 13, "#444444", VK_SRC_MEASURED);
    fputs("<text class=\"tick\" x=\"752\" y=\"17\">measured</text>", o);
    marker(o, K_FEAS, 822, 13, "#444444", VK_SRC_MODELED);
    fputs("<text class=\"tick\" x=\"832\" y=\"17\">modeled</text>\n</svg>\n", o);
}

static void run_head(FILE *o, const run_data *d, int ri)
{
    const vk_run_info *r = &d->info;
    fprintf(o, "<h3 style=\"color:%s\">run %lld</h3>\n<p class=\"small\">",
            run_color[ri % N_RUN_COLORS], (long long)r->id);
    esc(o, r->model);
    fputs(" on ", o);
    esc(o, r->boards);
    fprintf(o, "<br>%d images of ", r->n_images);
    esc(o, r->data);
    fprintf(o, "<br>objective error vs %s, %s", r->objective, r->strategy);
    if (r->proxy_n > 0)
        fprintf(o, " (accuracy proxy on %d validation images)", r->proxy_n);
    fprintf(o, ", seed %llu, %s; %d paths, %d cascades", (unsigned long long)r->seed,
            r->status, d->n_paths, d->n_cas);
    if (d->full >= 0)
        fprintf(o, "; full model %.2f%%", d->pts[d->full].top1);
    if (r->max_acc_drop >= 0)
        fprintf(o, "; at most %g points below it", r->max_acc_drop);
    if (r->latency_budget_ms > 0)
        fprintf(o, "; latency at most %g ms", r->latency_budget_ms);
    if (r->energy_budget_mj > 0)
        fprintf(o, "; energy at most %g mJ", r->energy_budget_mj);
    fputs("</p>\n", o);
}

static void export_table(FILE *o, const run_data *d, const char *db_name)
{
    int k = run_obj(&d->info);
    fputs("<table><tr><th>config</th><th>what</th><th>top-1</th><th>latency ms</th>"
          "<th>energy mJ</th><th>export</th></tr>\n",
          o);
    for (int i = 0; i < d->n_paths + d->n_cas; i++) {
        const point *p = &d->pts[i];
        if (i < d->n_paths && !p->front[k])
            continue;
        fprintf(o, "<tr class=\"row\" data-run=\"%lld\" data-config=\"%s\"><td>%s</td><td>",
                (long long)d->info.id, p->config, p->config);
        esc(o, p->what);
        fprintf(o, "</td><td>%.2f%%</td><td>%.4f %s</td>", p->top1, p->lat, src_word(p->lat_src));
        if (p->en_src == VK_SRC_NONE)
            fputs("<td>-</td>", o);
        else
            fprintf(o, "<td>%.4f %s</td>", p->en, src_word(p->en_src));
        fputs("<td><code>vitskip export --db ", o);
        esc(o, db_name);
        fprintf(o, " --config %s --format header -o skip_%s.h</code></td></tr>\n", p->config,
                p->config);
    }
    fputs("</table>\n", o);
}

static const char css[] =
    "body{font-family:'DejaVu Sans',Arial,sans-serif;margin:20px;color:#222;font-size:14px}"
    "h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ccc}"
    "h3{font-size:15px;margin:6px 0}.small{font-size:12px;color:#444}"
    ".runs{display:grid;gap:18px;grid-template-columns:repeat(var(--n),minmax(470px,1fr))}"
    ".plotarea{fill:#fafafa;stroke:#bbb}.grid{stroke:#e4e4e4}"
    ".tick{font-size:11px;fill:#333}.axis{font-size:12px;fill:#111}"
    ".lbl{font-size:10px;fill:#a00}.hmt{font-size:11px;fill:#fff}"
    ".frontline{stroke-width:1.5;stroke-dasharray:4 2}.hvline{stroke-width:2}"
    ".limit{stroke:#d62728;stroke-width:1;stroke-dasharray:2 3}.stage{fill:#1f77b4}"
    ".na{color:#777;font-style:italic}table{border-collapse:collapse;font-size:12px}"
    "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}code{font-size:11px}";

vk_status vk_report_write(vk_store *db, const vk_report_opts *o, FILE *out, vk_err *err)
{
    run_data *runs = calloc((size_t)o->n_runs + 1, sizeof *runs);
    vk_replay_rec *rep = NULL;
    int n_rep = 0, chosen_run = -1;
    vk_status rc;
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    if (!runs)
        return vk_fail(err, VK_E_NOMEM, "report: out of memory");
    if ((rc = vk_store_replay_list(db, &rep, &n_rep, err)) != VK_OK)
        goto out;
    for (int r = 0; r < o->n_runs; r++)
        if ((rc = load_run(db, o->runs[r], &runs[r], rep, n_rep, err)) != VK_OK)
            goto out;
    if (o->config) {
        for (int r = 0; r < o->n_runs && chosen_run < 0; r++)
            for (int i = 0; i < runs[r].n_paths; i++)
                if (!strcmp(runs[r].pts[i].config, o->config)) {
                    runs[r].chosen = i;
                    chosen_run = r;
                    break;
                }
        if (chosen_run < 0) {
            rc = vk_fail(err, VK_E_NOTFOUND, "--config %s: not a path of the runs shown",
                         o->config);
            goto out;
        }
    }
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
    fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                 "<title>vitskip report: ");
    esc(out, o->db_name);
    fprintf(out, "</title><style>%s</style></head>\n<body style=\"--n:%d\">\n<h1>vitskip report: ",
            css, o->n_runs);
    esc(out, o->db_name);
    fprintf(out, "</h1>\n<p class=\"small\">written %s from the database; runs", when);
    for (int r = 0; r < o->n_runs; r++)
        fprintf(out, " %lld", (long long)o->runs[r]);
    fputs(". Figures are <b>measured</b> (a clock or sensor on the named board; filled "
          "markers) or <b>modeled</b> (the cycle and energy model; hollow markers), as each "
          "board labelled them. Cascade figures are predicted from their two paths' stored "
          "per-image results; replays re-measured a configuration end to end.</p>\n",
          out);
    legend(out);

    fputs("<h2>Runs</h2>\n<div class=\"runs\">\n", out);
    for (int r = 0; r < o->n_runs; r++) {
        fputs("<div>", out);
        run_head(out, &runs[r], r);
        fprintf(out, "<p class=\"small\">board attempts: %d ok, %d failed</p></div>\n",
                runs[r].ok_attempts, runs[r].failed_attempts);
    }
    fputs("</div>\n", out);

    for (int k = 0; k < OBJ_N; k++) {
        fprintf(out, "<h2 id=\"pareto-%s\">Pareto front: top-1 vs %s</h2>\n", vk_objective_name((vk_objective)k),
                vk_objective_name((vk_objective)k));
        if (o->n_runs > 1) {
            fputs("<p>The runs' fronts together (colour of each run's heading):</p>\n", out);
            overlay_plot(out, runs, o->n_runs, k);
        }
        fputs("<div class=\"runs\">\n", out);
        for (int r = 0; r < o->n_runs; r++) {
            fprintf(out, "<div><h3 style=\"color:%s\">run %lld</h3>\n", run_color[r % N_RUN_COLORS],
                    (long long)runs[r].info.id);
            pareto_plot(out, &runs[r], k);
            fputs("</div>\n", out);
        }
        fputs("</div>\n", out);
    }

    fputs("<h2 id=\"hypervolume\">Hypervolume after each evaluation</h2>\n<p>As the search "
          "recorded it: feasible points only; error vs the run's cost against 100% error and "
          "1.1 times the full path's cost, and error, latency and energy together.</p>\n"
          "<div class=\"runs\">\n",
          out);
    for (int r = 0; r < o->n_runs; r++) {
        fprintf(out, "<div><h3>run %lld</h3>\n", (long long)runs[r].info.id);
        hv_plot(out, &runs[r], 0);
        hv_plot(out, &runs[r], 1);
        fputs("</div>\n", out);
    }
    fputs("</div>\n", out);

    fputs("<h2 id=\"accuracy\">Accuracy: selection vs test</h2>\n<div class=\"runs\">\n", out);
    for (int r = 0; r < o->n_runs; r++) {
        fprintf(out, "<div><h3>run %lld</h3><p>Every top-1 in this report is on the run's own "
                     "%d images (",
                (long long)runs[r].info.id, runs[r].info.n_images);
        esc(out, runs[r].info.data);
        fputs("), the images the search selected on. This database stores no separate test "
              "accuracy, so the chosen paths' figures are optimistic: check a path on "
              "held-out images with <code>vitskip eval --skip ...</code> on other data.</p>"
              "</div>\n",
              out);
    }
    fputs("</div>\n", out);

    fputs("<h2 id=\"heatmap\">The front's choices per encoder</h2>\n<p>Front paths of each "
          "run's objective, cheapest first (F full attention, S skipped).</p>\n"
          "<div class=\"runs\">\n",
          out);
    for (int r = 0; r < o->n_runs; r++) {
        fprintf(out, "<div><h3>run %lld (error vs %s)</h3>\n", (long long)runs[r].info.id,
                runs[r].info.objective);
        heatmap(out, &runs[r]);
        fputs("</div>\n", out);
    }
    fputs("</div>\n", out);

    fputs("<h2 id=\"stages\">Where the latency goes</h2>\n<p>Per stage: the stored modeled "
          "cycles per stage, as shares of the latency. Default configuration: the cheapest "
          "feasible front path of the run's objective (<code>--config</code> chooses "
          "another).</p>\n<div class=\"runs\">\n",
          out);
    for (int r = 0; r < o->n_runs; r++) {
        fprintf(out, "<div><h3>run %lld</h3>\n", (long long)runs[r].info.id);
        breakdown(out, &runs[r]);
        fputs("</div>\n", out);
    }
    fputs("</div>\n", out);

    fputs("<h2 id=\"front\">Front paths and cascades, and how to export them</h2>\n", out);
    for (int r = 0; r < o->n_runs; r++) {
        fprintf(out, "<h3>run %lld (front of error vs %s; every stored cascade)</h3>\n",
                (long long)runs[r].info.id, runs[r].info.objective);
        export_table(out, &runs[r], o->db_name);
    }
    fputs("</body></html>\n", out);
    if (fflush(out) != 0 || ferror(out))
        rc = vk_fail(err, VK_E_IO, "report: write error");
out:
    for (int r = 0; r < o->n_runs; r++)
        run_free(&runs[r]);
    free(runs);
    free(rep);
    return rc;
}
