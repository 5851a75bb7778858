/* test_board_sim: the sim board on a small random model — per-image class
 * and entropy equal a direct vk_kernel_top call byte for byte, skipping
 * changes results, cascades route by entropy on the board (threshold -1
 * escalates everything, INT32_MAX nothing), a resumed high path equals the
 * high path from scratch, the counts are the model's, thread counts do not
 * change results, and bad requests and specs are errors. With models/demo
 * present, also 200 Fashion-MNIST images end to end through vk_workload. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "boards/vk_board.h"
#include "boards/vk_cycles.h"
#include "host/vk_quant.h"
#include "host/vk_workload.h"
#include "kernels/vk_kernel.h"
#include "tests/vk_fixture.h"
#include "tests/vk_test.h"

#define N_IMG 12
#define N_LAYERS 4

static vk_model model;
static vk_qmodel qm;
static int8_t imgs[N_IMG * 256];
static int ready;

static void setup(void)
{
    vk_err err = {{0}};
    CHECK_EQ_INT(vk_fixture_tiny(N_LAYERS, N_IMG, 0x9E3779B97F4A7C15ull, 11, &model, &qm, imgs, &err),
                 VK_OK);
    ready = !vk_test_cur_fail;
}

static vk_board *open_loaded(void)
{
    return vk_fixture_board("sim", &qm, imgs, N_IMG);
}

static int last_done, n_calls;
static void on_progress(void *ctx, int done, int total)
{
    (void)ctx;
    CHECK(done > last_done && done <= total);
    last_done = done;
    n_calls++;
}

static void test_equals_kernel(void)
{
    vk_board *b;
    vk_img_result res[N_IMG], want;
    vk_measure m;
    vk_err err = {{0}};
    vk_cycles_hw hw;
    vk_cycles_dims d;
    vk_cycles_count c;
    if (!ready || !(b = open_loaded()))
        return;
    vk_path_req req = {.modes = VK_FX_FULL, .progress = on_progress};
    last_done = n_calls = 0;
    CHECK_EQ_INT(vk_board_measure(b, &req, N_IMG, res, &m, &err), VK_OK);
    CHECK_EQ_INT(last_done, N_IMG);
    CHECK(n_calls >= 1);
    for (int i = 0; i < N_IMG; i++) {
        vk_fixture_direct(&qm, VK_FX_FULL, &imgs[i * 256], &want);
        CHECK_EQ_INT(res[i].cls, want.cls);
        CHECK_EQ_INT(res[i].entropy_q16, want.entropy_q16);
        CHECK_EQ_INT(res[i].escalated, 0);
    }
    CHECK_EQ_INT(m.n_images, N_IMG);
    CHECK_EQ_INT(m.latency_src, VK_SRC_MODELED);
    CHECK_EQ_INT(m.energy_src, VK_SRC_MODELED);
    CHECK_STR_CONTAINS(m.note, "modeled");
    /* the counts are the model's for this path */
    CHECK_EQ_INT(vk_cycles_hw_load("boards/zcu102.json", &hw, &err), VK_OK);
    vk_cycles_dims_from_par(qm.par, &d);
    vk_cycles_run(&hw, &d, VK_FX_FULL, 0, 0, 0, &c);
    CHECK_EQ_INT(m.cycles, c.cycles);
    CHECK_EQ_INT(m.macs, c.macs);
    CHECK_EQ_INT(m.ddr_bytes, c.ddr_bytes);
    CHECK_EQ_INT(m.macs_skipped, 0);
    CHECK(m.latency_ms > 0 && m.latency_ms == m.suffix_ms[0]);
    /* fewer images than loaded: the first n */
    last_done = 0;
    CHECK_EQ_INT(vk_board_measure(b, &req, 3, res, &m, &err), VK_OK);
    CHECK_EQ_INT(m.n_images, 3);
    CHECK_EQ_INT(last_done, 3);
    vk_board_close(b);
}

static void test_skip(void)
{
    vk_board *b;
    vk_img_result full[N_IMG], half[N_IMG], want;
    vk_measure mf, mh;
    vk_err err = {{0}};
    int differ = 0;
    if (!ready || !(b = open_loaded()))
        return;
    vk_path_req rf = {.modes = VK_FX_FULL}, rh = {.modes = VK_FX_HALF};
    CHECK_EQ_INT(vk_board_measure(b, &rf, N_IMG, full, &mf, &err), VK_OK);
    CHECK_EQ_INT(vk_board_measure(b, &rh, N_IMG, half, &mh, &err), VK_OK);
    for (int i = 0; i < N_IMG; i++) {
        vk_fixture_direct(&qm, VK_FX_HALF, &imgs[i * 256], &want);
        CHECK_EQ_INT(half[i].cls, want.cls);
        CHECK_EQ_INT(half[i].entropy_q16, want.entropy_q16);
        differ += half[i].entropy_q16 != full[i].entropy_q16;
    }
    CHECK(differ > 0);
    CHECK(mh.latency_ms < mf.latency_ms);
    CHECK(mh.energy_mj < mf.energy_mj);
    CHECK(mh.macs_skipped > 0 && mh.macs + mh.macs_skipped == mf.macs);
    CHECK(mh.stage_cycles[VK_STAGE_QKV] * 2 == mf.stage_cycles[VK_STAGE_QKV]);
    vk_board_close(b);
}

static void test_cascade(void)
{
    vk_board *b;
    vk_img_result full[N_IMG], low[N_IMG], res[N_IMG];
    vk_measure m, ml, mf;
    vk_err err = {{0}};
    if (!ready || !(b = open_loaded()))
        return;
    vk_path_req rf = {.modes = VK_FX_FULL}, rl = {.modes = VK_FX_NONE};
    CHECK_EQ_INT(vk_board_measure(b, &rf, N_IMG, full, &mf, &err), VK_OK);
    CHECK_EQ_INT(vk_board_measure(b, &rl, N_IMG, low, &ml, &err), VK_OK);

    /* threshold -1: everything escalates, results are the high path's */
    vk_path_req all = {.modes = VK_FX_NONE, .modes_high = VK_FX_FULL, .threshold_q16 = -1};
    CHECK_EQ_INT(vk_board_measure(b, &all, N_IMG, res, &m, &err), VK_OK);
    CHECK(vk_fixture_same_results(res, full, N_IMG, 0));
    CHECK_EQ_INT(m.n_escalated, N_IMG);
    for (int i = 0; i < N_IMG; i++)
        CHECK_EQ_INT(res[i].escalated, 1);
    CHECK(m.latency_ms > mf.latency_ms); /* low path + high from scratch */

    /* INT32_MAX: nothing escalates, results are the low path's */
    vk_path_req none = {.modes = VK_FX_NONE, .modes_high = VK_FX_FULL, .threshold_q16 = INT32_MAX};
    CHECK_EQ_INT(vk_board_measure(b, &none, N_IMG, res, &m, &err), VK_OK);
    CHECK(vk_fixture_same_results(res, low, N_IMG, 0));
    CHECK_EQ_INT(m.n_escalated, 0);
    CHECK(m.latency_ms == ml.latency_ms);

    /* a threshold in between: escalated exactly where low entropy > threshold */
    int32_t thr = low[0].entropy_q16;
    int n_esc = 0;
    vk_path_req mid = {.modes = VK_FX_NONE, .modes_high = VK_FX_FULL, .threshold_q16 = thr};
    CHECK_EQ_INT(vk_board_measure(b, &mid, N_IMG, res, &m, &err), VK_OK);
    for (int i = 0; i < N_IMG; i++) {
        int esc = low[i].entropy_q16 > thr;
        n_esc += esc;
        CHECK_EQ_INT(res[i].escalated, esc);
        CHECK_EQ_INT(res[i].cls, esc ? full[i].cls : low[i].cls);
        CHECK_EQ_INT(res[i].entropy_q16, esc ? full[i].entropy_q16 : low[i].entropy_q16);
    }
    CHECK_EQ_INT(m.n_escalated, n_esc);
    vk_board_close(b);
}

/* The high path resumed after k encoders of the low path (which shares
 * them) equals the high path from scratch, byte for byte. */
static void test_resume_exact(void)
{
    vk_board *b;
    vk_img_result full[N_IMG], res[N_IMG];
    vk_measure m, mf;
    vk_err err = {{0}};
    vk_cycles_hw hw;
    vk_cycles_dims d;
    vk_cycles_count lo, hi;
    if (!ready || !(b = open_loaded()))
        return;
    CHECK_EQ_INT(vk_cycles_hw_load("boards/zcu102.json", &hw, &err), VK_OK);
    vk_cycles_dims_from_par(qm.par, &d);
    vk_path_req rf = {.modes = VK_FX_FULL};
    CHECK_EQ_INT(vk_board_measure(b, &rf, N_IMG, full, &mf, &err), VK_OK);
    for (int k = 1; k <= N_LAYERS; k++) {
        uint32_t lowm[VK_MAX_LAYERS];
        for (int l = 0; l < N_LAYERS; l++)
            lowm[l] = l < k ? VK_FX_FULL[l] : VK_FX_NONE[l];
        vk_path_req r = {.modes = lowm, .modes_high = VK_FX_FULL, .threshold_q16 = -1, .resume = k};
        CHECK_EQ_INT(vk_board_measure(b, &r, N_IMG, res, &m, &err), VK_OK);
        CHECK(vk_fixture_same_results(res, full, N_IMG, 0));
        CHECK_EQ_INT(m.n_escalated, N_IMG);
        /* cost: low path with act save + high suffix from k with act load */
        vk_cycles_run(&hw, &d, lowm, 0, k, 0, &lo);
        vk_cycles_run(&hw, &d, VK_FX_FULL, k, 0, 0, &hi);
        CHECK_EQ_INT(m.cycles, lo.cycles + hi.cycles);
        CHECK(m.suffix_ms[k] == vk_cycles_ms(&hw, (double)hi.cycles));
    }
    vk_board_close(b);
}

static void test_threads(void)
{
    vk_board *b = NULL;
    vk_img_result one[N_IMG], three[N_IMG];
    vk_measure m;
    vk_err err = {{0}};
    char desc[256];
    vk_path_req r = {.modes = VK_FX_HALF, .modes_high = VK_FX_FULL, .threshold_q16 = 30000, .resume = 1};
    if (!ready)
        return;
    setenv("VK_SIM_THREADS", "1", 1);
    b = open_loaded();
    if (b) {
        vk_board_describe(b, desc, sizeof desc);
        CHECK_STR_CONTAINS(desc, "1 threads");
        CHECK_EQ_INT(vk_board_measure(b, &r, N_IMG, one, &m, &err), VK_OK);
        vk_board_close(b);
    }
    setenv("VK_SIM_THREADS", "3", 1);
    b = open_loaded();
    if (b) {
        CHECK_EQ_INT(vk_board_measure(b, &r, N_IMG, three, &m, &err), VK_OK);
        CHECK(vk_fixture_same_results(one, three, N_IMG, 0));
        for (int i = 0; i < N_IMG; i++)
            CHECK_EQ_INT(one[i].escalated, three[i].escalated);
        vk_board_close(b);
    }
    setenv("VK_SIM_THREADS", "0", 1);
    CHECK_EQ_INT(vk_board_open("sim", &b, &err), VK_E_ARG);
    CHECK_STR_CONTAINS(err.msg, "VK_SIM_THREADS");
    unsetenv("VK_SIM_THREADS");
}

static void test_bad_requests(void)
{
    vk_board *b = NULL;
    vk_img_result res[N_IMG + 1];
    vk_measure m;
    vk_err err = {{0}};
    uint32_t reuse[VK_MAX_LAYERS], bad[VK_MAX_LAYERS];
    vk_path_req r = {.modes = VK_FX_FULL};
    if (!ready)
        return;
    /* order: a model before data, data before measuring */
    CHECK_EQ_INT(vk_board_open("sim", &b, &err), VK_OK);
    if (!b)
        return;
    CHECK_EQ_INT(vk_board_load_data(b, imgs, N_IMG, &err), VK_E_ARG);
    CHECK_STR_CONTAINS(err.msg, "model");
    CHECK_EQ_INT(vk_board_measure(b, &r, 1, res, &m, &err), VK_E_ARG);
    CHECK_EQ_INT(vk_board_load(b, &qm, &err), VK_OK);
    CHECK_EQ_INT(vk_board_measure(b, &r, 1, res, &m, &err), VK_E_ARG);
    CHECK_EQ_INT(vk_board_load_data(b, imgs, 0, &err), VK_E_ARG);
    CHECK_EQ_INT(vk_board_load_data(b, imgs, N_IMG, &err), VK_OK);

    CHECK_EQ_INT(vk_board_measure(b, &r, N_IMG + 1, res, &m, &err), VK_E_ARG);
    CHECK_STR_CONTAINS(err.msg, "13 images, 12 loaded");
    CHECK_EQ_INT(vk_board_measure(b, &r, 0, res, &m, &err), VK_E_ARG);
    vk_path_req nomodes = {.modes = NULL};
    CHECK_EQ_INT(vk_board_measure(b, &nomodes, 1, res, &m, &err), VK_E_ARG);
    CHECK_STR_CONTAINS(err.msg, "mode");

    /* a well-formed mode word the kernel cannot run (reuse with no earlier
       attention to reuse): the kernel says so */
    memcpy(reuse, VK_FX_FULL, sizeof reuse);
    reuse[0] = VK_MODE(VK_ATTN_REUSE);
    vk_path_req rr = {.modes = reuse};
    CHECK_EQ_INT(vk_board_measure(b, &rr, N_IMG, res, &m, &err), VK_E_UNSUPPORTED);
    CHECK_STR_CONTAINS(err.msg, "kernel status 3");
    CHECK_STR_CONTAINS(err.msg, "cannot run");
    /* ... also in a cascade's high path only */
    vk_path_req rh = {.modes = VK_FX_FULL, .modes_high = reuse, .threshold_q16 = -1};
    CHECK_EQ_INT(vk_board_measure(b, &rh, N_IMG, res, &m, &err), VK_E_UNSUPPORTED);
    CHECK_STR_CONTAINS(err.msg, "high path");
    /* a malformed mode word */
    memcpy(bad, VK_FX_FULL, sizeof bad);
    bad[1] = 0x7u | (VK_KEEP_ALL << VK_KEEP_SHIFT);
    vk_path_req rb = {.modes = bad};
    CHECK_EQ_INT(vk_board_measure(b, &rb, 1, res, &m, &err), VK_E_ARG);
    CHECK_STR_CONTAINS(err.msg, "encoder 1");
    /* cascade resume out of range, or on paths that differ before it */
    vk_path_req ro = {.modes = VK_FX_FULL, .modes_high = VK_FX_FULL, .resume = N_LAYERS + 1};
    CHECK_EQ_INT(vk_board_measure(b, &ro, 1, res, &m, &err), VK_E_ARG);
    CHECK_STR_CONTAINS(err.msg, "resume");
    ro.resume = -1;
    CHECK_EQ_INT(vk_board_measure(b, &ro, 1, res, &m, &err), VK_E_ARG);
    vk_path_req rd = {.modes = VK_FX_HALF, .modes_high = VK_FX_FULL, .resume = 2};
    CHECK_EQ_INT(vk_board_measure(b, &rd, 1, res, &m, &err), VK_E_ARG);
    CHECK_STR_CONTAINS(err.msg, "differ at encoder 1");
    CHECK_EQ_INT(vk_board_measure(b, NULL, 1, res, &m, &err), VK_E_ARG);
    /* a new model forgets the images */
    CHECK_EQ_INT(vk_board_load(b, &qm, &err), VK_OK);
    CHECK_EQ_INT(vk_board_measure(b, &r, 1, res, &m, &err), VK_E_ARG);
    vk_board_close(b);
    vk_board_close(NULL);
}

static void test_specs(void)
{
    static const char *bad[] = {"foo",          "simx",    "sim:",          "xrt:abc",
                                "xrt:0:",       "http://", "http://host:0", "http://host:99999",
                                "http://h:80x", ""};
    vk_board *b = (vk_board *)0x1;
    vk_err err = {{0}};
    CHECK_EQ_INT(vk_board_open("foo", &b, &err), VK_E_NOTFOUND);
    CHECK_STR_CONTAINS(err.msg, "'foo'");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = 0;
        CHECK(vk_board_open(bad[i], &b, &err) != VK_OK);
        CHECK_STR_CONTAINS(err.msg, bad[i]);
    }
    CHECK(b == (vk_board *)0x1); /* untouched on error */
    /* options: a file then key=value; unknown keys and bad values named */
    static const struct {
        const char *spec, *want;
    } bad_opts[] = {
        {"sim:threads=0", "threads='0'"},
        {"sim:verify=-1", "verify='-1'"},
        {"sim:clock=100", "unknown option 'clock' (expected threads, verify)"},
        {"sim:threads=2,boards/zcu102.json", "option 'boards/zcu102.json' is not key=value"},
    };
    for (size_t i = 0; i < sizeof bad_opts / sizeof bad_opts[0]; i++) {
        CHECK_EQ_INT(vk_board_open(bad_opts[i].spec, &b, &err), VK_E_ARG);
        CHECK_STR_CONTAINS(err.msg, bad_opts[i].want);
    }
    CHECK(b == (vk_board *)0x1);
    {
        vk_board *o = NULL, *d = NULL;
        char desc[512];
        CHECK_EQ_INT(vk_board_open("sim:boards/zcu102.json,threads=3,verify=0", &o, &err), VK_OK);
        CHECK_EQ_INT(vk_board_open("sim", &d, &err), VK_OK);
        if (o && d) {
            vk_board_describe(o, desc, sizeof desc);
            CHECK_STR_CONTAINS(desc, "0 images a request checked on the C simulation, 3 threads");
            CHECK(!strcmp(vk_board_identity(o), vk_board_identity(d))); /* same figures */
        }
        vk_board_close(o);
        vk_board_close(d);
    }
    CHECK_EQ_INT(strcmp(vk_source_str(VK_SRC_MODELED), "modeled"), 0);
    CHECK_EQ_INT(strcmp(vk_source_str(VK_SRC_MEASURED), "measured"), 0);
    CHECK_EQ_INT(strcmp(vk_stage_str(VK_STAGE_SOFTMAX), "softmax"), 0);
    CHECK_EQ_INT(strcmp(vk_stage_str(VK_STAGE_N), "?"), 0);
    CHECK_EQ_INT(vk_board_open("sim", &b, &err), VK_OK);
    if (b != (vk_board *)0x1) {
        CHECK_EQ_INT(strcmp(vk_board_kind(b), "sim"), 0);
        CHECK_EQ_INT(strcmp(vk_board_spec(b), "sim"), 0);
        vk_board_close(b);
    }
}

/* Writes text to a fresh file under /tmp; path gets its name. */
static int write_tmp(const char *text, char *path, size_t n)
{
    snprintf(path, n, "/tmp/vk_board_id_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    FILE *f = fdopen(fd, "w");
    int ok = f && fputs(text, f) >= 0;
    if (f)
        ok &= fclose(f) == 0;
    return ok;
}

/* Item 1 of issue 15: a sim board's identity is its board file's content:
 * the same bytes anywhere are the same board, one changed figure (the
 * clock) is another; every identity is well formed. */
static void test_identity(void)
{
    vk_board *a = NULL, *b = NULL, *c = NULL;
    vk_err err = {{0}};
    char *json = NULL, same[64], slow[64];
    size_t n = 0;
    FILE *f = fopen("boards/zcu102.json", "r");
    CHECK(f != NULL);
    if (!f)
        return;
    json = calloc(1, 1 << 20);
    n = json ? fread(json, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    CHECK(n > 0);
    char *clk = json ? strstr(json, "\"clock_mhz\": {\"value\": 200") : NULL;
    CHECK(clk != NULL);
    if (!clk) {
        free(json);
        return;
    }
    CHECK(write_tmp(json, same, sizeof same));
    memcpy(strstr(clk, "200"), "100", 3);
    CHECK(write_tmp(json, slow, sizeof slow));
    char spec_same[80], spec_slow[80];
    snprintf(spec_same, sizeof spec_same, "sim:%s", same);
    snprintf(spec_slow, sizeof spec_slow, "sim:%s", slow);
    CHECK_EQ_INT(vk_board_open("sim", &a, &err), VK_OK);
    CHECK_EQ_INT(vk_board_open(spec_same, &b, &err), VK_OK);
    CHECK_EQ_INT(vk_board_open(spec_slow, &c, &err), VK_OK);
    if (a && b && c) {
        CHECK(vk_board_identity_ok(vk_board_identity(a)));
        CHECK(vk_board_identity_ok(vk_board_identity(c)));
        CHECK_STR_CONTAINS(vk_board_identity(a), "sim:ZCU102");
        CHECK(!strcmp(vk_board_identity(a), vk_board_identity(b)));
        CHECK(strcmp(vk_board_identity(a), vk_board_identity(c)) != 0);
    }
    vk_board_close(a);
    vk_board_close(b);
    vk_board_close(c);
    remove(same);
    remove(slow);
    free(json);
    /* the form */
    static const char *good[] = {"sim:ZCU102 (XCZU9EG-FFVB1156-2):0123456789abcdef",
                                 "cpu:AMD EPYC 7B13 64-Core Processor:2t",
                                 "xrt:xilinx_zcu102_base_202220_1:fedcba9876543210"};
    static const char *bad[] = {NULL,        "",       "sim:",         "sim: x",    "gpu:x",
                                "remote:ab", "simx:y", "sim:a\nb",     "sim:a*/b", "cpu:\"q\"",
                                "sim:\\x"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECK(vk_board_identity_ok(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(!vk_board_identity_ok(bad[i]));
    char dirty[] = "Intel(R) Xeon(R) CPU *@ 2.20GHz\t\"x\"";
    vk_board_identity_clean(dirty);
    CHECK(!strcmp(dirty, "Intel(R) Xeon(R) CPU _@ 2.20GHz__x_"));
}

/* 200 Fashion-MNIST test images through the demo model, when it exists. */
static void test_demo(void)
{
    struct stat st;
    vk_workload_opts o = {
        .model = "models/demo", .data = VK_FX_FMNIST, .limit = 200, .calib_n = 128, .quiet = 1};
    vk_workload w;
    vk_board *b = NULL;
    vk_err err = {{0}};
    vk_img_result *res, *half;
    vk_measure m, mh;
    uint32_t full[VK_MAX_LAYERS], hm[VK_MAX_LAYERS];
    if (stat("models/demo/config.json", &st) != 0) {
        SKIP("models/demo absent");
    }
    if (vk_workload_open(&o, &w, &err) != VK_OK) {
        fprintf(stderr, "demo: %s\n", err.msg);
        CHECK(0);
        return;
    }
    res = calloc((size_t)w.n, sizeof *res);
    half = calloc((size_t)w.n, sizeof *half);
    CHECK_EQ_INT(w.n, 200);
    for (int l = 0; l < VK_MAX_LAYERS; l++) {
        full[l] = VK_MODE(VK_ATTN_FULL);
        hm[l] = VK_MODE(l % 2 ? VK_ATTN_SKIP : VK_ATTN_FULL);
    }
    CHECK_EQ_INT(vk_board_open("sim", &b, &err), VK_OK);
    CHECK_EQ_INT(vk_board_load(b, &w.q, &err), VK_OK);
    CHECK_EQ_INT(vk_board_load_data(b, w.imgs, w.n, &err), VK_OK);
    vk_path_req r = {.modes = full}, rh = {.modes = hm};
    CHECK_EQ_INT(vk_board_measure(b, &r, w.n, res, &m, &err), VK_OK);
    CHECK_EQ_INT(vk_board_measure(b, &rh, w.n, half, &mh, &err), VK_OK);
    {
        int32_t *cls = malloc((size_t)w.n * sizeof *cls), *clh = malloc((size_t)w.n * sizeof *clh);
        size_t img_n = vk_qmodel_img_n(&w.q);
        uint32_t cfg[VK_CFG_WORDS] = {VK_CFG_MAGIC};
        int32_t *out = malloc(VK_OUT_WORDS * sizeof *out);
        int32_t *act = malloc(vk_qmodel_act_n(&w.q) * sizeof *act);
        for (int i = 0; i < w.n; i++) {
            cls[i] = res[i].cls;
            clh[i] = half[i].cls;
        }
        double t_full = vk_workload_top1(&w, cls, w.n), t_half = vk_workload_top1(&w, clh, w.n);
        printf("demo: 200 images, top-1 %.1f%% full, %.1f%% with encoders 1,3,5,7 skipped; "
               "%.4f ms vs %.4f ms per image (modeled)\n",
               t_full, t_half, m.latency_ms, mh.latency_ms);
        CHECK(t_full > 50.0); /* a trained 10-class model, far above chance */
        CHECK(mh.latency_ms < m.latency_ms);
        /* the board equals the kernel, image by image (first 20) */
        for (int l = 0; l < w.model.hp.n_layers; l++)
            cfg[VK_CFG_MODES + l] = full[l];
        for (int i = 0; i < 20 && out && act; i++) {
            vk_kernel_run(w.q.wt, w.q.par, cfg, &w.imgs[(size_t)i * img_n], act, out);
            CHECK_EQ_INT(out[VK_OUT_CLASS], res[i].cls);
            CHECK_EQ_INT(out[VK_OUT_ENTROPY], res[i].entropy_q16);
        }
        free(cls);
        free(clh);
        free(out);
        free(act);
    }
    vk_board_close(b);
    free(res);
    free(half);
    vk_workload_free(&w);
}

int main(void)
{
    RUN(setup);
    RUN(test_equals_kernel);
    RUN(test_skip);
    RUN(test_cascade);
    RUN(test_resume_exact);
    RUN(test_threads);
    RUN(test_bad_requests);
    RUN(test_specs);
    RUN(test_identity);
    RUN(test_demo);
    vk_qmodel_free(&qm);
    vk_model_free(&model);
    return vk_test_summary("board_sim");
}
