/* vk_export: skip tables as a C header or JSON, and back (see vk_export.h). */
#include "vk_export.h"

#include <cJSON.h>
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

static void put_modes(sbuf *b, const char *name, const vk_genome *g, int n)
{
    char txt[VK_GENOME_TEXT_MAX], what[80];
    vk_genome_format(g, n, txt);
    put(b, "/* genome %s: per encoder, the kernel's mode word (vk_config.h) */\n", txt);
    put(b, "static const uint32_t %s[%d] = {\n", name, n);
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

char *vk_export_header(const vk_skip_table *t)
{
    sbuf b = {0};
    char comment[sizeof t->comment];
    /* nothing but printable text inside the comment, and no end of it */
    snprintf(comment, sizeof comment, "%s", t->comment[0] ? t->comment : "exported by vitskip");
    for (char *c = comment; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f || (c[0] == '*' && c[1] == '/'))
            *c = ' ';
    if (t->n_layers < 1 || t->n_layers > VK_MAX_LAYERS || !is_hex(t->model_hash))
        return NULL;
    put(&b, "/* vitskip skip table (format vitskip-skip-table, version 1).\n");
    put(&b, " * %s\n */\n", comment);
    put(&b, "#ifndef VK_SKIP_TABLE_H\n#define VK_SKIP_TABLE_H\n\n#include <stdint.h>\n\n");
    put(&b, "#define VK_SKIP_MODEL_SHA256 \"%s\"\n", t->model_hash);
    put(&b, "#define VK_SKIP_N_LAYERS %d\n", t->n_layers);
    put(&b, "#define VK_SKIP_CASCADE %d\n", t->kind_cascade);
    put_modes(&b, "vk_skip_modes", &t->low, t->n_layers);
    if (t->kind_cascade) {
        put(&b, "/* escalate to the high path when entropy (Q16 nats) > threshold */\n");
        put(&b, "#define VK_SKIP_THRESHOLD_Q16 %d\n", t->threshold_q16);
        put(&b, "/* the high path resumes after this many shared encoders */\n");
        put(&b, "#define VK_SKIP_RESUME %d\n", t->resume);
        put_modes(&b, "vk_skip_modes_high", &t->high, t->n_layers);
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

char *vk_export_json(const vk_skip_table *t)
{
    cJSON *o;
    char txt[VK_GENOME_TEXT_MAX], *s;
    if (t->n_layers < 1 || t->n_layers > VK_MAX_LAYERS || !is_hex(t->model_hash) ||
        !(o = cJSON_CreateObject()))
        return NULL;
    cJSON_AddStringToObject(o, "format", "vitskip-skip-table");
    cJSON_AddNumberToObject(o, "version", 1);
    cJSON_AddStringToObject(o, "model_hash", t->model_hash);
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

static vk_status parse_json(const char *text, const char *what, vk_skip_table *t, vk_err *err)
{
    cJSON *o = cJSON_Parse(text);
    const cJSON *v;
    vk_status rc = VK_E_FORMAT;
    int ver, th;
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
    rc = VK_OK;
out:
    cJSON_Delete(o);
    return rc;
}

/* Reads "NAME[N] = { 0x..u, ... };" mode words from a header. */
static vk_status header_modes(const char *text, const char *name, int n, vk_genome *g,
                              const char *what, vk_err *err)
{
    char pat[64];
    const char *p;
    snprintf(pat, sizeof pat, "%s[%d] = {", name, n);
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

static vk_status parse_header(const char *text, const char *what, vk_skip_table *t, vk_err *err)
{
    long n, cas, th, res;
    const char *h;
    vk_status rc;
    memset(t, 0, sizeof *t);
    if (!strstr(text, "vitskip skip table"))
        return vk_fail(err, VK_E_FORMAT, "%s: not a vitskip skip table header", what);
    if (!header_define(text, "VK_SKIP_N_LAYERS", &n) || n < 1 || n > VK_MAX_LAYERS)
        return vk_fail(err, VK_E_FORMAT, "%s: VK_SKIP_N_LAYERS missing or not in 1..%d", what,
                       VK_MAX_LAYERS);
    if (!header_define(text, "VK_SKIP_CASCADE", &cas) || (cas != 0 && cas != 1))
        return vk_fail(err, VK_E_FORMAT, "%s: VK_SKIP_CASCADE missing or not 0/1", what);
    t->n_layers = (int)n;
    t->kind_cascade = (int)cas;
    h = strstr(text, "#define VK_SKIP_MODEL_SHA256 \"");
    if (!h)
        return vk_fail(err, VK_E_FORMAT, "%s: VK_SKIP_MODEL_SHA256 missing", what);
    h += strlen("#define VK_SKIP_MODEL_SHA256 \"");
    size_t k = strcspn(h, "\"\n");
    if (k > 64 || h[k] != '"')
        return vk_fail(err, VK_E_FORMAT, "%s: VK_SKIP_MODEL_SHA256 is not a quoted hash", what);
    memcpy(t->model_hash, h, k);
    t->model_hash[k] = 0;
    if ((rc = header_modes(text, "vk_skip_modes", t->n_layers, &t->low, what, err)))
        return rc;
    if (cas) {
        if (!header_define(text, "VK_SKIP_THRESHOLD_Q16", &th) || th < -1 || th > 2147483647L ||
            !header_define(text, "VK_SKIP_RESUME", &res) || res < 0 || res > n)
            return vk_fail(err, VK_E_FORMAT,
                           "%s: a cascade needs VK_SKIP_THRESHOLD_Q16 and VK_SKIP_RESUME in range",
                           what);
        t->threshold_q16 = (int32_t)th;
        t->resume = (int32_t)res;
        if ((rc = header_modes(text, "vk_skip_modes_high", t->n_layers, &t->high, what, err)))
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
