/* test_model_load: Hugging Face and timm checkpoints built here in C, loaded
 * back value by value; malformed configs and tensors rejected with messages
 * that name the field; *m untouched on every error. */
#include <cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/vk_model.h"
#include "tests/vk_test.h"

/* the tiny model: 8x8x3 images, 4x4 patches (5 tokens), D 8, 2 heads,
 * 2 encoders, MLP 16, 3 classes */
enum { IMG = 8, P = 4, C = 3, D = 8, L = 2, M = 16, K = 3, T = 5 };

static char dir[64];

/* ---- a safetensors writer: every tensor's element i holds base + i, with a
 * distinct base per tensor, so a value tells where it came from ---------- */
typedef struct {
    cJSON *hdr;
    float *data;
    size_t n; /* floats */
    int n_tensors;
    char skip[128];    /* tensor left out */
    char reshape[128]; /* tensor whose first dimension gets one extra row */
} stw;

#define MAX_NAMES 128
static char names[MAX_NAMES][128];
static float bases[MAX_NAMES];
static int n_names;

static float base_of(const char *name)
{
    for (int i = 0; i < n_names; i++)
        if (!strcmp(names[i], name))
            return bases[i];
    fprintf(stderr, "no tensor %s\n", name);
    return -1;
}

static void st_add(stw *w, const char *name, int rank, ...)
{
    int64_t shape[4];
    size_t cnt = 1;
    va_list ap;
    if (!strcmp(name, w->skip))
        return;
    va_start(ap, rank);
    for (int i = 0; i < rank; i++) {
        shape[i] = va_arg(ap, int);
        if (i == 0 && !strcmp(name, w->reshape))
            shape[0]++;
        cnt *= (size_t)shape[i];
    }
    va_end(ap);
    float base = (float)(++w->n_tensors * 1000);
    if (n_names < MAX_NAMES) {
        snprintf(names[n_names], sizeof names[0], "%s", name);
        bases[n_names++] = base;
    }
    w->data = realloc(w->data, (w->n + cnt) * sizeof(float));
    for (size_t i = 0; i < cnt; i++)
        w->data[w->n + i] = base + (float)i;
    cJSON *e = cJSON_AddObjectToObject(w->hdr, name);
    cJSON_AddStringToObject(e, "dtype", "F32");
    cJSON *s = cJSON_AddArrayToObject(e, "shape");
    for (int i = 0; i < rank; i++)
        cJSON_AddItemToArray(s, cJSON_CreateNumber((double)shape[i]));
    cJSON *o = cJSON_AddArrayToObject(e, "data_offsets");
    cJSON_AddItemToArray(o, cJSON_CreateNumber((double)(w->n * 4)));
    cJSON_AddItemToArray(o, cJSON_CreateNumber((double)((w->n + cnt) * 4)));
    w->n += cnt;
}

static void st_write(stw *w, const char *path)
{
    char *h = cJSON_PrintUnformatted(w->hdr);
    uint64_t hl = strlen(h);
    uint8_t len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t)(hl >> (8 * i));
    FILE *f = fopen(path, "wb");
    fwrite(len, 1, 8, f);
    fwrite(h, 1, hl, f);
    fwrite(w->data, sizeof(float), w->n, f);
    fclose(f);
    free(h);
    cJSON_Delete(w->hdr);
    free(w->data);
}

static void write_text(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* HF ViTForImageClassification tensors for `layers` encoders. */
static void write_hf(const char *prefix, int layers, const char *skip, const char *reshape)
{
    stw w = {cJSON_CreateObject(), NULL, 0, 0, "", ""};
    char n[160], path[256];
    snprintf(w.skip, sizeof w.skip, "%s", skip ? skip : "");
    snprintf(w.reshape, sizeof w.reshape, "%s", reshape ? reshape : "");
    n_names = 0;
#define N(fmt, ...) (snprintf(n, sizeof n, "%s" fmt, prefix, ##__VA_ARGS__), n)
    st_add(&w, N("embeddings.cls_token"), 3, 1, 1, D);
    st_add(&w, N("embeddings.position_embeddings"), 3, 1, T, D);
    st_add(&w, N("embeddings.patch_embeddings.projection.weight"), 4, D, C, P, P);
    st_add(&w, N("embeddings.patch_embeddings.projection.bias"), 1, D);
    for (int l = 0; l < layers; l++) {
        static const char *qkv[3] = {"query", "key", "value"};
        st_add(&w, N("encoder.layer.%d.layernorm_before.weight", l), 1, D);
        st_add(&w, N("encoder.layer.%d.layernorm_before.bias", l), 1, D);
        for (int j = 0; j < 3; j++) {
            st_add(&w, N("encoder.layer.%d.attention.attention.%s.weight", l, qkv[j]), 2, D, D);
            st_add(&w, N("encoder.layer.%d.attention.attention.%s.bias", l, qkv[j]), 1, D);
        }
        st_add(&w, N("encoder.layer.%d.attention.output.dense.weight", l), 2, D, D);
        st_add(&w, N("encoder.layer.%d.attention.output.dense.bias", l), 1, D);
        st_add(&w, N("encoder.layer.%d.layernorm_after.weight", l), 1, D);
        st_add(&w, N("encoder.layer.%d.layernorm_after.bias", l), 1, D);
        st_add(&w, N("encoder.layer.%d.intermediate.dense.weight", l), 2, M, D);
        st_add(&w, N("encoder.layer.%d.intermediate.dense.bias", l), 1, M);
        st_add(&w, N("encoder.layer.%d.output.dense.weight", l), 2, D, M);
        st_add(&w, N("encoder.layer.%d.output.dense.bias", l), 1, D);
    }
    st_add(&w, N("layernorm.weight"), 1, D);
    st_add(&w, N("layernorm.bias"), 1, D);
#undef N
    st_add(&w, "classifier.weight", 2, K, D);
    st_add(&w, "classifier.bias", 1, K);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    st_write(&w, path);
}

static const char *config_ok =
    "{\"architectures\":[\"ViTForImageClassification\"],\"hidden_size\":8,"
    "\"num_hidden_layers\":2,\"num_attention_heads\":2,\"intermediate_size\":16,"
    "\"image_size\":8,\"patch_size\":4,\"num_channels\":3,\"layer_norm_eps\":1e-6,"
    "\"hidden_act\":\"gelu_pytorch_tanh\",\"qkv_bias\":true,"
    "\"id2label\":{\"0\":\"cat\",\"1\":\"dog\",\"2\":\"bird\"},"
    "\"label2id\":{\"cat\":0,\"dog\":1,\"bird\":2}}";

static const char *preproc_ok =
    "{\"do_normalize\":true,\"do_rescale\":true,\"image_mean\":[0.1,0.2,0.3],"
    "\"image_std\":[0.4],\"rescale_factor\":0.00392156862745098,\"size\":{\"height\":8,"
    "\"width\":8}}";

static void setup(const char *config, const char *preproc)
{
    char path[256];
    write_text("config.json", config);
    snprintf(path, sizeof path, "%s/preprocessor_config.json", dir);
    unlink(path);
    if (preproc)
        write_text("preprocessor_config.json", preproc);
}

/* Loads dir expecting failure with rc; m must stay untouched. */
static const char *hf_fails(vk_status want)
{
    static vk_err err;
    vk_model m, before;
    memset(&m, 0x5A, sizeof m);
    memcpy(&before, &m, sizeof m);
    memset(&err, 0, sizeof err);
    vk_status rc = vk_model_load_hf(dir, &m, &err);
    CHECK_EQ_INT(rc, want);
    CHECK(memcmp(&m, &before, sizeof m) == 0);
    if (rc == VK_OK)
        vk_model_free(&m);
    return err.msg;
}

static void test_hf_ok(void)
{
    const char *prefixes[2] = {"vit.", ""};
    for (int pi = 0; pi < 2; pi++) {
        vk_model m;
        vk_err err = {{0}};
        char n[160];
        setup(config_ok, preproc_ok);
        write_hf(prefixes[pi], L, NULL, NULL);
        CHECK_EQ_INT(vk_model_load_hf(dir, &m, &err), VK_OK);
        if (err.msg[0]) {
            fprintf(stderr, "%s\n", err.msg);
            return;
        }
        const char *pf = prefixes[pi];
#define B(fmt, ...) (snprintf(n, sizeof n, "%s" fmt, pf, ##__VA_ARGS__), base_of(n))
        CHECK_EQ_INT(m.hp.dim, D);
        CHECK_EQ_INT(m.hp.n_layers, L);
        CHECK_EQ_INT(m.hp.n_heads, 2);
        CHECK_EQ_INT(m.hp.mlp_dim, M);
        CHECK_EQ_INT(m.hp.n_classes, K);
        CHECK_EQ_INT(m.hp.image_size, IMG);
        CHECK_EQ_INT(m.hp.patch_size, P);
        CHECK_EQ_INT(m.hp.n_channels, C);
        CHECK_EQ_INT(m.n_tokens, T);
        CHECK(m.hp.act == VK_ACT_GELU_TANH);
        CHECK(m.hp.ln_eps == 1e-6f);
        CHECK(!strcmp(m.labels[0], "cat") && !strcmp(m.labels[2], "bird"));
        CHECK(m.mean[0] == 0.1f && m.mean[1] == 0.2f && m.mean[2] == 0.3f);
        CHECK(m.std[0] == 0.4f && m.std[1] == 0.4f && m.std[2] == 0.4f);
        CHECK(m.rescale == (float)(1 / 255.0));

        CHECK(m.cls[5] == B("embeddings.cls_token") + 5);
        CHECK(m.pos[3 * D + 2] == B("embeddings.position_embeddings") + 3 * D + 2);
        /* patch weight [d][c][ky][kx] -> [d][c*P*P + ky*P + kx] */
        int d = 5, c = 2, ky = 1, kx = 3;
        CHECK(m.patch_w[d * C * P * P + c * P * P + ky * P + kx] ==
              B("embeddings.patch_embeddings.projection.weight") + ((d * C + c) * P + ky) * P + kx);
        CHECK(m.patch_b[7] == B("embeddings.patch_embeddings.projection.bias") + 7);
        /* qkv rows: query [0,D), key [D,2D), value [2D,3D), in layer 1 */
        const vk_layer *ly = &m.layers[1];
        CHECK(ly->qkv_w[2 * D + 1] ==
              B("encoder.layer.1.attention.attention.query.weight") + 2 * D + 1);
        CHECK(ly->qkv_w[D * D + 3 * D + 4] ==
              B("encoder.layer.1.attention.attention.key.weight") + 3 * D + 4);
        CHECK(ly->qkv_w[2 * D * D + 7 * D + 7] ==
              B("encoder.layer.1.attention.attention.value.weight") + 7 * D + 7);
        CHECK(ly->qkv_b[1] == B("encoder.layer.1.attention.attention.query.bias") + 1);
        CHECK(ly->qkv_b[D + 2] == B("encoder.layer.1.attention.attention.key.bias") + 2);
        CHECK(ly->qkv_b[2 * D + 3] == B("encoder.layer.1.attention.attention.value.bias") + 3);
        CHECK(ly->proj_w[9] == B("encoder.layer.1.attention.output.dense.weight") + 9);
        CHECK(ly->proj_b[1] == B("encoder.layer.1.attention.output.dense.bias") + 1);
        CHECK(ly->ln1_w[2] == B("encoder.layer.1.layernorm_before.weight") + 2);
        CHECK(ly->ln1_b[2] == B("encoder.layer.1.layernorm_before.bias") + 2);
        CHECK(ly->ln2_w[3] == B("encoder.layer.1.layernorm_after.weight") + 3);
        CHECK(ly->ln2_b[3] == B("encoder.layer.1.layernorm_after.bias") + 3);
        CHECK(ly->fc1_w[M * D - 1] == B("encoder.layer.1.intermediate.dense.weight") + M * D - 1);
        CHECK(ly->fc1_b[M - 1] == B("encoder.layer.1.intermediate.dense.bias") + M - 1);
        CHECK(ly->fc2_w[D * M - 1] == B("encoder.layer.1.output.dense.weight") + D * M - 1);
        CHECK(ly->fc2_b[0] == B("encoder.layer.1.output.dense.bias"));
        CHECK(m.layers[0].qkv_w[0] == B("encoder.layer.0.attention.attention.query.weight"));
        CHECK(m.lnf_w[4] == B("layernorm.weight") + 4);
        CHECK(m.lnf_b[4] == B("layernorm.bias") + 4);
#undef B
        CHECK(m.head_w[2 * D + 1] == base_of("classifier.weight") + 2 * D + 1);
        CHECK(m.head_b[2] == base_of("classifier.bias") + 2);
        vk_model_free(&m);
        vk_model_free(&m); /* zeroed: no-op */
    }
    vk_model_free(NULL);
}

static void test_hf_defaults(void)
{
    /* no preprocessor file, no optional fields, num_labels instead of id2label */
    vk_model m;
    vk_err err = {{0}};
    setup("{\"hidden_size\":8,\"num_hidden_layers\":2,\"num_attention_heads\":2,"
          "\"intermediate_size\":16,\"image_size\":8,\"patch_size\":4,\"num_labels\":3}",
          NULL);
    write_hf("vit.", L, NULL, NULL);
    CHECK_EQ_INT(vk_model_load_hf(dir, &m, &err), VK_OK);
    if (err.msg[0]) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    CHECK_EQ_INT(m.hp.n_channels, 3);
    CHECK(m.hp.act == VK_ACT_GELU);
    CHECK(m.hp.ln_eps == 1e-12f);
    CHECK(!strcmp(m.labels[1], "1"));
    CHECK(m.mean[2] == 0.5f && m.std[2] == 0.5f);
    CHECK(m.rescale == 1.0f / 255.0f);
    vk_model_free(&m);

    /* do_normalize false -> mean 0, std 1; do_rescale false -> 1 */
    setup(config_ok, "{\"do_normalize\":false,\"do_rescale\":false,\"image_mean\":[0.3,0.3,0.3]}");
    CHECK_EQ_INT(vk_model_load_hf(dir, &m, &err), VK_OK);
    CHECK(m.mean[0] == 0 && m.std[1] == 1 && m.rescale == 1);
    vk_model_free(&m);
}

/* config.json with one field replaced (or removed when value is NULL). */
static void config_with(const char *key, const char *value)
{
    cJSON *c = cJSON_Parse(config_ok);
    cJSON_DeleteItemFromObjectCaseSensitive(c, key);
    if (value)
        cJSON_AddItemToObject(c, key, cJSON_Parse(value));
    char *s = cJSON_PrintUnformatted(c);
    setup(s, preproc_ok);
    free(s);
    cJSON_Delete(c);
}

static void test_hf_bad_config(void)
{
    const char *msg;
    write_hf("vit.", L, NULL, NULL);
    config_with("hidden_size", NULL);
    msg = hf_fails(VK_E_FORMAT);
    CHECK_STR_CONTAINS(msg, "config.json");
    CHECK_STR_CONTAINS(msg, "\"hidden_size\" is missing");
    config_with("num_hidden_layers", "\"2\"");
    CHECK_STR_CONTAINS(hf_fails(VK_E_FORMAT), "\"num_hidden_layers\" must be an integer");
    config_with("patch_size", "4.5");
    CHECK_STR_CONTAINS(hf_fails(VK_E_FORMAT), "\"patch_size\" must be an integer");
    config_with("image_size", "1e300");
    CHECK_STR_CONTAINS(hf_fails(VK_E_FORMAT), "\"image_size\" must be an integer");
    config_with("layer_norm_eps", "\"small\"");
    CHECK_STR_CONTAINS(hf_fails(VK_E_FORMAT), "layer_norm_eps");
    config_with("layer_norm_eps", "0");
    CHECK_STR_CONTAINS(hf_fails(VK_E_FORMAT), "layer_norm_eps");
    config_with("hidden_act", "\"swish\"");
    msg = hf_fails(VK_E_UNSUPPORTED);
    CHECK_STR_CONTAINS(msg, "hidden_act \"swish\"");
    config_with("hidden_act", "3");
    CHECK_STR_CONTAINS(hf_fails(VK_E_FORMAT), "\"hidden_act\" must be a string");
    config_with("qkv_bias", "false");
    CHECK_STR_CONTAINS(hf_fails(VK_E_UNSUPPORTED), "qkv_bias");
    config_with("id2label", "[\"a\",\"b\"]");
    CHECK_STR_CONTAINS(hf_fails(VK_E_FORMAT), "\"id2label\" must be an object");
    config_with("id2label", "{\"0\":\"a\",\"1\":\"b\",\"7\":\"c\"}");
    CHECK_STR_CONTAINS(hf_fails(VK_E_FORMAT), "id2label key \"7\"");
    config_with("num_labels", "4");
    CHECK_STR_CONTAINS(hf_fails(VK_E_FORMAT), "num_labels 4 disagrees");
    config_with("hidden_size", "1024");
    msg = hf_fails(VK_E_UNSUPPORTED);
    CHECK_STR_CONTAINS(msg, "hidden_size = 1024");
    CHECK_STR_CONTAINS(msg, "768");
    config_with("num_hidden_layers", "13");
    CHECK_STR_CONTAINS(hf_fails(VK_E_UNSUPPORTED), "num_hidden_layers = 13");
    config_with("image_size", "10");
    CHECK_STR_CONTAINS(hf_fails(VK_E_UNSUPPORTED), "not a multiple of patch_size");
    config_with("num_attention_heads", "3");
    CHECK_STR_CONTAINS(hf_fails(VK_E_UNSUPPORTED), "not a multiple of num_attention_heads");
    setup("[1,2]", NULL);
    CHECK_STR_CONTAINS(hf_fails(VK_E_FORMAT), "not a JSON object");
    setup("{\"hidden_size\":", NULL);
    CHECK_STR_CONTAINS(hf_fails(VK_E_FORMAT), "config.json");

    setup(config_ok, "{\"image_std\":[0.5,0.0,0.5]}");
    CHECK_STR_CONTAINS(hf_fails(VK_E_FORMAT), "image_std[1] must be positive");
    setup(config_ok, "{\"image_mean\":[0.5,0.5]}");
    CHECK_STR_CONTAINS(hf_fails(VK_E_FORMAT), "\"image_mean\"");
    setup(config_ok, "{\"do_normalize\":\"no\"}");
    CHECK_STR_CONTAINS(hf_fails(VK_E_FORMAT), "do_normalize");
}

static void test_hf_bad_tensors(void)
{
    const char *msg;
    setup(config_ok, NULL);
    write_hf("vit.", L, "vit.encoder.layer.1.attention.attention.key.bias", NULL);
    msg = hf_fails(VK_E_FORMAT);
    CHECK_STR_CONTAINS(msg, "model.safetensors");
    CHECK_STR_CONTAINS(msg, "\"vit.encoder.layer.1.attention.attention.key.bias\" is missing");
    /* a shape that disagrees with config.json */
    write_hf("vit.", L, NULL, "vit.encoder.layer.0.intermediate.dense.weight");
    msg = hf_fails(VK_E_FORMAT);
    CHECK_STR_CONTAINS(msg, "\"vit.encoder.layer.0.intermediate.dense.weight\" has shape [17, 8]");
    CHECK_STR_CONTAINS(msg, "[16, 8]");
    write_hf("vit.", L, NULL, "classifier.weight");
    CHECK_STR_CONTAINS(hf_fails(VK_E_FORMAT), "\"classifier.weight\" has shape [4, 8]");
    /* more encoders in the file than in the config */
    write_hf("vit.", L + 1, NULL, NULL);
    CHECK_STR_CONTAINS(hf_fails(VK_E_FORMAT), "more encoders");
    /* no model file at all */
    char path[256];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    unlink(path);
    CHECK_STR_CONTAINS(hf_fails(VK_E_IO), "model.safetensors");
}

/* Item 11 of issue 15: a NaN or an infinity among the weights is refused,
 * naming the tensor (it used to quantize silently into a model that ran). */
static void poke_float(const char *tensor, size_t elem, uint32_t bits)
{
    char path[256];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    FILE *f = fopen(path, "r+b");
    uint8_t h8[8];
    uint64_t hl = 0;
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK(fread(h8, 1, 8, f) == 8);
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | h8[i];
    CHECK(hl < (1u << 20));
    char *hdr = calloc(1, hl < (1u << 20) ? (size_t)hl + 1 : 1);
    CHECK(hl < (1u << 20) && fread(hdr, 1, (size_t)hl, f) == hl);
    cJSON *j = cJSON_Parse(hdr), *t = cJSON_GetObjectItem(j, tensor);
    cJSON *off = cJSON_GetObjectItem(t, "data_offsets");
    CHECK(off != NULL);
    if (off) { /* the tensors are F32 (write_hf) */
        long pos = (long)(8 + hl + (uint64_t)cJSON_GetArrayItem(off, 0)->valuedouble + 4 * elem);
        uint8_t v[4] = {(uint8_t)bits, (uint8_t)(bits >> 8), (uint8_t)(bits >> 16),
                        (uint8_t)(bits >> 24)};
        fseek(f, pos, SEEK_SET);
        CHECK(fwrite(v, 1, 4, f) == 4);
    }
    cJSON_Delete(j);
    free(hdr);
    fclose(f);
}

static void test_hf_non_finite(void)
{
    setup(config_ok, NULL);
    write_hf("vit.", L, NULL, NULL);
    poke_float("vit.encoder.layer.1.attention.attention.query.weight", 5, 0x7fc00000u);
    const char *msg = hf_fails(VK_E_FORMAT);
    CHECK_STR_CONTAINS(msg, "model.safetensors: tensor "
                            "\"vit.encoder.layer.1.attention.attention.query.weight\"");
    CHECK_STR_CONTAINS(msg, "element 5 is NaN");
    write_hf("vit.", L, NULL, NULL);
    poke_float("classifier.bias", 0, 0xff800000u);
    msg = hf_fails(VK_E_FORMAT);
    CHECK_STR_CONTAINS(msg, "tensor \"classifier.bias\": element 0 is infinite");
}

/* timm-named tensors; dist adds a DeiT distillation token. */
static void write_timm(int layers, int dist, const char *reshape)
{
    stw w = {cJSON_CreateObject(), NULL, 0, 0, "", ""};
    char n[160], path[256];
    snprintf(w.reshape, sizeof w.reshape, "%s", reshape ? reshape : "");
    n_names = 0;
    st_add(&w, "cls_token", 3, 1, 1, D);
    if (dist)
        st_add(&w, "dist_token", 3, 1, 1, D);
    st_add(&w, "pos_embed", 3, 1, T + dist, D);
    st_add(&w, "patch_embed.proj.weight", 4, D, C, P, P);
    st_add(&w, "patch_embed.proj.bias", 1, D);
    for (int l = 0; l < layers; l++) {
#define N(s) (snprintf(n, sizeof n, "blocks.%d.%s", l, s), n)
        st_add(&w, N("norm1.weight"), 1, D);
        st_add(&w, N("norm1.bias"), 1, D);
        st_add(&w, N("attn.qkv.weight"), 2, 3 * D, D);
        st_add(&w, N("attn.qkv.bias"), 1, 3 * D);
        st_add(&w, N("attn.proj.weight"), 2, D, D);
        st_add(&w, N("attn.proj.bias"), 1, D);
        st_add(&w, N("norm2.weight"), 1, D);
        st_add(&w, N("norm2.bias"), 1, D);
        st_add(&w, N("mlp.fc1.weight"), 2, M, D);
        st_add(&w, N("mlp.fc1.bias"), 1, M);
        st_add(&w, N("mlp.fc2.weight"), 2, D, M);
        st_add(&w, N("mlp.fc2.bias"), 1, D);
#undef N
    }
    st_add(&w, "norm.weight", 1, D);
    st_add(&w, "norm.bias", 1, D);
    st_add(&w, "head.weight", 2, K, D);
    st_add(&w, "head.bias", 1, K);
    snprintf(path, sizeof path, "%s/timm.safetensors", dir);
    st_write(&w, path);
}

static void test_timm(void)
{
    vk_hparams hp = {.image_size = IMG,
                     .patch_size = P,
                     .n_channels = C,
                     .dim = D,
                     .n_layers = L,
                     .n_heads = 2,
                     .mlp_dim = M,
                     .n_classes = K,
                     .ln_eps = 1e-6f,
                     .act = VK_ACT_GELU};
    char path[256];
    vk_model m, before;
    vk_err err = {{0}};
    snprintf(path, sizeof path, "%s/timm.safetensors", dir);
    write_timm(L, 0, NULL);
    CHECK_EQ_INT(vk_model_load_timm(path, &hp, &m, &err), VK_OK);
    if (err.msg[0]) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    CHECK(m.mean[0] == 0.485f && m.std[2] == 0.225f);
    CHECK(m.rescale == 1.0f / 255.0f);
    CHECK(m.cls[1] == base_of("cls_token") + 1);
    CHECK(m.pos[T * D - 1] == base_of("pos_embed") + T * D - 1);
    CHECK(m.patch_w[100] == base_of("patch_embed.proj.weight") + 100);
    CHECK(m.layers[1].qkv_w[D * D + 5] == base_of("blocks.1.attn.qkv.weight") + D * D + 5);
    CHECK(m.layers[1].qkv_b[2 * D] == base_of("blocks.1.attn.qkv.bias") + 2 * D);
    CHECK(m.layers[0].proj_w[3] == base_of("blocks.0.attn.proj.weight") + 3);
    CHECK(m.layers[0].ln2_b[3] == base_of("blocks.0.norm2.bias") + 3);
    CHECK(m.layers[1].fc1_w[7] == base_of("blocks.1.mlp.fc1.weight") + 7);
    CHECK(m.layers[1].fc2_b[7] == base_of("blocks.1.mlp.fc2.bias") + 7);
    CHECK(m.lnf_b[1] == base_of("norm.bias") + 1);
    CHECK(m.head_w[K * D - 1] == base_of("head.weight") + K * D - 1);
    CHECK(m.head_b[0] == base_of("head.bias"));
    vk_model_free(&m);

    memset(&m, 0x33, sizeof m);
    memcpy(&before, &m, sizeof m);
    /* a distillation token the hyper-parameters do not expect */
    write_timm(L, 1, NULL);
    CHECK_EQ_INT(vk_model_load_timm(path, &hp, &m, &err), VK_E_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "has a distillation token");
    CHECK_STR_CONTAINS(err.msg, "timm.safetensors");
    write_timm(L + 1, 0, NULL);
    CHECK_EQ_INT(vk_model_load_timm(path, &hp, &m, &err), VK_E_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "more blocks");
    write_timm(L, 0, "blocks.1.attn.qkv.weight");
    CHECK_EQ_INT(vk_model_load_timm(path, &hp, &m, &err), VK_E_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "\"blocks.1.attn.qkv.weight\" has shape [25, 8]");
    hp.n_heads = 0;
    CHECK_EQ_INT(vk_model_load_timm(path, &hp, &m, &err), VK_E_UNSUPPORTED);
    CHECK_STR_CONTAINS(err.msg, "num_attention_heads = 0");
    CHECK(memcmp(&m, &before, sizeof m) == 0);
    unlink(path);
}

static void test_hparams_and_random(void)
{
    vk_hparams hp = {.image_size = 224,
                     .patch_size = 16,
                     .n_channels = 3,
                     .dim = 384,
                     .n_layers = 12,
                     .n_heads = 6,
                     .mlp_dim = 1536,
                     .n_classes = 1000,
                     .ln_eps = 1e-6f,
                     .act = VK_ACT_GELU};
    vk_err err = {{0}};
    CHECK_EQ_INT(vk_hparams_check(&hp, "deit-s", &err), VK_OK);
    hp.patch_size = 8; /* 785 tokens */
    CHECK_EQ_INT(vk_hparams_check(&hp, "deit-s", &err), VK_E_UNSUPPORTED);
    CHECK_STR_CONTAINS(err.msg, "785 tokens");
    CHECK_STR_CONTAINS(err.msg, "deit-s");
    hp.patch_size = 16;
    hp.n_heads = 3; /* head dim 128 */
    CHECK_EQ_INT(vk_hparams_check(&hp, "x", &err), VK_E_UNSUPPORTED);
    CHECK_STR_CONTAINS(err.msg, "head dimension 128");
    hp.n_heads = 6;
    hp.n_classes = 1001;
    CHECK_EQ_INT(vk_hparams_check(&hp, "x", &err), VK_E_UNSUPPORTED);
    CHECK_STR_CONTAINS(err.msg, "num_labels = 1001");
    hp.n_classes = 10;
    hp.image_size = 112;
    hp.patch_size = 28; /* 3*28*28 = 2352 > 768 */
    CHECK_EQ_INT(vk_hparams_check(&hp, "x", &err), VK_E_UNSUPPORTED);
    CHECK_STR_CONTAINS(err.msg, "patch of 2352 values");
    hp.patch_size = 16;
    hp.ln_eps = -1;
    CHECK_EQ_INT(vk_hparams_check(&hp, "x", &err), VK_E_FORMAT);

    vk_hparams t = {.image_size = IMG,
                    .patch_size = P,
                    .n_channels = C,
                    .dim = D,
                    .n_layers = L,
                    .n_heads = 2,
                    .mlp_dim = M,
                    .n_classes = K,
                    .ln_eps = 1e-6f};
    vk_model a, b;
    CHECK_EQ_INT(vk_model_alloc(&a, &t, &err), VK_OK);
    CHECK_EQ_INT(vk_model_alloc(&b, &t, &err), VK_OK);
    CHECK_EQ_INT(a.arena_n, (size_t)(D * C * P * P + D + D + T * D + 2 * D + K * D + K) +
                                (size_t)L * (4 * D + 4 * D * D + 4 * D + 2 * M * D + M + D));
    CHECK(a.head_b + K == a.arena + a.arena_n);
    CHECK(!strcmp(a.labels[2], "2"));
    CHECK(a.rescale == 1.0f / 255.0f && a.mean[1] == 0.5f && a.std[1] == 0.5f);
    vk_model_randomize(&a, 7);
    vk_model_randomize(&b, 7);
    CHECK(memcmp(a.arena, b.arena, a.arena_n * sizeof(float)) == 0);
    float lim = 1.0f / sqrtf((float)(C * P * P)) + 1e-6f;
    int in_range = 1;
    for (int i = 0; i < D * C * P * P; i++)
        in_range &= a.patch_w[i] >= -lim && a.patch_w[i] <= lim;
    CHECK(in_range);
    CHECK(a.layers[1].ln1_w[3] > 0.85f && a.layers[1].ln1_w[3] < 1.15f);
    vk_model_randomize(&b, 8);
    CHECK(memcmp(a.arena, b.arena, a.arena_n * sizeof(float)) != 0);
    vk_model_free(&a);
    vk_model_free(&b);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/vk_model_XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_hf_ok);
    RUN(test_hf_defaults);
    RUN(test_hf_bad_config);
    RUN(test_hf_bad_tensors);
    RUN(test_hf_non_finite);
    RUN(test_timm);
    RUN(test_hparams_and_random);
    char path[256];
    static const char *files[] = {"config.json", "preprocessor_config.json", "model.safetensors",
                                  "timm.safetensors"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    return vk_test_summary("model_load");
}
