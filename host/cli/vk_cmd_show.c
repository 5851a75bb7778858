/* vk_cmd_show: `vitskip show`, a run's paths and cascades, as a table or
 * JSON; its paths as CSV. */
#include <cJSON.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host/cli/vk_cli.h"
#include "host/cli/vk_cli_search.h"

static const char show_help[] =
    "usage: vitskip show --db FILE [RUN] [--json | --csv]\n"
    "\n"
    "Runs, and the paths and cascades of a run (default: the newest). The\n"
    "database is opened read-only and must exist.\n"
    "\n"
    "  --json   the run, its paths and cascades as one JSON object (a missing\n"
    "           figure is null; no runs: \"run\": null)\n"
    "  --csv    the run's paths as CSV, a header row first (no field is quoted:\n"
    "           none holds a comma):\n"
    "           run,config,genome,top1_val,top1_test,latency_ms,latency_source,\n"
    "           energy_mj,energy_source,finetuned_from\n"
    "           top1 in percent; top1_test is empty off the front (only the\n"
    "           front and the full path are measured on the test split);\n"
    "           energy_mj is empty when the board gave none (source none);\n"
    "           sources are modeled, measured or none; finetuned_from is the\n"
    "           path a fine-tuned one came from (finetune-plan), else empty.\n"
    "           No runs: the header alone.\n";

static const char csv_header[] = "run,config,genome,top1_val,top1_test,latency_ms,"
                                 "latency_source,energy_mj,energy_source,finetuned_from\n";

int vk_cmd_show(int argc, char **argv)
{
    static const struct option opts[] = {{"db", 1, 0, 'D'},   {"json", 0, 0, 'j'},
                                         {"csv", 0, 0, 'c'},  {"help", 0, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *path = NULL;
    int c, json = 0, csv = 0, rcode;
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
        else if (c == 'c')
            csv = 1;
        else if (c == 'h') {
            fputs(show_help, stdout);
            return VK_EXIT_OK;
        } else
            return vk_cli_bad_option("show", opts, argv);
    }
    if (json && csv)
        return vk_cli_usage("show", "--json and --csv both name the output; give one");
    if (optind < argc) {
        long long v;
        if (vk_cli_parse_int("show", "RUN", argv[optind], 1, INT64_MAX, &v))
            return VK_EXIT_USAGE;
        want = (int64_t)v;
        if (optind + 1 < argc)
            return vk_cli_usage("show", "unexpected argument '%s' (one RUN at a time)",
                                argv[optind + 1]);
    }
    if ((rcode = vk_cli_open_db("show", path, VK_CLI_DB_READONLY, &db)))
        return rcode;
    rcode = VK_EXIT_FAIL;
    if (vk_store_run_list(db, &runs, &n_runs, &err) != VK_OK)
        goto out;
    if (!n_runs) {
        if (json)
            printf("{\"run\": null, \"paths\": [], \"cascades\": []}\n");
        else if (csv)
            fputs(csv_header, stdout);
        else
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
    /* splits: the paths' top1 is on the validation images (n_images), the
       front's top1_test on the test images; a run without test_hash
       selected and reported on the same images */
    cJSON_AddStringToObject(jr, "val", r.val[0] ? r.val : "(default)");
    cJSON_AddNumberToObject(jr, "n_val", r.n_images);
    cJSON_AddStringToObject(jr, "top1_on", r.test_hash[0] ? "validation" : "evaluation images");
    if (r.test_hash[0]) {
        cJSON_AddStringToObject(jr, "test_hash", r.test_hash);
        cJSON_AddNumberToObject(jr, "n_test", r.n_test);
    } else {
        cJSON_AddNullToObject(jr, "test_hash");
    }
    cJSON_AddStringToObject(jr, "boards", r.boards);
    cJSON_AddStringToObject(jr, "objective", r.objective);
    cJSON_AddStringToObject(jr, "strategy", r.strategy);
    cJSON_AddStringToObject(jr, "space", r.space);
    cJSON_AddNumberToObject(jr, "population", r.population);
    cJSON_AddNumberToObject(jr, "offspring", r.offspring);
    if (r.proxy_n > 0) /* predict: its accuracy proxy's validation images */
        cJSON_AddNumberToObject(jr, "proxy_images", r.proxy_n);
    else
        cJSON_AddNullToObject(jr, "proxy_images");
    cJSON_AddNumberToObject(jr, "seed", (double)r.seed);
    cJSON *arr = cJSON_AddArrayToObject(root, "paths");
    if (csv)
        fputs(csv_header, stdout);
    else if (!json) {
        printf("runs:");
        for (int i = 0; i < n_runs; i++)
            printf(" %lld", (long long)runs[i]);
        char proxy[64] = "";
        if (r.proxy_n > 0)
            snprintf(proxy, sizeof proxy, ", accuracy proxy on %d validation images",
                     r.proxy_n);
        printf("\nrun %lld (%s, %s): model %s, data %s, boards %s, objective %s, "
               "%s (population %d, %d offspring per generation%s) over space %s, seed %llu\n",
               (long long)r.id,
               r.created, r.status, r.model, r.data, r.boards, r.objective,
               r.strategy, r.population, r.offspring, proxy, r.space,
               (unsigned long long)r.seed);
        if (r.test_hash[0])
            printf("selected on %d validation images (%s), the front reported on %d test images "
                   "never selected on (test top-1 \"-\": not on the front)\n",
                   r.n_images, r.val[0] ? r.val : "the default validation split", r.n_test);
        else
            printf("selected and reported on the same %d images (a run stored before "
                   "validation and test splits)\n", r.n_images);
        printf("%-6s %8s %9s %12s %-9s %11s %-9s %s\n", "config", "val top1", "test top1",
               "latency ms", "source", "energy mJ", "source", "genome");
    }
    for (int i = 0; i < n_paths; i++) {
        vk_path_rec p;
        double test = -1;
        int found = 0;
        if (vk_store_path_get(db, paths[i], r.n_images, &p, &err) != VK_OK)
            goto out_json;
        vk_finetune_rec ft;
        int tuned = 0;
        if (vk_store_finetune_get(db, p.id, &ft, &tuned, &err) != VK_OK ||
            (r.test_hash[0] &&
             vk_store_path_test_get(db, p.id, r.test_hash, &test, &found, &err) != VK_OK)) {
            vk_store_rec_free(&p);
            goto out_json;
        }
        if (csv) { /* no field holds a comma, a quote or a line break */
            char tt[24] = "", en[32] = "", from[24] = "";
            if (found)
                snprintf(tt, sizeof tt, "%.4f", test);
            if (p.m.energy_src != VK_SRC_NONE) /* unknown: empty, not 0 */
                snprintf(en, sizeof en, "%.6f", p.m.energy_mj);
            if (tuned)
                snprintf(from, sizeof from, "P%lld", (long long)ft.parent_id);
            printf("%lld,P%lld,%s,%.4f,%s,%.6f,%s,%s,%s,%s\n", (long long)r.id,
                   (long long)p.id, p.genome, p.top1, tt, p.m.latency_ms,
                   vk_source_str(p.m.latency_src), en, vk_source_str(p.m.energy_src), from);
        } else if (json) {
            cJSON *o = cJSON_CreateObject();
            char id[24];
            snprintf(id, sizeof id, "P%lld", (long long)p.id);
            cJSON_AddStringToObject(o, "config", id);
            cJSON_AddStringToObject(o, "genome", p.genome);
            if (tuned) {
                snprintf(id, sizeof id, "P%lld", (long long)ft.parent_id);
                cJSON_AddStringToObject(o, "finetuned_from", id);
                cJSON_AddStringToObject(o, "checkpoint", ft.model);
            }
            cJSON_AddNumberToObject(o, "top1", p.top1);
            if (found)
                cJSON_AddNumberToObject(o, "top1_test", test);
            else
                cJSON_AddNullToObject(o, "top1_test");
            cJSON_AddNumberToObject(o, "latency_ms", p.m.latency_ms);
            cJSON_AddStringToObject(o, "latency_source", vk_source_str(p.m.latency_src));
            if (p.m.energy_src == VK_SRC_NONE) /* unknown, not 0 */
                cJSON_AddNullToObject(o, "energy_mj");
            else
                cJSON_AddNumberToObject(o, "energy_mj", p.m.energy_mj);
            cJSON_AddStringToObject(o, "energy_source", vk_source_str(p.m.energy_src));
            cJSON_AddItemToArray(arr, o);
        } else {
            char tt[16] = "-", en[32] = "-"; /* the board gave no energy: "-", not 0 */
            if (found)
                snprintf(tt, sizeof tt, "%.2f%%", test);
            if (p.m.energy_src != VK_SRC_NONE)
                snprintf(en, sizeof en, "%.4f", p.m.energy_mj);
            printf("P%-5lld %7.2f%% %9s %12.4f %-9s %11s %-9s %s", (long long)p.id, p.top1,
                   tt, p.m.latency_ms, vk_source_str(p.m.latency_src), en,
                   vk_source_str(p.m.energy_src), p.genome);
            if (tuned)
                printf("  (fine-tuned from P%lld: %s)", (long long)ft.parent_id, ft.model);
            printf("\n");
        }
        vk_store_rec_free(&p);
    }
    {
        vk_cascade_rec *cs = NULL;
        int nc = 0;
        if (csv) /* the paths only */
            goto done;
        if (vk_store_cascade_list(db, want, &cs, &nc, &err) != VK_OK)
            goto out_json;
        cJSON *ca = cJSON_AddArrayToObject(root, "cascades");
        if (!json && nc)
            printf("cascades (Pareto set, chosen on validation):\n%-6s %-6s %-6s %9s %8s %9s "
                   "%8s %11s %12s\n", "config", "low", "high", "threshold", "val top1",
                   "test top1", "test esc", "latency ms", "PIVOT-style");
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
                cJSON_AddNumberToObject(o, "escalated", cs[i].escalated);
                if (cs[i].has_test) {
                    cJSON_AddNumberToObject(o, "top1_test", cs[i].top1_test);
                    cJSON_AddNumberToObject(o, "escalated_test", cs[i].escalated_test);
                } else {
                    cJSON_AddNullToObject(o, "top1_test");
                    cJSON_AddNullToObject(o, "escalated_test");
                }
                cJSON_AddNumberToObject(o, "latency_ms", cs[i].latency_ms);
                cJSON_AddNumberToObject(o, "latency_scratch_ms", cs[i].latency_scratch_ms);
                cJSON_AddItemToArray(ca, o);
            } else {
                char tt[16] = "-", te[16] = "-";
                if (cs[i].has_test) {
                    snprintf(tt, sizeof tt, "%.2f%%", cs[i].top1_test);
                    snprintf(te, sizeof te, "%.1f%%", 100 * cs[i].escalated_test);
                }
                printf("C%-5lld P%-5lld P%-5lld %9.4f %7.2f%% %9s %8s %11.4f %12.4f\n",
                       (long long)cs[i].id, (long long)cs[i].low, (long long)cs[i].high,
                       cs[i].threshold_q16 / 65536.0, cs[i].top1, tt, te, cs[i].latency_ms,
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
done:
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

