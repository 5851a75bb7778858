/* idx_fuzz: a libFuzzer target for the IDX dataset reader (plain or gzip:
 * vk_catalog_open_idx on an image and a label file), then the sampled
 * order and the decoding of up to 4 images, resized to the model's 8x8 and
 * normalized. Input: bytes 0-1 (big-endian) the image file's length L, then
 * L bytes of image file, the rest the label file (a gzip stream is
 * recognised by its bytes, as in real files). Properties: no crash, leak or
 * sanitizer report (libFuzzer's malloc limit included: a tiny file may not
 * reserve what its header declares); an error says why; an opened source
 * has labels below the model's classes and an order that is a permutation.
 * Seeds: tests/fuzz/corpus/idx/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host/vk_data.h"
#include "tests/fuzz/vk_fuzz.h"

#define N_CLASSES 10

static vk_model model;
static char images[256], labels[256];

static void setup(void)
{
    vk_hparams hp = {.image_size = 8,
                     .patch_size = 4,
                     .n_channels = 1,
                     .dim = 8,
                     .n_layers = 1,
                     .n_heads = 1,
                     .mlp_dim = 8,
                     .n_classes = N_CLASSES,
                     .ln_eps = 1e-6f,
                     .act = VK_ACT_GELU};
    vk_err err = {{0}};
    if (vk_model_alloc(&model, &hp, &err) != VK_OK)
        vk_fuzz_fail("idx_fuzz: %s", err.msg);
    model.rescale = 1.0f / 255;
    model.mean[0] = 0.5f;
    model.std[0] = 0.25f;
    vk_fuzz_path(images, sizeof images, "idx", "images-idx3-ubyte");
    vk_fuzz_path(labels, sizeof labels, "idx", "labels-idx1-ubyte");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vk_catalog *s = NULL;
    vk_err err = {{0}};
    if (!images[0])
        setup();
    if (size < 2)
        return 0;
    size_t l = (size_t)data[0] << 8 | data[1];
    if (l > size - 2)
        l = size - 2;
    vk_fuzz_write(images, data + 2, l);
    vk_fuzz_write(labels, data + 2 + l, size - 2 - l);
    if (vk_catalog_open_idx(images, labels, &model, &s, &err) != VK_OK) {
        if (s || !err.msg[0])
            vk_fuzz_fail("idx_fuzz: failed without a message or touched *out");
        return 0;
    }
    int n = vk_catalog_count(s);
    const int *lab = vk_catalog_labels(s);
    int *order = malloc((size_t)n * sizeof *order), *seen = calloc((size_t)n, sizeof *seen);
    for (int i = 0; i < n; i++)
        if (lab[i] < 0 || lab[i] >= N_CLASSES)
            vk_fuzz_fail("idx_fuzz: label %d of image %d accepted", lab[i], i);
    if (vk_catalog_order(s, VK_SAMPLE_SEED, order, &err) != VK_OK)
        vk_fuzz_fail("idx_fuzz: no order: %s", err.msg);
    for (int i = 0; i < n; i++) {
        if (order[i] < 0 || order[i] >= n || seen[order[i]]++)
            vk_fuzz_fail("idx_fuzz: the order is not a permutation at %d", i);
    }
    vk_sample smp = {.seed = VK_SAMPLE_SEED, .offset = 0, .n = n < 4 ? n : 4};
    vk_dataset ds;
    if (vk_catalog_take(s, &smp, &ds, &err) != VK_OK)
        vk_fuzz_fail("idx_fuzz: an opened source's images not taken: %s", err.msg);
    float img[64];
    for (int i = 0; i < ds.n; i++)
        vk_dataset_normalize(&ds, &model, i, img);
    vk_dataset_free(&ds);
    free(order);
    free(seen);
    vk_catalog_close(s);
    return 0;
}
