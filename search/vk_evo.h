/* vk_evo: NSGA-II, with no I/O: constrained domination over genomes of a
 * space (vk_genome.h) (hypervolume: vk_hv.h; random numbers: vk_rng.h; the
 * cascade threshold sweep: vk_cascade.h).
 *
 * NSGA-II runs in generations: vk_evo_ask() returns the next batch to
 * evaluate (generation 0 = the seeds, then `offspring` random genomes of
 * the space; later `offspring` children of binary tournaments among the
 * population, uniform crossover and per-encoder mutation of one gene field,
 * repaired to valid genomes, never a genome already proposed), vk_evo_tell() records each result, and vk_evo_next() keeps
 * the best `population` of parents and children (non-dominated rank, then
 * crowding distance). Few offspring per generation against a larger
 * population make it close to steady-state NSGA-II: more generations for
 * a board budget, which is what a search measured on hardware needs.
 * Everything is deterministic for a seed.
 *
 *     vk_evo *e = vk_evo_new(8, 6, 2, seed);
 *     vk_evo_seed(e, full);              // and any other seeds
 *     while ((n = vk_evo_ask(e, batch, 16)) > 0) {
 *         for (i = 0; i < n; i++) vk_evo_tell(e, &batch[i], obj, violation);
 *         vk_evo_next(e);
 *     }
 *     vk_evo_free(e);
 *
 * Objectives are minimised. Not thread-safe. */
#ifndef VK_EVO_H
#define VK_EVO_H

#include <stdint.h>

#include "../host/vk_status.h"
#include "../kernels/vk_config.h"
#include "vk_cascade.h" /* for vk_search.c, until it includes it itself */
#include "vk_genome.h"

typedef struct vk_evo vk_evo;

#define VK_EVO_MAX_SEEDS 32 /* seeds beyond the population generation 0 holds */

/* population >= 4 parents kept; offspring (1 .. population) proposed per
 * generation. NULL when out of memory. */
vk_evo *vk_evo_new(int n_layers, int population, int offspring, uint64_t seed);
void vk_evo_free(vk_evo *e);
/* Random search, the baseline NSGA-II is judged against: after the seeds,
 * every batch is uniformly random genomes not proposed before. */
void vk_evo_set_random(vk_evo *e);
/* The space genomes are drawn from (default: F/S). Call before vk_evo_ask. */
void vk_evo_set_space(vk_evo *e, const vk_space *sp);
/* Screening of bred children (the `predict` strategy, vk_pred.h): each
 * generation after the first breeds up to pool x offspring distinct unseen
 * children and pick(ctx, cand, n, k, chosen) writes the indices of the k
 * (or fewer) to propose; the others are not marked proposed. pool <= 1 or
 * pick NULL: no screening (the default). Call before vk_evo_ask. */
typedef int (*vk_evo_pick_fn)(void *ctx, const vk_genome *cand, int n, int k, int *chosen);
void vk_evo_set_screen(vk_evo *e, int pool, vk_evo_pick_fn pick, void *ctx);
/* Adds a genome to generation 0 (ignored if already seeded). */
void vk_evo_seed(vk_evo *e, const vk_genome *g);
/* Up to max genomes to evaluate now; 0 when the space is exhausted. */
int vk_evo_ask(vk_evo *e, vk_genome *out, int max);
void vk_evo_tell(vk_evo *e, const vk_genome *g, const double obj[2], double violation);
/* Environmental selection after a batch; returns the generation number. */
int vk_evo_next(vk_evo *e);
/* Genomes evaluated so far. */
int vk_evo_n_evaluated(const vk_evo *e);

/* Constrained domination (Deb 2002): 1 if a dominates b. */
int vk_evo_dominates(const double a[2], double va, const double b[2], double vb);
/* Non-dominated ranks (0 = first front) of n points; rank has n entries. */
void vk_evo_ranks(const double (*obj)[2], const double *viol, int n, int *rank);
/* Crowding distances within one front given by idx[0..m). */
void vk_evo_crowding(const double (*obj)[2], const int *idx, int m, double *dist);

#endif
