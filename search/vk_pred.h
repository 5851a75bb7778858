/* vk_pred: a surrogate of the board trained on what the run has measured,
 * used to choose which candidates get a measurement (the `predict`
 * strategy: NSGA-II whose bred children are screened, vk_evo_set_screen).
 *
 * The model is ridge regression (Bayesian linear regression with a
 * Gaussian prior on the weights) on features of a genome: how many
 * encoders take each attention letter, keep percent and FFN drop percent
 * (those the space has: an effect learnt at one encoder carries to the
 * others), then per encoder the one-hot indicators of its choices (the
 * effect at that position) and the share of the patch tokens that reach
 * it (token pruning makes later encoders cheaper); an unpenalised
 * intercept. One model per target (e.g. top-1, latency, energy), all on
 * the same features, each fitted as Huber's M-estimate (reweighted: a path
 * far off the additive model, such as every encoder skipped, does not bend
 * every choice's effect). Predictions come with a standard deviation (the
 * posterior's, times the residual scale), so a screen can be optimistic
 * where little was measured. Predictions are never stored as figures.
 *
 * vk_pred_pick chooses k of n candidates from their predicted objectives:
 * greedily the largest hypervolume improvement of the optimistic point
 * (mean - sd) over the measured feasible front, each pick then believed at
 * its mean; dominated candidates by how little they miss the front;
 * predicted-infeasible ones last. Deterministic (ties: the earlier).
 *
 * Lifecycle: vk_pred_new, vk_pred_add per measurement, vk_pred_fit, then
 * vk_pred_predict any number of times; vk_pred_free. The caller owns
 * everything it passes. Not thread-safe.
 *
 *     vk_space sp;
 *     vk_genome g, candidate;
 *     vk_space_parse("FS", &sp, &err);
 *     vk_genome_parse("FSFSFSFS", 8, &g, &err);
 *     vk_genome_parse("FFFFSSSS", 8, &candidate, &err);
 *     vk_pred *p = vk_pred_new(&sp, 8, 2);
 *     double y[2] = {91.5, 3.2}, mean[2], sd[2];  // top-1 %, latency ms
 *     vk_pred_add(p, &g, y, &err);                 // each measured genome
 *     vk_pred_fit(p, &err);
 *     vk_pred_predict(p, &candidate, mean, sd);
 *     vk_pred_free(p);
 */
#ifndef VK_PRED_H
#define VK_PRED_H

#include "vk_genome.h"

#define VK_PRED_MAX_TARGETS 4

typedef struct vk_pred vk_pred;

/* A model of n_targets (1..VK_PRED_MAX_TARGETS) figures of genomes of
 * n_layers encoders of the space sp. NULL when out of memory or the
 * arguments are out of range. */
vk_pred *vk_pred_new(const vk_space *sp, int n_layers, int n_targets);
void vk_pred_free(vk_pred *p); /* NULL is a no-op */
/* Number of features (the intercept included). */
int vk_pred_n_features(const vk_pred *p);
/* Adds one measured genome's figures y[0..n_targets). VK_E_NOMEM. */
vk_status vk_pred_add(vk_pred *p, const vk_genome *g, const double *y, vk_err *err);
int vk_pred_n_obs(const vk_pred *p);
/* Fits every target on the observations added so far (none: predicts 0
 * with infinite sd). VK_E_NOMEM. */
vk_status vk_pred_fit(vk_pred *p, vk_err *err);
/* Mean and standard deviation of every target for g (after vk_pred_fit). */
void vk_pred_predict(const vk_pred *p, const vk_genome *g, double *mean, double *sd);

/* Chooses k of n candidates (2 minimised objectives each: mean[i][0..1],
 * sd[i][0..1], predicted constraint violation viol[i], 0 = feasible)
 * against the measured feasible points front[0..n_front) (pairs) and the
 * hypervolume reference ref[0..1]. Writes min(k, n) distinct indices to
 * pick, best first; returns their number (0 when out of memory). */
int vk_pred_pick(const double (*mean)[2], const double (*sd)[2], const double *viol, int n,
                 const double *front, int n_front, const double ref[2], int k, int *pick);

#endif
