/* test_ref: the float reference forward pass against PyTorch.
 *  - demo model (Hugging Face ViT, models/demo) on the first 1000 Fashion-MNIST
 *    test images: logits of the full model and of attentions skipped in
 *    encoders 1,3,5,7 equal tests/fixtures/demo_ref.bin (computed by
 *    tools/make_reference.py with transformers in float32) within 1e-4;
 *  - a timm VisionTransformer (tests/fixtures/timm_tiny*): timm-name loader
 *    and reference equal timm's logits within 1e-4. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/vk_data.h"
#include "host/vk_ref.h"
#include "tests/vk_fixture.h"
#include "tests/vk_test.h"


static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    long n;
    uint8_t *b;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc((size_t)n);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void test_demo_vs_pytorch(void)
{
    vk_model m;
    vk_dataset ds;
    vk_err err = {{0}};
    size_t len;
    uint8_t *ref = slurp("tests/fixtures/demo_ref.bin", &len);
    CHECK(ref != NULL);
    if (!ref)
        return;
    CHECK(memcmp(ref, "VKREF001", 8) == 0);
    uint32_t n = rd32(ref + 8), k = rd32(ref + 12), nv = rd32(ref + 16);
    CHECK_EQ_INT(len, 20 + (size_t)nv * (4 + (size_t)n * k * 4));
    CHECK_EQ_INT(vk_model_load_hf("models/demo", &m, &err), VK_OK);
    /* the fixture holds the first n images of the file: load all, use those */
    CHECK_EQ_INT(vk_dataset_load(VK_FX_FMNIST, &m, 0, &ds, &err), VK_OK);
    CHECK(ds.n >= (int)n);
    if (err.msg[0])
        fprintf(stderr, "%s\n", err.msg);
    CHECK_EQ_INT(m.hp.n_classes, k);
    size_t img_n = (size_t)m.hp.n_channels * m.hp.image_size * m.hp.image_size;
    const uint8_t *p = ref + 20;
    for (uint32_t v = 0; v < nv; v++) {
        uint32_t mask = rd32(p), modes[VK_MAX_LAYERS];
        const uint8_t *lg = p + 4;
        double worst = 0;
        int agree = 0;
        for (int l = 0; l < m.hp.n_layers; l++)
            modes[l] = VK_MODE(((mask >> l) & 1) ? VK_ATTN_SKIP : VK_ATTN_FULL);
#pragma omp parallel reduction(max : worst) reduction(+ : agree)
        {
            vk_ref_ws *ws = vk_ref_ws_new(&m);
            float *img = malloc(img_n * sizeof(float)), out[VK_MAX_CLASSES];
#pragma omp for
            for (uint32_t i = 0; i < n; i++) {
                int best_a = 0, best_b = 0;
                vk_dataset_normalize(&ds, &m, (int)i, img);
                vk_ref_forward(&m, ws, img, modes, out, NULL);
                for (uint32_t c = 0; c < k; c++) {
                    float want;
                    memcpy(&want, lg + 4 * ((size_t)i * k + c), 4);
                    if (fabs(out[c] - want) > worst)
                        worst = fabs(out[c] - want);
                    float wb;
                    memcpy(&wb, lg + 4 * ((size_t)i * k + (uint32_t)best_b), 4);
                    if (out[c] > out[best_a])
                        best_a = (int)c;
                    if (want > wb)
                        best_b = (int)c;
                }
                agree += best_a == best_b;
            }
            vk_ref_ws_free(ws);
            free(img);
        }
        printf("demo skip-mask 0x%02x: max |logit - pytorch| = %.3g over %u images, "
               "argmax agrees on %d\n",
               mask, worst, n, agree);
        CHECK(worst <= 1e-4);
        CHECK_EQ_INT(agree, n);
        p += 4 + (size_t)n * k * 4;
    }
    vk_dataset_free(&ds);
    vk_model_free(&m);
    free(ref);
}

static void test_timm_vs_pytorch(void)
{
    size_t len;
    uint8_t *ref = slurp("tests/fixtures/timm_tiny_ref.bin", &len);
    vk_hparams hp = {.image_size = 32, .patch_size = 8, .n_channels = 3, .dim = 48,
                     .n_layers = 2, .n_heads = 3, .mlp_dim = 192, .n_classes = 7,
                     .ln_eps = 1e-6f, .act = VK_ACT_GELU};
    vk_model m;
    vk_err err = {{0}};
    CHECK(ref != NULL);
    if (!ref)
        return;
    CHECK(memcmp(ref, "VKTIM001", 8) == 0);
    uint32_t n = rd32(ref + 8), c = rd32(ref + 12), s = rd32(ref + 16), k = rd32(ref + 20);
    CHECK(c == 3 && s == 32 && k == 7);
    CHECK_EQ_INT(len, 24 + (size_t)n * c * s * s * 4 + (size_t)n * k * 4);
    CHECK_EQ_INT(vk_model_load_timm("tests/fixtures/timm_tiny.safetensors", &hp, &m, &err), VK_OK);
    if (err.msg[0])
        fprintf(stderr, "%s\n", err.msg);
    vk_ref_ws *ws = vk_ref_ws_new(&m);
    float *img = malloc((size_t)c * s * s * sizeof(float)), out[8];
    double worst = 0;
    for (uint32_t i = 0; i < n; i++) {
        memcpy(img, ref + 24 + (size_t)i * c * s * s * 4, (size_t)c * s * s * 4);
        vk_ref_forward(&m, ws, img, NULL, out, NULL);
        for (uint32_t j = 0; j < k; j++) {
            float want;
            memcpy(&want, ref + 24 + (size_t)n * c * s * s * 4 + 4 * ((size_t)i * k + j), 4);
            if (fabs(out[j] - want) > worst)
                worst = fabs(out[j] - want);
        }
    }
    printf("timm tiny ViT: max |logit - timm| = %.3g over %u images\n", worst, n);
    CHECK(worst <= 1e-4);
    free(img);
    vk_ref_ws_free(ws);
    vk_model_free(&m);
    free(ref);
}

int main(void)
{
    RUN(test_demo_vs_pytorch);
    RUN(test_timm_vs_pytorch);
    return vk_test_summary("ref");
}
