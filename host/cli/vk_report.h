/* vk_report: `vitskip report`, one self-contained HTML file about one or
 * more runs of a database: inline SVG and CSS, no script, nothing fetched,
 * so it opens anywhere and can be mailed or archived as one file.
 *
 * For each run, side by side (one column per run):
 *   - the Pareto front per objective (top-1 vs latency, energy and EDP):
 *     every path of the run (feasible, infeasible under the run's accuracy
 *     and budget constraints, the full model, the front of the feasible
 *     paths), the run's cascades (figures predicted from their two paths'
 *     stored per-image results) and the board replays of the run's
 *     configurations; measured figures are drawn filled, modeled ones
 *     hollow; with several runs, a plot overlays their fronts;
 *   - the hypervolume after each evaluation (2 objectives: error and the
 *     run's cost; 3: error, latency, energy), as the search recorded it;
 *   - accuracy: the top-1 the search selected on (its own images); a
 *     separate test accuracy is shown beside it when the database stores
 *     one (this schema does not, and the report says so);
 *   - a heat map of the front's per-encoder choices;
 *   - the per-stage latency breakdown of one configuration (the cheapest
 *     feasible front path, or the one asked for), from the stored modeled
 *     cycles per stage, and its cost per encoder from the stored suffix
 *     costs;
 *   - the table of front paths and cascades with the `vitskip export`
 *     command for each.
 * Every point is an SVG element of class "pt" carrying data-run,
 * data-obj, data-config, data-kind (full, front, feasible, infeasible,
 * cascade, replay) and data-src (measured, modeled); front points are
 * labelled with their config (class "lbl"). Text from the database is
 * HTML-escaped.
 *
 *     vk_report_opts o = {.db_name = "run.db", .runs = ids, .n_runs = 2};
 *     if (vk_report_write(db, &o, stdout, &err) != VK_OK) die(err.msg);
 *
 * Reads the database only through db/vk_store.h; no state of its own. */
#ifndef VK_REPORT_H
#define VK_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "db/vk_store.h"

typedef struct {
    const char *db_name;  /* as the user named it, for the export commands */
    const int64_t *runs;  /* runs to show, in this order */
    int n_runs;
    const char *config;   /* "P12": the configuration whose stages are
                             broken down (its run's column); NULL = each
                             run's cheapest feasible front path */
} vk_report_opts;

/* Writes the report to out. VK_E_NOTFOUND for a run or config that is not
 * in the database, VK_E_DB, VK_E_IO on a write error; out may hold a
 * partial file on error. */
vk_status vk_report_write(vk_store *db, const vk_report_opts *o, FILE *out, vk_err *err);

#endif
