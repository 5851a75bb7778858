/* vk_fixture: the tiny-model test fixture (see vk_fixture.h). */
#include "tests/vk_fixture.h"

#include <stdlib.h>

const uint32_t VK_FX_FULL[VK_MAX_LAYERS] = {VK_MODE(VK_ATTN_FULL), VK_MODE(VK_ATTN_FULL),
                                            VK_MODE(VK_ATTN_FULL), VK_MODE(VK_ATTN_FULL)};
const uint32_t VK_FX_HALF[VK_MAX_LAYERS] = {VK_MODE(VK_ATTN_FULL), VK_MODE(VK_ATTN_SKIP),
                                            VK_MODE(VK_ATTN_FULL), VK_MODE(VK_ATTN_SKIP)};
const uint32_t VK_FX_NONE[VK_MAX_LAYERS] = {VK_MODE(VK_ATTN_SKIP), VK_MODE(VK_ATTN_SKIP),
                                            VK_MODE(VK_ATTN_SKIP), VK_MODE(VK_ATTN_SKIP)};

static uint64_t rs = 0x9E3779B97F4A7C15ull;

void vk_fixture_srand(uint64_t seed)
{
    rs = seed ? seed : 0x9E3779B97F4A7C15ull;
}

float vk_fixture_urand(void)
{
    return (float)((vk_fixture_next(&rs) >> 11) / 9007199254740992.0);
}

vk_status vk_fixture_tiny_build(int n_layers, int n_img, uint64_t img_seed, uint64_t model_seed,
                                vk_model *model, vk_qmodel *qm, int8_t *imgs, vk_err *err)
{
    vk_hparams hp = {.image_size = 16,
                     .patch_size = 4,
                     .n_channels = 1,
                     .dim = VK_FX_DIM,
                     .n_layers = n_layers,
                     .n_heads = 2,
                     .mlp_dim = 64,
                     .n_classes = 5,
                     .ln_eps = 1e-6f,
                     .act = VK_ACT_GELU};
    size_t n = (size_t)(n_img + 8) * VK_FX_IMG;
    float *f = malloc(n * sizeof *f);
    vk_status rc;
    if (!f)
        return vk_fail(err, VK_E_NOMEM, "fixture: out of memory");
    vk_fixture_srand(img_seed);
    for (size_t i = 0; i < n; i++)
        f[i] = vk_fixture_urand() * 4 - 2;
    if ((rc = vk_model_alloc(model, &hp, err)) != VK_OK)
        goto out;
    vk_model_randomize(model, model_seed);
    if ((rc = vk_quant_calibrate(model, f + (size_t)n_img * VK_FX_IMG, 8, qm, err)) != VK_OK)
        goto out;
    for (int i = 0; i < n_img; i++)
        vk_quant_input(qm, &f[(size_t)i * VK_FX_IMG], &imgs[(size_t)i * VK_FX_IMG]);
out:
    free(f);
    return rc;
}
