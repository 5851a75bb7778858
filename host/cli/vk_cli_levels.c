/* vk_cli_levels: eval's and replay's cascades over levels with their own
 * weights (see vk_cli_levels.h). */
#include "vk_cli_levels.h"

#include <cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "host/cli/vk_cli.h"
#include "host/vk_workload.h"

int vk_cli_cascade_add_level(vk_cli_cascade *c, const char *arg)
{
    const char *eq = strrchr(arg, '=');
    if (c->n_levels >= VK_LEVELS_MAX)
        return vk_cli_usage(c->cmd, "--level '%s': at most %d levels", arg, VK_LEVELS_MAX);
    if (!eq || eq == arg || !eq[1])
        return vk_cli_usage(c->cmd, "--level '%s': expected MODEL=GENOME, e.g. "
                                    "models/demo=FSFSFSFS",
                            arg);
    if ((size_t)(eq - arg) >= sizeof c->lv[0].model || strlen(eq + 1) >= VK_GENOME_TEXT_MAX ||
        vk_genome_text_layers(eq + 1) < 1)
        return vk_cli_usage(c->cmd, "--level '%s': '%s' is not a genome (F, S, R, H per encoder, "
                                    "with optional :kNN and :fNN)",
                            arg, eq + 1);
    vk_cli_level *l = &c->lv[c->n_levels++];
    snprintf(l->model, sizeof l->model, "%.*s", (int)(eq - arg), arg);
    snprintf(l->genome, sizeof l->genome, "%s", eq + 1);
    return 0;
}

int vk_cli_cascade_parse_thresholds(vk_cli_cascade *c, const char *arg)
{
    const char *p = arg;
    c->n_thr = 0;
    while (*p) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || (*end && *end != ',') || !(v >= 0) || v > 1e4 ||
            c->n_thr >= VK_LEVELS_MAX - 1)
            return vk_cli_usage(c->cmd, "--threshold '%s': expected 1 or 2 comma-separated "
                                        "entropies in nats (>= 0)",
                                arg);
        c->thr_nats[c->n_thr++] = v;
        p = *end ? end + 1 : end;
    }
    if (!c->n_thr)
        return vk_cli_usage(c->cmd, "--threshold '': expected 1 or 2 entropies in nats");
    return 0;
}

/* ---- levels files ----------------------------------------------------------- */

static int file_fail(const vk_cli_cascade *c, const char *path, const char *what)
{
    fprintf(stderr, "vitskip %s: %s: %s\n", c->cmd, path, what);
    return VK_EXIT_FAIL;
}

char *vk_cli_read_text(const char *path, size_t max, char *why, size_t why_n)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (!f) {
        snprintf(why, why_n, "cannot open it");
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || (size_t)n > max || fseek(f, 0, SEEK_SET)) {
        snprintf(why, why_n, "unreadable, or over %zu bytes", max);
        fclose(f);
        return NULL;
    }
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        snprintf(why, why_n, "cannot read it");
        free(buf);
        fclose(f);
        return NULL;
    }
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* 1 if every key of obj is one of the NULL-terminated names. */
static int only_keys(const cJSON *obj, const char *const *names, const char **bad)
{
    for (const cJSON *k = obj->child; k; k = k->next) {
        int found = 0;
        for (int i = 0; names[i] && !found; i++)
            found = !strcmp(k->string, names[i]);
        if (!found) {
            *bad = k->string;
            return 0;
        }
    }
    return 1;
}

int vk_cli_cascade_read_file(vk_cli_cascade *c, const char *path)
{
    static const char *const top_keys[] = {"format", "version", "levels", "thresholds_nats", NULL};
    static const char *const lv_keys[] = {"model", "genome", NULL};
    char why[256], msg[512];
    const char *bad;
    char *text = vk_cli_read_text(path, 1 << 20, why, sizeof why);
    int rc = VK_EXIT_FAIL, n;
    if (!text) {
        snprintf(msg, sizeof msg, "the levels file: %s", why);
        return file_fail(c, path, msg);
    }
    cJSON *root = cJSON_Parse(text), *f;
    free(text);
    if (!root || !cJSON_IsObject(root)) {
        rc = file_fail(c, path, "not a JSON object (a levels file: {\"format\": "
                                "\"vitskip-cascade\", \"version\": 1, \"levels\": [...]})");
        goto out;
    }
    if (!only_keys(root, top_keys, &bad)) {
        snprintf(msg, sizeof msg, "unknown key \"%s\" (expected format, version, levels, "
                                  "thresholds_nats)", bad);
        rc = file_fail(c, path, msg);
        goto out;
    }
    f = cJSON_GetObjectItemCaseSensitive(root, "format");
    if (!cJSON_IsString(f) || strcmp(f->valuestring, "vitskip-cascade")) {
        rc = file_fail(c, path, "\"format\" must be \"vitskip-cascade\"");
        goto out;
    }
    f = cJSON_GetObjectItemCaseSensitive(root, "version");
    if (!cJSON_IsNumber(f) || f->valuedouble != 1) {
        rc = file_fail(c, path, "\"version\" must be 1");
        goto out;
    }
    f = cJSON_GetObjectItemCaseSensitive(root, "levels");
    n = cJSON_IsArray(f) ? cJSON_GetArraySize(f) : -1;
    if (n < 2 || n > VK_LEVELS_MAX) {
        rc = file_fail(c, path, "\"levels\" must be an array of 2 or 3 {\"model\", \"genome\"}");
        goto out;
    }
    /* a relative model path is relative to the file's folder */
    const char *slash = strrchr(path, '/');
    int dir_n = slash ? (int)(slash - path + 1) : 0;
    c->n_levels = 0;
    for (int i = 0; i < n; i++) {
        cJSON *l = cJSON_GetArrayItem(f, i);
        cJSON *m = cJSON_GetObjectItemCaseSensitive(l, "model");
        cJSON *g = cJSON_GetObjectItemCaseSensitive(l, "genome");
        if (!cJSON_IsObject(l) || !cJSON_IsString(m) || !cJSON_IsString(g) || !m->valuestring[0]) {
            snprintf(msg, sizeof msg, "levels[%d]: expected {\"model\": DIR, \"genome\": G}", i);
            rc = file_fail(c, path, msg);
            goto out;
        }
        if (!only_keys(l, lv_keys, &bad)) {
            snprintf(msg, sizeof msg, "levels[%d]: unknown key \"%s\" (expected model, genome)", i,
                     bad);
            rc = file_fail(c, path, msg);
            goto out;
        }
        vk_cli_level *o = &c->lv[c->n_levels++];
        int len = m->valuestring[0] == '/' ? snprintf(o->model, sizeof o->model, "%s",
                                                      m->valuestring)
                                           : snprintf(o->model, sizeof o->model, "%.*s%s", dir_n,
                                                      path, m->valuestring);
        if (len >= (int)sizeof o->model || strlen(g->valuestring) >= VK_GENOME_TEXT_MAX ||
            vk_genome_text_layers(g->valuestring) < 1) {
            snprintf(msg, sizeof msg, "levels[%d]: the model path is too long or \"%.40s\" is "
                                      "not a genome",
                     i, g->valuestring);
            rc = file_fail(c, path, msg);
            goto out;
        }
        snprintf(o->genome, sizeof o->genome, "%s", g->valuestring);
    }
    f = cJSON_GetObjectItemCaseSensitive(root, "thresholds_nats");
    c->n_thr = 0;
    if (f) {
        if (!cJSON_IsArray(f) || cJSON_GetArraySize(f) != n - 1) {
            snprintf(msg, sizeof msg, "\"thresholds_nats\" must be an array of %d numbers (one "
                                      "per escalation)", n - 1);
            rc = file_fail(c, path, msg);
            goto out;
        }
        for (int i = 0; i < n - 1; i++) {
            cJSON *t = cJSON_GetArrayItem(f, i);
            if (!cJSON_IsNumber(t) || !(t->valuedouble >= 0) || t->valuedouble > 1e4) {
                snprintf(msg, sizeof msg, "thresholds_nats[%d]: expected an entropy in nats "
                                          "(0 .. 10000)", i);
                rc = file_fail(c, path, msg);
                goto out;
            }
            c->thr_nats[c->n_thr++] = t->valuedouble;
        }
    }
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

/* ---- the run ---------------------------------------------------------------- */

static int32_t nats_q16(double t)
{
    double q = floor(t * 65536.0);
    return q >= INT32_MAX ? INT32_MAX : (int32_t)q;
}

static void print_thr(int32_t t)
{
    if (t == INT32_MAX)
        printf("never");
    else if (t < 0)
        printf("always");
    else
        printf("above %.4f nats", t / 65536.0);
}

/* The validation images of the split, quantized for each level: as a
 * search takes them (vk_workload), the default narrowed to the hold-out
 * that the levels' heldout.json files name (they must agree); checks the
 * split's test sample is the workloads' (so validation never holds a test
 * image). */
static vk_status val_images(const vk_cli_cascade *c, const vk_workload *w, int8_t **vimg,
                            int *n_val, vk_dataset *labels, char *src, size_t src_n, vk_err *err)
{
    vk_split_opts so = {.data = c->data, .test = c->test, .calib = c->calib, .val = c->val,
                        .n_test = c->limit, .n_val = c->n_val};
    vk_status rc = VK_OK;
    float *f = NULL;
    for (int l = 0; l < c->n_levels; l++) {
        int first = 0, count = 0;
        if ((rc = vk_model_heldout(c->lv[l].model, &first, &count, err)) != VK_OK)
            return rc;
        if (count > 0 && so.holdout_count > 0 &&
            (first != so.holdout_first || count != so.holdout_count))
            return vk_fail(err, VK_E_ARG, "the levels' heldout.json name other hold-outs "
                           "(%s: images %d..%d, an earlier level: %d..%d); give --val",
                           c->lv[l].model, first, first + count - 1, so.holdout_first,
                           so.holdout_first + so.holdout_count - 1);
        if (count > 0) {
            so.holdout_first = first;
            so.holdout_count = count;
        }
    }
    for (int l = 0; l < c->n_levels && rc == VK_OK; l++) {
        vk_splits sp;
        vk_dataset ds;
        memset(&ds, 0, sizeof ds);
        if ((rc = vk_splits_resolve(&so, &w[l].model, &sp, err)) != VK_OK)
            break;
        const vk_sample *t = &sp.sample[VK_SPLIT_TEST], *wt = &w[l].data.sample;
        if (memcmp(t->source_hash, wt->source_hash, 32) || t->seed != wt->seed ||
            t->offset != wt->offset || t->n != wt->n) {
            vk_splits_free(&sp);
            return vk_fail(err, VK_E_ARG, "--val %s: a validation split from the test data's "
                                          "own source would change the test split; give "
                                          "another source (or none: the default)",
                           c->val ? c->val : "(default)");
        }
        if ((rc = vk_splits_take(&sp, VK_SPLIT_VAL, &ds, err)) == VK_OK) {
            size_t img_n = vk_qmodel_img_n(&w[l].q);
            size_t px = (size_t)ds.channels * ds.height * ds.width;
            vimg[l] = malloc((size_t)ds.n * img_n);
            f = realloc(f, px * sizeof *f);
            if (!vimg[l] || !f)
                rc = vk_fail(err, VK_E_NOMEM, "validation: out of memory for %d images", ds.n);
            for (int i = 0; rc == VK_OK && i < ds.n; i++) {
                vk_dataset_normalize(&ds, &w[l].model, i, f);
                vk_quant_input(&w[l].q, f, &vimg[l][(size_t)i * img_n]);
            }
            *n_val = ds.n;
            snprintf(src, src_n, "%s", vk_catalog_path(sp.src[VK_SPLIT_VAL]));
            if (l == 0 && rc == VK_OK) {
                *labels = ds;
                memset(&ds, 0, sizeof ds);
            }
        }
        vk_dataset_free(&ds);
        vk_splits_free(&sp);
    }
    free(f);
    return rc;
}

static void print_levels_line(const vk_cli_cascade *c, const vk_workload *w, int l)
{
    printf("level %d   %s (sha256 %.16s)  %s\n", l + 1, c->lv[l].model, w[l].model_hash,
           c->lv[l].genome);
}

int vk_cli_cascade_run(const vk_cli_cascade *c, vk_store *db, const char *config)
{
    const int L = c->n_levels;
    vk_workload w[VK_LEVELS_MAX];
    vk_level lv[VK_LEVELS_MAX], vlv[VK_LEVELS_MAX];
    int8_t *vimg[VK_LEVELS_MAX] = {0};
    vk_img_result *vres[VK_LEVELS_MAX] = {0};
    uint8_t *vok[VK_LEVELS_MAX] = {0};
    int32_t *vent[VK_LEVELS_MAX] = {0};
    vk_measure vmeas[VK_LEVELS_MAX];
    vk_dataset vlab;
    vk_board *b = NULL;
    vk_img_result *res = NULL;
    uint8_t *level = NULL;
    int32_t *cls = NULL;
    int32_t thr[VK_LEVELS_MAX - 1];
    vk_err err = {{0}};
    int n_open = 0, n_val = 0, rcode = VK_EXIT_FAIL;
    char vsrc[512] = "";
    double t0 = vk_clock_now();

    memset(&vlab, 0, sizeof vlab);
    if (L < 2)
        return vk_cli_usage(c->cmd, "a cascade needs 2 or 3 levels (--level or --cascade)");
    if (c->n_thr && c->n_thr != L - 1)
        return vk_cli_usage(c->cmd, "--threshold: %d given, a %d-level cascade escalates %d "
                                    "times",
                            c->n_thr, L, L - 1);
    for (int l = 0; l < L; l++) {
        vk_workload_opts wo = {.model = c->lv[l].model, .data = c->data, .test = c->test,
                               .calib = c->calib, .limit = c->limit};
        vk_calib_bar cbar;
        vk_cli_calib_progress(&wo.cache, &cbar, 0);
        if (vk_workload_open(&wo, &w[l], &err) != VK_OK) {
            fprintf(stderr, "vitskip %s: level %d: %s\n", c->cmd, l + 1, err.msg);
            goto out;
        }
        n_open++;
        if (c->lv[l].expect_hash[0] && strcmp(c->lv[l].expect_hash, w[l].model_hash)) {
            fprintf(stderr, "vitskip %s: level %d: %s calibrates to blob %.16s, the stored path "
                            "was measured on %.16s (the checkpoint or its calibration changed)\n",
                    c->cmd, l + 1, c->lv[l].model, w[l].model_hash, c->lv[l].expect_hash);
            goto out;
        }
        lv[l].q = &w[l].q;
        lv[l].imgs = w[l].imgs;
        if (vk_genome_parse(c->lv[l].genome, w[l].model.hp.n_layers, &lv[l].path, &err) !=
            VK_OK) {
            fprintf(stderr, "vitskip %s: level %d (%s): %s\n", c->cmd, l + 1, c->lv[l].model,
                    err.msg);
            goto out;
        }
        if (strcmp(w[l].data_hash, w[0].data_hash) ||
            w[l].model.hp.n_classes != w[0].model.hp.n_classes) {
            fprintf(stderr, "vitskip %s: level %d (%s) sees other test images or classes than "
                            "level 1 (%s): the models' image size or preprocessing differ\n",
                    c->cmd, l + 1, c->lv[l].model, c->lv[0].model);
            goto out;
        }
    }
    res = calloc((size_t)w[0].n, sizeof *res);
    level = calloc((size_t)w[0].n, 1);
    cls = calloc((size_t)w[0].n, sizeof *cls);
    if (!res || !level || !cls) {
        fprintf(stderr, "vitskip %s: out of memory\n", c->cmd);
        goto out;
    }
    if (vk_board_open(c->board, &b, &err) != VK_OK) {
        fprintf(stderr, "vitskip %s: %s\n", c->cmd, err.msg);
        rcode = VK_EXIT_BOARD;
        goto out;
    }
    printf("cascade   %d levels, each its own weights and path; board %s\n", L,
           vk_board_spec(b));
    for (int l = 0; l < L; l++)
        print_levels_line(c, w, l);

    if (c->n_thr) {
        for (int l = 0; l < L - 1; l++)
            thr[l] = nats_q16(c->thr_nats[l]);
        printf("thresholds as given:");
        for (int l = 0; l < L - 1; l++) {
            printf(" %d->%d ", l + 1, l + 2);
            print_thr(thr[l]);
        }
        printf("\n");
    } else {
        /* choose on validation: each level alone on every validation image */
        if (val_images(c, w, vimg, &n_val, &vlab, vsrc, sizeof vsrc, &err) != VK_OK) {
            fprintf(stderr, "vitskip %s: validation: %s\n", c->cmd, err.msg);
            goto out;
        }
        vk_img_result *const *vr = vres;
        for (int l = 0; l < L; l++) {
            vlv[l] = lv[l];
            vlv[l].imgs = vimg[l];
            vres[l] = calloc((size_t)n_val, sizeof *vres[l]);
            vok[l] = malloc((size_t)n_val);
            vent[l] = malloc((size_t)n_val * sizeof *vent[l]);
            if (!vres[l] || !vok[l] || !vent[l]) {
                fprintf(stderr, "vitskip %s: out of memory\n", c->cmd);
                goto out;
            }
        }
        vk_progress pr;
        vk_progress_begin(&pr, "validation", L * n_val);
        vk_status rc = vk_levels_alone(b, vlv, L, n_val, vr, vmeas, vk_progress_board, &pr, &err);
        vk_progress_end(&pr);
        if (rc != VK_OK) {
            fprintf(stderr, "vitskip %s: validation: %s\n", c->cmd, err.msg);
            rcode = VK_EXIT_BOARD;
            goto out;
        }
        vk_levels_sweep_in in = {.n_levels = L, .n = n_val, .objective = c->objective};
        for (int l = 0; l < L && in.objective != VK_OBJ_LATENCY; l++)
            if (vmeas[l].energy_src == VK_SRC_NONE) { /* every energy 0: the choice arbitrary */
                printf("board %s gives no energy figures: the thresholds minimize latency, "
                       "not %s\n", c->board, vk_objective_name(c->objective));
                in.objective = VK_OBJ_LATENCY;
            }
        int resume[VK_LEVELS_MAX];
        vk_levels_resume(vlv, L, resume);
        double top1[VK_LEVELS_MAX];
        for (int l = 0; l < L; l++) {
            int ok = 0;
            for (int i = 0; i < n_val; i++) {
                vok[l][i] = vres[l][i].cls == vlab.labels[i];
                vent[l][i] = vres[l][i].entropy_q16;
                ok += vok[l][i];
            }
            top1[l] = 100.0 * ok / n_val;
            in.ok[l] = vok[l];
            in.ent[l] = vent[l];
            in.latency_ms[l] = vmeas[l].suffix_ms[resume[l]] > 0 ? vmeas[l].suffix_ms[resume[l]]
                                                                 : vmeas[l].latency_ms;
            in.energy_mj[l] = vmeas[l].suffix_mj[resume[l]] > 0 ? vmeas[l].suffix_mj[resume[l]]
                                                                : vmeas[l].energy_mj;
        }
        in.min_top1 = top1[L - 1] - c->max_drop;
        printf("validation %d images of %s (never a test image); each level alone:\n", n_val,
               vsrc);
        for (int l = 0; l < L; l++)
            printf("  level %d  top-1 %6.2f%%  latency %.4f ms [%s]  energy %.4f mJ [%s]%s\n",
                   l + 1, top1[l], vmeas[l].latency_ms, vk_source_str(vmeas[l].latency_src),
                   vmeas[l].energy_mj, vk_source_str(vmeas[l].energy_src),
                   resume[l] ? "  (resumes after the shared encoders: its suffix counts)" : "");
        vk_levels_pt best;
        if (vk_levels_sweep(&in, &best, &err) != VK_OK) {
            fprintf(stderr, "vitskip %s: %s\n", c->cmd, err.msg);
            goto out;
        }
        memcpy(thr, best.thr_q16, sizeof thr);
        printf("thresholds");
        for (int l = 0; l < L - 1; l++) {
            printf(" %d->%d ", l + 1, l + 2);
            print_thr(thr[l]);
        }
        if (best.met)
            printf(": the least %s with validation top-1 >= %.2f%% (level %d alone %.2f%% - "
                   "%.2f)\n",
                   vk_objective_name(in.objective), in.min_top1, L, top1[L - 1], c->max_drop);
        else
            printf(": no thresholds reach %.2f%% (level %d alone %.2f%% - %.2f) on validation; "
                   "the most accurate\n",
                   in.min_top1, L, top1[L - 1], c->max_drop);
        printf("           validation top-1 %.2f%%, images per level", best.top1);
        for (int l = 0; l < L; l++)
            printf("%s%d", l ? " / " : " ", best.reached[l]);
        printf(", expected %.4f ms, %.4f mJ per image (from the levels' results)\n",
               best.latency_ms, best.energy_mj);
    }

    /* the test split, routed on the board */
    {
        vk_progress pr;
        vk_levels_measure m;
        vk_progress_begin(&pr, "cascade", L * w[0].n);
        vk_status rc = vk_levels_run(b, lv, L, thr, w[0].n, res, level, &m, vk_progress_board,
                                     &pr, &err);
        vk_progress_end(&pr);
        if (rc != VK_OK) {
            fprintf(stderr, "vitskip %s: %s\n", c->cmd, err.msg);
            rcode = VK_EXIT_BOARD;
            goto out;
        }
        for (int i = 0; i < w[0].n; i++)
            cls[i] = res[i].cls;
        double top1 = vk_workload_top1(&w[0], cls, w[0].n);
        printf("test      %d images of %s (the test split), routed on the board\n", w[0].n,
               c->data);
        printf("top-1     %.2f%% (int8 kernel); images per level", top1);
        for (int l = 0; l < L; l++)
            printf("%s%d", l ? " / " : " ", m.reached[l]);
        printf("\n");
        printf("latency   %.4f ms/image [%s] (expected: each level's figure x the share of images "
               "that ran it)\n",
               m.latency_ms, vk_source_str(m.latency_src));
        vk_cli_print_energy(m.latency_ms, m.energy_mj, m.energy_src);
        for (int l = 0; l < L; l++) {
            if (!m.measured[l])
                continue;
            int pair = l + 1 < L && m.resume[l + 1];
            if (pair)
                printf("  levels %d-%d (same weights, level %d resumes after encoder %d): ",
                       l + 1, l + 2, l + 2, m.resume[l + 1]);
            else
                printf("  level %d (from scratch): ", l + 1);
            printf("%d images, %.4f ms [%s], %.4f mJ [%s] per image\n", m.reached[l],
                   m.meas[l].latency_ms, vk_source_str(m.meas[l].latency_src),
                   m.meas[l].energy_mj, vk_source_str(m.meas[l].energy_src));
        }
        for (int l = 0; l < L; l++)
            if (!m.measured[l] && !(l > 0 && m.resume[l] && m.measured[l - 1]))
                printf("  level %d: no image reached it\n", l + 1);
        printf("          %s\n", m.meas[0].note);
        printf("wall      %.2f s on this host\n", vk_clock_now() - t0);
        if (db) {
            vk_measure sm = m.meas[0];
            sm.n_images = w[0].n;
            sm.latency_ms = sm.latency_p10_ms = sm.latency_p90_ms = m.latency_ms;
            sm.latency_src = m.latency_src;
            sm.energy_mj = m.energy_mj;
            sm.energy_src = m.energy_src;
            sm.n_escalated = m.reached[1];
            snprintf(sm.note, sizeof sm.note, "%d-level cascade, expected per image; %.140s", L,
                     m.meas[0].note);
            if (vk_store_replay_insert(db, config, vk_board_identity(b), w[0].model_hash, top1, &sm,
                                       &err) != VK_OK) {
                fprintf(stderr, "vitskip %s: %s\n", c->cmd, err.msg);
                goto out;
            }
        }
        rcode = VK_EXIT_OK;
    }
out:
    vk_board_close(b);
    for (int l = 0; l < L; l++) {
        free(vimg[l]);
        free(vres[l]);
        free(vok[l]);
        free(vent[l]);
    }
    for (int l = 0; l < n_open; l++)
        vk_workload_free(&w[l]);
    vk_dataset_free(&vlab);
    free(res);
    free(level);
    free(cls);
    return rcode;
}
