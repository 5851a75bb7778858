/* vk_cmd_sensitivity: `vitskip sensitivity`, what each per-encoder choice
 * costs in accuracy and saves in latency and energy, one encoder at a time,
 * from a one-at-a-time sweep (`vitskip sweep --one-at-a-time`). */
#include <cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "host/cli/vk_cli.h"
#include "host/cli/vk_cli_search.h"

static const char sens_help[] =
    "usage: vitskip sensitivity --db FILE [RUN] [--json]\n"
    "\n"
    "Reads a one-at-a-time sweep (vitskip sweep --one-at-a-time: the full path and\n"
    "every path that changes one field of one encoder) and prints, per encoder and\n"
    "choice, the change in top-1 (points) and in latency (%) against the full path,\n"
    "then the mean per choice. The figures are the board's: measured or modeled,\n"
    "as the run's paths say. RUN: the run (default: the newest one-at-a-time run).\n";

#define MAX_CHOICES 24

typedef struct {
    int enc;           /* encoder (0-based) */
    uint32_t mode;     /* that encoder's mode word */
    vk_path_rec rec;
} variant;

/* Columns in the space's order: attention letters, then keep percents
 * from the mildest, then FFN drops from the mildest. */
static long column_key(uint32_t w)
{
    if (VK_MODE_ATTN(w) != VK_ATTN_FULL)
        return (long)VK_MODE_ATTN(w);
    return VK_MODE_PRUNES(w) ? 1000 + (100 - (long)VK_MODE_KEEP(w)) : 2000 + (long)VK_MODE_FFN(w);
}

static int by_column(const void *x, const void *y)
{
    long a = column_key(*(const uint32_t *)x), b = column_key(*(const uint32_t *)y);
    return (a > b) - (a < b);
}

int vk_cmd_sensitivity(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", 1, 0, 'D'}, {"json", 0, 0, 'j'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *path = NULL;
    int c, json = 0, rcode, n_runs = 0, n_paths = 0, nv = 0, nl = 0, n_ch = 0, have_full = 0;
    int64_t *runs = NULL, *paths = NULL, want = 0;
    uint32_t choices[MAX_CHOICES];
    vk_store *db;
    vk_err err = {{0}};
    vk_run_info r;
    vk_path_rec full;
    variant *v = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'D')
            path = optarg;
        else if (c == 'j')
            json = 1;
        else if (c == 'h') {
            fputs(sens_help, stdout);
            return VK_EXIT_OK;
        } else
            return vk_cli_usage("sensitivity", "unknown option");
    }
    if (optind < argc) {
        char *end;
        want = strtoll(argv[optind], &end, 10);
        if (*end || want < 1 || optind + 1 < argc)
            return vk_cli_usage("sensitivity", "RUN '%s': expected one run id", argv[optind]);
    }
    if ((rcode = vk_cli_open_db("sensitivity", path, VK_CLI_DB_READONLY, &db)))
        return rcode;
    rcode = VK_EXIT_FAIL;
    memset(&full, 0, sizeof full);
    if (vk_store_run_list(db, &runs, &n_runs, &err) != VK_OK)
        goto out;
    for (int i = n_runs - 1; i >= 0 && !want; i--) {
        if (vk_store_run_get(db, runs[i], &r, &err) != VK_OK)
            goto out;
        if (!strcmp(r.strategy, "one-at-a-time"))
            want = runs[i];
    }
    if (!want) {
        fprintf(stderr, "vitskip sensitivity: %s holds no one-at-a-time run (make one with "
                        "vitskip sweep --one-at-a-time)\n",
                path);
        goto out;
    }
    if (vk_store_run_get(db, want, &r, &err) != VK_OK)
        goto out;
    if (strcmp(r.strategy, "one-at-a-time")) {
        fprintf(stderr, "vitskip sensitivity: run %lld is a %s run, not one-at-a-time\n",
                (long long)want, r.strategy);
        goto out;
    }
    if (vk_store_run_paths(db, want, &paths, &n_paths, &err) != VK_OK)
        goto out;
    if (!(v = calloc((size_t)(n_paths ? n_paths : 1), sizeof *v))) {
        vk_fail(&err, VK_E_NOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < n_paths; i++) {
        vk_path_rec rec;
        vk_genome g;
        int diff = -1, n_diff = 0;
        if (vk_store_path_get(db, paths[i], r.n_images, &rec, &err) != VK_OK)
            goto out;
        nl = vk_genome_text_layers(rec.genome);
        if (nl < 1 || vk_genome_parse(rec.genome, nl, &g, &err) != VK_OK) {
            vk_store_rec_free(&rec);
            goto out;
        }
        for (int l = 0; l < nl; l++)
            if (g.modes[l] != VK_MODE(VK_ATTN_FULL)) {
                diff = l;
                n_diff++;
            }
        if (n_diff == 0 && !have_full) {
            full = rec;
            have_full = 1;
            continue;
        }
        if (n_diff != 1) { /* a seed genome of the run: not one-at-a-time */
            vk_store_rec_free(&rec);
            continue;
        }
        int ch = 0;
        while (ch < n_ch && choices[ch] != g.modes[diff])
            ch++;
        if (ch == n_ch) {
            if (n_ch == MAX_CHOICES) {
                vk_store_rec_free(&rec);
                continue;
            }
            choices[n_ch++] = g.modes[diff];
        }
        v[nv++] = (variant){.enc = diff, .mode = g.modes[diff], .rec = rec};
    }
    qsort(choices, (size_t)n_ch, sizeof choices[0], by_column);
    if (!have_full) {
        fprintf(stderr, "vitskip sensitivity: run %lld has not measured the full path yet "
                        "(resume it)\n",
                (long long)want);
        goto out;
    }
    if (json) {
        cJSON *root = cJSON_CreateObject(), *arr;
        char *s;
        cJSON_AddNumberToObject(root, "run", (double)want);
        cJSON_AddStringToObject(root, "model", r.model);
        cJSON_AddStringToObject(root, "board", full.board);
        cJSON_AddNumberToObject(root, "n_images", r.n_images);
        cJSON_AddNumberToObject(root, "full_top1", full.top1);
        cJSON_AddNumberToObject(root, "full_latency_ms", full.m.latency_ms);
        cJSON_AddStringToObject(root, "latency_source", vk_source_str(full.m.latency_src));
        arr = cJSON_AddArrayToObject(root, "variants");
        for (int i = 0; i < nv; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "encoder", v[i].enc);
            cJSON_AddStringToObject(o, "genome", v[i].rec.genome);
            cJSON_AddNumberToObject(o, "top1", v[i].rec.top1);
            cJSON_AddNumberToObject(o, "latency_ms", v[i].rec.m.latency_ms);
            cJSON_AddNumberToObject(o, "energy_mj", v[i].rec.m.energy_mj);
            cJSON_AddItemToArray(arr, o);
        }
        s = cJSON_Print(root);
        if (s)
            printf("%s\n", s);
        free(s);
        cJSON_Delete(root);
        rcode = s ? VK_EXIT_OK : VK_EXIT_FAIL;
        goto out;
    }
    printf("run %lld: %s on %s, %d images; full path top-1 %.2f%%, %.4f ms [%s]\n",
           (long long)want, r.model, full.board, r.n_images, full.top1, full.m.latency_ms,
           vk_source_str(full.m.latency_src));
    printf("per encoder: change in top-1 (points) / in latency (%%) when that one encoder "
           "takes the choice\n");
    printf("%-4s", "enc");
    for (int ch = 0; ch < n_ch; ch++) {
        vk_genome g;
        char txt[VK_GENOME_TEXT_MAX];
        g.modes[0] = choices[ch];
        vk_genome_format(&g, 1, txt);
        printf(" %15s", txt);
    }
    printf("\n");
    double sum_a[MAX_CHOICES] = {0}, sum_l[MAX_CHOICES] = {0};
    int cnt[MAX_CHOICES] = {0};
    for (int l = 0; l < nl; l++) {
        printf("%-4d", l + 1);
        for (int ch = 0; ch < n_ch; ch++) {
            int k = 0;
            while (k < nv && (v[k].enc != l || v[k].mode != choices[ch]))
                k++;
            if (k == nv) {
                printf(" %15s", "-");
                continue;
            }
            double da = v[k].rec.top1 - full.top1;
            double dl = 100.0 * (v[k].rec.m.latency_ms / full.m.latency_ms - 1);
            sum_a[ch] += da;
            sum_l[ch] += dl;
            cnt[ch]++;
            printf(" %+6.2f /%+6.1f%%", da, dl);
        }
        printf("\n");
    }
    printf("%-4s", "mean");
    for (int ch = 0; ch < n_ch; ch++)
        if (cnt[ch])
            printf(" %+6.2f /%+6.1f%%", sum_a[ch] / cnt[ch], sum_l[ch] / cnt[ch]);
        else
            printf(" %15s", "-");
    printf("\n(%s; '-': not in the space or not valid there, e.g. R at encoder 1)\n",
           full.m.note);
    rcode = VK_EXIT_OK;
out:
    if (rcode != VK_EXIT_OK && err.msg[0])
        fprintf(stderr, "vitskip sensitivity: %s\n", err.msg);
    for (int i = 0; i < nv; i++)
        vk_store_rec_free(&v[i].rec);
    if (have_full)
        vk_store_rec_free(&full);
    free(v);
    free(runs);
    free(paths);
    vk_store_close(db);
    return rcode;
}
