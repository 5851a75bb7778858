/* vk_cmd_search: `vitskip search` and `vitskip sweep`, and the printing of
 * what a search found (summary, front of paths, cascades). */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "host/cli/vk_cli.h"
#include "host/cli/vk_cli_search.h"
#include "search/vk_proxy.h"
#include "search/vk_search.h"

static const char search_help[] =
    "usage: vitskip search --model DIR --data PATH --board B [--board B2 ...] --db FILE\n"
    "                      [options]\n"
    "       vitskip search --db FILE --resume RUN [--board B ...]\n"
    "\n"
    "Co-search of per-encoder paths (NSGA-II) and entropy cascades,\n"
    "measured on the boards; every result goes to the SQLite database as it\n"
    "arrives, and no path is measured twice for a model, dataset and board.\n"
    "\n"
    "  --objective O        latency (default), energy or edp, against error\n"
    "  --max-acc-drop P     constraint: at most P points below the full model\n"
    "  --latency-budget MS  constraint: latency per image\n"
    "  --energy-budget MJ   constraint: energy per image\n"
    "  --budget N           stop after N evaluated paths (default 64; sweep: all)\n"
    "  --time-budget S      stop after S seconds\n"
    "  --stagnation N       stop after N evaluations without hypervolume gain\n"
    "  --population N       NSGA-II population kept per generation (default 6)\n"
    "  --offspring N        NSGA-II children per generation (default: one per board,\n"
    "                       at most the population, so every board is busy and\n"
    "                       selection happens as often as it can; with more boards\n"
    "                       than 6, raise --population too)\n"
    "  --strategy S         predict (default: NSGA-II breeding 16 candidates per\n"
    "                       child, of which the one a prediction says adds the\n"
    "                       most hypervolume is measured: top-1 from an accuracy\n"
    "                       proxy run on the host, calibrated on the run's\n"
    "                       measurements; cost from a surrogate fitted on them),\n"
    "                       nsga2, or random (the baseline: the full path, then\n"
    "                       uniformly random distinct paths)\n"
    "  --proxy-images N     predict: the accuracy proxy's images, the first N of\n"
    "                       the validation split (default 96), stored with the\n"
    "                       run: --resume screens on the run's and refuses another\n"
    "  --seed S             random seed (default 1), recorded with the run\n"
    "  --space SPACE        the modes each encoder may take: FS (default, PIVOT's:\n"
    "                       full or skipped attention), all (F, S, R reuse, H shared\n"
    "                       heads; keep 100/85/70/50% of the tokens where attention\n"
    "                       runs; drop 0/25/50% of the FFN), or LETTERS[:kP,..][:fP,..]\n"
    "                       e.g. FSH:k100,70:f0,50 (F or H required)\n"
    "  --seed-genome G      also evaluate genome G first (in the space; e.g.\n"
    "                       FSFH:k70, see vitskip eval --help)\n"
    "  --test PATH          test images (default: --data); refused when they are the\n"
    "                       file the default validation hold-out is taken from\n"
    "  --limit N            test images: a seeded class-stratified sample of N of the\n"
    "                       test split (default: all of it); only the front, the\n"
    "                       full path and the cascades' paths are measured on them,\n"
    "                       after the search\n"
    "  --val PATH           validation images, what the search selects on (default:\n"
    "                       the training file beside an IDX t10k file, narrowed to\n"
    "                       the checkpoint's hold-out when it has heldout.json; else\n"
    "                       a part of --data that the test split never shares)\n"
    "  --val-limit N        validation images (default 1000, or --limit's N when\n"
    "                       smaller): a seeded class-stratified sample\n"
    "  --calib PATH         calibration images (see vitskip eval --help)\n"
    "  --resume RUN         continue a killed, interrupted or finished run (its own\n"
    "                       settings and, without --board, its own boards are used;\n"
    "                       --budget N extends it to N paths)\n"
    "  --json               when the search ends, the run on stdout as one JSON object\n"
    "                       (what `vitskip show --json RUN` prints: the run, its paths\n"
    "                       and cascades with both splits' figures), instead of the\n"
    "                       tables; progress stays on stderr\n"
    "  -q, --quiet          no progress on stderr\n";

/* ---- progress on stderr ------------------------------------------------ */

typedef struct {
    vk_progress bar;
    char label[48];
    int bar_on;             /* this batch shows a bar */
    vk_objective objective; /* the run's, from on_started */
    int quiet;              /* -q: only the boards of a resume are said */
} search_view;

static void on_started(void *ctx, const vk_search_start *s)
{
    search_view *v = ctx;
    v->objective = s->objective;
    if (v->quiet && !s->run_boards)
        return;
    if (!v->quiet)
        fprintf(stderr,
                "search: run %lld, %s, selecting on %d validation images (the front then on "
                "%d test images), %d encoders, %d board(s), objective "
                "error vs %s, %s over space %s (%llu valid paths), seed %llu\n",
                (long long)s->run_id, s->model, s->n_images, s->n_test, s->n_layers, s->n_boards,
                vk_objective_name(s->objective),
                s->random ? "random search" : s->predict ? "NSGA-II with predictor" : "NSGA-II",
                s->space,
                (unsigned long long)s->n_valid, (unsigned long long)s->seed);
    fprintf(stderr, "search: boards");
    for (int i = 0; i < s->n_boards; i++)
        fprintf(stderr, "%s%s", i ? ", " : " ", s->boards[i]);
    fprintf(stderr, "%s; results keyed by %s\n",
            s->run_boards ? " (the run's own; --board B measures elsewhere)" : "", s->identity);
}

static void on_batch_begin(void *ctx, int gen, int n_paths, int n_found)
{
    search_view *v = ctx;
    v->bar_on = n_paths - n_found >= 4; /* a bar for batches worth one */
    if (!v->bar_on)
        return;
    if (gen < 0)
        snprintf(v->label, sizeof v->label, "front on the test split");
    else
        snprintf(v->label, sizeof v->label, "gen %d: measuring", gen);
    vk_progress_begin(&v->bar, v->label, n_paths);
    vk_progress_update(&v->bar, n_found);
}

static void on_batch_progress(void *ctx, int n_done)
{
    search_view *v = ctx;
    if (v->bar_on)
        vk_progress_update(&v->bar, n_done);
}

static void on_batch_end(void *ctx)
{
    search_view *v = ctx;
    if (v->bar_on)
        vk_progress_end(&v->bar);
    v->bar_on = 0;
}

static void on_generation(void *ctx, const vk_search_gen *g)
{
    const search_view *v = ctx;
    fprintf(stderr,
            "gen %d: %d evaluated (%d found in the database), hypervolume %.4g, "
            "cheapest %s: %s %.2f%% (validation) at %.4g %s, %.1fs\n",
            g->gen, g->n_evaluated, g->n_found, g->hv,
            g->best_feasible ? "feasible" : "(infeasible)", g->best->genome, g->best->top1,
            g->best_cost, vk_objective_name(v->objective), g->seconds);
}

static void on_board_unavailable(void *ctx, const char *spec, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "search: board %s left out: %s\n", spec, msg);
}

/* Ctrl-C: the search stops taking paths and marks the run interrupted; a
 * second Ctrl-C kills at once (SA_RESETHAND). */
static volatile sig_atomic_t stop_requested;

static void on_sigint(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* ---- what the search found, on stdout ----------------------------------- */

static void print_front(const vk_search_result *r)
{
    printf("run %lld: %d paths evaluated in %.1f s (%s); full model top-1 %.2f%% on "
           "validation (%d images, selected on), %.2f%% on test (%d images, never selected "
           "on); hypervolume %.6g on validation (error vs %s; reference 100%% error, 1.1 x "
           "the full path's cost)",
           (long long)r->run_id, r->n_evaluated, r->seconds,
           r->random ? "random search" : r->predict ? "NSGA-II with predictor" : "NSGA-II",
           r->full_top1, r->n_val, r->full_test_top1, r->n_test, r->hv,
           vk_objective_name(r->objective));
    if (r->hv3 >= 0)
        printf(", %.6g (error, latency, energy)", r->hv3);
    printf("; peak resident memory %.0f MiB\n", r->peak_rss_mib);
    printf("\nPareto front of paths (objective: error vs %s%s)\n",
           vk_objective_name(r->objective),
           r->front_infeasible ? "; no feasible path, least-violating shown" : "");
    printf("%-6s %8s %9s %12s %-9s %11s %-9s %12s %s\n", "config", "val top1", "test top1",
           "latency ms", "source", "energy mJ", "source", "EDP mJ*ms", "genome");
    for (int k = 0; k < r->n_front; k++) {
        const vk_path_rec *p = &r->front[k];
        char id[24];
        snprintf(id, sizeof id, "P%lld", (long long)p->id);
        char en[32] = "-", edp[32] = "-"; /* no energy figure: "-", not 0 */
        if (p->m.energy_src != VK_SRC_NONE) {
            snprintf(en, sizeof en, "%.4f", p->m.energy_mj);
            snprintf(edp, sizeof edp, "%.5f", p->m.energy_mj * p->m.latency_ms);
        }
        printf("%-6s %7.2f%% %8.2f%% %12.4f %-9s %11s %-9s %12s %s\n", id, p->top1,
               r->front_test_top1 ? r->front_test_top1[k] : NAN, p->m.latency_ms,
               vk_source_str(p->m.latency_src), en, vk_source_str(p->m.energy_src), edp,
               p->genome);
    }
    if (r->n_front)
        printf("figures: %s\n", r->front[0].m.note);
}

static void print_cascades(const vk_search_result *r)
{
    printf("\nPareto front of cascades (low path, entropy test, high path resuming after the "
           "shared encoders; thresholds chosen on validation, then applied to the test split)\n");
    printf("%-6s %-9s %-9s %9s %8s %9s %9s %9s %12s %12s\n", "config", "low", "high",
           "threshold", "val top1", "test top1", "val esc", "test esc", "lat ms", "lat ms PIVOT");
    for (int i = 0; i < r->n_cascades && i < 20; i++) {
        const vk_cascade_rec *c = &r->cascades[i];
        char lo_id[24], hi_id[24], id[24], tt[16] = "-", te[16] = "-";
        snprintf(id, sizeof id, "C%lld", (long long)c->id);
        snprintf(lo_id, sizeof lo_id, "P%lld", (long long)c->low);
        snprintf(hi_id, sizeof hi_id, "P%lld", (long long)c->high);
        if (c->has_test) {
            snprintf(tt, sizeof tt, "%.2f%%", c->top1_test);
            snprintf(te, sizeof te, "%.1f%%", 100 * c->escalated_test);
        }
        printf("%-6s %-9s %-9s %9.4f %7.2f%% %9s %8.1f%% %9s %12.4f %12.4f\n", id, lo_id, hi_id,
               c->threshold_q16 / 65536.0, c->top1, tt, 100 * c->escalated, te, c->latency_ms,
               c->latency_scratch_ms);
    }
    if (r->n_cascades > 20)
        printf("(%d more in the database)\n", r->n_cascades - 20);
    if (isfinite(r->best_resume_ms))
        printf("cheapest cascade within 0.5 points of the full path (%.2f%% on validation): "
               "%.4f ms per image "
               "with resume, %.4f ms re-running the high path from scratch as PIVOT does\n",
               r->full_top1, r->best_resume_ms, r->best_scratch_ms);
}

static int run_search(int argc, char **argv, int exhaustive)
{
    static const struct option opts[] = {
        {"model", 1, 0, 'm'},        {"data", 1, 0, 'd'},        {"board", 1, 0, 'b'},
        {"db", 1, 0, 'D'},           {"objective", 1, 0, 'o'},   {"max-acc-drop", 1, 0, 'a'},
        {"latency-budget", 1, 0, 'l'}, {"energy-budget", 1, 0, 'e'}, {"budget", 1, 0, 'n'},
        {"time-budget", 1, 0, 't'},  {"stagnation", 1, 0, 's'},  {"population", 1, 0, 'p'},
        {"seed", 1, 0, 'S'},         {"seed-genome", 1, 0, 'g'}, {"limit", 1, 0, 'L'},
        {"calib", 1, 0, 'c'},        {"resume", 1, 0, 'r'},      {"quiet", 0, 0, 'q'},
        {"strategy", 1, 0, 'x'},     {"offspring", 1, 0, 'O'},   {"help", 0, 0, 'h'},
        {"space", 1, 0, 'P'},        {"one-at-a-time", 0, 0, '1'}, {"val", 1, 0, 'V'},
        {"val-limit", 1, 0, 'N'},    {"test", 1, 0, 'E'},        {"json", 0, 0, 'J'},
        {"proxy-images", 1, 0, 'I'}, {0, 0, 0, 0}};
    const char *cmd = exhaustive ? "sweep" : "search";
    vk_search_opts o;
    long long v = 0;
    int c, space_set = 0, budget_set = 0, json = 0, strategy_set = 0;
    vk_search_opts_default(&o);
    o.exhaustive = exhaustive;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (c) {
        case 'm': o.model = optarg; break;
        case 'd': o.data = optarg; break;
        case 'c': o.calib = optarg; break;
        case 'V': o.val = optarg; break;
        case 'E': o.test = optarg; break;
        case 'D': o.db = optarg; break;
        case 'b':
            if (o.n_boards == VK_SEARCH_MAX_BOARDS)
                return vk_cli_usage(cmd, "at most %d boards", VK_SEARCH_MAX_BOARDS);
            if (vk_cli_check_board(cmd, optarg))
                return VK_EXIT_USAGE;
            o.boards[o.n_boards++] = optarg;
            break;
        case 'o':
            if (vk_objective_parse(optarg, &o.objective, NULL) != VK_OK)
                return vk_cli_usage(cmd, "--objective '%s': expected latency, energy or edp",
                                    optarg);
            break;
        case 'g':
            if (o.n_seed_genomes == VK_SEARCH_MAX_SEEDS)
                return vk_cli_usage(cmd, "at most %d --seed-genome", VK_SEARCH_MAX_SEEDS);
            o.seed_genomes[o.n_seed_genomes++] = optarg;
            break;
        case 'q': o.quiet = 1; break;
        case 'J': json = 1; break;
        case '1':
            if (!exhaustive)
                return vk_cli_usage(cmd, "--one-at-a-time is a kind of sweep (vitskip sweep)");
            o.one_at_a_time = 1;
            break;
        case 'P': {
            vk_space sp;
            vk_err e;
            if (vk_space_parse(optarg, &sp, &e) != VK_OK)
                return vk_cli_usage(cmd, "--space: %s", e.msg);
            o.space = optarg;
            space_set = 1;
            break;
        }
        case 'x':
            if (!strcmp(optarg, "nsga2") || !strcmp(optarg, "random") || !strcmp(optarg, "predict")) {
                o.random = !strcmp(optarg, "random");
                o.predict = !strcmp(optarg, "predict");
                strategy_set = 1;
            } else
                return vk_cli_usage(cmd, "--strategy '%s': expected nsga2, random or predict", optarg);
            break;
        case 'h': fputs(search_help, stdout); return VK_EXIT_OK;
        case 'a': if (vk_cli_parse_num(cmd, "--max-acc-drop", optarg, 0, &o.max_acc_drop)) return 2; break;
        case 'l': if (vk_cli_parse_num(cmd, "--latency-budget", optarg, 0, &o.latency_budget_ms)) return 2; break;
        case 'e': if (vk_cli_parse_num(cmd, "--energy-budget", optarg, 0, &o.energy_budget_mj)) return 2; break;
        case 't': if (vk_cli_parse_num(cmd, "--time-budget", optarg, 0, &o.time_budget_s)) return 2; break;
        case 'n': if (vk_cli_parse_int(cmd, "--budget", optarg, 1, VK_CLI_MAX_COUNT, &v)) return 2; o.budget = (int)v; budget_set = 1; break;
        case 's': if (vk_cli_parse_int(cmd, "--stagnation", optarg, 1, VK_CLI_MAX_COUNT, &v)) return 2; o.stagnation = (int)v; break;
        case 'p': if (vk_cli_parse_int(cmd, "--population", optarg, 4, VK_CLI_MAX_POPULATION, &v)) return 2; o.population = (int)v; break;
        case 'O': if (vk_cli_parse_int(cmd, "--offspring", optarg, 1, VK_CLI_MAX_POPULATION, &v)) return 2; o.offspring = (int)v; break;
        case 'L': if (vk_cli_parse_int(cmd, "--limit", optarg, 1, VK_CLI_MAX_COUNT, &v)) return 2; o.limit = (int)v; break;
        case 'I': if (vk_cli_parse_int(cmd, "--proxy-images", optarg, 1, VK_PROXY_MAX_N, &v)) return 2; o.proxy_n = (int)v; break;
        case 'N': if (vk_cli_parse_int(cmd, "--val-limit", optarg, 1, VK_CLI_MAX_COUNT, &v)) return 2; o.n_val = (int)v; break;
        case 'S': if (vk_cli_parse_int(cmd, "--seed", optarg, 0, INT64_MAX, &v)) return 2; o.seed = (uint64_t)v; break;
        case 'r': if (vk_cli_parse_int(cmd, "--resume", optarg, 1, INT64_MAX, &v)) return 2; o.resume_run = (int64_t)v; break;
        default: return vk_cli_bad_option(cmd, opts, argv);
        }
    }
    if (optind < argc)
        return vk_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (!o.db)
        return vk_cli_usage(cmd, "--db is required");
    if (o.offspring > o.population)
        return vk_cli_usage(cmd, "--offspring %d exceeds --population %d", o.offspring,
                            o.population);
    if (o.proxy_n && (exhaustive || !o.predict))
        return vk_cli_usage(cmd, "--proxy-images is the predict strategy's");
    if (o.one_at_a_time && o.n_seed_genomes)
        return vk_cli_usage(cmd, "--one-at-a-time measures the full path's variants only; "
                                 "drop --seed-genome");
    if (exhaustive && strategy_set)
        return vk_cli_usage(cmd, "--strategy: a sweep measures every path, it has no strategy");
    if (o.resume_run && o.n_seed_genomes)
        return vk_cli_usage(cmd, "--resume proposes the run's own seed genomes; drop "
                                 "--seed-genome");
    if (o.resume_run && space_set)
        return vk_cli_usage(cmd, "--resume continues the run's own space; drop --space");
    if (o.resume_run && (o.model || o.data || o.val || o.test || o.calib || o.limit || o.n_val))
        return vk_cli_usage(cmd, "--resume takes the model, data and splits of the run; drop "
                                 "--model/--data/--val/--test/--calib/--limit/--val-limit");
    if (!o.data)
        o.data = o.test; /* --test alone: the validation default comes from it, as --data's */
    if (!o.resume_run && (!o.model || !o.data))
        return vk_cli_usage(cmd, "--model and --data (or --test) are required");
    /* the seed genomes: well formed and in the space (their length against
       the model's encoders is checked once the model is read, before the
       database is touched) */
    for (int i = 0; i < o.n_seed_genomes; i++)
        if (vk_cli_check_genome(cmd, "--seed-genome", o.seed_genomes[i], o.space))
            return VK_EXIT_USAGE;
    if (!budget_set && !o.resume_run) /* a resume keeps the run's budget */
        o.budget = exhaustive ? 0 : 64;
    if (o.n_boards == 0 && !o.resume_run)
        o.boards[o.n_boards++] = "sim";
    search_view view = {.objective = o.objective, .quiet = o.quiet};
    vk_search_events ev = {.ctx = &view, .started = on_started,
                           .attempt_failed = vk_cli_search_failed,
                           .board_unavailable = on_board_unavailable};
    vk_calib_opts cache = {0};
    vk_calib_bar cbar;
    if (!o.quiet) {
        vk_cli_calib_progress(&cache, &cbar, 0);
        o.cache = &cache;
        ev.batch_begin = on_batch_begin;
        ev.batch_progress = on_batch_progress;
        ev.batch_end = on_batch_end;
        ev.generation = on_generation;
    }
    o.events = &ev;
    struct sigaction sa, old_sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    stop_requested = 0;
    sigaction(SIGINT, &sa, &old_sa);
    o.stop = &stop_requested;
    vk_search_result r;
    vk_err err = {{0}};
    vk_status rc = vk_search_run(&o, &r, &err);
    sigaction(SIGINT, &old_sa, NULL);
    if (r.has_front && !json)
        print_front(&r);
    if (r.has_cascades && !json)
        print_cascades(&r);
    int64_t run = r.run_id;
    int interrupted = r.interrupted;
    vk_search_result_free(&r);
    if (interrupted) { /* the paths measured are stored */
        if (rc != VK_OK || !run)
            fprintf(stderr, "vitskip %s: interrupted (%s)\n", cmd, err.msg);
        else
            fprintf(stderr, "vitskip %s: interrupted; run %lld is marked interrupted\n"
                            "resume with: vitskip %s --db %s --resume %lld\n",
                    cmd, (long long)run, cmd, o.db, (long long)run);
        return VK_EXIT_INTERRUPTED;
    }
    if (rc != VK_OK) {
        fprintf(stderr, "vitskip %s: %s\n", cmd, err.msg);
        if (run)
            fprintf(stderr, "resume with: vitskip %s --db %s --resume %lld\n", cmd, o.db,
                    (long long)run);
        return rc == VK_E_BOARD || rc == VK_E_NET || rc == VK_E_TIMEOUT ? VK_EXIT_BOARD
                                                                       : VK_EXIT_FAIL;
    }
    if (json) { /* the run as show --json prints it, read back from the database */
        char id[24], db[4096];
        snprintf(id, sizeof id, "%lld", (long long)run);
        snprintf(db, sizeof db, "%s", o.db);
        char *show_argv[] = {"show", "--db", db, "--json", id, NULL};
        return vk_cmd_show(5, show_argv);
    }
    return VK_EXIT_OK;
}

int vk_cmd_search(int argc, char **argv)
{
    return run_search(argc, argv, 0);
}

int vk_cmd_sweep(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: vitskip sweep --model DIR --data PATH --db FILE [--board B ...]\n"
                   "                     [--space SPACE] [--one-at-a-time]\n\n"
                   "Measures every valid path of the space (--space, default FS: 2^encoders),\n"
                   "giving the true front (at most %d paths); takes the search's options.\n"
                   "--one-at-a-time measures the full path and every path that changes one\n"
                   "field of one encoder to another choice of the space instead (read it\n"
                   "with vitskip sensitivity).\n",
                   VK_SEARCH_MAX_SWEEP);
            return VK_EXIT_OK;
        }
    return run_search(argc, argv, 1);
}

