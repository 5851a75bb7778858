/* vk_cmd_search: `vitskip search`, `sweep`, `search-bench`, `show`,
 * `export` and `replay`. */
#include <cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boards/vk_board.h"
#include "db/vk_store.h"
#include "host/vk_workload.h"
#include "host/vk_cli.h"
#include "search/vk_evo.h"
#include "search/vk_export.h"
#include "search/vk_search.h"

static const char search_help[] =
    "usage: vitskip search --model DIR --data PATH --board B [--board B2 ...] --db FILE\n"
    "                      [options]\n"
    "       vitskip search --db FILE --resume RUN [--board B ...]\n"
    "\n"
    "Co-search of per-encoder attention paths (NSGA-II) and entropy cascades,\n"
    "measured on the boards; every result goes to the SQLite database as it\n"
    "arrives, and no path is measured twice for a model, dataset and board.\n"
    "\n"
    "  --objective O        latency (default), energy or edp, against error\n"
    "  --max-acc-drop P     constraint: at most P points below the full model\n"
    "  --latency-budget MS  constraint: latency per image\n"
    "  --energy-budget MJ   constraint: energy per image\n"
    "  --budget N           stop after N evaluated paths (default 64)\n"
    "  --time-budget S      stop after S seconds\n"
    "  --stagnation N       stop after N evaluations without hypervolume gain\n"
    "  --population N       NSGA-II population kept per generation (default 6)\n"
    "  --offspring N        NSGA-II children per generation (default: one per board,\n"
    "                       at most the population, so every board is busy and\n"
    "                       selection happens as often as it can; with more boards\n"
    "                       than 6, raise --population too)\n"
    "  --strategy S         nsga2 (default) or random (the baseline: the full path,\n"
    "                       then uniformly random distinct paths)\n"
    "  --seed S             random seed (default 1), recorded with the run\n"
    "  --seed-genome G      also evaluate genome G first (F/S per encoder)\n"
    "  --limit N            evaluate on the first N images (default: all)\n"
    "  --calib PATH         calibration images (see vitskip eval --help)\n"
    "  --resume RUN         continue a killed run (its own settings are used)\n"
    "  -q, --quiet          no progress on stderr\n";

static int parse_num(const char *cmd, const char *opt, const char *s, double lo, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (*end || end == s || !(v >= lo))
        return vk_cli_usage(cmd, "%s '%s': expected a number >= %g", opt, s, lo);
    *out = v;
    return 0;
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
        {0, 0, 0, 0}};
    const char *cmd = exhaustive ? "sweep" : "search";
    vk_search_opts o;
    double v = 0;
    int c;
    vk_search_opts_default(&o);
    o.budget = exhaustive ? 0 : 64;
    o.exhaustive = exhaustive;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (c) {
        case 'm': o.model = optarg; break;
        case 'd': o.data = optarg; break;
        case 'c': o.calib = optarg; break;
        case 'D': o.db = optarg; break;
        case 'b':
            if (o.n_boards == VK_SEARCH_MAX_BOARDS)
                return vk_cli_usage(cmd, "at most %d boards", VK_SEARCH_MAX_BOARDS);
            o.boards[o.n_boards++] = optarg;
            break;
        case 'o':
            if (!strcmp(optarg, "latency"))
                o.objective = VK_OBJ_LATENCY;
            else if (!strcmp(optarg, "energy"))
                o.objective = VK_OBJ_ENERGY;
            else if (!strcmp(optarg, "edp"))
                o.objective = VK_OBJ_EDP;
            else
                return vk_cli_usage(cmd, "--objective '%s': expected latency, energy or edp",
                                    optarg);
            break;
        case 'g':
            if (o.n_seed_genomes == VK_SEARCH_MAX_SEEDS)
                return vk_cli_usage(cmd, "at most %d --seed-genome", VK_SEARCH_MAX_SEEDS);
            o.seed_genomes[o.n_seed_genomes++] = optarg;
            break;
        case 'q': o.quiet = 1; break;
        case 'x':
            if (!strcmp(optarg, "nsga2") || !strcmp(optarg, "random"))
                o.random = !strcmp(optarg, "random");
            else
                return vk_cli_usage(cmd, "--strategy '%s': expected nsga2 or random", optarg);
            break;
        case 'h': fputs(search_help, stdout); return VK_EXIT_OK;
        case 'a': if (parse_num(cmd, "--max-acc-drop", optarg, 0, &o.max_acc_drop)) return 2; break;
        case 'l': if (parse_num(cmd, "--latency-budget", optarg, 0, &o.latency_budget_ms)) return 2; break;
        case 'e': if (parse_num(cmd, "--energy-budget", optarg, 0, &o.energy_budget_mj)) return 2; break;
        case 't': if (parse_num(cmd, "--time-budget", optarg, 0, &o.time_budget_s)) return 2; break;
        case 'n': if (parse_num(cmd, "--budget", optarg, 1, &v)) return 2; o.budget = (int)v; break;
        case 's': if (parse_num(cmd, "--stagnation", optarg, 1, &v)) return 2; o.stagnation = (int)v; break;
        case 'p': if (parse_num(cmd, "--population", optarg, 4, &v)) return 2; o.population = (int)v; break;
        case 'O': if (parse_num(cmd, "--offspring", optarg, 1, &v)) return 2; o.offspring = (int)v; break;
        case 'L': if (parse_num(cmd, "--limit", optarg, 1, &v)) return 2; o.limit = (int)v; break;
        case 'S': if (parse_num(cmd, "--seed", optarg, 0, &v)) return 2; o.seed = (uint64_t)v; break;
        case 'r': if (parse_num(cmd, "--resume", optarg, 1, &v)) return 2; o.resume_run = (int64_t)v; break;
        default: return vk_cli_usage(cmd, "unknown option");
        }
    }
    if (optind < argc)
        return vk_cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (!o.db)
        return vk_cli_usage(cmd, "--db is required");
    if (o.offspring > o.population)
        return vk_cli_usage(cmd, "--offspring %d exceeds --population %d", o.offspring,
                            o.population);
    if (exhaustive && o.random)
        return vk_cli_usage(cmd, "--strategy: a sweep measures every path, it has no strategy");
    if (o.resume_run && (o.model || o.data))
        return vk_cli_usage(cmd, "--resume takes the model and data of the run; drop --model/--data");
    if (!o.resume_run && (!o.model || !o.data))
        return vk_cli_usage(cmd, "--model and --data are required");
    if (o.n_boards == 0)
        o.boards[o.n_boards++] = "sim";
    int64_t run = 0;
    vk_err err = {{0}};
    vk_status rc = vk_search_run(&o, &run, &err);
    if (rc != VK_OK) {
        fprintf(stderr, "vitskip %s: %s\n", cmd, err.msg);
        if (run)
            fprintf(stderr, "resume with: vitskip search --db %s --resume %lld\n", o.db,
                    (long long)run);
        return rc == VK_E_BOARD || rc == VK_E_NET || rc == VK_E_TIMEOUT ? VK_EXIT_BOARD
                                                                       : VK_EXIT_FAIL;
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
            printf("usage: vitskip sweep --model DIR --data PATH --db FILE [--board B ...]\n\n"
                   "Measures every path of the space (2^encoders), giving the true front;\n"
                   "takes the search's options.\n");
            return VK_EXIT_OK;
        }
    return run_search(argc, argv, 1);
}

/* ---- show and export -------------------------------------------------- */

static int open_db(const char *cmd, const char *path, vk_store **db)
{
    vk_err err = {{0}};
    if (!path)
        return vk_cli_usage(cmd, "--db is required");
    if (vk_store_open(path, db, &err) != VK_OK) {
        fprintf(stderr, "vitskip %s: %s\n", cmd, err.msg);
        return VK_EXIT_FAIL;
    }
    return 0;
}

int vk_cmd_show(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", 1, 0, 'D'}, {"json", 0, 0, 'j'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *path = NULL;
    int c, json = 0, rcode;
    int64_t *runs = NULL, *paths = NULL, want = 0;
    int n_runs = 0, n_paths = 0;
    vk_store *db;
    vk_err err = {{0}};
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'D')
            path = optarg;
        else if (c == 'j')
            json = 1;
        else if (c == 'h') {
            printf("usage: vitskip show --db FILE [RUN] [--json]\n\nRuns, and the paths and "
                   "cascades of a run (default: the newest).\n");
            return VK_EXIT_OK;
        } else
            return vk_cli_usage("show", "unknown option");
    }
    if (optind < argc) {
        char *end;
        want = strtoll(argv[optind], &end, 10);
        if (*end || want < 1)
            return vk_cli_usage("show", "RUN '%s': expected a run id", argv[optind]);
    }
    if ((rcode = open_db("show", path, &db)))
        return rcode;
    rcode = VK_EXIT_FAIL;
    if (vk_store_run_list(db, &runs, &n_runs, &err) != VK_OK)
        goto out;
    if (!n_runs) {
        printf("%s: no runs\n", path);
        rcode = VK_EXIT_OK;
        goto out;
    }
    if (!want)
        want = runs[n_runs - 1];
    vk_run_info r;
    if (vk_store_run_get(db, want, &r, &err) != VK_OK ||
        vk_store_run_paths(db, want, &paths, &n_paths, &err) != VK_OK)
        goto out;
    cJSON *root = cJSON_CreateObject(), *jr = cJSON_AddObjectToObject(root, "run");
    cJSON_AddNumberToObject(jr, "id", (double)r.id);
    cJSON_AddStringToObject(jr, "status", r.status);
    cJSON_AddStringToObject(jr, "model", r.model);
    cJSON_AddStringToObject(jr, "data", r.data);
    cJSON_AddNumberToObject(jr, "n_images", r.n_images);
    cJSON_AddStringToObject(jr, "boards", r.boards);
    cJSON_AddStringToObject(jr, "objective", r.objective);
    cJSON_AddStringToObject(jr, "strategy", r.strategy);
    cJSON_AddNumberToObject(jr, "population", r.population);
    cJSON_AddNumberToObject(jr, "offspring", r.offspring);
    cJSON_AddNumberToObject(jr, "seed", (double)r.seed);
    cJSON *arr = cJSON_AddArrayToObject(root, "paths");
    if (!json) {
        printf("runs:");
        for (int i = 0; i < n_runs; i++)
            printf(" %lld", (long long)runs[i]);
        printf("\nrun %lld (%s, %s): model %s, data %s (%d images), boards %s, objective %s, "
               "%s (population %d, %d offspring per generation), seed %llu\n", (long long)r.id,
               r.created, r.status, r.model, r.data, r.n_images, r.boards, r.objective,
               r.strategy, r.population, r.offspring, (unsigned long long)r.seed);
        printf("%-6s %-14s %7s %12s %-9s %11s %-9s\n", "config", "genome", "top-1", "latency ms",
               "source", "energy mJ", "source");
    }
    for (int i = 0; i < n_paths; i++) {
        vk_path_rec p;
        if (vk_store_path_get(db, paths[i], r.n_images, &p, &err) != VK_OK)
            goto out_json;
        if (json) {
            cJSON *o = cJSON_CreateObject();
            char id[24];
            snprintf(id, sizeof id, "P%lld", (long long)p.id);
            cJSON_AddStringToObject(o, "config", id);
            cJSON_AddStringToObject(o, "genome", p.genome);
            cJSON_AddNumberToObject(o, "top1", p.top1);
            cJSON_AddNumberToObject(o, "latency_ms", p.m.latency_ms);
            cJSON_AddStringToObject(o, "latency_source", vk_source_str(p.m.latency_src));
            cJSON_AddNumberToObject(o, "energy_mj", p.m.energy_mj);
            cJSON_AddStringToObject(o, "energy_source", vk_source_str(p.m.energy_src));
            cJSON_AddItemToArray(arr, o);
        } else {
            printf("P%-5lld %-14s %6.2f%% %12.4f %-9s %11.4f %-9s\n", (long long)p.id, p.genome,
                   p.top1, p.m.latency_ms, vk_source_str(p.m.latency_src), p.m.energy_mj,
                   vk_source_str(p.m.energy_src));
        }
        vk_store_rec_free(&p);
    }
    {
        vk_cascade_rec *cs = NULL;
        int nc = 0;
        if (vk_store_cascade_list(db, want, &cs, &nc, &err) != VK_OK)
            goto out_json;
        cJSON *ca = cJSON_AddArrayToObject(root, "cascades");
        if (!json && nc)
            printf("cascades (Pareto set):\n%-6s %-6s %-6s %9s %7s %11s %12s\n", "config", "low",
                   "high", "threshold", "top-1", "latency ms", "PIVOT-style");
        for (int i = 0; i < nc; i++) {
            if (json) {
                cJSON *o = cJSON_CreateObject();
                char id[24];
                snprintf(id, sizeof id, "C%lld", (long long)cs[i].id);
                cJSON_AddStringToObject(o, "config", id);
                cJSON_AddNumberToObject(o, "low_path", (double)cs[i].low);
                cJSON_AddNumberToObject(o, "high_path", (double)cs[i].high);
                cJSON_AddNumberToObject(o, "threshold_q16", cs[i].threshold_q16);
                cJSON_AddNumberToObject(o, "resume", cs[i].resume);
                cJSON_AddNumberToObject(o, "top1", cs[i].top1);
                cJSON_AddNumberToObject(o, "latency_ms", cs[i].latency_ms);
                cJSON_AddNumberToObject(o, "latency_scratch_ms", cs[i].latency_scratch_ms);
                cJSON_AddItemToArray(ca, o);
            } else {
                printf("C%-5lld P%-5lld P%-5lld %9.4f %6.2f%% %11.4f %12.4f\n",
                       (long long)cs[i].id, (long long)cs[i].low, (long long)cs[i].high,
                       cs[i].threshold_q16 / 65536.0, cs[i].top1, cs[i].latency_ms,
                       cs[i].latency_scratch_ms);
            }
        }
        free(cs);
    }
    if (json) {
        char *s = cJSON_Print(root);
        puts(s);
        free(s);
    }
    rcode = VK_EXIT_OK;
out_json:
    cJSON_Delete(root);
out:
    if (rcode != VK_EXIT_OK && err.msg[0])
        fprintf(stderr, "vitskip show: %s\n", err.msg);
    free(runs);
    free(paths);
    vk_store_close(db);
    return rcode;
}

/* Resolves "P12" / "C3" into a skip table with provenance. */
static int load_config(vk_store *db, const char *id, vk_skip_table *t, vk_err *err)
{
    char *end;
    long long n = (id[0] == 'P' || id[0] == 'C') ? strtoll(id + 1, &end, 10) : 0;
    vk_path_rec lo, hi;
    if (n < 1 || *end) {
        vk_fail(err, VK_E_ARG, "--config '%s': expected P<path id> or C<cascade id>", id);
        return VK_EXIT_USAGE;
    }
    memset(t, 0, sizeof *t);
    if (id[0] == 'P') {
        if (vk_store_path_get(db, n, 0, &lo, err) != VK_OK)
            return VK_EXIT_FAIL;
        t->n_layers = (int)strlen(lo.genome);
        if (vk_genome_parse(lo.genome, t->n_layers, &t->low, err) != VK_OK) {
            vk_store_rec_free(&lo);
            return VK_EXIT_FAIL;
        }
        snprintf(t->model_hash, sizeof t->model_hash, "%s", lo.model_hash);
        snprintf(t->comment, sizeof t->comment,
                 "path %s on board %s: top-1 %.2f%%, %.4f ms [%s], %.4f mJ [%s] per image", id,
                 lo.board, lo.top1, lo.m.latency_ms, vk_source_str(lo.m.latency_src),
                 lo.m.energy_mj, vk_source_str(lo.m.energy_src));
        vk_store_rec_free(&lo);
        return 0;
    }
    vk_cascade_rec c;
    if (vk_store_cascade_get(db, n, &c, err) != VK_OK ||
        vk_store_path_get(db, c.low, 0, &lo, err) != VK_OK)
        return VK_EXIT_FAIL;
    if (vk_store_path_get(db, c.high, 0, &hi, err) != VK_OK) {
        vk_store_rec_free(&lo);
        return VK_EXIT_FAIL;
    }
    t->kind_cascade = 1;
    t->n_layers = (int)strlen(lo.genome);
    vk_genome_parse(lo.genome, t->n_layers, &t->low, err);
    vk_genome_parse(hi.genome, t->n_layers, &t->high, err);
    t->threshold_q16 = c.threshold_q16;
    t->resume = c.resume;
    snprintf(t->model_hash, sizeof t->model_hash, "%s", lo.model_hash);
    snprintf(t->comment, sizeof t->comment,
             "cascade %s: %s -> %s, top-1 %.2f%%, expected %.4f ms per image with resume, "
             "%.4f ms from scratch [%s]",
             id, lo.genome, hi.genome, c.top1, c.latency_ms, c.latency_scratch_ms,
             vk_source_str(lo.m.latency_src));
    vk_store_rec_free(&lo);
    vk_store_rec_free(&hi);
    return 0;
}

int vk_cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {{"db", 1, 0, 'D'},     {"config", 1, 0, 'c'},
                                         {"format", 1, 0, 'f'}, {"output", 1, 0, 'o'},
                                         {"help", 0, 0, 'h'},   {0, 0, 0, 0}};
    const char *path = NULL, *cfg = NULL, *fmt = "header", *out = NULL;
    vk_store *db;
    vk_skip_table t;
    vk_err err = {{0}};
    int c, rcode;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'D': path = optarg; break;
        case 'c': cfg = optarg; break;
        case 'f': fmt = optarg; break;
        case 'o': out = optarg; break;
        case 'h':
            printf("usage: vitskip export --db FILE --config P<id>|C<id> [--format header|json] "
                   "[-o FILE]\n\nThe skip table of a stored path or cascade: a C header for "
                   "firmware (mode words,\nthreshold in Q16 nats, model hash) or JSON for "
                   "tools.\n");
            return VK_EXIT_OK;
        default: return vk_cli_usage("export", "unknown option");
        }
    }
    if (!cfg)
        return vk_cli_usage("export", "--config is required");
    if (strcmp(fmt, "header") && strcmp(fmt, "json"))
        return vk_cli_usage("export", "--format '%s': expected header or json", fmt);
    if ((rcode = open_db("export", path, &db)))
        return rcode;
    rcode = load_config(db, cfg, &t, &err);
    vk_store_close(db);
    if (rcode) {
        fprintf(stderr, "vitskip export: %s\n", err.msg);
        return rcode;
    }
    char *text = !strcmp(fmt, "json") ? vk_export_json(&t) : vk_export_header(&t);
    FILE *f = out ? fopen(out, "w") : stdout;
    if (!text || !f) {
        fprintf(stderr, "vitskip export: %s: %s\n", out ? out : "stdout",
                text ? "cannot create" : "out of memory");
        free(text);
        return VK_EXIT_FAIL;
    }
    fputs(text, f);
    if (text[0] && text[strlen(text) - 1] != '\n')
        fputc('\n', f);
    if (out && fclose(f) != 0) {
        fprintf(stderr, "vitskip export: %s: write failed\n", out);
        free(text);
        return VK_EXIT_FAIL;
    }
    free(text);
    return VK_EXIT_OK;
}

static void on_progress(void *ctx, int done, int total)
{
    (void)total;
    vk_progress_update(ctx, done);
}

int vk_cmd_replay(int argc, char **argv)
{
    static const struct option opts[] = {{"db", 1, 0, 'D'},    {"config", 1, 0, 'c'},
                                         {"board", 1, 0, 'b'}, {"model", 1, 0, 'm'},
                                         {"help", 0, 0, 'h'},  {0, 0, 0, 0}};
    const char *path = NULL, *cfg = NULL, *board = NULL, *model = NULL;
    vk_store *db;
    vk_skip_table t;
    vk_err err = {{0}};
    vk_run_info run;
    vk_cascade_rec cas;
    vk_path_rec orig;
    vk_workload w;
    vk_workload_opts wo = {0};
    vk_board *b = NULL;
    vk_img_result *res = NULL;
    int32_t *cls = NULL;
    int64_t run_id = 0;
    int c, rcode;
    double orig_top1, orig_ms, orig_scratch = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'D': path = optarg; break;
        case 'c': cfg = optarg; break;
        case 'b': board = optarg; break;
        case 'm': model = optarg; break;
        case 'h':
            printf("usage: vitskip replay --db FILE --config P<id>|C<id> [--board B] "
                   "[--model DIR]\n\nRe-measures a stored path or cascade end to end (a cascade "
                   "routes each image\nby its entropy on the board), stores the replay and "
                   "prints both.\n--model replays with other (e.g. fine-tuned) weights of the "
                   "same shape.\n");
            return VK_EXIT_OK;
        default: return vk_cli_usage("replay", "unknown option");
        }
    }
    if (!cfg)
        return vk_cli_usage("replay", "--config is required");
    if ((rcode = open_db("replay", path, &db)))
        return rcode;
    if ((rcode = load_config(db, cfg, &t, &err)))
        goto out_db;
    rcode = VK_EXIT_FAIL;
    if (t.kind_cascade) {
        if (vk_store_cascade_get(db, strtoll(cfg + 1, NULL, 10), &cas, &err) != VK_OK)
            goto out_db;
        run_id = cas.run_id;
        orig_top1 = cas.top1;
        orig_ms = cas.latency_ms;
        orig_scratch = cas.latency_scratch_ms;
    } else {
        if (vk_store_path_get(db, strtoll(cfg + 1, NULL, 10), 0, &orig, &err) != VK_OK ||
            vk_store_path_run(db, orig.id, &run_id, &err) != VK_OK)
            goto out_db;
        orig_top1 = orig.top1;
        orig_ms = orig.m.latency_ms;
        vk_store_rec_free(&orig);
    }
    if (vk_store_run_get(db, run_id, &run, &err) != VK_OK)
        goto out_db;
    wo.model = model ? model : run.model;
    wo.data = run.data;
    wo.calib = run.calib[0] ? run.calib : NULL;
    wo.limit = run.n_images;
    if (vk_workload_open(&wo, &w, &err) != VK_OK)
        goto out_db;
    if (!board) {
        board = run.boards;
        char *comma = strchr(run.boards, ',');
        if (comma)
            *comma = 0;
    }
    res = calloc((size_t)w.n, sizeof *res);
    cls = calloc((size_t)w.n, sizeof *cls);
    if (!res || !cls || vk_board_open(board, &b, &err) != VK_OK ||
        vk_board_load(b, &w.q, &err) != VK_OK || vk_board_load_data(b, w.imgs, w.n, &err) != VK_OK) {
        rcode = VK_EXIT_BOARD;
        goto out_w;
    }
    {
        vk_progress pr;
        vk_measure m;
        vk_path_req req = {.modes = t.low.modes, .progress = on_progress, .progress_ctx = &pr};
        if (t.kind_cascade) {
            req.modes_high = t.high.modes;
            req.threshold_q16 = t.threshold_q16;
            req.resume = t.resume;
        }
        vk_progress_begin(&pr, "replay", w.n);
        vk_status rc = vk_board_measure(b, &req, w.n, res, &m, &err);
        vk_progress_end(&pr);
        if (rc != VK_OK) {
            rcode = VK_EXIT_BOARD;
            goto out_w;
        }
        for (int i = 0; i < w.n; i++)
            cls[i] = res[i].cls;
        double top1 = vk_workload_top1(&w, cls, w.n);
        if (vk_store_replay_insert(db, cfg, vk_board_spec(b), w.model_hash, top1, &m, &err) != VK_OK)
            goto out_w;
        printf("%s %s, %d images, model %.16s%s\n", t.kind_cascade ? "cascade" : "path", cfg,
               w.n, w.model_hash, model ? " (replayed with --model)" : "");
        printf("stored:  top-1 %6.2f%%  latency %.4f ms per image%s\n", orig_top1, orig_ms,
               t.kind_cascade ? " (expected, from the two paths' per-image results)" : "");
        if (t.kind_cascade)
            printf("         from scratch as PIVOT does: %.4f ms\n", orig_scratch);
        printf("replay:  top-1 %6.2f%%  latency %.4f ms per image [%s], energy %.4f mJ [%s] on "
               "%s%s\n", top1, m.latency_ms, vk_source_str(m.latency_src), m.energy_mj,
               vk_source_str(m.energy_src), vk_board_spec(b),
               t.kind_cascade ? "" : "");
        if (t.kind_cascade)
            printf("         %d of %d images escalated on the board\n", m.n_escalated, w.n);
        printf("         %s\n", m.note);
        rcode = VK_EXIT_OK;
    }
out_w:
    vk_board_close(b);
    vk_workload_free(&w);
out_db:
    if (rcode != VK_EXIT_OK && err.msg[0])
        fprintf(stderr, "vitskip replay: %s\n", err.msg);
    free(res);
    free(cls);
    vk_store_close(db);
    return rcode;
}

/* ---- search-bench ------------------------------------------------------- */

static const char search_bench_help[] =
    "usage: vitskip search-bench --db FILE [--run RUN] [--seeds N] [--budgets B1,B2,...]\n"
    "                            [--population N] [--offspring N]\n"
    "\n"
    "How good is the search? Takes a sweep run (`vitskip sweep`: every path of the\n"
    "space measured, so its front is the true one) and runs NSGA-II and random\n"
    "search N times each (seeds 1..N) with the sweep's model, data, board,\n"
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
    "                  on one board)\n";

/* Number of paths in run's space (2 modes per encoder), 0 if unknown. */
static int space_of(vk_store *db, int64_t run, int *n_paths, vk_err *err)
{
    int64_t *ids = NULL;
    vk_path_rec rec;
    int n = 0, space = 0;
    if (vk_store_run_paths(db, run, &ids, &n, err) != VK_OK)
        return -1;
    if (n > 0 && vk_store_path_get(db, ids[0], 0, &rec, err) == VK_OK) {
        int len = (int)strlen(rec.genome);
        space = len > 0 && len < 24 ? 1 << len : 0;
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
                                         {"help", 0, 0, 'h'},    {0, 0, 0, 0}};
    const char *cmd = "search-bench", *dbpath = NULL, *budgets_s = "32,64,128";
    int64_t run_id = 0;
    int n_seeds = 10, population = 6, offspring = 1, budgets[8], n_budgets = 0, c, rcx = VK_EXIT_FAIL;
    double v = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'D': dbpath = optarg; break;
        case 'b': budgets_s = optarg; break;
        case 'h': fputs(search_bench_help, stdout); return VK_EXIT_OK;
        case 'r': if (parse_num(cmd, "--run", optarg, 1, &v)) return 2; run_id = (int64_t)v; break;
        case 'n': if (parse_num(cmd, "--seeds", optarg, 1, &v)) return 2; n_seeds = (int)v; break;
        case 'p': if (parse_num(cmd, "--population", optarg, 4, &v)) return 2; population = (int)v; break;
        case 'O': if (parse_num(cmd, "--offspring", optarg, 1, &v)) return 2; offspring = (int)v; break;
        default: return vk_cli_usage(cmd, "unknown option");
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
    if (offspring > population)
        return vk_cli_usage(cmd, "--offspring %d exceeds --population %d", offspring, population);
    vk_store *db = NULL;
    if (open_db(cmd, dbpath, &db))
        return VK_EXIT_FAIL;
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
    double *frac = calloc((size_t)2 * n_budgets * n_seeds * 2, sizeof *frac);
    if (!frac) {
        vk_fail(&err, VK_E_NOMEM, "out of memory");
        goto fail;
    }
#define FRAC(st, b, s, k) frac[(((size_t)(st) * n_budgets + (b)) * n_seeds + (s)) * 2 + (k)]
    /* the model quantized and the images loaded once for every search */
    vk_workload w;
    vk_workload_opts wo = {.model = sweep.model, .data = sweep.data,
                           .calib = sweep.calib[0] ? sweep.calib : NULL,
                           .limit = sweep.n_images, .quiet = 1};
    if (vk_workload_open(&wo, &w, &err) != VK_OK) {
        free(frac);
        goto fail;
    }
    if (strcmp(w.model_hash, sweep.model_hash) || strcmp(w.data_hash, sweep.data_hash)) {
        vk_fail(&err, VK_E_MISMATCH, "run %lld: %s or %s changed since the sweep (hashes differ)",
                (long long)run_id, sweep.model, sweep.data);
        goto fail_w;
    }
    char board[512];
    snprintf(board, sizeof board, "%s", sweep.boards);
    board[strcspn(board, ",")] = 0;
    double t0 = vk_now();
    vk_progress prog;
    vk_progress_begin(&prog, "search-bench", 2 * n_seeds);
    for (int st = 0; st < 2; st++)
        for (int sd = 0; sd < n_seeds; sd++) {
            vk_search_opts o;
            int64_t r = 0;
            int ok = 0, failed = 0;
            vk_search_opts_default(&o);
            o.model = sweep.model;
            o.data = sweep.data;
            o.workload = &w;
            o.calib = sweep.calib[0] ? sweep.calib : NULL;
            o.limit = sweep.n_images;
            o.db = tmp;
            o.boards[o.n_boards++] = board;
            o.objective = !strcmp(sweep.objective, "energy") ? VK_OBJ_ENERGY
                          : !strcmp(sweep.objective, "edp") ? VK_OBJ_EDP
                                                            : VK_OBJ_LATENCY;
            o.max_acc_drop = sweep.max_acc_drop;
            o.latency_budget_ms = sweep.latency_budget_ms;
            o.energy_budget_mj = sweep.energy_budget_mj;
            o.budget = budgets[n_budgets - 1];
            o.population = population;
            o.offspring = offspring;
            o.seed = (uint64_t)sd + 1;
            o.random = st == 1;
            o.quiet = 2;
            o.no_cascades = 1;
            vk_store *bdb = NULL;
            if (vk_search_run(&o, &r, &err) != VK_OK || vk_store_open(tmp, &bdb, &err) != VK_OK)
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
        printf("%-8s %-26s %-26s %s\n", "budget", "NSGA-II", "random search",
               "NSGA-II ahead (seeds)");
        for (int b = 0; b < n_budgets; b++) {
            char cell[2][64];
            int ahead = 0;
            for (int st = 0; st < 2; st++) {
                double sum = 0, lo = INFINITY, hi = -INFINITY;
                for (int sd = 0; sd < n_seeds; sd++) {
                    double f = FRAC(st, b, sd, k);
                    sum += f;
                    lo = f < lo ? f : lo;
                    hi = f > hi ? f : hi;
                }
                snprintf(cell[st], sizeof cell[st], "%6.2f%% [%6.2f, %6.2f]", sum / n_seeds, lo,
                         hi);
            }
            for (int sd = 0; sd < n_seeds; sd++)
                ahead += FRAC(0, b, sd, k) > FRAC(1, b, sd, k);
            printf("%-8d %-26s %-26s %d/%d\n", budgets[b], cell[0], cell[1], ahead, n_seeds);
        }
    }
#undef FRAC
    printf("(%d searches in %.1f s; figures are the sweep's: %s)\n", 2 * n_seeds,
           vk_now() - t0, sweep.boards);
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
    if (tmp[0])
        remove_db(tmp);
    vk_store_close(db);
    return rcx;
}
