/* test_export: skip tables round-trip through the C header and JSON forms
 * (path and cascade, default and given names, figures and their sources,
 * a missing energy), malformed tables are refused with the field named,
 * two headers of different names compile in one translation unit that
 * reads only some of their arrays under -Wall -Wextra -Werror (gcc with
 * -Wunused-const-variable=2, and clang), and every exported JSON table
 * conforms to search/vk_export.schema.json; hostile text never becomes C
 * source. */
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "search/vk_export.h"
#include "tests/vk_test.h"

static void table(vk_skip_table *t, int cascade)
{
    vk_err err = {{0}};
    memset(t, 0, sizeof *t);
    t->n_layers = 8;
    strcpy(t->model_hash, "783b76631fe4a951b2c4560efd0b63e10af30f20f5fc76f251fcb38a3c15ea8b");
    vk_genome_parse("FSFSSFFF", 8, &t->low, &err);
    if (cascade) {
        t->kind_cascade = 1;
        vk_genome_parse("FSFFFFFF", 8, &t->high, &err);
        t->threshold_q16 = 75215;
        t->resume = 3;
    }
    if (!cascade) /* a path with its checkpoint's hash, a cascade without */
        strcpy(t->ckpt_hash, "165a333d486f801d2cc07b914b7021919fee1da092019b46007f0d83674074f2");
    strcpy(t->comment, "test table");
    t->top1 = 86.8;
    t->latency_ms = 3.4204;
    strcpy(t->latency_src, "modeled");
    t->energy_mj = cascade ? NAN : 10.3499;
    if (!cascade)
        strcpy(t->energy_src, "modeled");
}

static int same_fig(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

static int same(const vk_skip_table *a, const vk_skip_table *b)
{
    return a->n_layers == b->n_layers && a->kind_cascade == b->kind_cascade &&
           !strcmp(a->model_hash, b->model_hash) && !strcmp(a->ckpt_hash, b->ckpt_hash) &&
           vk_genome_equal(&a->low, &b->low, 8) &&
           (!a->kind_cascade || (vk_genome_equal(&a->high, &b->high, 8) &&
                                 a->threshold_q16 == b->threshold_q16 && a->resume == b->resume)) &&
           !strcmp(a->name[0] ? a->name : "vk_skip", b->name) && same_fig(a->top1, b->top1) &&
           same_fig(a->latency_ms, b->latency_ms) && same_fig(a->energy_mj, b->energy_mj) &&
           !strcmp(a->latency_src, b->latency_src) && !strcmp(a->energy_src, b->energy_src);
}

static void test_roundtrip(void)
{
    for (int k = 0; k < 4; k++) {
        int cascade = k & 1;
        vk_skip_table t, back;
        vk_err err = {{0}};
        table(&t, cascade);
        if (k >= 2)
            strcpy(t.name, cascade ? "_Fw2" : "fw_a");
        char *h = vk_export_header(&t), *j = vk_export_json(&t);
        CHECK(h && j);
        CHECK_EQ_INT(vk_export_parse(h, "skip.h", &back, &err), VK_OK);
        CHECK(same(&t, &back));
        CHECK_EQ_INT(vk_export_parse(j, "skip.json", &back, &err), VK_OK);
        CHECK(same(&t, &back));
        if (!cascade) /* a path has no threshold (it was read uninitialized) */
            CHECK(back.threshold_q16 == 0 && back.resume == 0);
        if (k == 1)
            CHECK_STR_CONTAINS(h, "#define VK_SKIP_THRESHOLD_Q16 75215");
        if (k == 0) {
            CHECK_STR_CONTAINS(h, "#define VK_SKIP_TOP1 86.8 ");
            CHECK_STR_CONTAINS(h, "#define VK_SKIP_ENERGY_MJ 10.3499 ");
            CHECK_STR_CONTAINS(h, "#define VK_SKIP_LATENCY_SOURCE \"modeled\"");
        }
        if (k == 0) { /* the blob hash and the checkpoint's, beside it */
            CHECK_STR_CONTAINS(h, "#define VK_SKIP_MODEL_SHA256 \"783b7663");
            CHECK_STR_CONTAINS(h, "#define VK_SKIP_CHECKPOINT_SHA256 \"165a333d");
            CHECK_STR_CONTAINS(h, "sha256sum FILE.vkq");
            CHECK_STR_CONTAINS(j, "\"checkpoint_sha256\":\t\"165a333d");
        }
        if (k == 1) { /* no energy: no macro, null in JSON; no checkpoint hash: none */
            CHECK(!strstr(h, "CHECKPOINT_SHA256"));
            CHECK(!strstr(j, "checkpoint_sha256"));
            CHECK(!strstr(h, "#define VK_SKIP_ENERGY_MJ"));
            CHECK_STR_CONTAINS(j, "\"energy_mj\":\tnull");
        }
        if (k == 3)
            CHECK_STR_CONTAINS(h, "static const uint32_t _Fw2_modes_high[8] VITSKIP_UNUSED");
        free(h);
        free(j);
    }
}

static void bad(const char *text, const char *needle)
{
    vk_skip_table t;
    vk_err err = {{0}};
    memset(&t, 0x33, sizeof t);
    vk_skip_table before = t;
    CHECK_EQ_INT(vk_export_parse(text, "in", &t, &err), VK_E_FORMAT);
    CHECK_STR_CONTAINS(err.msg, needle);
    CHECK(memcmp(&t, &before, sizeof t) == 0);
}

static void test_malformed(void)
{
    bad("{", "not a JSON object");
    bad("{\"format\":\"x\"}", "format");
    bad("{\"format\":\"vitskip-skip-table\",\"version\":2}", "version");
    bad("{\"format\":\"vitskip-skip-table\",\"version\":1,\"n_layers\":8,\"model_hash\":\"ab\","
        "\"kind\":\"path\",\"modes\":[1,2]}", "\"modes\"");
    bad("{\"format\":\"vitskip-skip-table\",\"version\":1,\"n_layers\":2,\"model_hash\":\"ab\","
        "\"kind\":\"path\",\"modes\":[1,-2]}", "\"modes\"[1]");
    bad("{\"format\":\"vitskip-skip-table\",\"version\":1,\"n_layers\":2,\"model_hash\":\"ab\","
        "\"kind\":\"cascade\",\"modes\":[1,2],\"high_modes\":[0,0],\"threshold_q16\":5,"
        "\"resume\":9}", "resume");
    bad("#define X 1\n", "not a vitskip skip table");
    bad("{\"format\":\"vitskip-skip-table\",\"version\":1,\"n_layers\":2,\"model_hash\":\"ab\","
        "\"checkpoint_sha256\":\"abc\",\"kind\":\"path\",\"modes\":[1,2]}",
        "\"checkpoint_sha256\"");
    vk_skip_table t;
    table(&t, 1);
    char *h = vk_export_header(&t);
    char *cut = strdup(h);
    strstr(cut, "vk_skip_modes_high")[0] = 0; /* truncated: no high table */
    bad(cut, "vk_skip_modes_high");
    {   /* a checkpoint hash that is not 64 hex digits */
        vk_skip_table tp;
        table(&tp, 0);
        char *hp = vk_export_header(&tp);
        char *q = strstr(hp, "CHECKPOINT_SHA256 \"165a") + 19;
        q[0] = 'g';
        bad(hp, "VK_SKIP_CHECKPOINT_SHA256");
        q[0] = '1';
        memmove(q, q + 1, strlen(q)); /* 63 digits */
        bad(hp, "VK_SKIP_CHECKPOINT_SHA256");
        free(hp);
        strcpy(tp.ckpt_hash, "XYZ");
        CHECK(vk_export_header(&tp) == NULL && vk_export_json(&tp) == NULL);
    }
    char *p = strstr(h, "0x00006401u,");
    memcpy(p, "zzzzzzzzzzz,", 12);
    bad(h, "vk_skip_modes[1]");
    free(cut);
    free(h);
}

static void test_names(void)
{
    vk_skip_table t;
    table(&t, 0);
    CHECK(vk_export_name_ok("") && vk_export_name_ok("fw_table2") && vk_export_name_ok("_x"));
    CHECK(!vk_export_name_ok("2fw") && !vk_export_name_ok("fw-a") && !vk_export_name_ok("a b"));
    CHECK(!vk_export_name_ok("a23456789012345678901234567890123"));
    strcpy(t.name, "fw-a");
    CHECK(vk_export_header(&t) == NULL);
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    int ok = f && fputs(text, f) >= 0;
    if (f)
        ok &= fclose(f) == 0;
    return ok;
}

/* Two tables in one unit that reads one array of each; compiled by cc with
 * the given extra flags; returns the compiler's exit status. */
static int compile_two(const char *dir, const char *cc, const char *flags)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd %s && %s -std=c11 -Wall -Wextra -Werror %s -c two.c -o two.o 2>>cc.log", dir, cc,
             flags);
    return system(cmd);
}

static void test_two_tables(void)
{
    char dir[] = "/tmp/vk_export_XXXXXX", p[128];
    vk_skip_table a, b;
    if (!mkdtemp(dir)) {
        CHECK(0);
        return;
    }
    table(&a, 0);
    table(&b, 1);
    strcpy(a.name, "fw_a");
    strcpy(b.name, "fw_b");
    char *ha = vk_export_header(&a), *hb = vk_export_header(&b);
    CHECK(ha && hb);
    snprintf(p, sizeof p, "%s/fw_a.h", dir);
    CHECK(ha && write_file(p, ha));
    snprintf(p, sizeof p, "%s/fw_b.h", dir);
    CHECK(hb && write_file(p, hb));
    snprintf(p, sizeof p, "%s/two.c", dir);
    CHECK(write_file(p, "#include \"fw_a.h\"\n#include \"fw_b.h\"\n#include \"fw_a.h\"\n"
                        "unsigned first_mode(void);\n"
                        "unsigned first_mode(void)\n{\n"
                        "    return fw_a_modes[0] + (unsigned)FW_B_THRESHOLD_Q16 + FW_A_N_LAYERS +"
                        " (FW_A_TOP1 > 0) + (FW_B_LATENCY_MS > 0);\n}\n"));
    CHECK_EQ_INT(compile_two(dir, "cc", "-Wunused-const-variable=2"), 0);
    if (system("command -v clang >/dev/null") == 0)
        CHECK_EQ_INT(compile_two(dir, "clang", "-Wunused-const-variable"), 0);
    /* the check can fail: without the unused marking, gcc refuses the unit */
    CHECK(compile_two(dir, "cc", "-Wunused-const-variable=2 -DVITSKIP_UNUSED=") != 0);
    snprintf(p, sizeof p, "rm -rf %s", dir);
    CHECK_EQ_INT(system(p), 0);
    free(ha);
    free(hb);
}

/* One JSON value against a schema property's "type" (a name or a list). */
static int type_ok(const cJSON *v, const cJSON *type)
{
    const cJSON *e;
    if (cJSON_IsArray(type)) {
        cJSON_ArrayForEach(e, type) if (type_ok(v, e)) return 1;
        return 0;
    }
    const char *t = cJSON_IsString(type) ? type->valuestring : "";
    return !strcmp(t, "string")    ? cJSON_IsString(v)
           : !strcmp(t, "number")  ? cJSON_IsNumber(v)
           : !strcmp(t, "integer") ? cJSON_IsNumber(v) && v->valuedouble == (double)(long long)v->valuedouble
           : !strcmp(t, "array")   ? cJSON_IsArray(v)
           : !strcmp(t, "null")    ? cJSON_IsNull(v)
                                   : 0;
}

static void test_schema(void)
{
    FILE *f = fopen("search/vk_export.schema.json", "r");
    char buf[16384];
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    cJSON *schema = cJSON_Parse(buf);
    CHECK(schema != NULL);
    if (!schema)
        return;
    const cJSON *props = cJSON_GetObjectItem(schema, "properties"), *req, *e;
    const cJSON *nl = cJSON_GetObjectItem(cJSON_GetObjectItem(props, "n_layers"), "maximum");
    CHECK(nl && nl->valuedouble == VK_MAX_LAYERS);
    for (int k = 0; k < 4; k++) {
        vk_skip_table t;
        table(&t, k & 1);
        if (k >= 2)
            strcpy(t.name, "fw");
        char *j = vk_export_json(&t);
        cJSON *o = cJSON_Parse(j);
        CHECK(o != NULL);
        req = cJSON_GetObjectItem(schema, "required");
        cJSON_ArrayForEach(e, req) CHECK(cJSON_GetObjectItem(o, e->valuestring) != NULL);
        cJSON_ArrayForEach(e, o)
        {
            const cJSON *p = cJSON_GetObjectItem(props, e->string);
            if (!p)
                fprintf(stderr, "exported key '%s' is not in the schema\n", e->string);
            CHECK(p != NULL);
            if (p)
                CHECK(type_ok(e, cJSON_GetObjectItem(p, "type")));
            const cJSON *en = p ? cJSON_GetObjectItem(p, "enum") : NULL, *x;
            int in = !en;
            if (en)
                cJSON_ArrayForEach(x, en) in |= !strcmp(x->valuestring, e->valuestring);
            CHECK(in);
        }
        cJSON_Delete(o);
        free(j);
    }
    cJSON_Delete(schema);
}

/* Item 7 of issue 15: text from a tampered database (the comment carries a
 * stored board name and note) never becomes C source: the header with a
 * comment that closes itself and defines things still compiles to exactly
 * the table; a table that cannot be written (n_layers past the maximum, a
 * hash that is not hex) is refused rather than overflowing a buffer. */
static void test_hostile_text(void)
{
    vk_skip_table t;
    char path[] = "/tmp/vk_export_XXXXXX.h", cmd[512];
    table(&t, 1);
    snprintf(t.comment, sizeof t.comment, "board sim */\n#error injected\n"
             "static int injected; /* \x1b[2J");
    char *h = vk_export_header(&t);
    CHECK(h != NULL);
    if (!h)
        return;
    int fd = mkstemps(path, 2);
    CHECK(fd >= 0 && write(fd, h, strlen(h)) == (ssize_t)strlen(h));
    close(fd);
    snprintf(cmd, sizeof cmd, "cc -std=c11 -Werror -fsyntax-only -include %s -x c /dev/null",
             path);
    CHECK_EQ_INT(system(cmd), 0);
    CHECK(!strstr(h, "\n#error") && !strchr(h, 0x1b));
    unlink(path);
    free(h);
    table(&t, 0);
    t.n_layers = VK_MAX_LAYERS * 4;
    CHECK(vk_export_header(&t) == NULL && vk_export_json(&t) == NULL);
    table(&t, 0);
    strcpy(t.model_hash, "ab\"\n#error x");
    CHECK(vk_export_header(&t) == NULL && vk_export_json(&t) == NULL);
}

int main(void)
{
    RUN(test_roundtrip);
    RUN(test_malformed);
    RUN(test_names);
    RUN(test_two_tables);
    RUN(test_schema);
    RUN(test_hostile_text);
    return vk_test_summary("export");
}
