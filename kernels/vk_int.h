/* vk_int: the integer operators of the vitskip kernel, shared bit for bit by
 * the HLS kernel, the fast native path and the host's quantizer.
 *
 * Fixed-point scheme (all integer, no floating point):
 *   - Requantization: y = round_half_away(acc * mult / 2^shift), mult a
 *     positive int32 (the quantizer writes [2^16, 2^17): one DSP48E2 per
 *     product), shift in [0, 62] (larger shifts act as 62); the only right
 *     shift of a possibly negative value in the kernel is vk_rshift_round().
 *   - The residual stream saturates to +-VK_RESID_LIM (2^25), so a
 *     LayerNorm's sums of squares over 768 channels stay inside int64.
 *   - exp2 of a non-positive Q16 number (log2 units): integer part by shift,
 *     fraction by a 33-entry table of 2^(-k/32) with linear interpolation
 *     (max relative error about 1e-4); result in Q15 (1.0 = 32768).
 *   - log2 of a positive integer in Q16: leading-one position plus a 33-entry
 *     table of log2(1 + k/32), linearly interpolated.
 *   - Attention softmax: row max subtracted, differences scaled to Q16 log2
 *     units by a per-encoder multiplier (folding 1/sqrt(head_dim), the q and
 *     k scales and log2(e)), exp2 as above, normalised by one reciprocal per
 *     row into unsigned Q8 probabilities (255 = 1.0 saturated).
 *   - LayerNorm on the int32 residual stream: rounded integer mean, floor
 *     variance, integer square root, one reciprocal per token, Q16
 *     normalised values, then per-channel gamma/beta folded with the output
 *     scale (VK_LN_GS fraction bits).
 *   - GELU (or the model's activation): a 256-entry int8 table per encoder
 *     indexed by the int8 pre-activation, built by the host in float.
 *   - Class entropy: the softmax over logits in the same exp2 form;
 *     H = ln2 * (log2 Z - sum(p_i * x_i)), reported in Q16 nats.
 *
 * Synthesizable: <stdint.h> only, loops bounded and labelled. */
#ifndef VK_INT_H
#define VK_INT_H

#include <stdint.h>

#include "vk_config.h"
#include "vk_loops.h"

static const int32_t vk_exp2_tbl[33] = {
    65536, 64132, 62757, 61413, 60097, 58809, 57549, 56316, 55109, 53928, 52773,
    51642, 50535, 49452, 48393, 47356, 46341, 45348, 44376, 43425, 42495, 41584,
    40693, 39821, 38968, 38133, 37316, 36516, 35734, 34968, 34219, 33486, 32768};

static const int32_t vk_log2_tbl[33] = {
    0,     2909,  5732,  8473,  11136, 13727, 16248, 18704, 21098, 23433, 25711,
    27936, 30109, 32234, 34312, 36346, 38336, 40286, 42196, 44068, 45904, 47705,
    49472, 51207, 52911, 54584, 56229, 57845, 59434, 60997, 62534, 64047, 65536};

#define VK_LN2_Q16 45426

/* Rounds x / 2^s to nearest, ties away from zero. s in [0, 62]. */
static inline int64_t vk_rshift_round(int64_t x, int32_t s)
{
    int64_t half;
    if (s <= 0)
        return x;
    if (s > 62) /* only a malformed blob asks for more; the result is 0 */
        s = 62;
    half = (int64_t)1 << (s - 1);
    if (x >= 0)
        return (x + half) >> s;
    return -((-x + half) >> s);
}

/* Rounds a / b to nearest, ties away from zero; b > 0. */
static inline int64_t vk_div_round(int64_t a, int64_t b)
{
    if (a >= 0)
        return (a + b / 2) / b;
    return -((-a + b / 2) / b);
}

static inline int8_t vk_sat8(int64_t x)
{
    return (int8_t)(x > 127 ? 127 : (x < -128 ? -128 : x));
}

/* Saturates to +-2^30 so that sums of two stay inside int32 (logits). */
static inline int32_t vk_sat30(int64_t x)
{
    const int64_t lim = (int64_t)1 << 30;
    return (int32_t)(x > lim ? lim : (x < -lim ? -lim : x));
}

/* Saturates to the residual stream's range, +-VK_RESID_LIM. */
static inline int32_t vk_sat_resid(int64_t x)
{
    const int64_t lim = VK_RESID_LIM;
    return (int32_t)(x > lim ? lim : (x < -lim ? -lim : x));
}

static inline int64_t vk_requant(int64_t acc, int32_t mult, int32_t shift)
{
    return vk_rshift_round(acc * (int64_t)mult, shift);
}

/* 2^x for x <= 0 in Q16 log2 units (x > 0 acts as 0); returns Q15
 * (32768 = 1.0). */
static inline int32_t vk_exp2_neg_q16(int64_t x)
{
    int64_t nx = x > 0 ? 0 : -x;
    int64_t n = nx >> 16; /* nx >= 0 */
    int32_t f, idx, r, a, b, v;
    if (n >= 16)
        return 0;
    f = (int32_t)(nx & 0xFFFF);
    idx = f >> 11;
    r = f & 0x7FF;
    a = vk_exp2_tbl[idx];
    b = vk_exp2_tbl[idx + 1];
    v = a - (((a - b) * r + 1024) >> 11); /* Q16, in [32768, 65536] */
    return (int32_t)((v + (1 << n)) >> (n + 1));
}

/* log2(z) in Q16 for z >= 1 (z < 1 acts as 1). */
static inline int64_t vk_log2_q16(int64_t z)
{
    int32_t m = 0, i, frac, idx, r, a, b;
    int64_t t;
    if (z < 1)
        z = 1;
log2_msb: /* a priority encoder: the highest set bit, constant trip count */
    for (i = 0; i < 63; i++) {
        VK_TRIP(LOG2_MSB);
        if ((z >> i) & 1)
            m = i;
    }
    t = m >= 30 ? (z >> (m - 30)) : (z << (30 - m)); /* [2^30, 2^31) */
    frac = (int32_t)((t - ((int64_t)1 << 30)) >> 14); /* Q16 in [0, 65536) */
    idx = frac >> 11;
    r = frac & 0x7FF;
    a = vk_log2_tbl[idx];
    b = vk_log2_tbl[idx + 1];
    return (int64_t)m * 65536 + a + (((b - a) * r + 1024) >> 11);
}

/* Integer square root: floor(sqrt(v)), v >= 0. */
static inline int64_t vk_isqrt64(int64_t v)
{
    uint64_t x = (uint64_t)v, res = 0, bit = (uint64_t)1 << 62;
    int i;
isqrt_bits:
    for (i = 0; i < 32; i++) {
        if (x >= res + bit) {
            x -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
        bit >>= 2;
    }
    return (int64_t)res;
}

/* LayerNorm statistics of one token from its sum and sum of squares over
 * d channels (|h| <= VK_RESID_LIM): the rounded mean and the Q40 inverse
 * standard deviation inv = 2^40 / max(1, isqrt(floor(sum (h - mean)^2 / d)
 * + eps)), eps < 0 acting as 0. sum (h - mean)^2 is computed as
 * sumsq - 2 mean sum + d mean^2, the same integer as the two-pass form. */
static inline void vk_ln_stats(int64_t sum, int64_t sumsq, int32_t d, int32_t eps,
                               int64_t *mean, int64_t *inv)
{
    int64_t m = vk_div_round(sum, d), var, sd;
    var = (sumsq - 2 * m * sum + (int64_t)d * m * m) / d + (eps > 0 ? eps : 0);
    sd = vk_isqrt64(var);
    if (sd < 1)
        sd = 1;
    *mean = m;
    *inv = ((int64_t)1 << 40) / sd;
}

/* One normalized channel: x = h - mean in Q16 then gamma/beta (g, b folded
 * with the output scale, VK_LN_GS fraction bits) into int8. */
static inline int8_t vk_ln_apply(int32_t h, int64_t mean, int64_t inv, int32_t g, int32_t b)
{
    int64_t q = vk_rshift_round((h - mean) * inv, 24); /* Q16 */
    return vk_sat8(vk_rshift_round(q * g + (int64_t)b * 65536, 16 + VK_LN_GS));
}

/* LayerNorm of one token of the residual stream h[0..d) into int8 y, in
 * two passes (the host's form; the kernel keeps the sums as it writes h).
 * g, b: gamma and beta folded with the output scale (VK_LN_GS bits). */
static inline void vk_layernorm_row(const int32_t *h, int32_t d, const int32_t *g,
                                    const int32_t *b, int32_t eps, int8_t *y)
{
    int64_t sum = 0, var = 0, mean, sd, inv;
    int32_t i;
ln_sum:
    for (i = 0; i < d; i++)
        sum += h[i];
    mean = vk_div_round(sum, d);
ln_var:
    for (i = 0; i < d; i++) {
        int64_t c = h[i] - mean;
        var += c * c;
    }
    var = var / d + (eps > 0 ? eps : 0);
    sd = vk_isqrt64(var);
    if (sd < 1)
        sd = 1;
    inv = ((int64_t)1 << 40) / sd;
ln_out:
    for (i = 0; i < d; i++)
        y[i] = vk_ln_apply(h[i], mean, inv, g[i], b[i]);
}

/* Entropy (Q16 nats) of softmax(logits * scale) where the logit differences
 * are turned into Q16 log2 units by (d * mult) >> shift. */
static inline int32_t vk_entropy_q16(const int32_t *logit, int32_t k, int32_t mult,
                                     int32_t shift)
{
    int32_t mx = logit[0], i;
    int64_t z = 0, s = 0, hb, hn;
ent_max:
    for (i = 1; i < k; i++) {
        VK_TRIP(ENT_MAX);
        if (logit[i] > mx)
            mx = logit[i];
    }
ent_sum:
    for (i = 0; i < k; i++) {
        VK_TRIP(ENT_SUM);
        int64_t x = vk_rshift_round((int64_t)(logit[i] - mx) * mult, shift);
        int32_t e = vk_exp2_neg_q16(x);
        z += e;
        s += (int64_t)e * x;
    }
    /* z >= 32768 (the max term); s <= 0 */
    hb = vk_log2_q16(z) - 15 * 65536 + vk_div_round(-s, z);
    hn = vk_rshift_round(hb * VK_LN2_Q16, 16);
    return (int32_t)(hn < 0 ? 0 : hn);
}

/* Softmax of one attention row of int32 scores into Q8 probabilities
 * (sum about 256, each at most 255). e: scratch of n int32. */
static inline void vk_softmax_row_q8(const int32_t *score, int32_t n, int32_t mult,
                                     int32_t shift, int32_t *e, uint8_t *p)
{
    int32_t mx = score[0], j;
    int64_t z = 0, rz;
sm_max:
    for (j = 1; j < n; j++)
        if (score[j] > mx)
            mx = score[j];
sm_exp:
    for (j = 0; j < n; j++) {
        e[j] = vk_exp2_neg_q16(vk_rshift_round((int64_t)(score[j] - mx) * mult, shift));
        z += e[j];
    }
    rz = ((int64_t)1 << 40) / z; /* z >= 32768 */
sm_norm:
    for (j = 0; j < n; j++) {
        int64_t q = vk_rshift_round((int64_t)e[j] * rz, 32);
        p[j] = (uint8_t)(q > 255 ? 255 : q);
    }
}

/* Index of the largest logit, lowest index on ties. */
static inline int32_t vk_argmax(const int32_t *logit, int32_t k)
{
    int32_t best = 0, i;
argmax:
    for (i = 1; i < k; i++) {
        VK_TRIP(ARGMAX);
        if (logit[i] > logit[best])
            best = i;
    }
    return best;
}

#endif
