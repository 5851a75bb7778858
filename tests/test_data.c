/* test_data: IDX files (plain and gzip, written here with zlib) and image
 * folders (PNG via libpng, JPEG via libjpeg, written here), every malformed
 * case named in vk_data.h, and the real Fashion-MNIST test set. */
#include <stdio.h>
/* jpeglib.h needs FILE from stdio.h first */
#include <jpeglib.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "host/vk_data.h"
#include "tests/vk_test.h"

#define FMNIST "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"

static char dir[64];

/* A model of the given input shape; labels NULL keeps "0".."K-1". */
static void model(vk_model *m, int channels, int side, int classes, const char *const *labels)
{
    vk_hparams hp = {.image_size = side,
                     .patch_size = 2,
                     .n_channels = channels,
                     .dim = 8,
                     .n_layers = 1,
                     .n_heads = 2,
                     .mlp_dim = 8,
                     .n_classes = classes,
                     .ln_eps = 1e-6f,
                     .act = VK_ACT_GELU};
    vk_err err = {{0}};
    if (vk_model_alloc(m, &hp, &err) != VK_OK) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    for (int k = 0; labels && k < classes; k++) {
        free(m->labels[k]);
        m->labels[k] = strdup(labels[k]);
    }
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* dir/name into out[256]; returns out. */
static char *path_of(char *out, const char *name)
{
    snprintf(out, 256, "%s/%s", dir, name);
    return out;
}

/* Writes bytes to dir/name, gzip-compressed when gz. */
static void write_file(const char *name, const uint8_t *b, size_t n, int gz)
{
    char path[256];
    path_of(path, name);
    if (gz) {
        gzFile f = gzopen(path, "wb");
        gzwrite(f, b, (unsigned)n);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        fwrite(b, 1, n, f);
        fclose(f);
    }
}

/* IDX pair: n images of h x w with pixel (y, x) of image i = pix(i, y, x). */
static size_t idx_images(uint8_t *b, uint32_t magic, uint32_t n, int h, int w)
{
    put_be32(b, magic);
    put_be32(b + 4, n);
    put_be32(b + 8, (uint32_t)h);
    put_be32(b + 12, (uint32_t)w);
    for (uint32_t i = 0; i < n; i++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                b[16 + (i * h + y) * w + x] = (uint8_t)(i * 3 + 16 * y + 2 * x);
    return 16 + (size_t)n * h * w;
}

static size_t idx_labels(uint8_t *b, uint32_t n, const uint8_t *labels)
{
    put_be32(b, 0x00000801);
    put_be32(b + 4, n);
    memcpy(b + 8, labels, n);
    return 8 + n;
}

/* Expects vk_dataset_load_idx to fail with a message naming `who`. */
static void idx_fails(const char *img, const char *lab, const vk_model *m, vk_status want,
                      const char *who, const char *detail)
{
    vk_dataset ds, before;
    vk_err err = {{0}};
    memset(&ds, 0x77, sizeof ds);
    memcpy(&before, &ds, sizeof ds);
    CHECK_EQ_INT(vk_dataset_load_idx(img, lab, m, 0, &ds, &err), want);
    CHECK(memcmp(&ds, &before, sizeof ds) == 0);
    CHECK_STR_CONTAINS(err.msg, who);
    if (detail)
        CHECK_STR_CONTAINS(err.msg, detail);
}

static void test_idx(void)
{
    static uint8_t ib[16 + 3 * 16 + 1], lb[8 + 3 + 1];
    const uint8_t labels[3] = {3, 7, 1};
    vk_model m;
    vk_dataset ds;
    vk_err err = {{0}};
    model(&m, 1, 4, 10, NULL);
    size_t in = idx_images(ib, 0x00000803, 3, 4, 4), ln = idx_labels(lb, 3, labels);
    for (int gz = 0; gz < 2; gz++) {
        char img[256];
        path_of(img, gz ? "t-images-idx3-ubyte.gz" : "t-images-idx3-ubyte");
        write_file(gz ? "t-images-idx3-ubyte.gz" : "t-images-idx3-ubyte", ib, in, gz);
        write_file(gz ? "t-labels-idx1-ubyte.gz" : "t-labels-idx1-ubyte", lb, ln, gz);
        CHECK_EQ_INT(vk_dataset_load(img, &m, 0, &ds, &err), VK_OK);
        if (err.msg[0]) {
            fprintf(stderr, "%s\n", err.msg);
            continue;
        }
        CHECK_EQ_INT(ds.n, 3);
        CHECK_EQ_INT(ds.channels, 1);
        CHECK_EQ_INT(ds.height, 4);
        CHECK_EQ_INT(ds.width, 4);
        CHECK(!strcmp(ds.source, img));
        CHECK_EQ_INT(ds.labels[0], 3);
        CHECK_EQ_INT(ds.labels[2], 1);
        CHECK_EQ_INT(ds.pixels[16 * 2 + 4 * 3 + 1], 2 * 3 + 16 * 3 + 2);
        float out[16];
        vk_dataset_normalize(&ds, &m, 1, out); /* mean 0.5, std 0.5 */
        CHECK(out[5] == ((3 + 16 + 2) / 255.0f - 0.5f) / 0.5f);
        vk_dataset_free(&ds);
        CHECK(ds.pixels == NULL && ds.n == 0);

        CHECK_EQ_INT(vk_dataset_load(img, &m, 2, &ds, &err), VK_OK);
        CHECK_EQ_INT(ds.n, 2);
        vk_dataset_free(&ds);
    }
    vk_dataset_free(NULL);

    char img[256], lab[256], gz[256];
    path_of(img, "a-images-idx3-ubyte");
    path_of(lab, "a-labels-idx1-ubyte");
    write_file("a-images-idx3-ubyte", ib, in, 0);
    write_file("a-labels-idx1-ubyte", lb, ln, 0);
    /* wrong magic, each file */
    put_be32(ib, 0x00000801);
    write_file("a-images-idx3-ubyte", ib, in, 0);
    idx_fails(img, lab, &m, VK_E_FORMAT, img, "magic");
    put_be32(ib, 0x00000803);
    write_file("a-images-idx3-ubyte", ib, in, 0);
    put_be32(lb, 0x00000803);
    write_file("a-labels-idx1-ubyte", lb, ln, 0);
    idx_fails(img, lab, &m, VK_E_FORMAT, lab, "magic");
    put_be32(lb, 0x00000801);
    /* counts that disagree */
    put_be32(lb + 4, 2);
    write_file("a-labels-idx1-ubyte", lb, ln - 1, 0);
    idx_fails(img, lab, &m, VK_E_FORMAT, lab, "2 labels");
    put_be32(lb + 4, 3);
    write_file("a-labels-idx1-ubyte", lb, ln, 0);
    /* truncated and trailing image data */
    write_file("a-images-idx3-ubyte", ib, in - 1, 0);
    idx_fails(img, lab, &m, VK_E_FORMAT, img,
              "63 bytes, but the header (3 images of 4x4) needs 64");
    write_file("a-images-idx3-ubyte", ib, in + 1, 0);
    idx_fails(img, lab, &m, VK_E_FORMAT, img, "65 bytes");
    write_file("a-images-idx3-ubyte", ib, in, 0);
    /* trailing label byte */
    write_file("a-labels-idx1-ubyte", lb, ln + 1, 0);
    idx_fails(img, lab, &m, VK_E_FORMAT, lab, NULL);
    /* label beyond the model's classes */
    lb[8 + 2] = 10;
    write_file("a-labels-idx1-ubyte", lb, ln, 0);
    idx_fails(img, lab, &m, VK_E_FORMAT, lab, "label 10 of image 2");
    lb[8 + 2] = 1;
    write_file("a-labels-idx1-ubyte", lb, ln, 0);
    /* a header too short to hold the counts */
    write_file("a-images-idx3-ubyte", ib, 10, 0);
    idx_fails(img, lab, &m, VK_E_FORMAT, img, NULL);
    write_file("a-images-idx3-ubyte", ib, in, 0);
    idx_fails("/nonexistent/x-images-idx3-ubyte", lab, &m, VK_E_IO,
              "/nonexistent/x-images-idx3-ubyte", NULL);

    /* a gzip stream cut short, and one with a corrupt body */
    path_of(gz, "g-images-idx3-ubyte.gz");
    write_file("g-images-idx3-ubyte.gz", ib, in, 1);
    FILE *f = fopen(gz, "rb");
    uint8_t whole[4096];
    size_t gn = fread(whole, 1, sizeof whole, f);
    fclose(f);
    write_file("g-images-idx3-ubyte.gz", whole, gn - 12, 0);
    idx_fails(gz, lab, &m, VK_E_FORMAT, gz, "gzip");
    whole[gn / 2] ^= 0x55;
    whole[gn / 2 + 1] ^= 0xAA;
    write_file("g-images-idx3-ubyte.gz", whole, gn, 0);
    idx_fails(gz, lab, &m, VK_E_FORMAT, gz, "gzip");

    /* the labels file derived from the image file's name must exist */
    write_file("g-images-idx3-ubyte.gz", ib, in, 1);
    CHECK_EQ_INT(vk_dataset_load(gz, &m, 0, &ds, &err), VK_E_IO);
    CHECK_STR_CONTAINS(err.msg, "g-labels-idx1-ubyte.gz");
    CHECK_EQ_INT(vk_dataset_load("/etc/hostname", &m, 0, &ds, &err), VK_E_ARG);
    vk_model_free(&m);
}

static void test_idx_resize_and_hash(void)
{
    static uint8_t ib[16 + 2 * 64], lb[8 + 2];
    const uint8_t labels[2] = {0, 1};
    vk_model m;
    vk_dataset a, b;
    vk_err err = {{0}};
    model(&m, 3, 4, 2, NULL);
    char img[256], lab[256];
    write_file("r-images-idx3-ubyte", ib, idx_images(ib, 0x803, 2, 8, 8), 0);
    write_file("r-labels-idx1-ubyte", lb, idx_labels(lb, 2, labels), 0);
    path_of(img, "r-images-idx3-ubyte");
    path_of(lab, "r-labels-idx1-ubyte");
    CHECK_EQ_INT(vk_dataset_load_idx(img, lab, &m, 0, &a, &err), VK_OK);
    if (err.msg[0]) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    CHECK_EQ_INT(a.channels, 3);
    CHECK_EQ_INT(a.height, 4);
    /* halving: each output is the mean of a 2x2 block: 3i + 32Y + 4X + 9;
       grey is replicated into all three channels */
    int ok = 1;
    for (int i = 0; i < 2; i++)
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 4; x++)
                    ok &= a.pixels[((i * 3 + c) * 4 + y) * 4 + x] == 3 * i + 32 * y + 4 * x + 9;
    CHECK(ok);

    uint8_t h1[32], h2[32];
    CHECK_EQ_INT(vk_dataset_load_idx(img, lab, &m, 0, &b, &err), VK_OK);
    vk_dataset_hash(&a, h1);
    vk_dataset_hash(&b, h2);
    CHECK(memcmp(h1, h2, 32) == 0);
    b.labels[1] = 0;
    vk_dataset_hash(&b, h2);
    CHECK(memcmp(h1, h2, 32) != 0);
    b.labels[1] = 1;
    b.pixels[5]++;
    vk_dataset_hash(&b, h2);
    CHECK(memcmp(h1, h2, 32) != 0);
    vk_dataset_free(&a);
    vk_dataset_free(&b);
    vk_model_free(&m);
}

/* ---- image folders ------------------------------------------------------ */

static void mkdirs(const char *sub)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, sub);
    mkdir(p, 0700);
}

static void write_png(const char *name, const uint8_t *rgb, int w, int h)
{
    char p[256];
    png_image img;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)w;
    img.height = (png_uint_32)h;
    img.format = PNG_FORMAT_RGB;
    if (!png_image_write_to_file(&img, p, 0, rgb, 0, NULL))
        fprintf(stderr, "%s: %s\n", p, img.message);
}

static void write_jpeg(const char *name, const uint8_t *rgb, int w, int h)
{
    char p[256];
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 100, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)c.next_scanline * w * 3);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
}

static char root[256];

static const char *folder_fails(const vk_model *m, vk_status want, const char *detail)
{
    static vk_err err;
    vk_dataset ds, before;
    memset(&ds, 0x11, sizeof ds);
    memcpy(&before, &ds, sizeof ds);
    memset(&err, 0, sizeof err);
    CHECK_EQ_INT(vk_dataset_load(root, m, 0, &ds, &err), want);
    CHECK(memcmp(&ds, &before, sizeof ds) == 0);
    if (detail)
        CHECK_STR_CONTAINS(err.msg, detail);
    return err.msg;
}

static void test_folder(void)
{
    static const char *const pets[2] = {"cat", "dog"};
    uint8_t px[8 * 8 * 3], big[8 * 8 * 3], solid[16 * 16 * 3];
    vk_model m, grey;
    vk_dataset ds;
    vk_err err = {{0}};
    char p[256];
    model(&m, 3, 4, 2, pets);
    model(&grey, 1, 4, 2, pets);
    snprintf(root, sizeof root, "%s/pets", dir);
    mkdirs("pets");
    mkdirs("pets/cat");
    mkdirs("pets/dog");
    for (int i = 0; i < 16; i++) {
        px[3 * i] = (uint8_t)(10 * i);
        px[3 * i + 1] = (uint8_t)(255 - 10 * i);
        px[3 * i + 2] = 7;
    }
    write_png("pets/cat/a.png", px, 4, 4);
    /* 8x8 with a value of 16y + 2x per channel + offset, to be halved */
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++)
            for (int c = 0; c < 3; c++)
                big[(y * 8 + x) * 3 + c] = (uint8_t)(16 * y + 2 * x + 50 * c);
    write_png("pets/cat/c.PNG", big, 8, 8);
    for (int i = 0; i < 16 * 16; i++) {
        solid[3 * i] = 200;
        solid[3 * i + 1] = 100;
        solid[3 * i + 2] = 30;
    }
    write_jpeg("pets/dog/b.jpg", solid, 16, 16);
    write_file("pets/dog/readme.txt", (const uint8_t *)"not an image", 12, 0);

    CHECK_EQ_INT(vk_dataset_load(root, &m, 0, &ds, &err), VK_OK);
    if (err.msg[0]) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    CHECK_EQ_INT(ds.n, 3);
    CHECK_EQ_INT(ds.labels[0], 0);
    CHECK_EQ_INT(ds.labels[1], 0);
    CHECK_EQ_INT(ds.labels[2], 1);
    /* a.png: planar R, G, B */
    CHECK_EQ_INT(ds.pixels[0 * 16 + 5], 50);
    CHECK_EQ_INT(ds.pixels[1 * 16 + 5], 205);
    CHECK_EQ_INT(ds.pixels[2 * 16 + 5], 7);
    /* c.PNG halved: 32Y + 4X + 9 + 50c */
    int ok = 1;
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 16; i++)
            ok &= ds.pixels[48 + c * 16 + i] == 32 * (i / 4) + 4 * (i % 4) + 9 + 50 * c;
    CHECK(ok);
    /* b.jpg: a solid colour survives JPEG within a step or two */
    const uint8_t *j = ds.pixels + 2 * 48;
    CHECK(abs(j[0] - 200) <= 2 && abs(j[16 + 7] - 100) <= 2 && abs(j[32 + 15] - 30) <= 2);
    vk_dataset_free(&ds);

    CHECK_EQ_INT(vk_dataset_load(root, &m, 2, &ds, &err), VK_OK);
    CHECK_EQ_INT(ds.n, 2);
    vk_dataset_free(&ds);

    /* RGB to grey by PIL's luma: (10i, 255-10i, 7) */
    CHECK_EQ_INT(vk_dataset_load(root, &grey, 1, &ds, &err), VK_OK);
    CHECK_EQ_INT(ds.channels, 1);
    CHECK_EQ_INT(ds.pixels[5], (50 * 19595 + 205 * 38470 + 7 * 7471 + 0x8000) >> 16);
    vk_dataset_free(&ds);

    /* names matching no label: sorted order; a mix of both: an error */
    vk_model digits;
    model(&digits, 3, 4, 3, NULL);
    CHECK_EQ_INT(vk_dataset_load(root, &digits, 0, &ds, &err), VK_OK);
    CHECK_EQ_INT(ds.labels[2], 1);
    vk_dataset_free(&ds);
    vk_model_free(&digits);
    mkdirs("pets/zebra");
    write_png("pets/zebra/z.png", px, 4, 4);
    CHECK_STR_CONTAINS(folder_fails(&m, VK_E_FORMAT, "\"zebra\""), root);
    model(&digits, 3, 4, 2, NULL); /* 3 folders, 2 classes */
    folder_fails(&digits, VK_E_FORMAT, "3 class folders");
    vk_model_free(&digits);
    snprintf(p, sizeof p, "%s/pets/zebra/z.png", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/pets/zebra", dir);
    rmdir(p);

    /* an empty class folder */
    mkdirs("pets/emu");
    model(&digits, 3, 4, 3, NULL);
    CHECK_STR_CONTAINS(folder_fails(&digits, VK_E_FORMAT, "no PNG or JPEG"), "pets/emu");
    vk_model_free(&digits);
    snprintf(p, sizeof p, "%s/pets/emu", dir);
    rmdir(p);

    /* corrupt and truncated JPEG, corrupt PNG: errors naming the file */
    FILE *f;
    uint8_t jb[8192];
    size_t jn;
    snprintf(p, sizeof p, "%s/pets/dog/b.jpg", dir);
    f = fopen(p, "rb");
    jn = fread(jb, 1, sizeof jb, f);
    fclose(f);
    write_file("pets/dog/b.jpg", jb, jn - 3, 0); /* cut inside the scan */
    CHECK_STR_CONTAINS(folder_fails(&m, VK_E_FORMAT, "JPEG"), "pets/dog/b.jpg");
    write_file("pets/dog/b.jpg", (const uint8_t *)"\xff\xd8garbage", 9, 0);
    CHECK_STR_CONTAINS(folder_fails(&m, VK_E_FORMAT, "JPEG"), "pets/dog/b.jpg");
    snprintf(p, sizeof p, "%s/pets/dog/b.jpg", dir);
    unlink(p);
    write_file("pets/dog/d.png", (const uint8_t *)"\x89PNG\r\n\x1a\nxxxxxxxxxxxx", 20, 0);
    CHECK_STR_CONTAINS(folder_fails(&m, VK_E_FORMAT, "PNG"), "pets/dog/d.png");
    snprintf(p, sizeof p, "%s/pets/dog/d.png", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/pets/dog/readme.txt", dir);
    unlink(p);
    /* dog now holds no image */
    folder_fails(&m, VK_E_FORMAT, "dog");
    snprintf(p, sizeof p, "%s/pets/dog", dir);
    rmdir(p);
    snprintf(p, sizeof p, "%s/pets/cat/a.png", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/pets/cat/c.PNG", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/pets/cat", dir);
    rmdir(p);
    /* no class folders at all */
    folder_fails(&m, VK_E_FORMAT, "no class sub-folders");
    rmdir(root);
    vk_model_free(&m);
    vk_model_free(&grey);
}

static void test_fashion_mnist(void)
{
    vk_model m;
    vk_dataset ds;
    vk_err err = {{0}};
    model(&m, 1, 28, 10, NULL);
    CHECK_EQ_INT(vk_dataset_load(FMNIST, &m, 0, &ds, &err), VK_OK);
    if (err.msg[0]) {
        fprintf(stderr, "%s\n", err.msg);
        vk_model_free(&m);
        return;
    }
    CHECK_EQ_INT(ds.n, 10000);
    CHECK_EQ_INT(ds.height, 28);
    CHECK_EQ_INT(ds.width, 28);
    CHECK_EQ_INT(ds.channels, 1);
    CHECK_EQ_INT(ds.labels[0], 9); /* ankle boot */
    CHECK_EQ_INT(ds.labels[1], 2); /* pullover */
    long hist[10] = {0};
    for (int i = 0; i < ds.n; i++)
        hist[ds.labels[i]]++;
    for (int k = 0; k < 10; k++)
        CHECK_EQ_INT(hist[k], 1000);
    vk_dataset_free(&ds);
    CHECK_EQ_INT(vk_dataset_load(FMNIST, &m, 100, &ds, &err), VK_OK);
    CHECK_EQ_INT(ds.n, 100);
    vk_dataset_free(&ds);
    vk_model_free(&m);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/vk_data_XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_idx);
    RUN(test_idx_resize_and_hash);
    RUN(test_folder);
    RUN(test_fashion_mnist);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return vk_test_summary("data");
}
