/* vk_cmd_eval: `vitskip eval` — top-1, mean entropy and timing of one path
 * (or the float reference) on the evaluation set, or of a cascade whose
 * levels have their own weights (host/cli/vk_cli_levels.h). */
#include <cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "boards/vk_board.h"
#include "host/cli/vk_cli.h"
#include "host/cli/vk_cli_levels.h"
#include "host/vk_ref.h"
#include "host/vk_workload.h"
#include "search/vk_export.h"
#include "search/vk_genome.h"

static const char eval_help[] =
    "usage: vitskip eval --model DIR --data PATH [--skip L | --genome G | --config C |\n"
    "                    --table skip.json] [options]\n"
    "       vitskip eval --level DIR=GENOME --level DIR=GENOME [--level ...] --data PATH\n"
    "       vitskip eval --cascade LEVELS.json --data PATH\n"
    "\n"
    "Measures one path of a ViT on a board: top-1 accuracy, mean output entropy,\n"
    "latency and energy per image (each labelled measured or modeled).\n"
    "\n"
    "With --level or --cascade, a cascade of 2 or 3 effort levels, each its own\n"
    "checkpoint and path (e.g. fine-tuned cheap paths, then the full model): an\n"
    "image escalates to the next level when the entropy of its output is above\n"
    "that level's threshold. Unless --threshold gives them, the thresholds are\n"
    "chosen on the validation split (the least --objective whose validation top-1\n"
    "is within --max-acc-drop of the last level alone); the cascade then runs on\n"
    "the board over the test split, each level's blob loaded once, only the\n"
    "images that reach a level measured on it. Levels with different weights\n"
    "always run from scratch; consecutive levels with the same weights resume\n"
    "after their shared encoders.\n"
    "\n"
    "  --model DIR      Hugging Face ViT checkpoint (config.json, model.safetensors)\n"
    "  --data PATH      IDX image file (MNIST/Fashion-MNIST, .gz or not) or a folder\n"
    "                   with one sub-folder of PNG/JPEG images per class\n"
    "  --skip LIST      encoders whose attention is skipped, 0-based, e.g. 1,3,5\n"
    "  --genome G       the path as a genome, one group per encoder: F full, S\n"
    "                   skipped, R reuse, H shared heads, then optional :kNN\n"
    "                   (keep NN% of the tokens) and :fNN (drop NN% of the FFN),\n"
    "                   e.g. H:k70FRS:f50 (instead of --skip)\n"
    "  --config C       a path (a genome) or a cascade of two paths of the same\n"
    "                   weights, LOW,HIGH,T: escalate to HIGH when LOW's entropy is\n"
    "                   above T nats, HIGH resuming after their shared encoders\n"
    "  --table FILE     the path or cascade of a skip table that vitskip export\n"
    "                   --format json wrote (checked field by field; its model_hash\n"
    "                   must be the blob --model calibrates to)\n"
    "  --board SPEC     sim (default: kernel C-sim + ZCU102 model), cpu, xrt[:N],\n"
    "                   http://host:port\n"
    "  --limit N        a seeded class-stratified sample of N test images\n"
    "  --calib PATH     calibration images (default: the sibling train-images file\n"
    "                   of a t10k-images file, else the evaluation images)\n"
    "  --blob FILE.vkq  the int8 blob `vitskip quantize` wrote, run as is instead of\n"
    "                   calibrating (--model still gives preprocessing and labels)\n"
    "  --float          also run the float32 reference on the host and compare\n"
    "  --json           one path's figures as a JSON object on stdout: model,\n"
    "                   model_sha256, n_layers, data, n_images, board, genome,\n"
    "                   top1 (percent), top1_float (with --float, else null),\n"
    "                   entropy_nats, latency_ms, latency_p10_ms, latency_p90_ms,\n"
    "                   latency_source, energy_mj and edp_mj_ms (null when the\n"
    "                   board gives no energy), energy_source, note, wall_s\n"
    "  --level DIR=GENOME  a cascade level: checkpoint folder and path (2 or 3, in\n"
    "                   order of effort)\n"
    "  --cascade FILE   the levels from a JSON file: {\"format\": \"vitskip-cascade\",\n"
    "                   \"version\": 1, \"levels\": [{\"model\": DIR, \"genome\": G}, ...],\n"
    "                   \"thresholds_nats\": [T, ...] (optional)}; relative model\n"
    "                   folders are relative to the file\n"
    "  --threshold T[,T]  escalation entropies in nats (instead of choosing them)\n"
    "  --max-acc-drop D  validation top-1 at most D points below the last level's\n"
    "                   alone (default 0.5)\n"
    "  --objective O    latency, energy or edp (default): what the thresholds minimize\n"
    "  --val PATH       validation source (default: the training file next to an IDX\n"
    "                   t10k file, else a part of --data the test split never uses)\n"
    "  --val-limit N    validation images (default 1000)\n"
    "  -h, --help       this help\n";

/* Parses "1,3,5" into skip flags; returns 0 on success. */
static int parse_skip(const char *s, int n_layers, uint32_t *modes, char *bad, size_t bad_n)
{
    const char *p = s;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || (*end && *end != ',') || v < 0 || v >= n_layers) {
            snprintf(bad, bad_n, "--skip '%s': expected comma-separated encoder indices in 0..%d",
                     s, n_layers - 1);
            return -1;
        }
        modes[v] = VK_MODE(VK_ATTN_SKIP);
        p = *end ? end + 1 : end;
    }
    return 0;
}

static double float_top1(const vk_workload *w, const uint32_t *modes)
{
    const vk_model *m = &w->model;
    size_t img_n = (size_t)m->hp.n_channels * m->hp.image_size * m->hp.image_size;
    int ok = 0;
#pragma omp parallel reduction(+ : ok)
    {
        vk_ref_ws *ws = vk_ref_ws_new(m);
        float *img = malloc(img_n * sizeof(float));
        float *lg = malloc((size_t)m->hp.n_classes * sizeof(float));
#pragma omp for schedule(dynamic, 16)
        for (int i = 0; i < w->n; i++) {
            if (!ws || !img || !lg)
                continue;
            vk_dataset_normalize(&w->data, m, i, img);
            vk_ref_forward(m, ws, img, modes, lg, NULL);
            int best = 0;
            for (int c = 1; c < m->hp.n_classes; c++)
                if (lg[c] > lg[best])
                    best = c;
            ok += best == w->data.labels[i];
        }
        vk_ref_ws_free(ws);
        free(img);
        free(lg);
    }
    return 100.0 * ok / (w->n ? w->n : 1);
}

/* eval --json: one object on stdout; returns 0, or 1 (message on stderr). */
static int print_json(const vk_workload_opts *wo, const vk_workload *w, vk_board *b,
                      const char *genome, double top1, double top1_float, double entropy,
                      const vk_measure *m, double wall_s)
{
    cJSON *o = cJSON_CreateObject();
    char *txt;
    cJSON_AddStringToObject(o, "model", wo->model);
    cJSON_AddStringToObject(o, "model_sha256", w->model_hash);
    cJSON_AddNumberToObject(o, "n_layers", w->model.hp.n_layers);
    cJSON_AddStringToObject(o, "data", wo->data);
    cJSON_AddNumberToObject(o, "n_images", w->n);
    cJSON_AddStringToObject(o, "board", vk_board_spec(b));
    cJSON_AddStringToObject(o, "genome", genome);
    cJSON_AddNumberToObject(o, "top1", top1);
    if (top1_float >= 0)
        cJSON_AddNumberToObject(o, "top1_float", top1_float);
    else
        cJSON_AddNullToObject(o, "top1_float");
    cJSON_AddNumberToObject(o, "entropy_nats", entropy);
    cJSON_AddNumberToObject(o, "latency_ms", m->latency_ms);
    cJSON_AddNumberToObject(o, "latency_p10_ms", m->latency_p10_ms);
    cJSON_AddNumberToObject(o, "latency_p90_ms", m->latency_p90_ms);
    cJSON_AddStringToObject(o, "latency_source", vk_source_str(m->latency_src));
    if (m->energy_src != VK_SRC_NONE) {
        cJSON_AddNumberToObject(o, "energy_mj", m->energy_mj);
        cJSON_AddNumberToObject(o, "edp_mj_ms",
                                vk_objective_cost(VK_OBJ_EDP, m->latency_ms, m->energy_mj));
    } else { /* unknown, not 0 */
        cJSON_AddNullToObject(o, "energy_mj");
        cJSON_AddNullToObject(o, "edp_mj_ms");
    }
    cJSON_AddStringToObject(o, "energy_source", vk_source_str(m->energy_src));
    cJSON_AddStringToObject(o, "note", m->note);
    cJSON_AddNumberToObject(o, "wall_s", wall_s);
    txt = cJSON_Print(o);
    cJSON_Delete(o);
    if (!txt) {
        fprintf(stderr, "vitskip eval: out of memory\n");
        return 1;
    }
    puts(txt);
    free(txt);
    return 0;
}

/* --config "GENOME" or "LOW,HIGH,T" (T in nats, >= 0) into *t; 0, or a
 * usage error printed and its exit code. */
static int parse_config(const char *arg, int n_layers, vk_skip_table *t)
{
    char buf[3 * VK_GENOME_TEXT_MAX], *part[4] = {buf};
    int n = 1;
    vk_err err = {{0}};
    if (strlen(arg) >= sizeof buf)
        return vk_cli_usage("eval", "--config '%.40s...': too long", arg);
    snprintf(buf, sizeof buf, "%s", arg);
    for (char *p = buf; (p = strchr(p, ',')) && n < 4; part[n++] = ++p)
        *p = 0;
    if (n != 1 && n != 3)
        return vk_cli_usage("eval", "--config '%s': expected GENOME or LOW,HIGH,T (T in nats)",
                            arg);
    memset(t, 0, sizeof *t);
    t->n_layers = n_layers;
    t->kind_cascade = n == 3;
    for (int k = 0; k < (n == 3 ? 2 : 1); k++)
        if (vk_genome_parse(part[k], n_layers, k ? &t->high : &t->low, &err) != VK_OK)
            return vk_cli_usage("eval", "--config '%s': %s", arg, err.msg);
    if (n == 3) {
        char *end;
        double nats = strtod(part[2], &end);
        if (end == part[2] || *end || !(nats >= 0) || nats > 1e4)
            return vk_cli_usage("eval", "--config '%s': the threshold '%s' is not a number of "
                                        "nats >= 0", arg, part[2]);
        t->threshold_q16 = (int32_t)lround(nats * 65536.0);
        t->resume = vk_genome_resume_depth(&t->low, &t->high, n_layers);
    }
    return 0;
}

/* Reads an exported skip table (vk_export_parse checks every field); 0, or
 * the error printed (naming the file and field) and its exit code. */
static int read_table(const char *path, vk_skip_table *t)
{
    char why[128];
    vk_err err = {{0}};
    char *text = vk_cli_read_text(path, 1 << 20, why, sizeof why);
    if (!text) {
        fprintf(stderr, "vitskip eval: --table %s: %s\n", path, why);
        return VK_EXIT_FAIL;
    }
    vk_status rc = vk_export_parse(text, path, t, &err);
    free(text);
    if (rc != VK_OK) {
        fprintf(stderr, "vitskip eval: --table %s\n", err.msg);
        return VK_EXIT_FAIL;
    }
    return 0;
}

/* The table fits the model: its encoder count, its blob (model_hash), and a
 * cascade's resume point within what its paths share. 0, or the error
 * printed. */
static int check_table(const char *path, const vk_skip_table *t, const vk_workload *w,
                       const char *model)
{
    int nl = w->model.hp.n_layers;
    if (t->n_layers != nl) {
        fprintf(stderr, "vitskip eval: --table %s: \"n_layers\" is %d, %s has %d encoders\n",
                path, t->n_layers, model, nl);
        return 1;
    }
    if (strcmp(t->model_hash, w->model_hash)) {
        fprintf(stderr, "vitskip eval: --table %s: \"model_hash\" %.16s is not the blob %s "
                        "calibrates to here (%.16s): the table was chosen for other weights or "
                        "another calibration set\n", path, t->model_hash, model, w->model_hash);
        return 1;
    }
    if (t->kind_cascade && t->resume > vk_genome_resume_depth(&t->low, &t->high, nl)) {
        fprintf(stderr, "vitskip eval: --table %s: \"resume\" %d: the high path can resume "
                        "after at most %d of the low path's encoders\n", path, t->resume,
                vk_genome_resume_depth(&t->low, &t->high, nl));
        return 1;
    }
    return 0;
}

int vk_cmd_eval(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"data", required_argument, 0, 'd'},
        {"skip", required_argument, 0, 's'},  {"board", required_argument, 0, 'b'},
        {"limit", required_argument, 0, 'n'}, {"calib", required_argument, 0, 'c'},
        {"float", no_argument, 0, 'f'},       {"help", no_argument, 0, 'h'},
        {"genome", required_argument, 0, 'g'}, {"level", required_argument, 0, 'L'},
        {"cascade", required_argument, 0, 'C'}, {"threshold", required_argument, 0, 'T'},
        {"max-acc-drop", required_argument, 0, 'A'}, {"objective", required_argument, 0, 'O'},
        {"val", required_argument, 0, 'V'},   {"val-limit", required_argument, 0, 'N'},
        {"json", no_argument, 0, 'j'},        {"blob", required_argument, 0, 'Q'},
        {"config", required_argument, 0, 'K'}, {"table", required_argument, 0, 'X'},
        {0, 0, 0, 0}};
    const char *skip = NULL, *genome = NULL, *board = "sim", *config = NULL, *table = NULL;
    vk_skip_table tab; /* --config or --table: the path or cascade */
    int n_spec = 0;
    vk_workload_opts wo = {0};
    int c, do_float = 0, json = 0, rcode = VK_EXIT_FAIL;
    vk_err err = {{0}};
    vk_workload w;
    vk_board *b = NULL;
    vk_img_result *res = NULL;
    uint32_t modes[VK_MAX_LAYERS];
    vk_measure meas;
    char bad[256];
    vk_cli_cascade cas = {.cmd = "eval", .max_drop = 0.5, .objective = VK_OBJ_EDP};
    const char *cascade_file = NULL, *thr = NULL;
    int cascade_opt = 0; /* an option that only a cascade takes */

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': wo.model = optarg; break;
        case 'd': wo.data = optarg; break;
        case 's': skip = optarg; break;
        case 'g': genome = optarg; break;
        case 'K': config = optarg; break;
        case 'X': table = optarg; break;
        case 'b':
            if (vk_cli_check_board("eval", optarg))
                return VK_EXIT_USAGE;
            board = optarg;
            break;
        case 'c': wo.calib = optarg; break;
        case 'Q': wo.blob = optarg; break;
        case 'f': do_float = 1; break;
        case 'j': json = 1; break;
        case 'n':
        case 'N': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 100000000)
                return vk_cli_usage("eval", "--%s '%s': expected a positive integer",
                                    c == 'n' ? "limit" : "val-limit", optarg);
            if (c == 'n')
                wo.limit = (int)v;
            else
                cas.n_val = (int)v, cascade_opt = 1;
            break;
        }
        case 'L':
            if ((rcode = vk_cli_cascade_add_level(&cas, optarg)))
                return rcode;
            break;
        case 'C': cascade_file = optarg; break;
        case 'T': thr = optarg; cascade_opt = 1; break;
        case 'V': cas.val = optarg; cascade_opt = 1; break;
        case 'A':
            if ((rcode = vk_cli_parse_num("eval", "--max-acc-drop", optarg, 0, &cas.max_drop)))
                return rcode;
            cascade_opt = 1;
            break;
        case 'O':
            if (vk_objective_parse(optarg, &cas.objective, &err) != VK_OK)
                return vk_cli_usage("eval", "--objective: %s", err.msg);
            cascade_opt = 1;
            break;
        case 'h': fputs(eval_help, stdout); return VK_EXIT_OK;
        default: return vk_cli_bad_option("eval", opts, argv);
        }
    }
    if (optind < argc)
        return vk_cli_usage("eval", "unexpected argument '%s'", argv[optind]);
    if (cas.n_levels || cascade_file) {
        if (cas.n_levels && cascade_file)
            return vk_cli_usage("eval", "--level and --cascade both name the levels; give one");
        if (wo.model || skip || genome || config || table || do_float || wo.blob)
            return vk_cli_usage("eval", "--model, --blob, --skip, --genome, --config, --table "
                                        "and --float are for one model; a cascade's levels "
                                        "name their own");
        if (!wo.data)
            return vk_cli_usage("eval", "--data is required");
        if (json)
            return vk_cli_usage("eval", "--json is for one path, not a cascade");
        if (cascade_file && (rcode = vk_cli_cascade_read_file(&cas, cascade_file)))
            return rcode;
        if (thr && (rcode = vk_cli_cascade_parse_thresholds(&cas, thr)))
            return rcode;
        cas.data = wo.data;
        cas.calib = wo.calib;
        cas.limit = wo.limit;
        cas.board = board;
        return vk_cli_cascade_run(&cas, NULL, NULL);
    }
    if (cascade_opt)
        return vk_cli_usage("eval", "--threshold, --max-acc-drop, --objective, --val and "
                                    "--val-limit are for a cascade (--level or --cascade)");
    rcode = VK_EXIT_FAIL;
    if (!wo.model || !wo.data)
        return vk_cli_usage("eval", "--model and --data are required");
    n_spec = !!skip + !!genome + !!config + !!table;
    if (n_spec > 1)
        return vk_cli_usage("eval", "--skip, --genome, --config and --table each name the "
                                    "path; give one");
    memset(&tab, 0, sizeof tab);
    if (table && (rcode = read_table(table, &tab)))
        return rcode;
    if (genome && vk_cli_check_genome("eval", "--genome", genome, NULL))
        return VK_EXIT_USAGE;
    rcode = VK_EXIT_FAIL;

    vk_calib_bar cbar;
    vk_cli_calib_progress(&wo.cache, &cbar, 0);
    if (vk_workload_open(&wo, &w, &err) != VK_OK) {
        fprintf(stderr, "vitskip eval: %s\n", err.msg);
        return VK_EXIT_FAIL;
    }
    for (int l = 0; l < VK_MAX_LAYERS; l++)
        modes[l] = VK_MODE(VK_ATTN_FULL);
    if (skip && parse_skip(skip, w.model.hp.n_layers, modes, bad, sizeof bad)) {
        vk_workload_free(&w);
        return vk_cli_usage("eval", "%s", bad);
    }
    if (genome) {
        vk_genome g;
        if (vk_genome_parse(genome, w.model.hp.n_layers, &g, &err) != VK_OK) {
            vk_workload_free(&w);
            return vk_cli_usage("eval", "--genome: %s", err.msg);
        }
        memcpy(modes, g.modes, sizeof modes);
    }
    if (config && (rcode = parse_config(config, w.model.hp.n_layers, &tab))) {
        vk_workload_free(&w);
        return rcode;
    }
    if (table && check_table(table, &tab, &w, wo.model)) {
        vk_workload_free(&w);
        return VK_EXIT_FAIL;
    }
    if (json && tab.kind_cascade) {
        vk_workload_free(&w);
        return vk_cli_usage("eval", "--json is for one path, not a cascade");
    }
    if (config || table)
        memcpy(modes, tab.low.modes, sizeof modes);
    rcode = VK_EXIT_FAIL;
    if (vk_board_open(board, &b, &err) != VK_OK || vk_board_load(b, &w.q, &err) != VK_OK ||
        vk_board_load_data(b, w.imgs, w.n, &err) != VK_OK) {
        fprintf(stderr, "vitskip eval: %s\n", err.msg);
        rcode = VK_EXIT_BOARD;
        goto out;
    }
    res = calloc((size_t)w.n, sizeof *res);
    if (!res) {
        fprintf(stderr, "vitskip eval: out of memory\n");
        goto out;
    }
    {
        vk_progress pr;
        vk_path_req req = {.modes = modes, .progress = vk_progress_board, .progress_ctx = &pr};
        if (tab.kind_cascade) {
            req.modes_high = tab.high.modes;
            req.threshold_q16 = tab.threshold_q16;
            req.resume = tab.resume;
        }
        double t0 = vk_clock_now();
        vk_progress_begin(&pr, "eval", w.n);
        vk_status rc = vk_board_measure(b, &req, w.n, res, &meas, &err);
        vk_progress_end(&pr);
        if (rc != VK_OK) {
            fprintf(stderr, "vitskip eval: %s\n", err.msg);
            rcode = VK_EXIT_BOARD;
            goto out;
        }
        int32_t *cls = malloc((size_t)w.n * sizeof *cls);
        double ent = 0;
        if (!cls)
            goto out;
        for (int i = 0; i < w.n; i++) {
            cls[i] = res[i].cls;
            ent += res[i].entropy_q16 / 65536.0;
        }
        double top1 = vk_workload_top1(&w, cls, w.n), mean_ent = ent / (w.n ? w.n : 1);
        double top1_float = do_float ? float_top1(&w, modes) : -1;
        char txt[VK_GENOME_TEXT_MAX];
        {
            vk_genome g;
            memcpy(g.modes, modes, sizeof g.modes);
            vk_genome_format(&g, w.model.hp.n_layers, txt);
        }
        if (json) {
            if (print_json(&wo, &w, b, txt, top1, top1_float, mean_ent, &meas,
                           vk_clock_now() - t0)) {
                free(cls);
                goto out;
            }
        } else {
            printf("model     %s (%d encoders, sha256 %.16s)\n", wo.model, w.model.hp.n_layers,
                   w.model_hash);
            printf("data      %s (%d images)\n", wo.data, w.n);
            printf("board     %s\n", vk_board_spec(b));
            printf("path      %s  (F full, S skipped, R reused, H shared heads; :kNN keeps "
                   "NN%% of the tokens, :fNN drops NN%% of the FFN)\n",
                   txt);
            if (tab.kind_cascade) {
                vk_genome_format(&tab.high, w.model.hp.n_layers, txt);
                printf("cascade   -> %s above %.4f nats, resuming after %d encoders; %d of %d "
                       "images escalated\n", txt, tab.threshold_q16 / 65536.0, tab.resume,
                       meas.n_escalated, w.n);
            }
            if (table)
                printf("table     %s\n", table);
            printf("top-1     %.2f%% (int8 kernel%s)\n", top1,
                   tab.kind_cascade ? ", the cascade routed on the board" : "");
            if (do_float && !tab.kind_cascade)
                printf("top-1     %.2f%% (float32 reference, host)\n", top1_float);
            printf("entropy   %.4f nats (mean)\n", mean_ent);
            printf("latency   %.4f ms/image [%s] (p10 %.4f, p90 %.4f)\n", meas.latency_ms,
                   vk_source_str(meas.latency_src), meas.latency_p10_ms, meas.latency_p90_ms);
            vk_cli_print_energy(meas.latency_ms, meas.energy_mj, meas.energy_src);
            printf("          %s\n", meas.note);
            printf("wall      %.2f s on this host\n", vk_clock_now() - t0);
        }
        free(cls);
        rcode = VK_EXIT_OK;
    }
out:
    free(res);
    vk_board_close(b);
    vk_workload_free(&w);
    return rcode;
}
