/* vk_test: the tiny test harness every tests/test_<module>.c uses.
 *
 *     static void test_parse(void) { CHECK(x == 1); CHECK_EQ_INT(a, b); }
 *     int main(void) { RUN(test_parse); return vk_test_summary("genome"); }
 *
 * CHECK records a failure with file:line and continues; the summary prints
 * "name: N passed, N failed" and returns the process exit code. */
#ifndef VK_TEST_H
#define VK_TEST_H

#include <stdio.h>
#include <string.h>

static int vk_test_checks, vk_test_cur_fail;

#define CHECK(cond)                                                            \
    do {                                                                       \
        vk_test_checks++;                                                      \
        if (!(cond)) {                                                         \
            vk_test_cur_fail = 1;                                              \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                      \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                     \
    do {                                                                       \
        long long va_ = (long long)(a), vb_ = (long long)(b);                  \
        vk_test_checks++;                                                      \
        if (va_ != vb_) {                                                      \
            vk_test_cur_fail = 1;                                              \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, \
                    __LINE__, #a, #b, va_, vb_);                               \
        }                                                                      \
    } while (0)

#define CHECK_STR_CONTAINS(hay, needle)                                        \
    do {                                                                       \
        vk_test_checks++;                                                      \
        if (!strstr((hay), (needle))) {                                        \
            vk_test_cur_fail = 1;                                              \
            fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, \
                    __LINE__, (hay), (needle));                                \
        }                                                                      \
    } while (0)

static int vk_test_passed, vk_test_failed;

#define RUN(fn)                                                                \
    do {                                                                       \
        vk_test_cur_fail = 0;                                                  \
        fn();                                                                  \
        if (vk_test_cur_fail) {                                                \
            vk_test_failed++;                                                  \
            fprintf(stderr, "FAIL %s\n", #fn);                                 \
        } else {                                                               \
            vk_test_passed++;                                                  \
        }                                                                      \
    } while (0)

static inline int vk_test_summary(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, vk_test_passed, vk_test_failed);
    return vk_test_failed ? 1 : 0;
}

#endif
