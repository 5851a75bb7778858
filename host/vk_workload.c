/* vk_workload: model + calibration + quantized evaluation images (see
 * vk_workload.h). */
#include "vk_workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vk_sha256.h"

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* For ".../t10k-images-idx3-ubyte[.gz]" the sibling training file. */
static int train_sibling(const char *data, char *out, size_t n)
{
    const char *hit = strstr(data, "t10k-images");
    if (!hit || strlen(data) + 8 >= n)
        return 0;
    snprintf(out, n, "%.*strain-images%s", (int)(hit - data), data, hit + strlen("t10k-images"));
    return exists(out);
}

static vk_status load_model(const vk_workload_opts *o, vk_model *m, vk_err *err)
{
    if (is_dir(o->model))
        return vk_model_load_hf(o->model, m, err);
    if (!o->timm_hp)
        return vk_fail(err, VK_E_ARG,
                       "%s: not a checkpoint directory; a timm .safetensors file needs its "
                       "hyper-parameters",
                       o->model);
    return vk_model_load_timm(o->model, o->timm_hp, m, err);
}

/* Normalized float images [n][C][H][W] of the first n images of ds. */
static float *normalize_all(const vk_dataset *ds, const vk_model *m, int n)
{
    size_t img_n = (size_t)ds->channels * ds->height * ds->width;
    float *f = malloc((size_t)n * img_n * sizeof(float));
    if (!f)
        return NULL;
    for (int i = 0; i < n; i++)
        vk_dataset_normalize(ds, m, i, &f[(size_t)i * img_n]);
    return f;
}

vk_status vk_workload_open(const vk_workload_opts *o, vk_workload *w, vk_err *err)
{
    vk_workload r;
    vk_dataset calib;
    const vk_dataset *cal = NULL;
    char sib[1024];
    const char *calib_path = o->calib;
    int calib_n = o->calib_n > 0 ? o->calib_n : 512, own_calib = 0;
    float *f = NULL;
    size_t img_n;
    uint8_t h[32];
    vk_status rc;

    memset(&r, 0, sizeof r);
    memset(&calib, 0, sizeof calib);
    if (!o->model || !o->data)
        return vk_fail(err, VK_E_ARG, "a model and a dataset are required");
    rc = load_model(o, &r.model, err);
    if (rc != VK_OK)
        return rc;
    rc = vk_dataset_load(o->data, &r.model, o->limit, &r.data, err);
    if (rc != VK_OK)
        goto err;
    if (!calib_path && train_sibling(o->data, sib, sizeof sib))
        calib_path = sib;
    if (calib_path) {
        rc = vk_dataset_load(calib_path, &r.model, calib_n, &calib, err);
        if (rc != VK_OK) {
            vk_err_prefix(err, "calibration set");
            goto err;
        }
        own_calib = 1;
        cal = &calib;
    } else {
        if (!o->quiet)
            fprintf(stderr, "note: calibrating on the evaluation images (no --calib given)\n");
        cal = &r.data;
    }
    if (calib_n > cal->n)
        calib_n = cal->n;
    f = normalize_all(cal, &r.model, calib_n);
    if (!f) {
        rc = vk_fail(err, VK_E_NOMEM, "calibration: out of memory");
        goto err;
    }
    rc = vk_quant_calibrate(&r.model, f, calib_n, &r.q, err);
    free(f);
    f = NULL;
    if (rc != VK_OK)
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
    vk_dataset_hash(&r.data, h);
    vk_sha256_hex(h, r.data_hash);
    if (own_calib)
        vk_dataset_free(&calib);
    *w = r;
    return VK_OK;
err:
    free(f);
    if (own_calib)
        vk_dataset_free(&calib);
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
