/* test_evo: genome text, constrained domination and ranks against
 * hand-worked examples, exact hypervolume against known values and a
 * brute-force grid, the cascade sweep against brute force, and NSGA-II's
 * determinism and dedup. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "search/vk_evo.h"
#include "tests/vk_test.h"

static uint64_t rs = 12345;
static double ur(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (double)(rs >> 11) / 9007199254740992.0;
}

static void test_genome(void)
{
    vk_genome g, h;
    vk_err err = {{0}};
    char txt[16];
    CHECK_EQ_INT(vk_genome_parse("FSFSFSFS", 8, &g, &err), VK_OK);
    vk_genome_format(&g, 8, txt);
    CHECK(strcmp(txt, "FSFSFSFS") == 0);
    vk_genome_pattern(&h, 8, 2);
    CHECK(vk_genome_equal(&g, &h, 8));
    CHECK_EQ_INT(VK_MODE_ATTN(g.modes[1]), VK_ATTN_SKIP);
    CHECK_EQ_INT(vk_genome_parse("FSX", 3, &g, &err), VK_E_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "position 3");
    CHECK_EQ_INT(vk_genome_parse("FSF", 8, &g, &err), VK_E_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "8 encoders");
    vk_genome_pattern(&g, 8, 0);
    vk_genome_pattern(&h, 8, 1);
    CHECK_EQ_INT(vk_genome_common_prefix(&g, &h, 8), 0);
    vk_genome_parse("FFFSSFFF", 8, &h, &err);
    CHECK_EQ_INT(vk_genome_common_prefix(&g, &h, 8), 3);
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

static void test_hv(void)
{
    const double p[3][2] = {{1, 3}, {2, 2}, {3, 1}}, ref[2] = {4, 4};
    CHECK(fabs(vk_hv2(p, 3, ref) - 6.0) < 1e-12);
    const double q[2][2] = {{5, 0}, {1, 1}}; /* first is outside the reference */
    CHECK(fabs(vk_hv2(q, 2, ref) - 9.0) < 1e-12);
    /* random sets against a grid count on integer coordinates */
    for (int t = 0; t < 100; t++) {
        double pts[12][2], r2[2] = {20, 20};
        int n = 1 + (int)(ur() * 12);
        for (int i = 0; i < n; i++) {
            pts[i][0] = (int)(ur() * 22);
            pts[i][1] = (int)(ur() * 22);
        }
        int cells = 0;
        for (int x = 0; x < 20; x++)
            for (int y = 0; y < 20; y++) {
                int in = 0;
                for (int i = 0; i < n && !in; i++)
                    in = pts[i][0] <= x && pts[i][1] <= y;
                cells += in;
            }
        CHECK(fabs(vk_hv2((const double(*)[2])pts, n, r2) - cells) < 1e-9);
    }
}

static void test_cascade_sweep(void)
{
    enum { N = 300 };
    int32_t ent[N];
    uint8_t lo[N], hi[N];
    vk_sweep_pt pts[N + 1];
    for (int t = 0; t < 200; t++) {
        int n = 1 + (int)(ur() * N);
        for (int i = 0; i < n; i++) {
            ent[i] = (int32_t)(ur() * 20) * 1000; /* many ties */
            lo[i] = ur() < 0.7;
            hi[i] = ur() < 0.9;
        }
        int np = vk_cascade_sweep(ent, lo, hi, n, 1.0, 3.0, pts);
        CHECK(np >= 2);
        for (int p = 0; p < np; p++) { /* brute force at each threshold */
            int ok = 0, esc = 0;
            for (int i = 0; i < n; i++) {
                int e = ent[i] > pts[p].threshold_q16;
                esc += e;
                ok += e ? hi[i] : lo[i];
            }
            CHECK_EQ_INT(esc, pts[p].n_escalated);
            CHECK(fabs(pts[p].top1 - 100.0 * ok / n) < 1e-9);
            CHECK(fabs(pts[p].cost - (1.0 + 3.0 * esc / n)) < 1e-9);
        }
        CHECK_EQ_INT(pts[np - 1].n_escalated, n);
    }
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

static int run_nsga(uint64_t seed, char out[][9], int max)
{
    vk_evo *e = vk_evo_new(8, 8, seed);
    vk_genome b[64], g;
    int n_total = 0;
    vk_genome_pattern(&g, 8, 0);
    vk_evo_seed(e, &g);
    for (int gen = 0; gen < 5; gen++) {
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
    int na = run_nsga(7, a, 256), nb = run_nsga(7, b, 256);
    CHECK_EQ_INT(na, nb);
    CHECK(na >= 30);
    CHECK(memcmp(a, b, sizeof a) == 0);
    for (int i = 0; i < na; i++)
        for (int j = i + 1; j < na; j++)
            CHECK(strcmp(a[i], a[j]) != 0);
    CHECK(strcmp(a[0], "FFFFFFFF") == 0); /* the seed is evaluated first */
}

int main(void)
{
    RUN(test_genome);
    RUN(test_domination_ranks);
    RUN(test_hv);
    RUN(test_cascade_sweep);
    RUN(test_nsga_deterministic_no_dups);
    return vk_test_summary("evo");
}
