/* vk_cmd_replay: `vitskip replay`, a stored path or cascade re-measured end to
 * end on a board; or stored paths composed into a cascade of levels, each
 * on its own checkpoint (host/cli/vk_cli_levels.h). */
#include <cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "boards/vk_board.h"
#include "host/cli/vk_cli.h"
#include "host/cli/vk_cli_levels.h"
#include "host/cli/vk_cli_search.h"
#include "host/vk_workload.h"

static const char replay_help[] =
    "usage: vitskip replay --db FILE --config P<id>|C<id> [--board B] [--model DIR]\n"
    "                      [--blob FILE.vkq] [--data PATH [--limit N]] [--json]\n"
    "       vitskip replay --db FILE --level P<id> --level P<id> [--level P<id>] [options]\n"
    "\n"
    "Re-measures a stored path or cascade end to end (a cascade routes each image\n"
    "by its entropy on the board) on the run's validation images, stores the\n"
    "replay and prints both. --model replays with other (e.g. fine-tuned) weights\n"
    "of the same shape. --data measures it on other images instead (--limit N: a\n"
    "seeded class-stratified sample of N), with the run's calibration (the same\n"
    "int8 blob); that figure is printed, not stored. --blob runs the .vkq file\n"
    "`vitskip quantize` wrote as is, without calibrating; it must be the blob the\n"
    "stored configuration was measured on (its SHA-256; unless --model gives\n"
    "other weights).\n"
    "\n"
    "With --level, stored paths (each on the checkpoint of the run that measured\n"
    "it: a fine-tuned path on its tuned weights) become the levels of a cascade,\n"
    "in order of effort, on the first level's run's data; the thresholds are\n"
    "chosen on the validation split unless --threshold gives them, and the\n"
    "cascade runs on the board over the test split (see vitskip eval --help):\n"
    "the run's test images, or --data's (--limit N of them; then not stored).\n"
    "\n"
    "  --json             (with --config) the replay as one JSON object on stdout:\n"
    "                     config, kind, images (\"validation\", \"evaluation\" or --data's\n"
    "                     path), n_images, stored (null with --data or --model: top1,\n"
    "                     latency_ms, latency_scratch_ms, top1_test), replay (top1,\n"
    "                     latency_ms, latency_source, energy_mj (null without\n"
    "                     energy), energy_source, n_escalated, board, identity, note)\n"
    "  --threshold T[,T]  escalation entropies in nats\n"
    "  --max-acc-drop D   validation top-1 within D points of the last level's (0.5)\n"
    "  --objective O      latency, energy or edp (default)\n"
    "  --val PATH         validation source; --val-limit N its images (1000)\n";

/* What the database holds of a replayed configuration. */
typedef struct {
    double top1, latency_ms, latency_scratch_ms, top1_test; /* < 0: none */
} stored;

/* replay --json: one object on stdout; VK_EXIT_OK or VK_EXIT_FAIL. */
static int print_json(const char *cfg, int cascade, const char *images, int n,
                      const stored *st, double top1, const vk_measure *m, vk_board *b)
{
    cJSON *o = cJSON_CreateObject(), *r, *so;
    char *txt;
    cJSON_AddStringToObject(o, "config", cfg);
    cJSON_AddStringToObject(o, "kind", cascade ? "cascade" : "path");
    cJSON_AddStringToObject(o, "images", images);
    cJSON_AddNumberToObject(o, "n_images", n);
    if (st) {
        so = cJSON_AddObjectToObject(o, "stored");
        cJSON_AddNumberToObject(so, "top1", st->top1);
        cJSON_AddNumberToObject(so, "latency_ms", st->latency_ms);
        if (cascade)
            cJSON_AddNumberToObject(so, "latency_scratch_ms", st->latency_scratch_ms);
        else
            cJSON_AddNullToObject(so, "latency_scratch_ms");
        if (st->top1_test >= 0)
            cJSON_AddNumberToObject(so, "top1_test", st->top1_test);
        else
            cJSON_AddNullToObject(so, "top1_test");
    } else {
        cJSON_AddNullToObject(o, "stored");
    }
    r = cJSON_AddObjectToObject(o, "replay");
    cJSON_AddNumberToObject(r, "top1", top1);
    cJSON_AddNumberToObject(r, "latency_ms", m->latency_ms);
    cJSON_AddStringToObject(r, "latency_source", vk_source_str(m->latency_src));
    if (m->energy_src != VK_SRC_NONE)
        cJSON_AddNumberToObject(r, "energy_mj", m->energy_mj);
    else
        cJSON_AddNullToObject(r, "energy_mj");
    cJSON_AddStringToObject(r, "energy_source", vk_source_str(m->energy_src));
    cJSON_AddNumberToObject(r, "n_escalated", cascade ? m->n_escalated : 0);
    cJSON_AddStringToObject(r, "board", vk_board_spec(b));
    cJSON_AddStringToObject(r, "identity", vk_board_identity(b));
    cJSON_AddStringToObject(r, "note", m->note);
    txt = cJSON_Print(o);
    cJSON_Delete(o);
    if (!txt) {
        fprintf(stderr, "vitskip replay: out of memory\n");
        return VK_EXIT_FAIL;
    }
    puts(txt);
    free(txt);
    return VK_EXIT_OK;
}

/* The cascade of stored paths (--level P<id> ...). */
static int replay_levels(vk_store *db, vk_cli_cascade *cas, char ids[][16], const char *board)
{
    vk_err err = {{0}};
    vk_run_info run;
    char config[64] = "";
    for (int l = 0; l < cas->n_levels; l++) {
        char *end;
        long long id = ids[l][0] == 'P' ? strtoll(ids[l] + 1, &end, 10) : 0;
        vk_path_rec p;
        int64_t run_id;
        vk_run_info r;
        if (id < 1 || *end)
            return vk_cli_usage("replay", "--level '%s': expected P<path id>", ids[l]);
        if (vk_store_path_get(db, id, 0, &p, &err) != VK_OK ||
            vk_store_path_run(db, id, &run_id, &err) != VK_OK ||
            vk_store_run_get(db, run_id, &r, &err) != VK_OK) {
            fprintf(stderr, "vitskip replay: --level %s: %s\n", ids[l], err.msg);
            return VK_EXIT_FAIL;
        }
        snprintf(cas->lv[l].model, sizeof cas->lv[l].model, "%s", r.model);
        snprintf(cas->lv[l].genome, sizeof cas->lv[l].genome, "%s", p.genome);
        snprintf(cas->lv[l].expect_hash, sizeof cas->lv[l].expect_hash, "%s", p.model_hash);
        vk_store_rec_free(&p);
        if (l == 0)
            run = r;
        size_t k = strlen(config);
        snprintf(config + k, sizeof config - k, "%s%s", l ? ">" : "", ids[l]);
    }
    if (strlen(config) >= sizeof(((vk_replay_rec *)0)->config))
        return vk_cli_usage("replay", "--level: the ids '%s' are too long to store as one "
                                      "replay (at most %zu characters)",
                            config, sizeof(((vk_replay_rec *)0)->config) - 1);
    /* the run's splits and calibration (the blobs the paths were measured
       on); its test images unless --data gives others */
    cas->data = run.data;
    cas->calib = run.calib[0] ? run.calib : NULL;
    if (!cas->test) {
        cas->test = run.test[0] ? run.test : NULL;
        cas->limit = run.test_hash[0] ? run.n_test : run.n_images;
    }
    if (!board) {
        char *comma = strchr(run.boards, ',');
        if (comma)
            *comma = 0;
        board = run.boards;
    }
    cas->board = board;
    return vk_cli_cascade_run(cas, cas->test ? NULL : db, config); /* --data: not stored */
}

int vk_cmd_replay(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", 1, 0, 'D'},        {"config", 1, 0, 'c'},    {"board", 1, 0, 'b'},
        {"model", 1, 0, 'm'},     {"help", 0, 0, 'h'},      {"level", 1, 0, 'L'},
        {"threshold", 1, 0, 'T'}, {"max-acc-drop", 1, 0, 'A'}, {"objective", 1, 0, 'O'},
        {"val", 1, 0, 'V'},       {"val-limit", 1, 0, 'N'}, {"data", 1, 0, 'd'},
        {"limit", 1, 0, 'n'},     {"json", 0, 0, 'j'},      {"blob", 1, 0, 'Q'},
        {0, 0, 0, 0}};
    vk_cli_cascade lc = {.cmd = "replay", .max_drop = 0.5, .objective = VK_OBJ_EDP};
    char level_ids[VK_LEVELS_MAX][16];
    const char *thr = NULL;
    int cascade_opt = 0;
    const char *path = NULL, *cfg = NULL, *board = NULL, *model = NULL, *data = NULL;
    const char *blob = NULL;
    int limit = 0;
    vk_store *db;
    vk_skip_table t;
    vk_err err = {{0}};
    vk_run_info run;
    vk_cascade_rec cas;
    vk_path_rec orig;
    vk_workload w;
    vk_workload_opts wo = {0};
    vk_imageset vs;
    const int8_t *imgs;
    int n;
    vk_board *b = NULL;
    vk_img_result *res = NULL;
    int32_t *cls = NULL;
    int64_t run_id = 0;
    int c, rcode, json = 0;
    double orig_top1, orig_ms, orig_scratch = 0, orig_test = -1;
    int64_t orig_id = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'D': path = optarg; break;
        case 'c': cfg = optarg; break;
        case 'b':
            if (vk_cli_check_board("replay", optarg))
                return VK_EXIT_USAGE;
            board = optarg;
            break;
        case 'm': model = optarg; break;
        case 'd': data = optarg; break;
        case 'Q': blob = optarg; break;
        case 'j': json = 1; break;
        case 'h': fputs(replay_help, stdout); return VK_EXIT_OK;
        case 'L':
            if (lc.n_levels >= VK_LEVELS_MAX)
                return vk_cli_usage("replay", "--level: at most %d levels", VK_LEVELS_MAX);
            if (strlen(optarg) >= sizeof level_ids[0])
                return vk_cli_usage("replay", "--level '%s': expected P<path id>", optarg);
            snprintf(level_ids[lc.n_levels++], sizeof level_ids[0], "%s", optarg);
            break;
        case 'T': thr = optarg; cascade_opt = 1; break;
        case 'V': lc.val = optarg; cascade_opt = 1; break;
        case 'A':
            if ((rcode = vk_cli_parse_num("replay", "--max-acc-drop", optarg, 0, &lc.max_drop)))
                return rcode;
            cascade_opt = 1;
            break;
        case 'O':
            if (vk_objective_parse(optarg, &lc.objective, &err) != VK_OK)
                return vk_cli_usage("replay", "--objective: %s", err.msg);
            cascade_opt = 1;
            break;
        case 'N':
        case 'n': {
            long long v;
            if ((rcode = vk_cli_parse_int("replay", c == 'n' ? "--limit" : "--val-limit", optarg,
                                          1, 100000000, &v)))
                return rcode;
            if (c == 'n')
                limit = (int)v;
            else
                lc.n_val = (int)v, cascade_opt = 1;
            break;
        }
        default: return vk_cli_bad_option("replay", opts, argv);
        }
    }
    if (optind < argc)
        return vk_cli_usage("replay", "unexpected argument '%s'", argv[optind]);
    if (limit && !data)
        return vk_cli_usage("replay", "--limit samples --data's images; the run's own are "
                                      "replayed whole");
    if (json && lc.n_levels)
        return vk_cli_usage("replay", "--json is for --config (one stored path or cascade)");
    if (lc.n_levels) {
        lc.test = data;
        lc.limit = limit;
        if (cfg || model || blob)
            return vk_cli_usage("replay", "--level composes stored paths; --config, --model "
                                          "and --blob are for one stored configuration");
        if (lc.n_levels < 2)
            return vk_cli_usage("replay", "a cascade needs 2 or 3 --level");
        if (thr && (rcode = vk_cli_cascade_parse_thresholds(&lc, thr)))
            return rcode;
        if ((rcode = vk_cli_open_db("replay", path, VK_CLI_DB_EXISTING, &db)))
            return rcode;
        rcode = replay_levels(db, &lc, level_ids, board);
        vk_store_close(db);
        return rcode;
    }
    if (cascade_opt)
        return vk_cli_usage("replay", "--threshold, --max-acc-drop, --objective, --val and "
                                      "--val-limit are for a cascade of --level paths");
    if (!cfg)
        return vk_cli_usage("replay", "--config is required");
    if ((rcode = vk_cli_open_db("replay", path, VK_CLI_DB_EXISTING, &db)))
        return rcode;
    if ((rcode = vk_cli_load_config(db, cfg, &t, &err)))
        goto out_db;
    rcode = VK_EXIT_FAIL;
    if (t.kind_cascade) {
        if (vk_store_cascade_get(db, strtoll(cfg + 1, NULL, 10), &cas, &err) != VK_OK)
            goto out_db;
        run_id = cas.run_id;
        orig_top1 = cas.top1;
        orig_ms = cas.latency_ms;
        orig_scratch = cas.latency_scratch_ms;
        if (cas.has_test)
            orig_test = cas.top1_test;
    } else {
        if (vk_store_path_get(db, strtoll(cfg + 1, NULL, 10), 0, &orig, &err) != VK_OK ||
            vk_store_path_run(db, orig.id, &run_id, &err) != VK_OK)
            goto out_db;
        orig_top1 = orig.top1;
        orig_ms = orig.m.latency_ms;
        orig_id = orig.id;
        vk_store_rec_free(&orig);
    }
    if (vk_store_run_get(db, run_id, &run, &err) != VK_OK)
        goto out_db;
    if (orig_id && run.test_hash[0]) {
        int found = 0;
        if (vk_store_path_test_get(db, orig_id, run.test_hash, &orig_test, &found, &err) != VK_OK)
            goto out_db;
        if (!found)
            orig_test = -1;
    }
    wo.model = model ? model : run.model;
    wo.blob = blob;
    wo.data = run.data;
    wo.calib = run.calib[0] ? run.calib : NULL;
    /* the images the stored figure came from: the run's validation split
       (a run stored before splits: its evaluation images); with --data,
       those as the test split, beside the run's own validation and
       calibration images (so the same blob) */
    wo.test = data ? data : run.test[0] ? run.test : NULL;
    wo.limit = data ? limit : run.test_hash[0] ? run.n_test : run.n_images;
    wo.val = run.val[0] ? run.val : NULL;
    wo.n_val = run.n_images;
    memset(&vs, 0, sizeof vs);
    vk_calib_bar cbar;
    vk_cli_calib_progress(&wo.cache, &cbar, 0);
    if (vk_workload_open(&wo, &w, &err) != VK_OK)
        goto out_db;
    if (data && strcmp(w.model_hash, t.model_hash) && !model) {
        vk_fail(&err, VK_E_MISMATCH, "%s calibrates to blob %.16s beside --data %s, the stored "
                "%s was measured on %.16s", wo.model, w.model_hash, data, cfg, t.model_hash);
        goto out_w;
    }
    if (blob && !model && strcmp(w.model_hash, t.model_hash)) {
        vk_fail(&err, VK_E_MISMATCH, "--blob %s is blob %.16s, the stored %s was measured on "
                "%.16s (a blob of other weights needs --model with them)", blob, w.model_hash,
                cfg, t.model_hash);
        goto out_w;
    }
    if (!data && run.test_hash[0] && vk_workload_take(&w, VK_SPLIT_VAL, &vs, &err) != VK_OK)
        goto out_w;
    imgs = vs.imgs ? vs.imgs : w.imgs;
    n = vs.imgs ? vs.n : w.n;
    if (!board) {
        board = run.boards;
        char *comma = strchr(run.boards, ',');
        if (comma)
            *comma = 0;
    }
    res = calloc((size_t)n, sizeof *res);
    cls = calloc((size_t)n, sizeof *cls);
    if (!res || !cls || vk_board_open(board, &b, &err) != VK_OK ||
        vk_board_load(b, &w.q, &err) != VK_OK || vk_board_load_data(b, imgs, n, &err) != VK_OK) {
        rcode = VK_EXIT_BOARD;
        goto out_w;
    }
    {
        vk_progress pr;
        vk_measure m;
        vk_path_req req = {.modes = t.low.modes, .progress = vk_progress_board, .progress_ctx = &pr};
        if (t.kind_cascade) {
            req.modes_high = t.high.modes;
            req.threshold_q16 = t.threshold_q16;
            req.resume = t.resume;
        }
        vk_progress_begin(&pr, "replay", n);
        vk_status rc = vk_board_measure(b, &req, n, res, &m, &err);
        vk_progress_end(&pr);
        if (rc != VK_OK) {
            rcode = VK_EXIT_BOARD;
            goto out_w;
        }
        for (int i = 0; i < n; i++)
            cls[i] = res[i].cls;
        double top1 = vs.imgs ? vk_imageset_top1(&vs, cls) : vk_workload_top1(&w, cls, n);
        if (!data && vk_store_replay_insert(db, cfg, vk_board_identity(b), w.model_hash, top1, &m,
                                            &err) != VK_OK)
            goto out_w;
        if (json) {
            stored st = {orig_top1, orig_ms, orig_scratch, orig_test};
            rcode = print_json(cfg, t.kind_cascade,
                               data ? data : run.test_hash[0] ? "validation" : "evaluation", n,
                               data || model ? NULL : &st, top1, &m, b);
            goto out_w;
        }
        if (data)
            printf("%s %s, %d images of %s (--data; not stored), model %.16s%s\n",
                   t.kind_cascade ? "cascade" : "path", cfg, n, data, w.model_hash,
                   model ? " (replayed with --model)" : "");
        else
            printf("%s %s, %d %s images, model %.16s%s\n", t.kind_cascade ? "cascade" : "path",
                   cfg, n, run.test_hash[0] ? "validation" : "evaluation", w.model_hash,
                   model ? " (replayed with --model)" : "");
        printf("stored:  top-1 %6.2f%%  latency %.4f ms per image%s\n", orig_top1, orig_ms,
               t.kind_cascade ? " (expected, from the two paths' per-image results)" : "");
        if (t.kind_cascade)
            printf("         from scratch as PIVOT does: %.4f ms\n", orig_scratch);
        if (orig_test >= 0)
            printf("         test top-1 %6.2f%% on the run's %d test images (not replayed)\n",
                   orig_test, run.n_test);
        char en[32] = "-"; /* the board gave no energy: "-", not 0 */
        if (m.energy_src != VK_SRC_NONE)
            snprintf(en, sizeof en, "%.4f", m.energy_mj);
        printf("replay:  top-1 %6.2f%%  latency %.4f ms per image [%s], energy %s mJ [%s] on "
               "%s\n", top1, m.latency_ms, vk_source_str(m.latency_src), en,
               vk_source_str(m.energy_src), vk_board_spec(b));
        if (t.kind_cascade)
            printf("         %d of %d images escalated on the board\n", m.n_escalated, n);
        printf("         %s\n", m.note);
        rcode = VK_EXIT_OK;
    }
out_w:
    vk_board_close(b);
    vk_imageset_free(&vs);
    vk_workload_free(&w);
out_db:
    if (rcode != VK_EXIT_OK && err.msg[0])
        fprintf(stderr, "vitskip replay: %s\n", err.msg);
    free(res);
    free(cls);
    vk_store_close(db);
    return rcode;
}

