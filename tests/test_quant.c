/* test_quant: the integer operators against float math, the quantizer's
 * multipliers, the blob file form (including malformed blobs), and the
 * int8 kernel's top-1 against the float reference on the full
 * Fashion-MNIST test set (within 1.0 point). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/vk_data.h"
#include "host/vk_fast.h"
#include "host/vk_quant.h"
#include "kernels/vk_int.h"
#include "kernels/vk_kernel.h"
#include "tests/vk_fixture.h"
#include "tests/vk_test.h"


static uint64_t rs = 88172645463325252ull;
static double urand(void)
{
    return (double)(vk_fixture_next(&rs) >> 11) / 9007199254740992.0;
}

static void test_rshift_round(void)
{
    CHECK_EQ_INT(vk_rshift_round(5, 1), 3);   /* 2.5 -> 3 */
    CHECK_EQ_INT(vk_rshift_round(-5, 1), -3); /* -2.5 -> -3 */
    CHECK_EQ_INT(vk_rshift_round(-4, 1), -2);
    CHECK_EQ_INT(vk_rshift_round(7, 0), 7);
    CHECK_EQ_INT(vk_div_round(-7, 2), -4);
    CHECK_EQ_INT(vk_div_round(7, 3), 2);
    CHECK_EQ_INT(vk_sat8(300), 127);
    CHECK_EQ_INT(vk_sat8(-300), -128);
    CHECK_EQ_INT(vk_isqrt64(0), 0);
    CHECK_EQ_INT(vk_isqrt64(15), 3);
    CHECK_EQ_INT(vk_isqrt64(16), 4);
    CHECK_EQ_INT(vk_isqrt64(4611686018427387904ll), 2147483648ll);
}

static void test_exp2_log2(void)
{
    double worst = 0;
    for (int64_t x = 0; x > -15 * 65536; x -= 977) {
        double want = pow(2.0, x / 65536.0) * 32768.0, got = vk_exp2_neg_q16(x);
        double rel = fabs(got - want) / want;
        if (want > 4096 && rel > worst) /* below that, Q15 rounding (0.5 LSB) dominates */
            worst = rel;
    }
    printf("exp2: max relative error %.2e\n", worst);
    CHECK(worst < 2e-4);
    CHECK_EQ_INT(vk_exp2_neg_q16(0), 32768);
    CHECK_EQ_INT(vk_exp2_neg_q16(-16 * 65536), 0);
    worst = 0;
    for (int64_t z = 1; z < ((int64_t)1 << 40); z = z * 3 + 1) {
        double err = fabs(vk_log2_q16(z) / 65536.0 - log2((double)z));
        if (err > worst)
            worst = err;
    }
    printf("log2: max absolute error %.2e\n", worst);
    CHECK(worst < 2e-4);
}

static void test_entropy_softmax(void)
{
    double worst = 0;
    int32_t mult, shift;
    const double s_logit = 0.003;
    CHECK_EQ_INT(vk_quant_mult(s_logit * M_LOG2E * 65536.0, &mult, &shift), VK_OK);
    for (int trial = 0; trial < 500; trial++) {
        int k = 2 + (int)(urand() * 30);
        int32_t lg[32];
        double mx = -1e9, z = 0, h = 0;
        double spread = urand() * 4000;
        for (int i = 0; i < k; i++) {
            lg[i] = (int32_t)((urand() - 0.5) * spread);
            if (lg[i] * s_logit > mx)
                mx = lg[i] * s_logit;
        }
        for (int i = 0; i < k; i++)
            z += exp(lg[i] * s_logit - mx);
        for (int i = 0; i < k; i++) {
            double p = exp(lg[i] * s_logit - mx) / z;
            if (p > 0)
                h -= p * log(p);
        }
        double got = vk_entropy_q16(lg, k, mult, shift) / 65536.0;
        if (fabs(got - h) > worst)
            worst = fabs(got - h);
    }
    printf("entropy: max absolute error %.4f nats\n", worst);
    CHECK(worst < 0.01);

    /* softmax row: probabilities sum to about 256 and follow the float ones */
    int32_t sc[50], e[50];
    uint8_t p[50];
    CHECK_EQ_INT(vk_quant_mult(0.01 * M_LOG2E * 65536.0, &mult, &shift), VK_OK);
    for (int trial = 0; trial < 200; trial++) {
        int n = 1 + (int)(urand() * 50);
        double z = 0, mx = -1e9, werr = 0;
        int sum = 0;
        for (int j = 0; j < n; j++) {
            sc[j] = (int32_t)((urand() - 0.5) * 1000);
            if (sc[j] * 0.01 > mx)
                mx = sc[j] * 0.01;
        }
        for (int j = 0; j < n; j++)
            z += exp(sc[j] * 0.01 - mx);
        vk_softmax_row_q8(sc, n, mult, shift, e, p);
        for (int j = 0; j < n; j++) {
            double want = exp(sc[j] * 0.01 - mx) / z * 256;
            if (fabs(p[j] - want) > werr)
                werr = fabs(p[j] - want);
            sum += p[j];
        }
        CHECK(werr <= 1.01);
        CHECK(sum >= 256 - n && sum <= 256 + n);
    }
}

static void test_layernorm(void)
{
    int32_t h[64], g[64], b[64];
    int8_t y[64];
    double worst = 0;
    const double s_out = 0.05;
    for (int trial = 0; trial < 200; trial++) {
        int d = 8 + (int)(urand() * 56);
        double mean = 0, var = 0;
        double amp = 1000 + urand() * 1e6;
        float gf[64], bf[64];
        for (int i = 0; i < d; i++) {
            h[i] = (int32_t)((urand() - 0.3) * amp);
            gf[i] = (float)(0.5 + urand());
            bf[i] = (float)((urand() - 0.5) * 0.5);
            g[i] = (int32_t)lround(gf[i] / s_out * (1 << VK_LN_GS));
            b[i] = (int32_t)lround(bf[i] / s_out * (1 << VK_LN_GS));
            mean += h[i];
        }
        mean /= d;
        for (int i = 0; i < d; i++)
            var += (h[i] - mean) * (h[i] - mean);
        var /= d;
        vk_layernorm_row(h, d, g, b, 0, y);
        for (int i = 0; i < d; i++) {
            double want = ((h[i] - mean) / sqrt(var) * gf[i] + bf[i]) / s_out;
            if (want > 127)
                want = 127;
            if (want < -128)
                want = -128;
            if (fabs(y[i] - want) > worst)
                worst = fabs(y[i] - want);
        }
    }
    printf("layernorm: max error %.3f LSB\n", worst);
    CHECK(worst <= 0.51);
}

static void test_mult(void)
{
    int32_t m, s;
    /* multipliers of VK_MULT_BITS = 17 bits: one DSP48E2 per product, a
       relative error below 2^-17 */
    const double vals[] = {1.0, 0.5, 0.123456, 3.7e-5, 1.9e-12, 1234.5, 1.2e5};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        CHECK_EQ_INT(vk_quant_mult(vals[i], &m, &s), VK_OK);
        CHECK(s >= 0 && s <= 62);
        CHECK(m >= 1 && m < 1 << VK_MULT_BITS);
        int64_t acc = 1000003;
        double want = acc * vals[i];
        CHECK(fabs((double)vk_requant(acc, m, s) - want) <= 0.5 + fabs(want) / (1 << 17));
    }
    CHECK_EQ_INT(vk_quant_mult(1.0, &m, &s), VK_OK);
    CHECK_EQ_INT(m, 1 << 16);
    CHECK_EQ_INT(s, 16);
    CHECK_EQ_INT(vk_quant_mult(131072.0, &m, &s), VK_E_UNSUPPORTED); /* 2^17 */
    CHECK_EQ_INT(vk_quant_mult(4.0e9, &m, &s), VK_E_UNSUPPORTED);
    CHECK_EQ_INT(vk_quant_mult(-1.0, &m, &s), VK_E_ARG);
}

static void small_model(vk_model *m, vk_qmodel *q)
{
    vk_hparams hp = {.image_size = 16, .patch_size = 4, .n_channels = 1, .dim = 32,
                     .n_layers = 2, .n_heads = 2, .mlp_dim = 64, .n_classes = 5,
                     .ln_eps = 1e-6f, .act = VK_ACT_GELU};
    vk_err err = {{0}};
    float img[8 * 256];
    CHECK_EQ_INT(vk_model_alloc(m, &hp, &err), VK_OK);
    vk_model_randomize(m, 3);
    for (int i = 0; i < 8 * 256; i++)
        img[i] = (float)(urand() * 4 - 2);
    CHECK_EQ_INT(vk_quant_calibrate(m, img, 8, q, &err), VK_OK);
}

static void test_blob(void)
{
    vk_model m;
    vk_qmodel q, r;
    vk_err err = {{0}};
    uint8_t *buf;
    size_t len;
    small_model(&m, &q);
    CHECK_EQ_INT(vk_qmodel_to_bytes(&q, &buf, &len, &err), VK_OK);
    CHECK_EQ_INT(vk_qmodel_from_bytes(buf, len, "blob", &r, &err), VK_OK);
    CHECK(r.par_n == q.par_n && r.wt_n == q.wt_n);
    CHECK(memcmp(r.par, q.par, q.par_n * 4) == 0 && memcmp(r.wt, q.wt, q.wt_n) == 0);
    CHECK(memcmp(r.hash, q.hash, 32) == 0);
    vk_qmodel_free(&r);

    memset(&r, 0x5A, sizeof r); /* out-params untouched on error */
    vk_qmodel before = r;
    CHECK_EQ_INT(vk_qmodel_from_bytes(buf, len - 1, "blob.bin", &r, &err), VK_E_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "blob.bin");
    CHECK(memcmp(&r, &before, sizeof r) == 0);
    CHECK_EQ_INT(vk_qmodel_from_bytes(buf, 10, "blob.bin", &r, &err), VK_E_FORMAT);
    buf[0] = 'X';
    CHECK_EQ_INT(vk_qmodel_from_bytes(buf, len, "blob.bin", &r, &err), VK_E_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "magic");
    buf[0] = 'V';
    /* a dimension beyond the kernel's maxima */
    uint32_t big = VK_MAX_DIM * 2;
    memcpy(buf + 16 + 4 * VK_HDR_DIM, &big, 4);
    CHECK(vk_qmodel_from_bytes(buf, len, "blob.bin", &r, &err) != VK_OK);
    CHECK(memcmp(&r, &before, sizeof r) == 0);
    free(buf);

    /* the kernel rejects a corrupt header instead of reading out of bounds */
    int32_t out[VK_OUT_WORDS] = {0}, act[1];
    int8_t img[256] = {0};
    uint32_t cfg[VK_CFG_WORDS] = {VK_CFG_MAGIC};
    q.par[VK_HDR_TOKENS] += 1;
    vk_kernel_run(q.wt, q.par, cfg, img, act, out);
    CHECK_EQ_INT(out[VK_OUT_STATUS], VK_KSTAT_BAD_PAR);
    q.par[VK_HDR_TOKENS] -= 1;
    cfg[VK_CFG_START] = 5;
    vk_kernel_run(q.wt, q.par, cfg, img, act, out);
    CHECK_EQ_INT(out[VK_OUT_STATUS], VK_KSTAT_BAD_CFG);
    cfg[VK_CFG_START] = 0;
    cfg[VK_CFG_MODES + 0] = VK_MODE(VK_ATTN_REUSE); /* nothing to reuse yet */
    vk_kernel_run(q.wt, q.par, cfg, img, act, out);
    CHECK_EQ_INT(out[VK_OUT_STATUS], VK_KSTAT_BAD_MODE);
    vk_qmodel_free(&q);
    vk_model_free(&m);
}

/* The int8 model on all 10,000 test images versus the float reference:
 * the fast native path for every image (byte-equal to the kernel, which
 * test_fast checks on random models), and the kernel's C simulation itself
 * on every 25th image, equal to the fast path's words. */
static void test_demo_int8_accuracy(void)
{
    vk_model m;
    vk_dataset ds, cal;
    vk_qmodel q;
    vk_err err = {{0}};
    CHECK_EQ_INT(vk_model_load_hf("models/demo", &m, &err), VK_OK);
    CHECK_EQ_INT(vk_dataset_load(VK_FX_FMNIST, &m, 0, &ds, &err), VK_OK);
    CHECK_EQ_INT(vk_dataset_load(VK_FX_FMNIST_TRAIN, &m, 512, &cal, &err), VK_OK);
    if (err.msg[0]) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    size_t img_n = (size_t)m.hp.n_channels * m.hp.image_size * m.hp.image_size;
    float *cf = malloc(512 * img_n * sizeof(float));
    for (int i = 0; i < 512; i++)
        vk_dataset_normalize(&cal, &m, i, &cf[i * img_n]);
    CHECK_EQ_INT(vk_quant_calibrate(&m, cf, 512, &q, &err), VK_OK);
    free(cf);
    int ok_f = 0, ok_q = 0, agree = 0, differ = 0, sampled = 0;
    size_t on = VK_OUT_LOGITS + (size_t)m.hp.n_classes;
    int8_t *q8 = malloc((size_t)ds.n * img_n);
    int32_t *outs = malloc((size_t)ds.n * on * 4);
    uint32_t cfg[VK_CFG_WORDS], full[VK_MAX_LAYERS];
    vk_fast_ctx *f = NULL;
    for (int l = 0; l < VK_MAX_LAYERS; l++)
        full[l] = VK_MODE(VK_ATTN_FULL);
    vk_cfg_init(cfg, full, m.hp.n_layers, 0, 0);
    CHECK(q8 && outs);
    CHECK_EQ_INT(vk_fast_ctx_new(&q, VK_FAST_ISA_AUTO, &f, &err), VK_OK);
    if (!q8 || !outs || !f) {
        free(q8);
        free(outs);
        vk_fast_ctx_free(f);
        return;
    }
#pragma omp parallel
    {
        float *img = malloc(img_n * sizeof(float));
#pragma omp for schedule(static)
        for (int i = 0; i < ds.n; i++) {
            vk_dataset_normalize(&ds, &m, i, img);
            vk_quant_input(&q, img, &q8[(size_t)i * img_n]);
        }
        free(img);
    }
    CHECK_EQ_INT(vk_fast_run_batch(f, cfg, q8, ds.n, NULL, outs, &err), VK_OK);
#pragma omp parallel reduction(+ : ok_f, ok_q, agree, differ, sampled)
    {
        vk_ref_ws *ws = vk_ref_ws_new(&m);
        float *img = malloc(img_n * sizeof(float)), lg[VK_MAX_CLASSES];
        int32_t *out = malloc(VK_OUT_WORDS * 4);
#pragma omp for schedule(dynamic, 64)
        for (int i = 0; i < ds.n; i++) {
            const int32_t *o = &outs[(size_t)i * on];
            int best = 0;
            vk_dataset_normalize(&ds, &m, i, img);
            vk_ref_forward(&m, ws, img, NULL, lg, NULL);
            for (int c = 1; c < m.hp.n_classes; c++)
                if (lg[c] > lg[best])
                    best = c;
            if (i % 25 == 0) {
                vk_kernel_run(q.wt, q.par, cfg, &q8[(size_t)i * img_n], NULL, out);
                differ += memcmp(out, o, on * 4) != 0;
                sampled++;
            }
            ok_f += best == ds.labels[i];
            ok_q += o[VK_OUT_CLASS] == ds.labels[i];
            agree += o[VK_OUT_CLASS] == best;
        }
        vk_ref_ws_free(ws);
        free(img);
        free(out);
    }
    CHECK_EQ_INT(sampled, 400);
    CHECK_EQ_INT(differ, 0);
    vk_fast_ctx_free(f);
    free(q8);
    free(outs);
    double af = 100.0 * ok_f / ds.n, aq = 100.0 * ok_q / ds.n;
    printf("demo model, %d Fashion-MNIST test images: float32 top-1 %.2f%%, int8 top-1 %.2f%% "
           "(drop %.2f points; the kernel's C simulation equal on %d sampled), argmax "
           "agreement %.2f%%\n",
           ds.n, af, aq, af - aq, sampled, 100.0 * agree / ds.n);
    CHECK_EQ_INT(ds.n, 10000);
    CHECK(af - aq <= 1.0);
    vk_qmodel_free(&q);
    vk_dataset_free(&ds);
    vk_dataset_free(&cal);
    vk_model_free(&m);
}

int main(void)
{
    vk_test_seed("urand", rs);
    RUN(test_rshift_round);
    RUN(test_exp2_log2);
    RUN(test_entropy_softmax);
    RUN(test_layernorm);
    RUN(test_mult);
    RUN(test_blob);
    RUN(test_demo_int8_accuracy);
    return vk_test_summary("quant");
}
