/* test_export: skip tables round-trip through the C header and JSON forms
 * (path and cascade), malformed tables are refused with the field named,
 * and hostile text never becomes C source. */
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
    strcpy(t->comment, "test table");
}

static int same(const vk_skip_table *a, const vk_skip_table *b)
{
    return a->n_layers == b->n_layers && a->kind_cascade == b->kind_cascade &&
           !strcmp(a->model_hash, b->model_hash) && vk_genome_equal(&a->low, &b->low, 8) &&
           (!a->kind_cascade || (vk_genome_equal(&a->high, &b->high, 8) &&
                                 a->threshold_q16 == b->threshold_q16 && a->resume == b->resume));
}

static void test_roundtrip(void)
{
    for (int cascade = 0; cascade < 2; cascade++) {
        vk_skip_table t, back;
        vk_err err = {{0}};
        table(&t, cascade);
        char *h = vk_export_header(&t), *j = vk_export_json(&t);
        CHECK(h && j);
        CHECK_EQ_INT(vk_export_parse(h, "skip.h", &back, &err), VK_OK);
        CHECK(same(&t, &back));
        CHECK_EQ_INT(vk_export_parse(j, "skip.json", &back, &err), VK_OK);
        CHECK(same(&t, &back));
        if (cascade)
            CHECK_STR_CONTAINS(h, "#define VK_SKIP_THRESHOLD_Q16 75215");
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
    vk_skip_table t;
    table(&t, 1);
    char *h = vk_export_header(&t);
    char *cut = strdup(h);
    strstr(cut, "vk_skip_modes_high")[0] = 0; /* truncated: no high table */
    bad(cut, "vk_skip_modes_high");
    char *p = strstr(h, "0x00006401u,");
    memcpy(p, "zzzzzzzzzzz,", 12);
    bad(h, "vk_skip_modes[1]");
    free(cut);
    free(h);
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
    RUN(test_hostile_text);
    return vk_test_summary("export");
}
