/* vk_fixture: what the board, agent and remote tests share: a tiny seeded
 * ViT (16x16x1 images, 4x4 patches, dim 32, 2 heads, 5 classes), quantized,
 * with seeded random images; the mode arrays of its paths; the dataset
 * paths; a seeded random stream; a board opened and loaded with the
 * model, the kernel's own answer for an image, and results compared.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boards/vk_board.h"
#include "host/vk_quant.h"
#include "kernels/vk_kernel.h"
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

/* The next 64 bits of the xorshift64 stream in *state (nonzero): a test's
 * own seeded stream, its draws independent of the fixture's. */
static inline uint64_t vk_fixture_next(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

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

/* The helpers below CHECK in the calling test's harness (vk_test.h keeps
 * one state per program file), so they are inline here. */

/* The board spec opened and loaded with qm and the n images at imgs, every
 * step CHECKed; NULL (the reason on stderr) when it does not open. Caller
 * closes it. */
static inline vk_board *vk_fixture_board(const char *spec, const vk_qmodel *qm,
                                         const int8_t *imgs, int n)
{
    vk_board *b = NULL;
    vk_err err = {{0}};
    CHECK_EQ_INT(vk_board_open(spec, &b, &err), VK_OK);
    if (!b) {
        fprintf(stderr, "open %s: %s\n", spec, err.msg);
        return NULL;
    }
    CHECK_EQ_INT(vk_board_load(b, qm, &err), VK_OK);
    CHECK_EQ_INT(vk_board_load_data(b, imgs, n, &err), VK_OK);
    if (err.msg[0])
        fprintf(stderr, "%s: %s\n", spec, err.msg);
    return b;
}

/* The kernel's C simulation of modes (qm's n_layers of them) on one image
 * from scratch, its status CHECKed: the class and entropy into *r, the rest
 * zero. */
static inline void vk_fixture_direct(const vk_qmodel *qm, const uint32_t *modes,
                                     const int8_t *img, vk_img_result *r)
{
    uint32_t cfg[VK_CFG_WORDS] = {VK_CFG_MAGIC};
    int32_t out[VK_OUT_WORDS];
    int32_t *act = malloc(vk_qmodel_act_n(qm) * sizeof *act);
    int n_layers = vk_qmodel_dim(qm, VK_HDR_LAYERS);
    memset(r, 0, sizeof *r);
    CHECK(act != NULL);
    if (!act)
        return;
    for (int l = 0; l < n_layers; l++)
        cfg[VK_CFG_MODES + l] = modes[l];
    vk_kernel_run(qm->wt, qm->par, cfg, img, act, out);
    CHECK_EQ_INT(out[VK_OUT_STATUS], VK_KSTAT_OK);
    r->cls = out[VK_OUT_CLASS];
    r->entropy_q16 = out[VK_OUT_ENTROPY];
    free(act);
}

/* 1 if the n results have the same class and entropy (and, with
 * escalated, the same escalation flag); else the first image that differs
 * on stderr and 0. */
static inline int vk_fixture_same_results(const vk_img_result *a, const vk_img_result *b, int n,
                                          int escalated)
{
    for (int i = 0; i < n; i++)
        if (a[i].cls != b[i].cls || a[i].entropy_q16 != b[i].entropy_q16 ||
            (escalated && a[i].escalated != b[i].escalated)) {
            fprintf(stderr, "image %d: class %d entropy %d escalated %d vs %d %d %d\n", i,
                    a[i].cls, a[i].entropy_q16, a[i].escalated, b[i].cls, b[i].entropy_q16,
                    b[i].escalated);
            return 0;
        }
    return 1;
}

#endif
