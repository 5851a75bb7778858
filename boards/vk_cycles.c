/* vk_cycles: cycle and energy model of the kernel on the ZCU102 (see vk_cycles.h). */
#include "boards/vk_cycles.h"
#include "host/vk_datafile.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Loop trip counts fixed by the integer operators' code (kernels/vk_int.h). */
#define VK_CY_ISQRT_ITERS 32 /* vk_isqrt64: isqrt_bits */
#define VK_CY_LOG2_ITERS 63  /* vk_log2_q16: log2_msb, worst case */

/* ---- board file --------------------------------------------------------- */

typedef enum { F_DOUBLE, F_INT, F_BOOL } field_kind;

typedef struct {
    const char *name;
    field_kind kind;
    size_t off;
    double min, max; /* inclusive range for numbers */
} field_def;

/* clang-format off */
#define FD(n, k, lo, hi) {#n, k, offsetof(vk_cycles_hw, n), lo, hi}
static const field_def fields[] = {
    FD(clock_mhz, F_DOUBLE, 1, 2000),
    FD(mac_pe, F_INT, 1, 4096),
    FD(mac_lanes, F_INT, 1, 4096),
    FD(int8_macs_per_dsp, F_INT, 1, 4),
    FD(dsp_total, F_INT, 1, 100000),
    FD(softmax_lanes, F_INT, 1, 4096),
    FD(softmax_max_lanes, F_INT, 1, 4096),
    FD(ln_lanes, F_INT, 1, 4096),
    FD(act_lanes, F_INT, 1, 4096),
    FD(io_lanes, F_INT, 1, 4096),
    FD(head_lanes, F_INT, 1, 4096),
    FD(wt_load_bytes_per_cycle, F_DOUBLE, 0.001, 4096),
    FD(axi_port_bits, F_INT, 8, 4096),
    FD(ddr_bandwidth_gbs, F_DOUBLE, 0.001, 10000),
    FD(double_buffered, F_BOOL, 0, 1),
    FD(pipeline_depth, F_INT, 0, 1000),
    FD(div_cycles, F_INT, 0, 10000),
    FD(static_power_w, F_DOUBLE, 0, 1000),
    FD(pj_per_mac, F_DOUBLE, 0, 1e6),
    FD(pj_per_ddr_byte, F_DOUBLE, 0, 1e6),
    FD(pj_per_sram_byte, F_DOUBLE, 0, 1e6),
};
/* clang-format on */
#define N_FIELDS (sizeof fields / sizeof fields[0])

/* Free-text members a board file may carry besides the parameters. */
static int is_text_member(const char *name)
{
    return !strcmp(name, "board") || !strcmp(name, "design") || !strcmp(name, "comment");
}

static const field_def *find_field(const char *name)
{
    for (size_t i = 0; i < N_FIELDS; i++)
        if (!strcmp(fields[i].name, name))
            return &fields[i];
    return NULL;
}

static vk_status parse_field(const cJSON *root, const field_def *f, const char *what,
                             vk_cycles_hw *hw, vk_err *err)
{
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, f->name), *val, *src;
    char *p = (char *)hw + f->off;
    double v;
    if (!obj)
        return vk_fail(err, VK_E_FORMAT, "%s: missing field '%s'", what, f->name);
    if (!cJSON_IsObject(obj))
        return vk_fail(err, VK_E_FORMAT,
                       "%s: field '%s': expected an object {\"value\": ..., \"source\": \"...\"}",
                       what, f->name);
    val = cJSON_GetObjectItemCaseSensitive(obj, "value");
    src = cJSON_GetObjectItemCaseSensitive(obj, "source");
    if (!val)
        return vk_fail(err, VK_E_FORMAT, "%s: field '%s.value' is missing", what, f->name);
    if (!cJSON_IsString(src) || !src->valuestring[0])
        return vk_fail(err, VK_E_FORMAT,
                       "%s: field '%s.source': expected a non-empty string saying where the "
                       "value comes from",
                       what, f->name);
    if (f->kind == F_BOOL) {
        if (!cJSON_IsBool(val))
            return vk_fail(err, VK_E_FORMAT, "%s: field '%s.value': expected true or false", what,
                           f->name);
        *(int *)p = cJSON_IsTrue(val) ? 1 : 0;
        return VK_OK;
    }
    if (!cJSON_IsNumber(val))
        return vk_fail(err, VK_E_FORMAT, "%s: field '%s.value': expected a number", what, f->name);
    v = val->valuedouble;
    if (!isfinite(v) || v < f->min || v > f->max)
        return vk_fail(err, VK_E_FORMAT, "%s: field '%s.value': %g is out of range [%g, %g]", what,
                       f->name, v, f->min, f->max);
    if (f->kind == F_INT) {
        if (v != floor(v))
            return vk_fail(err, VK_E_FORMAT, "%s: field '%s.value': expected an integer, got %g",
                           what, f->name, v);
        *(int *)p = (int)v;
    } else {
        *(double *)p = v;
    }
    return VK_OK;
}

vk_status vk_cycles_hw_parse(const char *text, const char *what, vk_cycles_hw *hw, vk_err *err)
{
    cJSON *root = cJSON_Parse(text);
    const cJSON *it, *board;
    vk_cycles_hw r;
    vk_status rc = VK_OK;
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        return vk_fail(err, VK_E_FORMAT, "%s: not valid JSON (near offset %ld)", what,
                       at && at >= text ? (long)(at - text) : 0L);
    }
    memset(&r, 0, sizeof r);
    if (!cJSON_IsObject(root)) {
        rc = vk_fail(err, VK_E_FORMAT, "%s: expected a JSON object at the top level", what);
        goto out;
    }
    cJSON_ArrayForEach(it, root)
    {
        if (!it->string || (!find_field(it->string) && !is_text_member(it->string))) {
            rc = vk_fail(err, VK_E_FORMAT, "%s: unknown field '%s'", what,
                         it->string ? it->string : "?");
            goto out;
        }
    }
    board = cJSON_GetObjectItemCaseSensitive(root, "board");
    if (!cJSON_IsString(board) || !board->valuestring[0]) {
        rc = vk_fail(err, VK_E_FORMAT, "%s: field 'board': expected a non-empty string", what);
        goto out;
    }
    snprintf(r.board, sizeof r.board, "%s", board->valuestring);
    for (size_t i = 0; i < N_FIELDS; i++)
        if ((rc = parse_field(root, &fields[i], what, &r, err)) != VK_OK)
            goto out;
    *hw = r;
out:
    cJSON_Delete(root);
    return rc;
}

vk_status vk_cycles_hw_load(const char *path, vk_cycles_hw *hw, vk_err *err)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    long n;
    vk_status rc;
    if (!f)
        return vk_fail(err, VK_E_IO, "%s: cannot open board file: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > (1 << 20) ||
        fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return vk_fail(err, VK_E_IO, "%s: cannot read board file (or larger than 1 MiB)", path);
    }
    text = malloc((size_t)n + 1);
    if (!text) {
        fclose(f);
        return vk_fail(err, VK_E_NOMEM, "%s: out of memory", path);
    }
    if (fread(text, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(text);
        return vk_fail(err, VK_E_IO, "%s: short read", path);
    }
    fclose(f);
    text[n] = 0;
    rc = vk_cycles_hw_parse(text, path, hw, err);
    free(text);
    return rc;
}

vk_status vk_cycles_hw_find_default(char *path, size_t len, vk_err *err)
{
    return vk_datafile_find("boards/zcu102.json", path, len, err);
}

vk_status vk_cycles_hw_check_kernel(const vk_cycles_hw *hw, const char *what, vk_err *err)
{
    long dsps;
    if (hw->mac_pe != VK_HLS_PE)
        return vk_fail(err, VK_E_MISMATCH,
                       "%s: field 'mac_pe' is %d but the compiled kernel has VK_HLS_PE = %d "
                       "(kernels/vk_config.h)",
                       what, hw->mac_pe, VK_HLS_PE);
    if (hw->mac_lanes != VK_HLS_LANES)
        return vk_fail(err, VK_E_MISMATCH,
                       "%s: field 'mac_lanes' is %d but the compiled kernel has VK_HLS_LANES = "
                       "%d (kernels/vk_config.h)",
                       what, hw->mac_lanes, VK_HLS_LANES);
    if (hw->softmax_lanes != VK_HLS_SM_LANES)
        return vk_fail(err, VK_E_MISMATCH,
                       "%s: field 'softmax_lanes' is %d but the compiled kernel has "
                       "VK_HLS_SM_LANES = %d (kernels/vk_config.h)",
                       what, hw->softmax_lanes, VK_HLS_SM_LANES);
    dsps = ((long)hw->mac_pe * hw->mac_lanes + hw->int8_macs_per_dsp - 1) / hw->int8_macs_per_dsp;
    if (dsps > hw->dsp_total)
        return vk_fail(err, VK_E_FORMAT,
                       "%s: field 'dsp_total': the %dx%d MAC array needs %ld DSPs at %d int8 "
                       "MACs each, more than the %d available",
                       what, hw->mac_pe, hw->mac_lanes, dsps, hw->int8_macs_per_dsp, hw->dsp_total);
    return VK_OK;
}

/* ---- dimensions --------------------------------------------------------- */

void vk_cycles_dims_from_par(const int32_t *par, vk_cycles_dims *d)
{
    d->image = par[VK_HDR_IMAGE];
    d->patch = par[VK_HDR_PATCH];
    d->channels = par[VK_HDR_CHANNELS];
    d->dim = par[VK_HDR_DIM];
    d->layers = par[VK_HDR_LAYERS];
    d->heads = par[VK_HDR_HEADS];
    d->mlp = par[VK_HDR_MLP];
    d->classes = par[VK_HDR_CLASSES];
    d->tokens = par[VK_HDR_TOKENS];
}

vk_status vk_cycles_dims_check(const vk_cycles_dims *d, const char *what, vk_err *err)
{
    int32_t g;
    if (d->image < 1 || d->image > VK_MAX_IMAGE || d->patch < 1 || d->image % d->patch ||
        d->channels < 1 || d->channels > VK_MAX_CHANNELS ||
        d->channels * d->patch * d->patch > VK_MAX_PATCH_DIM)
        return vk_fail(err, VK_E_UNSUPPORTED,
                       "%s: image %d, patch %d, %d channels: outside the kernel's maxima "
                       "(image <= %d, patch dividing it, channels*patch^2 <= %d)",
                       what, d->image, d->patch, d->channels, VK_MAX_IMAGE, VK_MAX_PATCH_DIM);
    if (d->dim < 1 || d->dim > VK_MAX_DIM || d->heads < 1 || d->heads > VK_MAX_HEADS ||
        d->dim % d->heads || d->dim / d->heads > VK_MAX_HEAD_DIM)
        return vk_fail(err, VK_E_UNSUPPORTED,
                       "%s: dim %d with %d heads: outside the kernel's maxima (dim <= %d, "
                       "heads <= %d dividing it, head dim <= %d)",
                       what, d->dim, d->heads, VK_MAX_DIM, VK_MAX_HEADS, VK_MAX_HEAD_DIM);
    g = d->image / d->patch;
    if (d->tokens != g * g + 1 || d->tokens > VK_MAX_TOKENS)
        return vk_fail(err, VK_E_UNSUPPORTED, "%s: %d tokens (expected %d, at most %d)", what,
                       d->tokens, g * g + 1, VK_MAX_TOKENS);
    if (d->layers < 1 || d->layers > VK_MAX_LAYERS || d->mlp < 1 || d->mlp > VK_MAX_MLP ||
        d->classes < 2 || d->classes > VK_MAX_CLASSES)
        return vk_fail(err, VK_E_UNSUPPORTED,
                       "%s: %d layers, mlp %d, %d classes: outside the kernel's maxima "
                       "(layers <= %d, mlp <= %d, 2 <= classes <= %d)",
                       what, d->layers, d->mlp, d->classes, VK_MAX_LAYERS, VK_MAX_MLP,
                       VK_MAX_CLASSES);
    return VK_OK;
}

/* ---- counting ----------------------------------------------------------- */

static uint64_t ceil_div(uint64_t a, uint64_t b)
{
    return (a + b - 1) / b;
}

/* A pipelined loop of trip iterations doing lanes elements per cycle. */
static uint64_t loop_c(const vk_cycles_hw *hw, uint64_t trip, uint64_t lanes)
{
    return trip ? ceil_div(trip, lanes) + (uint64_t)hw->pipeline_depth : 0;
}

/* A pipelined loop moving trip bytes at rate bytes per cycle. */
static uint64_t loop_r(const vk_cycles_hw *hw, uint64_t trip, double rate)
{
    return trip ? (uint64_t)ceil((double)trip / rate) + (uint64_t)hw->pipeline_depth : 0;
}

static double ddr_bytes_per_cycle(const vk_cycles_hw *hw)
{
    return hw->ddr_bandwidth_gbs * 1e3 / hw->clock_mhz;
}

/* Bytes per cycle a loop reading DDR through the weight port can get. */
static double axi_rate(const vk_cycles_hw *hw)
{
    double port = hw->axi_port_bits / 8.0, ddr = ddr_bytes_per_cycle(hw);
    return port < ddr ? port : ddr;
}

static double load_rate(const vk_cycles_hw *hw)
{
    double a = axi_rate(hw);
    return hw->wt_load_bytes_per_cycle < a ? hw->wt_load_bytes_per_cycle : a;
}

/* vk_k_linear: cycles, and its MACs and weight bytes added to c. */
static uint64_t linear_c(const vk_cycles_hw *hw, uint64_t n_tok, uint64_t n_in, uint64_t n_out,
                         vk_cycles_count *c)
{
    uint64_t pe = (uint64_t)hw->mac_pe, total = 0, prev_comp = 0, o0;
    double rate = load_rate(hw);
    for (o0 = 0; o0 < n_out; o0 += pe) {
        uint64_t p = n_out - o0 < pe ? n_out - o0 : pe;
        uint64_t load = loop_r(hw, p * n_in, rate);
        uint64_t comp = n_tok * (loop_c(hw, p, (uint64_t)hw->io_lanes) +
                                 loop_c(hw, n_in, (uint64_t)hw->mac_lanes) +
                                 loop_c(hw, p, (uint64_t)hw->io_lanes));
        if (!hw->double_buffered) {
            total += load + comp;
            c->load_cycles += load;
        } else if (o0 == 0) {
            total += load; /* the first tile's load has nothing to hide under */
            c->load_cycles += load;
        } else {
            total += load > prev_comp ? load : prev_comp;
            c->load_cycles += load > prev_comp ? load - prev_comp : 0;
        }
        prev_comp = comp;
    }
    if (hw->double_buffered)
        total += prev_comp; /* the last tile's compute */
    c->macs += n_tok * n_in * n_out;
    c->ddr_bytes += n_in * n_out;
    return total;
}

static uint64_t ln_row_c(const vk_cycles_hw *hw, uint64_t d)
{
    return 3 * loop_c(hw, d, (uint64_t)hw->ln_lanes) + 3 * (uint64_t)hw->div_cycles +
           loop_c(hw, VK_CY_ISQRT_ITERS, 1);
}

void vk_cycles_run(const vk_cycles_hw *hw, const vk_cycles_dims *d, const uint32_t *modes,
                   int start, int save, vk_cycles_count *c)
{
    const uint64_t T = (uint64_t)d->tokens, D = (uint64_t)d->dim, H = (uint64_t)d->heads;
    const uint64_t M = (uint64_t)d->mlp, K = (uint64_t)d->classes, dh = D / H;
    const uint64_t G = (uint64_t)(d->image / d->patch);
    const uint64_t PD = (uint64_t)(d->channels * d->patch * d->patch);
    const uint64_t io = (uint64_t)hw->io_lanes, pe = (uint64_t)hw->mac_pe;
    uint64_t *st = c->stage_cycles;
    double head_rate = axi_rate(hw) < hw->head_lanes ? axi_rate(hw) : hw->head_lanes;
    vk_layout lay;
    int l;

    memset(c, 0, sizeof *c);
    vk_layout_compute(&lay, (uint32_t)d->channels, (uint32_t)d->patch, (uint32_t)D,
                      (uint32_t)d->layers, (uint32_t)M, (uint32_t)K, (uint32_t)T);
    c->ddr_bytes += 4 * (VK_HDR_WORDS + 2 * D + 3 * K); /* header, final LN, head consts */
    if (start == 0) {
        st[VK_STAGE_EMBED] += loop_c(hw, D, io); /* embed_cls */
        for (uint64_t p = 0; p < G * G; p++)
            st[VK_STAGE_EMBED] += loop_c(hw, D, io) + loop_c(hw, PD, io) +
                                  linear_c(hw, 1, PD, D, c); /* embed_pos, gather, linear */
        c->ddr_bytes += (uint64_t)d->channels * d->image * d->image + 4 * (3 * D + T * D);
    } else {
        st[VK_STAGE_EMBED] += loop_c(hw, T * D, io); /* act_load */
        c->ddr_bytes += 4 * T * D;
    }
    if (save > 0 && save >= start && save <= d->layers) {
        st[VK_STAGE_EMBED] += loop_c(hw, T * D, io); /* act_save */
        c->ddr_bytes += 4 * T * D;
    }
    for (l = start; l < d->layers; l++) {
        c->ddr_bytes += 4 * (uint64_t)lay.layer_p_n;
        if (VK_MODE_ATTN(modes[l]) != VK_ATTN_SKIP) {
            uint64_t per_q_sm = loop_c(hw, T - 1, (uint64_t)hw->softmax_max_lanes) +
                                2 * loop_c(hw, T, (uint64_t)hw->softmax_lanes) +
                                (uint64_t)hw->div_cycles;
            st[VK_STAGE_LN] += T * ln_row_c(hw, D);
            st[VK_STAGE_QKV] += linear_c(hw, T, D, 3 * D, c);
            st[VK_STAGE_QK] += H * T * loop_c(hw, T, pe);
            st[VK_STAGE_SOFTMAX] += H * T * per_q_sm;
            st[VK_STAGE_AV] += H * T * (2 * loop_c(hw, dh, io) + loop_c(hw, T, pe));
            c->macs += 2 * H * T * T * dh;
            st[VK_STAGE_PROJ] += linear_c(hw, T, D, D, c);
        }
        st[VK_STAGE_LN] += T * ln_row_c(hw, D);
        st[VK_STAGE_MLP] += linear_c(hw, T, D, M, c) + loop_c(hw, T * M, (uint64_t)hw->act_lanes) +
                            linear_c(hw, T, M, D, c);
    }
    /* head: final LayerNorm, classifier (wt read directly), argmax, entropy, logits */
    st[VK_STAGE_HEAD] += ln_row_c(hw, D) + K * loop_r(hw, D, head_rate) + 2 * loop_c(hw, K - 1, 1) +
                         loop_c(hw, K, 1) + loop_c(hw, VK_CY_LOG2_ITERS, 1) +
                         (uint64_t)hw->div_cycles + loop_c(hw, K, io);
    c->macs += D * K;
    c->ddr_bytes += D * K + 4 * (VK_OUT_LOGITS + K);
    for (int s = 0; s < VK_STAGE_N; s++)
        c->cycles += st[s];
    c->sram_bytes = 2 * c->macs;
}

double vk_cycles_ms(const vk_cycles_hw *hw, double cycles)
{
    return cycles / (hw->clock_mhz * 1e3);
}

double vk_cycles_mj(const vk_cycles_hw *hw, const vk_cycles_count *c)
{
    double dyn_pj = hw->pj_per_mac * (double)c->macs + hw->pj_per_ddr_byte * (double)c->ddr_bytes +
                    hw->pj_per_sram_byte * (double)c->sram_bytes;
    return hw->static_power_w * vk_cycles_ms(hw, (double)c->cycles) + dyn_pj * 1e-9;
}

double vk_cycles_roofline_ms(const vk_cycles_hw *hw, uint64_t macs)
{
    return vk_cycles_ms(hw, (double)macs / ((double)hw->mac_pe * hw->mac_lanes));
}

void vk_cycles_note(const vk_cycles_hw *hw, char *buf, size_t len)
{
    snprintf(buf, len,
             "modeled: %s design @ %g MHz, %dx%d int8 MAC array, DDR %g GB/s sustained "
             "(derated), weight tiles at %g B/cycle",
             hw->board, hw->clock_mhz, hw->mac_pe, hw->mac_lanes, hw->ddr_bandwidth_gbs,
             load_rate(hw));
}

void vk_cycles_measure(const vk_cycles_hw *hw, const vk_cycles_dims *d, const vk_path_req *req,
                       int n, int n_escalated, vk_measure *out)
{
    uint32_t full[VK_MAX_LAYERS];
    const uint32_t *resumer = req->modes_high ? req->modes_high : req->modes;
    vk_cycles_count low, hi, all;
    double frac = 0, mean_macs;
    int cascade = req->modes_high != NULL, k;

    memset(out, 0, sizeof *out);
    vk_cycles_run(hw, d, req->modes, 0, cascade ? req->resume : 0, &low);
    memset(&hi, 0, sizeof hi);
    if (cascade) {
        vk_cycles_run(hw, d, req->modes_high, req->resume, 0, &hi);
        frac = n > 0 ? (double)n_escalated / n : 0;
    }
    out->n_images = n;
    out->n_escalated = cascade ? n_escalated : 0;
    out->latency_ms =
        vk_cycles_ms(hw, (double)low.cycles) + frac * vk_cycles_ms(hw, (double)hi.cycles);
    out->latency_p10_ms = out->latency_p90_ms = out->latency_ms;
    out->latency_src = VK_SRC_MODELED;
    out->energy_mj = vk_cycles_mj(hw, &low) + frac * vk_cycles_mj(hw, &hi);
    out->energy_src = VK_SRC_MODELED;
    vk_cycles_note(hw, out->note, sizeof out->note);
    out->cycles = (uint64_t)llround((double)low.cycles + frac * (double)hi.cycles);
    out->ddr_bytes = (uint64_t)llround((double)low.ddr_bytes + frac * (double)hi.ddr_bytes);
    mean_macs = (double)low.macs + frac * (double)hi.macs;
    out->macs = (uint64_t)llround(mean_macs);
    for (int s = 0; s < VK_STAGE_N; s++)
        out->stage_cycles[s] =
            (uint64_t)llround((double)low.stage_cycles[s] + frac * (double)hi.stage_cycles[s]);
    for (k = 0; k < VK_MAX_LAYERS; k++)
        full[k] = VK_MODE(VK_ATTN_FULL);
    vk_cycles_run(hw, d, full, 0, 0, &all);
    out->macs_skipped =
        mean_macs < (double)all.macs ? (uint64_t)llround((double)all.macs - mean_macs) : 0;
    for (k = 0; k <= d->layers; k++) {
        vk_cycles_count s;
        vk_cycles_run(hw, d, resumer, k, 0, &s);
        out->suffix_ms[k] = vk_cycles_ms(hw, (double)s.cycles);
        out->suffix_mj[k] = vk_cycles_mj(hw, &s);
    }
}
