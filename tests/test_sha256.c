/* test_sha256: FIPS 180-4 test vectors, streaming in odd chunks. */
#include <stdlib.h>
#include <string.h>

#include "host/vk_sha256.h"
#include "tests/vk_test.h"

static int hex_is(const void *d, size_t n, const char *want)
{
    uint8_t out[32];
    char hx[65];
    vk_sha256(d, n, out);
    vk_sha256_hex(out, hx);
    return strcmp(hx, want) == 0;
}

static void test_vectors(void)
{
    CHECK(hex_is("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    CHECK(hex_is("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    CHECK(hex_is(m, strlen(m), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
    char *a = malloc(1000000);
    memset(a, 'a', 1000000);
    CHECK(hex_is(a, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
    /* streaming in uneven pieces gives the same digest */
    vk_sha256_ctx c;
    uint8_t d1[32], d2[32];
    vk_sha256_init(&c);
    for (size_t off = 0, step = 1; off < 1000000; off += step, step = step * 3 % 997 + 1)
        vk_sha256_update(&c, a + off, off + step > 1000000 ? 1000000 - off : step);
    vk_sha256_final(&c, d1);
    vk_sha256(a, 1000000, d2);
    CHECK(memcmp(d1, d2, 32) == 0);
    free(a);
}

static void test_file_errors(void)
{
    uint8_t out[32] = {1};
    vk_err err = {{0}};
    CHECK_EQ_INT(vk_sha256_file("/nonexistent/x.bin", out, &err), VK_E_IO);
    CHECK_STR_CONTAINS(err.msg, "/nonexistent/x.bin");
    CHECK_EQ_INT(out[0], 1);
}

int main(void)
{
    RUN(test_vectors);
    RUN(test_file_errors);
    return vk_test_summary("sha256");
}
