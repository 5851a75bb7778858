/* vk_kernel: the HLS C top function that runs a quantized ViT on one image.
 *
 * One call runs encoders [cfg[VK_CFG_START], n_layers) of the model described
 * by par/wt (see vk_config.h for every buffer's layout), each in the mode its
 * cfg word gives, then the final LayerNorm and the classifier on the class
 * token, and writes class, entropy and logits to out. With cfg[VK_CFG_START]
 * = k > 0 it starts from the residual stream in act (saved by an earlier
 * call with cfg[VK_CFG_SAVE] = k), so a cascade's high-effort path resumes
 * where a low-effort path sharing its first k encoders stopped.
 *
 * The same source is C-simulated on the host (the `sim` board), and built by
 * Vitis HLS for the ZCU102 (kernels/hls/). Reentrant: all state lives in
 * local arrays (about 1 MiB of stack in C simulation) and in the buffers.
 *
 *     uint32_t cfg[VK_CFG_WORDS] = {VK_CFG_MAGIC};
 *     for (l = 0; l < n_layers; l++) cfg[VK_CFG_MODES + l] = VK_MODE(VK_ATTN_FULL);
 *     vk_kernel_top(wt, par, cfg, img, act, out);
 *     if (out[VK_OUT_STATUS] == VK_KSTAT_OK) cls = out[VK_OUT_CLASS];
 */
#ifndef VK_KERNEL_H
#define VK_KERNEL_H

#include <stdint.h>

#include "vk_config.h"

void vk_kernel_top(const int8_t *wt, const int32_t *par, const uint32_t *cfg,
                   const int8_t *img, int32_t *act, int32_t *out);

#endif
