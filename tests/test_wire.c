/* test_wire: the agent protocol's codec (boards/vk_wire.c) round-trips:
 * measure requests (a path and a cascade) decode to what was encoded; a
 * measure answer with random figures (any finite double in range, all its
 * bits) and results decodes bit-exact; the dataset header reads back;
 * malformed requests are refused naming the field, and answers whose
 * figures are out of range are refused before they reach the caller
 * (outputs untouched). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "boards/vk_wire.h"
#include "search/vk_rng.h"
#include "tests/vk_test.h"

#define SEED 0x5eed7172ull
#define ID_M "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID_D "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

/* The identity of the board the answers in these tests come from. */
#define ID "sim:ZCU102:0123456789abcdef"

static int same_req(const vk_wire_measure_req *a, const vk_wire_measure_req *b)
{
    return !strcmp(a->model, b->model) && !strcmp(a->dataset, b->dataset) && a->n == b->n &&
           a->n_modes == b->n_modes &&
           !memcmp(a->modes, b->modes, (size_t)a->n_modes * sizeof *a->modes) &&
           a->cascade == b->cascade &&
           (!a->cascade ||
            (!memcmp(a->modes_high, b->modes_high, (size_t)a->n_modes * sizeof *a->modes) &&
             a->threshold_q16 == b->threshold_q16 && a->resume == b->resume));
}

static void test_request_roundtrip(void)
{
    vk_rng r;
    vk_test_seed("requests", SEED);
    vk_rng_seed(&r, SEED);
    for (int it = 0; it < 200; it++) {
        vk_wire_measure_req q, back;
        char bad[128];
        memset(&q, 0, sizeof q);
        strcpy(q.model, ID_M);
        strcpy(q.dataset, ID_D);
        q.n = 1 + (int)vk_rng_below(&r, 100000);
        q.n_modes = 1 + (int)vk_rng_below(&r, VK_MAX_LAYERS);
        for (int i = 0; i < q.n_modes; i++) {
            q.modes[i] = (uint32_t)vk_rng_next(&r);
            q.modes_high[i] = (uint32_t)vk_rng_next(&r);
        }
        q.cascade = it & 1;
        if (q.cascade) {
            q.threshold_q16 = (int32_t)(uint32_t)vk_rng_next(&r);
            q.resume = (int32_t)vk_rng_below(&r, VK_MAX_LAYERS + 1);
        }
        char *s = vk_wire_measure_req_encode(&q);
        CHECK(s != NULL);
        if (!s)
            return;
        int ok = vk_wire_measure_req_decode(s, strlen(s), &back, bad, sizeof bad);
        CHECK(ok && same_req(&q, &back));
        if (!ok || !same_req(&q, &back))
            fprintf(stderr, "%s -> %s\n", s, bad);
        free(s);
    }
}

static void bad_req(const char *body, const char *field)
{
    vk_wire_measure_req q;
    char bad[128];
    memset(&q, 0x77, sizeof q);
    vk_wire_measure_req before = q;
    CHECK(!vk_wire_measure_req_decode(body, strlen(body), &q, bad, sizeof bad));
    CHECK_STR_CONTAINS(bad, field);
    CHECK(!memcmp(&q, &before, sizeof q));
}

static void test_request_malformed(void)
{
    bad_req("", "body");
    bad_req("[]", "body");
    bad_req("{\"model\":\"" ID_M "\"}", "dataset");
    bad_req("{\"model\":\"" ID_M "x\",\"dataset\":\"" ID_D "\"}", "model");
    bad_req("{\"model\":\"" ID_M "\",\"dataset\":\"" ID_D "\",\"n\":0,\"modes\":[1]}", "n");
    bad_req("{\"model\":\"" ID_M "\",\"dataset\":\"" ID_D "\",\"n\":1,\"modes\":[]}", "modes");
    bad_req("{\"model\":\"" ID_M "\",\"dataset\":\"" ID_D
            "\",\"n\":1,\"modes\":[1,2,3,4,5,6,7,8,9,10,11,12,13]}",
            "modes");
    bad_req("{\"model\":\"" ID_M "\",\"dataset\":\"" ID_D
            "\",\"n\":1,\"modes\":[1,2],\"modes_high\":[1]}",
            "modes_high");
    bad_req("{\"model\":\"" ID_M "\",\"dataset\":\"" ID_D
            "\",\"n\":1,\"modes\":[1],\"threshold_q16\":4294967296}",
            "threshold_q16");
    bad_req("{\"model\":\"" ID_M "\",\"dataset\":\"" ID_D "\",\"n\":1,\"modes\":[1],\"x\":1}",
            "x: unknown field");
}

/* A random finite double in [0, max]. */
static double any_in(vk_rng *r, double max)
{
    return vk_rng_uniform(r) * max * (vk_rng_below(r, 4) ? 1e-6 : 1);
}

static void test_answer_roundtrip(void)
{
    enum { N = 50, L = 8, K = 10 };
    vk_rng r;
    vk_img_result res[N], back[N];
    vk_measure m, mb;
    char bad[128];
    vk_test_seed("answers", SEED + 1);
    vk_rng_seed(&r, SEED + 1);
    for (int it = 0; it < 100; it++) {
        memset(&m, 0, sizeof m);
        m.n_images = N;
        m.latency_ms = any_in(&r, VK_WIRE_MAX_MS);
        m.latency_p10_ms = any_in(&r, VK_WIRE_MAX_MS);
        m.latency_p90_ms = any_in(&r, VK_WIRE_MAX_MS);
        m.latency_src = (vk_source)vk_rng_below(&r, 3);
        m.energy_mj = any_in(&r, VK_WIRE_MAX_MJ);
        m.energy_src = (vk_source)vk_rng_below(&r, 3);
        snprintf(m.note, sizeof m.note, "note %d \"quoted\" \\ back", it);
        for (int k = 0; k <= L; k++) {
            m.suffix_ms[k] = any_in(&r, VK_WIRE_MAX_MS);
            m.suffix_mj[k] = any_in(&r, VK_WIRE_MAX_MJ);
        }
        m.cycles = vk_rng_next(&r) >> 12; /* exact up to 2^53 */
        m.ddr_bytes = vk_rng_next(&r) >> 12;
        m.macs = vk_rng_next(&r) >> 12;
        m.macs_skipped = vk_rng_next(&r) >> 12;
        for (int k = 0; k < VK_STAGE_N; k++)
            m.stage_cycles[k] = vk_rng_next(&r) >> 12;
        m.n_escalated = 0;
        for (int i = 0; i < N; i++) {
            res[i].cls = (int32_t)vk_rng_below(&r, K);
            res[i].entropy_q16 = (int32_t)(uint32_t)vk_rng_next(&r);
            res[i].escalated = (uint8_t)(it & 1 ? vk_rng_below(&r, 2) : 0);
            m.n_escalated += res[i].escalated;
        }
        char *s = vk_wire_measure_ans_encode(ID, &m, res, N, L, 12.5);
        CHECK(s != NULL);
        if (!s)
            return;
        memset(&mb, 0, sizeof mb);
        int ok = vk_wire_measure_ans_decode(s, strlen(s), ID, N, L, K, it & 1, back, &mb, bad,
                                            sizeof bad);
        CHECK(ok);
        if (!ok)
            fprintf(stderr, "answer refused: %s\n", bad);
        CHECK(!memcmp(&m, &mb, sizeof m)); /* every figure, bit for bit */
        int same = 1;
        for (int i = 0; i < N; i++)
            same &= res[i].cls == back[i].cls && res[i].entropy_q16 == back[i].entropy_q16 &&
                    res[i].escalated == back[i].escalated;
        CHECK(same);
        free(s);
    }
}

static void test_answer_out_of_range(void)
{
    enum { N = 4, L = 2, K = 3 };
    vk_img_result res[N] = {{0, 5, 0}, {1, 6, 0}, {2, 7, 0}, {0, 8, 0}}, back[N], sent[N];
    vk_measure m = {.n_images = N, .latency_ms = 1, .energy_mj = 2}, mb, msent;
    char bad[128];
    struct {
        double *f;
        double v;
        const char *field;
    } cases[] = {
        {&m.latency_ms, -1, "latency_ms"},   {&m.latency_ms, 1e308, "latency_ms"},
        {&m.energy_mj, 2e9, "energy_mj"},    {&m.latency_p90_ms, -1e-9, "latency_p90_ms"},
        {&m.suffix_mj[1], -3, "suffix_mj[1]"},
    };
    memset(sent, 0x5a, sizeof sent);
    memset(&msent, 0x5a, sizeof msent);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double keep = *cases[i].f;
        *cases[i].f = cases[i].v;
        char *s = vk_wire_measure_ans_encode(ID, &m, res, N, L, 1);
        *cases[i].f = keep;
        memcpy(back, sent, sizeof back);
        memcpy(&mb, &msent, sizeof mb);
        CHECK(
            !vk_wire_measure_ans_decode(s, strlen(s), ID, N, L, K, 0, back, &mb, bad, sizeof bad));
        CHECK_STR_CONTAINS(bad, cases[i].field);
        CHECK(!memcmp(back, sent, sizeof back) && !memcmp(&mb, &msent, sizeof mb));
        free(s);
    }
}

/* An answer from a board of another identity (the agent restarted on
 * another board between open and measure) is refused, outputs untouched. */
static void test_answer_other_board(void)
{
    enum { N = 2, L = 2, K = 3 };
    vk_img_result res[N] = {{0, 5, 0}, {1, 6, 0}}, back[N], sent[N];
    vk_measure m = {.n_images = N, .latency_ms = 1, .energy_mj = 2}, mb, msent;
    char bad[320];
    char *s = vk_wire_measure_ans_encode("cpu:AMD EPYC 7B13:2t", &m, res, N, L, 1);
    memset(sent, 0x5a, sizeof sent);
    memset(&msent, 0x5a, sizeof msent);
    memcpy(back, sent, sizeof back);
    memcpy(&mb, &msent, sizeof mb);
    CHECK(s != NULL);
    if (!s)
        return;
    CHECK(!vk_wire_measure_ans_decode(s, strlen(s), ID, N, L, K, 0, back, &mb, bad, sizeof bad));
    CHECK_STR_CONTAINS(bad, "board (expected \"" ID "\"");
    CHECK(!memcmp(back, sent, sizeof back) && !memcmp(&mb, &msent, sizeof mb));
    CHECK(vk_wire_measure_ans_decode(s, strlen(s), "cpu:AMD EPYC 7B13:2t", N, L, K, 0, back, &mb,
                                     bad, sizeof bad));
    free(s);
}

static void test_dataset_header(void)
{
    uint8_t h[VK_WIRE_DS_HDR];
    uint32_t n = 0, img = 0;
    vk_wire_dataset_header(h, 70000, 785);
    CHECK(!memcmp(h, "VKDS0001", 8) && h[8] == (70000 & 255) && h[12] == (785 & 255));
    CHECK(vk_wire_dataset_header_read(h, &n, &img) && n == 70000 && img == 785);
    h[0] = 'X';
    CHECK(!vk_wire_dataset_header_read(h, &n, &img));
    vk_wire_dataset_header(h, 0, 5);
    CHECK(!vk_wire_dataset_header_read(h, &n, &img));
    CHECK(vk_wire_is_id(ID_M) && !vk_wire_is_id("ABC") && !vk_wire_is_id(ID_M "0"));
}

int main(void)
{
    RUN(test_request_roundtrip);
    RUN(test_request_malformed);
    RUN(test_answer_roundtrip);
    RUN(test_answer_out_of_range);
    RUN(test_answer_other_board);
    RUN(test_dataset_header);
    return vk_test_summary("wire");
}
