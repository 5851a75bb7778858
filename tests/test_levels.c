/* test_levels: multi-level cascades over different weights (search/vk_levels).
 * The threshold sweep against brute force over every pair of thresholds
 * (2 and 3 levels, entropies with ties); the resume rule (only consecutive
 * levels with the same blob, one pair at a time); on the sim and cpu
 * boards, cascades whose levels have different checkpoints (two tiny models
 * of other seeds) give, byte for byte, each level run alone over every
 * image and routed by hand here; a pair of levels with the same weights
 * resumes on the board and equals the same routing; the expected cost is
 * each level's figure weighted by the share of images that reached it; bad
 * inputs are errors. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boards/vk_board.h"
#include "search/vk_levels.h"
#include "tests/vk_fixture.h"
#include "tests/vk_test.h"

#define N_IMG 24
#define N_LAYERS 4
#define IMG_SEED 0x9E3779B97F4A7C15ull

static vk_model model[3];
static vk_qmodel qm[3];
static int8_t imgs[3][N_IMG * VK_FX_IMG];
static int ready;

static void setup(void)
{
    vk_err err = {{0}};
    for (int k = 0; k < 3; k++) /* three checkpoints: seeds 11, 12, 13; the same images */
        CHECK_EQ_INT(vk_fixture_tiny(N_LAYERS, N_IMG, IMG_SEED, 11 + (uint64_t)k, &model[k], &qm[k],
                                     imgs[k], &err),
                     VK_OK);
    CHECK(memcmp(qm[0].hash, qm[1].hash, 32) && memcmp(qm[1].hash, qm[2].hash, 32));
    ready = !vk_test_cur_fail;
}

/* ---- the sweep vs brute force --------------------------------------------- */

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(void)
{
    return (uint32_t)(vk_fixture_next(&rng) >> 16);
}

/* Brute force: every threshold from {never, always, each entropy} at every
 * level; the same choice rule as the sweep. */
static void brute(const vk_levels_sweep_in *in, vk_levels_pt *best)
{
    const int n = in->n, L = in->n_levels;
    int nc[2];
    int32_t cand[2][64 + 2];
    for (int l = 0; l + 1 < L; l++) {
        nc[l] = 0;
        cand[l][nc[l]++] = INT32_MAX;
        cand[l][nc[l]++] = -1;
        for (int i = 0; i < n; i++)
            cand[l][nc[l]++] = in->ent[l][i];
    }
    int have = 0;
    double best_cost = 0;
    for (int a = 0; a < nc[0]; a++)
        for (int b = 0; b < (L > 2 ? nc[1] : 1); b++) {
            vk_levels_pt p;
            memset(&p, 0, sizeof p);
            p.thr_q16[0] = cand[0][a];
            p.thr_q16[1] = L > 2 ? cand[1][b] : 0;
            int ok = 0;
            for (int i = 0; i < n; i++) {
                int l = 0;
                p.reached[0]++;
                while (l + 1 < L && in->ent[l][i] > p.thr_q16[l])
                    p.reached[++l]++;
                ok += in->ok[l][i];
            }
            p.top1 = 100.0 * ok / n;
            for (int l = 0; l < L; l++) {
                p.latency_ms += (double)p.reached[l] / n * in->latency_ms[l];
                p.energy_mj += (double)p.reached[l] / n * in->energy_mj[l];
            }
            p.met = p.top1 >= in->min_top1;
            double c = vk_objective_cost(in->objective, p.latency_ms, p.energy_mj);
            int better = !have || (p.met != best->met ? p.met
                                   : p.met ? c < best_cost - 1e-12 ||
                                                 (fabs(c - best_cost) <= 1e-12 && p.top1 > best->top1)
                                           : p.top1 > best->top1 ||
                                                 (p.top1 == best->top1 && c < best_cost - 1e-12));
            if (better) {
                *best = p;
                best_cost = c;
                have = 1;
            }
        }
}

static void test_sweep_brute(void)
{
    vk_err err = {{0}};
    uint8_t ok[3][64];
    int32_t ent[3][64];
    vk_test_seed("sweep xorshift", rng);
    for (int trial = 0; trial < 400; trial++) {
        vk_levels_sweep_in in;
        memset(&in, 0, sizeof in);
        in.n_levels = 2 + trial % 2;
        in.n = 1 + (int)(rnd() % 40);
        in.objective = (vk_objective)(trial % 3);
        int spread = 1 + (int)(rnd() % 12); /* few distinct entropies: ties */
        for (int l = 0; l < in.n_levels; l++) {
            for (int i = 0; i < in.n; i++) {
                ok[l][i] = rnd() % 100 < 50u + 20u * (unsigned)l;
                ent[l][i] = (int32_t)(rnd() % (unsigned)spread) * 1000;
            }
            in.ok[l] = ok[l];
            in.ent[l] = ent[l];
            in.latency_ms[l] = 1 + l * 2 + (rnd() % 100) / 100.0;
            in.energy_mj[l] = 3 + l * 4 + (rnd() % 100) / 50.0;
        }
        in.min_top1 = 40 + rnd() % 50;
        vk_levels_pt s, bf;
        memset(&bf, 0, sizeof bf);
        CHECK_EQ_INT(vk_levels_sweep(&in, &s, &err), VK_OK);
        brute(&in, &bf);
        CHECK_EQ_INT(s.met, bf.met);
        CHECK(fabs(vk_objective_cost(in.objective, s.latency_ms, s.energy_mj) -
                   vk_objective_cost(in.objective, bf.latency_ms, bf.energy_mj)) < 1e-9);
        CHECK(s.top1 == bf.top1);
        /* the sweep's thresholds, routed by hand, give the sweep's figures */
        int okn = 0, reached[3] = {0, 0, 0};
        for (int i = 0; i < in.n; i++) {
            int l = 0;
            reached[0]++;
            while (l + 1 < in.n_levels && ent[l][i] > s.thr_q16[l])
                reached[++l]++;
            okn += ok[l][i];
        }
        CHECK(100.0 * okn / in.n == s.top1);
        for (int l = 0; l < in.n_levels; l++)
            CHECK_EQ_INT(reached[l], s.reached[l]);
        if (vk_test_cur_fail)
            return;
    }
    /* bad sizes */
    vk_levels_sweep_in bad = {.n_levels = 4, .n = 3};
    vk_levels_pt p;
    CHECK_EQ_INT(vk_levels_sweep(&bad, &p, &err), VK_E_ARG);
    bad.n_levels = 2;
    bad.n = 0;
    CHECK_EQ_INT(vk_levels_sweep(&bad, &p, &err), VK_E_ARG);
}

/* ---- the resume rule --------------------------------------------------------- */

static void set_path(vk_level *l, int k, const char *g)
{
    vk_err err = {{0}};
    l->q = &qm[k];
    l->imgs = imgs[k];
    CHECK_EQ_INT(vk_genome_parse(g, N_LAYERS, &l->path, &err), VK_OK);
}

static void test_resume_rule(void)
{
    vk_level lv[3];
    int r[3];
    if (!ready)
        return;
    /* different checkpoints: never, even with a shared prefix */
    set_path(&lv[0], 0, "FSFS");
    set_path(&lv[1], 1, "FSFF");
    vk_levels_resume(lv, 2, r);
    CHECK_EQ_INT(r[0], 0);
    CHECK_EQ_INT(r[1], 0);
    /* the same weights: after the shared prefix */
    set_path(&lv[1], 0, "FSFF");
    vk_levels_resume(lv, 2, r);
    CHECK_EQ_INT(r[1], 3);
    /* three levels of one blob: the third follows a resumed level, from scratch */
    set_path(&lv[2], 0, "FSFF");
    set_path(&lv[1], 0, "FSSF");
    set_path(&lv[2], 0, "FSFF");
    vk_levels_resume(lv, 3, r);
    CHECK_EQ_INT(r[1], 2);
    CHECK_EQ_INT(r[2], 0);
    /* no shared prefix: 0 */
    set_path(&lv[1], 0, "SFFF");
    vk_levels_resume(lv, 2, r);
    CHECK_EQ_INT(r[1], 0);
}

/* ---- on the boards --------------------------------------------------------- */

static int32_t median_entropy(const vk_img_result *r, int n)
{
    int32_t e[N_IMG];
    for (int i = 0; i < n; i++)
        e[i] = r[i].entropy_q16;
    for (int i = 1; i < n; i++) /* insertion sort */
        for (int j = i; j > 0 && e[j - 1] > e[j]; j--) {
            int32_t t = e[j];
            e[j] = e[j - 1];
            e[j - 1] = t;
        }
    return e[n / 2];
}

/* Runs the cascade lv on board spec and checks it against each level alone,
 * routed by hand; returns the number of images that reached the last level. */
static int check_cascade(const char *spec, const vk_level *lv, int n_levels, int32_t *thr,
                         int pick_thr)
{
    vk_board *b = NULL;
    vk_err err = {{0}};
    vk_img_result alone[3][N_IMG], got[N_IMG];
    vk_measure am[3];
    vk_levels_measure m;
    uint8_t level[N_IMG];
    int reached[3] = {0, 0, 0};
    CHECK_EQ_INT(vk_board_open(spec, &b, &err), VK_OK);
    if (!b)
        return -1;
    vk_img_result *const ap[3] = {alone[0], alone[1], alone[2]};
    CHECK_EQ_INT(vk_levels_alone(b, lv, n_levels, N_IMG, ap, am, NULL, NULL, &err), VK_OK);
    if (pick_thr) /* about half the images escalate at each level */
        for (int l = 0; l + 1 < n_levels; l++)
            thr[l] = median_entropy(alone[l], N_IMG);
    CHECK_EQ_INT(vk_levels_run(b, lv, n_levels, thr, N_IMG, got, level, &m, NULL, NULL, &err),
                 VK_OK);
    if (vk_test_cur_fail) {
        fprintf(stderr, "%s: %s\n", spec, err.msg);
        vk_board_close(b);
        return -1;
    }
    /* by hand: level l's own result, escalate while its entropy > thr[l] */
    for (int i = 0; i < N_IMG; i++) {
        int l = 0;
        reached[0]++;
        while (l + 1 < n_levels && alone[l][i].entropy_q16 > thr[l])
            reached[++l]++;
        CHECK_EQ_INT(level[i], l);
        CHECK_EQ_INT(got[i].cls, alone[l][i].cls);
        CHECK_EQ_INT(got[i].entropy_q16, alone[l][i].entropy_q16);
        CHECK_EQ_INT(got[i].escalated, l > 0);
    }
    for (int l = 0; l < n_levels; l++)
        CHECK_EQ_INT(m.reached[l], reached[l]);
    /* the library's own routing agrees */
    vk_img_result rt[N_IMG];
    uint8_t lv_rt[N_IMG];
    const vk_img_result *const cap[3] = {alone[0], alone[1], alone[2]};
    vk_levels_route(cap, n_levels, thr, N_IMG, rt, lv_rt);
    CHECK(!memcmp(lv_rt, level, sizeof level));
    for (int i = 0; i < N_IMG; i++)
        CHECK(rt[i].cls == got[i].cls && rt[i].entropy_q16 == got[i].entropy_q16 &&
              rt[i].escalated == got[i].escalated);
    /* the expected cost: per measured group, its share times its figure */
    double lat = 0;
    for (int l = 0; l < n_levels; l++)
        if (m.measured[l])
            lat += (double)m.reached[l] / N_IMG * m.meas[l].latency_ms;
    CHECK(fabs(lat - m.latency_ms) < 1e-9 * (1 + lat));
    if (!strcmp(spec, "sim")) { /* modeled: a level alone costs what it costs in the cascade */
        double want = 0, want_e = 0;
        for (int l = 0; l < n_levels; l++) {
            int k = m.resume[l];
            want += (double)reached[l] / N_IMG * am[l].suffix_ms[k];
            want_e += (double)reached[l] / N_IMG * am[l].suffix_mj[k];
        }
        CHECK_EQ_INT(m.latency_src, VK_SRC_MODELED);
        if (!m.resume[1] && (n_levels < 3 || !m.resume[2])) { /* from scratch: exact */
            CHECK(fabs(want - m.latency_ms) < 1e-9 * want);
            CHECK(fabs(want_e - m.energy_mj) < 1e-9 * want_e);
        } else { /* resumed: plus the saved stream's store and load */
            CHECK(m.latency_ms >= want && m.latency_ms < want * 1.05);
        }
    } else {
        CHECK_EQ_INT(m.latency_src, VK_SRC_MEASURED);
        CHECK(m.latency_ms > 0);
    }
    vk_board_close(b);
    return reached[n_levels - 1];
}

static void test_different_checkpoints(void)
{
    vk_level lv[3];
    int32_t thr[2];
    if (!ready)
        return;
    const char *boards[] = {"sim", "cpu"};
    for (int k = 0; k < 2; k++) {
        /* two levels, two checkpoints, a shared genome prefix that must not resume */
        set_path(&lv[0], 0, "FSFS");
        set_path(&lv[1], 1, "FSFF");
        int top = check_cascade(boards[k], lv, 2, thr, 1);
        CHECK(top > 0 && top < N_IMG);
        /* three levels, three checkpoints */
        set_path(&lv[0], 2, "SSFS");
        set_path(&lv[1], 1, "FSFS");
        set_path(&lv[2], 0, "FFFF");
        top = check_cascade(boards[k], lv, 3, thr, 1);
        CHECK(top > 0);
        /* thresholds at the ends: nothing escalates, everything escalates */
        int32_t never[2] = {INT32_MAX, INT32_MAX}, always[2] = {-1, -1};
        CHECK_EQ_INT(check_cascade(boards[k], lv, 3, never, 0), 0);
        CHECK_EQ_INT(check_cascade(boards[k], lv, 3, always, 0), N_IMG);
    }
}

static void test_shared_weights(void)
{
    vk_level lv[3];
    int32_t thr[2];
    if (!ready)
        return;
    const char *boards[] = {"sim", "cpu"};
    for (int k = 0; k < 2; k++) {
        /* levels 1 and 2 share the blob and 2 encoders: one board cascade with resume */
        set_path(&lv[0], 0, "FSSS");
        set_path(&lv[1], 0, "FSFF");
        set_path(&lv[2], 1, "FFFF");
        int top = check_cascade(boards[k], lv, 3, thr, 1);
        CHECK(top >= 0);
        /* levels 2 and 3 share it */
        set_path(&lv[0], 1, "SSFS");
        set_path(&lv[1], 0, "FSFS");
        set_path(&lv[2], 0, "FSFF");
        top = check_cascade(boards[k], lv, 3, thr, 1);
        CHECK(top >= 0);
    }
}

static void test_bad(void)
{
    vk_board *b = NULL;
    vk_err err = {{0}};
    vk_level lv[3];
    vk_img_result res[N_IMG];
    uint8_t level[N_IMG];
    vk_levels_measure m;
    int32_t thr[2] = {0, 0};
    static vk_model other;
    static vk_qmodel qo;
    static int8_t io[N_IMG * VK_FX_IMG];
    if (!ready)
        return;
    CHECK_EQ_INT(vk_board_open("sim", &b, &err), VK_OK);
    if (!b)
        return;
    set_path(&lv[0], 0, "FSFS");
    set_path(&lv[1], 1, "FFFF");
    CHECK_EQ_INT(vk_levels_run(b, lv, 4, thr, N_IMG, res, level, &m, NULL, NULL, &err), VK_E_ARG);
    CHECK_EQ_INT(vk_levels_run(b, lv, 2, thr, 0, res, level, &m, NULL, NULL, &err), VK_E_ARG);
    /* a level whose model has other classes */
    vk_hparams hp = model[0].hp;
    hp.n_classes = 3;
    CHECK_EQ_INT(vk_model_alloc(&other, &hp, &err), VK_OK);
    vk_model_randomize(&other, 5);
    float *f = calloc(8 * 256, sizeof(float));
    CHECK_EQ_INT(vk_quant_calibrate(&other, f, 8, &qo, &err), VK_OK);
    free(f);
    memset(io, 0, sizeof io);
    lv[1].q = &qo;
    lv[1].imgs = io;
    CHECK_EQ_INT(vk_levels_run(b, lv, 2, thr, N_IMG, res, level, &m, NULL, NULL, &err), VK_E_ARG);
    CHECK_STR_CONTAINS(err.msg, "classes");
    vk_qmodel_free(&qo);
    vk_model_free(&other);
    vk_board_close(b);
}

int main(void)
{
    RUN(setup);
    RUN(test_sweep_brute);
    RUN(test_resume_rule);
    RUN(test_different_checkpoints);
    RUN(test_shared_weights);
    RUN(test_bad);
    for (int k = 0; k < 3; k++) {
        vk_qmodel_free(&qm[k]);
        vk_model_free(&model[k]);
    }
    return vk_test_summary("levels");
}
