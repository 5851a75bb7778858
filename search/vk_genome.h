/* vk_genome: a path through the model — one gene (a kernel mode word) per
 * encoder — its canonical text, the kernel's validity rules, the space a
 * search draws genes from, and the variation operators.
 *
 * Text: one group per encoder, concatenated: an attention letter (F full,
 * S skipped, R reuse, H shared heads), then optionally `:kNN` (keep NN
 * percent of the patch tokens, 1..99) and `:fNN` (drop NN percent of the
 * FFN neurons, 1..99), in that order: "H:k70FRS:f50". The canonical text
 * omits k100 and f0; it is the genome's key in the database, so parsing is
 * strict (nothing else is accepted, and a text parses to a genome that
 * formats back to the same text).
 *
 * Validity (what the kernel accepts; vk_genome_check): pruning only where
 * the encoder computes attention (F or H); reuse only when an earlier
 * encoder (since the start of a run) computed attention and no encoder
 * pruned tokens since then.
 *
 * A space (vk_space) lists the genes a search may use: attention letters,
 * keep percents (for F and H), FFN drop percents. "FS" is PIVOT's space;
 * "all" = FSRH, keep {100, 85, 70, 50}, ffn {0, 25, 50}.
 *
 *     vk_genome g;
 *     if (vk_genome_parse("H:k70FRS:f50", 4, &g, &err) != VK_OK) die(err.msg);
 *     char txt[VK_GENOME_TEXT_MAX];
 *     vk_genome_format(&g, 4, txt);               // "H:k70FRS:f50"
 *     vk_space sp;
 *     vk_rng rng;
 *     vk_space_parse("all", &sp, &err);
 *     vk_rng_seed(&rng, 1);
 *     vk_genome_random(&g, 4, &sp, &rng);         // a valid genome of the space
 *
 * Pure functions on caller-owned values; thread-safe. */
#ifndef VK_GENOME_H
#define VK_GENOME_H

#include <stdint.h>

#include "../host/vk_status.h"
#include "../kernels/vk_config.h"
#include "vk_rng.h"

#define VK_GENE_TEXT_MAX 9 /* "H:k85:f50" */
#define VK_GENOME_TEXT_MAX (VK_MAX_LAYERS * VK_GENE_TEXT_MAX + 1)

typedef struct {
    uint32_t modes[VK_MAX_LAYERS];
} vk_genome;

/* Parses text for a model of n_layers encoders; the genome must also be
 * valid (vk_genome_check from encoder 0). On error *g is untouched and err
 * names the text, the encoder and what was expected. */
vk_status vk_genome_parse(const char *text, int n_layers, vk_genome *g, vk_err *err);
/* Number of encoders a genome text names (its attention letters), -1 if
 * it holds a character no genome has; for texts already stored. */
int vk_genome_text_layers(const char *text);
/* One encoder's mode in words ("full attention, keeps 70% of the tokens"). */
void vk_gene_describe(uint32_t w, char *out, int len);
/* Writes the canonical text (at most VK_GENOME_TEXT_MAX bytes). */
void vk_genome_format(const vk_genome *g, int n_layers, char *out);
int vk_genome_equal(const vk_genome *a, const vk_genome *b, int n_layers);
/* The kernel's rules for encoders [from, n_layers): VK_OK or VK_E_ARG with
 * the first broken rule in err. */
vk_status vk_genome_check(const vk_genome *g, int n_layers, int from, vk_err *err);
/* Number of leading encoders two genomes share. */
int vk_genome_common_prefix(const vk_genome *a, const vk_genome *b, int n_layers);
/* The deepest k <= the common prefix at which `high` can resume from
 * `low`'s stream: its suffix [k, n_layers) is valid on its own (a reuse
 * in it needs its source in it too). 0: from scratch. */
int vk_genome_resume_depth(const vk_genome *low, const vk_genome *high, int n_layers);
/* skip_every: 0 none skipped, 1 all skipped, 2 PIVOT's alternate skip
 * (encoders 1, 3, 5, ... 0-based). */
void vk_genome_pattern(vk_genome *g, int n_layers, int skip_every);

typedef struct {
    uint8_t attn[4]; /* letters allowed, VK_ATTN_* values */
    int n_attn;
    uint8_t keep[8]; /* keep percents for F and H, 100 first */
    int n_keep;
    uint8_t ffn[8];  /* FFN drop percents, 0 first */
    int n_ffn;
} vk_space;

/* "FS" (PIVOT's skip space), "all", or an explicit space
 * LETTERS[:kP,P,...][:fP,P,...], e.g. "FSH:k100,70:f0,50" (100 and 0 are
 * added when missing; F or H required). VK_E_ARG with the offending part
 * in err. */
vk_status vk_space_parse(const char *text, vk_space *sp, vk_err *err);
/* Canonical text of a space (at most 64 bytes). */
void vk_space_format(const vk_space *sp, char *out, int len);
/* Gene i (0 <= i < vk_space_genes) of the space's fixed order. */
uint32_t vk_space_gene(const vk_space *sp, int i);
/* Genes per encoder, and the number of genomes of n_layers encoders (valid
 * or not; saturates at 2^62). */
int vk_space_genes(const vk_space *sp);
uint64_t vk_space_size(const vk_space *sp, int n_layers);
/* The number of valid genomes (vk_genome_check) of n_layers encoders
 * (saturates at 2^62). */
uint64_t vk_space_valid(const vk_space *sp, int n_layers);
/* 1 if every gene of g is in the space. */
int vk_space_contains(const vk_space *sp, const vk_genome *g, int n_layers);

/* One-at-a-time variants of the full path: every valid genome of F
 * encoders but one, whose gene differs from F in one field (another
 * attention letter, a keep percent on F, or an FFN drop on F) taken from
 * the space; encoder-major, the space's order within. At most max written;
 * returns how many there are. */
int vk_space_one_at_a_time(const vk_space *sp, int n_layers, vk_genome *out, int max);

/* 1 if the space is PIVOT's F/S space (no keep or ffn choices). */
int vk_space_is_fs(const vk_space *sp);

/* A uniformly random gene per encoder, then repaired (valid). FS: the
 * draws of earlier versions (one uniform per encoder, < 0.5 skips). */
void vk_genome_random(vk_genome *g, int n_layers, const vk_space *sp, vk_rng *rng);
/* A child of p1 and p2: per encoder the gene of either (uniform
 * crossover), then with probability 1/n_layers one field (attention, keep
 * or ffn, among those with a choice) redrawn; then repaired. FS: the draws
 * of earlier versions (per encoder a parent, then a flip). */
void vk_genome_child(vk_genome *c, const vk_genome *p1, const vk_genome *p2, int n_layers,
                     const vk_space *sp, vk_rng *rng);
/* Makes g valid with the least change: pruning dropped where the
 * attention is not computed, a reuse with no valid source computes its
 * attention (F, or H where the space sp has no F; sp may be NULL). */
void vk_genome_repair(vk_genome *g, int n_layers, const vk_space *sp);

#endif
