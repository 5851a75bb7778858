/* vk_search: the co-search driver. Ties the workload (model, quantized blob,
 * evaluation images), the boards, NSGA-II, the cascade sweep and the
 * database together.
 *
 * A run proposes paths with NSGA-II (seeded with no skip, PIVOT's alternate
 * skip, all skipped, and the user's genomes; or, with `random`, the full
 * path then uniformly random distinct paths, the baseline), looks each one up in the
 * database first (never measuring a genome twice for the same model,
 * dataset and board), keeps every board busy with one worker thread each,
 * records every result as it arrives (one transaction per measurement), the
 * hypervolume after every measurement (2 objectives: error and the chosen
 * cost, reference 100% error and 1.1 x the full path's cost; 3 objectives:
 * error, latency and energy, reference 1.1 x the full path's; feasible
 * points only), failed attempts separately, and at
 * the end the Pareto set of cascades computed from the measured paths'
 * per-image results. A killed run resumes with the same run id: the
 * deterministic proposals are replayed from the database, so only missing
 * measurements reach a board.
 *
 *     vk_search_opts o; vk_search_opts_default(&o);
 *     o.model = "models/demo"; o.data = path; o.db = "run.db";
 *     o.boards[o.n_boards++] = "sim";
 *     if (vk_search_run(&o, &run_id, &err) != VK_OK) die(err.msg);
 *
 * Not reentrant per database file (one writer). */
#ifndef VK_SEARCH_H
#define VK_SEARCH_H

#include <stdint.h>

#include "../host/vk_status.h"

#define VK_SEARCH_MAX_BOARDS 16
#define VK_SEARCH_MAX_SEEDS 16

typedef enum { VK_OBJ_LATENCY = 0, VK_OBJ_ENERGY = 1, VK_OBJ_EDP = 2 } vk_objective;

typedef struct {
    const char *model, *data, *calib; /* as vk_workload_opts */
    const struct vk_workload *workload; /* or NULL: an already opened workload
                                          of that model and data, borrowed */
    int limit;                        /* evaluation images (0 = all) */
    const char *db;
    const char *boards[VK_SEARCH_MAX_BOARDS];
    int n_boards;
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
    int64_t resume_run;       /* > 0: continue this run */
    int max_retries;          /* per path after board failures (default 3) */
    int quiet;                /* 1: no progress on stderr; 2: nothing printed */
    int exhaustive;           /* sweep: every path of the space, no NSGA-II */
    int random;               /* random search instead of NSGA-II (the baseline) */
    int no_cascades;          /* skip the cascade sweep at the end */
} vk_search_opts;

void vk_search_opts_default(vk_search_opts *o);

/* Runs (or resumes) a search; *run_id gets the run's id as soon as it
 * exists. Prints progress on stderr and the Pareto table on stdout. */
vk_status vk_search_run(const vk_search_opts *o, int64_t *run_id, vk_err *err);

#endif
