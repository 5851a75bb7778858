/* vk_workload: model + calibration + quantized evaluation images (see
 * vk_workload.h). */
#include "vk_workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_sha256.h"

/* Reads a .vkq file into *q when its dimensions are the model's; on error
 * *q is untouched. */
static vk_status blob_load(const char *path, const vk_model *m, const char *model_path,
                           vk_qmodel *q, vk_err *err)
{
    static const struct {
        int field;
        const char *name;
    } dims[] = {{VK_HDR_IMAGE, "image size"}, {VK_HDR_PATCH, "patch size"},
                {VK_HDR_CHANNELS, "channels"}, {VK_HDR_DIM, "width"},
                {VK_HDR_LAYERS, "encoders"},   {VK_HDR_HEADS, "heads"},
                {VK_HDR_MLP, "MLP width"},     {VK_HDR_CLASSES, "classes"},
                {VK_HDR_PREFIX, "prefix tokens"}};
    const int want[] = {m->hp.image_size, m->hp.patch_size, m->hp.n_channels,
                        m->hp.dim,        m->hp.n_layers,   m->hp.n_heads,
                        m->hp.mlp_dim,    m->hp.n_classes,  m->n_prefix};
    vk_qmodel r;
    vk_status rc = vk_qmodel_load(path, &r, err);
    if (rc != VK_OK)
        return rc;
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
        if (vk_qmodel_dim(&r, dims[i].field) != want[i]) {
            rc = vk_fail(err, VK_E_MISMATCH, "%s: a blob of %s %d, but %s has %d", path,
                         dims[i].name, (int)vk_qmodel_dim(&r, dims[i].field), model_path,
                         want[i]);
            vk_qmodel_free(&r);
            return rc;
        }
    *q = r;
    return VK_OK;
}

/* The model, its splits, the test images (when test is not NULL, taken
 * before calibrating so that bad data fails at once) and the calibrated
 * blob: what vk_workload_open and vk_workload_quantize share, so both give
 * the same blob. On error nothing is left allocated and the outputs are
 * untouched. */
static vk_status calibrated(const vk_workload_opts *o, vk_model *m, vk_splits *sp,
                            vk_dataset *test, vk_qmodel *q, vk_calib_result *how, vk_err *err)
{
    vk_dataset rt;
    vk_model rm;
    vk_splits rs;
    vk_dataset calib;
    vk_split_opts so = {.data = o->data, .test = o->test, .calib = o->calib,
                        .n_test = o->limit, .n_calib = o->calib_n, .val = o->val,
                        .n_val = o->n_val};
    vk_status rc;

    memset(&rs, 0, sizeof rs);
    memset(&calib, 0, sizeof calib);
    memset(&rt, 0, sizeof rt);
    if (!o->model || !o->data)
        return vk_fail(err, VK_E_ARG, "a model and a dataset are required");
    {
        size_t k = strlen(o->model);
        if (k > 4 && !strcmp(o->model + k - 4, ".vkq"))
            return vk_fail(err, VK_E_ARG,
                           "%s: a .vkq file holds the int8 blob only, not the preprocessing "
                           "and labels; give the checkpoint as the model and the file as the "
                           "blob (--blob)",
                           o->model);
    }
    if ((rc = vk_model_load(o->model, o->arch, &rm, err)) != VK_OK)
        return rc;
    if ((rc = vk_model_heldout(o->model, &so.holdout_first, &so.holdout_count, err)) != VK_OK ||
        (rc = vk_splits_resolve(&so, &rm, &rs, err)) != VK_OK ||
        (test && (rc = vk_splits_take(&rs, VK_SPLIT_TEST, &rt, err)) != VK_OK))
        goto err;
    if (o->blob) {
        if ((rc = blob_load(o->blob, &rm, o->model, q, err)) != VK_OK)
            goto err;
        if (how)
            *how = VK_CALIB_FILE;
    } else {
        if ((rc = vk_splits_take(&rs, VK_SPLIT_CALIB, &calib, err)) != VK_OK)
            goto err;
        if (rs.note[0] && !o->quiet)
            fprintf(stderr, "note: %s\n", rs.note);
        if ((rc = vk_calib_get(&rm, &calib, &o->cache, q, how, err)) != VK_OK)
            goto err;
    }
    vk_dataset_free(&calib);
    *m = rm;
    *sp = rs;
    if (test)
        *test = rt;
    return VK_OK;
err:
    vk_dataset_free(&rt);
    vk_dataset_free(&calib);
    vk_splits_free(&rs);
    vk_model_free(&rm);
    return rc;
}

vk_status vk_workload_quantize(const vk_workload_opts *o, vk_model *m, vk_qmodel *q,
                               vk_calib_result *how, vk_err *err)
{
    vk_splits sp;
    vk_status rc = calibrated(o, m, &sp, NULL, q, how, err);
    if (rc == VK_OK)
        vk_splits_free(&sp);
    return rc;
}

vk_status vk_workload_open(const vk_workload_opts *o, vk_workload *w, vk_err *err)
{
    vk_workload r;
    float *f = NULL;
    size_t img_n;
    uint8_t h[32];
    vk_status rc;

    memset(&r, 0, sizeof r);
    if ((rc = calibrated(o, &r.model, &r.splits, &r.data, &r.q, &r.calib, err)) != VK_OK)
        return rc;
    r.n = r.data.n;
    img_n = vk_qmodel_img_n(&r.q);
    r.imgs = malloc((size_t)r.n * img_n);
    f = malloc(img_n * sizeof(float));
    if (!r.imgs || !f) {
        rc = vk_fail(err, VK_E_NOMEM, "%s: out of memory for %d images", o->data, r.n);
        goto err;
    }
    for (int i = 0; i < r.n; i++) {
        vk_dataset_normalize(&r.data, &r.model, i, f);
        vk_quant_input(&r.q, f, &r.imgs[(size_t)i * img_n]);
    }
    free(f);
    vk_sha256_hex(r.q.hash, r.model_hash);
    vk_sha256_hex(r.model.sha256, r.ckpt_hash);
    vk_dataset_hash(&r.data, h);
    vk_sha256_hex(h, r.data_hash);
    *w = r;
    return VK_OK;
err:
    free(f);
    vk_workload_free(&r);
    return rc;
}

void vk_workload_free(vk_workload *w)
{
    if (!w)
        return;
    free(w->imgs);
    w->imgs = NULL;
    vk_qmodel_free(&w->q);
    vk_dataset_free(&w->data);
    vk_model_free(&w->model);
    vk_splits_free(&w->splits);
}

static double top1_of(const int *labels, const int32_t *cls, int n)
{
    int ok = 0;
    if (n <= 0)
        return 0;
    for (int i = 0; i < n; i++)
        ok += cls[i] == labels[i];
    return 100.0 * ok / n;
}

double vk_workload_top1(const vk_workload *w, const int32_t *cls, int n)
{
    return top1_of(w->data.labels, cls, n);
}

double vk_imageset_top1(const vk_imageset *s, const int32_t *cls)
{
    return top1_of(s->data.labels, cls, s->n);
}

vk_status vk_workload_take(const vk_workload *w, vk_split_role r, vk_imageset *out, vk_err *err)
{
    vk_imageset s;
    size_t img_n = vk_qmodel_img_n(&w->q);
    uint8_t h[32];
    float *f = NULL;
    vk_status rc;
    memset(&s, 0, sizeof s);
    memset(out, 0, sizeof *out);
    if ((rc = vk_splits_take(&w->splits, r, &s.data, err)) != VK_OK)
        return rc;
    s.n = s.data.n;
    s.imgs = malloc((size_t)s.n * img_n);
    f = malloc(img_n * sizeof(float));
    if (!s.imgs || !f) {
        free(f);
        vk_imageset_free(&s);
        return vk_fail(err, VK_E_NOMEM, "%s images: out of memory for %d images",
                       vk_split_role_str(r), s.n);
    }
    for (int i = 0; i < s.n; i++) {
        vk_dataset_normalize(&s.data, &w->model, i, f);
        vk_quant_input(&w->q, f, &s.imgs[(size_t)i * img_n]);
    }
    free(f);
    vk_dataset_hash(&s.data, h);
    vk_sha256_hex(h, s.hash);
    *out = s;
    return VK_OK;
}

void vk_imageset_free(vk_imageset *s)
{
    if (!s)
        return;
    free(s->imgs);
    vk_dataset_free(&s->data);
    memset(s, 0, sizeof *s);
}
