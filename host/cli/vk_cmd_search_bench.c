/* vk_cmd_search_bench: `vitskip search-bench`, the search strategies
 * (NSGA-II, random, NSGA-II with the predictor) against a sweep's true
 * front: the options, then search/vk_bench.h's figures printed as tables
 * (and --csv). */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "host/cli/vk_cli.h"
#include "host/cli/vk_cli_search.h"
#include "search/vk_bench.h"

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

static void on_progress(void *ctx, int done, int total)
{
    (void)total;
    vk_progress_update(ctx, done);
}

/* The two tables (2 and 3 objectives) of the benchmark's figures. */
static void print_tables(const vk_bench_opts *o, const vk_bench_result *r)
{
    int n_st = o->n_strategies, n_seeds = o->n_seeds;
    for (int k = 0; k < 2; k++) {
        if (k == 1 && !(r->true_hv3 > 0))
            break;
        printf("\nhypervolume reached, %% of the true front's (%s); mean [worst, best] over "
               "%d seeds\n",
               k == 0 ? "error vs the run's cost" : "error, latency, energy", n_seeds);
        printf("%-8s", "budget");
        for (int st = 0; st < n_st; st++)
            printf(" %-26s", vk_bench_strategy_text(o->strategies[st]));
        if (n_st > 1)
            printf(" %s ahead of %s (seeds)", vk_bench_strategy_text(o->strategies[0]),
                   vk_bench_strategy_text(o->strategies[1]));
        printf("\n");
        for (int b = 0; b < o->n_budgets; b++) {
            int ahead = 0;
            printf("%-8d", o->budgets[b]);
            for (int st = 0; st < n_st; st++) {
                double sum = 0, lo = INFINITY, hi = -INFINITY;
                char cell[64];
                for (int sd = 0; sd < n_seeds; sd++) {
                    double f = vk_bench_frac(o, r, st, b, sd, k);
                    sum += f;
                    lo = f < lo ? f : lo;
                    hi = f > hi ? f : hi;
                }
                snprintf(cell, sizeof cell, "%6.2f%% [%6.2f, %6.2f]", sum / n_seeds, lo, hi);
                printf(" %-26s", cell);
            }
            for (int sd = 0; sd < n_seeds && n_st > 1; sd++)
                ahead += vk_bench_frac(o, r, 0, b, sd, k) > vk_bench_frac(o, r, 1, b, sd, k);
            if (n_st > 1)
                printf(" %d/%d", ahead, n_seeds);
            printf("\n");
        }
    }
}

/* --csv: one line per strategy, seed and budget; 0 or 1 (written or not). */
static int write_csv(FILE *f, const vk_bench_opts *o, const vk_bench_result *r)
{
    fprintf(f, "# sweep run %lld of %s: %d paths, %s, %d images, error vs %s\n",
            (long long)r->sweep.id, o->db, r->n_paths, r->sweep.boards, r->sweep.n_images,
            r->sweep.objective);
    fprintf(f, "strategy,seed,budget,hv_pct,hv3_pct\n");
    for (int st = 0; st < o->n_strategies; st++)
        for (int sd = 0; sd < o->n_seeds; sd++)
            for (int b = 0; b < o->n_budgets; b++)
                fprintf(f, "%s,%d,%d,%.6f,%.6f\n", vk_bench_strategy_name(o->strategies[st]),
                        sd + 1, o->budgets[b], vk_bench_frac(o, r, st, b, sd, 0),
                        vk_bench_frac(o, r, st, b, sd, 1));
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    return bad;
}

int vk_cmd_search_bench(int argc, char **argv)
{
    static const struct option opts[] = {{"db", 1, 0, 'D'},      {"run", 1, 0, 'r'},
                                         {"seeds", 1, 0, 'n'},   {"budgets", 1, 0, 'b'},
                                         {"population", 1, 0, 'p'}, {"offspring", 1, 0, 'O'},
                                         {"csv", 1, 0, 'c'},     {"strategies", 1, 0, 'x'},
                                         {"help", 0, 0, 'h'},    {0, 0, 0, 0}};
    const char *cmd = "search-bench", *budgets_s = "32,64,128", *csv = NULL,
               *strats_s = "nsga2,random,predict";
    vk_bench_opts o = {.n_seeds = 10, .population = 6, .offspring = 1};
    int c;
    long long v = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'D': o.db = optarg; break;
        case 'b': budgets_s = optarg; break;
        case 'c': csv = optarg; break;
        case 'x': strats_s = optarg; break;
        case 'h': fputs(search_bench_help, stdout); return VK_EXIT_OK;
        case 'r': if (vk_cli_parse_int(cmd, "--run", optarg, 1, INT64_MAX, &v)) return 2; o.run = (int64_t)v; break;
        case 'n': if (vk_cli_parse_int(cmd, "--seeds", optarg, 1, 10000, &v)) return 2; o.n_seeds = (int)v; break;
        case 'p': if (vk_cli_parse_int(cmd, "--population", optarg, 4, VK_CLI_MAX_POPULATION, &v)) return 2; o.population = (int)v; break;
        case 'O': if (vk_cli_parse_int(cmd, "--offspring", optarg, 1, VK_CLI_MAX_POPULATION, &v)) return 2; o.offspring = (int)v; break;
        default: return vk_cli_bad_option(cmd, opts, argv);
        }
    }
    if (optind < argc)
        return vk_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    for (const char *p = budgets_s; *p;) {
        char *end;
        long b = strtol(p, &end, 10);
        if (end == p || b < 1 || b > 1 << 20 || (*end && *end != ',') ||
            o.n_budgets == VK_BENCH_MAX_BUDGETS ||
            (o.n_budgets && b <= o.budgets[o.n_budgets - 1]))
            return vk_cli_usage(cmd, "--budgets '%s': expected up to 8 increasing counts, "
                                     "comma-separated", budgets_s);
        o.budgets[o.n_budgets++] = (int)b;
        p = *end ? end + 1 : end;
    }
    if (!o.n_budgets)
        return vk_cli_usage(cmd, "--budgets is empty");
    for (const char *p = strats_s; *p;) {
        size_t l = strcspn(p, ",");
        int id = -1;
        for (int k = 0; k < VK_BENCH_N_STRATEGIES; k++)
            if (strlen(vk_bench_strategy_name(k)) == l &&
                !strncmp(p, vk_bench_strategy_name(k), l))
                id = k;
        for (int k = 0; k < o.n_strategies && id >= 0; k++)
            if ((int)o.strategies[k] == id)
                id = -1;
        if (id < 0)
            return vk_cli_usage(cmd, "--strategies '%s': expected some of nsga2, random, "
                                     "predict, each once, comma-separated", strats_s);
        o.strategies[o.n_strategies++] = (vk_bench_strategy)id;
        p += l + (p[l] == ',');
    }
    if (!o.n_strategies)
        return vk_cli_usage(cmd, "--strategies is empty");
    if (o.offspring > o.population)
        return vk_cli_usage(cmd, "--offspring %d exceeds --population %d", o.offspring,
                            o.population);
    FILE *csvf = NULL; /* --csv, opened first: a bad path fails before the searches */
    if (csv && !(csvf = fopen(csv, "w"))) {
        fprintf(stderr, "vitskip %s: --csv %s: cannot create the file\n", cmd, csv);
        return VK_EXIT_FAIL;
    }
    vk_store *db = NULL; /* the database must exist: nothing is created */
    if (vk_cli_open_db(cmd, o.db, VK_CLI_DB_READONLY, &db)) {
        if (csvf)
            fclose(csvf);
        return VK_EXIT_FAIL;
    }
    vk_store_close(db);
    vk_progress prog;
    vk_search_events ev = {.attempt_failed = vk_cli_search_failed};
    vk_bench_result r;
    vk_err err = {{0}};
    o.progress = on_progress;
    o.progress_ctx = &prog;
    o.events = &ev;
    vk_progress_begin(&prog, "search-bench", o.n_strategies * o.n_seeds);
    vk_status rc = vk_bench_run(&o, &r, &err);
    vk_progress_end(&prog);
    if (rc != VK_OK) {
        fprintf(stderr, "vitskip %s: %s\n", cmd, err.msg);
        if (csvf)
            fclose(csvf);
        return VK_EXIT_FAIL;
    }
    printf("search-bench: sweep run %lld (%d paths, %s, %d images, objective error vs %s), "
           "true front hypervolume %.6g",
           (long long)r.sweep.id, r.n_paths, r.sweep.boards, r.sweep.n_images,
           r.sweep.objective, r.true_hv);
    if (r.true_hv3 > 0)
        printf(", %.6g (error, latency, energy)", r.true_hv3);
    printf("\n%d seeds per strategy; NSGA-II population %d, %d offspring per generation\n",
           o.n_seeds, o.population, o.offspring);
    print_tables(&o, &r);
    printf("(%d searches in %.1f s; figures are the sweep's: %s)\n", o.n_strategies * o.n_seeds,
           r.seconds, r.sweep.boards);
    int bad = csvf && write_csv(csvf, &o, &r);
    vk_bench_result_free(&r);
    if (bad) {
        fprintf(stderr, "vitskip %s: --csv %s: write failed\n", cmd, csv);
        return VK_EXIT_FAIL;
    }
    return VK_EXIT_OK;
}
