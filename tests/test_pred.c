/* vk_pred: the surrogate recovers a figure that is additive over the
 * encoders' genes and the token share (the model's own form) from random
 * genomes of the mixed space, is uncertain where nothing was measured,
 * and vk_pred_pick orders candidates by hypervolume gain, then by how
 * little they miss the front, infeasible last. vk_evo's screen proposes
 * only what the pick chose and can still reach every genome. */
#include <math.h>
#include <stdlib.h>

#include "search/vk_evo.h"
#include "search/vk_pred.h"
#include "tests/vk_test.h"

/* A figure of the model's form: per encoder a cost of its gene plus one
 * scaled by the share of the tokens reaching it. */
static double additive(const vk_genome *g, int nl)
{
    double y = 5, share = 1;
    for (int i = 0; i < nl; i++) {
        uint32_t m = g->modes[i];
        y += (i + 1) * 0.3 * VK_MODE_ATTN(m) + 0.02 * VK_MODE_FFN(m) - 0.01 * VK_MODE_KEEP(m);
        y += 1.5 * share;
        if (VK_MODE_PRUNES(m))
            share *= VK_MODE_KEEP(m) / 100.0;
    }
    return y;
}

static void test_fit_additive(void)
{
    vk_space sp;
    vk_err err = {{0}};
    vk_rng rng;
    const int nl = 6;
    CHECK_EQ_INT(vk_space_parse("all", &sp, &err), VK_OK);
    vk_pred *p = vk_pred_new(&sp, nl, 2);
    CHECK(p != NULL);
    if (!p)
        return;
    CHECK_EQ_INT(vk_pred_n_features(p), 1 + 9 + nl * (4 + 3 + 2 + 1));
    vk_rng_seed(&rng, 31);
    vk_test_seed("genomes", 31);
    for (int k = 0; k < 300; k++) {
        vk_genome g;
        vk_genome_random(&g, nl, &sp, &rng);
        double y[2] = {additive(&g, nl), -2 * additive(&g, nl) + 7};
        CHECK_EQ_INT(vk_pred_add(p, &g, y, &err), VK_OK);
    }
    CHECK_EQ_INT(vk_pred_n_obs(p), 300);
    CHECK_EQ_INT(vk_pred_fit(p, &err), VK_OK);
    double worst = 0, worst_sd = 0, lo = INFINITY, hi = -INFINITY;
    for (int k = 0; k < 200; k++) {
        vk_genome g;
        double m[2], s[2];
        vk_genome_random(&g, nl, &sp, &rng);
        vk_pred_predict(p, &g, m, s);
        lo = fmin(lo, additive(&g, nl));
        hi = fmax(hi, additive(&g, nl));
        worst = fmax(worst, fabs(m[0] - additive(&g, nl)));
        worst = fmax(worst, fabs(m[1] - (-2 * additive(&g, nl) + 7)));
        worst_sd = fmax(worst_sd, s[0]);
    }
    /* the ridge's shrinkage only: within 2% of the first target's range
       (the second's is twice as wide) */
    CHECK(hi - lo > 5);
    CHECK(worst < 0.02 * (hi - lo));
    CHECK(worst_sd < 0.01 * (hi - lo)); /* and it knows */
    vk_pred_free(p);
}

/* Nothing measured: infinite sd. One gene never measured: a larger sd
 * there than on a measured genome. */
static void test_uncertainty(void)
{
    vk_space sp;
    vk_err err = {{0}};
    vk_genome a, b, c;
    CHECK_EQ_INT(vk_space_parse("FSH", &sp, &err), VK_OK);
    vk_pred *p = vk_pred_new(&sp, 4, 1);
    double m, s_a, s_c, y;
    CHECK_EQ_INT(vk_genome_parse("FFFF", 4, &a, &err), VK_OK);
    CHECK_EQ_INT(vk_genome_parse("FSFS", 4, &b, &err), VK_OK);
    CHECK_EQ_INT(vk_genome_parse("HFFF", 4, &c, &err), VK_OK);
    vk_pred_predict(p, &a, &m, &s_a);
    CHECK(isinf(s_a));
    CHECK_EQ_INT(vk_pred_fit(p, &err), VK_OK);
    vk_pred_predict(p, &a, &m, &s_a);
    CHECK(isinf(s_a));
    y = 10;
    vk_pred_add(p, &a, &y, &err);
    y = 7;
    vk_pred_add(p, &b, &y, &err);
    vk_pred_add(p, &b, &y, &err);
    y = 10.5;
    vk_pred_add(p, &a, &y, &err);
    CHECK_EQ_INT(vk_pred_fit(p, &err), VK_OK);
    vk_pred_predict(p, &a, &m, &s_a);
    CHECK(fabs(m - 10.25) < 0.2);
    vk_pred_predict(p, &c, &m, &s_c);
    CHECK(isfinite(s_c) && s_c > s_a);
    vk_pred_free(p);
    CHECK(vk_pred_new(&sp, 0, 1) == NULL);
    CHECK(vk_pred_new(&sp, 4, VK_PRED_MAX_TARGETS + 1) == NULL);
    vk_pred_free(NULL);
}

static void test_pick(void)
{
    /* front (error, cost): (10, 50), (30, 20); reference (100, 100) */
    const double front[] = {10, 50, 30, 20}, ref[2] = {100, 100};
    const double mean[5][2] = {
        {15, 30}, /* in the knee: gains (30-15)*(50-30) = 300 */
        {5, 90},  /* new extreme: gains (10-5)*(100-90) = 50 */
        {35, 25}, /* dominated by (30, 20), misses by 5 points */
        {60, 80}, /* dominated, misses by 40 points */
        {1, 1},   /* would win, but infeasible */
    };
    const double sd[5][2] = {{0}};
    const double viol[5] = {0, 0, 0, 0, 0.5};
    int pick[5], n;
    n = vk_pred_pick(mean, sd, viol, 5, front, 2, ref, 5, pick);
    CHECK_EQ_INT(n, 5);
    CHECK_EQ_INT(pick[0], 0);
    CHECK_EQ_INT(pick[1], 1);
    CHECK_EQ_INT(pick[2], 2);
    CHECK_EQ_INT(pick[3], 3);
    CHECK_EQ_INT(pick[4], 4);
    /* optimism: a wide sd makes the dominated (60, 80) the best bet */
    const double sd2[5][2] = {{0}, {0}, {0}, {59, 79}, {0}};
    n = vk_pred_pick(mean, sd2, viol, 5, front, 2, ref, 1, pick);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(pick[0], 3);
    /* k above n: n distinct; no front: the largest box first */
    n = vk_pred_pick(mean, sd, viol, 4, front, 0, ref, 9, pick);
    CHECK_EQ_INT(n, 4);
    CHECK_EQ_INT(pick[0], 0);
    int seen = 0;
    for (int i = 0; i < n; i++)
        seen |= 1 << pick[i];
    CHECK_EQ_INT(seen, 15);
}

/* The screen's pick: the candidate with the fewest skipped encoders
 * (ties: the first); counts its calls. */
static int calls;
static int pick_fewest_skips(void *ctx, const vk_genome *cand, int n, int k, int *chosen)
{
    int nl = *(int *)ctx, best = 0, best_s = 1 << 30;
    calls++;
    for (int i = 0; i < n; i++) {
        int s = 0;
        for (int l = 0; l < nl; l++)
            s += VK_MODE_ATTN(cand[i].modes[l]) == VK_ATTN_SKIP;
        if (s < best_s) {
            best_s = s;
            best = i;
        }
    }
    chosen[0] = best;
    return k > 0;
}

/* Screening proposes offspring children per generation, only ones the
 * pick chose, never one twice, and still reaches all 256 genomes. */
static void test_evo_screen(void)
{
    int nl = 8, total = 0, bad = 0, n;
    vk_genome all[300], b[64], g;
    vk_evo *e = vk_evo_new(nl, 6, 1, 3);
    vk_evo_set_screen(e, 8, pick_fewest_skips, &nl);
    vk_genome_pattern(&g, nl, 0);
    vk_evo_seed(e, &g);
    calls = 0;
    while ((n = vk_evo_ask(e, b, 64)) > 0 && total < 300) {
        for (int i = 0; i < n; i++) {
            double o[2] = {0, 0};
            for (int l = 0; l < nl; l++) {
                int s = VK_MODE_ATTN(b[i].modes[l]) == VK_ATTN_SKIP;
                o[0] += s * (l + 1);
                o[1] += !s;
            }
            for (int j = 0; j < total; j++)
                bad += vk_genome_equal(&all[j], &b[i], nl);
            all[total++] = b[i];
            vk_evo_tell(e, &b[i], o, 0);
        }
        if (vk_evo_next(e) > 1)
            bad += n != 1;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(total, 256);
    CHECK(calls > 100);
    vk_evo_free(e);
}

int main(void)
{
    RUN(test_fit_additive);
    RUN(test_uncertainty);
    RUN(test_pick);
    RUN(test_evo_screen);
    return vk_test_summary("pred");
}
