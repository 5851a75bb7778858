/* vk_cli_levels: the cascades of eval and replay whose levels have their own
 * weights (search/vk_levels.h): reading the levels (repeated
 * `--level MODEL=GENOME`, or a levels file), choosing the thresholds on the
 * validation split, running the cascade on the board over the test split
 * and printing (and, for replay, storing) what it gave. CLI-internal.
 *
 * A levels file (JSON, strict: unknown keys are errors):
 *     {"format": "vitskip-cascade", "version": 1,
 *      "levels": [{"model": "tuned/low", "genome": "FSFSFSFS"},
 *                 {"model": "../models/demo", "genome": "FFFFFFFF"}],
 *      "thresholds_nats": [0.8]}            (optional; else chosen on validation)
 * A relative model path is relative to the file's folder.
 *
 *     vk_cli_cascade c = {.cmd = "eval", .board = "sim", .max_drop = 0.5};
 *     if ((rc = vk_cli_cascade_add_level(&c, "models/demo=FSFSFSFS"))) return rc;
 *     ... set c.data, c.limit, ...
 *     return vk_cli_cascade_run(&c, NULL, NULL);
 *
 * Not thread-safe (one command at a time). */
#ifndef VK_CLI_LEVELS_H
#define VK_CLI_LEVELS_H

#include "db/vk_store.h"
#include "search/vk_levels.h"

typedef struct {
    char model[1024]; /* checkpoint folder */
    char genome[VK_GENOME_TEXT_MAX];
    char expect_hash[65]; /* non-empty: the blob's SHA-256 must be this (a
                             stored path replayed on its checkpoint) */
} vk_cli_level;

typedef struct {
    const char *cmd;       /* "eval" or "replay": names the messages */
    vk_cli_level lv[VK_LEVELS_MAX];
    int n_levels;
    const char *data;      /* evaluation data (the test split comes from it) */
    const char *test;      /* optional test source (default: data) */
    const char *calib;     /* optional calibration source */
    const char *val;       /* optional validation source */
    int limit;             /* test images (0: the whole test split) */
    int n_val;             /* validation images (0: the split's default) */
    const char *board;
    int n_thr;             /* thresholds given (n_levels - 1), else 0 */
    double thr_nats[VK_LEVELS_MAX - 1];
    double max_drop;       /* validation top-1 within this of the last level alone */
    vk_objective objective;
} vk_cli_cascade;

/* A whole text file of at most max bytes, NUL-terminated (caller frees);
 * NULL with why filled ("cannot open it", ...) otherwise. */
char *vk_cli_read_text(const char *path, size_t max, char *why, size_t why_n);

/* Adds "MODEL=GENOME" (split at the last '='; a genome has no '='). 0, or
 * a usage error printed and its exit code. */
int vk_cli_cascade_add_level(vk_cli_cascade *c, const char *arg);
/* Reads a levels file into c (levels and thresholds). 0, or an error
 * naming the file and field printed and its exit code. */
int vk_cli_cascade_read_file(vk_cli_cascade *c, const char *path);
/* Parses "T1[,T2]" (nats, >= 0) into c's thresholds. */
int vk_cli_cascade_parse_thresholds(vk_cli_cascade *c, const char *arg);

/* Loads every level (its checkpoint, calibrated; the test images; the
 * validation images when thresholds must be chosen), chooses the
 * thresholds on validation unless given, runs the cascade on the board,
 * prints the result. With db, stores the replay under `config`. Returns the
 * exit code. */
int vk_cli_cascade_run(const vk_cli_cascade *c, vk_store *db, const char *config);

#endif
