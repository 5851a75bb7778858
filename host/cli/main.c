/* vitskip: command-line entry point; dispatches to the vk_cmd_* functions.
 * Exit codes: 0 ok, 1 failure, 2 usage error, 3 board or network failure,
 * 130 interrupted (Ctrl-C). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "boards/vk_agent.h"
#include "db/vk_store.h"
#include "host/cli/vk_cli.h"

/* The release; the database schema and the agent protocol are versioned on
 * their own (VK_STORE_SCHEMA, VK_AGENT_PROTOCOL). */
#define VK_VERSION "0.1.0"

static int vk_cmd_version(int argc, char **argv);

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} vk_command;

static const vk_command commands[] = {
    {"search", vk_cmd_search, "co-search paths and cascades on one or more boards"},
    {"sweep", vk_cmd_sweep, "measure every path of the space (the true front)"},
    {"search-bench", vk_cmd_search_bench, "the search strategies against a sweep's true front"},
    {"show", vk_cmd_show, "runs, Pareto fronts of paths and cascades"},
    {"runs", vk_cmd_runs, "the stored runs, one line each (status, paths, boards)"},
    {"rm", vk_cmd_rm, "remove runs (their measurements kept for later searches)"},
    {"replay", vk_cmd_replay, "re-measure a stored path or cascade end to end on a board"},
    {"report", vk_cmd_report, "an HTML report of runs: fronts, hypervolume, choices, stages"},
    {"export", vk_cmd_export, "a path's or cascade's skip table as a C header or JSON"},
    {"finetune-plan", vk_cmd_finetune_plan, "tune a run's front paths, measure and store them"},
    {"sensitivity", vk_cmd_sensitivity, "what each choice costs and saves, one encoder at a time"},
    {"quantize", vk_cmd_quantize, "calibrate a checkpoint and write its int8 blob (.vkq)"},
    {"eval", vk_cmd_eval, "top-1, entropy and timing of one path on a board"},
    {"boards", vk_cmd_boards, "boards this machine offers, and why others are not"},
    {"model-figures", vk_cmd_model_figures, "the ZCU102 model's figures for DeiT-S and the demo"},
    {"agent", vk_cmd_agent, "serve this machine's board over HTTP to remote searches"},
    {"bench", vk_cmd_bench, "time the native int8 path (demo, DeiT-S shape) on this CPU"},
    {"version", vk_cmd_version, "the release, database schema and agent protocol (--version)"},
};

/* `vitskip version` and `vitskip --version`: one line on stdout. */
static int vk_cmd_version(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: vitskip version   (or vitskip --version)\n\n"
               "Prints the release, the database schema it writes, the agent protocol it\n"
               "speaks and the SQLite library in use, on one line.\n");
        return VK_EXIT_OK;
    }
    if (argc > 1)
        return vk_cli_usage("version", "unexpected argument '%s'", argv[1]);
    printf("vitskip %s (database schema %d, agent protocol %d, SQLite %s)\n", VK_VERSION,
           VK_STORE_SCHEMA, VK_AGENT_PROTOCOL, sqlite3_libversion());
    return VK_EXIT_OK;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: vitskip <command> [options]\n\n"
               "Hardware-in-the-loop search for where a Vision Transformer can skip\n"
               "attention, measured on a ZCU102 (or its model, or the host CPU).\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n'vitskip <command> --help' describes a command.\n"
               "exit codes: 0 ok, 1 failure, 2 usage error, 3 board or network failure,\n"
               "130 interrupted (a search's run is marked and resumable)\n");
}

/* What was printed must have reached stdout (not so on a full disk or
 * /dev/full): a command that could not say its result failed. */
static int finish(int code)
{
    int e = fflush(stdout) != 0 ? errno : 0;
    if (e || ferror(stdout)) {
        fprintf(stderr, "vitskip: cannot write to standard output%s%s\n", e ? ": " : "",
                e ? strerror(e) : "");
        return code ? code : 1;
    }
    return code;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return finish(0);
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))
        return finish(vk_cmd_version(argc - 1, argv + 1));
    opterr = 0; /* each command reports a bad option itself (vk_cli_bad_option) */
    const char *names[sizeof commands / sizeof commands[0]], *best;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (!strcmp(argv[1], commands[i].name))
            return finish(commands[i].fn(argc - 1, argv + 1));
        names[i] = commands[i].name;
    }
    best = vk_cli_suggest(argv[1], names, (int)(sizeof names / sizeof names[0]));
    fprintf(stderr, "vitskip: unknown command '%s'%s%s%s\ntry 'vitskip --help'\n", argv[1],
            best ? "; did you mean '" : "", best ? best : "", best ? "'?" : "");
    return finish(VK_EXIT_USAGE);
}
