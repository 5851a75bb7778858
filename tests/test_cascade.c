/* test_cascade: the cascade threshold sweep worked out by hand on four
 * images, and against brute force (every threshold recounted) on seeded
 * random entropies with many ties. */
#include <math.h>
#include <stdint.h>

#include "search/vk_cascade.h"
#include "search/vk_rng.h"
#include "tests/vk_test.h"

#define SEED 12345

static vk_rng rs;
static double ur(void)
{
    return vk_rng_uniform(&rs);
}

static void test_by_hand(void)
{
    /* the low path is right on images 0 and 1 (entropies 1 and 2), wrong on
       2 and 3 (entropies 3, 3: a tie); the high path is right on all but 0 */
    const int32_t ent[4] = {1, 2, 3, 3};
    const uint8_t lo[4] = {1, 1, 0, 0}, hi[4] = {0, 1, 1, 1};
    vk_sweep_pt p[5];
    int np = vk_cascade_sweep(ent, lo, hi, 4, 2.0, 10.0, p);
    CHECK_EQ_INT(np, 4); /* nothing, the tie, then 2, then 1 */
    if (np != 4)
        return;
    CHECK_EQ_INT(p[0].threshold_q16, INT32_MAX);
    CHECK_EQ_INT(p[0].n_escalated, 0);
    CHECK(fabs(p[0].top1 - 50) < 1e-12);
    CHECK(fabs(p[0].cost - 2) < 1e-12);
    CHECK_EQ_INT(p[1].threshold_q16, 2); /* entropy > 2: the tie of 3s */
    CHECK_EQ_INT(p[1].n_escalated, 2);
    CHECK(fabs(p[1].top1 - 100) < 1e-12);
    CHECK(fabs(p[1].cost - (2 + 0.5 * 10)) < 1e-12);
    CHECK_EQ_INT(p[2].threshold_q16, 1);
    CHECK_EQ_INT(p[2].n_escalated, 3);
    CHECK(fabs(p[2].top1 - 100) < 1e-12);
    CHECK(fabs(p[2].cost - (2 + 0.75 * 10)) < 1e-12);
    CHECK_EQ_INT(p[3].threshold_q16, -1); /* everything escalates */
    CHECK_EQ_INT(p[3].n_escalated, 4);
    CHECK(fabs(p[3].top1 - 75) < 1e-12);
    CHECK(fabs(p[3].cost - 12) < 1e-12);
}

static void test_against_brute_force(void)
{
    enum { N = 300 };
    int32_t ent[N];
    uint8_t lo[N], hi[N];
    vk_sweep_pt pts[N + 1];
    vk_rng_seed(&rs, SEED);
    vk_test_seed("sweep images", SEED);
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

int main(void)
{
    RUN(test_by_hand);
    RUN(test_against_brute_force);
    return vk_test_summary("cascade");
}
