/* test_hwmon: the INA226 sampler on fixture trees — rails found and named
 * (tests/fixtures/hwmon: two INA226 monitors and a PMBus regulator with a
 * large power1_input that must not be counted), the integrated energy of
 * constant rails equals power x elapsed time, a rail whose power changes
 * while sampling integrates to the piecewise sum (which a sampler that only
 * read at start and stop would miss by far), malformed monitors are skipped
 * with warnings or fail the open when none is usable, a rail vanishing
 * while sampling fails the stop, and API misuse is refused. */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "boards/vk_hwmon.h"
#include "tests/vk_test.h"

#define FIXTURE "tests/fixtures/hwmon"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void put(const char *path, const char *text)
{
    char tmp[4200];
    FILE *f;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
    CHECK(rename(tmp, path) == 0); /* atomic: the sampler never sees half a file */
}

/* root/class/hwmon/hwmon<idx>/ with a name and, unless NULL, power1_input. */
static void mk_mon(const char *root, int idx, const char *name, const char *power)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/class", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/class/hwmon", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/class/hwmon/hwmon%d", root, idx);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/class/hwmon/hwmon%d/name", root, idx);
    put(p, name);
    if (power) {
        snprintf(p, sizeof p, "%s/class/hwmon/hwmon%d/power1_input", root, idx);
        put(p, power);
    }
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void rm_tree(const char *root)
{
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_fixture_rails(void)
{
    vk_hwmon *h = NULL;
    vk_err err = {{0}};
    char desc[512];
    double w = 0;
    CHECK_EQ_INT(vk_hwmon_open(FIXTURE, &h, &err), VK_OK);
    if (!h) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    CHECK_EQ_INT(vk_hwmon_n_rails(h), 2);
    CHECK(!strcmp(vk_hwmon_rail(h, 0), "VCCPSINTFP"));
    CHECK(!strcmp(vk_hwmon_device(h, 0), "ina226_u76"));
    CHECK(!strcmp(vk_hwmon_rail(h, 1), "VCCINT"));
    CHECK(!strcmp(vk_hwmon_device(h, 1), "ina226_u79"));
    CHECK(!strcmp(vk_hwmon_warnings(h), ""));
    CHECK_EQ_INT(vk_hwmon_update_ms(h), 35);
    vk_hwmon_describe(h, desc, sizeof desc);
    CHECK(!strcmp(desc, "sum of 2 INA226 rails: VCCPSINTFP (ina226_u76), VCCINT (ina226_u79); "
                        "not 12 V wall power"));
    CHECK_EQ_INT(vk_hwmon_read_w(h, &w, &err), VK_OK);
    CHECK(fabs(w - 3.75) < 1e-12); /* 1.5 W + 2.25 W; the 100 W regulator is not an INA226 */
    vk_hwmon_close(h);
}

/* Constant rails: energy = 3.75 W x elapsed, the mean exactly 3.75 W. */
static void test_constant_energy(void)
{
    vk_hwmon *h = NULL;
    vk_err err = {{0}};
    double e = -1, w = -1, t0, t;
    if (vk_hwmon_open(FIXTURE, &h, &err) != VK_OK) {
        CHECK(0);
        return;
    }
    t0 = now_s();
    CHECK_EQ_INT(vk_hwmon_start(h, 5, &err), VK_OK);
    sleep_ms(250);
    CHECK_EQ_INT(vk_hwmon_stop(h, &e, &w, &err), VK_OK);
    t = now_s() - t0;
    /* the sampler's interval lies inside [t0, now] and misses only the
       first and last file reads */
    CHECK(e <= 3.75 * t + 1e-9);
    CHECK(e >= 3.75 * (t - 0.02));
    CHECK(fabs(w - 3.75) < 1e-9);
    /* a second run starts from zero */
    CHECK_EQ_INT(vk_hwmon_start(h, 5, &err), VK_OK);
    sleep_ms(50);
    CHECK_EQ_INT(vk_hwmon_stop(h, &e, &w, &err), VK_OK);
    CHECK(e > 0 && e < 3.75 * 0.5);
    vk_hwmon_close(h);
}

/* 1 W, then 5 W, then 1 W, about 300 ms each: energy = sum of the pieces.
 * Reading only at start and stop would give about 1 W x 0.9 s. */
static void test_varying_energy(void)
{
    char root[] = "/tmp/vk_hwmon_XXXXXX", p[4096];
    vk_hwmon *h = NULL;
    vk_err err = {{0}};
    double e = -1, w = -1, ta, tb, tc, td, want;
    if (!mkdtemp(root)) {
        CHECK(0);
        return;
    }
    mk_mon(root, 0, "ina226_u79\n", "1000000\n");
    snprintf(p, sizeof p, "%s/class/hwmon/hwmon0/power1_input", root);
    CHECK_EQ_INT(vk_hwmon_open(root, &h, &err), VK_OK);
    if (h) {
        ta = now_s();
        CHECK_EQ_INT(vk_hwmon_start(h, 2, &err), VK_OK);
        sleep_ms(300);
        tb = now_s();
        put(p, "5000000\n");
        sleep_ms(300);
        tc = now_s();
        put(p, "1000000\n");
        sleep_ms(300);
        CHECK_EQ_INT(vk_hwmon_stop(h, &e, &w, &err), VK_OK);
        td = now_s();
        want = 1.0 * (tb - ta) + 5.0 * (tc - tb) + 1.0 * (td - tc);
        CHECK(fabs(e - want) < 0.2); /* about 50 ms of sampler delay at 4 W */
        CHECK(fabs(w * (td - ta) - e) < 0.1);
        vk_hwmon_close(h);
    }
    rm_tree(root);
}

static void test_malformed(void)
{
    char root[] = "/tmp/vk_hwmon_XXXXXX";
    vk_hwmon *h = NULL, *none = NULL;
    vk_err err = {{0}};
    double w = 0;
    const char *warn;
    if (!mkdtemp(root)) {
        CHECK(0);
        return;
    }
    mk_mon(root, 0, "ina226_u76\n", "abc\n");
    mk_mon(root, 1, "ina226_u77\n", NULL);
    mk_mon(root, 2, "ina226_u79\n", "2000000\n");
    mk_mon(root, 3, "ina226_u80\n", "-5\n");
    mk_mon(root, 10, "ina226\n", "1000\n");
    mk_mon(root, 4, "coretemp\n", NULL);
    CHECK_EQ_INT(vk_hwmon_open(root, &h, &err), VK_OK);
    if (h) {
        CHECK_EQ_INT(vk_hwmon_n_rails(h), 2);
        CHECK(!strcmp(vk_hwmon_rail(h, 0), "VCCINT")); /* hwmon2 before hwmon10 */
        CHECK(!strcmp(vk_hwmon_rail(h, 1), "ina226")); /* no designator: the device name */
        warn = vk_hwmon_warnings(h);
        CHECK_STR_CONTAINS(warn, "ina226_u76 skipped");
        CHECK_STR_CONTAINS(warn, "'abc'");
        CHECK_STR_CONTAINS(warn, "ina226_u77 skipped: cannot read");
        CHECK_STR_CONTAINS(warn, "hwmon1/power1_input");
        CHECK_STR_CONTAINS(warn, "ina226_u80 skipped");
        CHECK(!strstr(warn, "coretemp"));
        CHECK_EQ_INT(vk_hwmon_update_ms(h), 0);
        CHECK_EQ_INT(vk_hwmon_read_w(h, &w, &err), VK_OK);
        CHECK(fabs(w - 2.001) < 1e-12);
        vk_hwmon_close(h);
    }
    rm_tree(root);

    /* INA226 monitors, none usable: an error naming each */
    if (!mkdtemp(strcpy(root, "/tmp/vk_hwmon_XXXXXX"))) {
        CHECK(0);
        return;
    }
    mk_mon(root, 0, "ina226_u76\n", "12x\n");
    mk_mon(root, 1, "ina226_u77\n", NULL);
    CHECK_EQ_INT(vk_hwmon_open(root, &none, &err), VK_E_FORMAT);
    CHECK(none == NULL);
    CHECK_STR_CONTAINS(err.msg, "no usable INA226 rail");
    CHECK_STR_CONTAINS(err.msg, "ina226_u76");
    CHECK_STR_CONTAINS(err.msg, "ina226_u77");
    rm_tree(root);

    /* hwmon devices but no INA226; no hwmon folder at all */
    if (!mkdtemp(strcpy(root, "/tmp/vk_hwmon_XXXXXX"))) {
        CHECK(0);
        return;
    }
    mk_mon(root, 0, "irps5401\n", "5000000\n");
    CHECK_EQ_INT(vk_hwmon_open(root, &none, &err), VK_E_NOTFOUND);
    CHECK_STR_CONTAINS(err.msg, "no INA226 power monitors");
    rm_tree(root);
    CHECK_EQ_INT(vk_hwmon_open("/nonexistent-vk", &none, &err), VK_E_NOTFOUND);
    CHECK_STR_CONTAINS(err.msg, "/nonexistent-vk/class/hwmon");
    CHECK(none == NULL);
}

/* A rail that disappears while sampling fails the stop, naming the file. */
static void test_sample_failure(void)
{
    char root[] = "/tmp/vk_hwmon_XXXXXX", p[4096];
    vk_hwmon *h = NULL;
    vk_err err = {{0}};
    double e = -7, w = -7;
    if (!mkdtemp(root)) {
        CHECK(0);
        return;
    }
    mk_mon(root, 0, "ina226_u76\n", "1000000\n");
    snprintf(p, sizeof p, "%s/class/hwmon/hwmon0/power1_input", root);
    CHECK_EQ_INT(vk_hwmon_open(root, &h, &err), VK_OK);
    if (h) {
        CHECK_EQ_INT(vk_hwmon_start(h, 1, &err), VK_OK);
        CHECK(remove(p) == 0);
        sleep_ms(30);
        CHECK_EQ_INT(vk_hwmon_stop(h, &e, &w, &err), VK_E_IO);
        CHECK_STR_CONTAINS(err.msg, "hwmon0/power1_input");
        CHECK(e == -7 && w == -7);
        /* the sampler stopped; start fails while the file is missing, then
           works again */
        CHECK_EQ_INT(vk_hwmon_start(h, 1, &err), VK_E_IO);
        put(p, "1000000\n");
        CHECK_EQ_INT(vk_hwmon_start(h, 1, &err), VK_OK);
        CHECK_EQ_INT(vk_hwmon_stop(h, &e, &w, &err), VK_OK);
        CHECK(fabs(w - 1.0) < 1e-9);
        vk_hwmon_close(h);
    }
    rm_tree(root);
}

static void test_misuse(void)
{
    vk_hwmon *h = NULL;
    vk_err err = {{0}};
    double e, w;
    CHECK_EQ_INT(vk_hwmon_open(NULL, &h, &err), VK_E_ARG);
    if (vk_hwmon_open(FIXTURE, &h, &err) != VK_OK) {
        CHECK(0);
        return;
    }
    CHECK_EQ_INT(vk_hwmon_stop(h, &e, &w, &err), VK_E_ARG);
    CHECK_EQ_INT(vk_hwmon_start(h, 0, &err), VK_E_ARG);
    CHECK_EQ_INT(vk_hwmon_start(h, 10001, &err), VK_E_ARG);
    CHECK_EQ_INT(vk_hwmon_start(h, 10, &err), VK_OK);
    CHECK_EQ_INT(vk_hwmon_start(h, 10, &err), VK_E_ARG);
    vk_hwmon_close(h); /* stops the running sampler */
    vk_hwmon_close(NULL);
}

int main(void)
{
    RUN(test_fixture_rails);
    RUN(test_constant_energy);
    RUN(test_varying_energy);
    RUN(test_malformed);
    RUN(test_sample_failure);
    RUN(test_misuse);
    return vk_test_summary("hwmon");
}
