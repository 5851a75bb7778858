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

/* ---- board file --------------------------------------------------------- */

typedef enum { F_DOUBLE, F_INT } field_kind;

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
    FD(engine_pe, F_INT, 1, 4096),
    FD(engine_lanes, F_INT, 1, 4096),
    FD(int8_macs_per_dsp, F_INT, 1, 4),
    FD(weight_ports, F_INT, 1, 64),
    FD(axi_port_bits, F_INT, 8, 4096),
    FD(epilogue_lanes, F_INT, 1, 4096),
    FD(ln_lanes, F_INT, 1, 4096),
    FD(softmax_lanes, F_INT, 1, 4096),
    FD(ddr_bandwidth_gbs, F_DOUBLE, 0.001, 10000),
    FD(axi_latency, F_INT, 0, 100000),
    FD(engine_depth, F_INT, 0, 1000),
    FD(pipeline_depth, F_INT, 0, 1000),
    FD(div_cycles, F_INT, 0, 10000),
    FD(step_overhead, F_INT, 0, 10000),
    FD(dsp_total, F_INT, 1, 100000),
    FD(bram36_total, F_INT, 1, 100000),
    FD(lut_total, F_INT, 1, 100000000),
    FD(ff_total, F_INT, 1, 100000000),
    FD(dsp_budget, F_DOUBLE, 0.01, 1),
    FD(bram_budget, F_DOUBLE, 0.01, 1),
    FD(lut_budget, F_DOUBLE, 0.01, 1),
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
    static const struct {
        const char *name;
        size_t off;
        int want;
        const char *macro;
    } geo[] = {
        {"engine_pe", offsetof(vk_cycles_hw, engine_pe), VK_PE, "VK_PE"},
        {"engine_lanes", offsetof(vk_cycles_hw, engine_lanes), VK_LANES, "VK_LANES"},
        {"weight_ports", offsetof(vk_cycles_hw, weight_ports), VK_WPORTS, "VK_WPORTS"},
        {"axi_port_bits", offsetof(vk_cycles_hw, axi_port_bits), 8 * VK_AXI_BYTES,
         "8 * VK_AXI_BYTES"},
        {"epilogue_lanes", offsetof(vk_cycles_hw, epilogue_lanes), VK_EPI_LANES,
         "VK_EPI_LANES"},
        {"ln_lanes", offsetof(vk_cycles_hw, ln_lanes), VK_LN_LANES, "VK_LN_LANES"},
        {"softmax_lanes", offsetof(vk_cycles_hw, softmax_lanes), VK_SM_LANES, "VK_SM_LANES"},
        {"int8_macs_per_dsp", offsetof(vk_cycles_hw, int8_macs_per_dsp), 2,
         "two per DSP48E2 (vk_k_mac2)"},
    };
    for (size_t i = 0; i < sizeof geo / sizeof geo[0]; i++) {
        int v = *(const int *)(const void *)((const char *)hw + geo[i].off);
        if (v != geo[i].want)
            return vk_fail(err, VK_E_MISMATCH,
                           "%s: field '%s' is %d but the compiled kernel has %s = %d "
                           "(kernels/vk_config.h)",
                           what, geo[i].name, v, geo[i].macro, geo[i].want);
    }
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
    d->prefix = par[VK_HDR_PREFIX];
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
    if (d->prefix < 1 || d->prefix > VK_MAX_PREFIX || d->tokens != g * g + d->prefix ||
        d->tokens > VK_MAX_TOKENS)
        return vk_fail(err, VK_E_UNSUPPORTED,
                       "%s: %d tokens with %d prefix tokens (expected %d patches plus 1 or 2, "
                       "at most %d)",
                       what, d->tokens, d->prefix, g * g, VK_MAX_TOKENS);
    if (d->layers < 1 || d->layers > VK_MAX_LAYERS || d->mlp < 1 || d->mlp > VK_MAX_MLP ||
        d->classes < 2 || d->classes > VK_MAX_CLASSES)
        return vk_fail(err, VK_E_UNSUPPORTED,
                       "%s: %d layers, mlp %d, %d classes: outside the kernel's maxima "
                       "(layers <= %d, mlp <= %d, 2 <= classes <= %d)",
                       what, d->layers, d->mlp, d->classes, VK_MAX_LAYERS, VK_MAX_MLP,
                       VK_MAX_CLASSES);
    return VK_OK;
}

/* ---- counting: kernels/vk_kernel.c, loop by loop ------------------------- */

static uint64_t ceil_div(uint64_t a, uint64_t b)
{
    return (a + b - 1) / b;
}

/* The model's walk through one kernel call. */
typedef struct {
    const vk_cycles_hw *hw;
    const vk_cycles_dims *d;
    vk_cycles_count *c;
    int32_t dh, dp;
} vk_cy;

/* A pipelined loop: n iterations at interval ii, then depth; 0 if n = 0. */
static uint64_t pl(uint64_t n, uint64_t ii, uint64_t depth)
{
    return n ? n * ii + depth : 0;
}

/* A loop of n iterations labelled id, run alone in stage st. */
static void alone(vk_cy *m, vk_loop id, uint64_t n, uint64_t ii, uint64_t depth, vk_stage st)
{
    uint64_t cy = pl(n, ii, depth);
    m->c->trips[id] += n;
    m->c->cycles += cy;
    m->c->stage_cycles[st] += cy;
}

/* Cycles of an unlabelled loop or a fixed cost, in stage st. */
static void extra(vk_cy *m, uint64_t cycles, vk_stage st)
{
    m->c->cycles += cycles;
    m->c->stage_cycles[st] += cycles;
}

/* A DDR read or write loop of n 16-byte beats (latency paid once). */
static void ddr_loop(vk_cy *m, vk_loop id, uint64_t n, uint64_t bytes, vk_stage st)
{
    alone(m, id, n, 1, n ? (uint64_t)m->hw->pipeline_depth + (uint64_t)m->hw->axi_latency : 0,
          st);
    m->c->ddr_bytes += bytes;
}

static void par_load(vk_cy *m, uint64_t words, vk_stage st)
{
    ddr_loop(m, VK_L_PAR_LOAD, ceil_div(words, 4), 4 * words, st);
}

/* Softmax of rows x cols: exp, one divider pass, norm; its cycles. */
static uint64_t softmax_c(vk_cy *m, uint64_t rows, uint64_t cols)
{
    uint64_t n_ch = ceil_div(cols, VK_SM_LANES), dp = (uint64_t)m->hw->pipeline_depth;
    if (!rows)
        return 0;
    m->c->trips[VK_L_SM_EXP] += rows * n_ch;
    m->c->trips[VK_L_SM_DIV] += rows;
    m->c->trips[VK_L_SM_NORM] += rows * n_ch;
    m->c->sram_bytes += rows * cols * (4 + 4 + 4 + 1); /* score in, e out, e in, p out */
    return pl(rows * n_ch, 1, dp) + pl(rows, 1, (uint64_t)m->hw->div_cycles) +
           pl(rows * n_ch, 1, dp);
}

/* An op of a stage's list: the kernel's vk_k_op fields the model needs. */
enum { CY_GEMM, CY_LN, CY_PRUNE };

typedef struct {
    int kind;                     /* CY_* (VK_OP_* in the kernel) */
    vk_stage st;
    int64_t rows, n_lo, n_hi, n_in;
    int ddr, scores;              /* weights from DDR; raw-score epilogue */
    int64_t sm_rows, sm_cols;     /* a softmax beside it */
    int xp;                       /* a probability set moving beside it: 1 out, 2 in */
    int64_t xp_rows;
    uint32_t keep;                /* CY_PRUNE */
    uint64_t macs;                /* useful MACs of the product */
} vk_cy_op;

#define CY_OPS_MAX 40

typedef struct {
    vk_cy_op op[CY_OPS_MAX];
    int n;
} vk_cy_list;

static vk_cy_op *push(vk_cy_list *l, int kind, vk_stage st, int64_t rows, int64_t n_lo,
                      int64_t n_hi, int64_t n_in, int ddr)
{
    vk_cy_op *o = &l->op[l->n++], z = {0};
    *o = z;
    o->kind = kind;
    o->st = st;
    o->rows = rows;
    o->n_lo = n_lo;
    o->n_hi = n_hi;
    o->n_in = n_in;
    o->ddr = ddr;
    return o;
}

static uint64_t tiles_of(const vk_cy_op *op)
{
    return VK_TILES(op->n_hi) - (uint64_t)op->n_lo / VK_PE;
}

static int prefetchable(const vk_cy_op *op)
{
    return op->kind == CY_GEMM && op->ddr && op->n_hi > op->n_lo;
}

/* One weight group's load: 256 beats on every port at once, or its bytes
 * at the DDR bandwidth, plus the latency; counts its beats and bytes. */
static uint64_t group_load(vk_cy *m, const vk_cy_op *op, uint64_t g)
{
    const vk_cycles_hw *hw = m->hw;
    uint64_t n_kc = VK_TILES(op->n_in), gpt = ceil_div(n_kc, VK_WPORTS), i = g % gpt;
    uint64_t nb = n_kc - i * VK_WPORTS < VK_WPORTS ? n_kc - i * VK_WPORTS : VK_WPORTS;
    double ddr_bpc = hw->ddr_bandwidth_gbs * 1e3 / hw->clock_mhz; /* bytes per cycle */
    uint64_t by_bw = (uint64_t)ceil((double)(nb * VK_BLOCK_BYTES) / ddr_bpc);
    m->c->trips[VK_L_WL_BEAT] += VK_BLOCK_BEATS;
    m->c->ddr_bytes += nb * VK_BLOCK_BYTES;
    m->c->wt_bytes += nb * VK_BLOCK_BYTES;
    m->c->sram_bytes += nb * VK_BLOCK_BYTES;
    return (VK_BLOCK_BEATS > by_bw ? VK_BLOCK_BEATS : by_bw) + (uint64_t)hw->axi_latency;
}

/* vk_k_pre: a DDR op's groups 0 and 1 and its first registers, fetched
 * while the op before it ends; their cycles. */
static uint64_t pre_c(vk_cy *m, const vk_cy_op *op)
{
    uint64_t n_g = tiles_of(op) * ceil_div(VK_TILES(op->n_in), VK_WPORTS);
    uint64_t a = group_load(m, op, 0), b = n_g > 1 ? group_load(m, op, 1) : 0;
    m->c->trips[VK_L_ENG_PROLOGUE] += VK_PE;
    return a + b + pl(VK_PE, 1, (uint64_t)m->hw->pipeline_depth);
}

/* vk_k_gemm's steps: load || engine || epilogue || softmax || transfer,
 * each step as long as its longest process; pre: steps 0 and 1 were done
 * by the op before; nx: fetch that op's first steps in the last one. */
static void gemm(vk_cy *m, const vk_cy_op *op, int pre, const vk_cy_op *nx)
{
    const vk_cycles_hw *hw = m->hw;
    uint64_t n_t = tiles_of(op), n_kc = VK_TILES(op->n_in);
    uint64_t gpt = op->ddr ? ceil_div(n_kc, VK_WPORTS) : 1, n_g = n_t * gpt;
    uint64_t lag = op->ddr ? 2 : 0, n_steps = n_g + lag + 1, s, s0 = pre ? lag : 0;
    uint64_t tt = op->rows > VK_PE ? (uint64_t)op->rows : VK_PE, rows = (uint64_t)op->rows;
    uint64_t lanes = op->scores ? VK_PE : VK_EPI_LANES, groups = VK_PE / lanes;
    uint64_t n_run = n_steps - s0, epi_step = ceil_div(rows, gpt);
    uint64_t sm_step = ceil_div((uint64_t)op->sm_rows, n_run);
    uint64_t xp_step = ceil_div((uint64_t)op->xp_rows, n_run);
    uint64_t dp = (uint64_t)hw->pipeline_depth, de = (uint64_t)hw->engine_depth;
    vk_cycles_count *c = m->c;

    m->c->macs += op->macs;
    c->trips[VK_L_GEMM_STEP] += n_run;
    for (s = s0; s < n_steps; s++) {
        uint64_t ld = 0, eng = 0, epi = 0, sm = 0, xp = 0, rest;
        int64_t ge = (int64_t)s - (int64_t)lag;
        if (op->ddr && s < n_g)
            ld = group_load(m, op, s);
        if (s == (op->ddr ? 1u : 0u) && n_t) {
            eng = pl(VK_PE, 1, dp);
            c->trips[VK_L_ENG_PROLOGUE] += VK_PE;
        }
        if (ge >= 0 && (uint64_t)ge < n_g) {
            uint64_t nb = op->ddr ? (n_kc - ((uint64_t)ge % gpt) * VK_WPORTS < VK_WPORTS
                                         ? n_kc - ((uint64_t)ge % gpt) * VK_WPORTS
                                         : VK_WPORTS)
                                  : n_kc;
            eng += pl(nb * tt, 1, de);
            c->trips[VK_L_ENG_MAC] += nb * tt;
            c->macs_issued += nb * rows * VK_PE * VK_LANES;
            /* x operand and accumulators per token, the next block's rows */
            c->sram_bytes += nb * (rows * (VK_LANES + 2 * 4 * VK_PE) + VK_PE * VK_LANES);
        }
        if (ge >= (int64_t)gpt) {
            uint64_t i = (uint64_t)ge % gpt, a = i * epi_step, e = a + epi_step, r;
            if ((uint64_t)ge >= n_g) {
                a = 0;
                e = rows;
            }
            a = a < rows ? a : rows;
            e = e < rows ? e : rows;
            r = e - a;
            epi = pl(r * groups, 1, dp);
            c->trips[VK_L_EPI_OUT] += r * groups;
            c->sram_bytes += r * VK_PE * (4 + 8);
        }
        if (op->sm_rows > 0) {
            uint64_t a = (s - s0) * sm_step, e = a + sm_step, n = (uint64_t)op->sm_rows;
            a = a < n ? a : n;
            e = e < n ? e : n;
            sm = softmax_c(m, e - a, (uint64_t)op->sm_cols);
        }
        if (op->xp) {
            uint64_t a = (s - s0) * xp_step, e = a + xp_step, n = (uint64_t)op->xp_rows, beats;
            a = a < n ? a : n;
            e = e < n ? e : n;
            beats = (e - a) * ceil_div(n, 16);
            c->trips[op->xp == 1 ? VK_L_P_SPILL : VK_L_P_FILL] += beats;
            c->ddr_bytes += 16 * beats;
            xp = pl(beats, 1, dp + (uint64_t)hw->axi_latency);
        }
        if (nx && s == n_steps - 1) /* the next op's weights, beside the drain */
            ld = ld > 0 ? ld : pre_c(m, nx);
        rest = eng > epi ? eng : epi;
        rest = rest > xp ? rest : xp; /* a spill or fill that outlasts the op: the op's */
        if (ld > rest && ld >= sm)
            c->load_stall += ld - (rest > sm ? rest : sm);
        rest = rest > ld ? rest : ld;
        c->cycles += (rest > sm ? rest : sm) + (uint64_t)hw->step_overhead;
        c->stage_cycles[op->st] += rest + (uint64_t)hw->step_overhead;
        if (sm > rest)
            c->stage_cycles[VK_STAGE_SOFTMAX] += sm - rest;
    }
}

/* vk_k_layernorm's cycles (rows tokens). */
static uint64_t layernorm_c(vk_cy *m, uint64_t rows)
{
    uint64_t dp = (uint64_t)m->hw->pipeline_depth, n_out = rows * ceil_div((uint64_t)m->d->dim,
                                                                            VK_LN_LANES);
    m->c->trips[VK_L_LN_PREP] += rows;
    m->c->trips[VK_L_LN_OUT] += n_out;
    m->c->sram_bytes += rows * (uint64_t)m->d->dim * (4 + 1);
    return pl(rows, 1, 32 + (uint64_t)m->hw->div_cycles) + pl(n_out, 1, dp);
}

/* vk_k_prune's cycles (t tokens in). */
static uint64_t prune_c(vk_cy *m, uint64_t t)
{
    uint64_t n = t - (uint64_t)m->d->prefix, dp = (uint64_t)m->hw->pipeline_depth;
    uint64_t rank = n * VK_TILES(n), move = n * ceil_div((uint64_t)m->d->dim, 16);
    m->c->trips[VK_L_PRUNE_SCORE] += n;
    m->c->trips[VK_L_PRUNE_RANK] += rank;
    m->c->trips[VK_L_PRUNE_MOVE] += move;
    return pl(n, 1, dp) + pl(rank, 1, dp) + pl(move, 1, dp);
}

/* vk_k_run_ops: each DDR op's first steps beside the op before it. */
static void run_list(vk_cy *m, const vk_cy_list *l)
{
    for (int i = 0; i < l->n; i++) {
        const vk_cy_op *op = &l->op[i];
        const vk_cy_op *nx = i + 1 < l->n && prefetchable(&l->op[i + 1]) ? &l->op[i + 1] : NULL;
        int pre = i > 0 && prefetchable(op);
        if (op->kind == CY_GEMM) {
            gemm(m, op, pre, nx);
        } else {
            uint64_t own = op->kind == CY_LN ? layernorm_c(m, (uint64_t)op->rows)
                                             : prune_c(m, (uint64_t)op->rows);
            uint64_t side = nx ? pre_c(m, nx) : 0;
            extra(m, own, op->st);
            if (side > own) {
                extra(m, side - own, nx->st);
                m->c->load_stall += side - own;
            }
        }
    }
}

static void attention(vk_cy *m, vk_cy_list *L, uint32_t attn, uint64_t t, int32_t n_sets,
                      int spill)
{
    const vk_cycles_dims *d = m->d;
    uint64_t dd = (uint64_t)d->dim, dh = (uint64_t)m->dh, nh = (uint64_t)d->heads, hd;
    uint64_t part = t * 5 / 8;
    vk_cy_op *op;
    if (attn == VK_ATTN_FULL) {
        op = push(L, CY_GEMM, VK_STAGE_QKV, (int64_t)t, 0, 3 * (int64_t)dd, (int64_t)dd, 1);
        op->macs = t * 3 * dd * dd;
        for (hd = 0; hd <= nh; hd++) {
            if (hd < nh) {
                op = push(L, CY_GEMM, VK_STAGE_QK, (int64_t)t, 0, (int64_t)t, (int64_t)dh, 0);
                op->scores = 1;
                op->sm_cols = (int64_t)t;
                op->sm_rows = hd == 1 ? (int64_t)t : hd > 1 ? (int64_t)(t - part) : 0;
                op->macs = t * t * dh;
            }
            if (hd == 0 && nh == 1) { /* an op of no tiles, the softmax beside it */
                op = push(L, CY_GEMM, VK_STAGE_SOFTMAX, (int64_t)t, 0, 0, 0, 0);
                op->sm_rows = op->sm_cols = (int64_t)t;
            }
            if (hd >= 1) {
                op = push(L, CY_GEMM, VK_STAGE_AV, (int64_t)t, 0, (int64_t)dh, (int64_t)t, 0);
                op->sm_cols = (int64_t)t;
                op->sm_rows = hd < nh ? (int64_t)(hd < nh - 1 ? part : t) : 0;
                if (spill) {
                    op->xp = 1;
                    op->xp_rows = (int64_t)t;
                }
                op->macs = t * dh * t;
            }
        }
        return;
    }
    if (attn == VK_ATTN_SHARED) {
        op = push(L, CY_GEMM, VK_STAGE_QKV, (int64_t)t, 0, 2 * (int64_t)dh, (int64_t)dd, 1);
        op->macs = t * 2 * dh * dd;
        op = push(L, CY_GEMM, VK_STAGE_QK, (int64_t)t, 0, (int64_t)t, (int64_t)dh, 0);
        op->scores = 1;
        op->macs = t * t * dh;
    }
    op = push(L, CY_GEMM, VK_STAGE_QKV, (int64_t)t, 2 * (int64_t)dd, 3 * (int64_t)dd,
              (int64_t)dd, 1);
    op->macs = t * dd * dd;
    if (attn == VK_ATTN_SHARED) {
        op->sm_rows = (int64_t)t;
        op->sm_cols = (int64_t)t;
    } else { /* reuse: the first set comes in beside V */
        op->xp = 2;
        op->xp_rows = (int64_t)t;
    }
    for (hd = 0; hd < nh; hd++) {
        op = push(L, CY_GEMM, VK_STAGE_AV, (int64_t)t, 0, (int64_t)dh, (int64_t)t, 0);
        if (attn == VK_ATTN_REUSE && n_sets > 1 && hd + 1 < nh)
            op->xp = 2;
        if (attn == VK_ATTN_SHARED && spill && hd == 0)
            op->xp = 1;
        op->xp_rows = (int64_t)t;
        op->macs = t * dh * t;
    }
}

/* Which encoders' probabilities a later reuse reads (vk_k_check_modes). */
static void spills(const uint32_t *modes, int start, int n_layers, int *spill)
{
    int src = -1;
    for (int l = 0; l < VK_MAX_LAYERS; l++)
        spill[l] = 0;
    for (int l = start; l < n_layers; l++) {
        uint32_t a = VK_MODE_ATTN(modes[l]);
        if (a == VK_ATTN_REUSE && src >= 0)
            spill[src] = 1;
        if (a == VK_ATTN_FULL || a == VK_ATTN_SHARED)
            src = l;
        if (VK_MODE_PRUNES(modes[l]))
            src = -1;
    }
}

int32_t vk_cycles_tokens_after(const vk_cycles_dims *d, const uint32_t *modes, int from,
                               int upto, int32_t tokens)
{
    for (int l = from; l < upto && l < d->layers; l++) {
        if (VK_MODE_ATTN(modes[l]) != VK_ATTN_SKIP && VK_MODE_PRUNES(modes[l]))
            tokens = d->prefix + vk_keep_count(tokens - d->prefix, (int32_t)VK_MODE_KEEP(modes[l]));
    }
    return tokens;
}

int32_t vk_cycles_run(const vk_cycles_hw *hw, const vk_cycles_dims *d, const uint32_t *modes,
                      int start, int save, int32_t tokens_in, vk_cycles_count *c)
{
    vk_cy m = {hw, d, c, d->dim / d->heads, (int32_t)VK_PAD64(d->dim)};
    vk_layout lay;
    vk_cy_list L;
    uint64_t t, dd = (uint64_t)d->dim, k = (uint64_t)d->classes;
    uint64_t g = (uint64_t)(d->image / d->patch), dp = (uint64_t)hw->pipeline_depth;
    int spill[VK_MAX_LAYERS], l;
    int32_t n_sets = 0;
    vk_cy_op *op;

    memset(c, 0, sizeof *c);
    vk_layout_compute(&lay, (uint32_t)d->channels, (uint32_t)d->patch, (uint32_t)d->dim,
                      (uint32_t)d->layers, (uint32_t)d->mlp, (uint32_t)d->classes,
                      (uint32_t)d->tokens, (uint32_t)d->heads, (uint32_t)d->prefix);
    ddr_loop(&m, VK_L_HDR_LOAD, VK_HDR_WORDS / 4, 4 * VK_HDR_WORDS, VK_STAGE_EMBED);
    extra(&m, VK_MAX_LAYERS + dp, VK_STAGE_EMBED); /* mode_check: every slot */
    c->trips[VK_L_MODE_CHECK] += (uint64_t)(d->layers - start);
    spills(modes, start, d->layers, spill);
    if (start == 0) {
        /* the tokens into h and the image into the patch rows: independent
           memories and ports, side by side */
        uint64_t pd = (uint64_t)(d->channels * d->patch * d->patch), side = (uint64_t)d->image;
        uint64_t ii = d->patch >= 16 ? 1 : ceil_div(16, (uint64_t)d->patch);
        uint64_t n_tok = ceil_div((uint64_t)d->tokens * dd, 4);
        uint64_t n_img = (uint64_t)d->channels * side * ceil_div(side, 16);
        uint64_t lat = dp + (uint64_t)hw->axi_latency, a = pl(n_tok, 1, lat);
        uint64_t b = side + dp + pl(n_img, ii, lat);
        t = (uint64_t)d->tokens;
        c->trips[VK_L_TOK_INIT] += n_tok;
        c->trips[VK_L_IMG_GATHER] += n_img;
        c->ddr_bytes += 4 * t * dd + (uint64_t)d->channels * side * side;
        extra(&m, a > b ? a : b, VK_STAGE_EMBED);
        par_load(&m, lay.tok0 - lay.patch_b, VK_STAGE_EMBED);
        L.n = 0;
        op = push(&L, CY_GEMM, VK_STAGE_EMBED, (int64_t)(g * g), 0, (int64_t)dd, (int64_t)pd, 1);
        op->macs = g * g * dd * pd;
        run_list(&m, &L);
    } else {
        t = (uint64_t)(tokens_in > 0 ? tokens_in : d->tokens);
        ddr_loop(&m, VK_L_ACT_LOAD, ceil_div(t * dd, 4), 4 * (t * dd + 1), VK_STAGE_EMBED);
    }
    for (l = start; l < d->layers; l++) {
        uint32_t w = modes[l], attn = VK_MODE_ATTN(w);
        uint64_t m_keep = (uint64_t)vk_ffn_keep(d->mlp, (int32_t)VK_MODE_FFN(w));
        if (l == save && save > 0)
            ddr_loop(&m, VK_L_ACT_SAVE, ceil_div(t * dd, 4), 4 * (t * dd + 1), VK_STAGE_EMBED);
        par_load(&m, lay.layer_p_n, VK_STAGE_LN);
        L.n = 0;
        if (attn != VK_ATTN_SKIP) {
            push(&L, CY_LN, VK_STAGE_LN, (int64_t)t, 0, 0, 0, 0);
            attention(&m, &L, attn, t, n_sets, spill[l]);
            if (attn == VK_ATTN_FULL)
                n_sets = d->heads;
            else if (attn == VK_ATTN_SHARED)
                n_sets = 1;
            op = push(&L, CY_GEMM, VK_STAGE_PROJ, (int64_t)t, 0, (int64_t)dd, (int64_t)dd, 1);
            op->macs = t * dd * dd;
            if (VK_MODE_PRUNES(w)) {
                op = push(&L, CY_PRUNE, VK_STAGE_PRUNE, (int64_t)t, 0, 0, 0, 0);
                op->keep = VK_MODE_KEEP(w);
                t = (uint64_t)d->prefix +
                    (uint64_t)vk_keep_count((int32_t)(t - (uint64_t)d->prefix), (int32_t)op->keep);
            }
        }
        push(&L, CY_LN, VK_STAGE_LN, (int64_t)t, 0, 0, 0, 0);
        op = push(&L, CY_GEMM, VK_STAGE_MLP, (int64_t)t, 0, (int64_t)m_keep, (int64_t)dd, 1);
        op->macs = t * m_keep * dd;
        op = push(&L, CY_GEMM, VK_STAGE_MLP, (int64_t)t, 0, (int64_t)dd, (int64_t)m_keep, 1);
        op->macs = t * dd * m_keep;
        run_list(&m, &L);
    }
    if (save == d->layers && save > 0)
        ddr_loop(&m, VK_L_ACT_SAVE, ceil_div(t * dd, 4), 4 * (t * dd + 1), VK_STAGE_EMBED);
    par_load(&m, lay.par_n - lay.lnf_g, VK_STAGE_HEAD);
    L.n = 0;
    push(&L, CY_LN, VK_STAGE_HEAD, d->prefix, 0, 0, 0, 0);
    for (int hd = 0; hd < d->prefix; hd++) {
        op = push(&L, CY_GEMM, VK_STAGE_HEAD, 1, 0, (int64_t)k, (int64_t)dd, 1);
        op->macs = k * dd;
    }
    run_list(&m, &L);
    alone(&m, VK_L_ARGMAX, k - 1, 1, dp, VK_STAGE_HEAD);
    alone(&m, VK_L_ENT_MAX, k - 1, 1, dp, VK_STAGE_HEAD);
    alone(&m, VK_L_ENT_SUM, k, 1, dp, VK_STAGE_HEAD);
    alone(&m, VK_L_LOG2_MSB, 63, 1, 0, VK_STAGE_HEAD);
    ddr_loop(&m, VK_L_OUT_LOGITS, k, 4 * (k + VK_OUT_LOGITS), VK_STAGE_HEAD);
    return (int32_t)t;
}

double vk_cycles_ms(const vk_cycles_hw *hw, double cycles)
{
    return cycles / (hw->clock_mhz * 1e3);
}

double vk_cycles_mj(const vk_cycles_hw *hw, const vk_cycles_count *c)
{
    double dyn_pj = hw->pj_per_mac * (double)c->macs_issued +
                    hw->pj_per_ddr_byte * (double)c->ddr_bytes +
                    hw->pj_per_sram_byte * (double)c->sram_bytes;
    return hw->static_power_w * vk_cycles_ms(hw, (double)c->cycles) + dyn_pj * 1e-9;
}

double vk_cycles_roofline_ms(const vk_cycles_hw *hw, const vk_cycles_count *c)
{
    double ddr_bpc = hw->ddr_bandwidth_gbs * 1e3 / hw->clock_mhz;
    double port_bpc = (double)hw->weight_ports * hw->axi_port_bits / 8.0;
    double compute = (double)c->macs / ((double)hw->engine_pe * hw->engine_lanes);
    double weights = (double)c->wt_bytes / (ddr_bpc < port_bpc ? ddr_bpc : port_bpc);
    return vk_cycles_ms(hw, compute > weights ? compute : weights);
}

void vk_cycles_note(const vk_cycles_hw *hw, char *buf, size_t len)
{
    snprintf(buf, len,
             "modeled: %.40s @ %g MHz, one %dx%d int8 GEMM engine, %dx%d-bit weight ports, "
             "DDR %g GB/s (derated)",
             hw->board, hw->clock_mhz, hw->engine_pe, hw->engine_lanes, hw->weight_ports,
             hw->axi_port_bits, hw->ddr_bandwidth_gbs);
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
    vk_cycles_run(hw, d, req->modes, 0, cascade ? req->resume : 0, 0, &low);
    memset(&hi, 0, sizeof hi);
    if (cascade) {
        int32_t t_in = vk_cycles_tokens_after(d, req->modes_high, 0, req->resume, d->tokens);
        vk_cycles_run(hw, d, req->modes_high, req->resume, 0, t_in, &hi);
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
    vk_cycles_run(hw, d, full, 0, 0, 0, &all);
    out->macs_skipped =
        mean_macs < (double)all.macs ? (uint64_t)llround((double)all.macs - mean_macs) : 0;
    for (k = 0; k <= d->layers; k++) {
        vk_cycles_count s;
        vk_cycles_run(hw, d, resumer, k, 0,
                      vk_cycles_tokens_after(d, resumer, 0, k, d->tokens), &s);
        out->suffix_ms[k] = vk_cycles_ms(hw, (double)s.cycles);
        out->suffix_mj[k] = vk_cycles_mj(hw, &s);
    }
}
