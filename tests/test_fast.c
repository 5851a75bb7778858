/* test_fast: the fast native path against the HLS kernel's C simulation,
 * byte for byte, on every instruction set this CPU has; its pieces
 * (embed / encoders / resume / head) against the kernel; and the prefix
 * cache against plain runs.
 *
 * Models: random shapes within the kernel maxima (odd dims, head dims and
 * MLP widths that leave tails in every SIMD step and FFN-sparsity cuts
 * that do, 2 to 17 tokens, 1 to 3 channels), plus wider ones (dim 96, 3
 * heads, MLP 200: 17, 50 and 82 tokens) and one split over 2 threads
 * inside each image (101 tokens, dim 192), calibrated on random images;
 * half of them get raw random weight bytes (-128 included) spliced in.
 * Cases: random int8 images; random genomes that mix every mode (full,
 * skip, shared-heads and reused attention, token pruning by any keep
 * percent, FFN sparsity by any drop percent), valid ones and ones the
 * kernel refuses (the same status must come back); random START/SAVE
 * points, resuming from streams the kernel saved (pruned ones too) and
 * from noise with any token count; malformed cfg words. Every out word and
 * act word, and the words around them that must stay untouched, are
 * compared with memcmp. The bundled models too (models/demo, 17 tokens,
 * and models/fm197, 197 tokens), on Fashion-MNIST test images, with the
 * genomes named below, random ones of the search's space and of any
 * percent, resumes and refusals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "host/vk_fast.h"
#include "host/vk_prefix.h"
#include "host/vk_workload.h"
#include "kernels/vk_kernel.h"
#include "search/vk_genome.h"
#include "tests/vk_fixture.h"
#include "tests/vk_test.h"

static uint64_t rs = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    return vk_fixture_next(&rs);
}
static int rint_(int lo, int hi) /* [lo, hi] */
{
    return lo + (int)(rnd() % (uint64_t)(hi - lo + 1));
}

static int n_isa;
static vk_fast_isa isas[3];
static int mismatches_shown;

/* A calibrated random model; spliced = raw random weight bytes mixed in. */
static int make_model(const vk_hparams *hp, uint64_t seed, int spliced, vk_qmodel *q)
{
    vk_model m;
    vk_err err = {{0}};
    size_t img_n = (size_t)hp->n_channels * hp->image_size * hp->image_size;
    int n_cal = 3, rc;
    float *cal;
    if (vk_model_alloc(&m, hp, &err) != VK_OK) {
        fprintf(stderr, "model: %s\n", err.msg);
        return -1;
    }
    vk_model_randomize(&m, seed);
    cal = malloc(img_n * n_cal * sizeof *cal);
    for (size_t i = 0; i < img_n * n_cal; i++)
        cal[i] = (float)((double)(rnd() % 4001) / 1000.0 - 2.0);
    rc = vk_quant_calibrate(&m, cal, n_cal, q, &err);
    free(cal);
    vk_model_free(&m);
    if (rc != VK_OK) {
        fprintf(stderr, "calibrate: %s\n", err.msg);
        return -1;
    }
    if (spliced) {
        for (size_t i = 0; i < q->wt_n; i++) {
            uint64_t r = rnd() % 64;
            if (r == 0)
                q->wt[i] = (int8_t)(rnd() & 0xFF);
            else if (r == 1)
                q->wt[i] = -128;
        }
    }
    return 0;
}

static void fill_rand(void *p, size_t n)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)rnd();
}

/* A random mode word: any attention; pruning by the search's ratios, any
 * percent or none (0 or 100); FFN sparsity by the search's or any percent. */
static uint32_t rand_word(void)
{
    static const uint32_t keeps[] = {85, 70, 50}, ffns[] = {25, 50};
    uint32_t a = (uint32_t)(rnd() % 4), keep = VK_KEEP_ALL, ffn = 0;
    switch (rnd() % 6) {
    case 0: keep = keeps[rnd() % 3]; break;
    case 1: keep = (uint32_t)rint_(1, 99); break;
    case 2: keep = 0; break;
    default: break;
    }
    switch (rnd() % 4) {
    case 0: ffn = ffns[rnd() % 2]; break;
    case 1: ffn = (uint32_t)rint_(0, 99); break;
    default: break;
    }
    return VK_MODE_FULL_WORD(a, keep, ffn);
}

/* modes[from, L) made valid from START = from: a reuse with no source
 * computes attention instead, pruning without computed attention is
 * dropped. */
static void repair_modes(uint32_t *modes, int from, int L)
{
    int src = 0;
    for (int l = from; l < L; l++) {
        uint32_t w = modes[l], a = VK_MODE_ATTN(w);
        if (a == VK_ATTN_REUSE && !src)
            a = rnd() % 2 ? VK_ATTN_FULL : VK_ATTN_SHARED;
        w = (w & ~VK_ATTN_MASK) | a;
        if (VK_MODE_PRUNES(w) && a != VK_ATTN_FULL && a != VK_ATTN_SHARED)
            w = VK_MODE_FULL_WORD(a, VK_KEEP_ALL, VK_MODE_FFN(w));
        if (a == VK_ATTN_FULL || a == VK_ATTN_SHARED)
            src = 1;
        if (VK_MODE_PRUNES(w))
            src = 0;
        modes[l] = w;
    }
}

/* One change the kernel refuses (VK_KSTAT_BAD_MODE) in modes[from, L). */
static void break_modes(uint32_t *modes, int from, int L)
{
    int l = rint_(from, L - 1), kind = (int)(rnd() % 7);
    static const int reserved[] = {4, 5, 6, 7, 24, 25, 28, 31};
    if (kind == 6 && l + 1 >= L)
        kind = 5;
    switch (kind) {
    case 0: modes[l] = (modes[l] & ~VK_ATTN_MASK) | (uint32_t)rint_(4, 15); break;
    case 1:
        modes[l] = (modes[l] & ~(0xFFu << VK_KEEP_SHIFT)) |
                   (uint32_t)rint_(101, 255) << VK_KEEP_SHIFT;
        break;
    case 2:
        modes[l] = (modes[l] & ~(0xFFu << VK_FFN_SHIFT)) |
                   (uint32_t)rint_(100, 255) << VK_FFN_SHIFT;
        break;
    case 3: modes[l] |= 1u << reserved[rnd() % 8]; break;
    case 4: /* pruning after skipped or reused attention */
        modes[l] = VK_MODE_FULL_WORD(rnd() % 2 ? VK_ATTN_SKIP : VK_ATTN_REUSE, rint_(1, 99), 0);
        break;
    case 5: modes[from] = VK_MODE(VK_ATTN_REUSE); break; /* no source since START */
    default: /* a reuse across a pruning encoder */
        modes[l] = VK_MODE_FULL_WORD(rnd() % 2 ? VK_ATTN_FULL : VK_ATTN_SHARED, rint_(1, 99), 0);
        modes[l + 1] = VK_MODE(VK_ATTN_REUSE);
        break;
    }
}

/* A random genome valid from START = start (mode words before it random
 * too: the kernel does not read them). */
static void random_modes(uint32_t *modes, int L, int start)
{
    for (int l = 0; l < L; l++)
        modes[l] = rand_word();
    repair_modes(modes, start, L);
}

static void random_cfg(uint32_t *cfg, int n_layers, int start, int save)
{
    uint32_t modes[VK_MAX_LAYERS];
    random_modes(modes, n_layers, start);
    vk_cfg_init(cfg, modes, n_layers, start, save);
}

/* What the cases covered: kernel statuses, and the mode words of the
 * encoders that ran in cases the kernel accepted (attention kinds, words
 * that pruned tokens, words that dropped FFN neurons). */
static long cov_status[5], cov_attn[4], cov_prune, cov_ffn;

static void cover(const vk_qmodel *q, const uint32_t *cfg, int32_t status)
{
    int L = vk_qmodel_dim(q, VK_HDR_LAYERS), mlp = vk_qmodel_dim(q, VK_HDR_MLP);
    cov_status[status >= 0 && status < 5 ? status : 4]++;
    if (status != VK_KSTAT_OK)
        return;
    for (int l = (int)cfg[VK_CFG_START]; l < L; l++) {
        uint32_t w = cfg[VK_CFG_MODES + l];
        cov_attn[VK_MODE_ATTN(w)]++;
        cov_prune += VK_MODE_PRUNES(w);
        cov_ffn += vk_ffn_keep(mlp, (int32_t)VK_MODE_FFN(w)) < mlp;
    }
}

/* One case on the kernel and on every ISA: same cfg, image and buffers
 * before the run (act_init: the stream to resume from, or noise); the whole
 * out buffer and the act buffer with 8 guard words must be equal after. */
static void one_case(const vk_qmodel *q, vk_fast_ctx **ctx, const uint32_t *cfg,
                     const int8_t *img, const int32_t *act_init, const char *what)
{
    size_t an = vk_qmodel_act_n(q), ab = (an + 8) * 4;
    int32_t *act0 = malloc(ab), *act_k = malloc(ab), *act_f = malloc(ab);
    int32_t out0[VK_OUT_WORDS], out_k[VK_OUT_WORDS], out_f[VK_OUT_WORDS];
    fill_rand(out0, sizeof out0);
    fill_rand(act0, ab);
    if (act_init)
        memcpy(act0, act_init, an * 4);
    memcpy(out_k, out0, sizeof out0);
    memcpy(act_k, act0, ab);
    vk_kernel_run(q->wt, q->par, cfg, img, act_k, out_k);
    cover(q, cfg, out_k[VK_OUT_STATUS]);
    for (int i = 0; i < n_isa; i++) {
        memcpy(out_f, out0, sizeof out0);
        memcpy(act_f, act0, ab);
        vk_fast_run(ctx[i], cfg, img, act_f, out_f);
        int ok_out = !memcmp(out_k, out_f, sizeof out_k), ok_act = !memcmp(act_k, act_f, ab);
        CHECK(ok_out);
        CHECK(ok_act);
        if ((!ok_out || !ok_act) && mismatches_shown++ < 5)
            fprintf(stderr, "  %s on %s: out %s, act %s (status %d/%d class %d/%d)\n", what,
                    vk_fast_isa_str(isas[i]), ok_out ? "equal" : "DIFFER",
                    ok_act ? "equal" : "DIFFER", out_k[0], out_f[0], out_k[1], out_f[1]);
    }
    free(act0);
    free(act_k);
    free(act_f);
}

static int open_ctxs(const vk_qmodel *q, vk_fast_ctx **ctx)
{
    vk_err err = {{0}};
    for (int i = 0; i < n_isa; i++)
        if (vk_fast_ctx_new(q, isas[i], &ctx[i], &err) != VK_OK) {
            fprintf(stderr, "ctx: %s\n", err.msg);
            CHECK(0);
            while (i-- > 0)
                vk_fast_ctx_free(ctx[i]);
            return -1;
        }
    return 0;
}

/* The vectorized operators alone, against vk_int.h, on every ISA. */
static void test_selfcheck(void)
{
    for (int i = 0; i < n_isa; i++) {
        long bad = vk_fast_selfcheck(isas[i], 3000, 77 + i);
        if (bad)
            fprintf(stderr, "  %s: %ld rows differ\n", vk_fast_isa_str(isas[i]), bad);
        CHECK_EQ_INT(bad, 0);
    }
    CHECK_EQ_INT(vk_fast_selfcheck(VK_FAST_ISA_AUTO, 1, 1), -1);
}

/* n cases on one model: plain runs, save points, resumes (from streams the
 * kernel saved, pruned ones too, and from noise), genomes and cfgs the
 * kernel refuses. */
static void model_cases(const vk_qmodel *q, int n, int threads)
{
    vk_fast_ctx *ctx[3];
    int L = vk_qmodel_dim(q, VK_HDR_LAYERS), T = vk_qmodel_dim(q, VK_HDR_TOKENS);
    size_t in = vk_qmodel_img_n(q), an = vk_qmodel_act_n(q);
    int8_t *img = malloc(in);
    int32_t *saved = malloc(an * 4);
    uint32_t cfg[VK_CFG_WORDS], modes[VK_MAX_LAYERS];
    if (open_ctxs(q, ctx))
        goto out;
    for (int i = 0; i < n_isa; i++)
        vk_fast_set_threads(ctx[i], threads);
    for (int c = 0; c < n; c++) {
        int kind = c % 8;
        fill_rand(img, in);
        if (kind < 3) { /* from the image, maybe saving; 1 in 8 refused */
            random_modes(modes, L, 0);
            if (rnd() % 8 == 0)
                break_modes(modes, 0, L);
            vk_cfg_init(cfg, modes, L, 0, kind == 0 ? 0 : rint_(0, L));
            one_case(q, ctx, cfg, img, NULL, "run");
        } else if (kind < 6) { /* resume from a stream the kernel saved */
            int k = rint_(1, L);
            int32_t out[VK_OUT_WORDS];
            random_modes(modes, L, 0);
            vk_cfg_init(cfg, modes, L, 0, k);
            vk_kernel_run(q->wt, q->par, cfg, img, saved, out);
            CHECK_EQ_INT(out[VK_OUT_STATUS], VK_KSTAT_OK);
            for (int l = k; l < L; l++) /* a new suffix, its sources its own */
                if (rnd() % 2)
                    modes[l] = rand_word();
            repair_modes(modes, k, L);
            if (rnd() % 8 == 0 && k < L)
                break_modes(modes, k, L);
            vk_cfg_init(cfg, modes, L, k, kind == 5 ? rint_(0, L) : 0);
            fill_rand(img, in); /* not read on resume */
            one_case(q, ctx, cfg, img, saved, "resume");
        } else if (kind == 6) { /* resume from a random stream, any token count */
            for (size_t i = 0; i < an; i++)
                saved[i] = (int32_t)(rnd() % (1u << 22)) - (1 << 21);
            switch (rnd() % 4) {
            case 0: saved[VK_ACT_TOKENS] = rint_(-2, 1); break; /* no patch token: refused */
            case 1: saved[VK_ACT_TOKENS] = T + rint_(1, 3); break; /* too many: refused */
            default: saved[VK_ACT_TOKENS] = rint_(2, T); break;
            }
            int k = rint_(1, L);
            random_modes(modes, L, k);
            vk_cfg_init(cfg, modes, L, k, rint_(0, L));
            one_case(q, ctx, cfg, img, saved, "resume-noise");
        } else { /* malformed cfg or refused genome: only the status word is written */
            int k = rint_(0, L - 1);
            random_modes(modes, L, k);
            vk_cfg_init(cfg, modes, L, k, 0);
            switch (rnd() % 4) {
            case 0: cfg[VK_CFG_MAGIC_W] ^= 1u << (rnd() % 32); break;
            case 1: cfg[VK_CFG_START] = (uint32_t)rint_(L + 1, L + 5); break;
            case 2: /* negative, past the encoders, or before START */
                cfg[VK_CFG_SAVE] = rnd() % 3 == 0 ? 0x80000000u | (uint32_t)rnd()
                                   : k >= 2 && rnd() % 2 ? (uint32_t)rint_(1, k - 1)
                                                         : (uint32_t)rint_(L + 1, L + 9);
                break;
            default: break_modes(cfg + VK_CFG_MODES, k, L); break;
            }
            one_case(q, ctx, cfg, img, NULL, "refused");
        }
    }
    for (int i = 0; i < n_isa; i++)
        vk_fast_ctx_free(ctx[i]);
out:
    free(img);
    free(saved);
}

static void random_hparams(vk_hparams *hp)
{
    static const int dh_choices[] = {1, 3, 4, 5, 8, 13, 16};
    memset(hp, 0, sizeof *hp);
    hp->patch_size = rint_(1, 4);
    hp->image_size = hp->patch_size * rint_(1, 4);
    hp->n_channels = rint_(1, 3);
    hp->n_heads = rint_(1, 4);
    hp->dim = hp->n_heads * dh_choices[rnd() % 7];
    hp->n_layers = rint_(1, 4);
    hp->mlp_dim = rint_(3, 140); /* up to two FFN blocks and a tail */
    hp->n_classes = rint_(2, 37);
    hp->ln_eps = 1e-6f;
    hp->act = (vk_act)(rnd() % 4);
}

/* Many small random models, a few dozen cases each. */
static void test_random_models(void)
{
    for (int mi = 0; mi < 48; mi++) {
        vk_hparams hp;
        vk_qmodel q;
        random_hparams(&hp);
        if (make_model(&hp, 1000 + mi, mi % 2, &q)) {
            CHECK(0);
            continue;
        }
        model_cases(&q, 40, 1);
        vk_qmodel_free(&q);
    }
}

/* Wider models: 3 heads of 32, MLP 200 (FFN cuts at 136, 72 and 8
 * neurons), 17, 50 and 82 tokens (pruning over more than one 64-token
 * tile), odd classes. */
static void test_wide_models(void)
{
    const int sides[3][3] = {{16, 4, 1}, {21, 3, 3}, {18, 2, 1}}; /* image, patch, channels */
    static const int want_t[3] = {17, 50, 82};
    for (int mi = 0; mi < 3; mi++) {
        vk_hparams hp = {.image_size = sides[mi][0], .patch_size = sides[mi][1],
                         .n_channels = sides[mi][2], .dim = 96, .n_layers = 3, .n_heads = 3,
                         .mlp_dim = 200, .n_classes = mi ? 37 : 10, .ln_eps = 1e-6f,
                         .act = VK_ACT_GELU};
        vk_qmodel q;
        if (make_model(&hp, 77 + mi, mi, &q)) {
            CHECK(0);
            continue;
        }
        CHECK_EQ_INT(vk_qmodel_dim(&q, VK_HDR_TOKENS), want_t[mi]);
        model_cases(&q, mi == 2 ? 24 : 48, 1);
        vk_qmodel_free(&q);
    }
}

/* Products and attention large enough (101 tokens, dim 192) to be split
 * over 2 threads inside one image. */
static void test_threads(void)
{
    vk_hparams hp = {.image_size = 30, .patch_size = 3, .n_channels = 1, .dim = 192,
                     .n_layers = 2, .n_heads = 3, .mlp_dim = 384, .n_classes = 13,
                     .ln_eps = 1e-6f, .act = VK_ACT_GELU};
    vk_qmodel q;
    if (make_model(&hp, 91, 1, &q)) {
        CHECK(0);
        return;
    }
    model_cases(&q, 16, 2);
    vk_qmodel_free(&q);
}

/* Batch runs (all threads) against per-image kernel runs, with save: a
 * genome with every mode (full pruning to 70%, shared heads with half the
 * FFN, reuse with a quarter dropped), saved after 2 encoders (27 of 37
 * tokens), and a resume there (shared heads pruning to 85%). */
static void test_batch(void)
{
    vk_hparams hp = {.image_size = 12, .patch_size = 2, .n_channels = 2, .dim = 20,
                     .n_layers = 3, .n_heads = 4, .mlp_dim = 100, .n_classes = 7,
                     .ln_eps = 1e-6f, .act = VK_ACT_GELU_TANH};
    vk_qmodel q;
    vk_fast_ctx *f;
    vk_err err = {{0}};
    int n = 37;
    if (make_model(&hp, 5, 1, &q)) {
        CHECK(0);
        return;
    }
    CHECK_EQ_INT(vk_fast_ctx_new(&q, VK_FAST_ISA_AUTO, &f, &err), VK_OK);
    size_t in = vk_qmodel_img_n(&q), an = vk_qmodel_act_n(&q), on = vk_fast_out_n(f);
    int8_t *imgs = malloc(in * n);
    int32_t *acts = calloc(an * n, 4), *outs = calloc(on * n, 4);
    int32_t *act1 = malloc(an * 4), out1[VK_OUT_WORDS];
    uint32_t cfg[VK_CFG_WORDS];
    const uint32_t modes[3] = {VK_MODE_FULL_WORD(VK_ATTN_FULL, 70, 0),
                               VK_MODE_FULL_WORD(VK_ATTN_SHARED, 100, 50),
                               VK_MODE_FULL_WORD(VK_ATTN_REUSE, 0, 25)},
                   tail[3] = {0, 0, VK_MODE_FULL_WORD(VK_ATTN_SHARED, 85, 25)};
    fill_rand(imgs, in * n);
    vk_cfg_init(cfg, modes, 3, 0, 2);
    CHECK_EQ_INT(vk_fast_run_batch(f, cfg, imgs, n, acts, outs, &err), VK_OK);
    int same = 1;
    for (int i = 0; i < n; i++) {
        memset(act1, 0, an * 4); /* like acts: the header's reserved words stay as they were */
        vk_kernel_run(q.wt, q.par, cfg, imgs + i * in, act1, out1);
        same &= out1[VK_OUT_STATUS] == VK_KSTAT_OK && !memcmp(out1, outs + i * on, on * 4) &&
                !memcmp(act1, acts + i * an, an * 4);
    }
    CHECK(same);
    /* resume the batch from the saved streams */
    CHECK_EQ_INT(acts[VK_ACT_TOKENS], 1 + vk_keep_count(36, 70));
    vk_cfg_init(cfg, tail, 3, 2, 0);
    CHECK_EQ_INT(vk_fast_run_batch(f, cfg, imgs, n, acts, outs, &err), VK_OK);
    same = 1;
    for (int i = 0; i < n; i++) {
        memcpy(act1, acts + i * an, an * 4);
        vk_kernel_run(q.wt, q.par, cfg, imgs + i * in, act1, out1);
        same &= out1[VK_OUT_STATUS] == VK_KSTAT_OK && !memcmp(out1, outs + i * on, on * 4);
    }
    CHECK(same);
    CHECK_EQ_INT(vk_fast_run_batch(f, cfg, imgs, n, NULL, outs, &err), VK_E_ARG);
    CHECK_STR_CONTAINS(err.msg, "acts is NULL");
    vk_fast_ctx_free(f);
    free(imgs);
    free(acts);
    free(outs);
    free(act1);
    vk_qmodel_free(&q);
}

/* The pieces against the kernel: a path run as embed + encoders in
 * random slices (a reuse reading attention across a slice boundary
 * included) + head equals the kernel's run, the stream after k encoders
 * its saved act; vk_fast_resume from the kernel's saved stream equals
 * START = k; misuse is refused with act untouched. */
static void test_pieces(void)
{
    vk_hparams hp = {.image_size = 14, .patch_size = 2, .n_channels = 1, .dim = 24,
                     .n_layers = 5, .n_heads = 3, .mlp_dim = 70, .n_classes = 6,
                     .ln_eps = 1e-6f, .act = VK_ACT_GELU};
    const int L = 5;
    vk_qmodel q;
    vk_fast_ctx *ctx[3];
    if (make_model(&hp, 61, 1, &q)) {
        CHECK(0);
        return;
    }
    if (open_ctxs(&q, ctx)) {
        vk_qmodel_free(&q);
        return;
    }
    size_t in = vk_qmodel_img_n(&q), an = vk_qmodel_act_n(&q);
    int8_t *img = malloc(in);
    int32_t *act_k = malloc(an * 4), *act_f = malloc(an * 4), *act_x = malloc(an * 4);
    int32_t out_k[VK_OUT_WORDS], out_f[VK_OUT_WORDS];
    uint32_t cfg[VK_CFG_WORDS], modes[VK_MAX_LAYERS];
    int same = 1, refused = 1;
    for (int c = 0; c < 12; c++) {
        int k = rint_(1, L - 1), a = rint_(0, k), b = rint_(k, L);
        fill_rand(img, in);
        random_modes(modes, L, 0);
        if (c < 4) { /* the source before the boundary k, its reuse after it */
            modes[k - 1] = VK_MODE(c % 2 ? VK_ATTN_FULL : VK_ATTN_SHARED);
            modes[k] = VK_MODE_FULL_WORD(VK_ATTN_REUSE, 0, 25);
        }
        vk_cfg_init(cfg, modes, L, 0, k);
        memset(act_k, 0, an * 4);
        vk_kernel_run(q.wt, q.par, cfg, img, act_k, out_k);
        CHECK_EQ_INT(out_k[VK_OUT_STATUS], VK_KSTAT_OK);
        for (int i = 0; i < n_isa; i++) {
            vk_fast_ctx *f = ctx[i];
            size_t sn = vk_fast_act_words(f, act_k[VK_ACT_TOKENS]);
            memset(out_f, 0, sizeof out_f);
            vk_fast_embed(f, 0, img, act_f);
            same &= vk_fast_encoders(f, 0, modes, 0, a, act_f) == VK_KSTAT_OK;
            same &= vk_fast_encoders(f, 0, modes, a, k, act_f) == VK_KSTAT_OK;
            same &= act_f[VK_ACT_TOKENS] == act_k[VK_ACT_TOKENS] &&
                    !memcmp(act_f + VK_ACT_HDR, act_k + VK_ACT_HDR, (sn - VK_ACT_HDR) * 4);
            /* not this stream: a copy of it, or another depth */
            memcpy(act_x, act_f, an * 4);
            refused &= vk_fast_encoders(f, 0, modes, k, L, act_x) == VK_KSTAT_BAD_CFG;
            refused &= vk_fast_encoders(f, 0, modes, k - 1, L, act_f) == VK_KSTAT_BAD_CFG;
            refused &= !memcmp(act_x, act_f, an * 4);
            same &= vk_fast_encoders(f, 0, modes, k, b, act_f) == VK_KSTAT_OK;
            same &= vk_fast_encoders(f, 0, modes, b, L, act_f) == VK_KSTAT_OK;
            vk_fast_head(f, 0, act_f, out_f);
            same &= !memcmp(out_f, out_k, vk_fast_out_n(f) * 4);
            /* from the kernel's saved stream: START = k */
            memcpy(act_x, act_k, an * 4);
            if (vk_fast_modes_ok(f, modes, k)) {
                uint32_t cfg2[VK_CFG_WORDS];
                int32_t out2[VK_OUT_WORDS], *act2 = malloc(an * 4);
                memcpy(act2, act_k, an * 4);
                vk_cfg_init(cfg2, modes, L, k, 0);
                vk_kernel_run(q.wt, q.par, cfg2, img, act2, out2);
                same &= vk_fast_resume(f, 0, modes, k, L, act_x) == VK_KSTAT_OK;
                vk_fast_head(f, 0, act_x, out_f);
                same &= !memcmp(out_f, out2, vk_fast_out_n(f) * 4);
                free(act2);
            } else { /* a reuse reads attention before k: the kernel refuses START = k */
                refused &= vk_fast_resume(f, 0, modes, k, L, act_x) == VK_KSTAT_BAD_MODE;
                refused &= !memcmp(act_x, act_k, an * 4);
            }
            act_x[VK_ACT_TOKENS] = c % 2 ? 1 : vk_qmodel_dim(&q, VK_HDR_TOKENS) + 1;
            refused &= vk_fast_resume(f, 0, modes, k, L, act_x) == VK_KSTAT_BAD_CFG;
        }
    }
    CHECK(same);
    CHECK(refused);
    for (int i = 0; i < n_isa; i++)
        vk_fast_ctx_free(ctx[i]);
    free(img);
    free(act_k);
    free(act_f);
    free(act_x);
    vk_qmodel_free(&q);
}

/* Blobs the kernel answers BAD_PAR are refused by vk_fast_ctx_new. */
static void test_bad_par(void)
{
    vk_hparams hp = {.image_size = 8, .patch_size = 4, .n_channels = 1, .dim = 8,
                     .n_layers = 1, .n_heads = 2, .mlp_dim = 8, .n_classes = 3,
                     .ln_eps = 1e-6f};
    vk_qmodel q;
    vk_fast_ctx *f = NULL;
    vk_err err = {{0}};
    int8_t img[64] = {0};
    int32_t act[5 * 8], out[VK_OUT_WORDS];
    uint32_t cfg[VK_CFG_WORDS];
    const int fields[] = {VK_HDR_MAGIC, VK_HDR_DIM, VK_HDR_HEADS, VK_HDR_TOKENS, VK_HDR_CLASSES};
    if (make_model(&hp, 9, 0, &q)) {
        CHECK(0);
        return;
    }
    random_cfg(cfg, 1, 0, 0);
    for (int i = 0; i < 5; i++) {
        int32_t keep = q.par[fields[i]];
        q.par[fields[i]] = fields[i] == VK_HDR_HEADS ? 3 : 100000;
        vk_kernel_run(q.wt, q.par, cfg, img, act, out);
        CHECK_EQ_INT(out[VK_OUT_STATUS], VK_KSTAT_BAD_PAR);
        CHECK_EQ_INT(vk_fast_ctx_new(&q, VK_FAST_ISA_AUTO, &f, &err), VK_E_FORMAT);
        CHECK(f == NULL);
        CHECK_STR_CONTAINS(err.msg, "model blob rejected");
        q.par[fields[i]] = keep;
    }
    if (!vk_fast_isa_supported(VK_FAST_ISA_VNNI)) {
        CHECK_EQ_INT(vk_fast_ctx_new(&q, VK_FAST_ISA_VNNI, &f, &err), VK_E_UNSUPPORTED);
        CHECK(f == NULL);
    }
    vk_qmodel_free(&q);
}

/* Requantizers at the edges of their range (mult up to 2^31 - 1, shifts
 * 0..63, ties) on the int8 outputs, where nothing downstream can overflow:
 * the SIMD epilogues must round exactly as vk_requant. */
static void test_requant_edges(void)
{
    vk_hparams hp = {.image_size = 8, .patch_size = 2, .n_channels = 1, .dim = 24,
                     .n_layers = 2, .n_heads = 2, .mlp_dim = 40, .n_classes = 9,
                     .ln_eps = 1e-6f};
    vk_qmodel q;
    if (make_model(&hp, 21, 1, &q)) {
        CHECK(0);
        return;
    }
    for (int l = 0; l < 2; l++) {
        int32_t *lp = q.par + q.lay.layer_p + l * q.lay.layer_p_n;
        struct {
            uint32_t m, s;
            int n;
        } t[3] = {{q.lay.qkv_m, q.lay.qkv_s, 3 * 24}, {q.lay.fc1_m, q.lay.fc1_s, 40},
                  {q.lay.av_m, q.lay.av_s, 1}};
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < t[i].n; j++) {
                int r = (int)(rnd() % 4);
                lp[t[i].m + j] = r == 0 ? 0x7FFFFFFF : (r == 1 ? 1 << 30 : (int32_t)(rnd() >> 33));
                lp[t[i].s + j] = (int32_t)(rnd() % 64);
            }
    }
    model_cases(&q, 64, 1);
    /* a negative multiplier and a negative shift (vk_rshift_round's "no
     * shift"): outside the SIMD requantizer's range, the scalar one runs */
    q.par[q.lay.layer_p + q.lay.fc1_m] = -(1 << 29);
    q.par[q.lay.layer_p + q.lay.qkv_s + 1] = -3;
    model_cases(&q, 24, 1);
    vk_qmodel_free(&q);
}

/* The prefix cache: byte-equal to plain runs over a random sequence of
 * genomes mixing every mode (mutations of earlier genomes, repeats, new
 * image sets, a second model), bounded memory, real savings, and paths
 * whose reuse reads attention of a cached prefix resumed shallower. */
static void prefix_sequence(size_t budget, int n_entries_fit, uint64_t *computed)
{
    vk_hparams hp = {.image_size = 12, .patch_size = 3, .n_channels = 1, .dim = 24,
                     .n_layers = 6, .n_heads = 3, .mlp_dim = 50, .n_classes = 10,
                     .ln_eps = 1e-6f, .act = VK_ACT_GELU};
    vk_qmodel q, q2;
    vk_fast_ctx *f, *f2;
    vk_prefix *pc;
    vk_prefix_stats st;
    vk_err err = {{0}};
    const int n = 19, L = 6; /* 17 tokens, pruned to 9 by a :k50 */
    uint32_t hist[48][VK_CFG_WORDS];
    if (make_model(&hp, 31, 0, &q) || make_model(&hp, 32, 0, &q2)) {
        CHECK(0);
        return;
    }
    CHECK_EQ_INT(vk_fast_ctx_new(&q, VK_FAST_ISA_AUTO, &f, &err), VK_OK);
    CHECK_EQ_INT(vk_fast_ctx_new(&q2, VK_FAST_ISA_SCALAR, &f2, &err), VK_OK);
    size_t in = vk_fast_img_n(f), on = vk_fast_out_n(f), eb = (size_t)n * vk_fast_act_n(f) * 4;
    int8_t *imgs = malloc(in * n * 2);
    int32_t *o_c = malloc(on * n * 4), *o_p = malloc(on * n * 4);
    if (!budget)
        budget = eb * (size_t)n_entries_fit + eb / 2;
    CHECK_EQ_INT(vk_prefix_new(budget, &pc, &err), VK_OK);
    fill_rand(imgs, in * n * 2);
    int all_equal = 1, bounded = 1;
    for (int g = 0; g < 48; g++) {
        uint32_t *cfg = hist[g];
        int set = g % 11 == 10, other = g % 13 == 12;
        random_cfg(cfg, L, 0, 0);
        if (g > 0 && g % 5 != 0) { /* a mutation (or, 1 in 8, a copy) of an earlier genome */
            memcpy(cfg, hist[rnd() % g], sizeof hist[0]);
            if (rnd() % 8) {
                cfg[VK_CFG_MODES + rint_(0, L - 1)] = rand_word();
                repair_modes(cfg + VK_CFG_MODES, 0, L);
            }
        }
        vk_fast_ctx *fx = other ? f2 : f;
        const int8_t *im = imgs + (set ? in * n : 0);
        CHECK_EQ_INT(vk_prefix_run(pc, fx, cfg + VK_CFG_MODES, im, n, o_c, &err), VK_OK);
        CHECK_EQ_INT(vk_fast_run_batch(fx, cfg, im, n, NULL, o_p, &err), VK_OK);
        all_equal &= !memcmp(o_c, o_p, on * n * 4);
        vk_prefix_get_stats(pc, &st);
        bounded &= st.bytes <= st.max_bytes && st.bytes <= st.entries * eb;
    }
    CHECK(all_equal);
    CHECK(bounded);
    vk_prefix_get_stats(pc, &st);
    printf("prefix: budget %zu full entries: %llu of %llu encoder runs computed, %llu hits "
           "(%llu shallower: a reuse read a cached prefix's attention), %llu evictions, "
           "%llu not stored\n",
           budget / eb, (unsigned long long)st.enc_computed,
           (unsigned long long)st.enc_requested, (unsigned long long)st.hits,
           (unsigned long long)st.shallower, (unsigned long long)st.evictions,
           (unsigned long long)st.skipped);
    CHECK_EQ_INT(st.paths, 48);
    CHECK_EQ_INT(st.enc_requested, 48ull * n * L);
    CHECK(st.enc_computed < st.enc_requested);
    CHECK(st.hits > 0);
    CHECK(st.shallower > 0);
    *computed = st.enc_computed;
    /* a word the kernel refuses: pruning after skipped attention */
    hist[0][VK_CFG_MODES + 2] = VK_MODE_FULL_WORD(VK_ATTN_SKIP, 50, 0);
    CHECK_EQ_INT(vk_prefix_run(pc, f, hist[0] + VK_CFG_MODES, imgs, n, o_c, &err), VK_E_ARG);
    CHECK_STR_CONTAINS(err.msg, "encoder 2");
    vk_prefix_free(pc);
    vk_fast_ctx_free(f);
    vk_fast_ctx_free(f2);
    vk_qmodel_free(&q);
    vk_qmodel_free(&q2);
    free(imgs);
    free(o_c);
    free(o_p);
}

static void test_prefix(void)
{
    uint64_t small, big;
    rs = 4242; /* same genome sequence for both budgets */
    prefix_sequence(0, 4, &small);
    rs = 4242;
    prefix_sequence(VK_PREFIX_DEFAULT_BYTES, 0, &big);
    CHECK(big <= small);
}

/* Genome text for n encoders: gene g everywhere, or alt at odd encoders,
 * or gene one at encoder 1 only. */
static void genome_text(char *out, int n, const char *g, const char *alt, const char *one)
{
    out[0] = 0;
    for (int l = 0; l < n; l++)
        strcat(out, one ? (l == 1 ? one : g) : alt && l % 2 ? alt : g);
}

/* A bundled model (dir) calibrated on calib_n training images, on n_img
 * test images: the named genomes (every encoder full; every other
 * attention skipped; shared heads everywhere; 70% of the patch tokens kept
 * at encoder 1; half the FFN dropped everywhere; mix, a genome of every
 * mode) and n_rand random genomes of the search's space ("all") and as
 * many of any percent, on every image, with random save points; n_rand
 * resumes from streams the kernel saved with new suffixes and n_rand
 * refused genomes, on one image each. */
static void real_model(const char *dir, int tokens, const char *mix, int n_img, int calib_n,
                       int n_rand)
{
    char cfgp[256], named[6][VK_GENOME_TEXT_MAX];
    struct stat st;
    vk_workload_opts o = {
        .model = dir, .data = VK_FX_FMNIST, .limit = n_img, .calib_n = calib_n, .quiet = 1};
    vk_workload w;
    vk_err err = {{0}};
    vk_fast_ctx *ctx[3];
    vk_space sp;
    vk_rng rng;
    vk_genome g;
    uint32_t cfg[VK_CFG_WORDS], modes[VK_MAX_LAYERS];
    long ok0 = cov_status[VK_KSTAT_OK], bad0 = cov_status[VK_KSTAT_BAD_MODE];
    snprintf(cfgp, sizeof cfgp, "%s/config.json", dir);
    if (stat(cfgp, &st) != 0 || stat(VK_FX_FMNIST, &st) != 0)
        SKIP("%s or %s absent", cfgp, VK_FX_FMNIST);
    if (vk_workload_open(&o, &w, &err) != VK_OK) {
        fprintf(stderr, "%s: %s\n", dir, err.msg);
        CHECK(0);
        return;
    }
    int L = vk_qmodel_dim(&w.q, VK_HDR_LAYERS);
    size_t in = vk_qmodel_img_n(&w.q), an = vk_qmodel_act_n(&w.q);
    int32_t *saved = malloc(an * 4), out[VK_OUT_WORDS];
    CHECK_EQ_INT(vk_qmodel_dim(&w.q, VK_HDR_TOKENS), tokens);
    CHECK_EQ_INT(w.n, n_img);
    if (open_ctxs(&w.q, ctx))
        goto out;
    genome_text(named[0], L, "F", NULL, NULL);
    genome_text(named[1], L, "F", "S", NULL);
    genome_text(named[2], L, "H", NULL, NULL);
    genome_text(named[3], L, "F", NULL, "F:k70");
    genome_text(named[4], L, "F:f50", NULL, NULL);
    snprintf(named[5], sizeof named[5], "%s", mix);
    CHECK_EQ_INT(vk_space_parse("all", &sp, &err), VK_OK);
    vk_rng_seed(&rng, 0x5EED197);
    vk_test_seed("genomes", 0x5EED197);
    for (int c = 0; c < 6 + 2 * n_rand; c++) {
        char what[VK_GENOME_TEXT_MAX + 300];
        if (c < 6) {
            CHECK_EQ_INT(vk_genome_parse(named[c], L, &g, &err), VK_OK);
            memcpy(modes, g.modes, sizeof modes);
        } else if (c < 6 + n_rand) {
            vk_genome_random(&g, L, &sp, &rng);
            memcpy(modes, g.modes, sizeof modes);
        } else {
            random_modes(modes, L, 0);
        }
        memcpy(g.modes, modes, sizeof modes);
        vk_genome_format(&g, L, what);
        snprintf(what + strlen(what), 300, " on %s", dir);
        for (int i = 0; i < n_img; i++) {
            vk_cfg_init(cfg, modes, L, 0, rint_(0, L));
            one_case(&w.q, ctx, cfg, w.imgs + (size_t)i * in, NULL, what);
        }
    }
    for (int c = 0; c < n_rand; c++) { /* resumes from saved streams, pruned ones too */
        const int8_t *img = w.imgs + (size_t)rint_(0, n_img - 1) * in;
        int k = rint_(1, L - 1);
        vk_genome_random(&g, L, &sp, &rng);
        memcpy(modes, g.modes, sizeof modes);
        vk_cfg_init(cfg, modes, L, 0, k);
        vk_kernel_run(w.q.wt, w.q.par, cfg, img, saved, out);
        CHECK_EQ_INT(out[VK_OUT_STATUS], VK_KSTAT_OK);
        for (int l = k; l < L; l++)
            if (rnd() % 2)
                modes[l] = rand_word();
        repair_modes(modes, k, L);
        vk_cfg_init(cfg, modes, L, k, rint_(0, L) < k ? 0 : rint_(k, L));
        one_case(&w.q, ctx, cfg, img, saved, "resume");
    }
    for (int c = 0; c < n_rand; c++) { /* refused genomes */
        random_modes(modes, L, 0);
        break_modes(modes, 0, L);
        vk_cfg_init(cfg, modes, L, 0, 0);
        one_case(&w.q, ctx, cfg, w.imgs + (size_t)rint_(0, n_img - 1) * in, NULL, "refused");
    }
    /* the named genomes, the search's and the resumes are all valid */
    CHECK(cov_status[VK_KSTAT_OK] - ok0 >= (long)(6 + n_rand) * n_img + n_rand);
    CHECK(cov_status[VK_KSTAT_BAD_MODE] - bad0 >= n_rand);
    printf("fast: %s (%d tokens, %d encoders): %d genomes on %d images, %d resumes, "
           "%d refused genomes, byte-equal on every instruction set\n",
           dir, tokens, L, 6 + 2 * n_rand, n_img, n_rand, n_rand);
    for (int i = 0; i < n_isa; i++)
        vk_fast_ctx_free(ctx[i]);
out:
    free(saved);
    vk_workload_free(&w);
}

static void test_demo_model(void)
{
    real_model("models/demo", 17, "H:k70FRS:f50FHRF:k50", 4, 64, 12);
}

static void test_fm197(void)
{
    real_model("models/fm197", 197, "H:k70FRRF:k50SH:f25RFH:k85FR:f50", 2, 16, 3);
}

/* The byte comparisons above ran every mode and every refusal. */
static void test_coverage(void)
{
    printf("fast: kernel statuses ok %ld, bad cfg %ld, bad mode %ld; encoders run: F %ld, "
           "S %ld, R %ld, H %ld, pruning %ld, FFN-sparse %ld\n",
           cov_status[VK_KSTAT_OK], cov_status[VK_KSTAT_BAD_CFG], cov_status[VK_KSTAT_BAD_MODE],
           cov_attn[VK_ATTN_FULL], cov_attn[VK_ATTN_SKIP], cov_attn[VK_ATTN_REUSE],
           cov_attn[VK_ATTN_SHARED], cov_prune, cov_ffn);
    CHECK(cov_status[VK_KSTAT_OK] > 0 && cov_status[VK_KSTAT_BAD_CFG] > 0 &&
          cov_status[VK_KSTAT_BAD_MODE] > 0);
    CHECK_EQ_INT(cov_status[VK_KSTAT_BAD_PAR] + cov_status[VK_KSTAT_NOMEM] + cov_status[4], 0);
    for (int a = 0; a < 4; a++)
        CHECK(cov_attn[a] > 0);
    CHECK(cov_prune > 0 && cov_ffn > 0);
}

int main(void)
{
    vk_test_seed("rnd", rs);
    isas[n_isa++] = VK_FAST_ISA_SCALAR;
    if (vk_fast_isa_supported(VK_FAST_ISA_AVX2))
        isas[n_isa++] = VK_FAST_ISA_AVX2;
    if (vk_fast_isa_supported(VK_FAST_ISA_VNNI))
        isas[n_isa++] = VK_FAST_ISA_VNNI;
    printf("fast: instruction sets checked:");
    for (int i = 0; i < n_isa; i++)
        printf(" %s", vk_fast_isa_str(isas[i]));
    printf("\n");
    RUN(test_selfcheck);
    RUN(test_random_models);
    RUN(test_wide_models);
    RUN(test_threads);
    RUN(test_batch);
    RUN(test_pieces);
    RUN(test_bad_par);
    RUN(test_requant_edges);
    RUN(test_prefix);
    RUN(test_demo_model);
    RUN(test_fm197);
    RUN(test_coverage);
    return vk_test_summary("fast");
}
