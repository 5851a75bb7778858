/* vk_safetensors: strict safetensors reader (see vk_safetensors.h). */
#include "vk_safetensors.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_sha256.h"

#define VK_ST_MAX_FILE ((size_t)4 << 30)
#define VK_ST_MAX_HEADER ((size_t)100 << 20)

struct vk_st {
    char path[512];
    uint8_t *bytes;
    size_t len;
    vk_st_tensor *t;
    char **names;
    int n;
};

static size_t dtype_size(const char *d, vk_st_dtype *out)
{
    static const struct {
        const char *n;
        size_t s;
        vk_st_dtype t;
    } tab[] = {{"F32", 4, VK_ST_F32},    {"F16", 2, VK_ST_F16},       {"BF16", 2, VK_ST_BF16},
               {"F64", 8, VK_ST_OTHER},  {"I64", 8, VK_ST_OTHER},     {"I32", 4, VK_ST_OTHER},
               {"I16", 2, VK_ST_OTHER},  {"I8", 1, VK_ST_OTHER},      {"U8", 1, VK_ST_OTHER},
               {"BOOL", 1, VK_ST_OTHER}, {"U16", 2, VK_ST_OTHER},     {"U32", 4, VK_ST_OTHER},
               {"U64", 8, VK_ST_OTHER},  {"F8_E4M3", 1, VK_ST_OTHER}, {"F8_E5M2", 1, VK_ST_OTHER}};
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (!strcmp(tab[i].n, d)) {
            *out = tab[i].t;
            return tab[i].s;
        }
    return 0;
}

void vk_st_close(vk_st *st)
{
    if (!st)
        return;
    for (int i = 0; i < st->n; i++)
        free(st->names[i]);
    free(st->names);
    free(st->t);
    free(st->bytes);
    free(st);
}

static int is_whole(const cJSON *v, double *out)
{
    if (!cJSON_IsNumber(v))
        return 0;
    double d = v->valuedouble;
    if (d < 0 || d > 9.0e15 || d != (double)(int64_t)d)
        return 0;
    *out = d;
    return 1;
}

static vk_status parse_header(vk_st *st, const char *json, size_t data_len, vk_err *err)
{
    const char *p = st->path;
    cJSON *root = cJSON_ParseWithLength(json, strlen(json)), *it;
    vk_status rc = VK_E_FORMAT;
    int n = 0, i = 0;
    if (!root)
        return vk_fail(err, VK_E_FORMAT, "%s: header is not valid JSON", p);
    if (!cJSON_IsObject(root)) {
        vk_fail(err, rc, "%s: header is not a JSON object", p);
        goto out;
    }
    cJSON_ArrayForEach(it, root)
    {
        if (strcmp(it->string, "__metadata__"))
            n++;
    }
    st->t = calloc((size_t)n + 1, sizeof *st->t);
    st->names = calloc((size_t)n + 1, sizeof *st->names);
    if (!st->t || !st->names) {
        rc = vk_fail(err, VK_E_NOMEM, "%s: out of memory", p);
        goto out;
    }
    cJSON_ArrayForEach(it, root)
    {
        vk_st_tensor *t = &st->t[i];
        const cJSON *dt, *sh, *off, *s;
        double b, e, d;
        size_t es, count = 1;
        if (!strcmp(it->string, "__metadata__"))
            continue;
        st->names[i] = strdup(it->string);
        if (!st->names[i]) {
            rc = vk_fail(err, VK_E_NOMEM, "%s: out of memory", p);
            goto out;
        }
        t->name = st->names[i];
        st->n = ++i;
        for (int j = 0; j < i - 1; j++)
            if (!strcmp(st->names[j], t->name)) {
                vk_fail(err, rc, "%s: tensor \"%s\" appears twice in the header", p, t->name);
                goto out;
            }
        if (!cJSON_IsObject(it)) {
            vk_fail(err, rc, "%s: tensor \"%s\": entry is not an object", p, t->name);
            goto out;
        }
        dt = cJSON_GetObjectItemCaseSensitive(it, "dtype");
        sh = cJSON_GetObjectItemCaseSensitive(it, "shape");
        off = cJSON_GetObjectItemCaseSensitive(it, "data_offsets");
        if (!cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(off)) {
            vk_fail(err, rc,
                    "%s: tensor \"%s\": needs \"dtype\" (string), \"shape\" (array) and "
                    "\"data_offsets\" (array)",
                    p, t->name);
            goto out;
        }
        snprintf(t->dtype_name, sizeof t->dtype_name, "%s", dt->valuestring);
        es = dtype_size(dt->valuestring, &t->dtype);
        if (!es) {
            vk_fail(err, rc, "%s: tensor \"%s\": unknown dtype \"%s\"", p, t->name,
                    dt->valuestring);
            goto out;
        }
        t->rank = cJSON_GetArraySize(sh);
        if (t->rank > VK_ST_MAX_RANK) {
            vk_fail(err, rc, "%s: tensor \"%s\": rank %d exceeds %d", p, t->name, t->rank,
                    VK_ST_MAX_RANK);
            goto out;
        }
        int r = 0;
        cJSON_ArrayForEach(s, sh)
        {
            if (!is_whole(s, &d) || d > 1e12) {
                vk_fail(err, rc, "%s: tensor \"%s\": shape[%d] is not a non-negative integer", p,
                        t->name, r);
                goto out;
            }
            t->shape[r++] = (int64_t)d;
            if (d > 0 && count > (SIZE_MAX / 16) / (size_t)d) {
                vk_fail(err, rc, "%s: tensor \"%s\": shape too large", p, t->name);
                goto out;
            }
            count *= (size_t)d;
        }
        if (cJSON_GetArraySize(off) != 2 || !is_whole(cJSON_GetArrayItem(off, 0), &b) ||
            !is_whole(cJSON_GetArrayItem(off, 1), &e)) {
            vk_fail(err, rc, "%s: tensor \"%s\": data_offsets must be two non-negative integers", p,
                    t->name);
            goto out;
        }
        if (b > e || e > (double)data_len) {
            vk_fail(err, rc,
                    "%s: tensor \"%s\": data_offsets [%.0f, %.0f] past the end of the data "
                    "(%zu bytes)",
                    p, t->name, b, e, data_len);
            goto out;
        }
        if ((size_t)(e - b) != count * es) {
            vk_fail(err, rc, "%s: tensor \"%s\": %.0f data bytes, but shape and dtype %s need %zu",
                    p, t->name, e - b, t->dtype_name, count * es);
            goto out;
        }
        t->n_bytes = (size_t)(e - b);
        /* an offset into the data block until vk_st_open rebases it */
        t->data = (const uint8_t *)(uintptr_t)(size_t)b;
    }
    rc = VK_OK;
out:
    cJSON_Delete(root);
    return rc;
}

vk_status vk_st_open(const char *path, vk_st **out, vk_err *err)
{
    vk_st *st = calloc(1, sizeof *st);
    FILE *f;
    long flen;
    uint64_t hlen = 0;
    char *json = NULL;
    vk_status rc;
    if (!st)
        return vk_fail(err, VK_E_NOMEM, "%s: out of memory", path);
    snprintf(st->path, sizeof st->path, "%s", path);
    f = fopen(path, "rb");
    if (!f) {
        vk_st_close(st);
        return vk_fail(err, VK_E_IO, "%s: cannot open: %m", path);
    }
    if (fseek(f, 0, SEEK_END) || (flen = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
        fclose(f);
        vk_st_close(st);
        return vk_fail(err, VK_E_IO, "%s: cannot determine the file size", path);
    }
    if ((size_t)flen > VK_ST_MAX_FILE) {
        fclose(f);
        vk_st_close(st);
        return vk_fail(err, VK_E_FORMAT, "%s: %ld bytes exceeds the 4 GiB limit", path, flen);
    }
    st->len = (size_t)flen;
    st->bytes = malloc(st->len ? st->len : 1);
    if (!st->bytes || fread(st->bytes, 1, st->len, f) != st->len) {
        fclose(f);
        vk_st_close(st);
        return vk_fail(err, VK_E_IO, "%s: cannot read %zu bytes", path, (size_t)flen);
    }
    fclose(f);
    if (st->len < 8) {
        vk_st_close(st);
        return vk_fail(err, VK_E_FORMAT,
                       "%s: truncated (%zu bytes; a safetensors file starts "
                       "with an 8-byte header length)",
                       path, (size_t)flen);
    }
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | st->bytes[i];
    if (hlen < 2 || hlen > st->len - 8 || hlen > VK_ST_MAX_HEADER) {
        vk_st_close(st);
        return vk_fail(err, VK_E_FORMAT, "%s: header length %llu is invalid for a %zu-byte file",
                       path, (unsigned long long)hlen, (size_t)flen);
    }
    json = malloc(hlen + 1);
    if (!json) {
        vk_st_close(st);
        return vk_fail(err, VK_E_NOMEM, "%s: out of memory", path);
    }
    memcpy(json, st->bytes + 8, hlen);
    json[hlen] = 0;
    if (strlen(json) != hlen) { /* trailing spaces are allowed, NULs are not */
        free(json);
        vk_st_close(st);
        return vk_fail(err, VK_E_FORMAT, "%s: header contains a NUL byte", path);
    }
    rc = parse_header(st, json, st->len - 8 - hlen, err);
    free(json);
    if (rc != VK_OK) {
        vk_st_close(st);
        return rc;
    }
    for (int i = 0; i < st->n; i++)
        st->t[i].data = st->bytes + 8 + hlen + (size_t)(uintptr_t)st->t[i].data;
    *out = st;
    return VK_OK;
}

const vk_st_tensor *vk_st_find(const vk_st *st, const char *name)
{
    for (int i = 0; i < st->n; i++)
        if (!strcmp(st->t[i].name, name))
            return &st->t[i];
    return NULL;
}

int vk_st_count(const vk_st *st)
{
    return st->n;
}

const vk_st_tensor *vk_st_at(const vk_st *st, int i)
{
    return i >= 0 && i < st->n ? &st->t[i] : NULL;
}

void vk_st_sha256(const vk_st *st, uint8_t out[32])
{
    vk_sha256(st->bytes, st->len, out);
}

const char *vk_st_path(const vk_st *st)
{
    return st->path;
}

static float half_to_f32(uint16_t h)
{
    uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31, m = h & 1023, bits;
    float f;
    if (e == 0) {
        if (m == 0) {
            bits = s;
        } else { /* subnormal */
            float v = (float)m / 1024.0f / 16384.0f;
            return s ? -v : v;
        }
    } else if (e == 31) {
        bits = s | 0x7F800000u | (m << 13);
    } else {
        bits = s | ((e + 112) << 23) | (m << 13);
    }
    memcpy(&f, &bits, 4);
    return f;
}

static void fmt_shape(char *b, size_t n, const int64_t *s, int r)
{
    size_t o = (size_t)snprintf(b, n, "[");
    for (int i = 0; i < r && o < n; i++)
        o += (size_t)snprintf(b + o, n - o, "%s%lld", i ? ", " : "", (long long)s[i]);
    if (o < n)
        snprintf(b + o, n - o, "]");
}

vk_status vk_st_get_f32(const vk_st *st, const char *name, const int64_t *shape, int rank,
                        float *dst, vk_err *err)
{
    const vk_st_tensor *t = vk_st_find(st, name);
    char want[128], got[128];
    size_t count = 1;
    if (!t)
        return vk_fail(err, VK_E_FORMAT, "%s: tensor \"%s\" is missing", st->path, name);
    if (t->dtype == VK_ST_OTHER)
        return vk_fail(err, VK_E_UNSUPPORTED,
                       "%s: tensor \"%s\": dtype %s is not supported (F32, F16 or BF16 expected)",
                       st->path, name, t->dtype_name);
    fmt_shape(want, sizeof want, shape, rank);
    fmt_shape(got, sizeof got, t->shape, t->rank);
    if (t->rank != rank)
        goto shape;
    for (int i = 0; i < rank; i++) {
        if (t->shape[i] != shape[i])
            goto shape;
        count *= (size_t)shape[i];
    }
    for (size_t i = 0; i < count; i++) {
        const uint8_t *q = t->data + i * (t->dtype == VK_ST_F32 ? 4 : 2);
        if (t->dtype == VK_ST_F32) {
            uint32_t b =
                (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
            memcpy(&dst[i], &b, 4);
        } else if (t->dtype == VK_ST_F16) {
            dst[i] = half_to_f32((uint16_t)(q[0] | q[1] << 8));
        } else {
            uint32_t b = (uint32_t)(q[0] | q[1] << 8) << 16;
            memcpy(&dst[i], &b, 4);
        }
    }
    return VK_OK;
shape:
    return vk_fail(err, VK_E_FORMAT, "%s: tensor \"%s\" has shape %s, the config implies %s",
                   st->path, name, got, want);
}
