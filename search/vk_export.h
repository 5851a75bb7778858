/* vk_export: skip tables for deployment, and reading them back.
 *
 * A table is a path (one mode word per encoder) or a cascade (low and high
 * paths, the entropy threshold in the kernel's Q16-nats fixed point, and the
 * number of shared encoders the high path resumes after). Two forms:
 *   - a C header for firmware: `vk_skip_modes[]` (and `vk_skip_modes_high[]`,
 *     VK_SKIP_THRESHOLD_Q16, VK_SKIP_RESUME for a cascade) and the model's
 *     SHA-256, to pass to vk_kernel_top's cfg words;
 *   - JSON for tools: {"format": "vitskip-skip-table", "version": 1, ...}.
 * Both parse back strictly (vk_export_parse), so export -> parse round-trips.
 *
 *     vk_skip_table t = {.n_layers = 8, .model_hash = "...", .kind_cascade = 0};
 *     vk_genome_parse("FSFSFSFS", 8, &t.low, &err);
 *     char *h = vk_export_header(&t);   // caller frees
 */
#ifndef VK_EXPORT_H
#define VK_EXPORT_H

#include "vk_evo.h"

typedef struct {
    int n_layers;
    char model_hash[65];
    int kind_cascade;      /* 0: a path (low only); 1: a cascade */
    vk_genome low, high;
    int32_t threshold_q16; /* cascade: escalate when entropy > threshold */
    int32_t resume;        /* cascade: shared encoders */
    char comment[512];     /* provenance and figures, written into both forms */
} vk_skip_table;

/* Caller frees the returned text; NULL on allocation failure or a table
 * that cannot be written (n_layers outside 1..VK_MAX_LAYERS, model_hash
 * not hex). The comment is written as printable text only (control
 * characters and a comment's end become spaces), so nothing from a stored
 * note or board name becomes C source. */
char *vk_export_header(const vk_skip_table *t);
char *vk_export_json(const vk_skip_table *t);
/* Parses either form (JSON if it starts with '{', else the header);
 * what names the input in errors. *t untouched on error. */
vk_status vk_export_parse(const char *text, const char *what, vk_skip_table *t, vk_err *err);

#endif
