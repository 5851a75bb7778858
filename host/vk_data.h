/* vk_data: evaluation and calibration images, at the model's resolution.
 *
 * Sources: an IDX image file (MNIST / Fashion-MNIST; gzip or plain, by
 * magic) whose labels file is found by replacing "images-idx3" with
 * "labels-idx1" in the name; or a folder with one sub-folder per class of
 * PNG/JPEG files (sub-folder names matched to the model's labels, else
 * sorted order gives the class index). Images are converted to the model's
 * channel count and resized bilinearly (half-pixel centres, as PIL/torch)
 * to its image size.
 *
 *     vk_dataset ds;
 *     if (vk_dataset_load(path, &model, 1000, &ds, &err) != VK_OK) die(err.msg);
 *     vk_dataset_normalize(&ds, &model, 0, img);   // float [C][H][W]
 *     vk_dataset_free(&ds);
 *
 * The dataset owns its arrays; read-only after loading (thread-safe). */
#ifndef VK_DATA_H
#define VK_DATA_H

#include "vk_model.h"

typedef struct {
    int n, channels, height, width; /* images are [n][C][H][W] uint8 */
    uint8_t *pixels;                /* owned */
    int *labels;                    /* owned, [n], class index of the model */
    char source[512];               /* path as given */
} vk_dataset;

/* limit > 0 keeps the first `limit` images (IDX order; folders: sorted
 * class folder, then sorted file name). On error *ds is untouched. */
vk_status vk_dataset_load(const char *path, const vk_model *m, int limit, vk_dataset *ds,
                          vk_err *err);
vk_status vk_dataset_load_idx(const char *images, const char *labels, const vk_model *m,
                              int limit, vk_dataset *ds, vk_err *err);
void vk_dataset_free(vk_dataset *ds);
/* Image i as float [C][H][W]: (pixel * rescale - mean[c]) / std[c]. */
void vk_dataset_normalize(const vk_dataset *ds, const vk_model *m, int i, float *out);
/* SHA-256 over (n, C, H, W, pixels, labels): identifies the evaluation set. */
void vk_dataset_hash(const vk_dataset *ds, uint8_t out[32]);

#endif
