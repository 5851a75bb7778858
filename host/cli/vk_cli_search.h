/* vk_cli_search: what the search subcommands share (search, sweep, show,
 * export, replay, search-bench): opening the database, resolving a stored
 * configuration, reporting a failed measurement. CLI-internal; stateless. */
#ifndef VK_CLI_SEARCH_H
#define VK_CLI_SEARCH_H

#include "db/vk_store.h"
#include "search/vk_export.h"

/* Opens the database at path for cmd; returns 0, else prints why and
 * returns the exit code (usage error when path is NULL). */
int vk_cli_open_db(const char *cmd, const char *path, vk_store **db);

/* Resolves "P12" / "C3" into a skip table with provenance; returns 0, else
 * an exit code with err filled. */
int vk_cli_load_config(vk_store *db, const char *id, vk_skip_table *t, vk_err *err);

/* vk_search_events.attempt_failed: one line on stderr. */
void vk_cli_search_failed(void *ctx, const char *genome, const char *board, int attempt,
                          const char *msg);

#endif
