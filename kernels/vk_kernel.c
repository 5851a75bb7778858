/* vk_kernel: integer-only ViT forward pass for one image (see vk_kernel.h).
 *
 * Stages per encoder (load / compute / store, as the HLS design pipelines):
 *   attention (unless skipped): LN1 -> QKV linear (int8) -> per head
 *     QK^T, softmax (Q8), AV (int8) -> projection added to the residual;
 *   MLP: LN2 -> FC1 (int8) -> activation table -> FC2 added to the residual.
 * Linear layers stream one weight row from DDR into a local buffer (burst),
 * then apply it to every token: the MAC array works on VK_HLS_LANES inputs of
 * a row per cycle (innermost loop unrolled) with the token loop pipelined. */
#include "vk_kernel.h"

#include "vk_int.h"

enum { VK_LIN_OUT8 = 0, VK_LIN_ADD_RESID = 1 };

/* y = x W^T + b for n_tok tokens; out_kind selects int8 output (requant
 * then saturate) or requant-and-add into the residual stream h.
 * A tile of VK_HLS_PE weight rows is burst-read into wtile, then every
 * token streams through it: one cycle per VK_HLS_LANES inputs of all PE rows. */
static void vk_k_linear(const int8_t *x, int32_t n_tok, int32_t n_in, const int8_t *w,
                        int32_t n_out, const int32_t *bias, const int32_t *mult,
                        const int32_t *shift, int32_t out_kind, int8_t *y8,
                        int32_t y_stride, int32_t *h)
{
    int8_t wtile[VK_HLS_PE][VK_MAX_MLP];
#pragma HLS ARRAY_PARTITION variable = wtile dim = 1 complete
#pragma HLS ARRAY_PARTITION variable = wtile dim = 2 cyclic factor = 64
    int32_t acc[VK_HLS_PE];
#pragma HLS ARRAY_PARTITION variable = acc complete
    int32_t o0, oo, t, i0, ii, n_pe;
lin_otile:
    for (o0 = 0; o0 < n_out; o0 += VK_HLS_PE) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 24
        n_pe = n_out - o0 < VK_HLS_PE ? n_out - o0 : VK_HLS_PE;
    lin_load:
        for (oo = 0; oo < n_pe; oo++)
            for (ii = 0; ii < n_in; ii++) {
#pragma HLS PIPELINE II = 1
                wtile[oo][ii] = w[(int64_t)(o0 + oo) * n_in + ii];
            }
    lin_tok:
        for (t = 0; t < n_tok; t++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 197
        lin_init:
            for (oo = 0; oo < n_pe; oo++)
                acc[oo] = bias[o0 + oo];
        lin_itile:
            for (i0 = 0; i0 < n_in; i0 += VK_HLS_LANES) {
#pragma HLS PIPELINE II = 1
            lin_pe:
                for (oo = 0; oo < n_pe; oo++) {
#pragma HLS UNROLL
                lin_mac:
                    for (ii = i0; ii < i0 + VK_HLS_LANES && ii < n_in; ii++) {
#pragma HLS UNROLL
                        acc[oo] += (int32_t)x[t * n_in + ii] * wtile[oo][ii];
                    }
                }
            }
        lin_store:
            for (oo = 0; oo < n_pe; oo++) {
                int32_t o = o0 + oo;
                if (out_kind == VK_LIN_OUT8)
                    y8[t * y_stride + o] = vk_sat8(vk_requant(acc[oo], mult[o], shift[o]));
                else
                    h[t * VK_MAX_DIM + o] = vk_sat30((int64_t)h[t * VK_MAX_DIM + o] +
                                                     vk_requant(acc[oo], mult[o], shift[o]));
            }
        }
    }
}

static void vk_k_layernorm(const int32_t *h, int32_t n_tok, int32_t d, const int32_t *g,
                           const int32_t *b, int32_t eps, int8_t *y)
{
    int32_t t;
ln_tok:
    for (t = 0; t < n_tok; t++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 197
        vk_layernorm_row(&h[t * VK_MAX_DIM], d, g, b, eps, &y[t * d]);
    }
}

/* Multi-head attention on qkv (int8 [T][3D]) into ctx (int8 [T][D]).
 * QK^T: VK_HLS_PE keys per cycle, the head dimension across lanes;
 * softmax: VK_HLS_SM_LANES exponentials per cycle (kernels/hls directives);
 * AV: VK_HLS_PE values per cycle into head-dimension accumulators. */
static void vk_k_attention(const int8_t *qkv, int32_t n_tok, int32_t d, int32_t n_heads,
                           int32_t sm_m, int32_t sm_s, int32_t av_m, int32_t av_s,
                           int8_t *ctx)
{
    int32_t score[VK_MAX_TOKENS], e[VK_MAX_TOKENS], acc[VK_MAX_HEAD_DIM];
    uint8_t p[VK_MAX_TOKENS];
#pragma HLS ARRAY_PARTITION variable = acc complete
    int32_t hd, t, j0, jj, c, dh = d / n_heads, d3 = 3 * d;
att_head:
    for (hd = 0; hd < n_heads; hd++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 12
    att_query:
        for (t = 0; t < n_tok; t++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 197
            const int8_t *q = &qkv[t * d3 + hd * dh];
        qk_ktile:
            for (j0 = 0; j0 < n_tok; j0 += VK_HLS_PE) {
#pragma HLS PIPELINE II = 1
            qk_pe:
                for (jj = j0; jj < j0 + VK_HLS_PE && jj < n_tok; jj++) {
#pragma HLS UNROLL
                    const int8_t *k = &qkv[jj * d3 + d + hd * dh];
                    int32_t s = 0;
                qk_mac:
                    for (c = 0; c < dh; c++) {
#pragma HLS UNROLL
                        s += (int32_t)q[c] * k[c];
                    }
                    score[jj] = s;
                }
            }
            vk_softmax_row_q8(score, n_tok, sm_m, sm_s, e, p);
        av_init:
            for (c = 0; c < dh; c++)
                acc[c] = 0;
        av_vtile:
            for (j0 = 0; j0 < n_tok; j0 += VK_HLS_PE) {
#pragma HLS PIPELINE II = 1
            av_pe:
                for (jj = j0; jj < j0 + VK_HLS_PE && jj < n_tok; jj++) {
#pragma HLS UNROLL
                av_mac:
                    for (c = 0; c < dh; c++) {
#pragma HLS UNROLL
                        acc[c] += (int32_t)p[jj] * qkv[jj * d3 + 2 * d + hd * dh + c];
                    }
                }
            }
        av_store:
            for (c = 0; c < dh; c++)
                ctx[t * d + hd * dh + c] = vk_sat8(vk_requant(acc[c], av_m, av_s));
        }
    }
}

static int32_t vk_k_check_par(const int32_t *par)
{
    int32_t img = par[VK_HDR_IMAGE], p = par[VK_HDR_PATCH], c = par[VK_HDR_CHANNELS];
    int32_t d = par[VK_HDR_DIM], nh = par[VK_HDR_HEADS], g;
    if (par[VK_HDR_MAGIC] != VK_PAR_MAGIC || par[VK_HDR_VERSION] != VK_PAR_VERSION)
        return 0;
    if (img < 1 || img > VK_MAX_IMAGE || p < 1 || img % p || c < 1 || c > VK_MAX_CHANNELS)
        return 0;
    if (c * p * p > VK_MAX_PATCH_DIM || d < 1 || d > VK_MAX_DIM || nh < 1 ||
        nh > VK_MAX_HEADS || d % nh || d / nh > VK_MAX_HEAD_DIM)
        return 0;
    g = img / p;
    if (par[VK_HDR_TOKENS] != g * g + 1 || par[VK_HDR_TOKENS] > VK_MAX_TOKENS)
        return 0;
    if (par[VK_HDR_LAYERS] < 1 || par[VK_HDR_LAYERS] > VK_MAX_LAYERS || par[VK_HDR_MLP] < 1 ||
        par[VK_HDR_MLP] > VK_MAX_MLP || par[VK_HDR_CLASSES] < 2 ||
        par[VK_HDR_CLASSES] > VK_MAX_CLASSES)
        return 0;
    return 1;
}

void vk_kernel_top(const int8_t *wt, const int32_t *par, const uint32_t *cfg,
                   const int8_t *img, int32_t *act, int32_t *out)
{
#pragma HLS INTERFACE m_axi port = wt offset = slave bundle = gmem0 max_read_burst_length = 256
#pragma HLS INTERFACE m_axi port = par offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = cfg offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = img offset = slave bundle = gmem2
#pragma HLS INTERFACE m_axi port = act offset = slave bundle = gmem2
#pragma HLS INTERFACE m_axi port = out offset = slave bundle = gmem2
#pragma HLS INTERFACE s_axilite port = wt bundle = control
#pragma HLS INTERFACE s_axilite port = par bundle = control
#pragma HLS INTERFACE s_axilite port = cfg bundle = control
#pragma HLS INTERFACE s_axilite port = img bundle = control
#pragma HLS INTERFACE s_axilite port = act bundle = control
#pragma HLS INTERFACE s_axilite port = out bundle = control
#pragma HLS INTERFACE s_axilite port = return bundle = control
    int32_t h[VK_MAX_TOKENS * VK_MAX_DIM];   /* residual stream, S_h units */
    int8_t xn[VK_MAX_TOKENS * VK_MAX_DIM];   /* LayerNorm output */
    int8_t qkv[VK_MAX_TOKENS * 3 * VK_MAX_DIM];
    int8_t ctx[VK_MAX_TOKENS * VK_MAX_DIM];
    int8_t mid[VK_MAX_TOKENS * VK_MAX_MLP];  /* MLP hidden */
    int8_t patch[VK_MAX_PATCH_DIM];
    int32_t logit[VK_MAX_CLASSES];
    vk_layout lay;
    int32_t img_side, p, c, d, n_layers, n_heads, mlp, k, t, g, start, save;
    int32_t l, i, o, py, px, ch, ky, kx;

    if (!vk_k_check_par(par)) {
        out[VK_OUT_STATUS] = VK_KSTAT_BAD_PAR;
        return;
    }
    img_side = par[VK_HDR_IMAGE];
    p = par[VK_HDR_PATCH];
    c = par[VK_HDR_CHANNELS];
    d = par[VK_HDR_DIM];
    n_layers = par[VK_HDR_LAYERS];
    n_heads = par[VK_HDR_HEADS];
    mlp = par[VK_HDR_MLP];
    k = par[VK_HDR_CLASSES];
    t = par[VK_HDR_TOKENS];
    g = img_side / p;
    vk_layout_compute(&lay, (uint32_t)c, (uint32_t)p, (uint32_t)d, (uint32_t)n_layers,
                      (uint32_t)mlp, (uint32_t)k, (uint32_t)t);

    start = (int32_t)cfg[VK_CFG_START];
    save = (int32_t)cfg[VK_CFG_SAVE];
    if (cfg[VK_CFG_MAGIC_W] != VK_CFG_MAGIC || start < 0 || start > n_layers || save < 0 ||
        save > n_layers) {
        out[VK_OUT_STATUS] = VK_KSTAT_BAD_CFG;
        return;
    }
mode_check:
    for (l = start; l < n_layers; l++) {
        uint32_t w = cfg[VK_CFG_MODES + l];
        if ((VK_MODE_ATTN(w) != VK_ATTN_FULL && VK_MODE_ATTN(w) != VK_ATTN_SKIP) ||
            VK_MODE_KEEP(w) != VK_KEEP_ALL || VK_MODE_FFN(w) != 0) {
            out[VK_OUT_STATUS] = VK_KSTAT_BAD_MODE;
            return;
        }
    }

    if (start == 0) {
        /* patch embedding: a convolution with stride = kernel = patch */
    embed_cls:
        for (o = 0; o < d; o++)
            h[o] = par[lay.tok0 + o];
    embed_patch:
        for (py = 0; py < g; py++) {
            for (px = 0; px < g; px++) {
                int32_t tok = 1 + py * g + px;
            embed_pos:
                for (o = 0; o < d; o++)
                    h[tok * VK_MAX_DIM + o] = par[lay.tok0 + tok * d + o];
            embed_gather:
                for (ch = 0; ch < c; ch++)
                    for (ky = 0; ky < p; ky++)
                        for (kx = 0; kx < p; kx++)
                            patch[(ch * p + ky) * p + kx] =
                                img[(ch * img_side + py * p + ky) * img_side + px * p + kx];
                vk_k_linear(patch, 1, c * p * p, &wt[lay.patch_w], d, &par[lay.patch_b],
                            &par[lay.patch_m], &par[lay.patch_s], VK_LIN_ADD_RESID, 0, 0,
                            &h[tok * VK_MAX_DIM]);
            }
        }
    } else {
    act_load:
        for (i = 0; i < t; i++)
            for (o = 0; o < d; o++)
                h[i * VK_MAX_DIM + o] = act[i * d + o];
    }

encoder:
    for (l = start; l < n_layers; l++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 12
        const int8_t *lw = &wt[lay.layer_w + (uint32_t)l * lay.layer_w_n];
        const int32_t *lp = &par[lay.layer_p + (uint32_t)l * lay.layer_p_n];
        if (l == save && save > 0) {
        act_save:
            for (i = 0; i < t; i++)
                for (o = 0; o < d; o++)
                    act[i * d + o] = h[i * VK_MAX_DIM + o];
        }
        if (VK_MODE_ATTN(cfg[VK_CFG_MODES + l]) == VK_ATTN_FULL) {
            vk_k_layernorm(h, t, d, &lp[lay.ln1_g], &lp[lay.ln1_b], par[VK_HDR_LN_EPS], xn);
            vk_k_linear(xn, t, d, &lw[lay.qkv_w], 3 * d, &lp[lay.qkv_b], &lp[lay.qkv_m],
                        &lp[lay.qkv_s], VK_LIN_OUT8, qkv, 3 * d, 0);
            vk_k_attention(qkv, t, d, n_heads, lp[lay.sm_m], lp[lay.sm_s], lp[lay.av_m],
                           lp[lay.av_s], ctx);
            vk_k_linear(ctx, t, d, &lw[lay.proj_w], d, &lp[lay.proj_b], &lp[lay.proj_m],
                        &lp[lay.proj_s], VK_LIN_ADD_RESID, 0, 0, h);
        }
        vk_k_layernorm(h, t, d, &lp[lay.ln2_g], &lp[lay.ln2_b], par[VK_HDR_LN_EPS], xn);
        vk_k_linear(xn, t, d, &lw[lay.fc1_w], mlp, &lp[lay.fc1_b], &lp[lay.fc1_m],
                    &lp[lay.fc1_s], VK_LIN_OUT8, mid, mlp, 0);
    act_table:
        for (i = 0; i < t * mlp; i++) {
#pragma HLS PIPELINE II = 1
            mid[i] = (int8_t)lp[lay.gelu + mid[i] + 128];
        }
        vk_k_linear(mid, t, mlp, &lw[lay.fc2_w], d, &lp[lay.fc2_b], &lp[lay.fc2_m],
                    &lp[lay.fc2_s], VK_LIN_ADD_RESID, 0, 0, h);
    }
    if (save == n_layers) {
    act_save_last:
        for (i = 0; i < t; i++)
            for (o = 0; o < d; o++)
                act[i * d + o] = h[i * VK_MAX_DIM + o];
    }

    /* final LayerNorm and classifier on the class token only */
    vk_layernorm_row(h, d, &par[lay.lnf_g], &par[lay.lnf_b], par[VK_HDR_LN_EPS], xn);
head_out:
    for (o = 0; o < k; o++) {
        int32_t acc = par[lay.head_b + o];
    head_mac:
        for (i = 0; i < d; i++) {
#pragma HLS UNROLL factor = 64
            acc += (int32_t)xn[i] * wt[lay.head_w + (uint32_t)o * d + i];
        }
        logit[o] = vk_sat30(vk_requant(acc, par[lay.head_m + o], par[lay.head_s + o]));
    }
    out[VK_OUT_STATUS] = VK_KSTAT_OK;
    out[VK_OUT_CLASS] = vk_argmax(logit, k);
    out[VK_OUT_ENTROPY] = vk_entropy_q16(logit, k, par[VK_HDR_ENT_MULT], par[VK_HDR_ENT_SHIFT]);
    out[VK_OUT_NCLASS] = k;
out_logits:
    for (o = 0; o < k; o++)
        out[VK_OUT_LOGITS + o] = logit[o];
}
