/* vk_cli_search: what the search subcommands share (search, sweep, show,
 * export, replay, search-bench): opening the database, resolving a stored
 * configuration, reporting a failed measurement. CLI-internal; stateless. */
#ifndef VK_CLI_SEARCH_H
#define VK_CLI_SEARCH_H

#include "db/vk_store.h"
#include "search/vk_export.h"

/* How a subcommand opens its database: search and sweep create it;
 * replay, search-bench and rm write to one that must exist; show, export,
 * report and runs only read it. A mistyped --db never creates a file. */
typedef enum { VK_CLI_DB_CREATE, VK_CLI_DB_EXISTING, VK_CLI_DB_READONLY } vk_cli_db_mode;

/* Opens the database at path for cmd; returns 0, else prints why and
 * returns the exit code (usage error when path is NULL). */
int vk_cli_open_db(const char *cmd, const char *path, vk_cli_db_mode mode, vk_store **db);

/* Resolves "P12" / "C3" into a skip table with provenance; returns 0, else
 * an exit code with err filled. */
int vk_cli_load_config(vk_store *db, const char *id, vk_skip_table *t, vk_err *err);

/* Fills t->ckpt_hash (a table vk_cli_load_config resolved from id) with the
 * SHA-256 of the checkpoint's weights file: its run's model, or the tuned
 * weights of a fine-tuned path, read now, and only when it calibrates (on
 * the run's calibration images; from the calibration cache, else again) to
 * the very blob the table was measured with. Otherwise t->ckpt_hash stays
 * "" and one warning line names why on stderr, for cmd. */
void vk_cli_config_checkpoint(const char *cmd, vk_store *db, const char *id, vk_skip_table *t);

/* vk_search_events.attempt_failed: one line on stderr. */
void vk_cli_search_failed(void *ctx, const char *genome, const char *board, int attempt,
                          const char *msg);

#endif
