/* vk_resource: the resource model of the vitskip kernel's ZCU102 design.
 *
 * What a csynth report would say about DSP48E2, BRAM36, LUT and flip-flop
 * use, estimated per component from the compile-time geometry in
 * kernels/vk_config.h (not from a synthesis run; none was possible here):
 *   - DSP48E2: one per multiplier whose operands fit 27 x 18 bits, more for
 *     wider ones (the engine packs two int8 products in one DSP, vk_k_mac2);
 *   - BRAM36: every on-chip array of the kernel (vk_k_mem) by its bank count
 *     (the partitioning its per-cycle accesses need), each bank mapped to
 *     the cheapest 18 Kb configuration (16Kx1 .. 512x36) and rounded to
 *     whole BRAM18s; banks under 1 Kb go to LUTRAM or registers;
 *   - LUT and FF: adder trees at one LUT per result bit, rounding shifters
 *     and multiplexers per lane, AXI masters and control as a per-port and a
 *     fixed allowance (the roughest part; the budget check uses the board
 *     file's lut_budget).
 * vk_resource_check sums them against the device in the board file, with
 * its margins. tests/test_cycles.c checks that the on-chip arrays listed
 * here are exactly the kernel's (their bytes equal vk_kernel_mem_bytes()).
 *
 *     vk_res r;
 *     vk_resource_estimate(&r);
 *     if (vk_resource_check(&r, &hw, &err) != VK_OK) die(err.msg);
 *     printf("%.0f DSPs\n", r.dsp);
 */
#ifndef VK_RESOURCE_H
#define VK_RESOURCE_H

#include <stddef.h>

#include "boards/vk_cycles.h"

#define VK_RES_MAX_PARTS 24

typedef struct {
    const char *name;  /* "GEMM engine: 64x64 MACs", ... */
    double dsp, bram36, lut, ff;
    const char *basis; /* how the figures were counted */
} vk_res_part;

typedef struct {
    vk_res_part part[VK_RES_MAX_PARTS];
    int n;
    double dsp, bram36, lut, ff; /* totals */
    size_t onchip_bytes;         /* bytes of the on-chip arrays counted */
} vk_res;

/* The design's estimate, from kernels/vk_config.h. */
void vk_resource_estimate(vk_res *r);

/* Each total against the device's (hw->dsp_total ...) times its budget
 * share; VK_E_UNSUPPORTED naming the first resource over budget. */
vk_status vk_resource_check(const vk_res *r, const vk_cycles_hw *hw, vk_err *err);

/* BRAM36 blocks for an array of `banks` banks of depth x width bits each,
 * in `copies` replicas (the mapping above). */
double vk_resource_bram36(long depth, int width, int banks, int copies);

#endif
