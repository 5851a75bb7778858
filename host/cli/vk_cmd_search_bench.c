/* vk_cmd_search_bench: `vitskip search-bench`, the search strategies
 * (NSGA-II, random, NSGA-II with the predictor) against a sweep's true
 * front. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/cli/vk_cli.h"
#include "host/cli/vk_cli_search.h"
#include "host/vk_workload.h"
#include "search/vk_search.h"

static const char search_bench_help[] =
    "usage: vitskip search-bench --db FILE [--run RUN] [--seeds N] [--budgets B1,B2,...]\n"
    "                            [--population N] [--offspring N] [--csv FILE]\n"
    "                            [--strategies LIST]\n"
    "\n"
    "How good is the search? Takes a sweep run (`vitskip sweep`: every path of the\n"
    "space measured, so its front is the true one) and runs each strategy N\n"
    "times (seeds 1..N) with the sweep's model, data, board,\n"
    "objective and constraints, on a copy of the database: every path they ask\n"
    "for is found there, so no board is used and the answers are the sweep's\n"
    "own measurements. Prints the hypervolume each reaches after each budget as\n"
    "a percentage of the true front's (2 objectives: error vs the run's cost;\n"
    "3 objectives: error, latency, energy): mean, worst and best over the seeds.\n"
    "\n"
    "  --run RUN       the sweep run (default: the newest run that covers its space)\n"
    "  --seeds N       runs per strategy (default 10)\n"
    "  --budgets LIST  evaluations at which to read the hypervolume (default 32,64,128)\n"
    "  --population N  NSGA-II population (default 6, as vitskip search)\n"
    "  --offspring N   NSGA-II children per generation (default 1, as a search\n"
    "                  on one board)\n"
    "  --csv FILE      also write every search's figures there, one line per\n"
    "                  strategy, seed and budget (tools/optuna_bench.py reads it)\n"
    "  --strategies L  some of nsga2, random, predict (NSGA-II whose children a\n"
    "                  surrogate of the measurements so far screens), comma-\n"
    "                  separated (default all three)\n";

/* The strategies, as vitskip search --strategy names them. */
static const char *const strat_name[] = {"nsga2", "random", "predict"};
static const char *const strat_text[] = {"NSGA-II", "random search", "NSGA-II+predictor"};
#define N_STRAT 3

/* Number of valid paths in run's space (vk_space_valid), 0 if unknown or
 * beyond a sweep's. */
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

int vk_cmd_search_bench(int argc, char **argv)
{
    static const struct option opts[] = {{"db", 1, 0, 'D'},      {"run", 1, 0, 'r'},
                                         {"seeds", 1, 0, 'n'},   {"budgets", 1, 0, 'b'},
                                         {"population", 1, 0, 'p'}, {"offspring", 1, 0, 'O'},
                                         {"csv", 1, 0, 'c'},     {"strategies", 1, 0, 'x'},
                                         {"help", 0, 0, 'h'},    {0, 0, 0, 0}};
    const char *cmd = "search-bench", *dbpath = NULL, *budgets_s = "32,64,128", *csv = NULL,
               *strats_s = "nsga2,random,predict";
    int64_t run_id = 0;
    int n_seeds = 10, population = 6, offspring = 1, budgets[8], n_budgets = 0, c, rcx = VK_EXIT_FAIL;
    int strat[N_STRAT], n_st = 0;
    long long v = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'D': dbpath = optarg; break;
        case 'b': budgets_s = optarg; break;
        case 'c': csv = optarg; break;
        case 'x': strats_s = optarg; break;
        case 'h': fputs(search_bench_help, stdout); return VK_EXIT_OK;
        case 'r': if (vk_cli_parse_int(cmd, "--run", optarg, 1, INT64_MAX, &v)) return 2; run_id = (int64_t)v; break;
        case 'n': if (vk_cli_parse_int(cmd, "--seeds", optarg, 1, 10000, &v)) return 2; n_seeds = (int)v; break;
        case 'p': if (vk_cli_parse_int(cmd, "--population", optarg, 4, VK_CLI_MAX_POPULATION, &v)) return 2; population = (int)v; break;
        case 'O': if (vk_cli_parse_int(cmd, "--offspring", optarg, 1, VK_CLI_MAX_POPULATION, &v)) return 2; offspring = (int)v; break;
        default: return vk_cli_bad_option(cmd, opts, argv);
        }
    }
    if (optind < argc)
        return vk_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    for (const char *p = budgets_s; *p;) {
        char *end;
        long b = strtol(p, &end, 10);
        if (end == p || b < 1 || b > 1 << 20 || (*end && *end != ',') || n_budgets == 8 ||
            (n_budgets && b <= budgets[n_budgets - 1]))
            return vk_cli_usage(cmd, "--budgets '%s': expected up to 8 increasing counts, "
                                     "comma-separated", budgets_s);
        budgets[n_budgets++] = (int)b;
        p = *end ? end + 1 : end;
    }
    if (!n_budgets)
        return vk_cli_usage(cmd, "--budgets is empty");
    for (const char *p = strats_s; *p;) {
        size_t l = strcspn(p, ",");
        int id = -1;
        for (int k = 0; k < N_STRAT; k++)
            if (strlen(strat_name[k]) == l && !strncmp(p, strat_name[k], l))
                id = k;
        for (int k = 0; k < n_st && id >= 0; k++)
            if (strat[k] == id)
                id = -1;
        if (id < 0)
            return vk_cli_usage(cmd, "--strategies '%s': expected some of nsga2, random, "
                                     "predict, each once, comma-separated", strats_s);
        strat[n_st++] = id;
        p += l + (p[l] == ',');
    }
    if (!n_st)
        return vk_cli_usage(cmd, "--strategies is empty");
    if (offspring > population)
        return vk_cli_usage(cmd, "--offspring %d exceeds --population %d", offspring, population);
    FILE *csvf = NULL; /* --csv, opened first: a bad path fails before the searches */
    if (csv && !(csvf = fopen(csv, "w"))) {
        fprintf(stderr, "vitskip %s: --csv %s: cannot create the file\n", cmd, csv);
        return VK_EXIT_FAIL;
    }
    vk_store *db = NULL;
    if (vk_cli_open_db(cmd, dbpath, VK_CLI_DB_EXISTING, &db)) {
        if (csvf)
            fclose(csvf);
        return VK_EXIT_FAIL;
    }
    vk_err err = {{0}};
    vk_run_info sweep;
    double true_hv = 0, true_hv3 = -1;
    int n_paths = 0, space = 0, found = 0;
    char tmp[600] = "";
    /* the sweep run: given, or the newest that covers its whole space */
    if (run_id) {
        if ((space = space_of(db, run_id, &n_paths, &err)) < 0)
            goto fail;
        if (!space || n_paths < space) {
            fprintf(stderr, "vitskip %s: run %lld evaluated %d paths of %d; it is not a sweep "
                            "(make one with vitskip sweep)\n",
                    cmd, (long long)run_id, n_paths, space);
            goto out;
        }
    } else {
        int64_t *ids = NULL;
        int n = 0;
        if (vk_store_run_list(db, &ids, &n, &err) != VK_OK)
            goto fail;
        for (int i = n - 1; i >= 0 && !run_id; i--) {
            if ((space = space_of(db, ids[i], &n_paths, &err)) < 0) {
                free(ids);
                goto fail;
            }
            if (space && n_paths >= space)
                run_id = ids[i];
        }
        free(ids);
        if (!run_id) {
            fprintf(stderr, "vitskip %s: %s holds no sweep run (make one with vitskip sweep)\n",
                    cmd, dbpath);
            goto out;
        }
    }
    if (vk_store_run_get(db, run_id, &sweep, &err) != VK_OK ||
        vk_store_hv_at(db, run_id, n_paths, &true_hv, &true_hv3, &found, &err) != VK_OK)
        goto fail;
    if (!sweep.test_hash[0]) {
        fprintf(stderr, "vitskip %s: run %lld was stored before validation and test splits; "
                        "sweep again\n", cmd, (long long)run_id);
        goto out;
    }
    if (!found || !(true_hv > 0)) {
        fprintf(stderr, "vitskip %s: run %lld has no hypervolume after %d evaluations (an "
                        "interrupted sweep? resume it)\n",
                cmd, (long long)run_id, n_paths);
        goto out;
    }
    if (budgets[n_budgets - 1] > space) {
        fprintf(stderr, "vitskip %s: budget %d exceeds the space's %d paths\n", cmd,
                budgets[n_budgets - 1], space);
        goto out;
    }
    {
        const char *td = getenv("TMPDIR");
        snprintf(tmp, sizeof tmp, "%s/vitskip-bench-XXXXXX", td && *td ? td : "/tmp");
        int fd = mkstemp(tmp);
        if (fd < 0) {
            fprintf(stderr, "vitskip %s: cannot create a temporary file %s\n", cmd, tmp);
            tmp[0] = 0;
            goto out;
        }
        close(fd);
        if (vk_store_backup(db, tmp, &err) != VK_OK)
            goto fail;
    }
    printf("search-bench: sweep run %lld (%d paths, %s, %d images, objective error vs %s), "
           "true front hypervolume %.6g",
           (long long)run_id, n_paths, sweep.boards, sweep.n_images, sweep.objective, true_hv);
    if (true_hv3 > 0)
        printf(", %.6g (error, latency, energy)", true_hv3);
    printf("\n%d seeds per strategy; NSGA-II population %d, %d offspring per generation\n",
           n_seeds, population, offspring);
    fflush(stdout);
    /* frac[strategy][budget][seed][0: 2 objectives, 1: 3 objectives] */
    double *frac = calloc((size_t)n_st * n_budgets * n_seeds * 2, sizeof *frac);
    if (!frac) {
        vk_fail(&err, VK_E_NOMEM, "out of memory");
        goto fail;
    }
#define FRAC(st, b, s, k) frac[(((size_t)(st) * n_budgets + (b)) * n_seeds + (s)) * 2 + (k)]
    /* the model quantized and the images loaded once for every search */
    vk_workload w;
    vk_workload_opts wo = {.model = sweep.model, .data = sweep.data,
                           .calib = sweep.calib[0] ? sweep.calib : NULL,
                           .limit = sweep.n_test, .val = sweep.val[0] ? sweep.val : NULL,
                           .n_val = sweep.n_images, .quiet = 1};
    if (vk_workload_open(&wo, &w, &err) != VK_OK) {
        free(frac);
        goto fail;
    }
    if (strcmp(w.model_hash, sweep.model_hash) || strcmp(w.data_hash, sweep.test_hash)) {
        vk_fail(&err, VK_E_MISMATCH, "run %lld: %s or %s changed since the sweep (hashes differ)",
                (long long)run_id, sweep.model, sweep.data);
        goto fail_w;
    }
    char board[512];
    snprintf(board, sizeof board, "%s", sweep.boards);
    board[strcspn(board, ",")] = 0;
    double t0 = vk_clock_now();
    vk_progress prog;
    vk_search_events ev = {.attempt_failed = vk_cli_search_failed};
    vk_progress_begin(&prog, "search-bench", n_st * n_seeds);
    for (int st = 0; st < n_st; st++)
        for (int sd = 0; sd < n_seeds; sd++) {
            vk_search_opts o;
            int64_t r = 0;
            int ok = 0, failed = 0;
            vk_search_opts_default(&o);
            o.model = sweep.model;
            o.data = sweep.data;
            o.workload = &w;
            o.calib = sweep.calib[0] ? sweep.calib : NULL;
            o.limit = sweep.n_test;
            o.val = sweep.val[0] ? sweep.val : NULL;
            o.n_val = sweep.n_images;
            o.db = tmp;
            o.boards[o.n_boards++] = board;
            if (vk_objective_parse(sweep.objective, &o.objective, &err) != VK_OK)
                goto fail_w;
            o.max_acc_drop = sweep.max_acc_drop;
            o.latency_budget_ms = sweep.latency_budget_ms;
            o.energy_budget_mj = sweep.energy_budget_mj;
            o.budget = budgets[n_budgets - 1];
            o.population = population;
            o.offspring = offspring;
            o.seed = (uint64_t)sd + 1;
            o.space = sweep.space;
            o.random = strat[st] == 1;
            o.predict = strat[st] == 2;
            o.quiet = 1;
            o.events = &ev;
            o.no_cascades = 1;
            o.no_test = 1; /* only the hypervolumes (on validation) are compared */
            vk_store *bdb = NULL;
            vk_search_result res;
            vk_status rc = vk_search_run(&o, &res, &err);
            r = res.run_id;
            vk_search_result_free(&res);
            if (rc != VK_OK || vk_store_open(tmp, &bdb, &err) != VK_OK)
                goto fail_w;
            if (vk_store_attempt_count(bdb, r, &ok, &failed, &err) != VK_OK) {
                vk_store_close(bdb);
                goto fail_w;
            }
            if (ok + failed > 0) {
                vk_store_close(bdb);
                vk_fail(&err, VK_E_MISMATCH, "run %lld (seed %d) had to measure %d paths on %s: "
                        "the sweep does not cover what the search asked for",
                        (long long)r, sd + 1, ok + failed, board);
                goto fail_w;
            }
            for (int b = 0; b < n_budgets; b++) {
                double hv = 0, hv3 = -1;
                if (vk_store_hv_at(bdb, r, budgets[b], &hv, &hv3, &found, &err) != VK_OK ||
                    !found) {
                    if (!found)
                        vk_fail(&err, VK_E_DB, "run %lld: no hypervolume after %d evaluations",
                                (long long)r, budgets[b]);
                    vk_store_close(bdb);
                    goto fail_w;
                }
                FRAC(st, b, sd, 0) = 100 * hv / true_hv;
                FRAC(st, b, sd, 1) = true_hv3 > 0 && hv3 >= 0 ? 100 * hv3 / true_hv3 : -1;
            }
            vk_store_close(bdb);
            vk_progress_update(&prog, st * n_seeds + sd + 1);
        }
    vk_progress_end(&prog);
    for (int k = 0; k < 2; k++) {
        if (k == 1 && !(true_hv3 > 0))
            break;
        printf("\nhypervolume reached, %% of the true front's (%s); mean [worst, best] over "
               "%d seeds\n",
               k == 0 ? "error vs the run's cost" : "error, latency, energy", n_seeds);
        printf("%-8s", "budget");
        for (int st = 0; st < n_st; st++)
            printf(" %-26s", strat_text[strat[st]]);
        if (n_st > 1)
            printf(" %s ahead of %s (seeds)", strat_text[strat[0]], strat_text[strat[1]]);
        printf("\n");
        for (int b = 0; b < n_budgets; b++) {
            int ahead = 0;
            printf("%-8d", budgets[b]);
            for (int st = 0; st < n_st; st++) {
                double sum = 0, lo = INFINITY, hi = -INFINITY;
                char cell[64];
                for (int sd = 0; sd < n_seeds; sd++) {
                    double f = FRAC(st, b, sd, k);
                    sum += f;
                    lo = f < lo ? f : lo;
                    hi = f > hi ? f : hi;
                }
                snprintf(cell, sizeof cell, "%6.2f%% [%6.2f, %6.2f]", sum / n_seeds, lo, hi);
                printf(" %-26s", cell);
            }
            for (int sd = 0; sd < n_seeds && n_st > 1; sd++)
                ahead += FRAC(0, b, sd, k) > FRAC(1, b, sd, k);
            if (n_st > 1)
                printf(" %d/%d", ahead, n_seeds);
            printf("\n");
        }
    }
    printf("(%d searches in %.1f s; figures are the sweep's: %s)\n", n_st * n_seeds,
           vk_clock_now() - t0, sweep.boards);
    if (csv) {
        fprintf(csvf, "# sweep run %lld of %s: %d paths, %s, %d images, error vs %s\n",
                (long long)run_id, dbpath, n_paths, sweep.boards, sweep.n_images,
                sweep.objective);
        fprintf(csvf, "strategy,seed,budget,hv_pct,hv3_pct\n");
        for (int st = 0; st < n_st; st++)
            for (int sd = 0; sd < n_seeds; sd++)
                for (int b = 0; b < n_budgets; b++)
                    fprintf(csvf, "%s,%d,%d,%.6f,%.6f\n", strat_name[strat[st]], sd + 1, budgets[b],
                            FRAC(st, b, sd, 0), FRAC(st, b, sd, 1));
        int bad = ferror(csvf);
        bad |= fclose(csvf) != 0;
        csvf = NULL;
        if (bad) {
            vk_fail(&err, VK_E_IO, "--csv %s: write failed", csv);
            goto fail_w;
        }
    }
#undef FRAC
    free(frac);
    vk_workload_free(&w);
    rcx = VK_EXIT_OK;
    goto out;
fail_w:
    free(frac);
    vk_workload_free(&w);
fail:
    fprintf(stderr, "vitskip %s: %s\n", cmd, err.msg);
out:
    if (csvf)
        fclose(csvf);
    if (tmp[0])
        remove_db(tmp);
    vk_store_close(db);
    return rcx;
}

