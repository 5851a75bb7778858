/* Tests for host/vk_env.c: defaults, the accepted range, malformed values. */
#include <limits.h>
#include <stdlib.h>

#include "host/vk_env.h"
#include "tests/vk_test.h"

#define VAR "VK_TEST_ENV_VALUE"

/* vk_env_long on VAR set to value (NULL: unset) in lo..hi, default 7. */
static vk_status parse(const char *value, long lo, long hi, long *v, vk_err *err)
{
    if (value)
        setenv(VAR, value, 1);
    else
        unsetenv(VAR);
    *v = -12345;
    err->msg[0] = 0;
    return vk_env_long(VAR, 7, lo, hi, v, err);
}

static void test_defaults_and_range(void)
{
    vk_err err;
    long v;
    CHECK_EQ_INT(parse(NULL, 1, 10, &v, &err), VK_OK);
    CHECK_EQ_INT(v, 7);
    CHECK_EQ_INT(parse("", 1, 10, &v, &err), VK_OK); /* empty = unset */
    CHECK_EQ_INT(v, 7);
    CHECK_EQ_INT(parse("1", 1, 10, &v, &err), VK_OK);
    CHECK_EQ_INT(v, 1);
    CHECK_EQ_INT(parse("10", 1, 10, &v, &err), VK_OK);
    CHECK_EQ_INT(v, 10);
    CHECK_EQ_INT(parse("-3", -5, 0, &v, &err), VK_OK);
    CHECK_EQ_INT(v, -3);
    CHECK_EQ_INT(parse("+4", 0, 9, &v, &err), VK_OK);
    CHECK_EQ_INT(v, 4);
}

static void test_malformed(void)
{
    const char *bad[] = {"0",   "11", "-1",  "x",    "5x",  "5 ", "0x5", "1e3",
                         "2.5", "-",  " ",   "99999999999999999999999"};
    vk_err err;
    long v;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ_INT(parse(bad[i], 1, 10, &v, &err), VK_E_ARG);
        CHECK_EQ_INT(v, -12345); /* untouched */
        CHECK_STR_CONTAINS(err.msg, VAR "='");
        CHECK_STR_CONTAINS(err.msg, bad[i]);
        CHECK_STR_CONTAINS(err.msg, "expected an integer in 1..10");
    }
    /* the whole long range: only overflow is refused */
    CHECK_EQ_INT(parse("-9223372036854775808", LONG_MIN, LONG_MAX, &v, &err), VK_OK);
    CHECK(v == LONG_MIN);
    CHECK_EQ_INT(parse("9223372036854775808", LONG_MIN, LONG_MAX, &v, &err), VK_E_ARG);
    unsetenv(VAR);
}

int main(void)
{
    RUN(test_defaults_and_range);
    RUN(test_malformed);
    return vk_test_summary("env");
}
