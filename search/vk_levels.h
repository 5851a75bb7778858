/* vk_levels: cascades of up to three effort levels, each level its own
 * weights and path (PIVOT's low / medium / high effort, fine-tuned or not):
 * the exact threshold sweep that chooses the escalation thresholds from the
 * levels' per-image results on a validation split, and the run of such a
 * cascade on one board.
 *
 * A level is (quantized blob, path); levels may be different models (their
 * class counts must agree). An image runs level 1; when the
 * entropy of a level's output is above that level's threshold it runs the
 * next level, and the last level reached gives its class. Levels never
 * share work unless they share the weights: two consecutive levels with the
 * same blob (equal SHA-256) run as one board cascade whose upper path
 * resumes from the lower one's residual stream after the encoders they
 * share (vk_genome_resume_depth; at most one such pair per level); levels
 * with different blobs run from scratch, and are accounted so.
 *
 * The run (vk_levels_run) loads each level's blob on the board once, in
 * level order, and measures on the board only the images that reach the
 * level (their images quantized for that blob), so the board routes every
 * image itself; the expected cost per image is the sum over levels of the
 * share of images that reached the level times the board's figure for it.
 *
 *     vk_level lv[2] = {{.q = &tuned, .imgs = tuned_val}, {.q = &full, .imgs = full_val}};
 *     vk_genome_parse("FSFSFSFS", 8, &lv[0].path, &err);
 *     vk_genome_parse("FFFFFFFF", 8, &lv[1].path, &err);
 *     vk_levels_alone(b, lv, 2, n_val, val_res, meas, NULL, NULL, &err);
 *     // fill in.ok / in.ent from val_res and the labels, the costs from meas
 *     vk_levels_pt best;
 *     vk_levels_sweep(&in, &best, &err);        // the thresholds, on validation
 *     lv[0].imgs = tuned_test;
 *     lv[1].imgs = full_test;
 *     vk_levels_measure m;
 *     vk_levels_run(b, lv, 2, best.thr_q16, n, res, level, &m, NULL, NULL, &err);
 *
 * Pure functions and caller-owned values, except the board calls (a board
 * is used by one thread at a time). */
#ifndef VK_LEVELS_H
#define VK_LEVELS_H

#include <stdint.h>

#include "../boards/vk_board.h"
#include "vk_genome.h"
#include "vk_objective.h"

#define VK_LEVELS_MAX 3

typedef struct {
    const vk_qmodel *q;  /* borrowed: the level's quantized blob */
    const int8_t *imgs;  /* borrowed: the images quantized for q,
                            [n][vk_qmodel_img_n(q)] */
    vk_genome path;
} vk_level;

/* How level l (l >= 1) follows level l - 1: the number of encoders it
 * resumes after (0: from scratch). Nonzero only when both have the same
 * blob, level l - 1 does not itself resume, and the paths share a prefix
 * (vk_genome_resume_depth). resume[0] = 0. */
void vk_levels_resume(const vk_level *lv, int n_levels, int *resume);

/* The sweep's input: per level and validation image, whether the level
 * alone is right and its output entropy (Q16 nats); per level, the cost of
 * an image that reaches it (latency and energy per image; a level that
 * resumes costs its suffix). */
typedef struct {
    int n_levels;                          /* 2 or 3 */
    int n;                                 /* validation images */
    const uint8_t *ok[VK_LEVELS_MAX];      /* [n] */
    const int32_t *ent[VK_LEVELS_MAX];     /* [n] */
    double latency_ms[VK_LEVELS_MAX];
    double energy_mj[VK_LEVELS_MAX];
    vk_objective objective;                /* what the choice minimizes */
    double min_top1;                       /* percent the choice must reach */
} vk_levels_sweep_in;

/* One cascade of the sweep: escalate from level l to l + 1 when the
 * entropy is > thr_q16[l] (INT32_MAX: never; -1: always). */
typedef struct {
    int32_t thr_q16[VK_LEVELS_MAX - 1];
    int reached[VK_LEVELS_MAX]; /* images that ran each level */
    double top1;                /* percent */
    double latency_ms, energy_mj; /* expected per image */
    int met;                    /* 1: top1 >= min_top1 */
} vk_levels_pt;

/* Every distinct choice of thresholds, exactly (for 3 levels the level-2
 * threshold is swept within each level-1 choice: O(n^2)); writes the one of
 * least objective cost with top1 >= min_top1 (ties: higher top1, then fewer
 * escalations) to *best with met = 1, or, when none reaches min_top1, the
 * most accurate one (ties: cheaper) with met = 0. VK_E_ARG for n < 1 or a
 * level count outside 2..3; VK_E_NOMEM. *best untouched on error. */
vk_status vk_levels_sweep(const vk_levels_sweep_in *in, vk_levels_pt *best, vk_err *err);

/* Routes n images through the levels by hand from each level's results
 * alone (alone[l][i]): out[i] is the result of the last level image i
 * reached, level[i] that level (0-based), out[i].escalated = level[i] > 0. */
void vk_levels_route(const vk_img_result *const *alone, int n_levels, const int32_t *thr_q16,
                     int n, vk_img_result *out, uint8_t *level);

/* Each level's path alone over the same n images (lv[l].imgs): loads level
 * l's blob and images and measures; res[l] gets n results, meas[l] the
 * board's figures. progress (optional) gets (images done over all levels,
 * n_levels * n). */
vk_status vk_levels_alone(vk_board *b, const vk_level *lv, int n_levels, int n,
                          vk_img_result *const *res, vk_measure *meas,
                          void (*progress)(void *ctx, int done, int total), void *ctx,
                          vk_err *err);

/* What the board run gives: per level (or pair of levels sharing weights,
 * recorded at the pair's first level), the images that reached it and the
 * board's figures over them; the expected cost per image over all n. */
typedef struct {
    int n_levels, n_images;
    int reached[VK_LEVELS_MAX];   /* images that ran level l */
    int resume[VK_LEVELS_MAX];    /* vk_levels_resume */
    int measured[VK_LEVELS_MAX];  /* 1: meas[l] holds the board's figures of
                                     level l (and l + 1 when it resumes) */
    vk_measure meas[VK_LEVELS_MAX];
    double latency_ms, energy_mj; /* expected per image, sum over levels of
                                     reached share x figure */
    vk_source latency_src, energy_src; /* the weakest of the levels' */
} vk_levels_measure;

/* Runs the cascade on board b over n images: loads each level's blob once,
 * in order, and the images that reach it, and measures them (a pair of
 * levels with the same blob as one board cascade with resume). res[i] and
 * level[i] as vk_levels_route gives; *out the figures. The board holds the
 * last level's blob afterwards. On error res, level and *out are
 * unspecified. */
vk_status vk_levels_run(vk_board *b, const vk_level *lv, int n_levels, const int32_t *thr_q16,
                        int n, vk_img_result *res, uint8_t *level, vk_levels_measure *out,
                        void (*progress)(void *ctx, int done, int total), void *ctx,
                        vk_err *err);

#endif
