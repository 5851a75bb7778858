/* vk_bench: how good is a search strategy, against a sweep's true front
 * (`vitskip search-bench`, the library part; host/cli prints it).
 *
 * A sweep run (`vitskip sweep`: every valid path of its space measured, so
 * its front is the true one) is copied to a temporary database, and each
 * strategy (NSGA-II, random search, NSGA-II with the predictor) runs
 * n_seeds times (seeds 1..n_seeds) on the copy with the sweep's model,
 * data, board, objective, constraints and space: every path a search asks
 * for is found there, so no board is used and the answers are the sweep's
 * own measurements (a search that had to measure is an error). For each
 * search and budget, the hypervolume reached after that many evaluations,
 * as a percentage of the true front's (2 objectives: error vs the run's
 * cost; 3: error, latency, energy), on the validation split the searches
 * select on.
 *
 * Lifecycle: vk_bench_run fills a result, vk_bench_result_free releases
 * it. The model is quantized once for every search. Runs the searches one
 * after another; not thread-safe (one call at a time per database).
 *
 *     vk_bench_opts o = {.db = "sweep.db", .n_seeds = 10, .budgets = {32, 64},
 *                        .n_budgets = 2, .strategies = {VK_BENCH_NSGA2, VK_BENCH_RANDOM},
 *                        .n_strategies = 2, .population = 6, .offspring = 1};
 *     vk_bench_result r;
 *     if (vk_bench_run(&o, &r, &err) != VK_OK)
 *         die(err.msg);
 *     printf("%.2f%%\n", vk_bench_frac(&o, &r, 0, 1, 0, 0));
 *     vk_bench_result_free(&r);
 */
#ifndef VK_BENCH_H
#define VK_BENCH_H

#include "vk_search.h"

#define VK_BENCH_MAX_BUDGETS 8

/* The strategies, as vitskip search --strategy names them. */
typedef enum { VK_BENCH_NSGA2, VK_BENCH_RANDOM, VK_BENCH_PREDICT, VK_BENCH_N_STRATEGIES } vk_bench_strategy;

typedef struct {
    const char *db;      /* the sweep's database: read; the searches run on a copy */
    int64_t run;         /* the sweep run; 0: the newest that covers its whole space */
    int n_seeds;         /* >= 1 */
    int budgets[VK_BENCH_MAX_BUDGETS], n_budgets; /* increasing, the last <= the space */
    vk_bench_strategy strategies[VK_BENCH_N_STRATEGIES];
    int n_strategies;    /* each at most once */
    int population, offspring; /* NSGA-II's */
    /* optional: called after each search (done of total searches) */
    void (*progress)(void *ctx, int done, int total);
    void *progress_ctx;
    const vk_search_events *events; /* passed to every search; NULL: none */
} vk_bench_opts;

typedef struct {
    vk_run_info sweep;   /* the sweep run */
    int n_paths;         /* its paths: the whole space */
    double true_hv;      /* the true front's hypervolume, 2 objectives */
    double true_hv3;     /* and 3 (-1: the sweep has none) */
    double *frac;        /* owned; read it through vk_bench_frac */
    double seconds;      /* the searches' wall time */
} vk_bench_result;

/* Runs the benchmark. VK_E_ARG for options out of range, VK_E_NOTFOUND for
 * a database without a sweep run, VK_E_MISMATCH for a run that is not a
 * sweep (or stored before validation and test splits, or whose model or
 * data changed since), each naming the run; *r untouched on error. */
vk_status vk_bench_run(const vk_bench_opts *o, vk_bench_result *r, vk_err *err);
/* The percentage of the true front's hypervolume that strategy
 * o->strategies[st] reached with seed sd + 1 after o->budgets[b]
 * evaluations; k = 0: 2 objectives, 1: 3 (-1 when the sweep has none). */
double vk_bench_frac(const vk_bench_opts *o, const vk_bench_result *r, int st, int b, int sd,
                     int k);
void vk_bench_result_free(vk_bench_result *r); /* NULL fields are fine */
/* "nsga2", "random", "predict"; the table's "NSGA-II", "random search",
 * "NSGA-II+predictor". */
const char *vk_bench_strategy_name(vk_bench_strategy s);
const char *vk_bench_strategy_text(vk_bench_strategy s);

#endif
