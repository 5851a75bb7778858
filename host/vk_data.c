/* vk_data: IDX files, image folders, stratified samples and splits (see
 * vk_data.h). */
#include "vk_data.h"

#include <dirent.h>
#include <limits.h>
#include <math.h>
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

/* Reads exactly n bytes (fewer at the end of the data); -1 on a gzip error. */
static long long gz_read_n(gzFile f, uint8_t *b, size_t n)
{
    size_t got = 0;
    while (got < n) {
        unsigned k = n - got > (1u << 30) ? 1u << 30 : (unsigned)(n - got);
        int r = gzread(f, b + got, k);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (long long)got;
}

/* Reads a whole (possibly gzip-compressed; gzread handles both) IDX file of
 * `dims` dimensions, never more than its header declares: magic (0, 0, type
 * 0x08, dims), then dims big-endian u32 sizes, then their product of bytes.
 * More data than that is refused before it is decompressed (a gzip bomb);
 * what does not start with that magic is returned as read (4 bytes) for the
 * caller's magic check to name. */
static vk_status read_all(const char *path, int dims, uint8_t **out, size_t *len, vk_err *err)
{
    gzFile f = gzopen(path, "rb");
    uint8_t hdr[20], extra;
    size_t hn = 4, total;
    uint8_t *b = NULL;
    long long got;
    if (!f)
        return vk_fail(err, VK_E_IO, "%s: cannot open: %m", path);
    got = gz_read_n(f, hdr, 4);
    if (got == 4 && hdr[0] == 0 && hdr[1] == 0 && hdr[2] == 0x08 && hdr[3] == dims) {
        hn = 4 + 4 * (size_t)hdr[3];
        got = gz_read_n(f, hdr + 4, hn - 4);
        got = got < 0 ? -1 : got + 4;
    }
    if (got < 0)
        goto gzerr;
    total = (size_t)got;
    if (got == (long long)hn && hn > 4) {
        uint64_t body = 1;
        for (size_t i = 4; i < hn; i += 4) {
            body *= (uint64_t)hdr[i] << 24 | (uint64_t)hdr[i + 1] << 16 |
                    (uint64_t)hdr[i + 2] << 8 | hdr[i + 3];
            if (body > ((uint64_t)2 << 30)) {
                gzclose(f);
                return vk_fail(err, VK_E_FORMAT, "%s: its IDX header declares more than 2 GiB",
                               path);
            }
        }
        total = hn + (size_t)body;
    }
    /* the buffer grows with the data read (doubling from 1 MiB), so that a
       few bytes declaring gigabytes reserve no more than 1 MiB */
    size_t cap = total < ((size_t)1 << 20) ? total : (size_t)1 << 20, have = (size_t)got;
    b = malloc(cap > have ? cap : have + 1);
    if (!b) {
        gzclose(f);
        return vk_fail(err, VK_E_NOMEM, "%s: out of memory for %zu bytes", path, cap);
    }
    memcpy(b, hdr, have);
    while (have < total) {
        if (have == cap) {
            uint8_t *nb;
            cap = cap > total / 2 ? total : cap * 2;
            if (!(nb = realloc(b, cap))) {
                free(b);
                gzclose(f);
                return vk_fail(err, VK_E_NOMEM, "%s: out of memory for %zu bytes", path, cap);
            }
            b = nb;
        }
        long long r = gz_read_n(f, b + have, cap - have);
        if (r < 0)
            goto gzerr;
        have += (size_t)r;
        if (have < cap)
            break; /* the end of the data */
    }
    total = have;
    if (hn > 4 && gzread(f, &extra, 1) > 0) {
        free(b);
        gzclose(f);
        return vk_fail(err, VK_E_FORMAT,
                       "%s: holds more than the %zu bytes its IDX header declares (a gzip bomb "
                       "or a corrupt file); nothing more was read",
                       path, total);
    }
    /* a truncated gzip stream ends without error from gzread but gzclose
       reports it */
    if (gzclose(f) != Z_OK) {
        free(b);
        return vk_fail(err, VK_E_FORMAT, "%s: truncated or corrupt gzip stream", path);
    }
    *out = b;
    *len = total;
    return VK_OK;
gzerr: {
    int e;
    vk_fail(err, VK_E_FORMAT, "%s: corrupt or truncated gzip data (%s)", path, gzerror(f, &e));
    free(b);
    gzclose(f);
    return VK_E_FORMAT;
}
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Where output pixel i of n_dst samples an axis of n_src (half-pixel
 * centres): between source pixels *i0 and *i1 with weight *w on *i1. */
static void sample_at(int i, int n_src, int n_dst, int *i0, int *i1, double *w)
{
    double f = (i + 0.5) * n_src / n_dst - 0.5;
    if (f < 0)
        f = 0;
    *i0 = (int)f;
    *i1 = *i0 + 1 < n_src ? *i0 + 1 : n_src - 1;
    *w = f - *i0;
}

/* Bilinear resize with half-pixel centres; src [c][sh][sw] -> dst [c][dh][dw]. */
static void resize(const uint8_t *src, int c, int sh, int sw, uint8_t *dst, int dh, int dw)
{
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < dh; y++) {
            int y0, y1;
            double wy;
            sample_at(y, sh, dh, &y0, &y1, &wy);
            for (int x = 0; x < dw; x++) {
                int x0, x1;
                double wx;
                sample_at(x, sw, dw, &x0, &x1, &wx);
                const uint8_t *s = src + (size_t)ch * sh * sw;
                double v = (1 - wy) * ((1 - wx) * s[y0 * sw + x0] + wx * s[y0 * sw + x1]) +
                           wy * ((1 - wx) * s[y1 * sw + x0] + wx * s[y1 * sw + x1]);
                dst[((size_t)ch * dh + y) * dw + x] = (uint8_t)(v + 0.5);
            }
        }
}

/* ---- resizing as the frameworks do (README "Preprocessing") --------------

   PIL's Image.resize and torchvision's antialiased 8-bit resize share one
   method: each output sample is a normalized sum of the filter (triangle
   for bilinear, Keys' cubic with a = -0.5 for bicubic) over the inputs
   its support covers, the support widened by the downscale factor
   (antialiasing); the weights are fixed point, the horizontal pass runs
   first and each pass rounds to 8 bits. They differ only in the weights'
   precision: 22 bits for PIL, for torchvision the finest that keeps the
   largest weight in int16. */

static double filter_at(int bicubic, double x)
{
    x = fabs(x);
    if (!bicubic)
        return x < 1.0 ? 1.0 - x : 0.0;
    if (x < 1.0)
        return (1.5 * x - 2.5) * x * x + 1.0;
    if (x < 2.0)
        return (((x - 5.0) * x + 8.0) * x - 4.0) * -0.5;
    return 0.0;
}

/* One axis of n_in samples resampled to n_out: for output i, its first
 * input first[i], count[i] inputs, fixed-point weights w[i * ksize ...]
 * at *prec bits. */
typedef struct {
    int ksize, prec;
    int *first, *count;
    int32_t *w;
    double *wf;
} axis_coeffs;

static void axis_free(axis_coeffs *a)
{
    free(a->first);
    free(a->count);
    free(a->w);
    free(a->wf);
}

static vk_status axis_new(int n_in, int n_out, int bicubic, int torch, axis_coeffs *a)
{
    double scale = (double)n_in / n_out, fs = scale > 1.0 ? scale : 1.0;
    double support = (bicubic ? 2.0 : 1.0) * fs, wmax = 0;
    a->ksize = (int)ceil(support) * 2 + 1;
    a->first = malloc((size_t)n_out * sizeof *a->first);
    a->count = malloc((size_t)n_out * sizeof *a->count);
    a->w = malloc((size_t)n_out * a->ksize * sizeof *a->w);
    a->wf = malloc((size_t)n_out * a->ksize * sizeof *a->wf);
    if (!a->first || !a->count || !a->w || !a->wf) {
        axis_free(a);
        return VK_E_NOMEM;
    }
    for (int i = 0; i < n_out; i++) {
        double center = (i + 0.5) * scale, sum = 0, *k = a->wf + (size_t)i * a->ksize;
        int lo = (int)(center - support + 0.5), hi = (int)(center + support + 0.5);
        lo = lo < 0 ? 0 : lo;
        hi = hi > n_in ? n_in : hi;
        a->first[i] = lo;
        a->count[i] = hi - lo;
        for (int j = 0; j < hi - lo; j++)
            sum += k[j] = filter_at(bicubic, (j + lo - center + 0.5) / fs);
        for (int j = 0; j < hi - lo; j++) {
            if (sum != 0.0)
                k[j] /= sum;
            wmax = k[j] > wmax ? k[j] : wmax;
        }
    }
    a->prec = 22;
    if (torch)
        for (a->prec = 0; a->prec < 22; a->prec++)
            if ((int)(0.5 + wmax * (1 << (a->prec + 1))) >= (1 << 15))
                break;
    for (size_t i = 0; i < (size_t)n_out * a->ksize; i++) {
        double v = a->wf[i] * (1 << a->prec);
        a->w[i] = (int32_t)(v < 0 ? v - 0.5 : v + 0.5);
    }
    return VK_OK;
}

/* Output sample i of an axis from inputs in[j * step]. */
static uint8_t axis_sample(const axis_coeffs *a, int i, const uint8_t *in, size_t step)
{
    int64_t acc = a->prec ? (int64_t)1 << (a->prec - 1) : 0; /* rounding */
    const int32_t *k = a->w + (size_t)i * a->ksize;
    in += (size_t)a->first[i] * step;
    for (int j = 0; j < a->count[i]; j++)
        acc += (int64_t)in[(size_t)j * step] * k[j];
    acc = acc < 0 ? 0 : acc >> a->prec;
    return (uint8_t)(acc > 255 ? 255 : acc);
}

/* planar [c][h][w] -> [c][oh][ow], horizontally then vertically (a pass
 * only where the size changes). *out is allocated. */
static vk_status resample(const uint8_t *src, int c, int h, int w, int oh, int ow, int bicubic,
                          int torch, uint8_t **out)
{
    uint8_t *mid = NULL, *dst = malloc((size_t)c * oh * ow);
    axis_coeffs ax = {0}, ay = {0};
    vk_status rc = VK_E_NOMEM;
    if (!dst || (ow != w && (rc = axis_new(w, ow, bicubic, torch, &ax)) != VK_OK) ||
        (oh != h && (rc = axis_new(h, oh, bicubic, torch, &ay)) != VK_OK) ||
        !(mid = malloc((size_t)c * h * ow)))
        goto out;
    for (size_t line = 0; line < (size_t)c * h; line++)
        for (int x = 0; x < ow; x++)
            mid[line * ow + x] = ow == w ? src[line * w + x] : axis_sample(&ax, x, src + line * w, 1);
    for (int ch = 0; ch < c; ch++)
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                const uint8_t *col = mid + (size_t)ch * h * ow + x;
                dst[((size_t)ch * oh + y) * ow + x] =
                    oh == h ? col[(size_t)y * ow] : axis_sample(&ay, y, col, (size_t)ow);
            }
    rc = VK_OK;
out:
    axis_free(&ax);
    axis_free(&ay);
    free(mid);
    if (rc != VK_OK)
        free(dst);
    else
        *out = dst;
    return rc;
}

/* planar [c][sh][sw] -> dst [c][side][side] as p says; what names the
 * image in errors. */
static vk_status preprocess(const uint8_t *planar, int c, int sh, int sw, const vk_preproc *p,
                            int side, uint8_t *dst, const char *what, vk_err *err)
{
    int th = sh, tw = sw, ch = 0, cw = 0, top = 0, left = 0;
    uint8_t *rs = NULL;
    vk_status rc;
    if (p->kind == VK_RESIZE_FIT) {
        if (sh == side && sw == side)
            memcpy(dst, planar, (size_t)c * sh * sw);
        else
            resize(planar, c, sh, sw, dst, side, side);
        return VK_OK;
    }
    if (p->shortest) { /* the shorter edge to shortest, int(shortest * long / short) */
        int sh_short = sw <= sh, sd = sh_short ? sw : sh, ld = sh_short ? sh : sw;
        int nl = (int)((double)((long long)p->shortest * ld) / sd);
        tw = sh_short ? p->shortest : nl;
        th = sh_short ? nl : p->shortest;
    } else if (p->height) {
        th = p->height;
        tw = p->width;
    }
    if ((rc = resample(planar, c, sh, sw, th, tw, p->bicubic, p->kind == VK_RESIZE_TORCH, &rs)))
        return vk_fail(err, rc, "%s: out of memory resizing to %dx%d", what, tw, th);
    ch = p->crop_h ? p->crop_h : th;
    cw = p->crop_w ? p->crop_w : tw;
    if (ch > th || cw > tw || ch != side || cw != side) {
        free(rs);
        return vk_fail(err, VK_E_FORMAT,
                       "%s: %dx%d resized to %dx%d%s, the model takes %dx%d (its "
                       "preprocessing's size and crop_size, or timm's crop_pct)",
                       what, sw, sh, tw, th, p->crop_h ? " cannot be center-cropped to it" : "",
                       side, side);
    }
    top = (int)nearbyint((th - ch) / 2.0); /* round(), halves to even, as torchvision */
    left = (int)nearbyint((tw - cw) / 2.0);
    for (int k = 0; k < c; k++)
        for (int y = 0; y < ch; y++)
            memcpy(dst + ((size_t)k * ch + y) * cw, rs + ((size_t)k * th + top + y) * tw + left,
                   (size_t)cw);
    free(rs);
    return VK_OK;
}

/* Interleaved src (sc channels) -> planar at the model's channels, then
 * resized and cropped to its size. */
static vk_status convert(const uint8_t *hwc, int sh, int sw, int sc, int c, int side,
                         const vk_preproc *p, uint8_t *dst, const char *what, vk_err *err)
{
    uint8_t *planar = malloc((size_t)c * sh * sw);
    vk_status rc;
    if (!planar)
        return vk_fail(err, VK_E_NOMEM, "%s: out of memory", what);
    for (int y = 0; y < sh; y++)
        for (int x = 0; x < sw; x++) {
            const uint8_t *px = hwc + ((size_t)y * sw + x) * sc;
            for (int ch = 0; ch < c; ch++) {
                uint8_t v;
                if (c == 1 && sc >= 3) /* ITU-R 601-2 luma, PIL's fixed point */
                    v = (uint8_t)((px[0] * 19595u + px[1] * 38470u + px[2] * 7471u + 0x8000u) >> 16);
                else
                    v = px[sc == 1 ? 0 : (ch < sc ? ch : 0)];
                planar[((size_t)ch * sh + y) * sw + x] = v;
            }
        }
    rc = preprocess(planar, c, sh, sw, p, side, dst, what, err);
    free(planar);
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

/* ---- sources -------------------------------------------------------------- */

struct vk_catalog {
    char path[512];
    int n;            /* images */
    int n_classes;    /* the model's */
    int *labels;      /* [n] */
    int channels, side; /* the model's input */
    vk_preproc pre;     /* its resize and crop */
    uint8_t *idx;     /* IDX: the decompressed image file, header included */
    int ih, iw;       /* IDX: image size in the file */
    char **files;     /* folder: [n] paths */
    uint8_t hash[32];
};

void vk_catalog_close(vk_catalog *s)
{
    if (!s)
        return;
    if (s->files)
        for (int i = 0; i < s->n; i++)
            free(s->files[i]);
    free(s->files);
    free(s->idx);
    free(s->labels);
    free(s);
}

static vk_catalog *source_new(const char *path, const vk_model *m)
{
    vk_catalog *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    snprintf(s->path, sizeof s->path, "%s", path);
    s->n_classes = m->hp.n_classes;
    s->channels = m->hp.n_channels;
    s->side = m->hp.image_size;
    s->pre = m->pre;
    return s;
}

static void hash_labels(vk_sha256_ctx *c, const char *kind, const vk_catalog *s)
{
    int32_t n = s->n;
    vk_sha256_update(c, kind, strlen(kind) + 1);
    vk_sha256_update(c, &n, 4);
    for (int i = 0; i < s->n; i++) {
        int32_t l = s->labels[i];
        vk_sha256_update(c, &l, 4);
    }
}

vk_status vk_catalog_open_idx(const char *images, const char *labels, const vk_model *m,
                             vk_catalog **out, vk_err *err)
{
    uint8_t *ib = NULL, *lb = NULL;
    size_t il, ll;
    vk_catalog *s = NULL;
    vk_status rc;
    if ((rc = read_all(images, 3, &ib, &il, err)) != VK_OK)
        return rc;
    if ((rc = read_all(labels, 1, &lb, &ll, err)) != VK_OK)
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
    if (!(s = source_new(images, m)) || !(s->labels = malloc((size_t)n * sizeof(int)))) {
        rc = vk_fail(err, VK_E_NOMEM, "%s: out of memory", images);
        goto out;
    }
    s->n = (int)n;
    s->ih = (int)h;
    s->iw = (int)w;
    for (uint32_t i = 0; i < n; i++)
        s->labels[i] = lb[8 + i];
    {
        vk_sha256_ctx c;
        vk_sha256_init(&c);
        hash_labels(&c, "idx", s);
        vk_sha256_update(&c, ib + 4, il - 4);
        vk_sha256_final(&c, s->hash);
    }
    s->idx = ib;
    ib = NULL;
    *out = s;
    s = NULL;
    rc = VK_OK;
out:
    vk_catalog_close(s);
    free(ib);
    free(lb);
    return rc;
}

/* Class index of each sub-folder name (see vk_catalog_open). */
static vk_status folder_classes(const char *dir, char **cls, int n_cls, const vk_model *m,
                                int *idx, vk_err *err)
{
    int matched = 0;
    for (int i = 0; i < n_cls; i++) {
        idx[i] = -1;
        for (int k = 0; k < m->hp.n_classes; k++)
            if (!strcmp(cls[i], m->labels[k]))
                idx[i] = k;
        matched += idx[i] >= 0;
    }
    if (matched && matched != n_cls) {
        for (int i = 0; i < n_cls; i++)
            if (idx[i] < 0)
                return vk_fail(err, VK_E_FORMAT,
                               "%s: sub-folder \"%s\" names none of the model's labels, while "
                               "others do",
                               dir, cls[i]);
    }
    if (!matched) {
        if (n_cls > m->hp.n_classes)
            return vk_fail(err, VK_E_FORMAT, "%s: %d class folders, the model has %d classes", dir,
                           n_cls, m->hp.n_classes);
        for (int i = 0; i < n_cls; i++)
            idx[i] = i;
    }
    return VK_OK;
}

static vk_status open_folder(const char *dir, const vk_model *m, vk_catalog **out, vk_err *err)
{
    char **cls = NULL, sub[1536], path[2048];
    int n_cls = list_dir(dir, 1, &cls), cap = 0, *idx = NULL;
    vk_catalog *s = NULL;
    vk_sha256_ctx c;
    vk_status rc = VK_OK;
    if (n_cls < 0)
        return vk_fail(err, VK_E_IO, "%s: cannot read the folder", dir);
    if (n_cls == 0) {
        free(cls);
        return vk_fail(err, VK_E_FORMAT, "%s: no class sub-folders", dir);
    }
    if (!(idx = malloc((size_t)n_cls * sizeof(int))) || !(s = source_new(dir, m))) {
        rc = vk_fail(err, VK_E_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = folder_classes(dir, cls, n_cls, m, idx, err)) != VK_OK)
        goto out;
    vk_sha256_init(&c);
    for (int i = 0; i < n_cls; i++) {
        char **files = NULL;
        snprintf(sub, sizeof sub, "%s/%s", dir, cls[i]);
        int nf = list_dir(sub, 0, &files);
        if (nf <= 0) {
            free(files);
            rc = nf < 0 ? vk_fail(err, VK_E_IO, "%s: cannot read the folder", sub)
                        : vk_fail(err, VK_E_FORMAT, "%s: no PNG or JPEG images", sub);
            goto out;
        }
        for (int j = 0; j < nf; j++) {
            struct stat st;
            int64_t size;
            snprintf(path, sizeof path, "%s/%s", sub, files[j]);
            if (s->n == cap) {
                cap = cap ? cap * 2 : 256;
                char **nf2 = realloc(s->files, (size_t)cap * sizeof *nf2);
                int *nl = nf2 ? realloc(s->labels, (size_t)cap * sizeof *nl) : NULL;
                if (nf2)
                    s->files = nf2;
                if (nl)
                    s->labels = nl;
                if (!nf2 || !nl) {
                    free_list(files, nf);
                    rc = vk_fail(err, VK_E_NOMEM, "%s: out of memory", dir);
                    goto out;
                }
            }
            if (!(s->files[s->n] = strdup(path))) {
                free_list(files, nf);
                rc = vk_fail(err, VK_E_NOMEM, "%s: out of memory", dir);
                goto out;
            }
            s->labels[s->n++] = idx[i];
            size = stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
            vk_sha256_update(&c, cls[i], strlen(cls[i]) + 1);
            vk_sha256_update(&c, files[j], strlen(files[j]) + 1);
            vk_sha256_update(&c, &size, sizeof size);
        }
        free_list(files, nf);
    }
    {
        uint8_t names[32];
        vk_sha256_final(&c, names);
        vk_sha256_init(&c);
        hash_labels(&c, "folder", s);
        vk_sha256_update(&c, names, 32);
        vk_sha256_final(&c, s->hash);
    }
    *out = s;
    s = NULL;
out:
    vk_catalog_close(s);
    free(idx);
    free_list(cls, n_cls);
    return rc;
}

/* "...images-idx3..." -> "...labels-idx1..." into out; 0 if not such a name. */
static int idx_labels_name(const char *path, char *out, size_t n)
{
    const char *hit = strstr(path, "images-idx3");
    if (!hit || strlen(path) >= n)
        return 0;
    snprintf(out, n, "%.*slabels-idx1%s", (int)(hit - path), path, hit + strlen("images-idx3"));
    return 1;
}

vk_status vk_catalog_open(const char *path, const vk_model *m, vk_catalog **out, vk_err *err)
{
    struct stat st;
    char labels[1024];
    if (stat(path, &st))
        return vk_fail(err, VK_E_IO, "%s: no such file or folder (%m)", path);
    if (S_ISDIR(st.st_mode))
        return open_folder(path, m, out, err);
    if (!idx_labels_name(path, labels, sizeof labels))
        return vk_fail(err, VK_E_ARG,
                       "%s: expected an IDX image file named *images-idx3* (its labels in "
                       "*labels-idx1*) or a folder of class sub-folders",
                       path);
    return vk_catalog_open_idx(path, labels, m, out, err);
}

int vk_catalog_count(const vk_catalog *s)
{
    return s->n;
}

const char *vk_catalog_path(const vk_catalog *s)
{
    return s->path;
}

const int *vk_catalog_labels(const vk_catalog *s)
{
    return s->labels;
}

const uint8_t *vk_catalog_hash(const vk_catalog *s)
{
    return s->hash;
}

/* An image's place in its class's seeded permutation. */
typedef struct {
    int cls, idx;
    uint64_t key; /* first 8 bytes of SHA-256(seed, idx) */
} perm_key;

static int cmp_perm(const void *a, const void *b)
{
    const perm_key *x = a, *y = b;
    if (x->cls != y->cls)
        return x->cls < y->cls ? -1 : 1;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

vk_status vk_catalog_order(const vk_catalog *s, uint64_t seed, int *order, vk_err *err)
{
    int kn = s->n_classes;
    perm_key *k = malloc((size_t)s->n * sizeof *k);
    int64_t *count = calloc((size_t)kn, sizeof *count), *taken = calloc((size_t)kn, sizeof *taken);
    int *start = calloc((size_t)kn + 1, sizeof *start);
    if (!k || !count || !taken || !start) {
        free(k);
        free(count);
        free(taken);
        free(start);
        return vk_fail(err, VK_E_NOMEM, "%s: out of memory", s->path);
    }
    for (int i = 0; i < s->n; i++) {
        uint8_t msg[12], d[32];
        uint64_t key = 0;
        for (int b = 0; b < 8; b++)
            msg[b] = (uint8_t)(seed >> (8 * b));
        for (int b = 0; b < 4; b++)
            msg[8 + b] = (uint8_t)((uint32_t)i >> (8 * b));
        vk_sha256(msg, sizeof msg, d);
        for (int b = 0; b < 8; b++)
            key = key << 8 | d[b];
        k[i] = (perm_key){.cls = s->labels[i], .idx = i, .key = key};
        count[s->labels[i]]++;
    }
    /* each class in its seeded permutation, classes one after another */
    qsort(k, (size_t)s->n, sizeof *k, cmp_perm);
    for (int c = 0; c < kn; c++)
        start[c + 1] = start[c] + (int)count[c];
    /* position p takes the next image of the class furthest below its share
       (p + 1) * count / n, the lowest class on ties: every prefix then holds
       each class within one image of its share */
    for (int64_t p = 1; p <= s->n; p++) {
        int best = -1;
        int64_t best_def = 0;
        for (int c = 0; c < kn; c++) {
            int64_t def = p * count[c] - taken[c] * s->n; /* share - taken, times n */
            if (taken[c] < count[c] && (best < 0 || def > best_def)) {
                best = c;
                best_def = def;
            }
        }
        order[p - 1] = k[start[best] + taken[best]].idx;
        taken[best]++;
    }
    free(k);
    free(count);
    free(taken);
    free(start);
    return VK_OK;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return x < y ? -1 : x > y;
}

/* Decodes source image i into dst (the model's channels and size). */
static vk_status take_one(const vk_catalog *s, int i, uint8_t *dst, vk_err *err)
{
    uint8_t *px = NULL;
    int h, w, c;
    vk_status rc;
    if (s->idx) {
        char what[600];
        snprintf(what, sizeof what, "%s: image %d", s->path, i);
        return convert(s->idx + 16 + (size_t)i * s->ih * s->iw, s->ih, s->iw, 1, s->channels,
                       s->side, &s->pre, dst, what, err);
    }
    rc = has_ext(s->files[i], ".png") ? decode_png(s->files[i], &px, &h, &w, &c, err)
                                      : decode_jpeg(s->files[i], &px, &h, &w, &c, err);
    if (rc != VK_OK)
        return rc;
    rc = convert(px, h, w, c, s->channels, s->side, &s->pre, dst, s->files[i], err);
    free(px);
    return rc;
}

vk_status vk_catalog_take(const vk_catalog *s, const vk_sample *smp, vk_dataset *ds, vk_err *err)
{
    vk_dataset r;
    int n = smp->n, *order = NULL, bad = INT_MAX;
    size_t img_sz = (size_t)s->channels * s->side * s->side;
    vk_status rc = VK_OK;
    vk_err first = {{0}};
    if (smp->offset < 0 || n < 0 || smp->offset > s->n || (n && n > s->n - smp->offset))
        return vk_fail(err, VK_E_ARG, "%s: images [%d, %d) of the sample order are outside its %d",
                       s->path, smp->offset, smp->offset + n, s->n);
    if (!n)
        n = s->n - smp->offset;
    if (!n)
        return vk_fail(err, VK_E_ARG, "%s: the sample is empty (offset %d of %d images)", s->path,
                       smp->offset, s->n);
    memset(&r, 0, sizeof r);
    r.n = n;
    r.channels = s->channels;
    r.height = r.width = s->side;
    order = malloc((size_t)s->n * sizeof *order);
    r.pixels = malloc((size_t)n * img_sz);
    r.labels = malloc((size_t)n * sizeof(int));
    if (!order || !r.pixels || !r.labels) {
        rc = vk_fail(err, VK_E_NOMEM, "%s: out of memory for %d images", s->path, n);
        goto out;
    }
    if ((rc = vk_catalog_order(s, smp->seed, order, err)) != VK_OK)
        goto out;
    qsort(order + smp->offset, (size_t)n, sizeof *order, cmp_int);
#pragma omp parallel for schedule(dynamic, 16)
    for (int j = 0; j < n; j++) {
        int i = order[smp->offset + j];
        vk_err e = {{0}};
        r.labels[j] = s->labels[i];
        if (take_one(s, i, r.pixels + (size_t)j * img_sz, &e) != VK_OK) {
#pragma omp critical(vk_data_take)
            if (j < bad) { /* report the first failing image, whatever the threads did */
                bad = j;
                first = e;
            }
        }
    }
    if (bad != INT_MAX) {
        rc = VK_E_FORMAT;
        if (err)
            *err = first;
        goto out;
    }
    snprintf(r.source, sizeof r.source, "%s", s->path);
    r.sample = *smp;
    memcpy(r.sample.source_hash, s->hash, 32);
    r.sample.n = n;
    r.sample.n_source = s->n;
    *ds = r;
    memset(&r, 0, sizeof r);
out:
    free(order);
    free(r.pixels);
    free(r.labels);
    return rc;
}

/* ---- datasets --------------------------------------------------------------- */

static vk_status take_limit(vk_catalog *s, int limit, vk_dataset *ds, vk_err *err)
{
    vk_sample smp = {.seed = VK_SAMPLE_SEED, .offset = 0,
                     .n = limit > 0 && limit < s->n ? limit : 0};
    vk_status rc = vk_catalog_take(s, &smp, ds, err);
    vk_catalog_close(s);
    return rc;
}

vk_status vk_dataset_load(const char *path, const vk_model *m, int limit, vk_dataset *ds,
                          vk_err *err)
{
    vk_catalog *s;
    vk_status rc = vk_catalog_open(path, m, &s, err);
    return rc != VK_OK ? rc : take_limit(s, limit, ds, err);
}

vk_status vk_dataset_load_idx(const char *images, const char *labels, const vk_model *m, int limit,
                              vk_dataset *ds, vk_err *err)
{
    vk_catalog *s;
    vk_status rc = vk_catalog_open_idx(images, labels, m, &s, err);
    return rc != VK_OK ? rc : take_limit(s, limit, ds, err);
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

/* ---- splits ------------------------------------------------------------------ */

const char *vk_split_role_str(vk_split_role r)
{
    switch (r) {
    case VK_SPLIT_TEST: return "test";
    case VK_SPLIT_VAL: return "validation";
    case VK_SPLIT_CALIB: return "calibration";
    case VK_SPLIT_N: break;
    }
    return "?";
}

/* For ".../t10k-images-idx3-ubyte[.gz]" the sibling training file, if it
 * exists. */
static int train_sibling(const char *data, char *out, size_t n)
{
    struct stat st;
    const char *hit = strstr(data, "t10k-images");
    if (!hit || strlen(data) + 8 >= n)
        return 0;
    snprintf(out, n, "%.*strain-images%s", (int)(hit - data), data, hit + strlen("t10k-images"));
    return stat(out, &st) == 0;
}

/* Narrows an IDX source to its images [first, first + count): a source of
 * those images alone, hashed as the IDX file holding just them would be. */
static vk_status narrow_idx(vk_catalog *s, int first, int count, vk_err *err)
{
    size_t px = (size_t)s->ih * s->iw;
    uint8_t *b;
    if (!s->idx)
        return vk_fail(err, VK_E_ARG, "%s: a hold-out narrows an IDX training file, not a folder",
                       s->path);
    if (first < 0 || count < 1 || first > s->n - count)
        return vk_fail(err, VK_E_ARG, "%s: the hold-out images %d..%d are outside its %d images",
                       s->path, first, first + count - 1, s->n);
    if (!(b = malloc(16 + (size_t)count * px)))
        return vk_fail(err, VK_E_NOMEM, "%s: out of memory", s->path);
    memcpy(b, s->idx, 16);
    for (int i = 0; i < 4; i++)
        b[4 + i] = (uint8_t)((uint32_t)count >> (24 - 8 * i));
    memcpy(b + 16, s->idx + 16 + (size_t)first * px, (size_t)count * px);
    free(s->idx);
    s->idx = b;
    memmove(s->labels, s->labels + first, (size_t)count * sizeof *s->labels);
    s->n = count;
    vk_sha256_ctx c;
    vk_sha256_init(&c);
    hash_labels(&c, "idx", s);
    vk_sha256_update(&c, b + 4, 12 + (size_t)count * px);
    vk_sha256_final(&c, s->hash);
    size_t l = strlen(s->path);
    snprintf(s->path + l, sizeof s->path - l, " [images %d..%d, the hold-out]", first,
             first + count - 1);
    return VK_OK;
}

void vk_splits_free(vk_splits *sp)
{
    if (!sp)
        return;
    for (int r = 0; r < VK_SPLIT_N; r++) {
        int shared = 0;
        for (int q = 0; q < r; q++)
            shared |= sp->src[q] == sp->src[r];
        if (!shared)
            vk_catalog_close(sp->src[r]);
    }
    memset(sp, 0, sizeof *sp);
}

static int cap_n(int want, int dflt, int part)
{
    int n = want > 0 ? want : dflt > 0 ? dflt : part;
    return n < part ? n : part;
}

vk_status vk_splits_resolve(const vk_split_opts *o, const vk_model *m, vk_splits *sp,
                            vk_err *err)
{
    vk_splits r;
    char sib[1024];
    const char *path[VK_SPLIT_N];
    uint64_t seed = o->seed ? o->seed : VK_SAMPLE_SEED;
    int pct = o->test_percent ? o->test_percent : 50;
    vk_status rc = VK_OK;
    memset(&r, 0, sizeof r);
    if (pct < 1 || pct > 99)
        return vk_fail(err, VK_E_ARG, "test share %d%%: expected 1..99", pct);
    path[VK_SPLIT_TEST] = o->test ? o->test : o->data;
    path[VK_SPLIT_VAL] = o->val ? o->val
                         : o->data && train_sibling(o->data, sib, sizeof sib) ? sib
                                                                             : o->data;
    path[VK_SPLIT_CALIB] = o->calib ? o->calib : path[VK_SPLIT_VAL];
    for (int q = 0; q < VK_SPLIT_N; q++)
        if (!path[q])
            return vk_fail(err, VK_E_ARG, "no %s images: a dataset is required",
                           vk_split_role_str((vk_split_role)q));
    for (int q = 0; q < VK_SPLIT_N; q++) {
        /* the default validation source narrowed to the checkpoint's hold-out */
        int narrow = q == VK_SPLIT_VAL && !o->val && path[q] == sib && o->holdout_count > 0;
        for (int p = 0; p < q && !r.src[q] && !narrow; p++)
            if (!strcmp(path[p], path[q]))
                r.src[q] = r.src[p];
        if (r.src[q])
            continue;
        if ((rc = vk_catalog_open(path[q], m, &r.src[q], err)) != VK_OK) {
            vk_err_prefix(err, "%s images", vk_split_role_str((vk_split_role)q));
            goto fail;
        }
        if (narrow && !memcmp(vk_catalog_hash(r.src[q]), vk_catalog_hash(r.src[VK_SPLIT_TEST]),
                              32)) {
            rc = vk_fail(err, VK_E_ARG, "test images %s: the file the validation images (the "
                         "checkpoint's hold-out, images %d..%d of %s) are taken from, so the test "
                         "split would hold them; give other test images, or --val",
                         path[VK_SPLIT_TEST], o->holdout_first,
                         o->holdout_first + o->holdout_count - 1, sib);
            goto fail;
        }
        if (narrow &&
            (rc = narrow_idx(r.src[q], o->holdout_first, o->holdout_count, err)) != VK_OK) {
            vk_err_prefix(err, "validation images");
            goto fail;
        }
        for (int p = 0; p < q; p++)
            if (!memcmp(vk_catalog_hash(r.src[p]), vk_catalog_hash(r.src[q]), 32)) {
                vk_catalog_close(r.src[q]);
                r.src[q] = r.src[p];
                break;
            }
    }
    {
        vk_catalog *ts = r.src[VK_SPLIT_TEST];
        int s_n = vk_catalog_count(ts), t_end = s_n;
        int shared = r.src[VK_SPLIT_VAL] == ts || r.src[VK_SPLIT_CALIB] == ts;
        if (shared) {
            t_end = (int)((int64_t)s_n * pct / 100);
            if (t_end < 1 || t_end >= s_n) {
                rc = vk_fail(err, VK_E_ARG,
                             "%s: %d images cannot be split into test and selection parts "
                             "(%d%% test); give separate --test and --val data",
                             vk_catalog_path(ts), s_n, pct);
                goto fail;
            }
        }
        for (int q = 0; q < VK_SPLIT_N; q++) {
            r.sample[q].seed = seed;
            r.sample[q].n_source = vk_catalog_count(r.src[q]);
            memcpy(r.sample[q].source_hash, vk_catalog_hash(r.src[q]), 32);
        }
        r.sample[VK_SPLIT_TEST].offset = 0;
        r.sample[VK_SPLIT_TEST].n = cap_n(o->n_test, 0, t_end);
        /* the selection part of a source: after the test part when shared */
        int lo[VK_SPLIT_N], hi[VK_SPLIT_N];
        for (int q = VK_SPLIT_VAL; q < VK_SPLIT_N; q++) {
            lo[q] = r.src[q] == ts ? t_end : 0;
            hi[q] = vk_catalog_count(r.src[q]);
        }
        int n_val = cap_n(o->n_val, VK_SPLIT_VAL_N, hi[VK_SPLIT_VAL] - lo[VK_SPLIT_VAL]);
        r.sample[VK_SPLIT_VAL].offset = lo[VK_SPLIT_VAL];
        r.sample[VK_SPLIT_VAL].n = n_val;
        int n_cal = cap_n(o->n_calib, VK_SPLIT_CALIB_N, hi[VK_SPLIT_CALIB] - lo[VK_SPLIT_CALIB]);
        int c_off = lo[VK_SPLIT_CALIB];
        if (r.src[VK_SPLIT_CALIB] == r.src[VK_SPLIT_VAL]) {
            /* the end of the selection part: the calibration (and so the
               blob) does not depend on the validation size */
            c_off = hi[VK_SPLIT_CALIB] - n_cal;
            if (c_off < lo[VK_SPLIT_VAL] + n_val) {
                snprintf(r.note, sizeof r.note,
                         "the %d calibration images overlap the %d validation images (%.120s has "
                         "only %d images outside the test part)",
                         n_cal, n_val, vk_catalog_path(r.src[VK_SPLIT_VAL]),
                         hi[VK_SPLIT_VAL] - lo[VK_SPLIT_VAL]);
            }
        }
        r.sample[VK_SPLIT_CALIB].offset = c_off;
        r.sample[VK_SPLIT_CALIB].n = n_cal;
        for (int q = 0; q < VK_SPLIT_N; q++)
            if (r.sample[q].n < 1) {
                rc = vk_fail(err, VK_E_ARG, "%s: no images left for the %s split",
                             vk_catalog_path(r.src[q]), vk_split_role_str((vk_split_role)q));
                goto fail;
            }
    }
    *sp = r;
    return VK_OK;
fail:
    vk_splits_free(&r);
    return rc;
}

vk_status vk_splits_take(const vk_splits *sp, vk_split_role r, vk_dataset *ds, vk_err *err)
{
    vk_status rc = vk_catalog_take(sp->src[r], &sp->sample[r], ds, err);
    if (rc != VK_OK)
        vk_err_prefix(err, "%s images", vk_split_role_str(r));
    return rc;
}
