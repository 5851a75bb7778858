/* mk_golden: writes the kernel testbench's inputs (kernels/tb/golden/
 * model.bin and cases.bin) from a small seeded random model; then
 * tools/golden_ref.py computes expected.bin independently. `make golden`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/vk_quant.h"
#include "kernels/vk_kernel.h"

static void w32(FILE *f, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    fwrite(b, 1, 4, f);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double urand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "kernels/tb/golden";
    vk_hparams hp = {.image_size = 8, .patch_size = 4, .n_channels = 2, .dim = 16,
                     .n_layers = 3, .n_heads = 2, .mlp_dim = 32, .n_classes = 5,
                     .ln_eps = 1e-6f, .act = VK_ACT_GELU};
    vk_model m;
    vk_qmodel q;
    vk_err err = {{0}};
    enum { N_CAL = 16, N_CASES = 24 };
    char path[1024];
    if (vk_model_alloc(&m, &hp, &err) != VK_OK) {
        fprintf(stderr, "mk_golden: %s\n", err.msg);
        return 1;
    }
    vk_model_randomize(&m, 7);
    size_t img_n = (size_t)hp.n_channels * hp.image_size * hp.image_size;
    float *cal = malloc(N_CAL * img_n * sizeof(float));
    for (size_t i = 0; i < N_CAL * img_n; i++)
        cal[i] = (float)(urand() * 4 - 2);
    if (vk_quant_calibrate(&m, cal, N_CAL, &q, &err) != VK_OK) {
        fprintf(stderr, "mk_golden: %s\n", err.msg);
        return 1;
    }
    snprintf(path, sizeof path, "%s/model.bin", dir);
    if (vk_qmodel_save(&q, path, &err) != VK_OK) {
        fprintf(stderr, "mk_golden: %s\n", err.msg);
        return 1;
    }
    size_t act_n = vk_qmodel_act_n(&q);
    int32_t *act = calloc(act_n, 4), *out = calloc(VK_OUT_WORDS, 4);
    int8_t *img = malloc(img_n);
    float *f = malloc(img_n * sizeof(float));
    snprintf(path, sizeof path, "%s/cases.bin", dir);
    FILE *fc = fopen(path, "wb");
    if (!fc) {
        perror(path);
        return 1;
    }
    fwrite("VKGC0001", 1, 8, fc);
    w32(fc, N_CASES);
    w32(fc, (uint32_t)img_n);
    for (int c = 0; c < N_CASES; c++) {
        uint32_t cfg[VK_CFG_WORDS] = {VK_CFG_MAGIC};
        for (int l = 0; l < hp.n_layers; l++) {
            int skip = c % 4 == 0 ? 0 : c % 4 == 1 ? (l & 1) : c % 4 == 2 ? 1 : urand() < 0.5;
            cfg[VK_CFG_MODES + l] = VK_MODE(skip ? VK_ATTN_SKIP : VK_ATTN_FULL);
        }
        for (size_t i = 0; i < img_n; i++)
            f[i] = (float)(urand() * 4 - 2);
        vk_quant_input(&q, f, img);
        memset(act, 0, act_n * 4);
        if (c >= 12) { /* resume cases: act from a SAVE run of the kernel */
            uint32_t k = 1 + (uint32_t)(c % 3), save[VK_CFG_WORDS];
            memcpy(save, cfg, sizeof save);
            save[VK_CFG_SAVE] = k;
            vk_kernel_top(q.wt, q.par, save, img, act, out);
            cfg[VK_CFG_START] = k;
        } else if (c >= 6) {
            cfg[VK_CFG_SAVE] = 1 + (uint32_t)(c % 3);
        }
        for (int i = 0; i < VK_CFG_WORDS; i++)
            w32(fc, cfg[i]);
        fwrite(img, 1, img_n, fc);
        for (size_t i = 0; i < act_n; i++)
            w32(fc, (uint32_t)act[i]);
    }
    fclose(fc);
    printf("mk_golden: %d cases in %s\n", N_CASES, dir);
    free(cal);
    free(act);
    free(out);
    free(img);
    free(f);
    vk_qmodel_free(&q);
    vk_model_free(&m);
    return 0;
}
