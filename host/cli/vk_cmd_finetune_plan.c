/* vk_cmd_finetune_plan: `vitskip finetune-plan`, the search-then-tune loop:
 * picks a run's front paths worth tuning, exports each, runs the tuning
 * command (tools/finetune/finetune.py by default), imports the tuned
 * checkpoint, measures the path on it on the board and stores it as a new
 * configuration linked to its parent (db: finetunes). */
#include <cJSON.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "boards/vk_board.h"
#include "host/cli/vk_cli.h"
#include "host/cli/vk_cli_levels.h"
#include "host/cli/vk_cli_search.h"
#include "host/vk_sha256.h"
#include "host/vk_workload.h"
#include "search/vk_objective.h"

#define DEFAULT_CMD                                                                            \
    "python3 tools/finetune/finetune.py --export {export} --model {model} --data {data} "     \
    "--out {out}"

static const char plan_help[] =
    "usage: vitskip finetune-plan --db FILE [--run N] --out DIR [options]\n"
    "\n"
    "The search-then-tune loop: picks the paths of a run's front worth tuning,\n"
    "exports each (vitskip export --format json), runs the tuning command for it,\n"
    "imports the tuned checkpoint (its finetune.json must name the path and the\n"
    "run's checkpoint as parent), measures the path on the tuned weights on the\n"
    "board with the run's data, and stores it as a new configuration (a run of its\n"
    "own, whose model is the tuned checkpoint) linked to the path it came from:\n"
    "show, export and replay --level see it.\n"
    "\n"
    "Which paths: the run's Pareto front (top-1 vs the run's objective), cheaper\n"
    "than the full path, at least --min-top1, the cheapest --top of them.\n"
    "A path whose OUT/P<id>/finetune.json already names it is not tuned again\n"
    "(a plan resumes; tuning done elsewhere is imported with --import-only).\n"
    "\n"
    "  --db FILE        the search's database\n"
    "  --run N          the run (default: the newest run that is not a tuning's)\n"
    "  --out DIR        where exports and tuned checkpoints go: DIR/P<id>.json,\n"
    "                   DIR/P<id>/\n"
    "  --top N          paths to tune (default 2)\n"
    "  --min-top1 P     leave out paths below P percent (default 50)\n"
    "  --paths P3,P7    tune these instead of the front's pick\n"
    "  --command CMD    the tuning command, run with sh -c from this directory;\n"
    "                   {export} {model} {data} {out} {genome} are replaced (shell-\n"
    "                   quoted) by the export file, the run's checkpoint, the folder\n"
    "                   of the run's data, the output folder and the path; default:\n"
    "                   " DEFAULT_CMD "\n"
    "  --import-only    run no tuning: import what DIR/P<id>/ holds\n"
    "  --board B        measure on this board (default: the run's first)\n"
    "  --dry-run        print the plan and stop\n"
    "\n"
    "Exit status: 0 done, 1 failure (a failing tuning command, a sidecar that does\n"
    "not name the path, its export or the run's checkpoint: the message names the\n"
    "file and field), 2 bad arguments, 3 the board failed.\n";

typedef struct {
    vk_path_rec p;
    double cost;
} cand;

static int cmp_cost(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    return x->cost < y->cost ? -1 : x->cost > y->cost ? 1 : (x->p.id > y->p.id) - (x->p.id < y->p.id);
}

static int all_full(const char *genome)
{
    for (const char *c = genome; *c; c++)
        if (*c != 'F')
            return 0;
    return genome[0] != 0;
}

/* Appends s single-quoted for sh to buf. */
static int append_quoted(char *buf, size_t n, const char *s)
{
    size_t k = strlen(buf);
    if (k + 2 >= n)
        return -1;
    buf[k++] = '\'';
    for (; *s; s++) {
        const char *piece = *s == '\'' ? "'\\''" : NULL;
        size_t len = piece ? 4 : 1;
        if (k + len + 2 >= n)
            return -1;
        if (piece)
            memcpy(buf + k, piece, len);
        else
            buf[k] = *s;
        k += len;
    }
    buf[k++] = '\'';
    buf[k] = 0;
    return 0;
}

/* The command with its placeholders replaced; -1 if too long. */
static int expand(const char *tmpl, const char *const *keys, const char *const *vals, int nk,
                  char *out, size_t n)
{
    out[0] = 0;
    for (const char *t = tmpl; *t;) {
        int hit = -1;
        for (int i = 0; i < nk && hit < 0; i++)
            if (!strncmp(t, keys[i], strlen(keys[i])))
                hit = i;
        if (hit >= 0) {
            if (append_quoted(out, n, vals[hit]))
                return -1;
            t += strlen(keys[hit]);
        } else {
            size_t k = strlen(out);
            if (k + 1 >= n)
                return -1;
            out[k] = *t++;
            out[k + 1] = 0;
        }
    }
    return 0;
}

/* The SHA-256 of a file in hex; -1 if unreadable. */
static int sha256_file_hex(const char *path, char hex[65])
{
    uint8_t h[32];
    vk_err e = {{0}};
    if (vk_sha256_file(path, h, &e) != VK_OK)
        return -1;
    vk_sha256_hex(h, hex);
    return 0;
}

/* The tuning's sidecar, checked against the path and its parent: its text
 * (caller frees) and the float top-1 of the path on hold-out and test; NULL
 * with why filled when it does not fit. */
static char *read_sidecar(const char *dir, const char *genome, const char *parent_sha,
                          const char *export_sha, double *val, double *test, char *why,
                          size_t why_n)
{
    char p[1200], io[128];
    snprintf(p, sizeof p, "%s/finetune.json", dir);
    char *text = vk_cli_read_text(p, 1 << 20, io, sizeof io);
    if (!text) {
        snprintf(why, why_n, "%s: missing or unreadable (%s; the tuning wrote no sidecar)", p, io);
        return NULL;
    }
    cJSON *r = cJSON_Parse(text);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(r, "format");
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(r, "path");
    const cJSON *par = cJSON_GetObjectItemCaseSensitive(r, "parent");
    const cJSON *psha = cJSON_GetObjectItemCaseSensitive(par, "safetensors_sha256");
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(r, "export");
    const cJSON *esha = cJSON_GetObjectItemCaseSensitive(ex, "sha256");
    const cJSON *acc = cJSON_GetObjectItemCaseSensitive(r, "accuracy");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(acc, "validation"), "path");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(acc, "test"),
                                                      "path");
    const char *bad = NULL;
    if (!cJSON_IsObject(r))
        bad = "not a JSON object";
    else if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "vitskip-finetune"))
        bad = "\"format\" is not \"vitskip-finetune\"";
    else if (!cJSON_IsString(path) || strcmp(path->valuestring, genome))
        bad = "\"path\" is not the path planned";
    else if (!cJSON_IsString(psha) || strcmp(psha->valuestring, parent_sha))
        bad = "\"parent\".\"safetensors_sha256\" is not the run's checkpoint";
    else if (export_sha && (!cJSON_IsString(esha) || strcmp(esha->valuestring, export_sha)))
        bad = "\"export\".\"sha256\" is not this plan's export";
    else if (!cJSON_IsNumber(v) || !cJSON_IsNumber(t) || !(v->valuedouble >= 0) ||
             !(v->valuedouble <= 100) || !(t->valuedouble >= 0) || !(t->valuedouble <= 100))
        bad = "\"accuracy\".\"validation\"/\"test\".\"path\" are not percentages";
    if (bad) {
        snprintf(why, why_n, "%s: %s", p, bad);
        cJSON_Delete(r);
        free(text);
        return NULL;
    }
    *val = v->valuedouble;
    *test = t->valuedouble;
    cJSON_Delete(r);
    return text;
}

/* Picks the front's paths worth tuning into *out (cheapest first). */
static int pick(vk_store *db, const vk_run_info *run, int top, double min_top1, cand **out,
                int *n_out, vk_err *err)
{
    int64_t *ids = NULL;
    int n = 0, k = 0;
    vk_objective obj;
    if (vk_objective_parse(run->objective, &obj, err) != VK_OK ||
        vk_store_run_paths(db, run->id, &ids, &n, err) != VK_OK)
        return -1;
    cand *c = calloc((size_t)(n ? n : 1), sizeof *c);
    double full_cost = -1;
    if (!c) {
        free(ids);
        vk_fail(err, VK_E_NOMEM, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (vk_store_path_get(db, ids[i], 0, &c[k].p, err) != VK_OK) {
            for (int j = 0; j < k; j++)
                vk_store_rec_free(&c[j].p);
            free(c);
            free(ids);
            return -1;
        }
        c[k].cost = vk_objective_cost(obj, c[k].p.m.latency_ms, c[k].p.m.energy_mj);
        if (all_full(c[k].p.genome))
            full_cost = c[k].cost;
        k++;
    }
    free(ids);
    int m = 0;
    for (int i = 0; i < k; i++) {
        int dominated = 0;
        for (int j = 0; j < k && !dominated; j++)
            dominated = j != i && c[j].p.top1 >= c[i].p.top1 && c[j].cost <= c[i].cost &&
                        (c[j].p.top1 > c[i].p.top1 || c[j].cost < c[i].cost || j < i);
        if (dominated || all_full(c[i].p.genome) || c[i].p.top1 < min_top1 ||
            (full_cost >= 0 && c[i].cost >= full_cost)) {
            vk_store_rec_free(&c[i].p);
            continue;
        }
        c[m++] = c[i];
    }
    qsort(c, (size_t)m, sizeof *c, cmp_cost);
    for (int i = top; i < m; i++)
        vk_store_rec_free(&c[i].p);
    *out = c;
    *n_out = m < top ? m : top;
    return 0;
}

/* The given paths "P3,P7" of the run into *out. */
static int given(vk_store *db, int64_t run_id, const char *list, cand **out, int *n_out,
                 vk_err *err)
{
    int n = 1, k = 0, n_ids = 0;
    int64_t *ids = NULL;
    for (const char *s = list; *s; s++)
        n += *s == ',';
    cand *c = calloc((size_t)n, sizeof *c);
    if (!c)
        return vk_fail(err, VK_E_NOMEM, "out of memory"), -1;
    if (vk_store_run_paths(db, run_id, &ids, &n_ids, err) != VK_OK)
        goto bad;
    for (const char *s = list; *s;) {
        char *end;
        long long id = *s == 'P' ? strtoll(s + 1, &end, 10) : 0;
        int in_run = 0;
        if (id < 1 || (*end && *end != ',')) {
            vk_fail(err, VK_E_ARG, "--paths '%s': expected P<id>[,P<id>...]", list);
            goto bad;
        }
        for (int i = 0; i < n_ids && !in_run; i++)
            in_run = ids[i] == id;
        if (!in_run) { /* its parent checkpoint would not be the run's */
            vk_fail(err, VK_E_ARG, "--paths: P%lld is not a path of run %lld", id,
                    (long long)run_id);
            goto bad;
        }
        if (vk_store_path_get(db, id, 0, &c[k].p, err) != VK_OK)
            goto bad;
        k++;
        s = *end ? end + 1 : end;
    }
    free(ids);
    *out = c;
    *n_out = k;
    return 0;
bad:
    for (int j = 0; j < k; j++)
        vk_store_rec_free(&c[j].p);
    free(c);
    free(ids);
    return -1;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Measures the tuned path and stores it with its link. */
static int import_one(vk_store *db, const vk_run_info *run, const vk_path_rec *parent,
                      const char *dir, const char *board, const char *sidecar, double val,
                      double test, int64_t *tuned_id, vk_err *err)
{
    /* the parent's images: its run's validation split (a run stored before
       the splits: its evaluation images) */
    const int split = run->test_hash[0] != 0;
    vk_workload w;
    vk_workload_opts wo = {.model = dir, .data = run->data,
                           .calib = run->calib[0] ? run->calib : NULL,
                           .limit = split ? run->n_test : run->n_images,
                           .val = run->val[0] ? run->val : NULL, .n_val = run->n_images};
    vk_imageset vs;
    const int8_t *imgs;
    const char *dhash;
    int n;
    vk_board *b = NULL;
    vk_genome g;
    vk_run_info r;
    vk_path_rec rec;
    int rcode = VK_EXIT_FAIL;
    memset(&rec, 0, sizeof rec);
    memset(&vs, 0, sizeof vs);
    if (vk_workload_open(&wo, &w, err) != VK_OK)
        return VK_EXIT_FAIL;
    if (split && vk_workload_take(&w, VK_SPLIT_VAL, &vs, err) != VK_OK)
        goto out;
    imgs = split ? vs.imgs : w.imgs;
    n = split ? vs.n : w.n;
    dhash = split ? vs.hash : w.data_hash;
    if (vk_genome_parse(parent->genome, w.model.hp.n_layers, &g, err) != VK_OK)
        goto out;
    rec.res = calloc((size_t)n, sizeof *rec.res);
    if (!rec.res) {
        vk_fail(err, VK_E_NOMEM, "out of memory");
        goto out;
    }
    if (vk_board_open(board, &b, err) != VK_OK || vk_board_load(b, &w.q, err) != VK_OK ||
        vk_board_load_data(b, imgs, n, err) != VK_OK) {
        rcode = VK_EXIT_BOARD;
        goto out;
    }
    {
        vk_progress pr;
        vk_path_req req = {.modes = g.modes, .progress = vk_progress_board, .progress_ctx = &pr};
        vk_progress_begin(&pr, parent->genome, n);
        vk_status rc = vk_board_measure(b, &req, n, rec.res, &rec.m, err);
        vk_progress_end(&pr);
        if (rc != VK_OK) {
            rcode = VK_EXIT_BOARD;
            goto out;
        }
    }
    int32_t *cls = malloc((size_t)n * sizeof *cls);
    if (!cls) {
        vk_fail(err, VK_E_NOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++)
        cls[i] = rec.res[i].cls;
    rec.top1 = split ? vk_imageset_top1(&vs, cls) : vk_workload_top1(&w, cls, n);
    free(cls);
    snprintf(rec.genome, sizeof rec.genome, "%s", parent->genome);
    snprintf(rec.board, sizeof rec.board, "%s", vk_board_identity(b));
    /* a run of its own: its model is the tuned checkpoint */
    r = *run;
    snprintf(r.model, sizeof r.model, "%s", dir);
    snprintf(r.model_hash, sizeof r.model_hash, "%s", w.model_hash);
    snprintf(r.boards, sizeof r.boards, "%s", board);
    snprintf(r.strategy, sizeof r.strategy, "finetune");
    snprintf(r.seed_genomes, sizeof r.seed_genomes, "%s", parent->genome);
    r.budget = 1;
    if (vk_store_run_create(db, &r, err) != VK_OK)
        goto out;
    int found = 0;
    vk_path_rec old;
    if (vk_store_path_find(db, w.model_hash, dhash, rec.board, rec.genome, n, &old, &found,
                           err) != VK_OK)
        goto out;
    if (found) { /* measured before on these weights: record, do not duplicate */
        rec.id = old.id;
        vk_store_rec_free(&old);
        if (vk_store_run_eval(db, r.id, rec.id, err) != VK_OK)
            goto out;
    } else if (vk_store_path_insert(db, r.id, w.model_hash, dhash, &rec, n, err) != VK_OK)
        goto out;
    if (vk_store_run_set_status(db, r.id, "done", err) != VK_OK)
        goto out;
    vk_finetune_rec f = {.path_id = rec.id, .parent_id = parent->id, .run_id = r.id,
                         .val_top1 = val, .test_top1 = test};
    snprintf(f.model, sizeof f.model, "%s", dir);
    int had = 0;
    vk_finetune_rec prev;
    if (vk_store_finetune_get(db, rec.id, &prev, &had, err) != VK_OK ||
        (!had && vk_store_finetune_insert(db, &f, sidecar, err) != VK_OK))
        goto out;
    printf("P%-5lld %6.2f%% %10.4f %-8s %10.4f %-8s  <- P%-5lld %6.2f%% %10.4f  %s\n",
           (long long)rec.id, rec.top1, rec.m.latency_ms, vk_source_str(rec.m.latency_src),
           rec.m.energy_mj, vk_source_str(rec.m.energy_src), (long long)parent->id, parent->top1,
           parent->m.latency_ms, rec.genome);
    printf("       tuning's float top-1 of the path: hold-out %.2f%%, test %.2f%% "
           "(finetune.json); checkpoint %s\n",
           val, test, dir);
    *tuned_id = rec.id;
    rcode = VK_EXIT_OK;
out:
    vk_board_close(b);
    free(rec.res);
    vk_imageset_free(&vs);
    vk_workload_free(&w);
    return rcode;
}

int vk_cmd_finetune_plan(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", 1, 0, 'D'},       {"run", 1, 0, 'r'},      {"out", 1, 0, 'o'},
        {"top", 1, 0, 't'},      {"min-top1", 1, 0, 'm'}, {"paths", 1, 0, 'p'},
        {"command", 1, 0, 'c'},  {"import-only", 0, 0, 'i'}, {"board", 1, 0, 'b'},
        {"dry-run", 0, 0, 'n'},  {"help", 0, 0, 'h'},     {0, 0, 0, 0}};
    const char *dbpath = NULL, *out = NULL, *paths = NULL, *cmd = DEFAULT_CMD, *board = NULL;
    int c, top = 2, import_only = 0, dry = 0, cmd_given = 0, rcode;
    long long run_id = 0;
    double min_top1 = 50;
    vk_store *db;
    vk_err err = {{0}};
    vk_run_info run;
    cand *cs = NULL;
    int n_cs = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'D': dbpath = optarg; break;
        case 'o': out = optarg; break;
        case 'p': paths = optarg; break;
        case 'c': cmd = optarg; cmd_given = 1; break;
        case 'i': import_only = 1; break;
        case 'b': board = optarg; break;
        case 'n': dry = 1; break;
        case 'r':
        case 't': {
            long long iv;
            if (vk_cli_parse_int("finetune-plan", c == 'r' ? "--run" : "--top", optarg, 1,
                                 c == 'r' ? INT64_MAX : 1000000, &iv))
                return VK_EXIT_USAGE;
            if (c == 'r')
                run_id = iv;
            else
                top = (int)iv;
            break;
        }
        case 'm':
            if ((rcode = vk_cli_parse_num("finetune-plan", "--min-top1", optarg, 0, &min_top1)))
                return rcode;
            break;
        case 'h': fputs(plan_help, stdout); return VK_EXIT_OK;
        default: return vk_cli_bad_option("finetune-plan", opts, argv);
        }
    }
    if (optind < argc)
        return vk_cli_usage("finetune-plan", "unexpected argument '%s'", argv[optind]);
    if (!out)
        return vk_cli_usage("finetune-plan", "--out is required");
    if (strlen(out) > 400)
        return vk_cli_usage("finetune-plan", "--out: at most 400 characters");
    if (import_only && cmd_given)
        return vk_cli_usage("finetune-plan", "--import-only runs no command; drop --command");
    if (!cmd[0])
        return vk_cli_usage("finetune-plan", "--command is empty");
    if ((rcode = vk_cli_open_db("finetune-plan", dbpath, VK_CLI_DB_EXISTING, &db)))
        return rcode;
    rcode = VK_EXIT_FAIL;
    if (!run_id) { /* the newest run that is not a tuning's */
        int64_t *ids;
        int n;
        if (vk_store_run_list(db, &ids, &n, &err) != VK_OK)
            goto out;
        for (int i = n - 1; i >= 0 && !run_id; i--) {
            vk_run_info r;
            if (vk_store_run_get(db, ids[i], &r, &err) == VK_OK && strcmp(r.strategy, "finetune"))
                run_id = ids[i];
        }
        free(ids);
        if (!run_id) {
            vk_fail(&err, VK_E_NOTFOUND, "%s: no search run to plan from", dbpath);
            goto out;
        }
    }
    if (vk_store_run_get(db, run_id, &run, &err) != VK_OK)
        goto out;
    if (!strcmp(run.strategy, "finetune")) {
        vk_fail(&err, VK_E_ARG, "run %lld is a tuning's own; plan from the search run", run_id);
        goto out;
    }
    if (!board) {
        char *comma = strchr(run.boards, ',');
        if (comma)
            *comma = 0;
        board = run.boards;
    }
    if ((paths ? given(db, run_id, paths, &cs, &n_cs, &err) : pick(db, &run, top, min_top1, &cs, &n_cs,
                                                          &err)))
        goto out;
    printf("run %lld: model %s, data %s (%d images), objective %s\n", run_id, run.model, run.data,
           run.n_images, run.objective);
    printf("paths to tune (%s):\n", paths ? "as given" : "the front's cheapest, cheaper than the "
                                                         "full path");
    for (int i = 0; i < n_cs; i++)
        printf("  P%-5lld %6.2f%% %10.4f ms [%s] %10.4f mJ [%s]  %s\n", (long long)cs[i].p.id,
               cs[i].p.top1, cs[i].p.m.latency_ms, vk_source_str(cs[i].p.m.latency_src),
               cs[i].p.m.energy_mj, vk_source_str(cs[i].p.m.energy_src), cs[i].p.genome);
    if (!n_cs)
        printf("  none (no front path is cheaper than the full path and at least %.1f%%)\n",
               min_top1);
    if (dry || !n_cs) {
        rcode = VK_EXIT_OK;
        goto out;
    }
    char parent_sha[65], st_path[1100];
    snprintf(st_path, sizeof st_path, "%s/model.safetensors", run.model);
    if (sha256_file_hex(st_path, parent_sha)) {
        vk_fail(&err, VK_E_IO, "%s: cannot read the run's checkpoint", st_path);
        goto out;
    }
    if (mkdir(out, 0777) && !is_dir(out)) {
        vk_fail(&err, VK_E_IO, "--out %s: cannot create the folder", out);
        goto out;
    }
    char data_dir[512];
    snprintf(data_dir, sizeof data_dir, "%s", run.data);
    char *slash = strrchr(data_dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(data_dir, sizeof data_dir, ".");
    printf("tuned     top-1   latency ms source    energy mJ source       parent   top-1 "
           "latency ms  path\n");
    for (int i = 0; i < n_cs; i++) {
        const vk_path_rec *p = &cs[i].p;
        char exp_path[512], dir[512], esha[65], why[1400], line[8192];
        double val, test;
        vk_skip_table t;
        char id[24];
        snprintf(id, sizeof id, "P%lld", (long long)p->id);
        snprintf(exp_path, sizeof exp_path, "%s/%s.json", out, id);
        snprintf(dir, sizeof dir, "%s/%s", out, id);
        if (!import_only) {
            if ((rcode = vk_cli_load_config(db, id, &t, &err)))
                goto out;
            vk_cli_config_checkpoint("finetune-plan", db, id, &t);
            rcode = VK_EXIT_FAIL;
            char *j = vk_export_json(&t);
            FILE *f = fopen(exp_path, "w");
            /* the bytes `vitskip export -o` writes, so a tuning made from
               either is recognised by the export's hash */
            int ok = j && f && fputs(j, f) >= 0 &&
                     (!j[0] || j[strlen(j) - 1] == '\n' || fputc('\n', f) != EOF);
            if (f && fclose(f))
                ok = 0;
            free(j);
            if (!ok) {
                vk_fail(&err, VK_E_IO, "%s: cannot write the export", exp_path);
                goto out;
            }
        }
        int have_esha = !sha256_file_hex(exp_path, esha);
        char *side = read_sidecar(dir, p->genome, parent_sha, have_esha ? esha : NULL, &val, &test,
                                  why, sizeof why);
        if (!side && !import_only) {
            fprintf(stderr, "finetune-plan: %s: tuning (%s)\n", id, why);
            const char *keys[] = {"{export}", "{model}", "{data}", "{out}", "{genome}"};
            const char *vals[] = {exp_path, run.model, data_dir, dir, p->genome};
            if (expand(cmd, keys, vals, 5, line, sizeof line)) {
                vk_fail(&err, VK_E_ARG, "--command: too long once expanded");
                goto out;
            }
            fprintf(stderr, "finetune-plan: %s: %s\n", id, line);
            fflush(NULL);
            int st = system(line);
            if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st)) {
                vk_fail(&err, VK_E_IO, "%s: the tuning command failed (%s %d): %s", id,
                        st != -1 && WIFEXITED(st) ? "exit" : "status",
                        st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : st, line);
                goto out;
            }
            side = read_sidecar(dir, p->genome, parent_sha, esha, &val, &test, why, sizeof why);
        }
        if (!side) {
            vk_fail(&err, VK_E_FORMAT, "%s", why);
            goto out;
        }
        int64_t tuned;
        rcode = import_one(db, &run, p, dir, board, side, val, test, &tuned, &err);
        free(side);
        if (rcode != VK_EXIT_OK)
            goto out;
        rcode = VK_EXIT_FAIL;
    }
    rcode = VK_EXIT_OK;
out:
    if (rcode != VK_EXIT_OK && err.msg[0])
        fprintf(stderr, "vitskip finetune-plan: %s\n", err.msg);
    for (int i = 0; i < n_cs; i++)
        vk_store_rec_free(&cs[i].p);
    free(cs);
    vk_store_close(db);
    return rcode;
}
