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

/* Loads an IDX image file (its labels file named by replacing "images-idx3"
 * with "labels-idx1", keeping any .gz) or a folder of class sub-folders.
 * Images are converted to the model's channel count (grey replicated to RGB;
 * RGB to grey by ITU-R 601-2 luma, as PIL) and resized bilinearly to its
 * image size. Folder classes: sub-folder names that all equal model labels
 * map to those labels; if none do, sorted order gives indices 0..; a mix is
 * an error. Files other than .png/.jpg/.jpeg are skipped; an empty class
 * folder, an undecodable image or a label >= n_classes is an error naming
 * the file. limit > 0 keeps the first `limit` images (IDX order; folders:
 * sorted class folder, then sorted file name). On success the caller owns
 * *ds (free with vk_dataset_free); on error *ds is untouched. */
vk_status vk_dataset_load(const char *path, const vk_model *m, int limit, vk_dataset *ds,
                          vk_err *err);
/* The same for an explicit IDX pair (gzip or plain each). The files must be
 * exact: magic 0x00000803 (3 dims) / 0x00000801, equal counts, length equal
 * to header + data; corrupt or truncated gzip is an error. */
vk_status vk_dataset_load_idx(const char *images, const char *labels, const vk_model *m, int limit,
                              vk_dataset *ds, vk_err *err);
/* Frees the arrays and zeroes *ds; NULL or a zeroed dataset is a no-op. */
void vk_dataset_free(vk_dataset *ds);
/* Image i as float [C][H][W]: (pixel * rescale - mean[c]) / std[c]. */
void vk_dataset_normalize(const vk_dataset *ds, const vk_model *m, int i, float *out);
/* SHA-256 over (n, C, H, W as host int32, pixels, labels as host int32):
 * identifies the evaluation set. */
void vk_dataset_hash(const vk_dataset *ds, uint8_t out[32]);

#endif
