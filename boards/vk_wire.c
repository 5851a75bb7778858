/* vk_wire: the agent protocol's messages (see vk_wire.h). */
#include "vk_wire.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VK_WIRE_STR_(x) #x
#define VK_WIRE_STR(x) VK_WIRE_STR_(x)

int vk_wire_is_id(const char *s)
{
    size_t i;
    for (i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[64] == 0;
}

/* An integral JSON number in [lo, hi]. */
static int json_int(const cJSON *v, double lo, double hi, int64_t *out)
{
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo ||
        v->valuedouble > hi)
        return 0;
    *out = (int64_t)v->valuedouble;
    return 1;
}

/* A JSON array of 1..VK_MAX_LAYERS u32 values; *n gets the count. */
static int json_u32s(const cJSON *v, uint32_t *out, int *n)
{
    int i = 0;
    const cJSON *e;
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) < 1 || cJSON_GetArraySize(v) > VK_MAX_LAYERS)
        return 0;
    cJSON_ArrayForEach(e, v)
    {
        int64_t x;
        if (!json_int(e, 0, 4294967295.0, &x))
            return 0;
        out[i++] = (uint32_t)x;
    }
    *n = i;
    return 1;
}

static cJSON *u32_array(const uint32_t *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

/* ---- measure request ----------------------------------------------------- */

char *vk_wire_measure_req_encode(const vk_wire_measure_req *q)
{
    cJSON *o = cJSON_CreateObject();
    char *s;
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "model", q->model);
    cJSON_AddStringToObject(o, "dataset", q->dataset);
    cJSON_AddNumberToObject(o, "n", q->n);
    cJSON_AddItemToObject(o, "modes", u32_array(q->modes, q->n_modes));
    if (q->cascade) {
        cJSON_AddItemToObject(o, "modes_high", u32_array(q->modes_high, q->n_modes));
        cJSON_AddNumberToObject(o, "threshold_q16", q->threshold_q16);
        cJSON_AddNumberToObject(o, "resume", q->resume);
    }
    s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

int vk_wire_measure_req_decode(const char *body, size_t len, vk_wire_measure_req *q, char *bad,
                               size_t bad_n)
{
    static const char *fields[] = {"model",      "dataset",       "n",     "modes",
                                   "modes_high", "threshold_q16", "resume"};
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(body, len, &end, 0), *e;
    const cJSON *jm, *jd, *jhigh, *v;
    vk_wire_measure_req r;
    int64_t x;
    int n_high = 0;
    const char *field = NULL, *why = NULL;

    memset(&r, 0, sizeof r);
    if (!j) {
        snprintf(bad, bad_n, "body: not valid JSON (near byte %zu)",
                 end ? (size_t)(end - body) : (size_t)0);
        return 0;
    }
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        snprintf(bad, bad_n, "body: must be a JSON object");
        return 0;
    }
    cJSON_ArrayForEach(e, j)
    {
        size_t f;
        for (f = 0; f < sizeof fields / sizeof fields[0]; f++)
            if (e->string && !strcmp(e->string, fields[f]))
                break;
        if (f == sizeof fields / sizeof fields[0]) {
            snprintf(bad, bad_n, "%.40s: unknown field", e->string ? e->string : "");
            cJSON_Delete(j);
            return 0;
        }
    }
    jm = cJSON_GetObjectItemCaseSensitive(j, "model");
    jd = cJSON_GetObjectItemCaseSensitive(j, "dataset");
    jhigh = cJSON_GetObjectItemCaseSensitive(j, "modes_high");
    if (!cJSON_IsString(jm) || !vk_wire_is_id(jm->valuestring))
        field = "model", why = "a model id (64 lower-case hex digits)";
    else if (!cJSON_IsString(jd) || !vk_wire_is_id(jd->valuestring))
        field = "dataset", why = "a dataset id (64 lower-case hex digits)";
    else if (!json_int(cJSON_GetObjectItemCaseSensitive(j, "n"), 1, INT32_MAX, &x))
        field = "n", why = "an integer >= 1";
    else if (!json_u32s(cJSON_GetObjectItemCaseSensitive(j, "modes"), r.modes, &r.n_modes))
        field = "modes", why = "an array of 1 to " VK_WIRE_STR(VK_MAX_LAYERS) " mode words (u32)";
    else if (jhigh && !cJSON_IsNull(jhigh) &&
             (!json_u32s(jhigh, r.modes_high, &n_high) || n_high != r.n_modes))
        field = "modes_high", why = "null or as many mode words (u32) as modes";
    else if ((v = cJSON_GetObjectItemCaseSensitive(j, "threshold_q16")) &&
             !json_int(v, INT32_MIN, INT32_MAX, &(int64_t){0}))
        field = "threshold_q16", why = "a 32-bit integer";
    else if ((v = cJSON_GetObjectItemCaseSensitive(j, "resume")) &&
             !json_int(v, 0, VK_MAX_LAYERS, &(int64_t){0}))
        field = "resume", why = "an integer in 0.." VK_WIRE_STR(VK_MAX_LAYERS);
    if (field) {
        snprintf(bad, bad_n, "%s: must be %s", field, why);
        cJSON_Delete(j);
        return 0;
    }
    memcpy(r.model, jm->valuestring, 65);
    memcpy(r.dataset, jd->valuestring, 65);
    r.n = (int)x;
    r.cascade = jhigh && !cJSON_IsNull(jhigh);
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "threshold_q16")))
        r.threshold_q16 = (int32_t)v->valuedouble;
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "resume")))
        r.resume = (int32_t)v->valuedouble;
    cJSON_Delete(j);
    *q = r;
    return 1;
}

/* ---- measure answer ------------------------------------------------------ */

/* A double written with 17 significant digits, so that the client reads
 * back the same bits (cJSON's own printing may drop the last one); null
 * when not finite. */
static cJSON *exact(double v)
{
    char s[40];
    if (!isfinite(v))
        return cJSON_CreateNull();
    snprintf(s, sizeof s, "%.17g", v);
    return cJSON_CreateRaw(s);
}

static void add_exact(cJSON *o, const char *k, double v)
{
    cJSON_AddItemToObject(o, k, exact(v));
}

static void add_u64(cJSON *o, const char *k, uint64_t v)
{
    cJSON_AddNumberToObject(o, k, (double)v);
}

char *vk_wire_measure_ans_encode(const char *board, const vk_measure *m,
                                 const vk_img_result *res, int n, int n_layers, double ms)
{
    cJSON *o = cJSON_CreateObject(), *sc, *rs, *cls, *ent, *esc, *sms, *smj;
    char *s;
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "board", board);
    cJSON_AddNumberToObject(o, "n_images", m->n_images);
    add_exact(o, "latency_ms", m->latency_ms);
    add_exact(o, "latency_p10_ms", m->latency_p10_ms);
    add_exact(o, "latency_p90_ms", m->latency_p90_ms);
    cJSON_AddStringToObject(o, "latency_src", vk_source_str(m->latency_src));
    add_exact(o, "energy_mj", m->energy_mj);
    cJSON_AddStringToObject(o, "energy_src", vk_source_str(m->energy_src));
    cJSON_AddStringToObject(o, "note", m->note);
    sms = cJSON_AddArrayToObject(o, "suffix_ms");
    smj = cJSON_AddArrayToObject(o, "suffix_mj");
    for (int k = 0; k <= n_layers; k++) {
        cJSON_AddItemToArray(sms, exact(m->suffix_ms[k]));
        cJSON_AddItemToArray(smj, exact(m->suffix_mj[k]));
    }
    add_u64(o, "cycles", m->cycles);
    add_u64(o, "ddr_bytes", m->ddr_bytes);
    add_u64(o, "macs", m->macs);
    add_u64(o, "macs_skipped", m->macs_skipped);
    sc = cJSON_AddObjectToObject(o, "stage_cycles");
    for (int k = 0; k < VK_STAGE_N; k++)
        add_u64(sc, vk_stage_str((vk_stage)k), m->stage_cycles[k]);
    cJSON_AddNumberToObject(o, "n_escalated", m->n_escalated);
    rs = cJSON_AddObjectToObject(o, "results");
    cls = cJSON_AddArrayToObject(rs, "cls");
    ent = cJSON_AddArrayToObject(rs, "entropy_q16");
    esc = cJSON_AddArrayToObject(rs, "escalated");
    for (int i = 0; i < n; i++) {
        cJSON_AddItemToArray(cls, cJSON_CreateNumber(res[i].cls));
        cJSON_AddItemToArray(ent, cJSON_CreateNumber(res[i].entropy_q16));
        cJSON_AddItemToArray(esc, cJSON_CreateNumber(res[i].escalated));
    }
    cJSON_AddNumberToObject(o, "ms", ms);
    s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

typedef struct {
    char *bad; /* the first field that failed */
    size_t bad_n;
} checker;

static const cJSON *field(checker *c, const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!v && !c->bad[0])
        snprintf(c->bad, c->bad_n, "%s (missing)", name);
    return v;
}

static double num(checker *c, const cJSON *o, const char *name)
{
    const cJSON *v = field(c, o, name);
    if (v && (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))) {
        if (!c->bad[0])
            snprintf(c->bad, c->bad_n, "%s (not a finite number)", name);
        return 0;
    }
    return v ? v->valuedouble : 0;
}

/* A finite number in [0, max]. */
static double figure(checker *c, const cJSON *o, const char *name, double max)
{
    double v = num(c, o, name);
    if (!(v >= 0 && v <= max)) {
        if (!c->bad[0])
            snprintf(c->bad, c->bad_n, "%s (out of range 0..%g)", name, max);
        return 0;
    }
    return v;
}

/* An integer in [lo, hi]. */
static int64_t integer(checker *c, const cJSON *o, const char *name, double lo, double hi)
{
    double v = num(c, o, name);
    if (v != floor(v) || v < lo || v > hi) {
        if (!c->bad[0])
            snprintf(c->bad, c->bad_n, "%s (not an integer in %.0f..%.0f)", name, lo, hi);
        return 0;
    }
    return (int64_t)v;
}

static vk_source source(checker *c, const cJSON *o, const char *name)
{
    const cJSON *v = field(c, o, name);
    if (cJSON_IsString(v)) {
        if (!strcmp(v->valuestring, "measured"))
            return VK_SRC_MEASURED;
        if (!strcmp(v->valuestring, "modeled"))
            return VK_SRC_MODELED;
        if (!strcmp(v->valuestring, "none"))
            return VK_SRC_NONE;
    }
    if (v && !c->bad[0])
        snprintf(c->bad, c->bad_n, "%s (expected measured, modeled or none)", name);
    return VK_SRC_NONE;
}

/* An array of exactly n elements. */
static const cJSON *array(checker *c, const cJSON *o, const char *name, int n)
{
    const cJSON *v = field(c, o, name);
    if (v && (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != n)) {
        if (!c->bad[0])
            snprintf(c->bad, c->bad_n, "%s (expected an array of %d)", name, n);
        return NULL;
    }
    return v;
}

#define TWO53 9007199254740992.0

int vk_wire_measure_ans_decode(const char *body, size_t len, const char *board, int n,
                               int n_layers, int n_classes, int cascade, vk_img_result *res,
                               vk_measure *out, char *bad, size_t bad_n)
{
    cJSON *j = cJSON_ParseWithLength(body ? body : "", body ? len : 0);
    checker c = {bad, bad_n};
    vk_measure m;
    vk_img_result *tmp;
    const cJSON *a, *e, *sc, *rs, *cls, *ent, *esc;
    int i, sum = 0;

    bad[0] = 0;
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        snprintf(bad, bad_n, "body (not a JSON object)");
        return 0;
    }
    if (n < 1 || n_layers < 1 || n_layers > VK_MAX_LAYERS ||
        !(tmp = calloc((size_t)n, sizeof *tmp))) {
        cJSON_Delete(j);
        snprintf(bad, bad_n, "(out of memory, or no images)");
        return 0;
    }
    memset(&m, 0, sizeof m);
    a = cJSON_GetObjectItemCaseSensitive(j, "board");
    if (!cJSON_IsString(a) || strcmp(a->valuestring, board))
        snprintf(bad, bad_n,
                 "board (expected \"%.160s\", the identity of the board opened: the "
                 "agent now serves another board)",
                 board);
    m.n_images = (int)integer(&c, j, "n_images", n, n);
    m.latency_ms = figure(&c, j, "latency_ms", VK_WIRE_MAX_MS);
    m.latency_p10_ms = figure(&c, j, "latency_p10_ms", VK_WIRE_MAX_MS);
    m.latency_p90_ms = figure(&c, j, "latency_p90_ms", VK_WIRE_MAX_MS);
    m.latency_src = source(&c, j, "latency_src");
    m.energy_mj = figure(&c, j, "energy_mj", VK_WIRE_MAX_MJ);
    m.energy_src = source(&c, j, "energy_src");
    if ((a = array(&c, j, "suffix_ms", n_layers + 1)) != NULL) {
        i = 0;
        cJSON_ArrayForEach(e, a) m.suffix_ms[i++] = cJSON_IsNumber(e) ? e->valuedouble : NAN;
    }
    if ((a = array(&c, j, "suffix_mj", n_layers + 1)) != NULL) {
        i = 0;
        cJSON_ArrayForEach(e, a) m.suffix_mj[i++] = cJSON_IsNumber(e) ? e->valuedouble : NAN;
    }
    for (i = 0; i <= n_layers && !bad[0]; i++)
        if (!isfinite(m.suffix_ms[i]) || !isfinite(m.suffix_mj[i]))
            snprintf(bad, bad_n, "suffix_ms/suffix_mj[%d] (not a finite number)", i);
        else if (!(m.suffix_ms[i] >= 0 && m.suffix_ms[i] <= VK_WIRE_MAX_MS))
            snprintf(bad, bad_n, "suffix_ms[%d] (out of range 0..%g)", i, VK_WIRE_MAX_MS);
        else if (!(m.suffix_mj[i] >= 0 && m.suffix_mj[i] <= VK_WIRE_MAX_MJ))
            snprintf(bad, bad_n, "suffix_mj[%d] (out of range 0..%g)", i, VK_WIRE_MAX_MJ);
    m.cycles = (uint64_t)integer(&c, j, "cycles", 0, TWO53);
    m.ddr_bytes = (uint64_t)integer(&c, j, "ddr_bytes", 0, TWO53);
    m.macs = (uint64_t)integer(&c, j, "macs", 0, TWO53);
    m.macs_skipped = (uint64_t)integer(&c, j, "macs_skipped", 0, TWO53);
    sc = field(&c, j, "stage_cycles");
    for (i = 0; sc && i < VK_STAGE_N; i++)
        m.stage_cycles[i] = (uint64_t)integer(&c, sc, vk_stage_str((vk_stage)i), 0, TWO53);
    m.n_escalated = (int)integer(&c, j, "n_escalated", 0, n);
    e = field(&c, j, "note");
    if (e && !cJSON_IsString(e) && !bad[0])
        snprintf(bad, bad_n, "note (not a string)");
    else if (cJSON_IsString(e))
        snprintf(m.note, sizeof m.note, "%s", e->valuestring);
    rs = field(&c, j, "results");
    cls = array(&c, rs, "cls", n);
    ent = array(&c, rs, "entropy_q16", n);
    esc = array(&c, rs, "escalated", n);
    if (cls && ent && esc) {
        const cJSON *x = cls->child, *y = ent->child, *z = esc->child;
        for (i = 0; i < n && !bad[0]; i++, x = x->next, y = y->next, z = z->next) {
            double vc = cJSON_IsNumber(x) ? x->valuedouble : -1;
            double ve = cJSON_IsNumber(y) ? y->valuedouble : NAN;
            double vz = cJSON_IsNumber(z) ? z->valuedouble : -1;
            if (vc != floor(vc) || vc < 0 || vc >= n_classes)
                snprintf(bad, bad_n, "results.cls[%d] (not a class of the model)", i);
            else if (!(ve == floor(ve) && ve >= INT32_MIN && ve <= INT32_MAX))
                snprintf(bad, bad_n, "results.entropy_q16[%d] (not an int32)", i);
            else if (!(vz == 0 || (vz == 1 && cascade)))
                snprintf(bad, bad_n, "results.escalated[%d] (expected 0%s)", i,
                         cascade ? " or 1" : " for a single path");
            tmp[i].cls = (int32_t)vc;
            tmp[i].entropy_q16 = (int32_t)ve;
            tmp[i].escalated = (uint8_t)vz;
            sum += tmp[i].escalated;
        }
    }
    if (!bad[0] && sum != m.n_escalated)
        snprintf(bad, bad_n, "n_escalated (%d, but %d images are flagged)", m.n_escalated, sum);
    cJSON_Delete(j);
    if (bad[0]) {
        free(tmp);
        return 0;
    }
    memcpy(res, tmp, (size_t)n * sizeof *res);
    *out = m;
    free(tmp);
    return 1;
}

/* ---- dataset upload ------------------------------------------------------ */

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void vk_wire_dataset_header(uint8_t hdr[VK_WIRE_DS_HDR], uint32_t n, uint32_t img_n)
{
    memcpy(hdr, VK_WIRE_DS_MAGIC, 8);
    wr32(hdr + 8, n);
    wr32(hdr + 12, img_n);
}

int vk_wire_dataset_header_read(const uint8_t hdr[VK_WIRE_DS_HDR], uint32_t *n, uint32_t *img_n)
{
    if (memcmp(hdr, VK_WIRE_DS_MAGIC, 8))
        return 0;
    *n = rd32(hdr + 8);
    *img_n = rd32(hdr + 12);
    return *n >= 1 && *img_n >= 1;
}
