/* test_cycles: the cycle, energy and resource model of the kernel's design.
 *
 * - Loop counts: this file compiles kernels/vk_kernel.c a second time with
 *   VK_COUNT_LOOPS (every labelled loop counts its iterations) and checks,
 *   loop by loop, that vk_cycles_run predicts exactly what the C simulation
 *   executed: six model shapes (one tile; the demo's; 82 tokens over
 *   several N-tiles and K-chunks; odd sizes with an MLP that is not a
 *   multiple of 64; one head; one DeiT-S-shaped encoder) and paths that mix every
 *   mode (full, skip, shared heads, reuse, token pruning, FFN sparsity),
 *   saving and resuming.
 * - The engine's packed multiply (two int8 products in one DSP48E2) against
 *   plain products for every operand value.
 * - One GEMM's cycles worked out by hand, skipping, pruning and FFN
 *   sparsity lowering the count, the cascade mean, energy and roofline.
 * - Resources: the on-chip arrays the resource model counts are exactly the
 *   kernel's (bytes), and the design fits the board file's budgets. */
#define VK_COUNT_LOOPS /* before any kernel header: VK_TRIP counts */
#include <math.h>
#include <string.h>

#include "boards/vk_cycles.h"
#include "boards/vk_resource.h"
#include "host/vk_quant.h"
#include "tests/vk_test.h"

/* the kernel again, counting its loops, under another name */
#define vk_kernel_top vk_kernel_top_counted
#define vk_kernel_mem_bytes vk_kernel_mem_bytes_counted
#include "kernels/vk_kernel.c"

static uint64_t rng = 0x243F6A8885A308D3ull;
static uint64_t next_u(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static vk_cycles_hw hw;
static int hw_ok;

typedef struct {
    const char *name;
    vk_hparams hp;
    int n_paths;
} shape;

/* A random path the kernel accepts (reuse after computed attention with no
 * pruning since; pruning only with computed attention). */
static void random_path(int n_layers, uint32_t *modes)
{
    static const int keeps[3] = {85, 70, 50}, ffns[3] = {0, 25, 50};
    int src = 0;
    for (int l = 0; l < VK_MAX_LAYERS; l++)
        modes[l] = VK_MODE(VK_ATTN_FULL);
    for (int l = 0; l < n_layers; l++) {
        int a = (int)(next_u() % 4), keep = 100;
        if (a == VK_ATTN_REUSE && !src)
            a = VK_ATTN_SHARED;
        if ((a == VK_ATTN_FULL || a == VK_ATTN_SHARED) && next_u() % 3 == 0)
            keep = keeps[next_u() % 3];
        modes[l] = VK_MODE_FULL_WORD(a, keep, ffns[next_u() % 3]);
        src = (src || a == VK_ATTN_FULL || a == VK_ATTN_SHARED) && keep == 100;
    }
}

/* Runs the counting kernel and the model on one configuration; every
 * labelled loop's count must agree. Returns the kernel's status. */
static int32_t compare(const char *what, const vk_qmodel *q, const vk_cycles_dims *d,
                       const uint32_t *modes, int start, int save, const int8_t *img,
                       int32_t *act)
{
    uint32_t cfg[VK_CFG_WORDS];
    int32_t out[VK_OUT_WORDS];
    vk_cycles_count c;
    int bad = 0;
    vk_cfg_init(cfg, modes, d->layers, start, save);
    vk_loop_trips_reset();
    {
        const vk_wword *w = (const vk_wword *)(const void *)q->wt;
        static uint8_t ps[VK_PSPILL_BYTES];
        vk_kernel_top_counted(w, w, w, w, (const vk_pword *)(const void *)q->par, cfg, img, act,
                              out, ps);
    }
    CHECK_EQ_INT(out[VK_OUT_STATUS], VK_KSTAT_OK);
    if (out[VK_OUT_STATUS] != VK_KSTAT_OK)
        return out[VK_OUT_STATUS];
    vk_cycles_run(&hw, d, modes, start, save,
                  start ? vk_cycles_tokens_after(d, modes, 0, start, d->tokens) : 0, &c);
#define VK_NAME(id, name) name,
    static const char *names[] = {VK_LOOP_LIST(VK_NAME)};
#undef VK_NAME
    for (int i = 0; i < VK_L_N; i++)
        if (c.trips[i] != vk_loop_trips[i]) {
            if (!bad++)
                fprintf(stderr, "%s (start %d, save %d):\n", what, start, save);
            fprintf(stderr, "  %-13s model %llu, C-sim %llu\n", names[i],
                    (unsigned long long)c.trips[i], (unsigned long long)vk_loop_trips[i]);
        }
    CHECK_EQ_INT(bad, 0);
    return VK_KSTAT_OK;
}

static void test_loop_counts(void)
{
    static const shape shapes[] = {
        {"tiny", {8, 4, 2, 16, 4, 2, 128, 5, 1e-6f, VK_ACT_GELU, 0, 0}, 24},
        {"demo", {28, 7, 1, 64, 8, 4, 256, 10, 1e-6f, VK_ACT_GELU, 0, 0}, 8},
        {"tiles", {27, 3, 2, 80, 3, 2, 320, 70, 1e-6f, VK_ACT_GELU, 0, 0}, 6},
        {"odd", {12, 2, 1, 48, 5, 3, 200, 3, 1e-6f, VK_ACT_GELU, 0, 0}, 6},
        {"one head", {8, 4, 1, 32, 3, 1, 64, 4, 1e-6f, VK_ACT_GELU, 0, 0}, 8},
        {"deits", {224, 16, 3, 384, 1, 6, 1536, 1000, 1e-6f, VK_ACT_GELU, 0, 0}, 3},
    };
    if (!hw_ok)
        return;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const vk_hparams *hp = &shapes[s].hp;
        vk_model m;
        vk_qmodel q;
        vk_cycles_dims d;
        vk_err err = {{0}};
        size_t img_n = (size_t)hp->n_channels * hp->image_size * hp->image_size;
        float *cal = malloc(2 * img_n * sizeof(float));
        int8_t *img = malloc(img_n);
        int32_t *act = NULL;
        CHECK(cal && img);
        if (!cal || !img || vk_model_alloc(&m, hp, &err) != VK_OK) {
            free(cal);
            free(img);
            CHECK(0);
            continue;
        }
        vk_model_randomize(&m, 11 + s);
        for (size_t i = 0; i < 2 * img_n; i++)
            cal[i] = (float)((double)(next_u() % 4000) / 1000.0 - 2.0);
        CHECK_EQ_INT(vk_quant_calibrate(&m, cal, 2, &q, &err), VK_OK);
        vk_quant_input(&q, cal, img);
        vk_cycles_dims_from_par(q.par, &d);
        act = calloc(vk_qmodel_act_n(&q), sizeof *act);
        for (int p = 0; p < shapes[s].n_paths && act; p++) {
            uint32_t modes[VK_MAX_LAYERS];
            char what[96];
            if (p == 0)
                for (int l = 0; l < VK_MAX_LAYERS; l++)
                    modes[l] = VK_MODE(VK_ATTN_FULL);
            else if (p == 1)
                for (int l = 0; l < VK_MAX_LAYERS; l++)
                    modes[l] = VK_MODE(VK_ATTN_SKIP);
            else
                random_path(d.layers, modes);
            snprintf(what, sizeof what, "%s path %d", shapes[s].name, p);
            compare(what, &q, &d, modes, 0, 0, img, act);
            if (d.layers > 1 && p >= 2) { /* save after k, then resume from it */
                int k = 1 + (int)(next_u() % (uint64_t)(d.layers - 1));
                compare(what, &q, &d, modes, 0, k, img, act);
                /* a resumed suffix may not reuse a source before k: skip those */
                int ok = 1, src = 0;
                for (int l = k; l < d.layers; l++) {
                    uint32_t a = VK_MODE_ATTN(modes[l]);
                    if (a == VK_ATTN_REUSE && !src)
                        ok = 0;
                    src = (src || a == VK_ATTN_FULL || a == VK_ATTN_SHARED) &&
                          !VK_MODE_PRUNES(modes[l]);
                }
                if (ok)
                    compare(what, &q, &d, modes, k, 0, img, act);
            }
        }
        free(act);
        free(cal);
        free(img);
        vk_qmodel_free(&q);
        vk_model_free(&m);
    }
}

/* vk_k_mac2 against x * w0 and x * w1 for every streamed x (-128..255)
 * and every pair of int8 weights. */
static void test_packed_mac(void)
{
    long bad = 0;
    for (int x = -128; x <= 255; x++)
        for (int w0 = -128; w0 <= 127; w0++)
            for (int w1 = -128; w1 <= 127; w1++) {
                int32_t p0, p1;
                vk_k_mac2(x, w0, w1, &p0, &p1);
                bad += p0 != x * w0 || p1 != x * w1;
            }
    CHECK_EQ_INT(bad, 0);
}

/* A skipped encoder's MLP by hand, with the shipped parameters (axi_latency
 * 40, engine_depth 12, pipeline_depth 8, step_overhead 4, div_cycles 68),
 * on the demo's shape: 17 tokens, 64 wide, MLP 256. Its op list is LN2,
 * FC1 (64 -> 256: 4 tiles of one block, 4 groups), FC2 (256 -> 64: one tile
 * of 4 blocks, one group). A group's load is 256 beats + 40 = 296 cycles.
 *   LN2: 17 tokens: prep 17 + (32 + 68) = 117, out 17 x 4 + 8 = 76: 193,
 *     and beside it FC1's first steps (groups 0 and 1, registers 64 + 8):
 *     296 + 296 + 72 = 664; 664 - 193 = 471 cycles more, charged to MLP.
 *   FC1 from step 2 (each step + 4):
 *     s2: load g2 296 | engine g0 (64 + 12 = 76)                    -> 300
 *     s3: load g3 296 | engine g1 76 | epilogue tile 0 (17 x 4 + 8 = 76) -> 300
 *     s4: engine g2 76 | epilogue tile 1 76                          ->  80
 *     s5: engine g3 76 | epilogue tile 2 76                          ->  80
 *     s6: drain tile 3 76 | FC2's first steps: g0 296 + registers 72 -> 372
 *   FC2 from step 2: engine 4 x 64 + 12 = 268 -> 272; drain 76 -> 80.
 *   MLP = 471 + 1132 + 352 = 1955. */
static void test_gemm_by_hand(void)
{
    vk_cycles_dims d = {28, 7, 1, 64, 1, 4, 256, 10, 17, 1};
    uint32_t skip[VK_MAX_LAYERS] = {VK_MODE(VK_ATTN_SKIP)};
    vk_cycles_count a, b;
    if (!hw_ok)
        return;
    CHECK_EQ_INT(hw.axi_latency, 40);
    CHECK_EQ_INT(hw.engine_depth, 12);
    CHECK_EQ_INT(hw.pipeline_depth, 8);
    CHECK_EQ_INT(hw.step_overhead, 4);
    CHECK_EQ_INT(hw.div_cycles, 68);
    vk_cycles_run(&hw, &d, skip, 0, 0, 0, &a);
    CHECK_EQ_INT(a.stage_cycles[VK_STAGE_MLP], 471 + 1132 + 352);
    /* plus the patch embedding's and the classifier's one block each */
    CHECK_EQ_INT(a.trips[VK_L_ENG_MAC], 4 * 64 + 4 * 64 + 64 + 64);
    CHECK_EQ_INT(a.trips[VK_L_WL_BEAT], 4 * 256 + 256 + 256 + 256);
    CHECK_EQ_INT(a.macs, 2ull * 17 * 64 * 256 + 16ull * 49 * 64 + 64ull * 10);
    /* FFN sparsity 50%: FC1 keeps 2 tiles, FC2 2 chunks */
    skip[0] = VK_MODE_FULL_WORD(VK_ATTN_SKIP, 100, 50);
    vk_cycles_run(&hw, &d, skip, 0, 0, 0, &b);
    CHECK(b.stage_cycles[VK_STAGE_MLP] < a.stage_cycles[VK_STAGE_MLP]);
    CHECK_EQ_INT(b.trips[VK_L_ENG_MAC], 2 * 64 + 2 * 64 + 64 + 64);
    CHECK_EQ_INT(b.macs, 2ull * 17 * 64 * 128 + 16ull * 49 * 64 + 64ull * 10);
}

static void test_modes_lower_cost(void)
{
    vk_cycles_dims d = {224, 16, 3, 384, 12, 6, 1536, 1000, 197, 1};
    uint32_t m[VK_MAX_LAYERS];
    vk_cycles_count full, cheap;
    if (!hw_ok)
        return;
    for (int l = 0; l < VK_MAX_LAYERS; l++)
        m[l] = VK_MODE(VK_ATTN_FULL);
    vk_cycles_run(&hw, &d, m, 0, 0, 0, &full);
    static const uint32_t alt[] = {VK_ATTN_SKIP, VK_ATTN_SHARED, VK_ATTN_REUSE};
    for (size_t i = 0; i < 3; i++) {
        m[5] = VK_MODE(alt[i]);
        vk_cycles_run(&hw, &d, m, 0, 0, 0, &cheap);
        CHECK(cheap.cycles < full.cycles);
        CHECK(cheap.macs < full.macs);
    }
    m[5] = VK_MODE_FULL_WORD(VK_ATTN_FULL, 50, 0); /* half the tokens from encoder 5 */
    CHECK_EQ_INT(vk_cycles_run(&hw, &d, m, 0, 0, 0, &cheap), 1 + 98);
    CHECK(cheap.cycles < full.cycles && cheap.stage_cycles[VK_STAGE_PRUNE] > 0);
    CHECK_EQ_INT(vk_cycles_tokens_after(&d, m, 0, 6, 197), 99);
    CHECK_EQ_INT(vk_cycles_tokens_after(&d, m, 0, 5, 197), 197);
}

static void test_measure_and_energy(void)
{
    vk_cycles_dims d = {28, 7, 1, 64, 8, 4, 256, 10, 17, 1};
    uint32_t lo[VK_MAX_LAYERS], hi[VK_MAX_LAYERS];
    vk_cycles_count a, b, s;
    vk_measure m;
    if (!hw_ok)
        return;
    for (int l = 0; l < VK_MAX_LAYERS; l++) {
        hi[l] = VK_MODE(VK_ATTN_FULL);
        lo[l] = l < 3 ? hi[l] : VK_MODE(VK_ATTN_SKIP);
    }
    /* a cascade over 10 images, 4 escalated, high path resuming after 3 */
    vk_path_req req = {.modes = lo, .modes_high = hi, .resume = 3};
    vk_cycles_measure(&hw, &d, &req, 10, 4, &m);
    vk_cycles_run(&hw, &d, lo, 0, 3, 0, &a);
    vk_cycles_run(&hw, &d, hi, 3, 0, 17, &b);
    CHECK(fabs(m.latency_ms - (vk_cycles_ms(&hw, (double)a.cycles) +
                               0.4 * vk_cycles_ms(&hw, (double)b.cycles))) < 1e-12);
    CHECK(fabs(m.energy_mj - (vk_cycles_mj(&hw, &a) + 0.4 * vk_cycles_mj(&hw, &b))) < 1e-12);
    CHECK_EQ_INT(m.latency_src, VK_SRC_MODELED);
    CHECK_EQ_INT(m.n_escalated, 4);
    CHECK(m.suffix_ms[3] == vk_cycles_ms(&hw, (double)b.cycles));
    vk_cycles_run(&hw, &d, hi, 0, 0, 0, &s);
    CHECK(m.suffix_ms[0] == vk_cycles_ms(&hw, (double)s.cycles));
    /* energy = static + per MAC + per DDR byte + per on-chip byte */
    double e = hw.static_power_w * vk_cycles_ms(&hw, (double)s.cycles) +
               1e-9 * (hw.pj_per_mac * (double)s.macs_issued +
                       hw.pj_per_ddr_byte * (double)s.ddr_bytes +
                       hw.pj_per_sram_byte * (double)s.sram_bytes);
    CHECK(fabs(vk_cycles_mj(&hw, &s) - e) < 1e-12);
    CHECK(s.macs_issued >= s.macs);
    /* roofline: the weight stream binds for the 17-token demo */
    double w = vk_cycles_ms(&hw, (double)s.wt_bytes / 64.0);
    CHECK(fabs(vk_cycles_roofline_ms(&hw, &s) - w) < 1e-12);
    CHECK(vk_cycles_ms(&hw, (double)s.cycles) >= vk_cycles_roofline_ms(&hw, &s));
}

static void test_resources(void)
{
    vk_res r;
    vk_err err = {{0}};
    if (!hw_ok)
        return;
    vk_resource_estimate(&r);
    CHECK_EQ_INT(r.onchip_bytes, vk_kernel_mem_bytes_counted());
    CHECK(r.part[0].dsp == VK_PE * VK_LANES / 2); /* two MACs per DSP48E2 */
    CHECK_EQ_INT(vk_resource_check(&r, &hw, &err), VK_OK);
    CHECK(r.dsp <= 0.9 * 2520 && r.bram36 <= 0.8 * 912);
    /* the BRAM mapping: 2048 x 9 fits one BRAM18, 1024 x 32 needs two */
    CHECK(vk_resource_bram36(2048, 8, 1, 1) == 0.5);
    CHECK(vk_resource_bram36(1024, 32, 1, 1) == 1.0);
    CHECK(vk_resource_bram36(64, 8, 4, 1) == 0); /* 512 bits a bank: LUTRAM */
    vk_cycles_hw small = hw;
    small.dsp_total = 2000;
    CHECK_EQ_INT(vk_resource_check(&r, &small, &err), VK_E_UNSUPPORTED);
    CHECK_STR_CONTAINS(err.msg, "DSP48E2");
}

static void test_dims_check(void)
{
    vk_cycles_dims ok = {224, 16, 3, 768, 12, 12, 3072, 1000, 198, 2}, bad = ok;
    vk_err err = {{0}};
    CHECK_EQ_INT(vk_cycles_dims_check(&ok, "m", &err), VK_OK);
    bad.tokens = 199;
    CHECK_EQ_INT(vk_cycles_dims_check(&bad, "m", &err), VK_E_UNSUPPORTED);
    CHECK_STR_CONTAINS(err.msg, "tokens");
    bad = ok;
    bad.dim = 1536;
    CHECK_EQ_INT(vk_cycles_dims_check(&bad, "m", &err), VK_E_UNSUPPORTED);
    CHECK_STR_CONTAINS(err.msg, "dim 1536");
}

int main(void)
{
    vk_err err = {{0}};
    hw_ok = vk_cycles_hw_load("boards/zcu102.json", &hw, &err) == VK_OK &&
            vk_cycles_hw_check_kernel(&hw, "boards/zcu102.json", &err) == VK_OK;
    CHECK(hw_ok);
    if (!hw_ok)
        fprintf(stderr, "boards/zcu102.json: %s\n", err.msg);
    RUN(test_packed_mac);
    RUN(test_loop_counts);
    RUN(test_gemm_by_hand);
    RUN(test_modes_lower_cost);
    RUN(test_measure_and_energy);
    RUN(test_resources);
    RUN(test_dims_check);
    return vk_test_summary("cycles");
}
