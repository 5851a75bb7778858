/* vk_cmd_runs: `vitskip runs`, one line per stored run, and `vitskip rm`,
 * which removes runs (vk_store_run_remove). */
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host/cli/vk_cli.h"
#include "host/cli/vk_cli_search.h"

static const char runs_help[] =
    "usage: vitskip runs --db FILE\n"
    "\n"
    "One line per run: id, status (running, done, interrupted, failed), when it was\n"
    "created, paths evaluated of its budget, objective, boards and model. The\n"
    "database is opened read-only and must exist.\n";

static const char rm_help[] =
    "usage: vitskip rm --db FILE RUN... [--measurements]\n"
    "\n"
    "Removes runs with their cascades, replays of those cascades, hypervolume\n"
    "history and attempts, each in one transaction. The paths they measured\n"
    "stay, so that later searches find them instead of measuring again.\n"
    "\n"
    "  --measurements   also remove the measured paths no other run evaluated\n"
    "                   and no cascade uses (with their replays)\n";

int vk_cmd_runs(int argc, char **argv)
{
    static const struct option opts[] = {{"db", 1, 0, 'D'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *path = NULL;
    int c, n_runs = 0, rcode;
    int64_t *runs = NULL;
    vk_store *db = NULL;
    vk_err err = {{0}};
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'D')
            path = optarg;
        else if (c == 'h') {
            fputs(runs_help, stdout);
            return VK_EXIT_OK;
        } else
            return vk_cli_bad_option("runs", opts, argv);
    }
    if (optind < argc)
        return vk_cli_usage("runs", "unexpected argument '%s'", argv[optind]);
    if ((rcode = vk_cli_open_db("runs", path, VK_CLI_DB_READONLY, &db)))
        return rcode;
    rcode = VK_EXIT_FAIL;
    if (vk_store_run_list(db, &runs, &n_runs, &err) != VK_OK)
        goto out;
    if (!n_runs)
        printf("%s: no runs\n", path);
    else
        printf("%-5s %-11s %-19s %9s %-9s %-24s %s\n", "run", "status", "created", "paths",
               "objective", "boards", "model");
    for (int i = 0; i < n_runs; i++) {
        vk_run_info r;
        int64_t *paths = NULL;
        int n_paths = 0;
        char done[32];
        if (vk_store_run_get(db, runs[i], &r, &err) != VK_OK ||
            vk_store_run_paths(db, runs[i], &paths, &n_paths, &err) != VK_OK)
            goto out;
        free(paths);
        if (r.budget > 0)
            snprintf(done, sizeof done, "%d/%d", n_paths, r.budget);
        else
            snprintf(done, sizeof done, "%d", n_paths);
        printf("%-5lld %-11s %-19.19s %9s %-9s %-24s %s\n", (long long)r.id, r.status, r.created,
               done, r.objective, r.boards, r.model);
    }
    rcode = VK_EXIT_OK;
out:
    if (rcode != VK_EXIT_OK)
        fprintf(stderr, "vitskip runs: %s\n", err.msg);
    free(runs);
    vk_store_close(db);
    return rcode;
}

int vk_cmd_rm(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", 1, 0, 'D'}, {"measurements", 0, 0, 'M'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    const char *path = NULL;
    int c, measurements = 0, rcode;
    vk_store *db = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'D': path = optarg; break;
        case 'M': measurements = 1; break;
        case 'h': fputs(rm_help, stdout); return VK_EXIT_OK;
        default: return vk_cli_bad_option("rm", opts, argv);
        }
    }
    if (optind == argc)
        return vk_cli_usage("rm", "which run? (vitskip runs --db FILE lists them)");
    for (int i = optind; i < argc; i++) { /* every id checked before anything is removed */
        long long v;
        if (vk_cli_parse_int("rm", "RUN", argv[i], 1, INT64_MAX, &v))
            return VK_EXIT_USAGE;
    }
    if ((rcode = vk_cli_open_db("rm", path, VK_CLI_DB_EXISTING, &db)))
        return rcode;
    for (int i = optind; i < argc; i++) {
        vk_err err = {{0}};
        int n_paths = 0;
        long long id = strtoll(argv[i], NULL, 10);
        if (vk_store_run_remove(db, id, measurements, &n_paths, &err) != VK_OK) {
            fprintf(stderr, "vitskip rm: run %lld: %s\n", id, err.msg);
            rcode = VK_EXIT_FAIL;
            continue;
        }
        if (measurements)
            printf("removed run %lld and %d measured path(s) only it used\n", id, n_paths);
        else
            printf("removed run %lld (its measured paths kept for later searches)\n", id);
    }
    vk_store_close(db);
    return rcode;
}
