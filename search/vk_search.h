/* vk_search: the co-search driver. Ties the workload (model, quantized blob,
 * evaluation images), the boards, NSGA-II, the cascade sweep and the
 * database together.
 *
 * A run proposes paths of a space of per-encoder modes (vk_genome.h) with
 * NSGA-II (seeded with no skip, PIVOT's alternate skip, all skipped where
 * the space has S, and the user's genomes; or, with `random`, the full
 * path then uniformly random distinct paths, the baseline; or, with
 * `predict`, the default, NSGA-II whose bred children are screened: of
 * VK_SEARCH_PRED_POOL candidates per child only the most promising is
 * measured, by top-1 from the accuracy proxy (vk_proxy.h) calibrated on the
 * run's measurements and cost from a surrogate trained on them, vk_pred.h),
 * looks each one up in the
 * database first (never measuring a genome twice for the same model,
 * dataset and board), keeps every board busy with one worker thread each,
 * records every result as it arrives (one transaction per measurement), the
 * hypervolume after every measurement (2 objectives: error and the chosen
 * cost, reference 100% error and 1.1 x the full path's cost; 3 objectives:
 * error, latency and energy, reference 1.1 x the full path's; feasible
 * points only), failed attempts separately, and at
 * the end the Pareto set of cascades computed from the measured paths'
 * per-image results.
 *
 * Splits: every path is measured, and every selection (NSGA-II, the
 * constraints, the front, the cascades' thresholds) made, on the validation
 * split (vk_workload_take: by default a seeded stratified sample of the
 * training file, narrowed to the checkpoint's hold-out); after the search
 * the front, the full path and the cascades' low and high paths, and only
 * they, are measured on the test split (the workload's evaluation images),
 * which no selection saw, and that figure is stored
 * (vk_store_path_test_put) and reported beside the validation one; each
 * cascade's test top-1 and escalated share follow exactly from its two
 * paths' per-image test results at the threshold chosen on validation,
 * and are stored with it. A killed run resumes with the same run id: the
 * deterministic proposals are replayed from the database, so only missing
 * measurements reach a board; a larger budget extends a finished run the
 * same way. Boards are opened and loaded before a new run is stored: one
 * that fails is reported (board_unavailable) and left out, and the search
 * fails only when none is left, so a bad argument leaves no run behind.
 * Setting *o.stop (Ctrl-C) lets the paths in flight finish and be stored,
 * then marks the run interrupted (res->interrupted); it resumes as above.
 * A run that fails once stored (every board failed, the database full)
 * is marked failed, its measurements kept for a resume.
 *
 * The search prints nothing: it reports progress through the optional
 * callbacks of vk_search_events and returns what there is to show (the
 * summary, the Pareto front of paths, the cascades) in a vk_search_result.
 *
 *     vk_search_opts o; vk_search_opts_default(&o);
 *     o.model = "models/demo"; o.data = path; o.db = "run.db";
 *     o.boards[o.n_boards++] = "sim";
 *     vk_search_result r;
 *     if (vk_search_run(&o, &r, &err) != VK_OK) die(err.msg);
 *     printf("run %lld: %d paths\n", (long long)r.run_id, r.n_evaluated);
 *     vk_search_result_free(&r);
 *
 * Not reentrant per database file (one writer). */
#ifndef VK_SEARCH_H
#define VK_SEARCH_H

#include <signal.h>
#include <stdint.h>

#include "../db/vk_store.h"
#include "../host/vk_calib.h"
#include "../host/vk_status.h"
#include "vk_objective.h"

#define VK_SEARCH_MAX_BOARDS 16
#define VK_SEARCH_MAX_SEEDS 16
#define VK_SEARCH_MAX_SWEEP 65536
#define VK_SEARCH_PRED_POOL 16 /* candidates bred per child measured (predict) */

/* The run as it starts (for a line saying what runs). */
typedef struct {
    int64_t run_id;
    const char *model;
    int n_images, n_layers, n_boards; /* n_images: validation, measured on */
    int n_test;                       /* test images, for the front at the end */
    vk_objective objective;
    int random; /* random search, else NSGA-II */
    int predict; /* NSGA-II screened by the surrogate */
    uint64_t seed;
    const char *space; /* the run's space (vk_space_format) */
    uint64_t n_valid;  /* its valid paths for this model */
    const char *const *boards; /* n_boards specs, borrowed for the call */
    int run_boards;            /* a resume on the boards its run stored */
    const char *identity;      /* what measures on them (vk_board_identity) */
} vk_search_start;

/* The state after a generation was told. */
typedef struct {
    int gen;
    int n_evaluated;          /* so far, found in the database included */
    int n_found;              /* of this generation, found in the database */
    double hv;                /* 2-objective hypervolume so far */
    const vk_path_rec *best;  /* the cheapest feasible (else least violating)
                                 path so far; borrowed for the call */
    int best_feasible;
    double best_cost;         /* of the objective */
    double seconds;           /* since the run started */
} vk_search_gen;

/* Progress callbacks, each optional. started and generation are called on
 * the thread that called vk_search_run; batch_progress and attempt_failed
 * on the boards' worker threads, one call at a time (under the run's lock,
 * so they must not call back into the search). */
typedef struct {
    void *ctx;
    void (*started)(void *ctx, const vk_search_start *s);
    /* a batch of n_paths proposals of which n_found were in the database
       goes to the boards; batch_progress reports the paths done (found
       included) as they finish, batch_end closes the batch */
    void (*batch_begin)(void *ctx, int gen, int n_paths, int n_found); /* gen -1:
                                 the front measured on the test split */
    void (*batch_progress)(void *ctx, int n_done);
    void (*batch_end)(void *ctx);
    void (*attempt_failed)(void *ctx, const char *genome, const char *board, int attempt,
                           const char *msg);
    void (*generation)(void *ctx, const vk_search_gen *g);
    /* a board that could not be opened or loaded at the start: the search
       goes on with the others (it fails when none is left) */
    void (*board_unavailable)(void *ctx, const char *spec, const char *msg);
} vk_search_events;

typedef struct {
    const char *model, *data, *calib; /* as vk_workload_opts */
    const struct vk_workload *workload; /* or NULL: an already opened workload
                                          of that model and data, borrowed */
    int limit;                        /* test images (0 = the whole test split) */
    const char *val;                  /* validation source (NULL: the default) */
    const char *test;                 /* test source (NULL: data) */
    int n_val;                        /* validation images (0: VK_SPLIT_VAL_N, or
                                         limit when that is smaller) */
    const char *db;
    const char *boards[VK_SEARCH_MAX_BOARDS];
    int n_boards; /* a resume without boards takes its run's */
    vk_objective objective;
    double max_acc_drop;      /* points vs the full model; < 0 = none */
    double latency_budget_ms; /* <= 0 = none */
    double energy_budget_mj;  /* <= 0 = none */
    int budget;               /* evaluations (measured or found); 0 = none */
    double time_budget_s;     /* 0 = none */
    int stagnation;           /* stop after this many evaluations without
                                 hypervolume gain; 0 = never */
    int population;           /* NSGA-II population (default 6) */
    int offspring;            /* NSGA-II children per generation; 0 = one
                                 per board, at most the population (steady
                                 state on one board) */
    uint64_t seed;
    const char *seed_genomes[VK_SEARCH_MAX_SEEDS];
    int n_seed_genomes;
    int64_t resume_run;       /* > 0: continue this run (also a finished
                                 one); budget > 0 then replaces the run's
                                 budget, not below what it evaluated */
    const volatile sig_atomic_t *stop; /* optional: set (by a signal handler)
                                 to stop; the paths in flight are stored,
                                 the run is marked interrupted, resumable */
    int max_retries;          /* per path after board failures (default 3) */
    int quiet;                /* no workload notes on stderr */
    const vk_calib_opts *cache; /* the calibration cache and its progress
                                 (NULL: the default folder, silent); borrowed */
    const vk_search_events *events; /* NULL: no progress reported; borrowed */
    const char *space;        /* genes per encoder (vk_space_parse): "FS"
                                 (default, PIVOT's), "all", ... */
    int exhaustive;           /* sweep: every valid path of the space (at
                                 most VK_SEARCH_MAX_SWEEP), no NSGA-II */
    int one_at_a_time;        /* with exhaustive: the full path and its
                                 one-at-a-time variants in the space
                                 (vk_space_one_at_a_time) instead, exactly
                                 (budget set to their count, no seeds) */
    int random;               /* random search instead of NSGA-II (the baseline) */
    int predict;              /* NSGA-II with children screened by a surrogate
                                 (strategy `predict`) */
    int proxy_n;              /* predict: images of the accuracy proxy (the
                                 first of the validation split, vk_proxy.h);
                                 0: VK_PROXY_DEFAULT_N. Stored with the run
                                 (at most its validation images); a resume
                                 takes the run's, another is VK_E_MISMATCH */
    struct vk_proxy *proxy;   /* or NULL: a proxy of this workload's model and
                                 validation split, shared by several runs
                                 (the benchmark's seeds), borrowed */
    int no_cascades;          /* skip the cascade sweep at the end */
    int no_test;              /* skip the front's test measurement (a benchmark
                                 of the selection alone: front_test_top1 NULL) */
} vk_search_opts;

void vk_search_opts_default(vk_search_opts *o);

/* How far a path or cascade is outside a run's constraints (0 = feasible,
 * larger = worse; constrained domination ranks on it): the accuracy drop
 * from the full model's top-1 beyond max_acc_drop (< 0 = none), latency
 * and energy beyond their budgets (<= 0 = none), each relative. */
double vk_search_violation(double max_acc_drop, double latency_budget_ms,
                           double energy_budget_mj, double full_top1, double top1,
                           double latency_ms, double energy_mj);

/* What a run found. Filled step by step: on error, run_id is set once the
 * run exists, the front once every path was told (has_front), the
 * cascades once they were stored (has_cascades). */
typedef struct {
    int64_t run_id;          /* 0 until the run exists */
    vk_objective objective;  /* the run's (a resumed run keeps its own) */
    int random;              /* random search, else NSGA-II */
    int predict;             /* NSGA-II screened by the surrogate */
    int n_evaluated;
    double seconds;          /* from start to the last evaluation */
    double full_top1;        /* the full path's, % on validation */
    double full_test_top1;   /* the full path's, % on test */
    int n_val, n_test;       /* images of the splits */
    double hv, hv3;          /* hypervolumes; hv3 = -1 without energy */
    double peak_rss_mib;     /* of this process after the last evaluation */
    int has_front;
    vk_path_rec *front;      /* Pareto front of paths by cost, ascending;
                                per-image results not kept (res NULL);
                                top1 on validation */
    double *front_test_top1; /* [n_front]: each one's top-1 on test */
    int n_front;
    int front_infeasible;    /* no feasible path: the least violating shown */
    int has_cascades;
    vk_cascade_rec *cascades; /* the stored Pareto set of cascades (chosen on
                                 validation; test figures unless no_test) */
    int n_cascades;
    double best_resume_ms;   /* cheapest cascade within 0.5 points of the
                                full path, resuming; INFINITY if none */
    double best_scratch_ms;  /* the same, the high path from scratch */
    int interrupted;         /* stopped by o.stop: no front, no cascades */
} vk_search_result;

/* Runs (or resumes) a search. *res is always initialized (free it with
 * vk_search_result_free, also on error). */
vk_status vk_search_run(const vk_search_opts *o, vk_search_result *res, vk_err *err);

void vk_search_result_free(vk_search_result *res); /* NULL is a no-op */

#endif
