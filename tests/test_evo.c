/* test_evo: constrained domination and ranks against
 * hand-worked examples, the seeded generator against its reference
 * values, and NSGA-II's determinism and dedup over F/S and a mixed space
 * (genome text and operators: test_genome; hypervolume: test_hv; the
 * cascade sweep: test_cascade). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "search/vk_evo.h"
#include "search/vk_rng.h"
#include "tests/vk_test.h"

/* ---- vk_rng ----------------------------------------------------------- */

static void test_rng(void)
{
    vk_rng r;
    /* splitmix64 from 0: first output 0xE220A8397B1DCDAF (the reference
       implementation's published first value) */
    vk_rng_seed(&r, 0);
    CHECK(r.s[0] == 0xE220A8397B1DCDAFull);
    CHECK(r.s[1] == 0x6E789E6AA1B965F4ull);
    /* xoshiro256** from {1, 2, 3, 4}: rotl(2 * 5, 7) * 9 = 1280 * 9 = 11520;
       then s1 becomes 2 ^ (3 ^ 1) = 0, so the second output is 0 */
    r.s[0] = 1, r.s[1] = 2, r.s[2] = 3, r.s[3] = 4;
    CHECK(vk_rng_next(&r) == 11520u);
    CHECK(vk_rng_next(&r) == 0u);
    CHECK(vk_rng_next(&r) == 1509978240u);
    CHECK(vk_rng_next(&r) == 1215971899390074240ull);
    /* below(n) stays in range and hits every value; uniform in [0,1) */
    int hist[7] = {0}, bad = 0;
    vk_rng_seed(&r, 3);
    for (int i = 0; i < 7000; i++) {
        uint32_t v = vk_rng_below(&r, 7);
        double u = vk_rng_uniform(&r);
        bad += v >= 7 || !(u >= 0 && u < 1);
        if (v < 7)
            hist[v]++;
    }
    CHECK_EQ_INT(bad, 0);
    for (int i = 0; i < 7; i++)
        CHECK(hist[i] > 850 && hist[i] < 1150); /* 1000 expected, sd ~29 */
    CHECK_EQ_INT(vk_rng_below(&r, 1), 0);
    /* same seed, same stream */
    vk_rng a, b;
    vk_rng_seed(&a, 77);
    vk_rng_seed(&b, 77);
    for (int i = 0; i < 100; i++)
        bad += vk_rng_next(&a) != vk_rng_next(&b);
    CHECK_EQ_INT(bad, 0);
}


static void test_domination_ranks(void)
{
    /* hand-worked: A(1,5) B(2,2) C(3,3) D(4,1) E(5,5), F infeasible (0,0) v=1
       front 0: A, B, D; front 1: C (dominated by B); front 2: E; F last */
    const double obj[6][2] = {{1, 5}, {2, 2}, {3, 3}, {4, 1}, {5, 5}, {0, 0}};
    const double viol[6] = {0, 0, 0, 0, 0, 1};
    int rank[6];
    vk_evo_ranks(obj, viol, 6, rank);
    CHECK(rank[0] == 0 && rank[1] == 0 && rank[3] == 0);
    CHECK_EQ_INT(rank[2], 1);
    CHECK_EQ_INT(rank[4], 2);
    CHECK_EQ_INT(rank[5], 3);
    CHECK(vk_evo_dominates(obj[4], 0, obj[5], 1)); /* feasible beats infeasible */
    CHECK(!vk_evo_dominates(obj[0], 0, obj[3], 0));
    /* crowding: boundary points infinite, inner point (2,2) between (1,5),(4,1):
       (4-1)/3 + (5-1)/4 = 2 */
    int idx[3] = {0, 1, 3};
    double d[3];
    vk_evo_crowding(obj, idx, 3, d);
    CHECK(isinf(d[0]) && isinf(d[2]));
    CHECK(fabs(d[1] - 2.0) < 1e-12);
}

/* A synthetic objective so NSGA-II runs without a board. */
static void objective(const vk_genome *g, double obj[2])
{
    int skipped = 0, early = 0;
    for (int i = 0; i < 8; i++)
        if (VK_MODE_ATTN(g->modes[i]) == VK_ATTN_SKIP) {
            skipped++;
            early += i < 3;
        }
    obj[0] = 5 + skipped * skipped + 4 * early; /* error */
    obj[1] = 10 - skipped;                      /* cost */
}

static int run_nsga(uint64_t seed, char out[][9], int max, int random, int gens)
{
    vk_evo *e = vk_evo_new(8, 8, 8, seed);
    vk_genome b[64], g;
    int n_total = 0;
    if (random)
        vk_evo_set_random(e);
    vk_genome_pattern(&g, 8, 0);
    vk_evo_seed(e, &g);
    for (int gen = 0; gen < gens; gen++) {
        int n = vk_evo_ask(e, b, 64);
        for (int i = 0; i < n; i++) {
            double o[2];
            objective(&b[i], o);
            vk_evo_tell(e, &b[i], o, 0);
            if (n_total < max)
                vk_genome_format(&b[i], 8, out[n_total++]);
        }
        vk_evo_next(e);
    }
    vk_evo_free(e);
    return n_total;
}

static void test_nsga_deterministic_no_dups(void)
{
    static char a[256][9], b[256][9];
    int na = run_nsga(7, a, 256, 0, 5), nb = run_nsga(7, b, 256, 0, 5);
    CHECK_EQ_INT(na, nb);
    CHECK(na >= 30);
    CHECK(memcmp(a, b, sizeof a) == 0);
    for (int i = 0; i < na; i++)
        for (int j = i + 1; j < na; j++)
            CHECK(strcmp(a[i], a[j]) != 0);
    CHECK(strcmp(a[0], "FFFFFFFF") == 0); /* the seed is evaluated first */
}

/* Random search: seed first, then every genome of the space exactly once,
 * the same order for a seed. */
static void test_random_search(void)
{
    static char a[300][9], b[300][9];
    int na = run_nsga(3, a, 300, 1, 40), nb = run_nsga(3, b, 300, 1, 40);
    CHECK_EQ_INT(na, 256);
    CHECK_EQ_INT(nb, 256);
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(strcmp(a[0], "FFFFFFFF") == 0);
    for (int i = 0; i < na; i++)
        for (int j = i + 1; j < na; j++)
            CHECK(strcmp(a[i], a[j]) != 0);
    /* a different seed, a different order */
    int nc = run_nsga(4, b, 300, 1, 40);
    CHECK_EQ_INT(nc, 256);
    CHECK(memcmp(a, b, sizeof a) != 0);
}

/* NSGA-II given the whole space as budget measures every genome: once few
 * are left, breeding and random draws rarely hit one, and the generation
 * used to come back empty, ending the search short of its budget (found
 * with the retrained demo model: 252 of 256). */
static void test_nsga_exhausts_space(void)
{
    int short_runs = 0;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        vk_evo *e = vk_evo_new(8, 6, 1, seed); /* the search's defaults */
        vk_genome b[64], g;
        int n, total = 0;
        vk_genome_pattern(&g, 8, 0);
        vk_evo_seed(e, &g);
        while ((n = vk_evo_ask(e, b, 64)) > 0) { /* as the search: 0 ends it */
            for (int i = 0; i < n; i++) {
                double o[2];
                objective(&b[i], o);
                vk_evo_tell(e, &b[i], o, 0);
            }
            total += n;
            vk_evo_next(e);
        }
        short_runs += total != 256;
        vk_evo_free(e);
    }
    CHECK_EQ_INT(short_runs, 0);
}

/* Over a mixed space, NSGA-II proposes only valid genomes of the space,
 * never one twice, and reaches every valid one (vk_space_valid). */
static void test_nsga_mixed_space(void)
{
    vk_space sp;
    vk_err err = {{0}};
    CHECK_EQ_INT(vk_space_parse("FSRH:k100,50:f0,50", &sp, &err), VK_OK);
    int want = (int)vk_space_valid(&sp, 3), bad = 0, total = 0;
    CHECK(want > 100 && want < 5000);
    vk_evo *e = vk_evo_new(3, 6, 2, 5);
    vk_evo_set_space(e, &sp);
    vk_genome *all = calloc((size_t)want + 1, sizeof *all), b[64], g;
    vk_genome_pattern(&g, 3, 0);
    vk_evo_seed(e, &g);
    int n;
    while ((n = vk_evo_ask(e, b, 64)) > 0 && total <= want) {
        for (int i = 0; i < n; i++) {
            double o[2] = {0, 0};
            for (int l = 0; l < 3; l++) {
                o[0] += VK_MODE_ATTN(b[i].modes[l]) + VK_MODE_FFN(b[i].modes[l]) / 50.0;
                o[1] += 3 - VK_MODE_ATTN(b[i].modes[l]) + VK_MODE_KEEP(b[i].modes[l]) / 50.0;
            }
            bad += vk_genome_check(&b[i], 3, 0, &err) != VK_OK || !vk_space_contains(&sp, &b[i], 3);
            for (int j = 0; j < total; j++)
                bad += vk_genome_equal(&all[j], &b[i], 3);
            if (total <= want)
                all[total++] = b[i];
            vk_evo_tell(e, &b[i], o, 0);
        }
        vk_evo_next(e);
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(total, want);
    free(all);
    vk_evo_free(e);
}

int main(void)
{
    RUN(test_domination_ranks);
    RUN(test_rng);
    RUN(test_nsga_deterministic_no_dups);
    RUN(test_random_search);
    RUN(test_nsga_exhausts_space);
    RUN(test_nsga_mixed_space);
    return vk_test_summary("evo");
}
