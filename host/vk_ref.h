/* vk_ref: the float32 reference forward pass of a vk_model, with the same
 * per-encoder attention modes as the kernel, matching PyTorch's
 * ViTForImageClassification / timm VisionTransformer on the same weights.
 *
 * Optionally records the largest magnitude seen at every point the
 * quantizer needs a scale for (vk_ref_stats), so calibration is a loop of
 * forward passes.
 *
 *     float logits[10];
 *     vk_ref_ws *ws = vk_ref_ws_new(&m);            // caller owns
 *     vk_ref_forward(&m, ws, img, modes, logits, NULL);
 *     vk_ref_ws_free(ws);
 *
 * A workspace is used by one thread at a time; the model is read-only. */
#ifndef VK_REF_H
#define VK_REF_H

#include "vk_model.h"

/* Largest |value| observed at each quantization point (running maxima). */
typedef struct {
    float in;                     /* normalized input pixels */
    float h;                      /* residual stream, all encoders */
    float ln1[VK_MAX_LAYERS];     /* LayerNorm outputs */
    float q[VK_MAX_LAYERS], k[VK_MAX_LAYERS], v[VK_MAX_LAYERS];
    float qs[VK_MAX_LAYERS], ks[VK_MAX_LAYERS]; /* head-mean q and k (shared heads) */
    float ctx[VK_MAX_LAYERS];     /* attention output before projection */
    float ln2[VK_MAX_LAYERS];
    float fc1[VK_MAX_LAYERS];     /* MLP pre-activation */
    float lnf;                    /* final LayerNorm, class token */
    float logits;
} vk_ref_stats;

typedef struct vk_ref_ws vk_ref_ws;

/* Scratch for one forward pass of m's shape; NULL on allocation failure. */
vk_ref_ws *vk_ref_ws_new(const vk_model *m);
void vk_ref_ws_free(vk_ref_ws *ws);

/* img: normalized [C][H][W]; modes: n_layers mode words, every mode of
 * kernels/vk_config.h as the kernel computes it in integers (F, S, R, H,
 * token pruning, FFN sparsity; a valid genome, vk_genome_check; NULL = all
 * full); logits: n_classes floats out. stats: NULL, or maxima to update
 * (calibration: the full path). */
void vk_ref_forward(const vk_model *m, vk_ref_ws *ws, const float *img,
                    const uint32_t *modes, float *logits, vk_ref_stats *stats);

/* The model's activation function (GELU, tanh-GELU, ReLU, quick GELU). */
float vk_ref_act(vk_act act, float x);

#endif
