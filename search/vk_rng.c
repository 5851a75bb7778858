/* vk_rng: xoshiro256** seeded by splitmix64 (see vk_rng.h). Both are
 * Blackman and Vigna's public-domain reference algorithms. */
#include "vk_rng.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void vk_rng_seed(vk_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
    /* splitmix64's output is a bijection of its counter: four distinct
       counters give four distinct words, so the state is never all zero */
}

uint64_t vk_rng_next(vk_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint32_t vk_rng_below(vk_rng *r, uint32_t n)
{
    if (n <= 1)
        return 0;
    /* Lemire's multiply-shift on the top 32 bits, rejecting the low
       remainders that would make some results more likely */
    uint32_t threshold = (uint32_t)(-n) % n;
    for (;;) {
        uint64_t m = (vk_rng_next(r) >> 32) * (uint64_t)n;
        if ((uint32_t)m >= threshold)
            return (uint32_t)(m >> 32);
    }
}

double vk_rng_uniform(vk_rng *r)
{
    return (double)(vk_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}
