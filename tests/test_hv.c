/* test_hv: exact hypervolume against values worked by hand and against two
 * independent brute-force computations on random small point sets:
 * inclusion-exclusion over every subset (the union of boxes) and counting
 * unit cells of an integer grid. Integer coordinates keep every figure
 * exact in double, so results must be equal, not close. */
#include <math.h>
#include <stdlib.h>

#include "search/vk_hv.h"
#include "search/vk_rng.h"
#include "tests/vk_test.h"

static double hv_of(const double *pts, int n, int n_obj, const double *ref)
{
    vk_err err = {{0}};
    double hv = -1;
    vk_status rc = vk_hv_compute(pts, n, n_obj, ref, &hv, &err);
    CHECK_EQ_INT(rc, VK_OK);
    return hv;
}

static void test_hand_2d(void)
{
    /* (1,3),(2,2),(3,1), ref (4,4), by columns: x in [1,2) height 1,
       [2,3) height 2, [3,4) height 3 -> 6 */
    const double p[] = {1, 3, 2, 2, 3, 1}, ref[] = {4, 4};
    CHECK(hv_of(p, 3, 2, ref) == 6);
    /* order does not matter; a dominated point (3,3) and a duplicate add 0 */
    const double q[] = {3, 1, 3, 3, 1, 3, 2, 2, 2, 2};
    CHECK(hv_of(q, 5, 2, ref) == 6);
    /* points on or beyond the reference contribute nothing: (4,0) touches
       ref's x, (0,5) is beyond its y; (0.5,3.5) adds x [0.5,1) x [3.5,4) */
    const double r[] = {1, 3, 2, 2, 3, 1, 4, 0, 0, 5, 0.5, 3.5};
    CHECK(hv_of(r, 5, 2, ref) == 6);
    CHECK(hv_of(r, 6, 2, ref) == 6 + 0.5 * 0.5);
    /* single point: a box */
    const double s[] = {-1, 2}, ref2[] = {3, 7};
    CHECK(hv_of(s, 1, 2, ref2) == 4 * 5);
    CHECK(hv_of(NULL, 0, 2, ref2) == 0);
}

static void test_hand_3d(void)
{
    /* (1,1,1), ref (2,3,4): a 1x2x3 box */
    const double a[] = {1, 1, 1}, ra[] = {2, 3, 4};
    CHECK(hv_of(a, 1, 3, ra) == 6);
    /* (1,2,1) and (2,1,1), ref (3,3,3): boxes 2x1x2 = 4 each, overlap from
       (2,2,1): 1x1x2 = 2 -> 4 + 4 - 2 = 6 */
    const double b[] = {1, 2, 1, 2, 1, 1}, rb[] = {3, 3, 3};
    CHECK(hv_of(b, 2, 3, rb) == 6);
    /* adding (1,1,2): box 2x2x1 = 4; its overlap with the union of the two
       others is the slab z in [2,3) of that union (2+2-1 = 3 in x,y) -> 3;
       total 6 + 4 - 3 = 7 */
    const double c[] = {1, 2, 1, 2, 1, 1, 1, 1, 2}, rc_[] = {3, 3, 3};
    CHECK(hv_of(c, 3, 3, rc_) == 7);
    /* (0,0,.5), (0,.5,0), (.5,0,0), ref (1,1,1): three half-cube slabs
       along different axes; their union misses only [0,.5)^3 -> 0.875 */
    const double d[] = {0, 0, 0.5, 0, 0.5, 0, 0.5, 0, 0}, rd[] = {1, 1, 1};
    CHECK(hv_of(d, 3, 3, rd) == 0.875);
    /* a point beyond the reference in z contributes nothing */
    const double e[] = {1, 1, 1, 0, 0, 9}, re[] = {2, 3, 4};
    CHECK(hv_of(e, 2, 3, re) == 6);
}

/* Volume of the union of the boxes [p_i, ref) by inclusion-exclusion over
 * every non-empty subset: the intersection of a subset is the box from the
 * componentwise max of its points. */
static double hv_incl_excl(const double *pts, int n, int d, const double *ref)
{
    double total = 0;
    for (unsigned mask = 1; mask < (1u << n); mask++) {
        double lo[3] = {-INFINITY, -INFINITY, -INFINITY}, vol = 1;
        int bits = 0;
        for (int i = 0; i < n; i++)
            if (mask & (1u << i)) {
                bits++;
                for (int k = 0; k < d; k++)
                    lo[k] = fmax(lo[k], pts[i * d + k]);
            }
        for (int k = 0; k < d; k++)
            vol *= lo[k] < ref[k] ? ref[k] - lo[k] : 0;
        total += bits % 2 ? vol : -vol;
    }
    return total;
}

/* Unit cells [c, c+1) of the grid 0..g-1 per axis that some point dominates
 * (integer points, integer ref <= g). */
static double hv_grid(const double *pts, int n, int d, const double *ref, int g)
{
    long cells = 0;
    int c[3] = {0, 0, 0};
    int n_cells = d == 2 ? g * g : g * g * g;
    for (int idx = 0; idx < n_cells; idx++) {
        c[0] = idx % g;
        c[1] = (idx / g) % g;
        c[2] = d == 3 ? idx / (g * g) : 0;
        int in_ref = 1, covered = 0;
        for (int k = 0; k < d; k++)
            in_ref &= c[k] < ref[k];
        for (int i = 0; in_ref && i < n && !covered; i++) {
            int dom = 1;
            for (int k = 0; k < d; k++)
                dom &= pts[i * d + k] <= c[k];
            covered = dom;
        }
        cells += in_ref && covered;
    }
    return (double)cells;
}

static void test_random_vs_brute(void)
{
    vk_rng r;
    vk_rng_seed(&r, 2024);
    int mismatches = 0, cases = 0;
    for (int d = 2; d <= 3; d++)
        for (int t = 0; t < 400; t++) {
            double pts[12 * 3], ref[3];
            int n = (int)vk_rng_below(&r, 13); /* 0..12 points */
            int g = 8;
            for (int k = 0; k < d; k++)
                ref[k] = 4 + vk_rng_below(&r, 5); /* 4..8 */
            /* coordinates 0..8: some beyond ref, many ties */
            for (int i = 0; i < n * d; i++)
                pts[i] = vk_rng_below(&r, 9);
            double fast = hv_of(pts, n, d, ref);
            double ie = hv_incl_excl(pts, n, d, ref);
            double grid = hv_grid(pts, n, d, ref, g);
            cases++;
            if (fast != ie || fast != grid) {
                mismatches++;
                if (mismatches < 5)
                    fprintf(stderr, "d=%d n=%d: fast %g incl-excl %g grid %g\n", d, n, fast, ie,
                            grid);
            }
        }
    CHECK_EQ_INT(mismatches, 0);
    CHECK_EQ_INT(cases, 800);
}

static void test_random_real_3d(void)
{
    /* real coordinates: the 3-D sweep against inclusion-exclusion within
       rounding, and a 3-D set with a constant third objective against the
       2-D sweep times the slab depth */
    vk_rng r;
    vk_rng_seed(&r, 7);
    for (int t = 0; t < 200; t++) {
        double p3[10 * 3], p2[10 * 2], ref3[3] = {1, 1, 1}, ref2[2] = {1, 1};
        int n = 1 + (int)vk_rng_below(&r, 10);
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < 3; k++)
                p3[i * 3 + k] = vk_rng_uniform(&r) * 1.1;
            p2[i * 2] = p3[i * 3];
            p2[i * 2 + 1] = p3[i * 3 + 1];
        }
        double fast = hv_of(p3, n, 3, ref3), ie = hv_incl_excl(p3, n, 3, ref3);
        CHECK(fabs(fast - ie) <= 1e-12);
        for (int i = 0; i < n; i++)
            p3[i * 3 + 2] = 0.25;
        double slab = hv_of(p3, n, 3, ref3), flat = hv_of(p2, n, 2, ref2);
        CHECK(fabs(slab - 0.75 * flat) <= 1e-12);
    }
}

static void test_large_front(void)
{
    /* ~250 mutually non-dominated integer points on the plane
       x + y + z = 30 (a long staircase at every z), ref (31,31,31): the
       sweep against counting the 31^3 grid cells they dominate */
    static double pts[496 * 3];
    int n = 0;
    for (int a = 0; a <= 30; a++)
        for (int b = 0; a + b <= 30; b++)
            if ((a * 7 + b * 3) % 2 == 0 && n < 496) {
                pts[n * 3] = a;
                pts[n * 3 + 1] = b;
                pts[n * 3 + 2] = 30 - a - b;
                n++;
            }
    const double ref[3] = {31, 31, 31};
    CHECK(hv_of(pts, n, 3, ref) == hv_grid(pts, n, 3, ref, 31));
}

static void test_errors(void)
{
    vk_err err = {{0}};
    double hv = 42, ref[3] = {1, 1, 1}, p[3] = {0, NAN, 0};
    CHECK_EQ_INT(vk_hv_compute(p, 1, 4, ref, &hv, &err), VK_E_ARG);
    CHECK_STR_CONTAINS(err.msg, "4 objectives");
    CHECK_EQ_INT(vk_hv_compute(p, 1, 3, ref, &hv, &err), VK_E_ARG);
    CHECK_STR_CONTAINS(err.msg, "point 0 objective 1");
    ref[2] = INFINITY;
    p[1] = 0;
    CHECK_EQ_INT(vk_hv_compute(p, 1, 3, ref, &hv, &err), VK_E_ARG);
    CHECK_STR_CONTAINS(err.msg, "reference objective 2");
    CHECK_EQ_INT(vk_hv_compute(p, -1, 2, ref, &hv, &err), VK_E_ARG);
    CHECK(hv == 42); /* untouched on error */
}

int main(void)
{
    RUN(test_hand_2d);
    RUN(test_hand_3d);
    RUN(test_random_vs_brute);
    RUN(test_random_real_3d);
    RUN(test_large_front);
    RUN(test_errors);
    return vk_test_summary("hv");
}
