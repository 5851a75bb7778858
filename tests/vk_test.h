/* vk_test: the tiny test harness every tests/test_<module>.c uses.
 *
 *     static void test_parse(void) { CHECK(x == 1); CHECK_EQ_INT(a, b); }
 *     static void test_device(void) { if (!dev) SKIP("no device at %s", p); ... }
 *     int main(void) { RUN(test_parse); RUN(test_device); return vk_test_summary("genome"); }
 *
 * CHECK records a failure with file:line and continues. SKIP(fmt, ...)
 * prints "SKIP test_x: reason" and leaves the test function; RUN counts the
 * test as skipped, not passed. A test function that neither checked
 * anything nor skipped fails, and so does a program that made no check.
 * vk_test_seed(what, seed) records a seed the data was drawn from; a
 * failing test prints every seed recorded, so the failure can be
 * replayed. The summary prints "name: N passed, N failed, N skipped
 * (N checks)" and returns the process exit code: 0, 1 on any failure, or
 * VK_TEST_EXIT_SKIP when every test was skipped (tests/run.sh reports
 * the skips). Single-threaded: CHECK from the main thread only. */
#ifndef VK_TEST_H
#define VK_TEST_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define VK_TEST_EXIT_SKIP 77 /* every test skipped (the automake convention) */

/* the harness's state, one copy per program (unused where only the
   fixture's header pulls it in) */
#define VK_TEST_STATE static __attribute__((unused))
VK_TEST_STATE int vk_test_checks, vk_test_cur_fail, vk_test_cur_skip;
VK_TEST_STATE int vk_test_passed, vk_test_failed, vk_test_skipped;
VK_TEST_STATE const char *vk_test_cur_name = "";

#define VK_TEST_MAX_SEEDS 16
VK_TEST_STATE struct {
    const char *what;
    uint64_t seed;
} vk_test_seeds[VK_TEST_MAX_SEEDS];
VK_TEST_STATE int vk_test_n_seeds;

/* Records that `what` was drawn from seed (what is borrowed: a literal).
 * A seed recorded again under the same name replaces the old one. */
static inline void vk_test_seed(const char *what, uint64_t seed)
{
    int i = 0;
    while (i < vk_test_n_seeds && strcmp(vk_test_seeds[i].what, what))
        i++;
    if (i == VK_TEST_MAX_SEEDS)
        return;
    vk_test_seeds[i].what = what;
    vk_test_seeds[i].seed = seed;
    if (i == vk_test_n_seeds)
        vk_test_n_seeds++;
}

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

static inline void vk_test_skip_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void vk_test_skip_msg(const char *fmt, ...)
{
    va_list ap;
    printf("SKIP %s: ", vk_test_cur_name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    vk_test_cur_skip = 1;
}

/* Skips the rest of the current test function, saying why. */
#define SKIP(...)                                                              \
    do {                                                                       \
        vk_test_skip_msg(__VA_ARGS__);                                         \
        return;                                                                \
    } while (0)

static inline void vk_test_print_seeds(void)
{
    for (int i = 0; i < vk_test_n_seeds; i++)
        fprintf(stderr, "  seed %s = 0x%016llx\n", vk_test_seeds[i].what,
                (unsigned long long)vk_test_seeds[i].seed);
}

#define RUN(fn)                                                                \
    do {                                                                       \
        int checks0_ = vk_test_checks;                                         \
        vk_test_cur_fail = vk_test_cur_skip = 0;                               \
        vk_test_cur_name = #fn;                                                \
        fn();                                                                  \
        if (!vk_test_cur_fail && !vk_test_cur_skip && vk_test_checks == checks0_) { \
            vk_test_cur_fail = 1;                                              \
            fprintf(stderr, "%s: made no check\n", #fn);                       \
        }                                                                      \
        if (vk_test_cur_fail) {                                                \
            vk_test_failed++;                                                  \
            fprintf(stderr, "FAIL %s\n", #fn);                                 \
            vk_test_print_seeds();                                             \
        } else if (vk_test_cur_skip) {                                         \
            vk_test_skipped++;                                                 \
        } else {                                                               \
            vk_test_passed++;                                                  \
        }                                                                      \
    } while (0)

static inline int vk_test_summary(const char *name)
{
    printf("%s: %d passed, %d failed, %d skipped (%d checks)\n", name, vk_test_passed,
           vk_test_failed, vk_test_skipped, vk_test_checks);
    if (vk_test_failed)
        return 1;
    if (vk_test_checks == 0 && vk_test_skipped == 0) {
        fprintf(stderr, "%s: no check was made\n", name);
        return 1;
    }
    return vk_test_passed == 0 && vk_test_skipped > 0 ? VK_TEST_EXIT_SKIP : 0;
}

#endif
