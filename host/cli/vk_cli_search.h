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

/* vk_search_events.attempt_failed: one line on stderr. */
void vk_cli_search_failed(void *ctx, const char *genome, const char *board, int attempt,
                          const char *msg);

#endif
