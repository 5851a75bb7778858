/* vk_data: IDX files and image folders (see vk_data.h). */
#include "vk_data.h"

#include <dirent.h>
#include <stdio.h>
/* jpeglib.h needs FILE from stdio.h first */
#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <zlib.h>

#include "vk_sha256.h"

#define VK_DATA_MAX_IMAGES 10000000

/* Reads a whole (possibly gzip-compressed) file; gzread handles both. */
static vk_status read_all(const char *path, uint8_t **out, size_t *len, vk_err *err)
{
    gzFile f = gzopen(path, "rb");
    size_t cap = 1 << 20, n = 0;
    uint8_t *b;
    if (!f)
        return vk_fail(err, VK_E_IO, "%s: cannot open: %m", path);
    b = malloc(cap);
    for (;;) {
        if (!b) {
            gzclose(f);
            return vk_fail(err, VK_E_NOMEM, "%s: out of memory", path);
        }
        int r = gzread(f, b + n, (unsigned)(cap - n));
        if (r < 0) {
            int e;
            const char *msg = gzerror(f, &e);
            vk_fail(err, VK_E_FORMAT, "%s: corrupt or truncated gzip data (%s)", path, msg);
            free(b);
            gzclose(f);
            return VK_E_FORMAT;
        }
        n += (size_t)r;
        if (r == 0)
            break;
        if (n == cap) {
            if (cap > ((size_t)2 << 30)) {
                free(b);
                gzclose(f);
                return vk_fail(err, VK_E_FORMAT, "%s: larger than 2 GiB", path);
            }
            uint8_t *nb = realloc(b, cap * 2);
            if (!nb)
                free(b);
            b = nb;
            cap *= 2;
        }
    }
    /* a truncated gzip stream ends without error from gzread but gzclose
       reports it */
    int zr = gzclose(f);
    if (zr != Z_OK) {
        free(b);
        return vk_fail(err, VK_E_FORMAT, "%s: truncated or corrupt gzip stream", path);
    }
    *out = b;
    *len = n;
    return VK_OK;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Bilinear resize with half-pixel centres; src [c][sh][sw] -> dst [c][dh][dw]. */
static void resize(const uint8_t *src, int c, int sh, int sw, uint8_t *dst, int dh, int dw)
{
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < dh; y++) {
            double fy = (y + 0.5) * sh / dh - 0.5;
            if (fy < 0)
                fy = 0;
            int y0 = (int)fy, y1 = y0 + 1 < sh ? y0 + 1 : sh - 1;
            double wy = fy - y0;
            for (int x = 0; x < dw; x++) {
                double fx = (x + 0.5) * sw / dw - 0.5;
                if (fx < 0)
                    fx = 0;
                int x0 = (int)fx, x1 = x0 + 1 < sw ? x0 + 1 : sw - 1;
                double wx = fx - x0;
                const uint8_t *s = src + (size_t)ch * sh * sw;
                double v = (1 - wy) * ((1 - wx) * s[y0 * sw + x0] + wx * s[y0 * sw + x1]) +
                           wy * ((1 - wx) * s[y1 * sw + x0] + wx * s[y1 * sw + x1]);
                dst[((size_t)ch * dh + y) * dw + x] = (uint8_t)(v + 0.5);
            }
        }
}

/* Interleaved src (sc channels) -> planar at the model's channels and size. */
static vk_status convert(const uint8_t *hwc, int sh, int sw, int sc, const vk_model *m,
                         uint8_t *dst)
{
    int c = m->hp.n_channels, side = m->hp.image_size;
    uint8_t *planar = malloc((size_t)c * sh * sw);
    if (!planar)
        return VK_E_NOMEM;
    for (int y = 0; y < sh; y++)
        for (int x = 0; x < sw; x++) {
            const uint8_t *p = hwc + ((size_t)y * sw + x) * sc;
            for (int ch = 0; ch < c; ch++) {
                uint8_t v;
                if (c == 1 && sc >= 3) /* ITU-R 601-2 luma, PIL's fixed point */
                    v = (uint8_t)((p[0] * 19595u + p[1] * 38470u + p[2] * 7471u + 0x8000u) >> 16);
                else
                    v = p[sc == 1 ? 0 : (ch < sc ? ch : 0)];
                planar[((size_t)ch * sh + y) * sw + x] = v;
            }
        }
    if (sh == side && sw == side)
        memcpy(dst, planar, (size_t)c * sh * sw);
    else
        resize(planar, c, sh, sw, dst, side, side);
    free(planar);
    return VK_OK;
}

vk_status vk_dataset_load_idx(const char *images, const char *labels, const vk_model *m, int limit,
                              vk_dataset *ds, vk_err *err)
{
    uint8_t *ib = NULL, *lb = NULL;
    size_t il, ll;
    vk_dataset r;
    vk_status rc;
    memset(&r, 0, sizeof r);
    if ((rc = read_all(images, &ib, &il, err)) != VK_OK)
        return rc;
    if ((rc = read_all(labels, &lb, &ll, err)) != VK_OK)
        goto out;
    rc = VK_E_FORMAT;
    if (il < 16 || be32(ib) != 0x00000803) {
        vk_fail(err, rc, "%s: not an IDX image file (magic 0x00000803 expected)", images);
        goto out;
    }
    if (ll < 8 || be32(lb) != 0x00000801) {
        vk_fail(err, rc, "%s: not an IDX label file (magic 0x00000801 expected)", labels);
        goto out;
    }
    uint32_t n = be32(ib + 4), h = be32(ib + 8), w = be32(ib + 12);
    if (n > VK_DATA_MAX_IMAGES || h < 1 || w < 1 || h > 4096 || w > 4096) {
        vk_fail(err, rc, "%s: implausible header (%u images of %ux%u)", images, n, h, w);
        goto out;
    }
    if (il != 16 + (size_t)n * h * w) {
        vk_fail(err, rc, "%s: %zu bytes, but the header (%u images of %ux%u) needs %zu", images, il,
                n, h, w, 16 + (size_t)n * h * w);
        goto out;
    }
    if (be32(lb + 4) != n || ll != 8 + (size_t)n) {
        vk_fail(err, rc, "%s: %u labels in %zu bytes, but %s holds %u images", labels, be32(lb + 4),
                ll, images, n);
        goto out;
    }
    if (n == 0) {
        vk_fail(err, rc, "%s: holds no images", images);
        goto out;
    }
    for (uint32_t i = 0; i < n; i++)
        if (lb[8 + i] >= m->hp.n_classes) {
            vk_fail(err, rc, "%s: label %u of image %u is not below the model's %d classes", labels,
                    lb[8 + i], i, m->hp.n_classes);
            goto out;
        }
    r.n = limit > 0 && (uint32_t)limit < n ? limit : (int)n;
    r.channels = m->hp.n_channels;
    r.height = r.width = m->hp.image_size;
    r.pixels = malloc((size_t)r.n * r.channels * r.height * r.width + 1);
    r.labels = malloc((size_t)r.n * sizeof(int) + 1);
    if (!r.pixels || !r.labels) {
        rc = vk_fail(err, VK_E_NOMEM, "%s: out of memory", images);
        goto out;
    }
    for (int i = 0; i < r.n; i++) {
        r.labels[i] = lb[8 + i];
        if ((rc = convert(ib + 16 + (size_t)i * h * w, (int)h, (int)w, 1, m,
                          r.pixels + (size_t)i * r.channels * r.height * r.width)) != VK_OK) {
            vk_fail(err, rc, "%s: out of memory", images);
            goto out;
        }
    }
    snprintf(r.source, sizeof r.source, "%s", images);
    *ds = r;
    r.pixels = NULL;
    r.labels = NULL;
    rc = VK_OK;
out:
    free(r.pixels);
    free(r.labels);
    free(ib);
    free(lb);
    return rc;
}

/* ---- image folders ------------------------------------------------------ */

struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
};

static void jerr_exit(j_common_ptr c)
{
    struct jerr *e = (struct jerr *)c->err;
    (*c->err->format_message)(c, e->msg);
    longjmp(e->jb, 1);
}

/* Warnings (level < 0) are corrupt or truncated data, which libjpeg would
 * otherwise paper over with grey: treat them as errors. Trace messages
 * (level >= 0) are ignored. */
static void jerr_emit(j_common_ptr c, int level)
{
    if (level < 0)
        jerr_exit(c);
}

/* Decodes a JPEG into interleaved pixels; caller frees *px. */
static vk_status decode_jpeg(const char *path, uint8_t **px, int *h, int *w, int *c, vk_err *err)
{
    struct jpeg_decompress_struct cinfo;
    struct jerr je;
    FILE *f = fopen(path, "rb");
    uint8_t *volatile buf = NULL;
    if (!f)
        return vk_fail(err, VK_E_IO, "%s: cannot open: %m", path);
    cinfo.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = jerr_exit;
    je.pub.emit_message = jerr_emit;
    if (setjmp(je.jb)) {
        jpeg_destroy_decompress(&cinfo);
        fclose(f);
        free(buf);
        return vk_fail(err, VK_E_FORMAT, "%s: cannot decode JPEG: %s", path, je.msg);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, f);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.num_components != 1)
        cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_width > 8192 || cinfo.output_height > 8192)
        longjmp(je.jb, 1);
    buf = malloc((size_t)cinfo.output_width * cinfo.output_height * cinfo.output_components);
    if (!buf)
        longjmp(je.jb, 1);
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row =
            buf + (size_t)cinfo.output_scanline * cinfo.output_width * cinfo.output_components;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    *h = (int)cinfo.output_height;
    *w = (int)cinfo.output_width;
    *c = cinfo.output_components;
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    fclose(f);
    *px = buf;
    return VK_OK;
}

static vk_status decode_png(const char *path, uint8_t **px, int *h, int *w, int *c, vk_err *err)
{
    png_image img;
    uint8_t *buf;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path))
        return vk_fail(err, VK_E_FORMAT, "%s: cannot decode PNG: %s", path, img.message);
    img.format = PNG_FORMAT_RGB;
    if (img.width > 8192 || img.height > 8192) {
        png_image_free(&img);
        return vk_fail(err, VK_E_FORMAT, "%s: PNG larger than 8192x8192", path);
    }
    buf = malloc(PNG_IMAGE_SIZE(img));
    if (!buf) {
        png_image_free(&img);
        return vk_fail(err, VK_E_NOMEM, "%s: out of memory", path);
    }
    if (!png_image_finish_read(&img, NULL, buf, 0, NULL)) {
        free(buf);
        vk_fail(err, VK_E_FORMAT, "%s: cannot decode PNG: %s", path, img.message);
        png_image_free(&img);
        return VK_E_FORMAT;
    }
    *h = (int)img.height;
    *w = (int)img.width;
    *c = 3;
    *px = buf;
    return VK_OK;
}

static int has_ext(const char *name, const char *ext)
{
    size_t n = strlen(name), e = strlen(ext);
    return n > e && !strcasecmp(name + n - e, ext);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted entries of dir (directories or image files), names owned; -1 if
 * the folder cannot be read or memory runs out. */
static int list_dir(const char *dir, int want_dirs, char ***out)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **v = NULL, path[1536];
    int n = 0, cap = 0;
    if (!d)
        return -1;
    while ((e = readdir(d))) {
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st))
            continue;
        if (want_dirs ? !S_ISDIR(st.st_mode)
                      : !(S_ISREG(st.st_mode) &&
                          (has_ext(e->d_name, ".png") || has_ext(e->d_name, ".jpg") ||
                           has_ext(e->d_name, ".jpeg"))))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv)
                goto oom;
            v = nv;
        }
        if (!(v[n] = strdup(e->d_name)))
            goto oom;
        n++;
    }
    closedir(d);
    if (n)
        qsort(v, (size_t)n, sizeof *v, cmp_str);
    *out = v;
    return n;
oom:
    closedir(d);
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
    return -1;
}

static void free_list(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static vk_status load_folder(const char *dir, const vk_model *m, int limit, vk_dataset *ds,
                             vk_err *err)
{
    char **cls = NULL, path[2048], sub[1024];
    int n_cls = list_dir(dir, 1, &cls), matched = 0;
    vk_dataset r;
    vk_status rc = VK_OK;
    size_t img_sz = (size_t)m->hp.n_channels * m->hp.image_size * m->hp.image_size;
    int cap = 0;
    memset(&r, 0, sizeof r);
    if (n_cls < 0)
        return vk_fail(err, VK_E_IO, "%s: cannot read the folder", dir);
    if (n_cls == 0) {
        free(cls);
        return vk_fail(err, VK_E_FORMAT, "%s: no class sub-folders", dir);
    }
    int *idx = malloc((size_t)n_cls * sizeof(int));
    if (!idx) {
        free_list(cls, n_cls);
        return vk_fail(err, VK_E_NOMEM, "out of memory");
    }
    for (int i = 0; i < n_cls; i++) {
        idx[i] = -1;
        for (int k = 0; k < m->hp.n_classes; k++)
            if (!strcmp(cls[i], m->labels[k]))
                idx[i] = k;
        matched += idx[i] >= 0;
    }
    if (matched && matched != n_cls) {
        for (int i = 0; i < n_cls; i++)
            if (idx[i] < 0) {
                rc = vk_fail(err, VK_E_FORMAT,
                             "%s: sub-folder \"%s\" names none of the model's labels, while "
                             "others do",
                             dir, cls[i]);
                break;
            }
        goto out;
    }
    if (!matched) {
        if (n_cls > m->hp.n_classes) {
            rc = vk_fail(err, VK_E_FORMAT, "%s: %d class folders, the model has %d classes", dir,
                         n_cls, m->hp.n_classes);
            goto out;
        }
        for (int i = 0; i < n_cls; i++)
            idx[i] = i;
    }
    r.channels = m->hp.n_channels;
    r.height = r.width = m->hp.image_size;
    for (int i = 0; i < n_cls && (limit <= 0 || r.n < limit); i++) {
        char **files = NULL;
        snprintf(sub, sizeof sub, "%s/%s", dir, cls[i]);
        int nf = list_dir(sub, 0, &files);
        if (nf <= 0) {
            free(files);
            rc = nf < 0 ? vk_fail(err, VK_E_IO, "%s: cannot read the folder", sub)
                        : vk_fail(err, VK_E_FORMAT, "%s: no PNG or JPEG images", sub);
            goto out;
        }
        for (int j = 0; j < nf && (limit <= 0 || r.n < limit); j++) {
            uint8_t *px = NULL;
            int h, w, c;
            snprintf(path, sizeof path, "%s/%s", sub, files[j]);
            rc = has_ext(files[j], ".png") ? decode_png(path, &px, &h, &w, &c, err)
                                           : decode_jpeg(path, &px, &h, &w, &c, err);
            if (rc != VK_OK) {
                free_list(files, nf);
                goto out;
            }
            if (r.n == cap) {
                cap = cap ? cap * 2 : 256;
                uint8_t *np = realloc(r.pixels, (size_t)cap * img_sz);
                int *nl = np ? realloc(r.labels, (size_t)cap * sizeof(int)) : NULL;
                if (np)
                    r.pixels = np;
                if (nl)
                    r.labels = nl;
                if (!np || !nl) {
                    free(px);
                    free_list(files, nf);
                    rc = vk_fail(err, VK_E_NOMEM, "%s: out of memory", dir);
                    goto out;
                }
            }
            rc = convert(px, h, w, c, m, r.pixels + (size_t)r.n * img_sz);
            free(px);
            if (rc != VK_OK) {
                free_list(files, nf);
                vk_fail(err, rc, "%s: out of memory", path);
                goto out;
            }
            r.labels[r.n++] = idx[i];
        }
        free_list(files, nf);
    }
    snprintf(r.source, sizeof r.source, "%s", dir);
    *ds = r;
    memset(&r, 0, sizeof r);
out:
    free(r.pixels);
    free(r.labels);
    free(idx);
    free_list(cls, n_cls);
    return rc;
}

vk_status vk_dataset_load(const char *path, const vk_model *m, int limit, vk_dataset *ds,
                          vk_err *err)
{
    struct stat st;
    char labels[1024];
    const char *hit;
    if (stat(path, &st))
        return vk_fail(err, VK_E_IO, "%s: cannot open: %m", path);
    if (S_ISDIR(st.st_mode))
        return load_folder(path, m, limit, ds, err);
    hit = strstr(path, "images-idx3");
    if (!hit || strlen(path) >= sizeof labels)
        return vk_fail(err, VK_E_ARG,
                       "%s: expected an IDX image file named *images-idx3* (its labels in "
                       "*labels-idx1*) or a folder of class sub-folders",
                       path);
    snprintf(labels, sizeof labels, "%.*slabels-idx1%s", (int)(hit - path), path,
             hit + strlen("images-idx3"));
    return vk_dataset_load_idx(path, labels, m, limit, ds, err);
}

void vk_dataset_free(vk_dataset *ds)
{
    if (!ds)
        return;
    free(ds->pixels);
    free(ds->labels);
    memset(ds, 0, sizeof *ds);
}

void vk_dataset_normalize(const vk_dataset *ds, const vk_model *m, int i, float *out)
{
    size_t plane = (size_t)ds->height * ds->width;
    const uint8_t *p = ds->pixels + (size_t)i * ds->channels * plane;
    for (int c = 0; c < ds->channels; c++)
        for (size_t j = 0; j < plane; j++)
            out[c * plane + j] = (p[c * plane + j] * m->rescale - m->mean[c]) / m->std[c];
}

void vk_dataset_hash(const vk_dataset *ds, uint8_t out[32])
{
    vk_sha256_ctx c;
    int32_t hdr[4] = {ds->n, ds->channels, ds->height, ds->width};
    vk_sha256_init(&c);
    vk_sha256_update(&c, hdr, sizeof hdr);
    vk_sha256_update(&c, ds->pixels, (size_t)ds->n * ds->channels * ds->height * ds->width);
    for (int i = 0; i < ds->n; i++) {
        int32_t l = ds->labels[i];
        vk_sha256_update(&c, &l, 4);
    }
    vk_sha256_final(&c, out);
}
