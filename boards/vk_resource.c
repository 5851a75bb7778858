/* vk_resource: the resource model of the kernel's design (see vk_resource.h). */
#include "boards/vk_resource.h"

#include <string.h>

#include "kernels/vk_config.h"

double vk_resource_bram36(long depth, int width, int banks, int copies)
{
    /* BRAM18 aspect ratios: depth x width */
    static const long cfg[][2] = {{16384, 1}, {8192, 2}, {4096, 4}, {2048, 9}, {1024, 18},
                                  {512, 36}};
    long best = -1;
    if (depth <= 0 || width <= 0 || (double)depth * width < 1024) /* LUTRAM / registers */
        return 0;
    for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
        long n = ((depth + cfg[i][0] - 1) / cfg[i][0]) * ((width + cfg[i][1] - 1) / cfg[i][1]);
        if (best < 0 || n < best)
            best = n;
    }
    return (double)best * banks * copies / 2.0;
}

/* DSP48E2s for an a x b multiplier: 27 x 18 pieces, the cheaper way round. */
static double dsps(int a_bits, int b_bits)
{
    int one = ((a_bits + 26) / 27) * ((b_bits + 17) / 18);
    int two = ((b_bits + 26) / 27) * ((a_bits + 17) / 18);
    return one < two ? one : two;
}

static void add(vk_res *r, const char *name, double dsp, double bram, double lut, double ff,
                const char *basis)
{
    vk_res_part *p = &r->part[r->n++];
    p->name = name;
    p->dsp = dsp;
    p->bram36 = bram;
    p->lut = lut;
    p->ff = ff;
    p->basis = basis;
    r->dsp += dsp;
    r->bram36 += bram;
    r->lut += lut;
    r->ff += ff;
}

/* An on-chip array of n elements of `bits`, in `banks` banks. */
static double mem(vk_res *r, long n, int bits, int banks, int copies)
{
    r->onchip_bytes += (size_t)n * (size_t)((bits + 7) / 8);
    return vk_resource_bram36((n + banks - 1) / banks, bits, banks, copies);
}

void vk_resource_estimate(vk_res *r)
{
    const long T = VK_MAX_TOKENS, D = VK_MAX_DIM, TP = VK_PAD64(VK_MAX_TOKENS);
    const long lp = 19 * VK_MAX_DIM + 3 * VK_MAX_MLP + 6 * VK_MAX_HEAD_DIM + 256 + 8 + 4 * 24;
    const long a_bytes = T * D, b_qkv = 3L * VK_MAX_HEADS * T * 64, b_mlp = T * VK_MAX_MLP;
    const long abuf = a_bytes + (b_qkv > b_mlp ? b_qkv : b_mlp);
    /* adder tree of VK_LANES products (17 bits) per output: 1 LUT per bit */
    double tree = 0;
    for (int w = 18, n = VK_LANES / 2; n >= 1; n /= 2, w++)
        tree += (double)n * w;
    memset(r, 0, sizeof *r);

    add(r, "GEMM engine: packed int8 MACs", VK_PE * VK_LANES / 2.0, 0,
        VK_PE * tree + (VK_PE * VK_LANES / 2.0) * 4 + VK_PE * 32.0,
        VK_PE * tree + VK_PE * 32.0 * 2,
        "two products per DSP48E2 (27x18: w1*2^18 + w0 by the 9-bit operand); per output a "
        "64-input adder tree (18..23-bit adders) and a 32-bit accumulator; 4 LUTs per DSP for "
        "the sign correction");
    add(r, "GEMM engine: stationary registers", 0, 0, 2.0 * VK_PE * VK_LANES * 8 * 0.5,
        2.0 * VK_PE * VK_LANES * 8,
        "two 64x64 int8 register blocks (the one computing, the next loading a row per "
        "cycle); a 2:1 row/column load mux per bit");
    add(r, "epilogue (16 lanes)", VK_EPI_LANES * (dsps(32, VK_MULT_BITS) + dsps(26, 26)), 0,
        VK_EPI_LANES * 620.0, VK_EPI_LANES * 400.0,
        "per lane: acc x mult (32x17: 2 DSPs), h^2 for the LayerNorm sums (26x26: 2 DSPs), a "
        "64-bit rounding shifter, saturation, activation table (LUTRAM), residual add");
    add(r, "softmax (32 lanes)", VK_SM_LANES * (dsps(22, VK_MULT_BITS) + dsps(26, 16)), 0,
        VK_SM_LANES * 900.0, VK_SM_LANES * 600.0,
        "per lane: score difference x scale (22x17: 1 DSP), exp2 table and interpolation "
        "(11x11 in LUTs), e x 1/z (16x26: 1 DSP), two rounding shifters");
    add(r, "LayerNorm (16 lanes)", VK_LN_LANES * (dsps(27, 41) + dsps(23, 24)), 0,
        VK_LN_LANES * 630.0, VK_LN_LANES * 400.0,
        "per lane: (h - mean) x 1/sd (27x41: 3 DSPs), x gamma (23x24: 2 DSPs), two rounding "
        "shifters");
    add(r, "dividers, square root", 2, 0, 3 * 4000.0 + 32 * 64 * 2.0, 3 * 4200.0 + 32 * 64.0,
        "three pipelined 64-bit radix-2 dividers (LayerNorm mean and 1/sd, softmax 1/z); the "
        "32-stage integer square root unrolled in ln_prep; 2 DSPs for the entropy");
    add(r, "token pruning", 0, 0, VK_PE * 14 * 1.5 + 500, 1000,
        "64 score comparators per cycle and the rank adders");
    add(r, "AXI masters (7) and AXI-Lite", 0, 0, 7 * 1500.0, 7 * 2000.0,
        "ESTIMATE: burst adapters of four 128-bit weight ports, par, io and the control "
        "slave");
    add(r, "control, address generation", 0, 0, 15000, 20000,
        "ESTIMATE: op sequencing, loop counters, address arithmetic");

    add(r, "residual stream h [198][768] int32", 0, mem(r, T * D, 32, VK_EPI_LANES, 1), 0, 0,
        "16 banks (16 words per cycle: epilogue, LayerNorm)");
    add(r, "LayerNorm sums [198] x2 int64", 0, mem(r, 2 * T, 64, 2, 1), 0, 0, "one bank each");
    add(r, "activations (regions A, B) int8", 0, mem(r, abuf, 8, VK_LANES, 1), 0, 0,
        "64 banks (the engine reads 64 inputs per cycle): LayerNorm out / context / patches, "
        "per-head Q/K/V or the MLP hidden");
    add(r, "scores [2][198][256] int32", 0, mem(r, 2 * T * TP, 32, VK_PE, 1) +
                                               mem(r, 2 * T, 32, 1, 1), 0, 0,
        "64 banks (64 raw scores per cycle) and the row maxima");
    add(r, "probabilities [2][198][256] uint8", 0, mem(r, 2 * T * TP, 8, VK_LANES, 1) +
                                                     mem(r, VK_MAX_HEADS * TP, 8, VK_MAX_HEADS, 1),
        0, 0, "64 banks (the engine streams 64 per cycle); class rows of every head");
    add(r, "weight groups [3][4][64][64] int8", 0,
        mem(r, 3L * VK_WPORTS * VK_BLOCK_BYTES, 8, VK_LANES, 1), 0, 0,
        "64 banks: a row of a block per cycle out, 4 x 16 bytes per cycle in");
    r->onchip_bytes += 2 * VK_BLOCK_BYTES; /* the stationary registers (FF, counted above) */
    add(r, "accumulators [2][198][64] int32", 0, mem(r, 2 * T * VK_PE, 32, VK_PE, 1), 0, 0,
        "64 banks (a token's 64 outputs per cycle)");
    add(r, "layer constants int32", 0, mem(r, lp, 32, VK_EPI_LANES, 2), 0, 0,
        "16 banks, two replicas (bias, multiplier and shift of 16 outputs per cycle)");
    add(r, "logits [1000] int32", 0, mem(r, VK_MAX_CLASSES, 32, 1, 1), 0, 0, "one bank");
}

vk_status vk_resource_check(const vk_res *r, const vk_cycles_hw *hw, vk_err *err)
{
    const struct {
        const char *what;
        double used, total, budget;
    } c[] = {
        {"DSP48E2", r->dsp, hw->dsp_total, hw->dsp_budget},
        {"BRAM36", r->bram36, hw->bram36_total, hw->bram_budget},
        {"LUT", r->lut, hw->lut_total, hw->lut_budget},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        if (c[i].used > c[i].total * c[i].budget)
            return vk_fail(err, VK_E_UNSUPPORTED,
                           "%s: the design needs %.0f %s, %.1f%% of the %.0f on %s; the board "
                           "file allows %.0f%%",
                           hw->board, c[i].used, c[i].what, 100 * c[i].used / c[i].total,
                           c[i].total, hw->board, 100 * c[i].budget);
    return VK_OK;
}
