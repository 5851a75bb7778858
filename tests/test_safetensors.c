/* test_safetensors: valid files (F32/F16/BF16 conversion, metadata) and every
 * malformed case the reader must reject with a message naming file and tensor. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/vk_safetensors.h"
#include "tests/vk_test.h"

static char dir[64];
static char path[256];

/* Writes raw bytes to path. */
static void write_raw(const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    if (n)
        fwrite(b, 1, n, f);
    fclose(f);
}

/* Writes a safetensors file: the header's length (or hlen_override if
 * non-zero) little-endian, the header, then the data block. */
static void write_st(const char *header, const void *data, size_t n, uint64_t hlen_override)
{
    size_t hl = strlen(header);
    uint64_t v = hlen_override ? hlen_override : hl;
    uint8_t *b = malloc(8 + hl + n + 1);
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    memcpy(b + 8, header, hl);
    if (n)
        memcpy(b + 8 + hl, data, n);
    write_raw(b, 8 + hl + n);
    free(b);
}

/* Opens path expecting failure; returns the message. */
static const char *open_fails(vk_status want)
{
    static vk_err err;
    vk_st *st = (vk_st *)&err; /* sentinel: must stay untouched */
    memset(&err, 0, sizeof err);
    vk_status rc = vk_st_open(path, &st, &err);
    CHECK_EQ_INT(rc, want);
    CHECK(st == (vk_st *)&err);
    if (rc == VK_OK && st != (vk_st *)&err)
        vk_st_close(st);
    CHECK_STR_CONTAINS(err.msg, path);
    return err.msg;
}

static void test_valid(void)
{
    /* a: F32 [2,3]; h: F16 [6]; b: BF16 [3]; q: I8 [2,2] */
    float a[6] = {1.5f, -2.0f, 0.25f, 3.0e-5f, 1e6f, -0.0f};
    uint16_t h[6] = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x3800, 0x8000};
    uint16_t bf[3] = {0x3F80, 0xC040, 0x4049};
    uint8_t data[24 + 12 + 6 + 4];
    memcpy(data, a, 24);
    for (int i = 0; i < 6; i++) {
        data[24 + 2 * i] = (uint8_t)h[i];
        data[24 + 2 * i + 1] = (uint8_t)(h[i] >> 8);
    }
    for (int i = 0; i < 3; i++) {
        data[36 + 2 * i] = (uint8_t)bf[i];
        data[36 + 2 * i + 1] = (uint8_t)(bf[i] >> 8);
    }
    memset(data + 42, 7, 4);
    write_st("{\"__metadata__\":{\"format\":\"pt\"},"
             "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
             "\"h\":{\"dtype\":\"F16\",\"shape\":[6],\"data_offsets\":[24,36]},"
             "\"b\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[36,42]},"
             "\"q\":{\"dtype\":\"I8\",\"shape\":[2,2],\"data_offsets\":[42,46]},"
             "\"e\":{\"dtype\":\"F32\",\"shape\":[0,4],\"data_offsets\":[46,46]}}  ",
             data, sizeof data, 0);
    vk_st *st = NULL;
    vk_err err = {{0}};
    CHECK_EQ_INT(vk_st_open(path, &st, &err), VK_OK);
    if (!st) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    CHECK_EQ_INT(vk_st_count(st), 5);
    CHECK(vk_st_find(st, "__metadata__") == NULL);
    CHECK(vk_st_find(st, "nope") == NULL);
    const vk_st_tensor *t = vk_st_find(st, "a");
    CHECK(t != NULL);
    if (t) {
        CHECK_EQ_INT(t->rank, 2);
        CHECK_EQ_INT(t->shape[0], 2);
        CHECK_EQ_INT(t->shape[1], 3);
        CHECK_EQ_INT(t->n_bytes, 24);
        CHECK(t->dtype == VK_ST_F32);
        CHECK(!strcmp(t->dtype_name, "F32"));
    }
    CHECK(vk_st_at(st, 5) == NULL && vk_st_at(st, -1) == NULL && vk_st_at(st, 0) != NULL);
    CHECK(!strcmp(vk_st_path(st), path));

    float out[6];
    int64_t s23[2] = {2, 3}, s6[1] = {6}, s3[1] = {3}, s22[2] = {2, 2};
    CHECK_EQ_INT(vk_st_get_f32(st, "a", s23, 2, out, &err), VK_OK);
    CHECK(memcmp(out, a, sizeof a) == 0);

    CHECK_EQ_INT(vk_st_get_f32(st, "h", s6, 1, out, &err), VK_OK);
    CHECK(out[0] == 1.0f);
    CHECK(out[1] == -2.0f);
    CHECK(out[2] == 65504.0f);
    CHECK(out[3] == 0x1p-24f); /* smallest subnormal half */
    CHECK(out[4] == 0.5f);
    CHECK(out[5] == 0.0f && signbit(out[5]));

    CHECK_EQ_INT(vk_st_get_f32(st, "b", s3, 1, out, &err), VK_OK);
    CHECK(out[0] == 1.0f);
    CHECK(out[1] == -3.0f);
    CHECK(out[2] == 3.140625f);

    /* unsupported dtype: names file, tensor and dtype */
    CHECK_EQ_INT(vk_st_get_f32(st, "q", s22, 2, out, &err), VK_E_UNSUPPORTED);
    CHECK_STR_CONTAINS(err.msg, path);
    CHECK_STR_CONTAINS(err.msg, "\"q\"");
    CHECK_STR_CONTAINS(err.msg, "I8");

    /* shape disagreeing with the expectation, also in rank */
    int64_t s32[2] = {3, 2};
    out[0] = 42;
    CHECK_EQ_INT(vk_st_get_f32(st, "a", s32, 2, out, &err), VK_E_FORMAT);
    CHECK_STR_CONTAINS(err.msg, path);
    CHECK_STR_CONTAINS(err.msg, "\"a\"");
    CHECK_STR_CONTAINS(err.msg, "[2, 3]");
    CHECK_STR_CONTAINS(err.msg, "[3, 2]");
    CHECK(out[0] == 42);
    CHECK_EQ_INT(vk_st_get_f32(st, "a", s6, 1, out, &err), VK_E_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "[6]");

    CHECK_EQ_INT(vk_st_get_f32(st, "missing.weight", s6, 1, out, &err), VK_E_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "\"missing.weight\"");
    CHECK_STR_CONTAINS(err.msg, "missing");
    vk_st_close(st);
    vk_st_close(NULL);
}

static void test_truncated(void)
{
    write_raw("\x10\0\0", 3);
    CHECK_STR_CONTAINS(open_fails(VK_E_FORMAT), "truncated");
    write_raw("", 0);
    open_fails(VK_E_FORMAT);
    /* the header promises more bytes than the file has */
    write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "abcd", 4, 4000);
    CHECK_STR_CONTAINS(open_fails(VK_E_FORMAT), "header length 4000");
    write_st("{}", NULL, 0, 1);
    CHECK_STR_CONTAINS(open_fails(VK_E_FORMAT), "header length 1");
    /* a header length with the top bit set must not wrap */
    write_st("{}", NULL, 0, 0x8000000000000002ull);
    open_fails(VK_E_FORMAT);
}

static void test_bad_json(void)
{
    write_st("{\"a\": [1, 2", NULL, 0, 0);
    CHECK_STR_CONTAINS(open_fails(VK_E_FORMAT), "not valid JSON");
    write_st("[1, 2, 3]", NULL, 0, 0);
    CHECK_STR_CONTAINS(open_fails(VK_E_FORMAT), "not a JSON object");
    write_st("{\"a\":7}", NULL, 0, 0);
    CHECK_STR_CONTAINS(open_fails(VK_E_FORMAT), "\"a\"");
    write_st("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", "abcd", 4, 0);
    CHECK_STR_CONTAINS(open_fails(VK_E_FORMAT), "\"dtype\"");
    write_st("{\"a\":{\"dtype\":\"F32\",\"shape\":\"1\",\"data_offsets\":[0,4]}}", "abcd", 4, 0);
    CHECK_STR_CONTAINS(open_fails(VK_E_FORMAT), "\"shape\"");
    /* a NUL inside the header */
    write_st("{}\0 ", NULL, 0, 4);
    open_fails(VK_E_FORMAT);
}

static void test_bad_entries(void)
{
    static const char *name = "vit.encoder.layer.0.attention.attention.query.weight";
    char h[512];
    uint8_t data[4096] = {0};
    const char *msg;

    snprintf(h, sizeof h,
             "{\"%s\":{\"dtype\":\"F32\",\"shape\":[1024],"
             "\"data_offsets\":[0,99999999]}}",
             name);
    write_st(h, data, sizeof data, 0);
    msg = open_fails(VK_E_FORMAT);
    CHECK_STR_CONTAINS(msg, name);
    CHECK_STR_CONTAINS(msg, "data_offsets [0, 99999999] past the end of the data (4096 bytes)");

    snprintf(h, sizeof h, "{\"%s\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}",
             name);
    write_st(h, data, 16, 0);
    msg = open_fails(VK_E_FORMAT);
    CHECK_STR_CONTAINS(msg, name);
    CHECK_STR_CONTAINS(msg, "[8, 4]");

    /* byte length disagrees with shape x dtype size */
    snprintf(h, sizeof h, "{\"%s\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}",
             name);
    write_st(h, data, 24, 0);
    msg = open_fails(VK_E_FORMAT);
    CHECK_STR_CONTAINS(msg, name);
    CHECK_STR_CONTAINS(msg, "24");

    snprintf(h, sizeof h, "{\"%s\":{\"dtype\":\"F31\",\"shape\":[1],\"data_offsets\":[0,4]}}",
             name);
    write_st(h, data, 4, 0);
    msg = open_fails(VK_E_FORMAT);
    CHECK_STR_CONTAINS(msg, name);
    CHECK_STR_CONTAINS(msg, "F31");

    write_st("{\"t\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}",
             data, 4, 0);
    CHECK_STR_CONTAINS(open_fails(VK_E_FORMAT), "rank 9");
    write_st("{\"t\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", data, 4, 0);
    CHECK_STR_CONTAINS(open_fails(VK_E_FORMAT), "shape[0]");
    write_st("{\"t\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", data, 4, 0);
    CHECK_STR_CONTAINS(open_fails(VK_E_FORMAT), "shape[0]");
    write_st("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", data, 4, 0);
    CHECK_STR_CONTAINS(open_fails(VK_E_FORMAT), "data_offsets");
    write_st("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,\"4\"]}}", data, 4, 0);
    CHECK_STR_CONTAINS(open_fails(VK_E_FORMAT), "data_offsets");
    /* product of the shape overflows 64 bits */
    write_st("{\"t\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],"
             "\"data_offsets\":[0,4]}}",
             data, 4, 0);
    CHECK_STR_CONTAINS(open_fails(VK_E_FORMAT), "\"t\"");
    /* the same name twice */
    write_st("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
             "\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
             data, 8, 0);
    CHECK_STR_CONTAINS(open_fails(VK_E_FORMAT), "twice");
}

static void test_missing_file(void)
{
    vk_st *st = NULL;
    vk_err err = {{0}};
    CHECK_EQ_INT(vk_st_open("/nonexistent/m.safetensors", &st, &err), VK_E_IO);
    CHECK(st == NULL);
    CHECK_STR_CONTAINS(err.msg, "/nonexistent/m.safetensors");
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/vk_st_XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    RUN(test_valid);
    RUN(test_truncated);
    RUN(test_bad_json);
    RUN(test_bad_entries);
    RUN(test_missing_file);
    unlink(path);
    rmdir(dir);
    return vk_test_summary("safetensors");
}
