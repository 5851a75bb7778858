/* vk_kernel: the HLS C top function that runs a quantized ViT on one image.
 *
 * One call runs encoders [cfg[VK_CFG_START], n_layers) of the model described
 * by par/wt (see vk_config.h for every buffer's layout), each in the mode its
 * cfg word gives, then the final LayerNorm and the classifier on the class
 * token (averaged with the distillation token's for a DeiT model), and
 * writes class, entropy and logits to out. With cfg[VK_CFG_START] = k > 0
 * it starts from the residual stream in act (saved by an earlier call with
 * cfg[VK_CFG_SAVE] = k), so a cascade's high-effort path resumes where a
 * low-effort path sharing its first k encoders stopped.
 *
 * Ports: the pre-tiled weights arrive over four 128-bit AXI masters w0..w3
 * (all four point at the same wt buffer; block kc of a tile is read by port
 * kc % 4), the parameters over a fifth (par, read as 128-bit words), and
 * cfg, img, act and out over the others; AXI-Lite carries the addresses.
 *
 * The same source is C-simulated on the host (the `sim` board), and built by
 * Vitis HLS for the ZCU102 (kernels/hls/). Reentrant: in C simulation the
 * on-chip memories (about 3 MB) are allocated per call.
 *
 *     uint32_t cfg[VK_CFG_WORDS];
 *     vk_cfg_init(cfg, modes, n_layers, 0, 0);
 *     vk_kernel_run(q.wt, q.par, cfg, img, act, out);
 *     if (out[VK_OUT_STATUS] == VK_KSTAT_OK) cls = out[VK_OUT_CLASS];
 */
#ifndef VK_KERNEL_H
#define VK_KERNEL_H

#include <stdint.h>

#include "vk_config.h"

/* One 128-bit AXI beat of weights, and of parameter words. */
typedef struct {
    int8_t b[16];
} vk_wword;
typedef struct {
    int32_t w[4];
} vk_pword;

/* ps: VK_PSPILL_BYTES of DDR scratch; read and written only when cfg has
 * an encoder that reuses an earlier one's attention (may be NULL else). */
void vk_kernel_top(const vk_wword *w0, const vk_wword *w1, const vk_wword *w2,
                   const vk_wword *w3, const vk_pword *par, const uint32_t *cfg,
                   const int8_t *img, int32_t *act, int32_t *out, uint8_t *ps);

#ifndef __SYNTHESIS__
#include <stdlib.h>

/* Bytes of the kernel's on-chip memories (what the C simulation allocates
 * per call; the resource model lists the same arrays). */
size_t vk_kernel_mem_bytes(void);

/* Host side: the kernel on a blob's buffers (wt of vk_layout.wt_n bytes, a
 * multiple of 16; par of vk_layout.par_n words, a multiple of 4), as XRT
 * passes them: the same weight buffer on all four ports, and a spill area
 * of its own when cfg reuses attention (VK_KSTAT_NOMEM if none can be had).
 * act may be NULL when cfg neither starts after encoder 0 nor saves. */
static inline void vk_kernel_run(const int8_t *wt, const int32_t *par, const uint32_t *cfg,
                                 const int8_t *img, int32_t *act, int32_t *out)
{
    const vk_wword *w = (const vk_wword *)(const void *)wt;
    uint8_t *ps = NULL;
    for (int l = 0; l < VK_MAX_LAYERS; l++)
        if (VK_MODE_ATTN(cfg[VK_CFG_MODES + l]) == VK_ATTN_REUSE && !ps &&
            !(ps = (uint8_t *)malloc(VK_PSPILL_BYTES))) {
            out[VK_OUT_STATUS] = VK_KSTAT_NOMEM;
            return;
        }
    vk_kernel_top(w, w, w, w, (const vk_pword *)(const void *)par, cfg, img, act, out, ps);
    free(ps);
}
#endif

#endif
