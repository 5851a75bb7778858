/* vk_calib: the calibration cache (see vk_calib.h). */
#include "vk_calib.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vk_sha256.h"

#define VK_CC_MAGIC "VKCC0001"
#define VK_CC_TAG "vitskip calibration cache 1"

static void warn(const vk_calib_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(const vk_calib_opts *o, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (o && o->warn)
        o->warn(o->warn_ctx, msg);
    else
        fprintf(stderr, "warning: %s\n", msg);
}

vk_status vk_calib_dir(const char *dir, char *out, size_t n, vk_err *err)
{
    const char *env;
    int w;
    if (dir && *dir)
        w = snprintf(out, n, "%s", dir);
    else if ((env = getenv("VITSKIP_CACHE")) && *env)
        w = snprintf(out, n, "%s", env);
    else if ((env = getenv("XDG_CACHE_HOME")) && *env)
        w = snprintf(out, n, "%s/vitskip", env);
    else if ((env = getenv("HOME")) && *env)
        w = snprintf(out, n, "%s/.cache/vitskip", env);
    else
        return vk_fail(err, VK_E_ARG,
                       "no cache folder: set VITSKIP_CACHE, XDG_CACHE_HOME or HOME");
    if (w < 0 || (size_t)w >= n)
        return vk_fail(err, VK_E_ARG, "cache folder name longer than %zu bytes", n - 1);
    return VK_OK;
}

static void put_i32(vk_sha256_ctx *c, int32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    vk_sha256_update(c, b, 4);
}

static void put_f32(vk_sha256_ctx *c, float f)
{
    int32_t v;
    memcpy(&v, &f, 4);
    put_i32(c, v);
}

void vk_calib_key(const vk_model *m, const vk_dataset *cal, uint8_t key[32])
{
    static const uint8_t zero[32];
    const vk_hparams *hp = &m->hp;
    uint8_t w[32], d[32];
    vk_sha256_ctx c;
    if (memcmp(m->sha256, zero, 32))
        memcpy(w, m->sha256, 32);
    else
        vk_sha256(m->arena, m->arena_n * sizeof(float), w);
    vk_dataset_hash(cal, d);
    vk_sha256_init(&c);
    vk_sha256_update(&c, VK_CC_TAG, sizeof VK_CC_TAG);
    vk_sha256_update(&c, VK_QUANT_METHOD, sizeof VK_QUANT_METHOD);
    vk_sha256_update(&c, w, 32);
    put_i32(&c, hp->image_size);
    put_i32(&c, hp->patch_size);
    put_i32(&c, hp->n_channels);
    put_i32(&c, hp->dim);
    put_i32(&c, hp->n_layers);
    put_i32(&c, hp->n_heads);
    put_i32(&c, hp->mlp_dim);
    put_i32(&c, hp->n_classes);
    put_f32(&c, hp->ln_eps);
    put_i32(&c, (int32_t)hp->act);
    put_i32(&c, m->n_tokens);
    put_f32(&c, m->rescale);
    for (int i = 0; i < hp->n_channels; i++) {
        put_f32(&c, m->mean[i]);
        put_f32(&c, m->std[i]);
    }
    vk_sha256_update(&c, d, 32);
    vk_sha256_final(&c, key);
}

/* Reads and checks an entry; VK_E_NOTFOUND when there is none, another
 * error (detail in err) when it is corrupt. */
static vk_status read_entry(const char *path, vk_qmodel *q, vk_err *err)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL, d[32];
    long n;
    vk_status rc = VK_E_FORMAT;
    if (!f)
        return errno == ENOENT || errno == ENOTDIR ? VK_E_NOTFOUND
                                                   : vk_fail(err, VK_E_IO, "cannot open: %m");
    if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
        rc = vk_fail(err, VK_E_IO, "cannot read");
        goto out;
    }
    if (n < 40) {
        vk_fail(err, rc, "%ld bytes, shorter than its header", n);
        goto out;
    }
    if (!(buf = malloc((size_t)n))) {
        rc = vk_fail(err, VK_E_NOMEM, "out of memory");
        goto out;
    }
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        rc = vk_fail(err, VK_E_IO, "short read");
        goto out;
    }
    if (memcmp(buf, VK_CC_MAGIC, 8)) {
        vk_fail(err, rc, "not a vitskip cache entry (magic %s expected)", VK_CC_MAGIC);
        goto out;
    }
    vk_sha256(buf + 40, (size_t)n - 40, d);
    if (memcmp(d, buf + 8, 32)) {
        vk_fail(err, rc, "its blob does not match the SHA-256 it records");
        goto out;
    }
    rc = vk_qmodel_from_bytes(buf + 40, (size_t)n - 40, "blob", q, err);
out:
    free(buf);
    fclose(f);
    return rc;
}

/* Writes an entry atomically: a temporary file in dir, then rename. */
static vk_status write_entry(const char *dir, const char *path, const vk_qmodel *q, vk_err *err)
{
    char tmp[1300];
    uint8_t *blob, d[32];
    size_t len;
    FILE *f;
    vk_status rc;
    if (mkdir(dir, 0777) && errno != EEXIST) {
        /* a missing parent (the default ~/.cache): create the chain */
        char p[1024];
        snprintf(p, sizeof p, "%s", dir);
        for (char *s = p + 1; *s; s++)
            if (*s == '/') {
                *s = 0;
                if (mkdir(p, 0777) && errno != EEXIST)
                    return vk_fail(err, VK_E_IO, "%s: cannot create: %m", p);
                *s = '/';
            }
        if (mkdir(dir, 0777) && errno != EEXIST)
            return vk_fail(err, VK_E_IO, "%s: cannot create: %m", dir);
    }
    if ((rc = vk_qmodel_to_bytes(q, &blob, &len, err)) != VK_OK)
        return rc;
    vk_sha256(blob, len, d);
    snprintf(tmp, sizeof tmp, "%.1200s.%ld.tmp", path, (long)getpid());
    f = fopen(tmp, "wb");
    if (!f) {
        free(blob);
        return vk_fail(err, VK_E_IO, "%s: cannot create: %m", tmp);
    }
    int ok = fwrite(VK_CC_MAGIC, 1, 8, f) == 8 && fwrite(d, 1, 32, f) == 32 &&
             fwrite(blob, 1, len, f) == len;
    ok &= fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok &= fclose(f) == 0;
    free(blob);
    if (!ok || rename(tmp, path)) {
        rc = vk_fail(err, VK_E_IO, "%s: cannot write: %m", path);
        unlink(tmp);
        return rc;
    }
    return VK_OK;
}

typedef struct {
    const vk_model *m;
    const vk_dataset *ds;
} ds_images;

static void ds_image(void *ctx, int i, float *out)
{
    const ds_images *d = ctx;
    vk_dataset_normalize(d->ds, d->m, i, out);
}

vk_status vk_calib_get(const vk_model *m, const vk_dataset *cal, const vk_calib_opts *o,
                       vk_qmodel *q, vk_calib_result *how, vk_err *err)
{
    static const vk_calib_opts none = {0};
    char dir[1024], path[1200], hex[65];
    uint8_t key[32];
    vk_ref_stats st;
    vk_qmodel r;
    vk_calib_result res = VK_CALIB_UNCACHED;
    vk_status rc;
    int cache = 0;
    if (!o)
        o = &none;
    if (!o->off) {
        vk_err e = {{0}};
        if (vk_calib_dir(o->dir, dir, sizeof dir, &e) == VK_OK) {
            vk_calib_key(m, cal, key);
            vk_sha256_hex(key, hex);
            snprintf(path, sizeof path, "%s/%s.vkc", dir, hex);
            cache = 1;
        } else {
            warn(o, "calibration cache off: %s", e.msg);
        }
    }
    if (cache) {
        vk_err e = {{0}};
        rc = read_entry(path, &r, &e);
        if (rc == VK_OK) {
            *q = r;
            if (how)
                *how = VK_CALIB_HIT;
            return VK_OK;
        }
        if (rc == VK_E_NOTFOUND) {
            res = VK_CALIB_MISS;
        } else {
            warn(o, "%s: %s; calibrating again and rewriting it", path, e.msg);
            res = VK_CALIB_REBUILT;
        }
    }
    if (cal->channels != m->hp.n_channels || cal->height != m->hp.image_size ||
        cal->width != m->hp.image_size)
        return vk_fail(err, VK_E_ARG,
                       "calibration: images of %dx%dx%d, the model takes %dx%dx%d",
                       cal->channels, cal->height, cal->width, m->hp.n_channels,
                       m->hp.image_size, m->hp.image_size);
    ds_images src = {m, cal};
    if ((rc = vk_quant_stats(m, cal->n, ds_image, &src, o->progress, o->progress_ctx, &st,
                             err)) != VK_OK ||
        (rc = vk_quant_build(m, &st, &r, err)) != VK_OK)
        return rc;
    if (cache) {
        vk_err e = {{0}};
        if (write_entry(dir, path, &r, &e) != VK_OK) {
            warn(o, "calibration cache not written: %s", e.msg);
            res = VK_CALIB_UNCACHED;
        }
    }
    *q = r;
    if (how)
        *how = res;
    return VK_OK;
}
