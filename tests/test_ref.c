/* test_ref: the float reference forward pass against PyTorch.
 *  - demo model (Hugging Face ViT, models/demo) on the first 1000 Fashion-MNIST
 *    test images: logits of the full model and of attentions skipped in
 *    encoders 1,3,5,7 equal tests/fixtures/demo_ref.bin (computed by
 *    tools/make_reference.py with transformers in float32) within 1e-4;
 *  - a timm VisionTransformer (tests/fixtures/timm_tiny*): timm-name loader
 *    and reference equal timm's logits within 1e-4;
 *  - with arguments MODEL FILE: every per-encoder mode against vkvit
 *    (tests/test_ref_modes.sh). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/vk_data.h"
#include "host/vk_ref.h"
#include "search/vk_genome.h"
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

/* Max |logit difference| of the reference against n expected logit rows
 * (float32, as stored) of images first.. for one path, and how many
 * argmaxes agree. */
static double compare(const vk_model *m, const vk_dataset *ds, const uint32_t *modes,
                      const uint8_t *lg, uint32_t first, uint32_t n, uint32_t k,
                      int *agree_out)
{
    size_t img_n = (size_t)m->hp.n_channels * m->hp.image_size * m->hp.image_size;
    double worst = 0;
    int agree = 0;
#pragma omp parallel reduction(max : worst) reduction(+ : agree)
    {
        vk_ref_ws *ws = vk_ref_ws_new(m);
        float *img = malloc(img_n * sizeof(float)), out[VK_MAX_CLASSES];
#pragma omp for
        for (uint32_t i = 0; i < n; i++) {
            int best_a = 0, best_b = 0;
            if (!ws || !img)
                continue;
            vk_dataset_normalize(ds, m, (int)(first + i), img);
            vk_ref_forward(m, ws, img, modes, out, NULL);
            for (uint32_t c = 0; c < k; c++) {
                float want, wb;
                memcpy(&want, lg + 4 * ((size_t)i * k + c), 4);
                memcpy(&wb, lg + 4 * ((size_t)i * k + (uint32_t)best_b), 4);
                if (fabs(out[c] - want) > worst)
                    worst = fabs(out[c] - want);
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
    *agree_out = agree;
    return worst;
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
    const uint8_t *p = ref + 20;
    for (uint32_t v = 0; v < nv; v++) {
        uint32_t mask = rd32(p), modes[VK_MAX_LAYERS];
        int agree;
        for (int l = 0; l < m.hp.n_layers; l++)
            modes[l] = VK_MODE(((mask >> l) & 1) ? VK_ATTN_SKIP : VK_ATTN_FULL);
        double worst = compare(&m, &ds, modes, p + 4, 0, n, k, &agree);
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

/* `test_ref MODEL FILE`: every genome in FILE (tools/make_reference.py
 * --modes, made by tests/test_ref_modes.sh with PyTorch at test time):
 * the reference computes each mode as vkvit does. Token pruning ranks
 * scores computed in another order, so a near tie may keep another token:
 * each genome must agree within 1e-4 on all but at most 1% of the images,
 * and the argmax on all but 1%. */
static const char *modes_model, *modes_file;

static void test_modes_vs_vkvit(void)
{
    const char *model = modes_model, *file = modes_file;
    vk_model m;
    vk_dataset ds;
    vk_err err = {{0}};
    size_t len;
    uint8_t *ref = slurp(file, &len);
    CHECK(ref != NULL);
    if (!ref)
        return;
    CHECK(len >= 20 && memcmp(ref, "VKREF002", 8) == 0);
    uint32_t n = rd32(ref + 8), k = rd32(ref + 12), nv = rd32(ref + 16);
    CHECK_EQ_INT(vk_model_load_hf(model, &m, &err), VK_OK);
    CHECK_EQ_INT(vk_dataset_load(VK_FX_FMNIST, &m, 0, &ds, &err), VK_OK);
    CHECK_EQ_INT(m.hp.n_classes, k);
    const uint8_t *p = ref + 20;
    for (uint32_t v = 0; v < nv && p + 4 <= ref + len; v++) {
        uint32_t tl = rd32(p);
        char text[VK_GENOME_TEXT_MAX] = {0};
        vk_genome g;
        CHECK(tl < sizeof text && p + 4 + tl + (size_t)n * k * 4 <= ref + len);
        if (tl >= sizeof text)
            break;
        memcpy(text, p + 4, tl);
        CHECK_EQ_INT(vk_genome_parse(text, m.hp.n_layers, &g, &err), VK_OK);
        const uint8_t *lg = p + 4 + tl;
        int close = 0, agree = 0;
        double worst = 0;
        /* per image, so one near tie does not hide the others */
        for (uint32_t i = 0; i < n; i++) {
            int a;
            double w = compare(&m, &ds, g.modes, lg + (size_t)i * k * 4, i, 1, k, &a);
            close += w <= 1e-4;
            agree += a;
            if (w > worst)
                worst = w;
        }
        printf("%s %s: |logit - vkvit| <= 1e-4 on %d of %u images (max %.3g), argmax "
               "agrees on %d\n",
               model, text, close, n, worst, agree);
        CHECK(close * 100 >= 99 * (int)n);
        CHECK(agree * 100 >= 99 * (int)n);
        p += 4 + tl + (size_t)n * k * 4;
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

int main(int argc, char **argv)
{
    if (argc == 3) {
        modes_model = argv[1];
        modes_file = argv[2];
        RUN(test_modes_vs_vkvit);
        return vk_test_summary("ref_modes");
    }
    RUN(test_demo_vs_pytorch);
    RUN(test_timm_vs_pytorch);
    return vk_test_summary("ref");
}
