/* mk_golden: writes the kernel testbench's inputs (model.bin and cases.bin)
 * for one golden set from a seeded random model; tools/golden_ref.py then
 * computes expected.bin independently. `make golden` regenerates the sets
 * kept in kernels/tb/golden; `make test` makes the large one in the build
 * tree.
 *
 * usage: mk_golden SET DIR
 *   tiny   8x8 images, 4 encoders, one tile everywhere; every mode, mixes of
 *          them, pruning, FFN sparsity, save/resume and rejected words
 *   tiles  82 tokens (more than one engine block of tokens, not a multiple
 *          of it), several N-tiles and K-chunks, a V part that starts inside
 *          a tile, 5-chunk weight groups
 *   deits  one DeiT-S-shaped encoder (224x224x3, patch 16, 384 wide, 6 heads,
 *          MLP 1536, 197 tokens, 1000 classes) */
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
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static double urand(void)
{
    return (double)(next() >> 11) / 9007199254740992.0;
}

#define M(a, k, f) VK_MODE_FULL_WORD(VK_ATTN_##a, k, f)

/* A random valid path: reuse only after computed attention with no pruning
 * since, pruning only on computed attention. */
static void random_path(int n_layers, uint32_t *modes)
{
    static const int keeps[4] = {100, 85, 70, 50}, ffns[3] = {0, 25, 50};
    int src = 0;
    for (int l = 0; l < n_layers; l++) {
        int a = (int)(next() % 4), keep = 100, ffn = ffns[next() % 3];
        if (a == VK_ATTN_REUSE && !src)
            a = VK_ATTN_FULL;
        if ((a == VK_ATTN_FULL || a == VK_ATTN_SHARED) && next() % 3 == 0)
            keep = keeps[1 + next() % 3];
        modes[l] = VK_MODE_FULL_WORD(a, keep, ffn);
        if (a == VK_ATTN_FULL || a == VK_ATTN_SHARED)
            src = 1;
        if (keep < 100)
            src = 0;
    }
}

int main(int argc, char **argv)
{
    /* hand-picked paths for the tiny model (4 encoders) */
    static const uint32_t tiny_paths[][4] = {
        {M(FULL, 100, 0), M(FULL, 100, 0), M(FULL, 100, 0), M(FULL, 100, 0)},
        {M(SKIP, 100, 0), M(SKIP, 100, 0), M(SKIP, 100, 0), M(SKIP, 100, 0)},
        {M(FULL, 100, 0), M(SKIP, 100, 0), M(FULL, 100, 0), M(SKIP, 100, 0)},
        {M(SHARED, 100, 0), M(SHARED, 100, 0), M(FULL, 100, 0), M(SHARED, 100, 0)},
        {M(FULL, 100, 0), M(REUSE, 100, 0), M(REUSE, 100, 0), M(FULL, 100, 0)},
        {M(SHARED, 100, 0), M(REUSE, 100, 0), M(SKIP, 100, 0), M(REUSE, 100, 0)},
        {M(FULL, 50, 0), M(FULL, 100, 0), M(SHARED, 70, 0), M(SKIP, 100, 0)},
        {M(FULL, 85, 0), M(SHARED, 50, 0), M(FULL, 100, 0), M(FULL, 100, 0)},
        {M(FULL, 100, 50), M(SKIP, 100, 25), M(FULL, 100, 99), M(SHARED, 100, 50)},
        {M(FULL, 70, 50), M(FULL, 100, 0), M(REUSE, 100, 25), M(SKIP, 100, 50)},
        {M(SKIP, 100, 0), M(FULL, 100, 0), M(REUSE, 100, 0), M(SHARED, 50, 25)},
        /* rejected: reuse with nothing before, pruning on skip, on reuse,
           reuse after pruning, unknown attention, keep 101, ffn 100 */
        {M(REUSE, 100, 0), M(FULL, 100, 0), M(FULL, 100, 0), M(FULL, 100, 0)},
        {M(SKIP, 50, 0), M(FULL, 100, 0), M(FULL, 100, 0), M(FULL, 100, 0)},
        {M(FULL, 100, 0), M(REUSE, 50, 0), M(FULL, 100, 0), M(FULL, 100, 0)},
        {M(FULL, 50, 0), M(REUSE, 100, 0), M(FULL, 100, 0), M(FULL, 100, 0)},
        {4u | (100u << 8), M(FULL, 100, 0), M(FULL, 100, 0), M(FULL, 100, 0)},
        {M(FULL, 101, 0), M(FULL, 100, 0), M(FULL, 100, 0), M(FULL, 100, 0)},
        {M(FULL, 100, 100), M(FULL, 100, 0), M(FULL, 100, 0), M(FULL, 100, 0)},
    };
    const char *set = argc > 1 ? argv[1] : "", *dir = argc > 2 ? argv[2] : "";
    vk_hparams hp = {.ln_eps = 1e-6f, .act = VK_ACT_GELU};
    int n_cases, n_cal = 16, n_fixed = 0;
    vk_model m;
    vk_qmodel q;
    vk_err err = {{0}};
    char path[1024];
    if (!strcmp(set, "tiny")) {
        hp.image_size = 8, hp.patch_size = 4, hp.n_channels = 2, hp.dim = 16, hp.n_layers = 4,
        hp.n_heads = 2, hp.mlp_dim = 128, hp.n_classes = 5;
        n_fixed = (int)(sizeof tiny_paths / sizeof tiny_paths[0]);
        n_cases = 48;
    } else if (!strcmp(set, "tiles")) {
        hp.image_size = 27, hp.patch_size = 3, hp.n_channels = 2, hp.dim = 80, hp.n_layers = 3,
        hp.n_heads = 2, hp.mlp_dim = 320, hp.n_classes = 70;
        n_cases = 8;
    } else if (!strcmp(set, "deits")) {
        hp.image_size = 224, hp.patch_size = 16, hp.n_channels = 3, hp.dim = 384,
        hp.n_layers = 1, hp.n_heads = 6, hp.mlp_dim = 1536, hp.n_classes = 1000;
        n_cases = 2, n_cal = 2;
    } else {
        fprintf(stderr, "usage: mk_golden tiny|tiles|deits DIR\n");
        return 2;
    }
    if (vk_model_alloc(&m, &hp, &err) != VK_OK) {
        fprintf(stderr, "mk_golden: %s\n", err.msg);
        return 1;
    }
    vk_model_randomize(&m, 7);
    size_t img_n = (size_t)hp.n_channels * hp.image_size * hp.image_size;
    float *cal = malloc((size_t)n_cal * img_n * sizeof(float));
    for (size_t i = 0; i < (size_t)n_cal * img_n; i++)
        cal[i] = (float)(urand() * 4 - 2);
    if (vk_quant_calibrate(&m, cal, n_cal, &q, &err) != VK_OK) {
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
    if (!fc || !act || !out || !img || !f) {
        perror(path);
        return 1;
    }
    fwrite("VKGC0002", 1, 8, fc);
    w32(fc, (uint32_t)n_cases);
    w32(fc, (uint32_t)img_n);
    w32(fc, (uint32_t)act_n);
    for (int c = 0; c < n_cases; c++) {
        uint32_t modes[VK_MAX_LAYERS], cfg[VK_CFG_WORDS];
        int resume = 0, save = 0;
        if (c < n_fixed)
            memcpy(modes, tiny_paths[c], sizeof tiny_paths[c]);
        else if (c == 0)
            for (int l = 0; l < hp.n_layers; l++)
                modes[l] = VK_MODE(VK_ATTN_FULL);
        else
            random_path(hp.n_layers, modes);
        if (!strcmp(set, "deits") && c == 1)
            modes[0] = M(SHARED, 70, 25);
        /* the later random cases save or resume after a random encoder */
        if (c >= n_fixed + 8 && hp.n_layers > 1) {
            int k = 1 + (int)(next() % (uint64_t)(hp.n_layers - 1));
            if (c % 2)
                save = k;
            else
                resume = k;
        }
        vk_cfg_init(cfg, modes, hp.n_layers, 0, save);
        for (size_t i = 0; i < img_n; i++)
            f[i] = (float)(urand() * 4 - 2);
        vk_quant_input(&q, f, img);
        memset(act, 0, act_n * 4);
        if (resume) { /* act from a SAVE run of the kernel on the same path */
            uint32_t sv[VK_CFG_WORDS];
            memcpy(sv, cfg, sizeof sv);
            sv[VK_CFG_SAVE] = (uint32_t)resume;
            vk_kernel_run(q.wt, q.par, sv, img, act, out);
            if (out[VK_OUT_STATUS] == VK_KSTAT_OK)
                cfg[VK_CFG_START] = (uint32_t)resume;
        }
        for (int i = 0; i < VK_CFG_WORDS; i++)
            w32(fc, cfg[i]);
        fwrite(img, 1, img_n, fc);
        for (size_t i = 0; i < act_n; i++)
            w32(fc, (uint32_t)act[i]);
    }
    fclose(fc);
    printf("mk_golden: %s: %d cases in %s\n", set, n_cases, dir);
    free(cal);
    free(act);
    free(out);
    free(img);
    free(f);
    vk_qmodel_free(&q);
    vk_model_free(&m);
    return 0;
}
