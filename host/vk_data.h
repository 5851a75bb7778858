/* vk_data: evaluation, validation and calibration images at the model's
 * resolution; seeded class-stratified samples and disjoint splits.
 *
 * Sources: an IDX image file (MNIST / Fashion-MNIST; gzip or plain, by
 * magic) whose labels file is found by replacing "images-idx3" with
 * "labels-idx1" in the name; or a folder with one sub-folder per class of
 * PNG/JPEG files (sub-folder names matched to the model's labels, else
 * sorted order gives the class index). Images are converted to the model's
 * channel count and resized bilinearly (half-pixel centres, as PIL/torch)
 * to its image size.
 *
 * Sampling: a source has one seeded, class-stratified order of its images
 * (vk_catalog_order): within each class a permutation keyed by
 * SHA-256(seed, image index); position p of the order takes the next image
 * of the class furthest below its share p * (class size) / (source size),
 * so every prefix of the order holds each class within one image of its
 * share, and every range of it within two.
 * A sample is a range [offset, offset + n) of that order, identified by
 * (source hash, seed, offset, n): the same four numbers give the same
 * images, so a resumed run sees the ones it started on, and ranges that do
 * not overlap are disjoint sets of images. A sample is never "the first n".
 *
 * Splits (vk_splits_resolve): test, validation and calibration samples from one
 * or more sources, disjoint wherever they share a source (see the function).
 *
 *     vk_catalog *src;
 *     if (vk_catalog_open(path, &model, &src, &err) != VK_OK) die(err.msg);
 *     vk_sample s = {.seed = VK_SAMPLE_SEED, .offset = 0, .n = 1000};
 *     vk_dataset ds;
 *     vk_catalog_take(src, &s, &ds, &err);     // 1000 stratified images
 *     vk_dataset_normalize(&ds, &model, 0, img);   // float [C][H][W]
 *     vk_dataset_free(&ds);
 *     vk_catalog_close(src);
 *
 * A dataset owns its arrays and is read-only after loading (thread-safe).
 * A source is read-only after opening; vk_catalog_take may be called from
 * one thread at a time (it decodes with OpenMP inside). */
#ifndef VK_DATA_H
#define VK_DATA_H

#include "vk_model.h"

/* The default sampling seed (documented in the README); any 64-bit value
 * gives another equally stratified order. */
#define VK_SAMPLE_SEED 1u

/* Which images of a source: the range [offset, offset + n) of its seeded
 * stratified order. */
typedef struct {
    uint8_t source_hash[32]; /* vk_catalog_hash of the source */
    uint64_t seed;
    int offset;              /* first position in the order */
    int n;                   /* images */
    int n_source;            /* images in the whole source */
} vk_sample;

typedef struct {
    int n, channels, height, width; /* images are [n][C][H][W] uint8 */
    uint8_t *pixels;                /* owned */
    int *labels;                    /* owned, [n], class index of the model */
    char source[512];               /* path as given */
    vk_sample sample;               /* which images of the source these are */
} vk_dataset;

typedef struct vk_catalog vk_catalog;

/* Opens an IDX image file (its labels file named by replacing "images-idx3"
 * with "labels-idx1", keeping any .gz) or a folder of class sub-folders and
 * reads every label (IDX: the whole file; folders: file names only, images
 * are decoded by vk_catalog_take). Folder classes: sub-folder names that all
 * equal model labels map to those labels; if none do, sorted order gives
 * indices 0..; a mix is an error. Files other than .png/.jpg/.jpeg are
 * skipped; an empty class folder or a label >= n_classes is an error naming
 * the file. A missing path is an error saying so. On success the caller
 * owns *out (vk_catalog_close); on error *out is untouched. */
vk_status vk_catalog_open(const char *path, const vk_model *m, vk_catalog **out, vk_err *err);
/* The same for an explicit IDX pair (gzip or plain each). The files must be
 * exact: magic 0x00000803 (3 dims) / 0x00000801, equal counts, length equal
 * to header + data; corrupt or truncated gzip is an error. */
vk_status vk_catalog_open_idx(const char *images, const char *labels, const vk_model *m,
                             vk_catalog **out, vk_err *err);
int vk_catalog_count(const vk_catalog *s);
const char *vk_catalog_path(const vk_catalog *s);       /* as given; borrowed */
const int *vk_catalog_labels(const vk_catalog *s);      /* [count]; borrowed */
/* The source's identity: SHA-256 over its kind, count and labels, and for
 * IDX the image bytes, for a folder each class folder and file name with
 * the file's size (pixels of the images actually used are covered by
 * vk_dataset_hash). Borrowed, 32 bytes. */
const uint8_t *vk_catalog_hash(const vk_catalog *s);
/* The seeded stratified order (see above): order[p] is the index of the
 * image at position p. order must hold vk_catalog_count entries. */
vk_status vk_catalog_order(const vk_catalog *s, uint64_t seed, int *order, vk_err *err);
/* Decodes the images of sample smp (its source_hash and n_source are filled
 * from the source; offset + n must lie within the source, n = 0 means the
 * rest of the order after offset) into *ds, in source order (ascending
 * image index). An undecodable image is an error naming the file. On error
 * *ds is untouched. */
vk_status vk_catalog_take(const vk_catalog *s, const vk_sample *smp, vk_dataset *ds, vk_err *err);
/* NULL is a no-op. */
void vk_catalog_close(vk_catalog *s);

/* Opens path and takes a sample of `limit` images (0 = every image, in file
 * order) with the default seed: the stratified sample, never the first
 * `limit`. On error *ds is untouched. */
vk_status vk_dataset_load(const char *path, const vk_model *m, int limit, vk_dataset *ds,
                          vk_err *err);
/* The same for an explicit IDX pair. */
vk_status vk_dataset_load_idx(const char *images, const char *labels, const vk_model *m, int limit,
                              vk_dataset *ds, vk_err *err);
/* Frees the arrays and zeroes *ds; NULL or a zeroed dataset is a no-op. */
void vk_dataset_free(vk_dataset *ds);
/* Image i as float [C][H][W]: (pixel * rescale - mean[c]) / std[c]. */
void vk_dataset_normalize(const vk_dataset *ds, const vk_model *m, int i, float *out);
/* SHA-256 over (n, C, H, W as host int32, pixels, labels as host int32):
 * identifies the evaluation set. */
void vk_dataset_hash(const vk_dataset *ds, uint8_t out[32]);

/* ---- splits ------------------------------------------------------------- */

typedef enum { VK_SPLIT_TEST = 0, VK_SPLIT_VAL = 1, VK_SPLIT_CALIB = 2, VK_SPLIT_N } vk_split_role;

const char *vk_split_role_str(vk_split_role r); /* "test", "validation", "calibration" */

/* What the user gave; zero means the default. */
typedef struct {
    const char *data;  /* the dataset (required unless test and val are given) */
    const char *test;  /* test source (default: data) */
    const char *val;   /* validation source (default: the sibling *train-images*
                          file of an IDX *t10k-images* data file when it exists,
                          else data) */
    const char *calib; /* calibration source (default: the validation source) */
    int n_test;        /* default: the whole test part */
    int n_val;         /* default: VK_SPLIT_VAL_N, or the whole part if smaller */
    int n_calib;       /* default: VK_SPLIT_CALIB_N, or the whole part if smaller */
    uint64_t seed;     /* default (0): VK_SAMPLE_SEED */
    int test_percent;  /* share of a source that test shares with validation or
                          calibration, 1..99 (default 50) */
    int holdout_first, holdout_count; /* the checkpoint's hold-out
                          (vk_model_heldout): when count > 0 and the
                          validation source is the default training sibling,
                          that source is narrowed to its images
                          [first, first + count), the ones the weights never
                          trained on (the same images, and the same source
                          hash, as tools/finetune/holdout_idx.py's file) */
} vk_split_opts;

#define VK_SPLIT_VAL_N 1000
#define VK_SPLIT_CALIB_N 512

/* The resolved splits: one source and one sample per role. */
typedef struct {
    vk_catalog *src[VK_SPLIT_N]; /* owned; roles on one source share it */
    vk_sample sample[VK_SPLIT_N];
    char note[256];             /* non-empty: something the user should know
                                   (e.g. the calibration images overlap the
                                   validation images, the selection part
                                   being small) */
} vk_splits;

/* Resolves the roles' sources (above) and their samples:
 *  - sources are the same when their vk_catalog_hash is equal;
 *  - test takes positions [0, n_test) of its source's order; when the
 *    validation or calibration source is the same, the test part is the
 *    first test_percent % of the order and the rest is the selection part,
 *    so test never shares an image with validation or calibration;
 *  - validation takes the first n_val positions of its selection part;
 *  - calibration on the validation source takes the last n_calib positions
 *    of the selection part (so it does not depend on the validation size),
 *    overlapping validation only when the part holds fewer than
 *    n_val + n_calib (said in note; never test);
 *  - sizes larger than their part are capped to it; an empty part is an
 *    error;
 *  - test images that are the file the default validation hold-out is
 *    narrowed from (the same content) are refused: they would hold it.
 * Opens each distinct source once. On success the caller owns *sp (free
 * with vk_splits_free); on error *sp is untouched. */
vk_status vk_splits_resolve(const vk_split_opts *o, const vk_model *m, vk_splits *sp,
                            vk_err *err);
/* Decodes the images of one role (vk_catalog_take of its sample). */
vk_status vk_splits_take(const vk_splits *sp, vk_split_role r, vk_dataset *ds, vk_err *err);
/* Closes the sources; NULL or zeroed is a no-op. */
void vk_splits_free(vk_splits *sp);

#endif
