/* vk_bench: search strategies against a sweep's true front (see
 * vk_bench.h). */
#include "search/vk_bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/vk_clock.h"
#include "host/vk_workload.h"
#include "search/vk_genome.h"
#include "search/vk_proxy.h"

static const char *const strat_name[] = {"nsga2", "random", "predict"};
static const char *const strat_text[] = {"NSGA-II", "random search", "NSGA-II+predictor"};

const char *vk_bench_strategy_name(vk_bench_strategy s)
{
    return s >= 0 && s < VK_BENCH_N_STRATEGIES ? strat_name[s] : "?";
}

const char *vk_bench_strategy_text(vk_bench_strategy s)
{
    return s >= 0 && s < VK_BENCH_N_STRATEGIES ? strat_text[s] : "?";
}

static size_t frac_at(const vk_bench_opts *o, int st, int b, int sd, int k)
{
    return (((size_t)st * (size_t)o->n_budgets + (size_t)b) * (size_t)o->n_seeds + (size_t)sd) *
               2 +
           (size_t)k;
}

double vk_bench_frac(const vk_bench_opts *o, const vk_bench_result *r, int st, int b, int sd,
                     int k)
{
    return r->frac[frac_at(o, st, b, sd, k)];
}

void vk_bench_result_free(vk_bench_result *r)
{
    if (!r)
        return;
    free(r->frac);
    r->frac = NULL;
}

/* Number of valid paths in run's space (vk_space_valid), 0 if unknown or
 * beyond a sweep's; *n_paths the run's paths. -1 on a database error. */
static int space_of(vk_store *db, int64_t run, int *n_paths, vk_err *err)
{
    int64_t *ids = NULL;
    vk_path_rec rec;
    vk_run_info ri;
    vk_space sp;
    int n = 0, space = 0;
    if (vk_store_run_get(db, run, &ri, err) != VK_OK ||
        vk_store_run_paths(db, run, &ids, &n, err) != VK_OK)
        return -1;
    if (n > 0 && vk_space_parse(ri.space, &sp, err) == VK_OK &&
        vk_store_path_get(db, ids[0], 0, &rec, err) == VK_OK) {
        int len = vk_genome_text_layers(rec.genome);
        uint64_t v = len > 0 ? vk_space_valid(&sp, len) : 0;
        space = v <= VK_SEARCH_MAX_SWEEP ? (int)v : 0;
        vk_store_rec_free(&rec);
    }
    free(ids);
    *n_paths = n;
    return space;
}

static void remove_db(const char *path)
{
    char side[600];
    remove(path);
    snprintf(side, sizeof side, "%s-wal", path);
    remove(side);
    snprintf(side, sizeof side, "%s-shm", path);
    remove(side);
}

static vk_status check_opts(const vk_bench_opts *o, vk_err *err)
{
    if (!o->db || o->n_seeds < 1 || o->n_budgets < 1 || o->n_budgets > VK_BENCH_MAX_BUDGETS ||
        o->n_strategies < 1 || o->n_strategies > VK_BENCH_N_STRATEGIES || o->population < 4 ||
        o->offspring < 1 || o->offspring > o->population)
        return vk_fail(err, VK_E_ARG, "search-bench: a database, seeds, budgets, strategies, a "
                       "population of at least 4 and 1..population offspring are required");
    for (int b = 1; b < o->n_budgets; b++)
        if (o->budgets[b] <= o->budgets[b - 1])
            return vk_fail(err, VK_E_ARG, "search-bench: budgets must increase");
    for (int i = 0; i < o->n_strategies; i++) {
        if (o->strategies[i] < 0 || o->strategies[i] >= VK_BENCH_N_STRATEGIES)
            return vk_fail(err, VK_E_ARG, "search-bench: unknown strategy %d", o->strategies[i]);
        for (int j = 0; j < i; j++)
            if (o->strategies[j] == o->strategies[i])
                return vk_fail(err, VK_E_ARG, "search-bench: strategy %s twice",
                               strat_name[o->strategies[i]]);
    }
    return VK_OK;
}

/* The sweep run (o->run, else the newest that covers its space) and its
 * true front's hypervolumes, checked. */
static vk_status find_sweep(const vk_bench_opts *o, vk_store *db, vk_bench_result *r,
                            vk_err *err)
{
    int64_t run = o->run;
    int space = 0, found = 0;
    if (run) {
        if ((space = space_of(db, run, &r->n_paths, err)) < 0)
            return VK_E_DB;
        if (!space || r->n_paths < space)
            return vk_fail(err, VK_E_MISMATCH, "run %lld evaluated %d paths of %d; it is not a "
                           "sweep (make one with vitskip sweep)", (long long)run, r->n_paths,
                           space);
    } else {
        int64_t *ids = NULL;
        int n = 0;
        if (vk_store_run_list(db, &ids, &n, err) != VK_OK)
            return VK_E_DB;
        for (int i = n - 1; i >= 0 && !run; i--) {
            if ((space = space_of(db, ids[i], &r->n_paths, err)) < 0) {
                free(ids);
                return VK_E_DB;
            }
            if (space && r->n_paths >= space)
                run = ids[i];
        }
        free(ids);
        if (!run)
            return vk_fail(err, VK_E_NOTFOUND, "%s holds no sweep run (make one with vitskip "
                           "sweep)", o->db);
    }
    if (vk_store_run_get(db, run, &r->sweep, err) != VK_OK ||
        vk_store_hv_at(db, run, r->n_paths, &r->true_hv, &r->true_hv3, &found, err) != VK_OK)
        return VK_E_DB;
    if (!r->sweep.test_hash[0])
        return vk_fail(err, VK_E_MISMATCH, "run %lld was stored before validation and test "
                       "splits; sweep again", (long long)run);
    if (!found || !(r->true_hv > 0))
        return vk_fail(err, VK_E_MISMATCH, "run %lld has no hypervolume after %d evaluations "
                       "(an interrupted sweep? resume it)", (long long)run, r->n_paths);
    if (o->budgets[o->n_budgets - 1] > space)
        return vk_fail(err, VK_E_ARG, "budget %d exceeds the space's %d paths",
                       o->budgets[o->n_budgets - 1], space);
    return VK_OK;
}

/* One search of strategy st with seed sd + 1 on the copy tmp, its
 * hypervolumes at every budget into r->frac. */
static vk_status one_search(const vk_bench_opts *o, vk_bench_result *r, const vk_workload *w,
                            vk_proxy *px, const char *tmp, const char *board, int st, int sd,
                            vk_err *err)
{
    const vk_run_info *sw = &r->sweep;
    vk_search_opts so;
    vk_search_result res;
    vk_store *bdb = NULL;
    int ok = 0, failed = 0, found = 0;
    vk_search_opts_default(&so);
    so.model = sw->model;
    so.data = sw->data;
    so.workload = w;
    so.calib = sw->calib[0] ? sw->calib : NULL;
    so.limit = sw->n_test;
    so.val = sw->val[0] ? sw->val : NULL;
    so.n_val = sw->n_images;
    so.db = tmp;
    so.boards[so.n_boards++] = board;
    if (vk_objective_parse(sw->objective, &so.objective, err) != VK_OK)
        return VK_E_FORMAT;
    so.max_acc_drop = sw->max_acc_drop;
    so.latency_budget_ms = sw->latency_budget_ms;
    so.energy_budget_mj = sw->energy_budget_mj;
    so.budget = o->budgets[o->n_budgets - 1];
    so.population = o->population;
    so.offspring = o->offspring;
    so.seed = (uint64_t)sd + 1;
    so.space = sw->space;
    so.random = o->strategies[st] == VK_BENCH_RANDOM;
    so.predict = o->strategies[st] == VK_BENCH_PREDICT;
    so.proxy = px;
    so.quiet = 1;
    so.events = o->events;
    so.no_cascades = 1;
    so.no_test = 1; /* only the hypervolumes (on validation) are compared */
    vk_status rc = vk_search_run(&so, &res, err);
    int64_t run = res.run_id;
    vk_search_result_free(&res);
    if (rc != VK_OK || (rc = vk_store_open(tmp, &bdb, err)) != VK_OK)
        return rc;
    if ((rc = vk_store_attempt_count(bdb, run, &ok, &failed, err)) == VK_OK && ok + failed > 0)
        rc = vk_fail(err, VK_E_MISMATCH, "run %lld (seed %d) had to measure %d paths on %s: the "
                     "sweep does not cover what the search asked for", (long long)run, sd + 1,
                     ok + failed, board);
    for (int b = 0; b < o->n_budgets && rc == VK_OK; b++) {
        double hv = 0, hv3 = -1;
        if ((rc = vk_store_hv_at(bdb, run, o->budgets[b], &hv, &hv3, &found, err)) == VK_OK &&
            !found)
            rc = vk_fail(err, VK_E_DB, "run %lld: no hypervolume after %d evaluations",
                         (long long)run, o->budgets[b]);
        r->frac[frac_at(o, st, b, sd, 0)] = 100 * hv / r->true_hv;
        r->frac[frac_at(o, st, b, sd, 1)] =
            r->true_hv3 > 0 && hv3 >= 0 ? 100 * hv3 / r->true_hv3 : -1;
    }
    vk_store_close(bdb);
    return rc;
}

vk_status vk_bench_run(const vk_bench_opts *o, vk_bench_result *out, vk_err *err)
{
    vk_bench_result r;
    vk_store *db = NULL;
    vk_workload w;
    vk_imageset vs;
    vk_proxy *px = NULL;
    int w_open = 0;
    char tmp[600] = "", board[512];
    vk_status rc;
    memset(&r, 0, sizeof r);
    memset(&vs, 0, sizeof vs);
    if ((rc = check_opts(o, err)) != VK_OK ||
        (rc = vk_store_open_readonly(o->db, &db, err)) != VK_OK)
        return rc;
    if ((rc = find_sweep(o, db, &r, err)) != VK_OK)
        goto out;
    {
        const char *td = getenv("TMPDIR");
        snprintf(tmp, sizeof tmp, "%s/vitskip-bench-XXXXXX", td && *td ? td : "/tmp");
        int fd = mkstemp(tmp);
        if (fd < 0) {
            rc = vk_fail(err, VK_E_IO, "cannot create a temporary file %s", tmp);
            tmp[0] = 0;
            goto out;
        }
        close(fd);
        if ((rc = vk_store_backup(db, tmp, err)) != VK_OK)
            goto out;
    }
    r.frac = calloc((size_t)o->n_strategies * (size_t)o->n_budgets * (size_t)o->n_seeds * 2,
                    sizeof *r.frac);
    if (!r.frac) {
        rc = vk_fail(err, VK_E_NOMEM, "out of memory");
        goto out;
    }
    /* the model quantized and the images loaded once for every search */
    vk_workload_opts wo = {.model = r.sweep.model, .data = r.sweep.data,
                           .calib = r.sweep.calib[0] ? r.sweep.calib : NULL,
                           .limit = r.sweep.n_test, .val = r.sweep.val[0] ? r.sweep.val : NULL,
                           .n_val = r.sweep.n_images, .quiet = 1};
    if ((rc = vk_workload_open(&wo, &w, err)) != VK_OK)
        goto out;
    w_open = 1;
    if (strcmp(w.model_hash, r.sweep.model_hash) || strcmp(w.data_hash, r.sweep.test_hash)) {
        rc = vk_fail(err, VK_E_MISMATCH, "run %lld: %s or %s changed since the sweep (hashes "
                     "differ)", (long long)r.sweep.id, r.sweep.model, r.sweep.data);
        goto out;
    }
    snprintf(board, sizeof board, "%s", r.sweep.boards);
    board[strcspn(board, ",")] = 0;
    /* the accuracy proxy of the predict strategy, one for every seed: each
       genome's proxy computed once */
    for (int st = 0; st < o->n_strategies && !px; st++)
        if (o->strategies[st] == VK_BENCH_PREDICT) {
            if ((rc = vk_workload_take(&w, VK_SPLIT_VAL, &vs, err)) != VK_OK ||
                (rc = vk_proxy_new(&w.q, &vs, VK_PROXY_DEFAULT_N, &px, err)) != VK_OK)
                goto out;
        }
    double t0 = vk_clock_now();
    for (int st = 0; st < o->n_strategies && rc == VK_OK; st++)
        for (int sd = 0; sd < o->n_seeds && rc == VK_OK; sd++) {
            rc = one_search(o, &r, &w, px, tmp, board, st, sd, err);
            if (rc == VK_OK && o->progress)
                o->progress(o->progress_ctx, st * o->n_seeds + sd + 1,
                            o->n_strategies * o->n_seeds);
        }
    r.seconds = vk_clock_now() - t0;
out:
    vk_proxy_free(px);
    vk_imageset_free(&vs);
    if (w_open)
        vk_workload_free(&w);
    if (tmp[0])
        remove_db(tmp);
    vk_store_close(db);
    if (rc != VK_OK) {
        vk_bench_result_free(&r);
        return rc;
    }
    *out = r;
    return VK_OK;
}
