/* vk_cli_db: database helpers of the subcommands (see vk_cli_search.h). */
#include "vk_cli_search.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "host/cli/vk_cli.h"
#include "host/vk_sha256.h"
#include "host/vk_workload.h"

int vk_cli_open_db(const char *cmd, const char *path, vk_cli_db_mode mode, vk_store **db)
{
    vk_err err = {{0}};
    struct stat sb;
    vk_status rc;
    if (!path)
        return vk_cli_usage(cmd, "--db is required");
    if (mode != VK_CLI_DB_CREATE && stat(path, &sb) != 0) {
        fprintf(stderr, "vitskip %s: %s: no such database (%s)\n", cmd, path, strerror(errno));
        return VK_EXIT_FAIL;
    }
    rc = mode == VK_CLI_DB_READONLY ? vk_store_open_readonly(path, db, &err)
                                    : vk_store_open(path, db, &err);
    if (rc != VK_OK) {
        fprintf(stderr, "vitskip %s: %s\n", cmd, err.msg);
        return VK_EXIT_FAIL;
    }
    return 0;
}


/* "validation top-1 V% (N images), test top-1 T% (M images)" for a path of
 * a run with splits; "top-1 V% (selected on)" when it has no test figure.
 * *reported: the figure to report, the test one where there is one. */
static vk_status path_accuracy(vk_store *db, const vk_path_rec *p, char *out, size_t n,
                               double *reported, vk_err *err)
{
    int64_t run_id;
    vk_run_info r;
    double test;
    int found = 0;
    vk_status rc;
    *reported = p->top1;
    if ((rc = vk_store_path_run(db, p->id, &run_id, err)) != VK_OK ||
        (rc = vk_store_run_get(db, run_id, &r, err)) != VK_OK)
        return rc;
    if (!r.test_hash[0]) {
        snprintf(out, n, "top-1 %.2f%% on the %d images it was selected on", p->top1, r.n_images);
        return VK_OK;
    }
    if ((rc = vk_store_path_test_get(db, p->id, r.test_hash, &test, &found, err)) != VK_OK)
        return rc;
    if (found) {
        snprintf(out, n, "validation top-1 %.2f%% (%d images), test top-1 %.2f%% (%d images)",
                 p->top1, r.n_images, test, r.n_test);
        *reported = test;
    } else
        snprintf(out, n, "validation top-1 %.2f%% (%d images; not on the front, no test figure)",
                 p->top1, r.n_images);
    return VK_OK;
}

/* A table's figures and their sources; an energy the board did not give
 * is unknown (NAN), never 0. */
static void figures(vk_skip_table *t, double top1, double lat, vk_source lsrc, double en,
                    vk_source esrc)
{
    t->top1 = top1;
    t->latency_ms = lsrc == VK_SRC_NONE ? NAN : lat;
    t->energy_mj = esrc == VK_SRC_NONE ? NAN : en;
    snprintf(t->latency_src, sizeof t->latency_src, "%s",
             lsrc == VK_SRC_NONE ? "" : vk_source_str(lsrc));
    snprintf(t->energy_src, sizeof t->energy_src, "%s",
             esrc == VK_SRC_NONE ? "" : vk_source_str(esrc));
}

int vk_cli_load_config(vk_store *db, const char *id, vk_skip_table *t, vk_err *err)
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
        t->n_layers = vk_genome_text_layers(lo.genome);
        if (vk_genome_parse(lo.genome, t->n_layers, &t->low, err) != VK_OK) {
            vk_store_rec_free(&lo);
            return VK_EXIT_FAIL;
        }
        snprintf(t->model_hash, sizeof t->model_hash, "%s", lo.model_hash);
        char acc[160];
        double top1;
        if (path_accuracy(db, &lo, acc, sizeof acc, &top1, err) != VK_OK) {
            vk_store_rec_free(&lo);
            return VK_EXIT_FAIL;
        }
        figures(t, top1, lo.m.latency_ms, lo.m.latency_src, lo.m.energy_mj, lo.m.energy_src);
        snprintf(t->comment, sizeof t->comment,
                 "path %s on board %s: %s, %.4f ms [%s], %.4f mJ [%s] per image", id, lo.board,
                 acc, lo.m.latency_ms, vk_source_str(lo.m.latency_src), lo.m.energy_mj,
                 vk_source_str(lo.m.energy_src));
        vk_store_rec_free(&lo);
        vk_finetune_rec ft;
        int tuned = 0;
        if (vk_store_finetune_get(db, n, &ft, &tuned, err) != VK_OK)
            return VK_EXIT_FAIL;
        if (tuned) { /* its weights are the tuned checkpoint's */
            size_t k = strlen(t->comment);
            snprintf(t->comment + k, sizeof t->comment - k, "; fine-tuned from P%lld, weights %.200s",
                     (long long)ft.parent_id, ft.model);
        }
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
    t->n_layers = vk_genome_text_layers(lo.genome);
    if (vk_genome_parse(lo.genome, t->n_layers, &t->low, err) != VK_OK ||
        vk_genome_parse(hi.genome, t->n_layers, &t->high, err) != VK_OK) {
        vk_store_rec_free(&lo);
        vk_store_rec_free(&hi);
        return VK_EXIT_FAIL;
    }
    t->threshold_q16 = c.threshold_q16;
    t->resume = c.resume;
    snprintf(t->model_hash, sizeof t->model_hash, "%s", lo.model_hash);
    figures(t, c.has_test ? c.top1_test : c.top1, c.latency_ms, lo.m.latency_src, c.energy_mj,
            lo.m.energy_src);
    char acc[96];
    if (c.has_test)
        snprintf(acc, sizeof acc, "validation top-1 %.2f%%, test top-1 %.2f%% (%.1f%% escalated)",
                 c.top1, c.top1_test, 100 * c.escalated_test);
    else
        snprintf(acc, sizeof acc, "top-1 %.2f%% on the validation images it was chosen on",
                 c.top1);
    snprintf(t->comment, sizeof t->comment,
             "cascade %s on board %.60s: %s -> %s, %s, %.4f ms per image resuming (%.4f from "
             "scratch) [%s]", id, lo.board, lo.genome, hi.genome, acc, c.latency_ms,
             c.latency_scratch_ms, vk_source_str(lo.m.latency_src));
    vk_store_rec_free(&lo);
    vk_store_rec_free(&hi);
    return 0;
}

static int checkpoint_hash(vk_store *db, const char *cfg, vk_skip_table *t, vk_err *err)
{
    int64_t pid = strtoll(cfg + 1, NULL, 10), run_id;
    vk_cascade_rec c;
    vk_run_info run;
    vk_finetune_rec ft;
    int tuned = 0;
    vk_model m;
    vk_qmodel q;
    vk_calib_bar bar;
    char hex[65];
    static const uint8_t zero[32];

    if (cfg[0] == 'C') {
        if (vk_store_cascade_get(db, pid, &c, err) != VK_OK)
            return 1;
        pid = c.low;
    }
    if (vk_store_path_run(db, pid, &run_id, err) != VK_OK ||
        vk_store_run_get(db, run_id, &run, err) != VK_OK ||
        vk_store_finetune_get(db, pid, &ft, &tuned, err) != VK_OK)
        return 1;
    vk_workload_opts wo = {.model = tuned ? ft.model : run.model, .data = run.data,
                           .calib = run.calib[0] ? run.calib : NULL,
                           .val = run.val[0] ? run.val : NULL, .quiet = 1};
    vk_cli_calib_progress(&wo.cache, &bar, 0);
    if (vk_workload_quantize(&wo, &m, &q, NULL, err) != VK_OK)
        return 1;
    vk_sha256_hex(q.hash, hex);
    int ok = !strcmp(hex, t->model_hash) && memcmp(m.sha256, zero, 32);
    if (ok)
        vk_sha256_hex(m.sha256, t->ckpt_hash);
    else
        vk_fail(err, VK_E_MISMATCH, "%s now calibrates to blob %.16s, not the %.16s measured",
                wo.model, hex, t->model_hash);
    vk_qmodel_free(&q);
    vk_model_free(&m);
    return !ok;
}

void vk_cli_config_checkpoint(const char *cmd, vk_store *db, const char *id, vk_skip_table *t)
{
    vk_err err = {{0}};
    if (checkpoint_hash(db, id, t, &err))
        fprintf(stderr, "vitskip %s: warning: the checkpoint's SHA-256 is left out: %s\n", cmd,
                err.msg);
}

void vk_cli_search_failed(void *ctx, const char *genome, const char *board, int attempt,
                          const char *msg)
{
    (void)ctx;
    fprintf(stderr, "search: %s failed on %s (attempt %d): %s\n", genome, board, attempt, msg);
}
