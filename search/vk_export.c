/* vk_export: skip tables as a C header or JSON, and back (see vk_export.h). */
#include "vk_export.h"

#include <cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends formatted text to a growing buffer. */
typedef struct {
    char *s;
    size_t n, cap;
    int oom;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int k;
    if (b->oom)
        return;
    for (;;) {
        va_start(ap, fmt);
        k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->oom = 1;
            return;
        }
        if (b->s && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = (b->cap + (size_t)k + 256) * 2;
        char *ns = realloc(b->s, cap);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
}

#define DEFAULT_NAME "vk_skip"

int vk_export_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n > 31 || (n && !isalpha((unsigned char)name[0]) && name[0] != '_'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '_')
            return 0;
    return 1;
}

/* A figure's source, only from the known words (it is written into C). */
static const char *src_word(const char *s)
{
    return !strcmp(s, "measured") ? "measured" : !strcmp(s, "modeled") ? "modeled" : "";
}

static void put_modes(sbuf *b, const char *name, const char *suffix, const vk_genome *g, int n)
{
    char txt[VK_GENOME_TEXT_MAX], what[80];
    vk_genome_format(g, n, txt);
    put(b, "/* genome %s: per encoder, the kernel's mode word (vk_config.h) */\n", txt);
    put(b, "static const uint32_t %s_%s[%d] VITSKIP_UNUSED = {\n", name, suffix, n);
    for (int i = 0; i < n; i++) {
        vk_gene_describe(g->modes[i], what, sizeof what);
        put(b, "    0x%08xu, /* encoder %d: %s */\n", (unsigned)g->modes[i], i, what);
    }
    put(b, "};\n");
}

/* Whether s is at most 64 lower-case hex digits (a SHA-256 or a prefix). */
static int is_hex(const char *s)
{
    size_t n = strspn(s, "0123456789abcdef");
    return n <= 64 && s[n] == 0;
}

/* "#define U_MACRO 1.25" (a double literal) and "#define U_SRCMACRO
 * \"modeled\"" when src is known; a comment instead when v is unknown. */
static void put_figure(sbuf *b, const char *u, const char *macro, double v,
                       const char *srcmacro, const char *src, const char *what)
{
    char num[48];
    if (isnan(v)) {
        put(b, "/* %s_%s: no %s figure */\n", u, macro, what);
        return;
    }
    snprintf(num, sizeof num, "%.10g", v);
    if (!strpbrk(num, ".eEn"))
        strcat(num, ".0");
    put(b, "#define %s_%s %s /* %s */\n", u, macro, num, what);
    if (srcmacro && *src_word(src))
        put(b, "#define %s_%s \"%s\"\n", u, srcmacro, src_word(src));
}

char *vk_export_header(const vk_skip_table *t)
{
    sbuf b = {0};
    const char *name = t->name[0] ? t->name : DEFAULT_NAME;
    char u[32], comment[sizeof t->comment];
    size_t i;
    /* nothing but printable text inside the comment, and no end of it */
    snprintf(comment, sizeof comment, "%s", t->comment[0] ? t->comment : "exported by vitskip");
    for (char *c = comment; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f || (c[0] == '*' && c[1] == '/'))
            *c = ' ';
    if (t->n_layers < 1 || t->n_layers > VK_MAX_LAYERS || !is_hex(t->model_hash) ||
        !is_hex(t->ckpt_hash) || !vk_export_name_ok(t->name))
        return NULL;
    for (i = 0; name[i]; i++)
        u[i] = (char)toupper((unsigned char)name[i]);
    u[i] = 0;
    put(&b, "/* vitskip skip table (format vitskip-skip-table, version 1, name %s).\n", name);
    put(&b, " * %s\n */\n", comment);
    put(&b, "/* shared by every vitskip table: a unit may read only some of the arrays */\n"
            "#ifndef VITSKIP_UNUSED\n#if defined(__GNUC__) || defined(__clang__)\n"
            "#define VITSKIP_UNUSED __attribute__((unused))\n#else\n#define VITSKIP_UNUSED\n"
            "#endif\n#endif\n\n");
    put(&b, "#ifndef %s_TABLE_H\n#define %s_TABLE_H\n\n#include <stdint.h>\n\n", u, u);
    put(&b, "/* the blob (the int8 model the table was measured with): SHA-256 of its\n"
            "   file, which `vitskip quantize` writes; `sha256sum FILE.vkq` prints it */\n");
    put(&b, "#define %s_MODEL_SHA256 \"%s\"\n", u, t->model_hash);
    if (t->ckpt_hash[0]) {
        put(&b, "/* the checkpoint the blob was calibrated from: SHA-256 of its weights file */\n");
        put(&b, "#define %s_CHECKPOINT_SHA256 \"%s\"\n", u, t->ckpt_hash);
    }
    put(&b, "#define %s_N_LAYERS %d\n", u, t->n_layers);
    put(&b, "#define %s_CASCADE %d\n", u, t->kind_cascade);
    put_figure(&b, u, "TOP1", t->top1, NULL, "",
               "top-1 in percent; the comment above says on which images");
    put_figure(&b, u, "LATENCY_MS", t->latency_ms, "LATENCY_SOURCE", t->latency_src,
               t->kind_cascade ? "expected latency per image, ms" : "latency per image, ms");
    put_figure(&b, u, "ENERGY_MJ", t->energy_mj, "ENERGY_SOURCE", t->energy_src,
               t->kind_cascade ? "expected energy per image, mJ" : "energy per image, mJ");
    put_modes(&b, name, "modes", &t->low, t->n_layers);
    if (t->kind_cascade) {
        put(&b, "/* escalate to the high path when entropy (Q16 nats) > threshold */\n");
        put(&b, "#define %s_THRESHOLD_Q16 %d\n", u, t->threshold_q16);
        put(&b, "/* the high path resumes after this many shared encoders */\n");
        put(&b, "#define %s_RESUME %d\n", u, t->resume);
        put_modes(&b, name, "modes_high", &t->high, t->n_layers);
    }
    put(&b, "\n#endif\n");
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

static cJSON *modes_json(const vk_genome *g, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(g->modes[i]));
    return a;
}

/* "key": v or null; "srckey": "measured" | "modeled" when known. */
static void json_figure(cJSON *o, const char *key, double v, const char *srckey, const char *src)
{
    if (isnan(v))
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddNumberToObject(o, key, v);
    if (srckey && *src_word(src))
        cJSON_AddStringToObject(o, srckey, src_word(src));
}

char *vk_export_json(const vk_skip_table *t)
{
    cJSON *o;
    char txt[VK_GENOME_TEXT_MAX], *s;
    if (t->n_layers < 1 || t->n_layers > VK_MAX_LAYERS || !is_hex(t->model_hash) ||
        !is_hex(t->ckpt_hash) || !(o = cJSON_CreateObject()))
        return NULL;
    cJSON_AddStringToObject(o, "format", "vitskip-skip-table");
    cJSON_AddNumberToObject(o, "version", 1);
    cJSON_AddStringToObject(o, "model_hash", t->model_hash);
    if (t->ckpt_hash[0])
        cJSON_AddStringToObject(o, "checkpoint_sha256", t->ckpt_hash);
    cJSON_AddNumberToObject(o, "n_layers", t->n_layers);
    cJSON_AddStringToObject(o, "kind", t->kind_cascade ? "cascade" : "path");
    vk_genome_format(&t->low, t->n_layers, txt);
    cJSON_AddStringToObject(o, "genome", txt);
    cJSON_AddItemToObject(o, "modes", modes_json(&t->low, t->n_layers));
    if (t->kind_cascade) {
        vk_genome_format(&t->high, t->n_layers, txt);
        cJSON_AddStringToObject(o, "high_genome", txt);
        cJSON_AddItemToObject(o, "high_modes", modes_json(&t->high, t->n_layers));
        cJSON_AddNumberToObject(o, "threshold_q16", t->threshold_q16);
        cJSON_AddNumberToObject(o, "threshold_nats", t->threshold_q16 / 65536.0);
        cJSON_AddNumberToObject(o, "resume", t->resume);
    }
    cJSON_AddStringToObject(o, "name", t->name[0] ? t->name : DEFAULT_NAME);
    json_figure(o, "top1", t->top1, NULL, "");
    json_figure(o, "latency_ms", t->latency_ms, "latency_source", t->latency_src);
    json_figure(o, "energy_mj", t->energy_mj, "energy_source", t->energy_src);
    cJSON_AddStringToObject(o, "comment", t->comment);
    s = cJSON_Print(o);
    cJSON_Delete(o);
    return s;
}

static vk_status json_modes(const cJSON *o, const char *key, int n, vk_genome *g,
                            const char *what, vk_err *err)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key), *e;
    int i = 0;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n)
        return vk_fail(err, VK_E_FORMAT, "%s: \"%s\" must be an array of %d mode words", what,
                       key, n);
    memset(g, 0, sizeof *g);
    cJSON_ArrayForEach(e, a)
    {
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 4294967295.0 ||
            e->valuedouble != (double)(uint32_t)e->valuedouble)
            return vk_fail(err, VK_E_FORMAT, "%s: \"%s\"[%d] is not a 32-bit mode word", what,
                           key, i);
        g->modes[i++] = (uint32_t)e->valuedouble;
    }
    return VK_OK;
}

static vk_status json_int(const cJSON *o, const char *key, int lo, int hi, int *out,
                          const char *what, vk_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi ||
        v->valuedouble != (double)(int)v->valuedouble)
        return vk_fail(err, VK_E_FORMAT, "%s: \"%s\" must be an integer in %d..%d", what, key,
                       lo, hi);
    *out = (int)v->valuedouble;
    return VK_OK;
}

/* Optional "key": a finite number, null or absent (NAN); "srckey":
 * "measured" or "modeled", or absent (""). */
static vk_status json_opt_figure(const cJSON *o, const char *key, double *v, const char *srckey,
                                 char *src, const char *what, vk_err *err)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    *v = NAN;
    if (x && !cJSON_IsNull(x)) {
        if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble) || x->valuedouble < 0)
            return vk_fail(err, VK_E_FORMAT, "%s: \"%s\" must be a number >= 0 or null", what,
                           key);
        *v = x->valuedouble;
    }
    if (!srckey)
        return VK_OK;
    x = cJSON_GetObjectItemCaseSensitive(o, srckey);
    src[0] = 0;
    if (x && (!cJSON_IsString(x) || !*src_word(x->valuestring)))
        return vk_fail(err, VK_E_FORMAT, "%s: \"%s\" must be \"measured\" or \"modeled\"",
                       what, srckey);
    if (x)
        snprintf(src, 12, "%s", src_word(x->valuestring));
    return VK_OK;
}

static vk_status parse_json(const char *text, const char *what, vk_skip_table *t, vk_err *err)
{
    cJSON *o = cJSON_Parse(text);
    const cJSON *v;
    vk_status rc = VK_E_FORMAT;
    int ver, th = 0; /* a path has no threshold */
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return vk_fail(err, rc, "%s: not a JSON object", what);
    }
    memset(t, 0, sizeof *t);
    v = cJSON_GetObjectItemCaseSensitive(o, "format");
    if (!cJSON_IsString(v) || strcmp(v->valuestring, "vitskip-skip-table")) {
        vk_fail(err, rc, "%s: \"format\" must be \"vitskip-skip-table\"", what);
        goto out;
    }
    if ((rc = json_int(o, "version", 1, 1, &ver, what, err)) ||
        (rc = json_int(o, "n_layers", 1, VK_MAX_LAYERS, &t->n_layers, what, err)))
        goto out;
    v = cJSON_GetObjectItemCaseSensitive(o, "model_hash");
    if (!cJSON_IsString(v) || strlen(v->valuestring) > 64) {
        rc = vk_fail(err, VK_E_FORMAT, "%s: \"model_hash\" must be a SHA-256 hex string", what);
        goto out;
    }
    snprintf(t->model_hash, sizeof t->model_hash, "%s", v->valuestring);
    v = cJSON_GetObjectItemCaseSensitive(o, "checkpoint_sha256");
    if (v && (!cJSON_IsString(v) || strlen(v->valuestring) != 64 || !is_hex(v->valuestring))) {
        rc = vk_fail(err, VK_E_FORMAT, "%s: \"checkpoint_sha256\" must be a SHA-256 hex string",
                     what);
        goto out;
    }
    if (v)
        snprintf(t->ckpt_hash, sizeof t->ckpt_hash, "%s", v->valuestring);
    v = cJSON_GetObjectItemCaseSensitive(o, "kind");
    if (!cJSON_IsString(v) || (strcmp(v->valuestring, "path") && strcmp(v->valuestring, "cascade"))) {
        rc = vk_fail(err, VK_E_FORMAT, "%s: \"kind\" must be \"path\" or \"cascade\"", what);
        goto out;
    }
    t->kind_cascade = !strcmp(v->valuestring, "cascade");
    if ((rc = json_modes(o, "modes", t->n_layers, &t->low, what, err)))
        goto out;
    if (t->kind_cascade &&
        ((rc = json_modes(o, "high_modes", t->n_layers, &t->high, what, err)) ||
         (rc = json_int(o, "threshold_q16", -1, 2147483647, &th, what, err)) ||
         (rc = json_int(o, "resume", 0, t->n_layers, &t->resume, what, err))))
        goto out;
    t->threshold_q16 = th;
    if ((rc = json_opt_figure(o, "top1", &t->top1, NULL, NULL, what, err)) ||
        (rc = json_opt_figure(o, "latency_ms", &t->latency_ms, "latency_source", t->latency_src,
                              what, err)) ||
        (rc = json_opt_figure(o, "energy_mj", &t->energy_mj, "energy_source", t->energy_src,
                              what, err)))
        goto out;
    v = cJSON_GetObjectItemCaseSensitive(o, "name");
    if (v && (!cJSON_IsString(v) || !vk_export_name_ok(v->valuestring))) {
        rc = vk_fail(err, VK_E_FORMAT, "%s: \"name\" must be a C identifier of at most 31 "
                     "characters", what);
        goto out;
    }
    snprintf(t->name, sizeof t->name, "%s", v ? v->valuestring : DEFAULT_NAME);
    rc = VK_OK;
out:
    cJSON_Delete(o);
    return rc;
}

/* Reads "NAME[N] = { 0x..u, ... };" mode words from a header. */
static vk_status header_modes(const char *text, const char *name, int n, vk_genome *g,
                              const char *what, vk_err *err)
{
    char pat[96];
    const char *p;
    snprintf(pat, sizeof pat, "%s[%d] VITSKIP_UNUSED = {", name, n);
    p = strstr(text, pat);
    if (!p)
        return vk_fail(err, VK_E_FORMAT, "%s: no \"%s\" table of %d words", what, name, n);
    p += strlen(pat);
    memset(g, 0, sizeof *g);
    for (int i = 0; i < n; i++) {
        char *end;
        while (*p == ' ' || *p == '\n' || *p == '\t')
            p++;
        unsigned long v = strtoul(p, &end, 0);
        if (end == p || v > 0xFFFFFFFFul)
            return vk_fail(err, VK_E_FORMAT, "%s: %s[%d] is not a mode word", what, name, i);
        g->modes[i] = (uint32_t)v;
        p = end;
        if (*p == 'u')
            p++;
        if (*p != ',')
            return vk_fail(err, VK_E_FORMAT, "%s: %s[%d]: ',' expected", what, name, i);
        p++;
        const char *c = strstr(p, "*/"); /* skip the per-encoder comment */
        if (c && strncmp(p, " /*", 3) == 0)
            p = c + 2;
    }
    while (*p == ' ' || *p == '\n')
        p++;
    if (*p != '}')
        return vk_fail(err, VK_E_FORMAT, "%s: %s has more than %d words", what, name, n);
    return VK_OK;
}

/* The value of "#define NAME <integer>" in *out; 0 if absent or not one. */
static int header_define(const char *text, const char *name, long *out)
{
    char pat[96];
    const char *p;
    char *end;
    snprintf(pat, sizeof pat, "#define %s ", name);
    p = strstr(text, pat);
    if (!p)
        return 0;
    *out = strtol(p + strlen(pat), &end, 10);
    return end != p + strlen(pat) && (*end == '\n' || *end == 0);
}

/* Optional "#define U_MACRO <number> ..." (NAN when absent) and
 * "#define U_SRCMACRO \"measured\"|\"modeled\"" ("" when absent). */
static vk_status header_figure(const char *text, const char *u, const char *macro, double *v,
                               const char *srcmacro, char *src, const char *what, vk_err *err)
{
    char pat[96];
    const char *p;
    char *end;
    snprintf(pat, sizeof pat, "#define %s_%s ", u, macro);
    *v = NAN;
    if ((p = strstr(text, pat)) != NULL) {
        *v = strtod(p + strlen(pat), &end);
        if (end == p + strlen(pat) || !isfinite(*v) || *v < 0 || (*end != ' ' && *end != '\n'))
            return vk_fail(err, VK_E_FORMAT, "%s: %s_%s is not a number >= 0", what, u, macro);
    }
    if (!srcmacro)
        return VK_OK;
    snprintf(pat, sizeof pat, "#define %s_%s \"", u, srcmacro);
    src[0] = 0;
    if ((p = strstr(text, pat)) != NULL) {
        p += strlen(pat);
        if (!strncmp(p, "measured\"", 9) || !strncmp(p, "modeled\"", 8))
            snprintf(src, 12, "%.*s", (int)strcspn(p, "\""), p);
        else
            return vk_fail(err, VK_E_FORMAT, "%s: %s_%s must be \"measured\" or \"modeled\"",
                           what, u, srcmacro);
    }
    return VK_OK;
}

static vk_status parse_header(const char *text, const char *what, vk_skip_table *t, vk_err *err)
{
    static const char tag[] = "vitskip skip table (format vitskip-skip-table, version 1";
    long n, cas, th, res;
    const char *h;
    char u[32], m[64], arr[64];
    vk_status rc;
    size_t k;
    memset(t, 0, sizeof *t);
    if (!(h = strstr(text, tag)))
        return vk_fail(err, VK_E_FORMAT, "%s: not a vitskip skip table header", what);
    /* the name, after the tag; tables written before names had none */
    h += strlen(tag);
    snprintf(t->name, sizeof t->name, "%s", DEFAULT_NAME);
    if (!strncmp(h, ", name ", 7)) {
        h += 7;
        k = strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
        if (k && k <= 31 && h[k] == ')')
            snprintf(t->name, sizeof t->name, "%.*s", (int)k, h);
        if (!k || k > 31 || h[k] != ')' || !vk_export_name_ok(t->name))
            return vk_fail(err, VK_E_FORMAT, "%s: the table's name is not a C identifier", what);
    }
    for (k = 0; t->name[k]; k++)
        u[k] = (char)toupper((unsigned char)t->name[k]);
    u[k] = 0;
    snprintf(m, sizeof m, "%s_N_LAYERS", u);
    if (!header_define(text, m, &n) || n < 1 || n > VK_MAX_LAYERS)
        return vk_fail(err, VK_E_FORMAT, "%s: %s missing or not in 1..%d", what, m,
                       VK_MAX_LAYERS);
    snprintf(m, sizeof m, "%s_CASCADE", u);
    if (!header_define(text, m, &cas) || (cas != 0 && cas != 1))
        return vk_fail(err, VK_E_FORMAT, "%s: %s missing or not 0/1", what, m);
    t->n_layers = (int)n;
    t->kind_cascade = (int)cas;
    snprintf(m, sizeof m, "#define %s_MODEL_SHA256 \"", u);
    h = strstr(text, m);
    if (!h)
        return vk_fail(err, VK_E_FORMAT, "%s: %s_MODEL_SHA256 missing", what, u);
    h += strlen(m);
    k = strcspn(h, "\"\n");
    if (k > 64 || h[k] != '"')
        return vk_fail(err, VK_E_FORMAT, "%s: %s_MODEL_SHA256 is not a quoted hash", what, u);
    memcpy(t->model_hash, h, k);
    t->model_hash[k] = 0;
    snprintf(m, sizeof m, "#define %s_CHECKPOINT_SHA256 \"", u);
    if ((h = strstr(text, m))) { /* optional */
        h += strlen(m);
        k = strcspn(h, "\"\n");
        if (k != 64 || h[k] != '"')
            return vk_fail(err, VK_E_FORMAT, "%s: %s_CHECKPOINT_SHA256 is not a quoted hash",
                           what, u);
        memcpy(t->ckpt_hash, h, k);
        t->ckpt_hash[k] = 0;
        if (!is_hex(t->ckpt_hash))
            return vk_fail(err, VK_E_FORMAT, "%s: %s_CHECKPOINT_SHA256 is not a quoted hash",
                           what, u);
    }
    if ((rc = header_figure(text, u, "TOP1", &t->top1, NULL, NULL, what, err)) ||
        (rc = header_figure(text, u, "LATENCY_MS", &t->latency_ms, "LATENCY_SOURCE",
                            t->latency_src, what, err)) ||
        (rc = header_figure(text, u, "ENERGY_MJ", &t->energy_mj, "ENERGY_SOURCE", t->energy_src,
                            what, err)))
        return rc;
    snprintf(arr, sizeof arr, "%s_modes", t->name);
    if ((rc = header_modes(text, arr, t->n_layers, &t->low, what, err)))
        return rc;
    if (cas) {
        char mt[64], mr[64];
        snprintf(mt, sizeof mt, "%s_THRESHOLD_Q16", u);
        snprintf(mr, sizeof mr, "%s_RESUME", u);
        if (!header_define(text, mt, &th) || th < -1 || th > 2147483647L ||
            !header_define(text, mr, &res) || res < 0 || res > n)
            return vk_fail(err, VK_E_FORMAT, "%s: a cascade needs %s and %s in range", what, mt,
                           mr);
        t->threshold_q16 = (int32_t)th;
        t->resume = (int32_t)res;
        snprintf(arr, sizeof arr, "%s_modes_high", t->name);
        if ((rc = header_modes(text, arr, t->n_layers, &t->high, what, err)))
            return rc;
    }
    return VK_OK;
}

vk_status vk_export_parse(const char *text, const char *what, vk_skip_table *t, vk_err *err)
{
    vk_skip_table r;
    const char *p = text;
    vk_status rc;
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    rc = *p == '{' ? parse_json(text, what, &r, err) : parse_header(text, what, &r, err);
    if (rc == VK_OK)
        *t = r;
    return rc;
}
