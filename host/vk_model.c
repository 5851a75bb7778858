/* vk_model: float model allocation and import from Hugging Face and timm
 * checkpoints (see vk_model.h). */
#include "vk_model.h"

#include <cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vk_safetensors.h"

vk_status vk_hparams_check(const vk_hparams *hp, const char *what, vk_err *err)
{
    const struct {
        const char *name;
        int v, max;
    } f[] = {{"image_size", hp->image_size, VK_MAX_IMAGE},
             {"patch_size", hp->patch_size, VK_MAX_IMAGE},
             {"num_channels", hp->n_channels, VK_MAX_CHANNELS},
             {"hidden_size", hp->dim, VK_MAX_DIM},
             {"num_hidden_layers", hp->n_layers, VK_MAX_LAYERS},
             {"num_attention_heads", hp->n_heads, VK_MAX_HEADS},
             {"intermediate_size", hp->mlp_dim, VK_MAX_MLP},
             {"num_labels", hp->n_classes, VK_MAX_CLASSES}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].v < 1 || f[i].v > f[i].max)
            return vk_fail(err, VK_E_UNSUPPORTED, "%s: %s = %d, the kernel takes 1..%d", what,
                           f[i].name, f[i].v, f[i].max);
    if (hp->n_classes < 2)
        return vk_fail(err, VK_E_UNSUPPORTED, "%s: num_labels = %d, at least 2 needed", what,
                       hp->n_classes);
    if (hp->image_size % hp->patch_size)
        return vk_fail(err, VK_E_UNSUPPORTED,
                       "%s: image_size %d is not a multiple of patch_size %d", what, hp->image_size,
                       hp->patch_size);
    if (hp->dim % hp->n_heads)
        return vk_fail(err, VK_E_UNSUPPORTED,
                       "%s: hidden_size %d is not a multiple of num_attention_heads %d", what,
                       hp->dim, hp->n_heads);
    if (hp->dim / hp->n_heads > VK_MAX_HEAD_DIM)
        return vk_fail(err, VK_E_UNSUPPORTED, "%s: head dimension %d exceeds the kernel's %d", what,
                       hp->dim / hp->n_heads, VK_MAX_HEAD_DIM);
    int g = hp->image_size / hp->patch_size, pre = 1 + !!hp->distilled;
    if (g * g + pre > VK_MAX_TOKENS)
        return vk_fail(err, VK_E_UNSUPPORTED, "%s: %d tokens exceed the kernel's %d", what,
                       g * g + pre, VK_MAX_TOKENS);
    if (hp->dist_head && !hp->distilled)
        return vk_fail(err, VK_E_FORMAT, "%s: a distillation head without a distillation token",
                       what);
    if (hp->n_channels * hp->patch_size * hp->patch_size > VK_MAX_PATCH_DIM)
        return vk_fail(err, VK_E_UNSUPPORTED, "%s: patch of %d values exceeds the kernel's %d",
                       what, hp->n_channels * hp->patch_size * hp->patch_size, VK_MAX_PATCH_DIM);
    if (!(hp->ln_eps > 0))
        return vk_fail(err, VK_E_FORMAT, "%s: layer_norm_eps must be positive", what);
    return VK_OK;
}

vk_status vk_model_alloc(vk_model *m, const vk_hparams *hp, vk_err *err)
{
    vk_model r;
    vk_status rc = vk_hparams_check(hp, "model", err);
    size_t d, t, mlp, k, pd, n, o = 0;
    if (rc != VK_OK)
        return rc;
    memset(&r, 0, sizeof r);
    r.hp = *hp;
    r.n_prefix = 1 + !!hp->distilled;
    r.n_tokens = (hp->image_size / hp->patch_size) * (hp->image_size / hp->patch_size) + r.n_prefix;
    d = (size_t)hp->dim, t = (size_t)r.n_tokens, mlp = (size_t)hp->mlp_dim;
    k = (size_t)hp->n_classes, pd = (size_t)hp->n_channels * hp->patch_size * hp->patch_size;
    n = d * pd + d + d + t * d + 2 * d + k * d + k + (hp->distilled ? d : 0) +
        (hp->dist_head ? k * d + k : 0) +
        (size_t)hp->n_layers *
            (4 * d + 3 * d * d + 3 * d + d * d + d + mlp * d + mlp + d * mlp + d);
    r.arena = calloc(n, sizeof(float));
    r.labels = calloc(k, sizeof(char *));
    if (!r.arena || !r.labels) {
        free(r.arena);
        free(r.labels);
        return vk_fail(err, VK_E_NOMEM, "model: out of memory (%zu floats)", n);
    }
    r.arena_n = n;
#define TAKE(ptr, cnt) (ptr = r.arena + o, o += (cnt))
    TAKE(r.patch_w, d * pd);
    TAKE(r.patch_b, d);
    TAKE(r.cls, d);
    if (hp->distilled)
        TAKE(r.dist, d);
    TAKE(r.pos, t * d);
    for (int l = 0; l < hp->n_layers; l++) {
        vk_layer *L = &r.layers[l];
        TAKE(L->ln1_w, d);
        TAKE(L->ln1_b, d);
        TAKE(L->qkv_w, 3 * d * d);
        TAKE(L->qkv_b, 3 * d);
        TAKE(L->proj_w, d * d);
        TAKE(L->proj_b, d);
        TAKE(L->ln2_w, d);
        TAKE(L->ln2_b, d);
        TAKE(L->fc1_w, mlp * d);
        TAKE(L->fc1_b, mlp);
        TAKE(L->fc2_w, d * mlp);
        TAKE(L->fc2_b, d);
    }
    TAKE(r.lnf_w, d);
    TAKE(r.lnf_b, d);
    TAKE(r.head_w, k * d);
    TAKE(r.head_b, k);
    if (hp->dist_head) {
        TAKE(r.headd_w, k * d);
        TAKE(r.headd_b, k);
    }
#undef TAKE
    for (size_t i = 0; i < k; i++) {
        char b[24];
        snprintf(b, sizeof b, "%zu", i);
        r.labels[i] = strdup(b);
        if (!r.labels[i]) {
            vk_model_free(&r);
            return vk_fail(err, VK_E_NOMEM, "model: out of memory");
        }
    }
    r.rescale = 1.0f / 255.0f;
    for (int c = 0; c < VK_MAX_CHANNELS; c++) {
        r.mean[c] = 0.5f;
        r.std[c] = 0.5f;
    }
    *m = r;
    return VK_OK;
}

void vk_model_free(vk_model *m)
{
    if (!m)
        return;
    if (m->labels)
        for (int i = 0; i < m->hp.n_classes; i++)
            free(m->labels[i]);
    free(m->labels);
    free(m->arena);
    memset(m, 0, sizeof *m);
}

static double rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0 * 2 - 1; /* [-1, 1) */
}

static void fill(float *p, size_t n, double center, double amp, uint64_t *s)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (float)(center + amp * rnd(s));
}

void vk_model_randomize(vk_model *m, uint64_t seed)
{
    const vk_hparams *hp = &m->hp;
    size_t d = (size_t)hp->dim, mlp = (size_t)hp->mlp_dim, k = (size_t)hp->n_classes;
    size_t pd = (size_t)hp->n_channels * hp->patch_size * hp->patch_size;
    uint64_t s = seed;
    fill(m->patch_w, d * pd, 0, 1 / sqrt((double)pd), &s);
    fill(m->patch_b, d, 0, 0.05, &s);
    fill(m->cls, d, 0, 0.5, &s);
    fill(m->pos, (size_t)m->n_tokens * d, 0, 0.5, &s);
    for (int l = 0; l < hp->n_layers; l++) {
        vk_layer *L = &m->layers[l];
        fill(L->ln1_w, d, 1, 0.1, &s);
        fill(L->ln1_b, d, 0, 0.05, &s);
        fill(L->qkv_w, 3 * d * d, 0, 2 / sqrt((double)d), &s);
        fill(L->qkv_b, 3 * d, 0, 0.05, &s);
        fill(L->proj_w, d * d, 0, 1 / sqrt((double)d), &s);
        fill(L->proj_b, d, 0, 0.05, &s);
        fill(L->ln2_w, d, 1, 0.1, &s);
        fill(L->ln2_b, d, 0, 0.05, &s);
        fill(L->fc1_w, mlp * d, 0, 1 / sqrt((double)d), &s);
        fill(L->fc1_b, mlp, 0, 0.05, &s);
        fill(L->fc2_w, d * mlp, 0, 1 / sqrt((double)mlp), &s);
        fill(L->fc2_b, d, 0, 0.05, &s);
    }
    fill(m->lnf_w, d, 1, 0.1, &s);
    fill(m->lnf_b, d, 0, 0.05, &s);
    fill(m->head_w, k * d, 0, 1 / sqrt((double)d), &s);
    fill(m->head_b, k, 0, 0.05, &s);
    if (m->dist)
        fill(m->dist, d, 0, 0.5, &s);
    if (m->headd_w) {
        fill(m->headd_w, k * d, 0, 1 / sqrt((double)d), &s);
        fill(m->headd_b, k, 0, 0.05, &s);
    }
}

/* ---- JSON helpers -------------------------------------------------------- */

static char *read_text(const char *path, vk_err *err, vk_status *rc)
{
    FILE *f = fopen(path, "rb");
    long n;
    char *b;
    if (!f) {
        *rc = vk_fail(err, VK_E_IO, "%s: cannot open: %m", path);
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || n > (16 << 20) || fseek(f, 0, SEEK_SET)) {
        fclose(f);
        *rc = vk_fail(err, VK_E_FORMAT, "%s: unreadable or larger than 16 MiB", path);
        return NULL;
    }
    b = malloc((size_t)n + 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        fclose(f);
        *rc = vk_fail(err, VK_E_IO, "%s: read error", path);
        return NULL;
    }
    fclose(f);
    b[n] = 0;
    return b;
}

/* The JSON object in the file at path (*root owned by the caller). */
static vk_status read_json(const char *path, cJSON **root, vk_err *err)
{
    vk_status rc = VK_OK;
    char *text = read_text(path, err, &rc);
    *root = NULL;
    if (!text)
        return rc;
    *root = cJSON_Parse(text);
    free(text);
    if (!*root || !cJSON_IsObject(*root)) {
        cJSON_Delete(*root);
        *root = NULL;
        return vk_fail(err, VK_E_FORMAT, "%s: not a JSON object", path);
    }
    return VK_OK;
}

vk_status vk_model_heldout(const char *path, int *first, int *count, vk_err *err)
{
    char p[1100];
    struct stat st;
    vk_status rc = VK_OK;
    *first = *count = 0;
    if (stat(path, &st) || !S_ISDIR(st.st_mode))
        return VK_OK;
    snprintf(p, sizeof p, "%s/heldout.json", path);
    if (stat(p, &st))
        return VK_OK;
    char *text = read_text(p, err, &rc);
    if (!text)
        return rc;
    cJSON *root = cJSON_Parse(text), *sp, *f, *n;
    free(text);
    sp = cJSON_GetObjectItemCaseSensitive(root, "split");
    f = cJSON_GetObjectItemCaseSensitive(root, "first");
    n = cJSON_GetObjectItemCaseSensitive(root, "count");
    if (!cJSON_IsObject(root) || !cJSON_IsString(sp) || strcmp(sp->valuestring, "train") ||
        !cJSON_IsNumber(f) || !cJSON_IsNumber(n) || !(f->valuedouble >= 0) ||
        !(n->valuedouble >= 1) || f->valuedouble + n->valuedouble > INT_MAX ||
        f->valuedouble != floor(f->valuedouble) || n->valuedouble != floor(n->valuedouble))
        rc = vk_fail(err, VK_E_FORMAT,
                     "%s: expected {\"split\": \"train\", \"first\": N >= 0, \"count\": N > 0}",
                     p);
    else {
        *first = (int)f->valuedouble;
        *count = (int)n->valuedouble;
    }
    cJSON_Delete(root);
    return rc;
}

/* Reads an integer field; required fields that are absent are an error. */
static vk_status json_int(const cJSON *o, const char *path, const char *key, int required, int dflt,
                          int *out, vk_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) {
        if (required)
            return vk_fail(err, VK_E_FORMAT, "%s: required field \"%s\" is missing", path, key);
        *out = dflt;
        return VK_OK;
    }
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= INT_MIN && v->valuedouble <= INT_MAX) ||
        v->valuedouble != (double)(int)v->valuedouble)
        return vk_fail(err, VK_E_FORMAT, "%s: field \"%s\" must be an integer", path, key);
    *out = (int)v->valuedouble;
    return VK_OK;
}

static vk_status json_float_array(const cJSON *o, const char *path, const char *key, int n_ch,
                                  float *out, vk_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key), *e;
    int n = 0;
    if (!v)
        return VK_OK;
    if (cJSON_IsNumber(v)) {
        for (int c = 0; c < n_ch; c++)
            out[c] = (float)v->valuedouble;
        return VK_OK;
    }
    if (!cJSON_IsArray(v) || (cJSON_GetArraySize(v) != 1 && cJSON_GetArraySize(v) != n_ch))
        return vk_fail(err, VK_E_FORMAT,
                       "%s: \"%s\" must be a number or an array of 1 or %d "
                       "numbers",
                       path, key, n_ch);
    cJSON_ArrayForEach(e, v)
    {
        if (!cJSON_IsNumber(e))
            return vk_fail(err, VK_E_FORMAT, "%s: \"%s\"[%d] is not a number", path, key, n);
        out[n++] = (float)e->valuedouble;
    }
    for (int c = n; c < n_ch; c++)
        out[c] = out[0];
    return VK_OK;
}

static vk_status parse_act(const char *s, const char *path, vk_act *act, vk_err *err)
{
    if (!strcmp(s, "gelu"))
        *act = VK_ACT_GELU;
    else if (!strcmp(s, "gelu_new") || !strcmp(s, "gelu_pytorch_tanh") || !strcmp(s, "gelu_fast"))
        *act = VK_ACT_GELU_TANH;
    else if (!strcmp(s, "relu"))
        *act = VK_ACT_RELU;
    else if (!strcmp(s, "quick_gelu"))
        *act = VK_ACT_QUICK_GELU;
    else
        return vk_fail(err, VK_E_UNSUPPORTED,
                       "%s: hidden_act \"%s\" is not supported (gelu, gelu_new, "
                       "gelu_pytorch_tanh, gelu_fast, relu, quick_gelu)",
                       path, s);
    return VK_OK;
}

/* teacher: 1 when config.json's architectures name
 * DeiTForImageClassificationWithTeacher, 0 when they name another class,
 * -1 when absent. */
static vk_status parse_config(const char *path, vk_hparams *hp, cJSON **labels_out,
                              int *teacher, vk_err *err)
{
    cJSON *root, *v;
    int num_labels = 0;
    vk_status rc = read_json(path, &root, err);
    if (rc != VK_OK)
        return rc;
    memset(hp, 0, sizeof *hp);
    v = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    if (v && !cJSON_IsString(v)) {
        rc = vk_fail(err, VK_E_FORMAT, "%s: field \"model_type\" must be a string", path);
        goto out;
    }
    if (v && strcmp(v->valuestring, "vit") && strcmp(v->valuestring, "deit")) {
        rc = vk_fail(err, VK_E_UNSUPPORTED,
                     "%s: model_type \"%s\" is not supported (vit: ViTForImageClassification; "
                     "deit: DeiTForImageClassification[WithTeacher])",
                     path, v->valuestring);
        goto out;
    }
    hp->distilled = v && !strcmp(v->valuestring, "deit");
    *teacher = -1;
    v = cJSON_GetObjectItemCaseSensitive(root, "architectures");
    if (v && cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0) {
        const cJSON *a = cJSON_GetArrayItem(v, 0);
        if (!cJSON_IsString(a)) {
            rc = vk_fail(err, VK_E_FORMAT, "%s: \"architectures\" must list class names", path);
            goto out;
        }
        if (strcmp(a->valuestring, "ViTForImageClassification") &&
            strcmp(a->valuestring, "DeiTForImageClassification") &&
            strcmp(a->valuestring, "DeiTForImageClassificationWithTeacher")) {
            rc = vk_fail(err, VK_E_UNSUPPORTED,
                         "%s: architecture %s is not supported (ViTForImageClassification, "
                         "DeiTForImageClassification, DeiTForImageClassificationWithTeacher)",
                         path, a->valuestring);
            goto out;
        }
        *teacher = !strcmp(a->valuestring, "DeiTForImageClassificationWithTeacher");
    }
    if ((rc = json_int(root, path, "hidden_size", 1, 0, &hp->dim, err)) ||
        (rc = json_int(root, path, "num_hidden_layers", 1, 0, &hp->n_layers, err)) ||
        (rc = json_int(root, path, "num_attention_heads", 1, 0, &hp->n_heads, err)) ||
        (rc = json_int(root, path, "intermediate_size", 1, 0, &hp->mlp_dim, err)) ||
        (rc = json_int(root, path, "image_size", 1, 0, &hp->image_size, err)) ||
        (rc = json_int(root, path, "patch_size", 1, 0, &hp->patch_size, err)) ||
        (rc = json_int(root, path, "num_channels", 0, 3, &hp->n_channels, err)) ||
        (rc = json_int(root, path, "num_labels", 0, 0, &num_labels, err)))
        goto out;
    v = cJSON_GetObjectItemCaseSensitive(root, "layer_norm_eps");
    if (v && !cJSON_IsNumber(v)) {
        rc = vk_fail(err, VK_E_FORMAT, "%s: field \"layer_norm_eps\" must be a number", path);
        goto out;
    }
    hp->ln_eps = v ? (float)v->valuedouble : 1e-12f;
    v = cJSON_GetObjectItemCaseSensitive(root, "hidden_act");
    if (v && !cJSON_IsString(v)) {
        rc = vk_fail(err, VK_E_FORMAT, "%s: field \"hidden_act\" must be a string", path);
        goto out;
    }
    hp->act = VK_ACT_GELU;
    if (v && (rc = parse_act(v->valuestring, path, &hp->act, err)))
        goto out;
    v = cJSON_GetObjectItemCaseSensitive(root, "qkv_bias");
    if (v && !cJSON_IsBool(v)) {
        rc = vk_fail(err, VK_E_FORMAT, "%s: field \"qkv_bias\" must be true or false", path);
        goto out;
    }
    /* ViT without q/k/v biases is rejected rather than loaded with zero
       biases: no such checkpoint has been checked against PyTorch */
    if (v && cJSON_IsFalse(v)) {
        rc = vk_fail(err, VK_E_UNSUPPORTED, "%s: qkv_bias false is not supported", path);
        goto out;
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "id2label");
    if (v && !cJSON_IsObject(v)) {
        rc = vk_fail(err, VK_E_FORMAT, "%s: field \"id2label\" must be an object", path);
        goto out;
    }
    hp->n_classes = v ? cJSON_GetArraySize(v) : num_labels;
    if (v && num_labels && num_labels != hp->n_classes) {
        rc = vk_fail(err, VK_E_FORMAT, "%s: num_labels %d disagrees with id2label's %d entries",
                     path, num_labels, hp->n_classes);
        goto out;
    }
    if (hp->n_classes == 0) {
        rc = vk_fail(err, VK_E_FORMAT, "%s: neither id2label nor num_labels is given", path);
        goto out;
    }
    if ((rc = vk_hparams_check(hp, path, err)))
        goto out;
    if (v) {
        *labels_out = cJSON_Duplicate(v, 1);
    }
out:
    cJSON_Delete(root);
    return rc;
}

static vk_status set_labels(vk_model *m, const cJSON *id2label, const char *path, vk_err *err)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, id2label)
    {
        char *end;
        long i = strtol(e->string, &end, 10);
        if (*end || end == e->string || i < 0 || i >= m->hp.n_classes || !cJSON_IsString(e))
            return vk_fail(err, VK_E_FORMAT,
                           "%s: id2label key \"%s\" must be a class index 0..%d with a string "
                           "name",
                           path, e->string, m->hp.n_classes - 1);
        char *s = strdup(e->valuestring);
        if (!s)
            return vk_fail(err, VK_E_NOMEM, "out of memory");
        free(m->labels[i]);
        m->labels[i] = s;
    }
    return VK_OK;
}

/* A boolean field (absent: dflt). */
static vk_status json_bool(const cJSON *o, const char *path, const char *key, int dflt, int *out,
                           vk_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (v && !cJSON_IsBool(v))
        return vk_fail(err, VK_E_FORMAT, "%s: \"%s\" must be true or false", path, key);
    *out = v ? cJSON_IsTrue(v) : dflt;
    return VK_OK;
}

/* A size field as transformers writes it: {"height": H, "width": W}, a
 * number (square), or (shortest_ok) {"shortest_edge": S}; absent: side
 * square. Sizes 1..4096. */
static vk_status json_size(const cJSON *o, const char *path, const char *key, int shortest_ok,
                           int side, int *h, int *w, int *shortest, vk_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    vk_status rc = VK_OK;
    *h = *w = side;
    *shortest = 0;
    if (!v || cJSON_IsNull(v))
        return VK_OK;
    if (cJSON_IsNumber(v))
        rc = json_int(o, path, key, 1, 0, h, err), *w = *h;
    else if (cJSON_IsObject(v) && cJSON_GetObjectItemCaseSensitive(v, "height"))
        (void)((rc = json_int(v, path, "height", 1, 0, h, err)) ||
               (rc = json_int(v, path, "width", 1, 0, w, err)));
    else if (shortest_ok && cJSON_IsObject(v) &&
             cJSON_GetObjectItemCaseSensitive(v, "shortest_edge") &&
             !cJSON_GetObjectItemCaseSensitive(v, "longest_edge"))
        rc = json_int(v, path, "shortest_edge", 1, 0, shortest, err), *h = *w = 0;
    else
        return vk_fail(err, VK_E_FORMAT,
                       "%s: \"%s\" must be {\"height\": H, \"width\": W}%s or a number", path,
                       key, shortest_ok ? ", {\"shortest_edge\": S}" : "");
    if (rc != VK_OK)
        return rc;
    if (*h < 0 || *h > 4096 || *w < 0 || *w > 4096 || *shortest < 0 || *shortest > 4096 ||
        (!*shortest && (*h < 1 || *w < 1)))
        return vk_fail(err, VK_E_FORMAT, "%s: \"%s\" must be 1..4096 pixels", path, key);
    return VK_OK;
}

/* The resize and crop of transformers' image processors (do_resize, size,
 * resample, do_center_crop, crop_size); what comes out must be the
 * model's image size. Neither asked for: images are fitted (VK_RESIZE_FIT). */
static vk_status parse_resize(const cJSON *root, const char *path, vk_model *m, vk_err *err)
{
    vk_preproc p = {.kind = VK_RESIZE_TORCH};
    int resize = 1, crop = 0, resample = 2, side = m->hp.image_size, unused;
    vk_status rc;
    if ((rc = json_bool(root, path, "do_resize", 1, &resize, err)) ||
        (rc = json_bool(root, path, "do_center_crop", 0, &crop, err)) ||
        (rc = json_int(root, path, "resample", 0, 2, &resample, err)))
        return rc;
    if (!resize && !crop)
        return VK_OK;
    if (resize) {
        if (resample != 2 && resample != 3)
            return vk_fail(err, VK_E_UNSUPPORTED,
                           "%s: \"resample\" %d is not supported (2 bilinear and 3 bicubic "
                           "are; 0 nearest, 1 lanczos, 4 box, 5 hamming are not)",
                           path, resample);
        p.bicubic = resample == 3;
        if ((rc = json_size(root, path, "size", 1, side, &p.height, &p.width, &p.shortest, err)))
            return rc;
    }
    if (crop &&
        (rc = json_size(root, path, "crop_size", 0, side, &p.crop_h, &p.crop_w, &unused, err)))
        return rc;
    int out_h = crop ? p.crop_h : p.height, out_w = crop ? p.crop_w : p.width;
    if ((crop || !p.shortest) && (out_h != side || out_w != side))
        return vk_fail(err, VK_E_FORMAT,
                       "%s: \"%s\" gives %dx%d images, the model takes %dx%d (config.json "
                       "image_size)",
                       path, crop ? "crop_size" : "size", out_w, out_h, side, side);
    if (crop && resize && !p.shortest && (p.crop_h > p.height || p.crop_w > p.width))
        return vk_fail(err, VK_E_FORMAT,
                       "%s: \"crop_size\" %dx%d is larger than \"size\" %dx%d", path,
                       p.crop_w, p.crop_h, p.width, p.height);
    m->pre = p;
    return VK_OK;
}

static vk_status parse_preproc(const char *path, vk_model *m, vk_err *err)
{
    vk_status rc = VK_OK;
    cJSON *root, *v;
    FILE *probe = fopen(path, "rb");
    if (!probe)
        return VK_OK; /* optional: defaults stay */
    fclose(probe);
    if ((rc = read_json(path, &root, err)) != VK_OK)
        return rc;
    int c = m->hp.n_channels;
    if ((rc = json_float_array(root, path, "image_mean", c, m->mean, err)) ||
        (rc = json_float_array(root, path, "image_std", c, m->std, err)))
        goto out;
    v = cJSON_GetObjectItemCaseSensitive(root, "rescale_factor");
    if (v) {
        if (!cJSON_IsNumber(v)) {
            rc = vk_fail(err, VK_E_FORMAT, "%s: \"rescale_factor\" must be a number", path);
            goto out;
        }
        m->rescale = (float)v->valuedouble;
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "do_rescale");
    if (v && !cJSON_IsBool(v)) {
        rc = vk_fail(err, VK_E_FORMAT, "%s: \"do_rescale\" must be true or false", path);
        goto out;
    }
    if (v && cJSON_IsFalse(v))
        m->rescale = 1.0f;
    v = cJSON_GetObjectItemCaseSensitive(root, "do_normalize");
    if (v && !cJSON_IsBool(v)) {
        rc = vk_fail(err, VK_E_FORMAT, "%s: \"do_normalize\" must be true or false", path);
        goto out;
    }
    if (v && cJSON_IsFalse(v))
        for (int i = 0; i < c; i++) {
            m->mean[i] = 0;
            m->std[i] = 1;
        }
    if ((rc = parse_resize(root, path, m, err)) != VK_OK)
        goto out;
    for (int i = 0; i < c; i++)
        if (!(m->std[i] > 0)) {
            rc = vk_fail(err, VK_E_FORMAT, "%s: image_std[%d] must be positive", path, i);
            goto out;
        }
out:
    cJSON_Delete(root);
    return rc;
}

/* ---- tensor import ------------------------------------------------------- */

typedef struct {
    const vk_st *st;
    const char *prefix;
    vk_err *err;
    vk_status rc;
} loader;

static void get(loader *ld, const char *name, float *dst, int rank, int64_t a, int64_t b, int64_t c,
                int64_t d)
{
    char full[300];
    int64_t shape[4] = {a, b, c, d};
    if (ld->rc != VK_OK)
        return;
    snprintf(full, sizeof full, "%s%s", ld->prefix, name);
    ld->rc = vk_st_get_f32(ld->st, full, shape, rank, dst, ld->err);
    /* a NaN or infinity would quantize to garbage that still runs */
    size_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= (size_t)shape[i];
    for (size_t i = 0; ld->rc == VK_OK && i < n; i++)
        if (!isfinite(dst[i]))
            ld->rc = vk_fail(ld->err, VK_E_FORMAT,
                             "%s: tensor \"%s\": element %zu is %s (weights must be finite)",
                             vk_st_path(ld->st), full, i, isnan(dst[i]) ? "NaN" : "infinite");
}

/* Where a checkpoint format keeps each tensor. Per-encoder names follow
 * `layer` (a format with the encoder index as %d); qkv_w/qkv_b name three
 * d x d tensors (query, key, value) or, with one name, one fused 3d x d. */
typedef struct {
    const char *cls, *dist, *pos, *patch_w, *patch_b;
    const char *layer;
    const char *ln1_w, *ln1_b, *qkv_w[3], *qkv_b[3], *proj_w, *proj_b;
    const char *ln2_w, *ln2_b, *fc1_w, *fc1_b, *fc2_w, *fc2_b;
    const char *lnf_w, *lnf_b;
    const char *head_w, *head_b, *headd_w, *headd_b; /* without the loader's prefix */
} tensor_names;

static const tensor_names hf_names = {
    "embeddings.cls_token", "embeddings.distillation_token", "embeddings.position_embeddings",
    "embeddings.patch_embeddings.projection.weight", "embeddings.patch_embeddings.projection.bias",
    "encoder.layer.%d.", "layernorm_before.weight", "layernorm_before.bias",
    {"attention.attention.query.weight", "attention.attention.key.weight",
     "attention.attention.value.weight"},
    {"attention.attention.query.bias", "attention.attention.key.bias",
     "attention.attention.value.bias"},
    "attention.output.dense.weight", "attention.output.dense.bias", "layernorm_after.weight",
    "layernorm_after.bias", "intermediate.dense.weight", "intermediate.dense.bias",
    "output.dense.weight", "output.dense.bias", "layernorm.weight", "layernorm.bias",
    "classifier.weight", "classifier.bias", NULL, NULL};

/* transformers' DeiT with teacher: two heads, averaged */
static const char *const hf_dist_heads[4] = {"cls_classifier.weight", "cls_classifier.bias",
                                             "distillation_classifier.weight",
                                             "distillation_classifier.bias"};

static const tensor_names timm_names = {
    "cls_token", "dist_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias",
    "blocks.%d.", "norm1.weight", "norm1.bias", {"attn.qkv.weight", NULL, NULL},
    {"attn.qkv.bias", NULL, NULL}, "attn.proj.weight", "attn.proj.bias", "norm2.weight",
    "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias",
    "norm.weight", "norm.bias", "head.weight", "head.bias", "head_dist.weight",
    "head_dist.bias"};

/* Encoder l's tensor `what` under the format's per-encoder name. */
static void get_layer(loader *ld, const tensor_names *tn, int l, const char *what, float *dst,
                      int rank, int64_t a, int64_t b)
{
    char name[256];
    int n = snprintf(name, sizeof name, tn->layer, l);
    snprintf(name + n, sizeof name - (size_t)n, "%s", what);
    get(ld, name, dst, rank, a, b, 0, 0);
}

/* Every tensor of r (allocated for its hyper-parameters) from a checkpoint
 * laid out as tn says; the heads are read without the loader's prefix. */
static vk_status load_tensors(loader *ld, const tensor_names *tn, vk_model *r)
{
    const vk_hparams *hp = &r->hp;
    int64_t d = hp->dim, t = r->n_tokens, mlp = hp->mlp_dim, k = hp->n_classes;
    int64_t p = hp->patch_size, c = hp->n_channels;
    get(ld, tn->cls, r->cls, 3, 1, 1, d, 0);
    if (hp->distilled)
        get(ld, tn->dist, r->dist, 3, 1, 1, d, 0);
    get(ld, tn->pos, r->pos, 3, 1, t, d, 0);
    get(ld, tn->patch_w, r->patch_w, 4, d, c, p, p);
    get(ld, tn->patch_b, r->patch_b, 1, d, 0, 0, 0);
    for (int l = 0; l < hp->n_layers && ld->rc == VK_OK; l++) {
        vk_layer *L = &r->layers[l];
        get_layer(ld, tn, l, tn->ln1_w, L->ln1_w, 1, d, 0);
        get_layer(ld, tn, l, tn->ln1_b, L->ln1_b, 1, d, 0);
        if (tn->qkv_w[1]) {
            for (int j = 0; j < 3; j++) {
                get_layer(ld, tn, l, tn->qkv_w[j], L->qkv_w + (size_t)j * d * d, 2, d, d);
                get_layer(ld, tn, l, tn->qkv_b[j], L->qkv_b + (size_t)j * d, 1, d, 0);
            }
        } else {
            get_layer(ld, tn, l, tn->qkv_w[0], L->qkv_w, 2, 3 * d, d);
            get_layer(ld, tn, l, tn->qkv_b[0], L->qkv_b, 1, 3 * d, 0);
        }
        get_layer(ld, tn, l, tn->proj_w, L->proj_w, 2, d, d);
        get_layer(ld, tn, l, tn->proj_b, L->proj_b, 1, d, 0);
        get_layer(ld, tn, l, tn->ln2_w, L->ln2_w, 1, d, 0);
        get_layer(ld, tn, l, tn->ln2_b, L->ln2_b, 1, d, 0);
        get_layer(ld, tn, l, tn->fc1_w, L->fc1_w, 2, mlp, d);
        get_layer(ld, tn, l, tn->fc1_b, L->fc1_b, 1, mlp, 0);
        get_layer(ld, tn, l, tn->fc2_w, L->fc2_w, 2, d, mlp);
        get_layer(ld, tn, l, tn->fc2_b, L->fc2_b, 1, d, 0);
    }
    get(ld, tn->lnf_w, r->lnf_w, 1, d, 0, 0, 0);
    get(ld, tn->lnf_b, r->lnf_b, 1, d, 0, 0, 0);
    ld->prefix = "";
    get(ld, tn->head_w, r->head_w, 2, k, d, 0, 0);
    get(ld, tn->head_b, r->head_b, 1, k, 0, 0, 0);
    if (hp->dist_head) {
        get(ld, tn->headd_w, r->headd_w, 2, k, d, 0, 0);
        get(ld, tn->headd_b, r->headd_b, 1, k, 0, 0, 0);
    }
    return ld->rc;
}

/* The error for a folder whose weights are missing: a PyTorch pickle gets
 * the one line that converts it. */
static vk_status no_weights(const char *dir, const char *want, vk_err *err)
{
    char bin[1024];
    FILE *f;
    snprintf(bin, sizeof bin, "%s/pytorch_model.bin", dir);
    if ((f = fopen(bin, "rb"))) {
        fclose(f);
        return vk_fail(err, VK_E_UNSUPPORTED,
                       "%s holds pytorch_model.bin, not %s (vitskip reads safetensors only); "
                       "convert it once: python3 -c \"import torch; from safetensors.torch "
                       "import save_file; sd = torch.load('%s', map_location='cpu'); "
                       "save_file({k: v.contiguous() for k, v in sd.items()}, '%s/%s')\"",
                       dir, want, bin, dir, want);
    }
    return vk_fail(err, VK_E_IO, "%s/%s: no such file", dir, want);
}

vk_status vk_model_load_hf(const char *dir, vk_model *m, vk_err *err)
{
    char path[1024], name[256];
    const char *pre;
    vk_hparams hp;
    cJSON *labels = NULL;
    vk_model r;
    vk_st *st = NULL;
    vk_status rc;
    int teacher = -1;
    snprintf(path, sizeof path, "%s/config.json", dir);
    rc = parse_config(path, &hp, &labels, &teacher, err);
    if (rc != VK_OK)
        return rc;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if ((rc = vk_st_open(path, &st, err)) != VK_OK) {
        FILE *f = fopen(path, "rb");
        if (!f)
            rc = no_weights(dir, "model.safetensors", err);
        else
            fclose(f);
        cJSON_Delete(labels);
        return rc;
    }
    pre = vk_st_find(st, "vit.embeddings.cls_token")    ? "vit."
          : vk_st_find(st, "deit.embeddings.cls_token") ? "deit."
                                                        : "";
    /* DeiT: the distillation token always; its head when the architecture
       (or, without one, the tensors) say so */
    if (hp.distilled)
        hp.dist_head = teacher >= 0 ? teacher : vk_st_find(st, "cls_classifier.weight") != NULL;
    snprintf(path, sizeof path, "%s/config.json", dir);
    rc = vk_hparams_check(&hp, path, err);
    if (rc == VK_OK)
        rc = vk_model_alloc(&r, &hp, err);
    if (rc != VK_OK) {
        cJSON_Delete(labels);
        vk_st_close(st);
        return rc;
    }
    if (labels)
        rc = set_labels(&r, labels, path, err);
    cJSON_Delete(labels);
    if (rc != VK_OK)
        goto fail;
    snprintf(path, sizeof path, "%s/preprocessor_config.json", dir);
    if ((rc = parse_preproc(path, &r, err)) != VK_OK)
        goto fail;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    vk_st_sha256(st, r.sha256);
    {
        loader ld = {st, pre, err, VK_OK};
        tensor_names tn = hf_names;
        if (hp.dist_head) {
            tn.head_w = hf_dist_heads[0];
            tn.head_b = hf_dist_heads[1];
            tn.headd_w = hf_dist_heads[2];
            tn.headd_b = hf_dist_heads[3];
        }
        load_tensors(&ld, &tn, &r);
        rc = ld.rc;
        if (rc == VK_OK) {
            snprintf(name, sizeof name, "%sencoder.layer.%d.layernorm_before.weight", pre,
                     hp.n_layers);
            if (vk_st_find(st, name))
                rc = vk_fail(err, VK_E_FORMAT, "%s: holds more encoders than config.json's %d",
                             path, hp.n_layers);
        }
    }
    vk_st_close(st);
    st = NULL;
    if (rc != VK_OK)
        goto fail;
    *m = r;
    return VK_OK;
fail:
    vk_st_close(st);
    vk_model_free(&r);
    return rc;
}

vk_status vk_model_load_timm(const char *path, const vk_hparams *hp, vk_model *m, vk_err *err)
{
    char name[256];
    vk_model r;
    vk_st *st = NULL;
    vk_status rc = vk_model_alloc(&r, hp, err);
    static const float im_mean[3] = {0.485f, 0.456f, 0.406f}, im_std[3] = {0.229f, 0.224f, 0.225f};
    if (rc != VK_OK)
        return rc;
    for (int c = 0; c < VK_MAX_CHANNELS; c++) {
        r.mean[c] = im_mean[c];
        r.std[c] = im_std[c];
    }
    if ((rc = vk_st_open(path, &st, err)) != VK_OK)
        goto fail;
    vk_st_sha256(st, r.sha256);
    if (!vk_st_find(st, "dist_token") != !hp->distilled ||
        !vk_st_find(st, "head_dist.weight") != !hp->dist_head) {
        rc = vk_fail(err, VK_E_FORMAT,
                     "%s: %s a distillation token and %s a distillation head, the "
                     "hyper-parameters say %s and %s",
                     path, vk_st_find(st, "dist_token") ? "has" : "has no",
                     vk_st_find(st, "head_dist.weight") ? "has" : "has no",
                     hp->distilled ? "one" : "none", hp->dist_head ? "one" : "none");
        goto fail;
    }
    snprintf(name, sizeof name, "blocks.%d.norm1.weight", hp->n_layers);
    if (vk_st_find(st, name)) {
        rc = vk_fail(err, VK_E_FORMAT, "%s: holds more blocks than the %d given", path,
                     hp->n_layers);
        goto fail;
    }
    {
        loader ld = {st, "", err, VK_OK};
        rc = load_tensors(&ld, &timm_names, &r);
    }
    if (rc != VK_OK)
        goto fail;
    vk_st_close(st);
    *m = r;
    return VK_OK;
fail:
    vk_st_close(st);
    vk_model_free(&r);
    return rc;
}

static int cmp_imp(const void *a, const void *b, void *ctx)
{
    const double *imp = ctx;
    int i = *(const int *)a, j = *(const int *)b;
    if (imp[i] != imp[j])
        return imp[i] > imp[j] ? -1 : 1;
    return i < j ? -1 : (i > j);
}

void vk_model_ffn_order(const vk_model *m, int l, double *imp, int *perm)
{
    const vk_layer *L = &m->layers[l];
    int d = m->hp.dim, mlp = m->hp.mlp_dim;
    for (int j = 0; j < mlp; j++) {
        double a = 0, b = 0;
        for (int i = 0; i < d; i++) {
            a += (double)L->fc1_w[(size_t)j * d + i] * L->fc1_w[(size_t)j * d + i];
            b += (double)L->fc2_w[(size_t)i * mlp + j] * L->fc2_w[(size_t)i * mlp + j];
        }
        imp[j] = sqrt(a) * sqrt(b);
        perm[j] = j;
    }
    qsort_r(perm, (size_t)mlp, sizeof *perm, cmp_imp, imp);
}

/* ---- any checkpoint ---------------------------------------------------------- */

/* Head count of a timm architecture name: vit_/deit_/deit3_ + tiny (3),
 * small (6), base (12); 0 if not one of those. */
static int arch_heads(const char *arch)
{
    static const struct {
        const char *size;
        int heads;
    } sz[] = {{"tiny_", 3}, {"small_", 6}, {"base_", 12}};
    const char *rest = !strncmp(arch, "vit_", 4)     ? arch + 4
                       : !strncmp(arch, "deit3_", 6) ? arch + 6
                       : !strncmp(arch, "deit_", 5)  ? arch + 5
                                                     : NULL;
    for (size_t i = 0; rest && i < sizeof sz / sizeof sz[0]; i++)
        if (!strncmp(rest, sz[i].size, strlen(sz[i].size)))
            return sz[i].heads;
    return 0;
}

vk_status vk_timm_hparams(const char *path, const char *arch, int heads, vk_hparams *hp,
                          vk_err *err)
{
    vk_st *st;
    vk_hparams r;
    const vk_st_tensor *pe, *pos, *fc1, *head;
    char name[64];
    vk_status rc = vk_st_open(path, &st, err);
    if (rc != VK_OK)
        return rc;
    memset(&r, 0, sizeof r);
    r.n_heads = heads > 0 ? heads : arch ? arch_heads(arch) : 0;
    if (r.n_heads <= 0) {
        vk_st_close(st);
        if (arch)
            return vk_fail(err, VK_E_UNSUPPORTED,
                           "timm architecture \"%s\": not one vitskip knows (vit_, deit_ or "
                           "deit3_ followed by tiny_, small_ or base_, e.g. "
                           "deit_small_patch16_224)",
                           arch);
        return vk_fail(err, VK_E_ARG,
                       "%s: a timm checkpoint needs its architecture: a config.json beside it "
                       "(timm's, with \"architecture\"), or --arch NAME such as "
                       "deit_small_patch16_224",
                       path);
    }
    pe = vk_st_find(st, "patch_embed.proj.weight");
    pos = vk_st_find(st, "pos_embed");
    fc1 = vk_st_find(st, "blocks.0.mlp.fc1.weight");
    head = vk_st_find(st, "head.weight");
    if (!pe || pe->rank != 4 || pe->shape[2] != pe->shape[3] || !pos || pos->rank != 3 ||
        !fc1 || fc1->rank != 2 || !head || head->rank != 2) {
        vk_st_close(st);
        return vk_fail(err, VK_E_FORMAT,
                       "%s: not a timm VisionTransformer (patch_embed.proj.weight [D, C, P, P], "
                       "pos_embed [1, T, D], blocks.0.mlp.fc1.weight [M, D] and head.weight "
                       "[K, D] expected)",
                       path);
    }
    r.dim = (int)pe->shape[0];
    r.n_channels = (int)pe->shape[1];
    r.patch_size = (int)pe->shape[2];
    r.mlp_dim = (int)fc1->shape[0];
    r.n_classes = (int)head->shape[0];
    r.distilled = vk_st_find(st, "dist_token") != NULL;
    r.dist_head = vk_st_find(st, "head_dist.weight") != NULL;
    r.ln_eps = 1e-6f;
    r.act = VK_ACT_GELU;
    while (r.n_layers < 1000) {
        snprintf(name, sizeof name, "blocks.%d.norm1.weight", r.n_layers);
        if (!vk_st_find(st, name))
            break;
        r.n_layers++;
    }
    {
        int64_t patches = pos->shape[1] - 1 - r.distilled, g = 0;
        while ((g + 1) * (g + 1) <= patches)
            g++;
        if (g * g != patches) {
            vk_st_close(st);
            return vk_fail(err, VK_E_FORMAT, "%s: pos_embed holds %lld patch positions, not a square",
                           path, (long long)patches);
        }
        r.image_size = (int)g * r.patch_size;
    }
    vk_st_close(st);
    if ((rc = vk_hparams_check(&r, path, err)) != VK_OK)
        return rc;
    *hp = r;
    return VK_OK;
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && !strcmp(s + n - k, suf);
}

/* timm's eval transform as its pretrained_cfg describes it. */
typedef struct {
    int set;     /* interpolation or crop_pct given */
    int bicubic; /* interpolation (timm's default for ViT/DeiT: bicubic) */
    int squash;  /* crop_mode "squash" (else "center") */
    double pct;  /* crop_pct (timm's default: 0.875) */
} timm_tf;

static vk_status timm_preproc(const cJSON *cfg, const char *path, timm_tf *tf, vk_err *err)
{
    const cJSON *ip = cJSON_GetObjectItemCaseSensitive(cfg, "interpolation"),
                *cp = cJSON_GetObjectItemCaseSensitive(cfg, "crop_pct"),
                *cm = cJSON_GetObjectItemCaseSensitive(cfg, "crop_mode");
    *tf = (timm_tf){.bicubic = 1, .pct = 0.875};
    if (!ip && !cp)
        return VK_OK;
    tf->set = 1;
    if (ip && !(cJSON_IsString(ip) && (!strcmp(ip->valuestring, "bilinear") ||
                                        !strcmp(ip->valuestring, "bicubic"))))
        return vk_fail(err, VK_E_UNSUPPORTED,
                       "%s: pretrained_cfg \"interpolation\" must be \"bilinear\" or "
                       "\"bicubic\"",
                       path);
    tf->bicubic = !ip || !strcmp(ip->valuestring, "bicubic");
    if (cp && !cJSON_IsNull(cp)) {
        if (!cJSON_IsNumber(cp) || !(cp->valuedouble > 0.1 && cp->valuedouble <= 1.0))
            return vk_fail(err, VK_E_FORMAT,
                           "%s: pretrained_cfg \"crop_pct\" must be a number in (0.1, 1]", path);
        tf->pct = cp->valuedouble;
    }
    if (cm && !cJSON_IsNull(cm)) {
        if (!cJSON_IsString(cm) ||
            (strcmp(cm->valuestring, "center") && strcmp(cm->valuestring, "squash")))
            return vk_fail(err, VK_E_UNSUPPORTED,
                           "%s: pretrained_cfg \"crop_mode\" must be \"center\" or "
                           "\"squash\" (\"border\" is not supported)",
                           path);
        tf->squash = !strcmp(cm->valuestring, "squash");
    }
    return VK_OK;
}

/* timm's eval transform (create_transform(is_training=False)) for a model
 * of image_size side: resize to floor(side / crop_pct) with PIL (the
 * shorter edge, or both edges when squashing), then a center crop to side. */
static void timm_tf_apply(const timm_tf *tf, int side, vk_preproc *p)
{
    if (!tf->set) /* pct is 0 then */
        return;
    int scale = (int)floor((double)side / tf->pct);
    *p = (vk_preproc){.kind = VK_RESIZE_PIL,
                      .bicubic = tf->bicubic,
                      .height = tf->squash ? scale : 0,
                      .width = tf->squash ? scale : 0,
                      .shortest = tf->squash ? 0 : scale,
                      .crop_h = side,
                      .crop_w = side};
}

/* timm's config.json (beside the weights): architecture, model_args.num_heads,
 * pretrained_cfg.mean/std and its eval transform. *is_timm = 0 when it is
 * not timm's. */
static vk_status timm_config(const char *path, char *arch, size_t arch_n, int *heads, float *mean,
                             float *std, int *has_norm, timm_tf *tf, int *is_timm, vk_err *err)
{
    cJSON *root, *a, *v;
    vk_status rc;
    *is_timm = 0;
    *heads = 0;
    *has_norm = 0;
    if ((rc = read_json(path, &root, err)) != VK_OK)
        return rc;
    a = cJSON_GetObjectItemCaseSensitive(root, "architecture");
    if (!cJSON_IsString(a))
        goto out;
    *is_timm = 1;
    snprintf(arch, arch_n, "%s", a->valuestring);
    v = cJSON_GetObjectItemCaseSensitive(root, "model_args");
    if (cJSON_IsObject(v) &&
        (rc = json_int(v, path, "num_heads", 0, 0, heads, err)) != VK_OK)
        goto out;
    v = cJSON_GetObjectItemCaseSensitive(root, "pretrained_cfg");
    if (cJSON_IsObject(v) && cJSON_GetObjectItemCaseSensitive(v, "mean") &&
        cJSON_GetObjectItemCaseSensitive(v, "std")) {
        if ((rc = json_float_array(v, path, "mean", VK_MAX_CHANNELS, mean, err)) ||
            (rc = json_float_array(v, path, "std", VK_MAX_CHANNELS, std, err)))
            goto out;
        *has_norm = 1;
    }
    if (cJSON_IsObject(v) && (rc = timm_preproc(v, path, tf, err)) != VK_OK)
        goto out;
out:
    cJSON_Delete(root);
    return rc;
}

vk_status vk_model_load(const char *path, const char *arch, vk_model *m, vk_err *err)
{
    char cfg[1024], weights[1024], arch_buf[128] = "";
    float mean[VK_MAX_CHANNELS], std[VK_MAX_CHANNELS];
    int heads = 0, has_norm = 0, is_timm = 0;
    timm_tf tf = {0};
    struct stat st;
    vk_hparams hp;
    vk_model r;
    vk_status rc;
    if (stat(path, &st))
        return vk_fail(err, VK_E_IO, "%s: no such file or folder", path);
    if (S_ISDIR(st.st_mode)) {
        snprintf(cfg, sizeof cfg, "%s/config.json", path);
        snprintf(weights, sizeof weights, "%s/model.safetensors", path);
        if (!exists(cfg)) {
            if (!exists(weights))
                return no_weights(path, "model.safetensors", err);
            if (!arch)
                return vk_fail(err, VK_E_ARG,
                               "%s: no config.json; for timm weights give --arch NAME (e.g. "
                               "deit_small_patch16_224)",
                               path);
        } else {
            if ((rc = timm_config(cfg, arch_buf, sizeof arch_buf, &heads, mean, std, &has_norm, &tf,
                                  &is_timm, err)) != VK_OK)
                return rc;
            if (!is_timm)
                return vk_model_load_hf(path, m, err);
            if (!exists(weights))
                return no_weights(path, "model.safetensors", err);
        }
    } else {
        if (!has_suffix(path, ".safetensors"))
            return vk_fail(err, VK_E_UNSUPPORTED,
                           "%s: vitskip reads safetensors (a Hugging Face folder, or a timm "
                           ".safetensors file); convert a PyTorch file once: python3 -c "
                           "\"import torch; from safetensors.torch import save_file; sd = "
                           "torch.load('%s', map_location='cpu'); sd = sd.get('model', sd); "
                           "save_file({k: v.contiguous() for k, v in sd.items()}, "
                           "'model.safetensors')\"",
                           path, path);
        snprintf(weights, sizeof weights, "%s", path);
        /* timm's config.json beside the file, when there is one */
        const char *slash = strrchr(path, '/');
        snprintf(cfg, sizeof cfg, "%.*sconfig.json", slash ? (int)(slash - path + 1) : 0, path);
        if (!arch && exists(cfg) &&
            (rc = timm_config(cfg, arch_buf, sizeof arch_buf, &heads, mean, std, &has_norm, &tf,
                              &is_timm, err)) != VK_OK)
            return rc;
    }
    if (arch) /* given: it overrides a config.json's */
        snprintf(arch_buf, sizeof arch_buf, "%s", arch), heads = 0;
    if ((rc = vk_timm_hparams(weights, arch_buf[0] ? arch_buf : NULL, heads, &hp, err)) != VK_OK)
        return rc;
    if ((rc = vk_model_load_timm(weights, &hp, &r, err)) != VK_OK)
        return rc;
    /* preprocessing: the config's, else timm's defaults for the family
       (vit_: 0.5 / 0.5, as its augreg weights; deit: ImageNet's) */
    if (!has_norm && !strncmp(arch_buf, "vit_", 4))
        for (int c = 0; c < VK_MAX_CHANNELS; c++)
            mean[c] = std[c] = 0.5f, has_norm = 1;
    if (has_norm)
        for (int c = 0; c < VK_MAX_CHANNELS; c++) {
            r.mean[c] = mean[c];
            r.std[c] = std[c];
        }
    timm_tf_apply(&tf, hp.image_size, &r.pre);
    *m = r;
    return VK_OK;
}
