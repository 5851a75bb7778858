/* vk_cmd_report: `vitskip report`, the HTML report of runs (vk_report.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "host/cli/vk_cli.h"
#include "host/cli/vk_cli_search.h"
#include "host/cli/vk_report.h"

static const char report_help[] =
    "usage: vitskip report --db FILE [RUN...] [-o report.html] [--config P12]\n"
    "\n"
    "One self-contained HTML file (inline SVG, no script, nothing fetched) about\n"
    "the runs given (default: the newest), side by side: the Pareto front per\n"
    "objective (feasible, infeasible, front, full model, cascades, replays;\n"
    "measured figures filled, modeled hollow), the hypervolume after each\n"
    "evaluation, the accuracy the search selected on, the front's choices per\n"
    "encoder, where one configuration's latency goes (--config, default the\n"
    "cheapest feasible front path) and the export command of every front point.\n"
    "\n"
    "  --db FILE      the database (opened read-only; must exist)\n"
    "  -o FILE        the report (default report.html)\n"
    "  --config P12   the path whose latency is broken down per stage\n";

int vk_cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {{"db", 1, 0, 'D'},     {"output", 1, 0, 'o'},
                                         {"config", 1, 0, 'c'}, {"help", 0, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *path = NULL, *outp = "report.html", *config = NULL;
    int64_t *runs = NULL, *all = NULL;
    int c, n_runs = 0, n_all = 0, rcode = VK_EXIT_FAIL;
    vk_store *db = NULL;
    vk_err err = {{0}};
    FILE *out = NULL;
    char tmp[4096];
    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'D': path = optarg; break;
        case 'o': outp = optarg; break;
        case 'c': config = optarg; break;
        case 'h': fputs(report_help, stdout); return VK_EXIT_OK;
        default: return vk_cli_bad_option("report", opts, argv);
        }
    }
    if (config && (config[0] != 'P' || strspn(config + 1, "0123456789") != strlen(config + 1) ||
                   !config[1]))
        return vk_cli_usage("report", "--config '%s': expected a path id such as P12", config);
    if (!(runs = calloc((size_t)(argc - optind) + 1, sizeof *runs)))
        return VK_EXIT_FAIL;
    for (int i = optind; i < argc; i++) {
        char *end;
        long long v = strtoll(argv[i], &end, 10);
        if (*end || v < 1 || end == argv[i]) {
            free(runs);
            return vk_cli_usage("report", "RUN '%s': expected a run id", argv[i]);
        }
        runs[n_runs++] = v;
    }
    if ((rcode = vk_cli_open_db("report", path, VK_CLI_DB_READONLY, &db)) != 0) {
        free(runs);
        return rcode;
    }
    rcode = VK_EXIT_FAIL;
    if (vk_store_run_list(db, &all, &n_all, &err) != VK_OK)
        goto out;
    if (!n_all) {
        fprintf(stderr, "vitskip report: %s has no runs\n", path);
        goto out;
    }
    for (int i = 0; i < n_runs; i++) {
        int found = 0;
        for (int j = 0; j < n_all && !found; j++)
            found = all[j] == runs[i];
        if (!found) {
            fprintf(stderr, "vitskip report: %s has no run %lld (runs: %lld..%lld)\n", path,
                    (long long)runs[i], (long long)all[0], (long long)all[n_all - 1]);
            goto out;
        }
    }
    if (!n_runs)
        runs[n_runs++] = all[n_all - 1];
    /* written next to the target, renamed over it when whole */
    if (snprintf(tmp, sizeof tmp, "%s.tmp", outp) >= (int)sizeof tmp) {
        fprintf(stderr, "vitskip report: -o %s: path too long\n", outp);
        goto out;
    }
    if (!(out = fopen(tmp, "w"))) {
        perror(tmp);
        goto out;
    }
    vk_report_opts o = {.db_name = path, .runs = runs, .n_runs = n_runs, .config = config};
    if (vk_report_write(db, &o, out, &err) != VK_OK) {
        fclose(out);
        remove(tmp);
        goto out;
    }
    if (fclose(out) != 0 || rename(tmp, outp) != 0) {
        perror(outp);
        remove(tmp);
        goto out;
    }
    struct stat sb;
    printf("wrote %s (%lld KiB): run%s", outp, stat(outp, &sb) == 0 ? (long long)sb.st_size / 1024 : 0,
           n_runs > 1 ? "s" : "");
    for (int i = 0; i < n_runs; i++)
        printf(" %lld", (long long)runs[i]);
    printf(" of %s\n", path);
    rcode = VK_EXIT_OK;
out:
    if (err.msg[0])
        fprintf(stderr, "vitskip report: %s\n", err.msg);
    free(runs);
    free(all);
    vk_store_close(db);
    return rcode;
}
