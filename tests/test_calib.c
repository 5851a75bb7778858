/* test_calib: the calibration cache: a second request is a hit that
 * computes nothing and gives the same bytes; another checkpoint, other
 * weights or another calibration set miss; a corrupt, truncated or foreign
 * entry is rebuilt with a warning naming it; the folder follows
 * VITSKIP_CACHE / XDG_CACHE_HOME / HOME; an unwritable folder costs a
 * warning, not the result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/vk_calib.h"
#include "host/vk_sha256.h"
#include "host/vk_workload.h"
#include "tests/vk_test.h"

static char dir[64];
static char warned[2048];
static int n_warn, n_progress, last_done, last_total, first_done = -1;

static void on_warn(void *ctx, const char *msg)
{
    (void)ctx;
    n_warn++;
    snprintf(warned, sizeof warned, "%s", msg);
}

static void on_progress(void *ctx, int done, int total)
{
    (void)ctx;
#pragma omp critical(test_calib_progress)
    {
        if (n_progress++ == 0)
            first_done = done;
        if (done > last_done)
            last_done = done;
        last_total = total;
    }
}

static void tiny_model(vk_model *m, uint64_t seed)
{
    vk_hparams hp = {.image_size = 8, .patch_size = 4, .n_channels = 1, .dim = 16,
                     .n_layers = 2, .n_heads = 2, .mlp_dim = 32, .n_classes = 3,
                     .ln_eps = 1e-6f, .act = VK_ACT_GELU};
    vk_err err = {{0}};
    if (vk_model_alloc(m, &hp, &err) != VK_OK) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    vk_model_randomize(m, seed);
}

static void images(vk_dataset *ds, int n, int salt)
{
    memset(ds, 0, sizeof *ds);
    ds->n = n;
    ds->channels = 1;
    ds->height = ds->width = 8;
    ds->pixels = malloc((size_t)n * 64);
    ds->labels = calloc((size_t)n, sizeof(int));
    for (int i = 0; i < n * 64; i++)
        ds->pixels[i] = (uint8_t)(i * 37 + salt);
}

/* Gets a blob through the cache; returns how, fills the blob's hash. */
static vk_calib_result get(const vk_model *m, const vk_dataset *cal, const char *cache,
                           uint8_t hash[32])
{
    vk_calib_opts o = {.dir = cache, .progress = on_progress, .warn = on_warn};
    vk_calib_result how = (vk_calib_result)-1;
    vk_qmodel q;
    vk_err err = {{0}};
    n_progress = 0;
    last_done = 0;
    CHECK_EQ_INT(vk_calib_get(m, cal, &o, &q, &how, &err), VK_OK);
    if (err.msg[0])
        fprintf(stderr, "%s\n", err.msg);
    memcpy(hash, q.hash, 32);
    vk_qmodel_free(&q);
    return how;
}

static void entry_path(const vk_model *m, const vk_dataset *cal, const char *cache, char *out)
{
    uint8_t key[32];
    char hex[65];
    vk_calib_key(m, cal, key);
    vk_sha256_hex(key, hex);
    snprintf(out, 512, "%s/%s.vkc", cache, hex);
}

static void test_hit_and_miss(void)
{
    char cache[128];
    vk_model m, other;
    vk_dataset cal, cal2;
    vk_qmodel direct;
    vk_err err = {{0}};
    uint8_t h1[32], h2[32];
    snprintf(cache, sizeof cache, "%s/a/b/cache", dir); /* parents created too */
    tiny_model(&m, 1);
    images(&cal, 10, 0);
    /* first: computed (with progress at the start, 0 done, and over every
       image) and stored */
    CHECK_EQ_INT(get(&m, &cal, cache, h1), VK_CALIB_MISS);
    CHECK_EQ_INT(last_done, 10);
    CHECK_EQ_INT(last_total, 10);
    CHECK_EQ_INT(n_progress, 11);
    CHECK_EQ_INT(first_done, 0);
    /* the same bytes as calibrating directly */
    size_t img_n = 64;
    float *f = malloc(10 * img_n * sizeof(float));
    for (int i = 0; i < 10; i++)
        vk_dataset_normalize(&cal, &m, i, f + i * img_n);
    CHECK_EQ_INT(vk_quant_calibrate(&m, f, 10, &direct, &err), VK_OK);
    CHECK(memcmp(direct.hash, h1, 32) == 0);
    vk_qmodel_free(&direct);
    free(f);
    /* second: a hit, nothing computed, same blob */
    CHECK_EQ_INT(get(&m, &cal, cache, h2), VK_CALIB_HIT);
    CHECK_EQ_INT(n_progress, 0);
    CHECK(memcmp(h1, h2, 32) == 0);
    /* other weights: a miss */
    tiny_model(&other, 2);
    CHECK_EQ_INT(get(&other, &cal, cache, h2), VK_CALIB_MISS);
    CHECK(memcmp(h1, h2, 32) != 0);
    /* the same tensors, from a file with another digest: a miss */
    memset(other.sha256, 0, 32);
    vk_model_free(&other);
    tiny_model(&other, 1);
    other.sha256[0] = 1;
    CHECK_EQ_INT(get(&other, &cal, cache, h2), VK_CALIB_MISS);
    CHECK_EQ_INT(get(&other, &cal, cache, h2), VK_CALIB_HIT);
    /* other preprocessing: a miss */
    other.mean[0] = 0.25f;
    CHECK_EQ_INT(get(&other, &cal, cache, h2), VK_CALIB_MISS);
    /* another calibration set: one pixel changed, then one image more */
    images(&cal2, 10, 0);
    cal2.pixels[5]++;
    CHECK_EQ_INT(get(&m, &cal2, cache, h2), VK_CALIB_MISS);
    vk_dataset_free(&cal2);
    images(&cal2, 11, 0);
    CHECK_EQ_INT(get(&m, &cal2, cache, h2), VK_CALIB_MISS);
    vk_dataset_free(&cal2);
    CHECK_EQ_INT(get(&m, &cal, cache, h2), VK_CALIB_HIT);
    CHECK(memcmp(h1, h2, 32) == 0);
    CHECK_EQ_INT(n_warn, 0);
    /* off: computed, nothing read or written */
    vk_calib_opts off = {.dir = cache, .off = 1, .warn = on_warn};
    vk_calib_result how;
    vk_qmodel q;
    CHECK_EQ_INT(vk_calib_get(&m, &cal, &off, &q, &how, &err), VK_OK);
    CHECK_EQ_INT(how, VK_CALIB_UNCACHED);
    CHECK(memcmp(q.hash, h1, 32) == 0);
    vk_qmodel_free(&q);
    vk_model_free(&other);
    vk_model_free(&m);
    vk_dataset_free(&cal);
}

static void write_bytes(const char *path, const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
}

static void test_corrupt_rebuilt(void)
{
    char cache[128], path[512];
    vk_model m;
    vk_dataset cal;
    uint8_t h1[32], h2[32], buf[1 << 16];
    snprintf(cache, sizeof cache, "%s/corrupt", dir);
    tiny_model(&m, 3);
    images(&cal, 6, 1);
    CHECK_EQ_INT(get(&m, &cal, cache, h1), VK_CALIB_MISS);
    entry_path(&m, &cal, cache, path);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (!f)
        return;
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    CHECK(n > 40 && n < sizeof buf);
    struct {
        const char *what, *detail;
        size_t len;
        int flip; /* byte to flip, -1 none */
    } cases[] = {{"a flipped weight byte", "does not match the SHA-256", n, (int)n - 3},
                 {"a flipped digest byte", "does not match the SHA-256", n, 12},
                 {"a truncated entry", "does not match the SHA-256", n - 100, -1},
                 {"a header only", "shorter than its header", 20, -1},
                 {"another magic", "magic VKCC0001", n, 3},
                 {"an empty file", "shorter than its header", 0, -1}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint8_t bad[1 << 16];
        memcpy(bad, buf, n);
        if (cases[c].flip >= 0)
            bad[cases[c].flip] ^= 0x5A;
        write_bytes(path, bad, cases[c].len);
        n_warn = 0;
        warned[0] = 0;
        CHECK_EQ_INT(get(&m, &cal, cache, h2), VK_CALIB_REBUILT);
        CHECK_EQ_INT(n_warn, 1);
        CHECK_STR_CONTAINS(warned, path);
        CHECK_STR_CONTAINS(warned, cases[c].detail);
        CHECK_STR_CONTAINS(warned, "calibrating again");
        CHECK(memcmp(h1, h2, 32) == 0);
        if (vk_test_cur_fail)
            fprintf(stderr, "case: %s\n", cases[c].what);
        /* rewritten whole: the next request is a hit */
        CHECK_EQ_INT(get(&m, &cal, cache, h2), VK_CALIB_HIT);
    }
    vk_model_free(&m);
    vk_dataset_free(&cal);
}

static void test_dir_and_unwritable(void)
{
    char out[1024], cache[160], path[128];
    vk_err err = {{0}};
    setenv("VITSKIP_CACHE", "/v/c", 1);
    setenv("XDG_CACHE_HOME", "/x/c", 1);
    setenv("HOME", "/h", 1);
    CHECK_EQ_INT(vk_calib_dir("/given", out, sizeof out, &err), VK_OK);
    CHECK(!strcmp(out, "/given"));
    CHECK_EQ_INT(vk_calib_dir(NULL, out, sizeof out, &err), VK_OK);
    CHECK(!strcmp(out, "/v/c"));
    unsetenv("VITSKIP_CACHE");
    CHECK_EQ_INT(vk_calib_dir(NULL, out, sizeof out, &err), VK_OK);
    CHECK(!strcmp(out, "/x/c/vitskip"));
    setenv("XDG_CACHE_HOME", "", 1);
    CHECK_EQ_INT(vk_calib_dir(NULL, out, sizeof out, &err), VK_OK);
    CHECK(!strcmp(out, "/h/.cache/vitskip"));
    unsetenv("XDG_CACHE_HOME");
    unsetenv("HOME");
    CHECK_EQ_INT(vk_calib_dir(NULL, out, sizeof out, &err), VK_E_ARG);
    CHECK_STR_CONTAINS(err.msg, "VITSKIP_CACHE");
    /* no folder at all: calibrated with a warning */
    vk_model m;
    vk_dataset cal;
    uint8_t h[32];
    tiny_model(&m, 4);
    images(&cal, 4, 2);
    n_warn = 0;
    CHECK_EQ_INT(get(&m, &cal, NULL, h), VK_CALIB_UNCACHED);
    CHECK_EQ_INT(n_warn, 1);
    CHECK_STR_CONTAINS(warned, "cache off");
    /* a folder that cannot be created (a file is in the way) */
    snprintf(path, sizeof path, "%s/plainfile", dir);
    write_bytes(path, (const uint8_t *)"x", 1);
    snprintf(cache, sizeof cache, "%s/sub", path);
    n_warn = 0;
    CHECK_EQ_INT(get(&m, &cal, cache, h), VK_CALIB_UNCACHED);
    CHECK_EQ_INT(n_warn, 1);
    CHECK_STR_CONTAINS(warned, "not written");
    vk_model_free(&m);
    vk_dataset_free(&cal);
}

/* Every command opens a workload: the second one reads the blob. */
static void test_workload_reuses(void)
{
    struct stat st;
    char cache[128];
    vk_workload a, b;
    vk_err err = {{0}};
    if (stat("models/demo/config.json", &st) != 0) {
        printf("workload: models/demo absent, skipped\n");
        return;
    }
    snprintf(cache, sizeof cache, "%s/wl", dir);
    vk_workload_opts o = {.model = "models/demo",
                          .data = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
                          .limit = 20, .calib_n = 64, .quiet = 1, .cache = {.dir = cache}};
    CHECK_EQ_INT(vk_workload_open(&o, &a, &err), VK_OK);
    if (err.msg[0]) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    CHECK_EQ_INT(a.calib, VK_CALIB_MISS);
    CHECK_EQ_INT(vk_workload_open(&o, &b, &err), VK_OK);
    CHECK_EQ_INT(b.calib, VK_CALIB_HIT);
    CHECK(!strcmp(a.model_hash, b.model_hash));
    CHECK(!strcmp(a.ckpt_hash, b.ckpt_hash));
    uint8_t d[32];
    char hex[65];
    CHECK_EQ_INT(vk_sha256_file("models/demo/model.safetensors", d, &err), VK_OK);
    vk_sha256_hex(d, hex);
    CHECK(!strcmp(a.ckpt_hash, hex));
    vk_workload_free(&a);
    vk_workload_free(&b);
    /* more calibration images: another key */
    o.calib_n = 65;
    CHECK_EQ_INT(vk_workload_open(&o, &a, &err), VK_OK);
    CHECK_EQ_INT(a.calib, VK_CALIB_MISS);
    vk_workload_free(&a);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/vk_calib_XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_hit_and_miss);
    RUN(test_corrupt_rebuilt);
    RUN(test_workload_reuses);
    RUN(test_dir_and_unwritable);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return vk_test_summary("calib");
}
