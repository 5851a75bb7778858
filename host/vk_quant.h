/* vk_quant: post-training quantization of a vk_model into the integer blob
 * the kernel reads (kernels/vk_config.h), and the blob's file form.
 *
 * Method (documented in README "Quantization"):
 *   - weights: symmetric int8 per output channel, scale = max|w_row| / 127;
 *   - activations: symmetric int8 per tensor, scale = (calibration max) / 127,
 *     the maxima taken by vk_ref_forward over calibration images;
 *   - residual stream: int32 at scale max|h| / 2^20 (about 11 bits headroom);
 *   - logits: int32 at scale max|logit| / 2^14;
 *   - biases in accumulator units (int32); every rescale a (mult, shift)
 *     pair (vk_int.h); the activation function a 256-entry int8 table.
 *
 * A vk_qmodel owns its buffers; its hash is the SHA-256 of its file form,
 * which identifies it in the database and on agents (content addressing).
 *
 *     vk_ref_stats st = {0};
 *     for (i = 0; i < n; i++) vk_ref_forward(&m, ws, img[i], NULL, logits, &st);
 *     vk_qmodel q;
 *     if (vk_quant_build(&m, &st, &q, &err) != VK_OK) die(err.msg);
 *     vk_quant_input(&q, img[0], img8);   // then vk_kernel_top(q.wt, q.par, ...)
 *     vk_qmodel_free(&q);
 */
#ifndef VK_QUANT_H
#define VK_QUANT_H

#include <stddef.h>

#include "vk_ref.h"

/* The calibration and quantization method, part of every calibration cache
 * key (host/vk_calib.h). Change the version whenever the import, the float
 * reference or the quantizer would give other bytes for the same checkpoint
 * and images, so that cached blobs of the old method are not reused. */
#define VK_QUANT_METHOD "maxabs-act int8, per-channel int8 weights, vitskip-quant 2"

/* Progress of a long loop: done of total items finished; called from any
 * thread (the callee serializes what it needs). */
typedef void (*vk_progress_fn)(void *ctx, int done, int total);

typedef struct {
    int32_t *par;   /* owned, par_n words */
    size_t par_n;
    int8_t *wt;     /* owned, wt_n bytes */
    size_t wt_n;
    vk_layout lay;
    uint8_t hash[32]; /* SHA-256 of the file form */
} vk_qmodel;

/* Builds the blob from a float model and calibration maxima. On error *q is
 * untouched. */
vk_status vk_quant_build(const vk_model *m, const vk_ref_stats *st, vk_qmodel *q,
                         vk_err *err);

/* Writes calibration image i, normalized [C][H][W] at the model's shape,
 * into out; called from any thread. */
typedef void (*vk_calib_image_fn)(void *ctx, int i, float *out);

/* Calibration maxima over n images fetched by image (one at a time, OpenMP
 * over the images), calling progress (may be NULL) once with 0 done at the
 * start and then as images finish. On error *st is untouched. */
vk_status vk_quant_stats(const vk_model *m, int n, vk_calib_image_fn image, void *image_ctx,
                         vk_progress_fn progress, void *progress_ctx, vk_ref_stats *st,
                         vk_err *err);

/* Calibrates on n normalized images (each [C][H][W], consecutive) and builds. */
vk_status vk_quant_calibrate(const vk_model *m, const float *imgs, int n, vk_qmodel *q,
                             vk_err *err);

/* Quantizes one normalized image [C][H][W] to the kernel's int8 input. */
void vk_quant_input(const vk_qmodel *q, const float *img, int8_t *out);

/* Dimensions read back from the blob header. */
int32_t vk_qmodel_dim(const vk_qmodel *q, int hdr_field);

/* Size in int8 elements of one kernel input image, and of one act buffer
 * (int32 elements). */
size_t vk_qmodel_img_n(const vk_qmodel *q);
size_t vk_qmodel_act_n(const vk_qmodel *q);

/* File form: "VKQM0002" (VK_QM_MAGIC), u32 par_n, u32 wt_n, par (int32 LE), wt.
 * from_bytes validates the header and every dimension against vk_config.h. */
vk_status vk_qmodel_to_bytes(const vk_qmodel *q, uint8_t **buf, size_t *len, vk_err *err);
vk_status vk_qmodel_from_bytes(const uint8_t *buf, size_t len, const char *what,
                               vk_qmodel *q, vk_err *err);
vk_status vk_qmodel_save(const vk_qmodel *q, const char *path, vk_err *err);
vk_status vk_qmodel_load(const char *path, vk_qmodel *q, vk_err *err);

/* Frees the buffers; NULL or zeroed is a no-op. */
void vk_qmodel_free(vk_qmodel *q);

/* Encodes a positive real multiplier as (mult, shift) for vk_requant. */
vk_status vk_quant_mult(double m, int32_t *mult, int32_t *shift);

#endif
