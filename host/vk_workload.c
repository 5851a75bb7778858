/* vk_workload: model + calibration + quantized evaluation images (see
 * vk_workload.h). */
#include "vk_workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk_sha256.h"

vk_status vk_workload_open(const vk_workload_opts *o, vk_workload *w, vk_err *err)
{
    vk_workload r;
    vk_dataset calib;
    vk_splits sp;
    vk_split_opts so = {.data = o->data, .calib = o->calib, .n_test = o->limit,
                        .n_calib = o->calib_n};
    float *f = NULL;
    size_t img_n;
    uint8_t h[32];
    vk_status rc;

    memset(&r, 0, sizeof r);
    memset(&calib, 0, sizeof calib);
    memset(&sp, 0, sizeof sp);
    if (!o->model || !o->data)
        return vk_fail(err, VK_E_ARG, "a model and a dataset are required");
    rc = vk_model_load(o->model, o->arch, &r.model, err);
    if (rc != VK_OK)
        return rc;
    if ((rc = vk_splits_resolve(&so, &r.model, &sp, err)) != VK_OK ||
        (rc = vk_splits_take(&sp, VK_SPLIT_TEST, &r.data, err)) != VK_OK ||
        (rc = vk_splits_take(&sp, VK_SPLIT_CALIB, &calib, err)) != VK_OK)
        goto err;
    if (sp.note[0] && !o->quiet)
        fprintf(stderr, "note: %s\n", sp.note);
    if ((rc = vk_calib_get(&r.model, &calib, &o->cache, &r.q, &r.calib, err)) != VK_OK)
        goto err;

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
    vk_dataset_free(&calib);
    vk_splits_free(&sp);
    *w = r;
    return VK_OK;
err:
    free(f);
    vk_dataset_free(&calib);
    vk_splits_free(&sp);
    free(r.imgs);
    vk_qmodel_free(&r.q);
    vk_dataset_free(&r.data);
    vk_model_free(&r.model);
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
}

double vk_workload_top1(const vk_workload *w, const int32_t *cls, int n)
{
    int ok = 0;
    if (n <= 0)
        return 0;
    for (int i = 0; i < n; i++)
        ok += cls[i] == w->data.labels[i];
    return 100.0 * ok / n;
}
