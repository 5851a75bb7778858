/* vk_rng: the search's seeded pseudo-random generator (xoshiro256**, its
 * state filled by splitmix64 from a 64-bit seed), so that every random
 * choice of the co-search is reproducible from one number.
 *
 * Same seed, same sequence, on every platform: the generator uses only
 * 64-bit integer arithmetic, and vk_rng_below / vk_rng_uniform derive their
 * results from it without floating-point rounding that could differ.
 * A plain value (no allocation); not thread-safe: one generator per thread.
 *
 *     vk_rng r;
 *     vk_rng_seed(&r, 42);
 *     uint32_t k = vk_rng_below(&r, 6);   // 0..5, unbiased
 *     double u = vk_rng_uniform(&r);      // [0, 1)
 */
#ifndef VK_RNG_H
#define VK_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4]; /* xoshiro256** state; never all zero */
} vk_rng;

/* Fills the state from seed with splitmix64 (any seed, 0 included). */
void vk_rng_seed(vk_rng *r, uint64_t seed);

/* Next 64 random bits (xoshiro256**). */
uint64_t vk_rng_next(vk_rng *r);

/* Uniform integer in [0, n), without modulo bias; n >= 1 (n = 0 gives 0). */
uint32_t vk_rng_below(vk_rng *r, uint32_t n);

/* Uniform double in [0, 1) with 53 random bits. */
double vk_rng_uniform(vk_rng *r);

#endif
