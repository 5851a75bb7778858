/* test_board_cpu: the cpu board on a small random model and 50 random
 * images — per-image class and entropy equal the sim board's and a direct
 * vk_kernel_top call, field by field, for full and skipping paths and for
 * cascades (escalated exactly where the low entropy exceeds the threshold,
 * resumed high path equal to the high path from scratch); latency is
 * measured (> 0, p10 <= median <= p90), the suffix timings are measured and
 * shrink with the suffix; thread counts do not change results; RAPL energy
 * is read from the counter file (a fixture whose value the progress callback
 * moves, with and without a wrap) and reported as none without one; bad
 * specs, environment and unimplemented modes are errors; the prefix cache
 * (default, evicting, off) changes no result over the whole space and every
 * cascade resume depth, and the statistics line close prints shows that it
 * did its work (default: reuse, no eviction; 1 MiB: evictions; off: every
 * encoder-image computed, nothing held). */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boards/vk_board.h"
#include "host/vk_quant.h"
#include "tests/vk_fixture.h"
#include "tests/vk_test.h"

#define N_IMG 50
#define N_LAYERS 4
#define IMG_N 256

static vk_model model;
static vk_qmodel qm;
static int8_t imgs[N_IMG * IMG_N];
static int ready;

static void setup(void)
{
    vk_err err = {{0}};
    CHECK_EQ_INT(vk_fixture_tiny(N_LAYERS, N_IMG, 0x2545F4914F6CDD1Dull, 23, &model, &qm, imgs, &err),
                 VK_OK);
    ready = !vk_test_cur_fail;
    /* no RAPL unless a test sets one (the host may have one) */
    setenv("VITSKIP_CPU_RAPL", "/nonexistent-vk/energy_uj", 1);
}

static vk_board *open_loaded(const char *spec)
{
    return vk_fixture_board(spec, &qm, imgs, N_IMG);
}

static void check_latency(const vk_measure *m)
{
    CHECK_EQ_INT(m->latency_src, VK_SRC_MEASURED);
    CHECK(m->latency_ms > 0);
    CHECK(m->latency_p10_ms > 0);
    CHECK(m->latency_p10_ms <= m->latency_ms);
    CHECK(m->latency_ms <= m->latency_p90_ms);
    CHECK_STR_CONTAINS(m->note, "measured: host wall clock");
}

static int last_done;
static void on_progress(void *ctx, int done, int total)
{
    (void)ctx;
    CHECK(done > last_done && done <= total);
    last_done = done;
}

static void test_equals_sim_and_kernel(void)
{
    vk_board *c, *s;
    vk_img_result rc[N_IMG], rsim[N_IMG], want;
    vk_measure mc, ms;
    vk_err err = {{0}};
    const uint32_t *paths[2] = {VK_FX_FULL, VK_FX_HALF};
    int32_t full_ent[N_IMG];
    int differ = 0;
    if (!ready || !(c = open_loaded("cpu")))
        return;
    if (!(s = open_loaded("sim"))) {
        vk_board_close(c);
        return;
    }
    for (int p = 0; p < 2; p++) {
        vk_path_req req = {.modes = paths[p], .progress = on_progress};
        last_done = 0;
        CHECK_EQ_INT(vk_board_measure(c, &req, N_IMG, rc, &mc, &err), VK_OK);
        CHECK_EQ_INT(last_done, N_IMG);
        req.progress = NULL;
        CHECK_EQ_INT(vk_board_measure(s, &req, N_IMG, rsim, &ms, &err), VK_OK);
        CHECK(vk_fixture_same_results(rc, rsim, N_IMG, 1));
        for (int i = 0; i < N_IMG; i++) {
            vk_fixture_direct(&qm, paths[p], &imgs[i * IMG_N], &want);
            CHECK_EQ_INT(rc[i].cls, want.cls);
            CHECK_EQ_INT(rc[i].entropy_q16, want.entropy_q16);
            CHECK_EQ_INT(rc[i].escalated, 0);
            if (p == 0)
                full_ent[i] = want.entropy_q16;
            else
                differ += want.entropy_q16 != full_ent[i];
        }
        CHECK_EQ_INT(mc.n_images, N_IMG);
        CHECK_EQ_INT(mc.n_escalated, 0);
        check_latency(&mc);
        CHECK_EQ_INT(mc.energy_src, VK_SRC_NONE);
        CHECK(mc.energy_mj == 0);
        /* suffixes: measured, the whole path first, the classifier alone last */
        CHECK(mc.suffix_ms[0] == mc.latency_ms);
        for (int k = 1; k <= N_LAYERS; k++)
            CHECK(mc.suffix_ms[k] > 0);
        CHECK(mc.suffix_ms[N_LAYERS] < mc.suffix_ms[0]);
        CHECK(mc.suffix_ms[N_LAYERS + 1] == 0);
    }
    CHECK(differ > 0); /* skipping changes results: the comparison can fail */
    /* fewer images than loaded: the first n */
    vk_path_req req = {.modes = VK_FX_FULL};
    CHECK_EQ_INT(vk_board_measure(c, &req, 3, rc, &mc, &err), VK_OK);
    CHECK_EQ_INT(mc.n_images, 3);
    vk_fixture_direct(&qm, VK_FX_FULL, &imgs[2 * IMG_N], &want);
    CHECK_EQ_INT(rc[2].entropy_q16, want.entropy_q16);
    vk_board_close(c);
    vk_board_close(s);
}

static void test_cascade(void)
{
    vk_board *c, *s;
    vk_img_result full[N_IMG], half[N_IMG], none[N_IMG], res[N_IMG], rsim[N_IMG];
    vk_measure m, ms, mf;
    vk_err err = {{0}};
    if (!ready || !(c = open_loaded("cpu")))
        return;
    if (!(s = open_loaded("sim"))) {
        vk_board_close(c);
        return;
    }
    vk_path_req rf = {.modes = VK_FX_FULL}, rh = {.modes = VK_FX_HALF}, rn = {.modes = VK_FX_NONE};
    CHECK_EQ_INT(vk_board_measure(c, &rf, N_IMG, full, &mf, &err), VK_OK);
    CHECK_EQ_INT(vk_board_measure(c, &rh, N_IMG, half, &m, &err), VK_OK);
    CHECK_EQ_INT(vk_board_measure(c, &rn, N_IMG, none, &m, &err), VK_OK);

    /* everything escalates: the high path's results */
    vk_path_req all = {.modes = VK_FX_NONE, .modes_high = VK_FX_FULL, .threshold_q16 = -1};
    CHECK_EQ_INT(vk_board_measure(c, &all, N_IMG, res, &m, &err), VK_OK);
    for (int i = 0; i < N_IMG; i++) {
        CHECK_EQ_INT(res[i].escalated, 1);
        CHECK_EQ_INT(res[i].cls, full[i].cls);
        CHECK_EQ_INT(res[i].entropy_q16, full[i].entropy_q16);
    }
    CHECK_EQ_INT(m.n_escalated, N_IMG);
    check_latency(&m);
    /* a cascade's suffixes are its high path's, from scratch at 0 */
    for (int k = 0; k <= N_LAYERS; k++)
        CHECK(m.suffix_ms[k] > 0);
    CHECK(m.suffix_ms[N_LAYERS] < m.suffix_ms[0]);

    /* nothing escalates: the low path's results */
    vk_path_req nothing = {.modes = VK_FX_NONE, .modes_high = VK_FX_FULL, .threshold_q16 = INT32_MAX};
    CHECK_EQ_INT(vk_board_measure(c, &nothing, N_IMG, res, &m, &err), VK_OK);
    for (int i = 0; i < N_IMG; i++) {
        CHECK_EQ_INT(res[i].escalated, 0);
        CHECK_EQ_INT(res[i].entropy_q16, none[i].entropy_q16);
    }
    CHECK_EQ_INT(m.n_escalated, 0);

    /* HALF shares encoder 0 with FULL: resume after it, threshold in the
       middle of the low entropies; equals the sim board's routing */
    int32_t thr = half[N_IMG / 2].entropy_q16;
    int n_esc = 0;
    vk_path_req mid = {.modes = VK_FX_HALF, .modes_high = VK_FX_FULL, .threshold_q16 = thr, .resume = 1};
    CHECK_EQ_INT(vk_board_measure(c, &mid, N_IMG, res, &m, &err), VK_OK);
    CHECK_EQ_INT(vk_board_measure(s, &mid, N_IMG, rsim, &ms, &err), VK_OK);
    CHECK(vk_fixture_same_results(res, rsim, N_IMG, 1));
    for (int i = 0; i < N_IMG; i++) {
        int esc = half[i].entropy_q16 > thr;
        n_esc += esc;
        CHECK_EQ_INT(res[i].escalated, esc);
        CHECK_EQ_INT(res[i].cls, esc ? full[i].cls : half[i].cls);
        CHECK_EQ_INT(res[i].entropy_q16, esc ? full[i].entropy_q16 : half[i].entropy_q16);
    }
    CHECK(n_esc > 0 && n_esc < N_IMG);
    CHECK_EQ_INT(m.n_escalated, n_esc);
    check_latency(&m);

    /* a high path sharing every encoder resumes after the last one (only
       the head runs again), as the board wrapper and the sim board allow */
    vk_path_req last = {.modes = VK_FX_HALF, .modes_high = VK_FX_HALF, .threshold_q16 = thr,
                        .resume = N_LAYERS};
    CHECK_EQ_INT(vk_board_measure(c, &last, N_IMG, res, &m, &err), VK_OK);
    CHECK_EQ_INT(vk_board_measure(s, &last, N_IMG, rsim, &ms, &err), VK_OK);
    CHECK(vk_fixture_same_results(res, rsim, N_IMG, 1));
    for (int i = 0; i < N_IMG; i++) {
        CHECK_EQ_INT(res[i].escalated, half[i].entropy_q16 > thr);
        CHECK_EQ_INT(res[i].entropy_q16, half[i].entropy_q16);
    }
    CHECK_EQ_INT(m.n_escalated, n_esc);
    vk_board_close(c);
    vk_board_close(s);
}

static void test_threads(void)
{
    vk_board *b;
    vk_img_result one[N_IMG], three[N_IMG];
    vk_measure m;
    vk_err err = {{0}};
    char desc[512];
    vk_path_req r = {.modes = VK_FX_HALF, .modes_high = VK_FX_FULL, .threshold_q16 = 30000, .resume = 1};
    if (!ready)
        return;
    setenv("VITSKIP_CPU_THREADS", "1", 1);
    if ((b = open_loaded("cpu"))) {
        vk_board_describe(b, desc, sizeof desc);
        CHECK_STR_CONTAINS(desc, "1 threads");
        CHECK_STR_CONTAINS(desc, "no RAPL: /nonexistent-vk/energy_uj");
        CHECK_EQ_INT(vk_board_measure(b, &r, N_IMG, one, &m, &err), VK_OK);
        CHECK_STR_CONTAINS(m.note, "each of 1 thread,");
        vk_board_close(b);
    }
    setenv("VITSKIP_CPU_THREADS", "3", 1);
    if ((b = open_loaded("cpu"))) {
        CHECK_EQ_INT(vk_board_measure(b, &r, N_IMG, three, &m, &err), VK_OK);
        CHECK(vk_fixture_same_results(one, three, N_IMG, 1));
        CHECK_STR_CONTAINS(m.note, "each of 3 threads,");
        vk_board_close(b);
    }
    setenv("VITSKIP_CPU_THREADS", "0", 1);
    CHECK_EQ_INT(vk_board_open("cpu", &b, &err), VK_E_ARG);
    CHECK_STR_CONTAINS(err.msg, "VITSKIP_CPU_THREADS='0'");
    setenv("VITSKIP_CPU_THREADS", "2x", 1);
    CHECK_EQ_INT(vk_board_open("cpu", &b, &err), VK_E_ARG);
    unsetenv("VITSKIP_CPU_THREADS");
    setenv("VITSKIP_SUFFIX_IMAGES", "33", 1);
    CHECK_EQ_INT(vk_board_open("cpu", &b, &err), VK_E_ARG);
    CHECK_STR_CONTAINS(err.msg, "VITSKIP_SUFFIX_IMAGES");
    /* no suffix images: the suffixes after 0 are left unmeasured */
    setenv("VITSKIP_SUFFIX_IMAGES", "0", 1);
    if ((b = open_loaded("cpu"))) {
        vk_path_req rf = {.modes = VK_FX_FULL};
        CHECK_EQ_INT(vk_board_measure(b, &rf, N_IMG, one, &m, &err), VK_OK);
        CHECK(m.suffix_ms[0] == m.latency_ms);
        CHECK(m.suffix_ms[1] == 0 && m.suffix_ms[N_LAYERS] == 0);
        vk_board_close(b);
    }
    unsetenv("VITSKIP_SUFFIX_IMAGES");
}

/* The prefix cache's statistics: closes b with stderr sent to a file and
 * parses the line cpu_close prints. 0 when the line is missing. */
typedef struct {
    unsigned long long computed, requested, resumed, paths, evictions;
    double held_mib;
} cache_line;

static int close_stats(vk_board *b, cache_line *c)
{
    char path[] = "/tmp/vk_cpu_stderr_XXXXXX", line[512];
    int fd = mkstemp(path), saved, got = 0;
    FILE *f;
    if (fd < 0) {
        vk_board_close(b);
        return 0;
    }
    fflush(stderr);
    saved = dup(2);
    dup2(fd, 2);
    vk_board_close(b);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    if ((f = fopen(path, "r"))) {
        while (!got && fgets(line, sizeof line, f))
            got = sscanf(line,
                         "cpu board: prefix cache: %llu of %llu encoder-images computed "
                         "(%*f%% reused), %llu of %llu paths resumed, %llu evictions, at "
                         "most %lf MiB held",
                         &c->computed, &c->requested, &c->resumed, &c->paths, &c->evictions,
                         &c->held_mib) == 6;
        fclose(f);
    }
    unlink(path);
    return got;
}

/* The prefix cache changes nothing but speed: all 16 genomes of the
 * 4-encoder space, in an order where later paths share prefixes with
 * earlier ones, then cascades between them with every resume depth, equal
 * to direct kernel calls, with the default cache, a 1 MiB one that must
 * evict, and none. Only 5 images timed: the note says so and results still
 * cover all. */
static void test_prefix_cache(void)
{
    static const char *mb[3] = {"256", "1", "0"};
    vk_img_result got[N_IMG], want, lo, hi;
    vk_measure m;
    vk_err err = {{0}};
    vk_board *b;
    int bad = 0, checked = 0;
    if (!ready)
        return;
    setenv("VITSKIP_CPU_TIMED", "5", 1);
    setenv("VITSKIP_SUFFIX_IMAGES", "2", 1);
    for (int c = 0; c < 3; c++) {
        setenv("VITSKIP_PREFIX_MB", mb[c], 1);
        if (!(b = open_loaded("cpu")))
            continue;
        for (int g = 0; g < 16; g++) {
            uint32_t modes[VK_MAX_LAYERS] = {0};
            for (int l = 0; l < N_LAYERS; l++) /* Gray-ish order: bit l of g reversed */
                modes[l] = VK_MODE((g >> (N_LAYERS - 1 - l)) & 1 ? VK_ATTN_SKIP : VK_ATTN_FULL);
            vk_path_req r = {.modes = modes};
            CHECK_EQ_INT(vk_board_measure(b, &r, N_IMG, got, &m, &err), VK_OK);
            for (int i = 0; i < N_IMG; i++) {
                vk_fixture_direct(&qm, modes, &imgs[i * IMG_N], &want);
                bad += got[i].cls != want.cls || got[i].entropy_q16 != want.entropy_q16 ||
                       got[i].escalated;
                checked++;
            }
        }
        CHECK_STR_CONTAINS(m.note, "5 of 50 images timed");
        for (int res = 0; res < N_LAYERS; res++) {
            vk_path_req r = {.modes = VK_FX_NONE, .modes_high = VK_FX_HALF, .threshold_q16 = 40000,
                             .resume = res};
            const uint32_t *hm = VK_FX_HALF;
            uint32_t lo_modes[VK_MAX_LAYERS];
            /* a low path sharing the first res encoders with the high one */
            memcpy(lo_modes, VK_FX_NONE, sizeof lo_modes);
            memcpy(lo_modes, VK_FX_HALF, (size_t)res * sizeof *lo_modes);
            r.modes = lo_modes;
            CHECK_EQ_INT(vk_board_measure(b, &r, N_IMG, got, &m, &err), VK_OK);
            for (int i = 0; i < N_IMG; i++) {
                vk_fixture_direct(&qm, lo_modes, &imgs[i * IMG_N], &lo);
                vk_fixture_direct(&qm, hm, &imgs[i * IMG_N], &hi);
                int esc = lo.entropy_q16 > 40000;
                want = esc ? hi : lo;
                bad += got[i].cls != want.cls || got[i].entropy_q16 != want.entropy_q16 ||
                       got[i].escalated != esc;
                checked++;
            }
        }
        cache_line st = {0};
        CHECK(close_stats(b, &st));
        /* 16 genomes + 4 cascades of 2 paths, 50 images x 4 encoders each */
        CHECK(st.paths == 16 + 2 * N_LAYERS && st.requested == st.paths * N_IMG * N_LAYERS);
        if (c == 0) /* default: everything fits */
            CHECK(st.computed < st.requested && st.resumed > 0 && st.evictions == 0);
        if (c == 1) /* 1 MiB: the bound is reached, entries are evicted, some reuse left */
            CHECK(st.computed < st.requested && st.evictions > 0 && st.held_mib <= 1.0);
        if (c == 2) /* off: nothing reused, nothing held */
            CHECK(st.computed == st.requested && st.resumed == 0 && st.evictions == 0 &&
                  st.held_mib == 0.0);
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(checked, 3 * (16 + N_LAYERS) * N_IMG);
    setenv("VITSKIP_PREFIX_MB", "-1", 1);
    CHECK_EQ_INT(vk_board_open("cpu", &b, &err), VK_E_ARG);
    CHECK_STR_CONTAINS(err.msg, "VITSKIP_PREFIX_MB='-1'");
    setenv("VITSKIP_PREFIX_MB", "lots", 1);
    CHECK_EQ_INT(vk_board_open("cpu", &b, &err), VK_E_ARG);
    unsetenv("VITSKIP_PREFIX_MB");
    setenv("VITSKIP_CPU_TIMED", "1e3", 1);
    CHECK_EQ_INT(vk_board_open("cpu", &b, &err), VK_E_ARG);
    CHECK_STR_CONTAINS(err.msg, "VITSKIP_CPU_TIMED");
    unsetenv("VITSKIP_CPU_TIMED");
    unsetenv("VITSKIP_SUFFIX_IMAGES");
}

/* RAPL fixture: the progress callback moves the counter once all images
 * are done, before the board's second read. */
static char rapl_dir[] = "/tmp/vk_rapl_XXXXXX";
static const char *rapl_end;

static void put(const char *name, const char *text)
{
    char p[256];
    FILE *f;
    snprintf(p, sizeof p, "%s/%s", rapl_dir, name);
    f = fopen(p, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void on_progress_rapl(void *ctx, int done, int total)
{
    (void)ctx;
    if (done == total)
        put("energy_uj", rapl_end);
}

static void test_rapl(void)
{
    vk_board *b;
    vk_img_result res[N_IMG];
    vk_measure m;
    vk_err err = {{0}};
    char p[256], desc[512];
    vk_path_req r = {.modes = VK_FX_FULL, .progress = on_progress_rapl};
    if (!ready || !mkdtemp(rapl_dir))
        return;
    snprintf(p, sizeof p, "%s/energy_uj", rapl_dir);
    setenv("VITSKIP_CPU_RAPL", p, 1);
    put("energy_uj", "1000\n");
    put("max_energy_range_uj", "1000000\n");
    if ((b = open_loaded("cpu"))) {
        vk_board_describe(b, desc, sizeof desc);
        CHECK_STR_CONTAINS(desc, "energy: RAPL /tmp/vk_rapl_");
        /* 100000 uJ over 50 images: 2 mJ each */
        rapl_end = "101000\n";
        CHECK_EQ_INT(vk_board_measure(b, &r, N_IMG, res, &m, &err), VK_OK);
        CHECK_EQ_INT(m.energy_src, VK_SRC_MEASURED);
        CHECK(m.energy_mj > 2.0 - 1e-12 && m.energy_mj < 2.0 + 1e-12);
        CHECK_STR_CONTAINS(m.note, "energy: RAPL counter /tmp/vk_rapl_");
        /* wrapped once: 1000000 - 999000 + 1000 uJ */
        put("energy_uj", "999000\n");
        rapl_end = "1000\n";
        CHECK_EQ_INT(vk_board_measure(b, &r, N_IMG, res, &m, &err), VK_OK);
        CHECK_EQ_INT(m.energy_src, VK_SRC_MEASURED);
        CHECK(m.energy_mj > 0.04 - 1e-12 && m.energy_mj < 0.04 + 1e-12);
        vk_board_close(b);
    }
    /* wrapped with no known range: no figure rather than a wrong one */
    snprintf(p, sizeof p, "%s/max_energy_range_uj", rapl_dir);
    remove(p);
    if ((b = open_loaded("cpu"))) {
        put("energy_uj", "999000\n");
        rapl_end = "1000\n";
        CHECK_EQ_INT(vk_board_measure(b, &r, N_IMG, res, &m, &err), VK_OK);
        CHECK_EQ_INT(m.energy_src, VK_SRC_NONE);
        CHECK(!strstr(m.note, "RAPL"));
        vk_board_close(b);
    }
    snprintf(p, sizeof p, "%s/energy_uj", rapl_dir);
    remove(p);
    rmdir(rapl_dir);
    setenv("VITSKIP_CPU_RAPL", "/nonexistent-vk/energy_uj", 1);
}

static void test_errors(void)
{
    vk_board *b = NULL;
    vk_img_result res[N_IMG];
    vk_measure m;
    vk_err err = {{0}};
    uint32_t reuse[VK_MAX_LAYERS];
    /* options in the spec: malformed ones named */
    static const struct {
        const char *spec, *want;
    } bad[] = {
        {"cpu:4", "option '4' is not key=value"},
        {"cpu:threads=0", "threads='0': expected an integer in 1..256"},
        {"cpu:threads=2x", "threads='2x'"},
        {"cpu:threads=", "threads=''"},
        {"cpu:timed=99999999999999999999", "timed='99999999999999999999'"},
        {"cpu:cores=2", "unknown option 'cores' (expected threads, timed, suffix, prefix_mb)"},
        {"cpu:threads=2,,timed=1", "option '' is not key=value"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        b = (vk_board *)0x1;
        CHECK_EQ_INT(vk_board_open(bad[i].spec, &b, &err), VK_E_ARG);
        CHECK_STR_CONTAINS(err.msg, bad[i].want);
        CHECK(b == (vk_board *)0x1);
    }
    b = NULL;
    /* the spec's threads win over the environment's and name the identity */
    setenv("VITSKIP_CPU_THREADS", "3", 1);
    CHECK_EQ_INT(vk_board_open("cpu:threads=5,timed=8", &b, &err), VK_OK);
    if (b) {
        const char *id = vk_board_identity(b);
        char desc[512];
        CHECK(strlen(id) > 7 && !strcmp(id + strlen(id) - 3, ":5t"));
        vk_board_describe(b, desc, sizeof desc);
        CHECK_STR_CONTAINS(desc, "5 threads");
        vk_board_close(b);
        b = NULL;
    }
    CHECK_EQ_INT(vk_board_open("cpu", &b, &err), VK_OK);
    if (b) {
        const char *id = vk_board_identity(b);
        CHECK(strlen(id) > 7 && !strcmp(id + strlen(id) - 3, ":3t"));
        vk_board_close(b);
        b = NULL;
    }
    unsetenv("VITSKIP_CPU_THREADS");
    if (!ready || !(b = open_loaded("cpu")))
        return;
    /* what measures: this CPU with its timing threads (default 2) */
    CHECK(vk_board_identity_ok(vk_board_identity(b)));
    CHECK(!strncmp(vk_board_identity(b), "cpu:", 4));
    if (!getenv("VITSKIP_CPU_THREADS")) {
        const char *id = vk_board_identity(b);
        CHECK(strlen(id) > 7 && !strcmp(id + strlen(id) - 3, ":2t"));
    }
    memcpy(reuse, VK_FX_FULL, sizeof reuse);
    reuse[0] = VK_MODE(VK_ATTN_REUSE); /* no earlier attention to reuse: the kernel refuses it */
    vk_path_req r = {.modes = reuse};
    CHECK_EQ_INT(vk_board_measure(b, &r, N_IMG, res, &m, &err), VK_E_UNSUPPORTED);
    CHECK_STR_CONTAINS(err.msg, "kernel status 3");
    /* a cascade whose high path, resumed after 2 encoders, reuses the
       attention of encoder 1 (in the shared prefix): the kernel refuses
       START = 2 for it; from encoder 0 the path is valid */
    memcpy(reuse, VK_FX_FULL, sizeof reuse);
    reuse[2] = VK_MODE(VK_ATTN_REUSE);
    vk_path_req rc = {.modes = VK_FX_FULL, .modes_high = reuse, .threshold_q16 = 0, .resume = 2};
    CHECK_EQ_INT(vk_board_measure(b, &rc, N_IMG, res, &m, &err), VK_E_UNSUPPORTED);
    CHECK_STR_CONTAINS(err.msg, "kernel status 3");
    rc.resume = 0;
    CHECK_EQ_INT(vk_board_measure(b, &rc, N_IMG, res, &m, &err), VK_OK);
    /* the board still works afterwards */
    vk_path_req rf = {.modes = VK_FX_FULL};
    CHECK_EQ_INT(vk_board_measure(b, &rf, N_IMG, res, &m, &err), VK_OK);
    CHECK_STR_CONTAINS(vk_board_kind(b), "cpu");
    vk_board_close(b);
}

int main(void)
{
    setup();
    RUN(test_equals_sim_and_kernel);
    RUN(test_cascade);
    RUN(test_threads);
    RUN(test_prefix_cache);
    RUN(test_rapl);
    RUN(test_errors);
    vk_qmodel_free(&qm);
    vk_model_free(&model);
    return vk_test_summary("board_cpu");
}
