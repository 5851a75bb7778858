/* vk_cli: the `vitskip` subcommands and the helpers they share.
 *
 * Each subcommand is `int vk_cmd_<name>(int argc, char **argv)` where argv[0]
 * is the subcommand's name; it returns the process exit code:
 *   0 success, 1 failure (a message on stderr), 2 usage error (one line plus
 *   a hint on stderr), 3 a board or network failure.
 * `--help` prints the subcommand's help on stdout and returns 0.
 * Progress goes to stderr (a bar on a terminal, plain lines otherwise). */
#ifndef VK_CLI_H
#define VK_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "boards/vk_measure.h"
#include "host/vk_calib.h"
#include "host/vk_clock.h"

#define VK_EXIT_OK 0
#define VK_EXIT_FAIL 1
#define VK_EXIT_USAGE 2
#define VK_EXIT_BOARD 3
#define VK_EXIT_INTERRUPTED 130 /* Ctrl-C (128 + SIGINT), the run marked */

int vk_cmd_eval(int argc, char **argv);
int vk_cmd_sensitivity(int argc, char **argv);
int vk_cmd_boards(int argc, char **argv);
int vk_cmd_model_figures(int argc, char **argv);
int vk_cmd_search(int argc, char **argv);
int vk_cmd_sweep(int argc, char **argv);
int vk_cmd_search_bench(int argc, char **argv);
int vk_cmd_show(int argc, char **argv);
int vk_cmd_replay(int argc, char **argv);
int vk_cmd_export(int argc, char **argv);
int vk_cmd_finetune_plan(int argc, char **argv);
int vk_cmd_agent(int argc, char **argv);
int vk_cmd_bench(int argc, char **argv);
int vk_cmd_report(int argc, char **argv);
int vk_cmd_runs(int argc, char **argv);
int vk_cmd_rm(int argc, char **argv);
int vk_cmd_quantize(int argc, char **argv);

/* Prints "vitskip <cmd>: <msg>" and "try 'vitskip <cmd> --help'" on stderr;
 * returns VK_EXIT_USAGE. */
int vk_cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The usage error of an option getopt_long answered '?' to (main sets
 * opterr = 0, so getopt prints nothing): "unknown option '--lmit'; did you
 * mean '--limit'?" or "option '--db' needs a value", and the hint; returns
 * VK_EXIT_USAGE. Call it right after getopt_long, with its argv and table. */
int vk_cli_bad_option(const char *cmd, const struct option *opts, char *const *argv);

/* The known word nearest to word (at most 1-3 edits, by its length, or an
 * unambiguous prefix of at least 3 letters); NULL if none is near. */
const char *vk_cli_suggest(const char *word, const char *const *known, int n_known);

/* Bounds of the integer options: counts of paths, images or generations,
 * and NSGA-II's population and offspring. */
#define VK_CLI_MAX_COUNT 10000000
#define VK_CLI_MAX_POPULATION 4096

/* Checks a board spec before anything is loaded: its syntax, the file of
 * sim:FILE.json; an unknown kind names the nearest one. Returns 0, or
 * prints a usage error for cmd and returns VK_EXIT_USAGE. */
int vk_cli_check_board(const char *cmd, const char *spec);

/* Checks a genome given as opt before the model is read: its grammar and
 * validity (the encoder count it names; the model's is checked once
 * read) and, with space non-NULL, that every gene is in the space.
 * Returns 0, or prints a usage error for cmd and returns VK_EXIT_USAGE. */
int vk_cli_check_genome(const char *cmd, const char *opt, const char *text, const char *space);

/* Parses opt's value s as a finite number >= lo into *out; returns 0, or
 * prints a usage error for cmd and returns VK_EXIT_USAGE (*out untouched). */
int vk_cli_parse_num(const char *cmd, const char *opt, const char *s, double lo, double *out);
/* The same for a decimal integer in [lo, hi] (no exponent, no fraction:
 * "1e10", "inf" and out-of-range values are usage errors). */
int vk_cli_parse_int(const char *cmd, const char *opt, const char *s, long long lo, long long hi,
                     long long *out);

/* Progress on stderr: a redrawn bar on a terminal, else a line per 10%.
 * Thread-safe; label is borrowed for the bar's lifetime. */
typedef struct {
    const char *label;
    int total;
    int last_pct;
    int tty;
    double t0;
} vk_progress;

void vk_progress_begin(vk_progress *p, const char *label, int total);
void vk_progress_update(vk_progress *p, int done);
void vk_progress_end(vk_progress *p);
/* A board's progress callback (vk_path_req.progress) over a vk_progress
 * passed as ctx. */
void vk_progress_board(void *ctx, int done, int total);

/* Calibration progress on stderr, one line: "calibration: 96/512 images,
 * 11.2 images/s, eta 37s", redrawn on a terminal, else (when forced, e.g.
 * by --progress) printed at every 10%. Nothing when stderr is not a
 * terminal and force is 0, so scripted output stays stable; nothing when
 * the blob comes from the cache (no image is calibrated). Installs itself
 * on o; p is borrowed for as long as o is used. Thread-safe. */
typedef struct {
    int tty;      /* redraw in place */
    int last_pct; /* the last percent printed */
    double t0;    /* when calibration started (its first callback) */
} vk_calib_bar;

void vk_cli_calib_progress(vk_calib_opts *o, vk_calib_bar *p, int force);

/* The "energy" line of eval's and a cascade's text output: energy per image
 * with its source and the EDP, or that the board gives none (src
 * VK_SRC_NONE). */
void vk_cli_print_energy(double latency_ms, double energy_mj, vk_source src);

#endif
