/* vk_export: skip tables for deployment, and reading them back.
 *
 * A table is a path (one mode word per encoder) or a cascade (low and high
 * paths, the entropy threshold in the kernel's Q16-nats fixed point, and the
 * number of shared encoders the high path resumes after), with the figures
 * it was chosen on (top-1, latency, energy and where each came from). Two
 * forms:
 *   - a C header for firmware, every identifier prefixed by the table's
 *     name (default vk_skip): arrays NAME_modes[] (and NAME_modes_high[] for
 *     a cascade), macros NAME_MODEL_SHA256, NAME_N_LAYERS, NAME_CASCADE,
 *     NAME_THRESHOLD_Q16, NAME_RESUME, NAME_TOP1, NAME_LATENCY_MS,
 *     NAME_ENERGY_MJ (absent when the board gave no energy),
 *     NAME_CHECKPOINT_SHA256 (absent when not known); include guard
 *     NAME_TABLE_H, so tables of different names share a translation unit;
 *     the arrays are marked unused (VITSKIP_UNUSED), so a unit that reads
 *     only some of them compiles under -Wall -Wextra -Werror;
 *   - JSON for tools: {"format": "vitskip-skip-table", "version": 1, ...},
 *     its schema in search/vk_export.schema.json.
 * Both parse back strictly (vk_export_parse), so export -> parse round-trips.
 *
 *     vk_skip_table t = {.n_layers = 8, .model_hash = "...", .kind_cascade = 0,
 *                        .top1 = NAN, .latency_ms = NAN, .energy_mj = NAN};
 *     vk_genome_parse("FSFSFSFS", 8, &t.low, &err);
 *     char *h = vk_export_header(&t);   // caller frees
 */
#ifndef VK_EXPORT_H
#define VK_EXPORT_H

#include <math.h> /* NAN: a figure not known */

#include "vk_evo.h"

typedef struct {
    int n_layers;
    char model_hash[65];   /* the blob the table was measured with: the SHA-256
                              of its file (`vitskip quantize` writes it, so
                              `sha256sum FILE.vkq` prints this value) */
    char ckpt_hash[65];    /* the SHA-256 of the checkpoint's weights file the
                              blob was calibrated from; "" = not known */
    int kind_cascade;      /* 0: a path (low only); 1: a cascade */
    vk_genome low, high;
    int32_t threshold_q16; /* cascade: escalate when entropy > threshold */
    int32_t resume;        /* cascade: shared encoders */
    char comment[512];     /* provenance and figures, written into both forms */
    char name[32];         /* the header's identifier prefix; "" = "vk_skip" */
    double top1;           /* percent: on the test split where the run has one, else on the
                              images it was chosen on; NAN = unknown */
    double latency_ms;     /* per image (a cascade: expected); NAN = unknown */
    double energy_mj;      /* per image; NAN = the board gave none */
    char latency_src[12];  /* "measured" | "modeled" | "" */
    char energy_src[12];
} vk_skip_table;

/* 1 if name can prefix the header's identifiers: a C identifier of at most
 * 31 characters ("" too: the default). */
int vk_export_name_ok(const char *name);

/* Caller frees the returned text; NULL on allocation failure or a table
 * that cannot be written (n_layers outside 1..VK_MAX_LAYERS, model_hash
 * not hex, a name that vk_export_name_ok refuses). The comment is written
 * as printable text only (control characters and a comment's end become
 * spaces), so nothing from a stored note or board name becomes C source. */
char *vk_export_header(const vk_skip_table *t);
char *vk_export_json(const vk_skip_table *t);
/* Parses either form (JSON if it starts with '{', else the header);
 * what names the input in errors. *t untouched on error. */
vk_status vk_export_parse(const char *text, const char *what, vk_skip_table *t, vk_err *err);

#endif
