/* vk_fixture: what the board, agent and remote tests share: a tiny seeded
 * ViT (16x16x1 images, 4x4 patches, dim 32, 2 heads, 5 classes), quantized,
 * with seeded random images; the mode arrays of its paths; the dataset
 * paths; a seeded random stream.
 *
 * vk_fixture_tiny fills caller-owned storage (a test keeps its model and
 * images in its own statics) and records its seeds with vk_test_seed, so a
 * failing test prints them (the header is the harness's companion: it
 * includes tests/vk_test.h). The images are drawn first, then the model
 * randomized, then calibrated on 8 further images. Not thread-safe (the
 * random stream is one static state); call from the test's main thread.
 *
 *     static vk_model model; static vk_qmodel qm;
 *     static int8_t imgs[N_IMG * VK_FX_IMG];
 *     if (vk_fixture_tiny(4, N_IMG, 0x9E3779B97F4A7C15ull, 11, &model, &qm, imgs, &err))
 *         die(err.msg);
 *     vk_path_req req = {.modes = VK_FX_HALF};
 */
#ifndef VK_FIXTURE_H
#define VK_FIXTURE_H

#include <stdint.h>

#include "host/vk_quant.h"
#include "tests/vk_test.h"

#define VK_FX_IMG 256 /* bytes (int8 pixels) per tiny-model image */
#define VK_FX_DIM 32  /* the tiny model's width */
/* Fashion-MNIST's test and training sets (tools/install-deps.sh installs them) */
#define VK_FX_FMNIST "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
#define VK_FX_FMNIST_TRAIN "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"

/* 4-encoder paths: every attention, every other one (1 and 3 skipped), none */
extern const uint32_t VK_FX_FULL[VK_MAX_LAYERS];
extern const uint32_t VK_FX_HALF[VK_MAX_LAYERS];
extern const uint32_t VK_FX_NONE[VK_MAX_LAYERS];

/* Uniform in [0, 1) from the stream seeded by vk_fixture_srand (xorshift64). */
float vk_fixture_urand(void);
void vk_fixture_srand(uint64_t seed); /* nonzero */

/* The tiny model with n_layers encoders and n_img images quantized into
 * imgs (n_img * VK_FX_IMG bytes): pixels uniform in [-2, 2) from img_seed,
 * weights from vk_model_randomize(model_seed). Caller owns *model and *qm
 * (vk_model_free, vk_qmodel_free). vk_fixture_tiny records both seeds in
 * the test's harness; vk_fixture_tiny_build is the work, without it. */
vk_status vk_fixture_tiny_build(int n_layers, int n_img, uint64_t img_seed, uint64_t model_seed,
                                vk_model *model, vk_qmodel *qm, int8_t *imgs, vk_err *err);

static inline vk_status vk_fixture_tiny(int n_layers, int n_img, uint64_t img_seed,
                                        uint64_t model_seed, vk_model *model, vk_qmodel *qm,
                                        int8_t *imgs, vk_err *err)
{
    vk_test_seed("fixture images", img_seed);
    vk_test_seed("fixture model", model_seed);
    return vk_fixture_tiny_build(n_layers, n_img, img_seed, model_seed, model, qm, imgs, err);
}

#endif
