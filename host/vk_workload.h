/* vk_workload: everything a measurement needs, loaded once: the float model
 * from a checkpoint, its quantized blob (calibrated), the evaluation images
 * quantized for the kernel, and the hashes that identify them.
 *
 *     vk_workload_opts o = {.model = "models/demo", .data = path, .limit = 1000};
 *     vk_workload w;
 *     if (vk_workload_open(&o, &w, &err) != VK_OK) die(err.msg);
 *     vk_board_load(b, &w.q, &err); vk_board_load_data(b, w.imgs, w.n, &err);
 *     vk_workload_free(&w);
 *
 * The images come from vk_splits_resolve (vk_data.h): the evaluation
 * images are the test split (a seeded stratified sample of `limit`), the
 * calibration images the calibration split (opts.calib, or the validation
 * source: the sibling *train-images* file of an IDX *t10k-images* file,
 * else the selection part of the data), calib_n of them (default 512),
 * never an evaluation image. The blob comes from the calibration cache
 * (vk_calib.h) when it holds one for this model and these images, or from
 * opts.blob, a .vkq file, without calibrating. The
 * validation split (opts.val, n_val; narrowed to the checkpoint's hold-out,
 * vk_model_heldout, when it comes from the default training file) is taken
 * on demand with vk_workload_take: what a search selects on, never a test
 * image.
 * Not thread-safe while opening. */
#ifndef VK_WORKLOAD_H
#define VK_WORKLOAD_H

#include "vk_calib.h"
#include "vk_data.h"
#include "vk_quant.h"

typedef struct {
    const char *model;    /* checkpoint folder or timm file (vk_model_load) */
    const char *arch;     /* timm architecture name, or NULL */
    const char *data;     /* IDX file or image folder */
    const char *test;     /* optional test source (default: data) */
    const char *calib;    /* optional calibration set */
    const char *blob;     /* optional .vkq file (vitskip quantize): the blob,
                             read instead of calibrating; its dimensions must
                             be the model's (the model still gives the
                             preprocessing and the labels) */
    int limit;            /* evaluation images (0 = all of the test split) */
    const char *val;      /* optional validation source */
    int n_val;            /* validation images (0 = VK_SPLIT_VAL_N) */
    int calib_n;          /* 0 = 512 */
    int quiet;            /* no notes on stderr */
    vk_calib_opts cache;  /* the calibration cache (zero: the default folder) */
} vk_workload_opts;

typedef struct vk_workload {
    vk_model model;
    vk_qmodel q;
    vk_dataset data;
    int8_t *imgs;         /* [n][vk_qmodel_img_n] quantized, owned */
    int n;
    char model_hash[65];  /* hex SHA-256 of the quantized blob */
    char ckpt_hash[65];   /* hex SHA-256 of the checkpoint's weights file */
    vk_calib_result calib; /* whether the blob came from the cache */
    char data_hash[65];   /* hex SHA-256 of the evaluation set */
    vk_splits splits;     /* every role's source and sample, owned */
} vk_workload;

/* Images of one role of the workload's splits, quantized for the kernel. */
typedef struct {
    vk_dataset data;      /* labels, source, sample */
    int8_t *imgs;         /* [n][vk_qmodel_img_n], owned */
    int n;
    char hash[65];        /* hex vk_dataset_hash */
} vk_imageset;

vk_status vk_workload_open(const vk_workload_opts *o, vk_workload *w, vk_err *err);
/* The calibrated blob alone, of the model and calibration images that
 * vk_workload_open would use with the same options (so the same bytes,
 * from the same cache entry), without decoding the evaluation images.
 * On success the caller owns *m and *q (vk_model_free, vk_qmodel_free);
 * *how (may be NULL) says whether the cache had it. On error all three
 * are untouched. */
vk_status vk_workload_quantize(const vk_workload_opts *o, vk_model *m, vk_qmodel *q,
                               vk_calib_result *how, vk_err *err);
void vk_workload_free(vk_workload *w);

/* Top-1 accuracy in percent of n results against the dataset's labels. */
double vk_workload_top1(const vk_workload *w, const int32_t *cls, int n);

/* Decodes and quantizes role r's images (VK_SPLIT_VAL: what a search
 * selects on) into *out; free with vk_imageset_free. On error *out is
 * zeroed. */
vk_status vk_workload_take(const vk_workload *w, vk_split_role r, vk_imageset *out, vk_err *err);
void vk_imageset_free(vk_imageset *s); /* NULL or zeroed: no-op */
/* Top-1 in percent of the set's n results cls[n] against its labels. */
double vk_imageset_top1(const vk_imageset *s, const int32_t *cls);

#endif
