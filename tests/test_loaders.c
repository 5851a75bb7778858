/* test_loaders: every checkpoint kind vk_model_load takes, against the logits
 * its own framework computed (tests/fixtures/frameworks, written by
 * transformers 5.17 and timm 1.0.29 through tools/make_fixtures.py):
 * transformers ViT (float32, float16, bfloat16 files), DeiT and DeiT with
 * its teacher head, timm ViT and distilled DeiT from timm's config.json and
 * from --arch names, and ViT-B/16 at full width (weights from a formula the
 * fixture script shares); plus the errors a user meets (missing path, a
 * pytorch_model.bin folder, another model_type, a timm file without its
 * architecture). */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/vk_data.h"
#include "host/vk_fast.h"
#include "host/vk_model.h"
#include "host/vk_quant.h"
#include "host/vk_ref.h"
#include "kernels/vk_kernel.h"
#include "tests/vk_test.h"

#define FX "tests/fixtures/frameworks/"

static char dir[64];

typedef struct {
    uint32_t n, c, h, w, k;
    float *x, *logits; /* borrowed from buf */
    uint8_t *buf;
} ref_file;

static int read_ref(const char *path, ref_file *r)
{
    FILE *f = fopen(path, "rb");
    long n;
    memset(r, 0, sizeof *r);
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    r->buf = malloc((size_t)n);
    if (fread(r->buf, 1, (size_t)n, f) != (size_t)n || n < 28 || memcmp(r->buf, "VKFIX001", 8)) {
        fclose(f);
        return -1;
    }
    fclose(f);
    memcpy(&r->n, r->buf + 8, 4);
    memcpy(&r->c, r->buf + 12, 4);
    memcpy(&r->h, r->buf + 16, 4);
    memcpy(&r->w, r->buf + 20, 4);
    memcpy(&r->k, r->buf + 24, 4);
    size_t nx = r->c ? (size_t)r->n * r->c * r->h * r->w : 0;
    if ((size_t)n != 28 + 4 * (nx + (size_t)r->n * r->k))
        return -1;
    r->x = (float *)(r->buf + 28);
    r->logits = r->x + nx;
    return 0;
}

/* Largest |logit - reference| of m over the fixture's inputs (x given when
 * the fixture holds none). */
static double worst_of(const vk_model *m, const ref_file *r, const float *x)
{
    size_t img_n = (size_t)m->hp.n_channels * m->hp.image_size * m->hp.image_size;
    vk_ref_ws *ws = vk_ref_ws_new(m);
    float *lg = malloc((size_t)m->hp.n_classes * sizeof(float));
    double worst = 0;
    for (uint32_t i = 0; i < r->n; i++) {
        vk_ref_forward(m, ws, x ? x : r->x + i * img_n, NULL, lg, NULL);
        for (uint32_t j = 0; j < r->k; j++) {
            double e = fabs(lg[j] - r->logits[i * r->k + j]);
            if (e > worst)
                worst = e;
        }
    }
    vk_ref_ws_free(ws);
    free(lg);
    return worst;
}

/* A distilled DeiT (class and distillation tokens, two heads averaged)
 * quantized on its fixture's inputs: the C-simulated kernel and the host
 * fast path give the same logits word for word, under every attention
 * mode the token count changes (full, skipped, token pruning), and the
 * int8 logits follow the framework's: within 5% of their range. */
static void int8_check(const char *what, const char *path, const char *arch,
                       const char *ref_dir)
{
    char rp[256];
    ref_file r;
    vk_model m;
    vk_qmodel q;
    vk_fast_ctx *f = NULL;
    vk_err err = {{0}};
    snprintf(rp, sizeof rp, FX "%s/ref.bin", ref_dir);
    CHECK_EQ_INT(read_ref(rp, &r), 0);
    CHECK_EQ_INT(vk_model_load(path, arch, &m, &err), VK_OK);
    CHECK_EQ_INT(vk_quant_calibrate(&m, r.x, (int)r.n, &q, &err), VK_OK);
    if (err.msg[0]) {
        fprintf(stderr, "%s: %s\n", what, err.msg);
        free(r.buf);
        return;
    }
    CHECK_EQ_INT(q.par[VK_HDR_PREFIX], 2);
    CHECK_EQ_INT(vk_fast_ctx_new(&q, VK_FAST_ISA_AUTO, &f, &err), VK_OK);
    size_t img_n = (size_t)r.c * r.h * r.w;
    int8_t *img = malloc(img_n);
    int32_t *ok = malloc(VK_OUT_WORDS * 4), *of = malloc(VK_OUT_WORDS * 4);
    uint32_t modes[VK_MAX_LAYERS], cfg[VK_CFG_WORDS];
    float s_logit;
    memcpy(&s_logit, &q.par[VK_HDR_S_LOGIT], 4);
    double worst = 0, lo = 1e30, hi = -1e30;
    int differ = 0;
    for (int v = 0; v < 3 && f; v++) {
        for (int l = 0; l < m.hp.n_layers; l++)
            modes[l] = v == 0   ? VK_MODE(VK_ATTN_FULL)
                       : v == 1 ? VK_MODE(l % 2 ? VK_ATTN_SKIP : VK_ATTN_FULL)
                                : VK_MODE_FULL_WORD(VK_ATTN_FULL, l == 0 ? 50 : 100, 0);
        vk_cfg_init(cfg, modes, m.hp.n_layers, 0, 0);
        for (uint32_t i = 0; i < r.n; i++) {
            vk_quant_input(&q, r.x + i * img_n, img);
            vk_kernel_run(q.wt, q.par, cfg, img, NULL, ok);
            vk_fast_run(f, cfg, img, NULL, of);
            differ += ok[VK_OUT_STATUS] != VK_KSTAT_OK ||
                      memcmp(ok, of, (VK_OUT_LOGITS + r.k) * 4) != 0;
            for (uint32_t j = 0; v == 0 && j < r.k; j++) {
                double want = r.logits[i * r.k + j], e = fabs(ok[VK_OUT_LOGITS + j] * s_logit - want);
                worst = e > worst ? e : worst;
                lo = want < lo ? want : lo;
                hi = want > hi ? want : hi;
            }
        }
    }
    printf("%-44s kernel = fast path on %u inputs x 3 modes; max |int8 logit - framework| = "
           "%.3g (range %.3g)\n", what, r.n, worst, hi - lo);
    CHECK_EQ_INT(differ, 0);
    CHECK(worst <= 0.05 * (hi - lo));
    vk_fast_ctx_free(f);
    vk_qmodel_free(&q);
    vk_model_free(&m);
    free(img);
    free(ok);
    free(of);
    free(r.buf);
}

/* Loads path (arch may be NULL) and checks it against the fixture's ref.bin. */
static void check(const char *what, const char *path, const char *arch, const char *ref_dir,
                  int distilled, int dist_head)
{
    char rp[256];
    ref_file r;
    vk_model m;
    vk_err err = {{0}};
    snprintf(rp, sizeof rp, FX "%s/ref.bin", ref_dir);
    CHECK_EQ_INT(read_ref(rp, &r), 0);
    CHECK_EQ_INT(vk_model_load(path, arch, &m, &err), VK_OK);
    if (err.msg[0]) {
        fprintf(stderr, "%s: %s\n", what, err.msg);
        free(r.buf);
        return;
    }
    CHECK_EQ_INT(m.hp.distilled, distilled);
    CHECK_EQ_INT(m.hp.dist_head, dist_head);
    CHECK_EQ_INT(m.hp.n_classes, r.k);
    CHECK_EQ_INT(m.hp.image_size, r.h);
    double worst = worst_of(&m, &r, NULL);
    printf("%-44s max |logit - framework| = %.3g over %u inputs\n", what, worst, r.n);
    CHECK(worst <= 1e-4);
    vk_model_free(&m);
    free(r.buf);
}

static void test_transformers(void)
{
    check("transformers ViT, float32", FX "hf_vit", NULL, "hf_vit", 0, 0);
    check("transformers ViT, float16 file", FX "hf_vit_f16", NULL, "hf_vit_f16", 0, 0);
    check("transformers ViT, bfloat16 file", FX "hf_vit_bf16", NULL, "hf_vit_bf16", 0, 0);
    check("transformers DeiT", FX "hf_deit", NULL, "hf_deit", 1, 0);
    check("transformers DeiT with teacher", FX "hf_deit_teacher", NULL, "hf_deit_teacher", 1, 1);
    /* labels from id2label */
    vk_model m;
    vk_err err = {{0}};
    CHECK_EQ_INT(vk_model_load(FX "hf_deit", NULL, &m, &err), VK_OK);
    CHECK(m.n_prefix == 2 && m.n_tokens == 2 + 16);
    CHECK(!strcmp(m.labels[3], "class_3"));
    /* a distillation token without its head: the kernel averages two heads,
       so the int8 blob is refused, named */
    vk_ref_stats st;
    vk_qmodel q;
    memset(&st, 0, sizeof st);
    CHECK_EQ_INT(vk_quant_build(&m, &st, &q, &err), VK_E_UNSUPPORTED);
    CHECK_STR_CONTAINS(err.msg, "no distillation head");
    vk_model_free(&m);
    int8_check("transformers DeiT with teacher, int8", FX "hf_deit_teacher", NULL,
               "hf_deit_teacher");
}

static void test_timm(void)
{
    int8_check("timm distilled DeiT, int8", FX "timm_deit_dist", NULL, "timm_deit_dist");
    check("timm ViT, its config.json", FX "timm_vit", NULL, "timm_vit", 0, 0);
    check("timm distilled DeiT, its config.json", FX "timm_deit_dist", NULL, "timm_deit_dist", 1,
          1);
    /* the file alone, with a timm name (the head count from the name, the
       sizes from the tensors) */
    check("timm ViT file, --arch vit_tiny_patch16_224", FX "timm_vit/model.safetensors",
          "vit_tiny_patch16_224", "timm_vit", 0, 0);
    check("timm DeiT file, --arch deit_tiny_distilled_...", FX "timm_deit_dist/model.safetensors",
          "deit_tiny_distilled_patch16_224", "timm_deit_dist", 1, 1);
    /* preprocessing from timm's pretrained_cfg (this vit_tiny's: 0.5) */
    vk_model m;
    vk_err err = {{0}};
    CHECK_EQ_INT(vk_model_load(FX "timm_vit", NULL, &m, &err), VK_OK);
    CHECK(m.mean[0] == 0.5f && m.std[2] == 0.5f);
    vk_model_free(&m);
    /* a wrong head count changes the function: the name is what decides */
    ref_file r;
    CHECK_EQ_INT(read_ref(FX "timm_vit/ref.bin", &r), 0);
    CHECK_EQ_INT(vk_model_load(FX "timm_vit/model.safetensors", "vit_base_patch16_224", &m, &err),
                 VK_OK);
    CHECK_EQ_INT(m.hp.n_heads, 12);
    CHECK(worst_of(&m, &r, NULL) > 1e-3);
    vk_model_free(&m);
    free(r.buf);
}

/* ---- ViT-B/16 at full width, weights from the fixture's formula ---------- */

static double formula_u(uint64_t t, uint64_t j)
{
    uint64_t z = ((t + 1) << 32) + j;
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 40) / 16777216.0 * 2 - 1;
}

/* The checkpoint name of a transformers 5 module name (save_pretrained
 * writes the names ViT checkpoints have always had). */
static void legacy_name(const char *in, char *out, size_t n)
{
    static const char *const map[][2] = {
        {"attention.q_proj", "attention.attention.query"},
        {"attention.k_proj", "attention.attention.key"},
        {"attention.v_proj", "attention.attention.value"},
        {"attention.o_proj", "attention.output.dense"},
        {"mlp.fc1", "intermediate.dense"},
        {"mlp.fc2", "output.dense"},
        {"layernorm_before", "layernorm_before"},
        {"layernorm_after", "layernorm_after"}};
    int layer;
    char rest[128];
    if (sscanf(in, "vit.layers.%d.%127s", &layer, rest) != 2) {
        snprintf(out, n, "%s", in);
        return;
    }
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        size_t k = strlen(map[i][0]);
        if (!strncmp(rest, map[i][0], k)) {
            snprintf(out, n, "vit.encoder.layer.%d.%s%s", layer, map[i][1], rest + k);
            return;
        }
    }
    snprintf(out, n, "%s", in);
}

/* Writes FX hf_vit_b16's tensors (names.txt: transformers' sorted module
 * names and shapes; the formula's tensor index is the position there) as a
 * float32 safetensors file under the checkpoint names, each value as
 * tools/make_fixtures.py's formula(). */
static int write_vit_b16(const char *out)
{
    FILE *nf = fopen(FX "hf_vit_b16/names.txt", "r"), *f;
    char names[64][128], shapes[64][64], hdr[16384];
    int64_t dims[64][4], n_el[64];
    int rank[64], n = 0;
    size_t off = 0, hl = 0;
    if (!nf)
        return -1;
    while (n < 64 && fscanf(nf, "%127s %63s", names[n], shapes[n]) == 2) {
        char *p = shapes[n];
        rank[n] = 0;
        n_el[n] = 1;
        while (*p && rank[n] < 4) {
            dims[n][rank[n]] = strtoll(p, &p, 10);
            n_el[n] *= dims[n][rank[n]++];
            if (*p == 'x')
                p++;
        }
        n++;
    }
    fclose(nf);
    hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "{");
    for (int t = 0; t < n; t++) {
        char ck[160];
        legacy_name(names[t], ck, sizeof ck);
        hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[",
                               t ? "," : "", ck);
        for (int d = 0; d < rank[t]; d++)
            hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "%s%lld", d ? "," : "",
                                   (long long)dims[t][d]);
        hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "],\"data_offsets\":[%zu,%zu]}", off,
                               off + 4 * (size_t)n_el[t]);
        off += 4 * (size_t)n_el[t];
    }
    hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "}");
    if (!(f = fopen(out, "wb")))
        return -1;
    uint64_t len = hl;
    fwrite(&len, 8, 1, f);
    fwrite(hdr, 1, hl, f);
    for (int t = 0; t < n; t++) {
        const char *nm = names[t];
        size_t ln = strlen(nm);
        float *v = malloc((size_t)n_el[t] * sizeof(float));
        for (int64_t j = 0; j < n_el[t]; j++) {
            double u = formula_u((uint64_t)t, (uint64_t)j), x;
            if (rank[t] == 1 && strstr(nm, "layernorm") && ln > 6 && !strcmp(nm + ln - 6, "weight"))
                x = 1 + 0.1 * u;
            else if (rank[t] == 1)
                x = 0.05 * u;
            else if (strstr(nm, "cls_token") || strstr(nm, "position_embeddings"))
                x = 0.5 * u;
            else
                x = u * sqrt(3.0 / (double)(n_el[t] / dims[t][0]));
            v[j] = (float)x;
        }
        fwrite(v, sizeof(float), (size_t)n_el[t], f);
        free(v);
    }
    return fclose(f) == 0 && n == 40 ? 0 : -1;
}

static void test_vit_b16(void)
{
    char d[128], p[160], cmd[512];
    ref_file r;
    vk_model m;
    vk_err err = {{0}};
    snprintf(d, sizeof d, "%s/vitb", dir);
    mkdir(d, 0700);
    snprintf(p, sizeof p, "%s/model.safetensors", d);
    CHECK_EQ_INT(write_vit_b16(p), 0);
    snprintf(cmd, sizeof cmd, "cp " FX "hf_vit_b16/config.json %s/", d);
    CHECK_EQ_INT(system(cmd), 0);
    CHECK_EQ_INT(read_ref(FX "hf_vit_b16/ref.bin", &r), 0);
    CHECK_EQ_INT(vk_model_load(d, NULL, &m, &err), VK_OK);
    if (err.msg[0]) {
        fprintf(stderr, "%s\n", err.msg);
        free(r.buf);
        return;
    }
    CHECK(m.hp.dim == 768 && m.hp.n_heads == 12 && m.hp.mlp_dim == 3072 && m.n_tokens == 197);
    size_t img_n = 3 * 224 * 224;
    float *x = malloc(img_n * sizeof(float));
    for (size_t j = 0; j < img_n; j++)
        x[j] = (float)formula_u(1000, j) * 2;
    double worst = worst_of(&m, &r, x);
    printf("%-44s max |logit - framework| = %.3g over 1 input, 1000 classes\n",
           "transformers ViT-B/16 width (2 encoders)", worst);
    CHECK(worst <= 1e-4);
    free(x);
    free(r.buf);
    vk_model_free(&m);
}

/* ---- what a user gets wrong ----------------------------------------------- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_errors(void)
{
    char d[128], p[200];
    vk_model m, before;
    vk_err err = {{0}};
    memset(&m, 0x5A, sizeof m);
    memcpy(&before, &m, sizeof m);
    CHECK_EQ_INT(vk_model_load("/nonexistent/model", NULL, &m, &err), VK_E_IO);
    CHECK_STR_CONTAINS(err.msg, "/nonexistent/model: no such file or folder");
    /* a folder with only pytorch_model.bin: the conversion line */
    snprintf(d, sizeof d, "%s/binonly", dir);
    mkdir(d, 0700);
    snprintf(p, sizeof p, "%s/pytorch_model.bin", d);
    write_file(p, "pickle");
    CHECK_EQ_INT(vk_model_load(d, NULL, &m, &err), VK_E_UNSUPPORTED);
    CHECK_STR_CONTAINS(err.msg, "pytorch_model.bin");
    CHECK_STR_CONTAINS(err.msg, "python3 -c");
    CHECK_STR_CONTAINS(err.msg, "save_file");
    /* ... also with a config.json beside it */
    snprintf(p, sizeof p, "cp " FX "hf_vit/config.json %s/", d);
    CHECK_EQ_INT(system(p), 0);
    CHECK_EQ_INT(vk_model_load(d, NULL, &m, &err), VK_E_UNSUPPORTED);
    CHECK_STR_CONTAINS(err.msg, "python3 -c");
    /* another model type, named */
    snprintf(p, sizeof p, "%s/config.json", d);
    write_file(p, "{\"model_type\": \"swin\", \"hidden_size\": 96}");
    CHECK_EQ_INT(vk_model_load(d, NULL, &m, &err), VK_E_UNSUPPORTED);
    CHECK_STR_CONTAINS(err.msg, "model_type \"swin\"");
    write_file(p, "{\"model_type\": \"vit\", \"architectures\": [\"ViTForMaskedImageModeling\"]}");
    CHECK_EQ_INT(vk_model_load(d, NULL, &m, &err), VK_E_UNSUPPORTED);
    CHECK_STR_CONTAINS(err.msg, "ViTForMaskedImageModeling");
    /* a .pth file: the conversion line */
    snprintf(p, sizeof p, "%s/deit.pth", d);
    write_file(p, "pickle");
    CHECK_EQ_INT(vk_model_load(p, NULL, &m, &err), VK_E_UNSUPPORTED);
    CHECK_STR_CONTAINS(err.msg, "python3 -c");
    /* a timm file with nothing to say its architecture, and an unknown name */
    snprintf(p, sizeof p, "%s/config.json", d);
    unlink(p);
    snprintf(p, sizeof p, "cp " FX "timm_vit/model.safetensors %s/t.safetensors", d);
    CHECK_EQ_INT(system(p), 0);
    snprintf(p, sizeof p, "%s/t.safetensors", d);
    CHECK_EQ_INT(vk_model_load(p, NULL, &m, &err), VK_E_ARG);
    CHECK_STR_CONTAINS(err.msg, "--arch");
    CHECK_EQ_INT(vk_model_load(p, "resnet50", &m, &err), VK_E_UNSUPPORTED);
    CHECK_STR_CONTAINS(err.msg, "\"resnet50\"");
    CHECK(memcmp(&m, &before, sizeof m) == 0); /* untouched on every error */
}

/* ---- preprocessing ------------------------------------------------------ */

/* Writes text to dir/name. */
static void put(const char *d, const char *name, const char *text)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", d, name);
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* Links the fixture file src as dir/name. */
static void link_fx(const char *src, const char *d, const char *name)
{
    char p[600], abs_src[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", d, name);
    CHECK(realpath(src, abs_src) != NULL);
    CHECK_EQ_INT(symlink(abs_src, p), 0);
}

/* A model folder dir/name: the fixture model's config and weights (hf:
 * config.json beside them), preprocessing text as preprocessor_config.json
 * (hf) or config.json (timm; NULL: none). Returns its path. */
static const char *model_dir(const char *name, const char *fx, int hf, const char *text)
{
    static char d[256];
    char src[256];
    snprintf(d, sizeof d, "%s/%s", dir, name);
    mkdir(d, 0700);
    snprintf(src, sizeof src, FX "%s/model.safetensors", fx);
    link_fx(src, d, "model.safetensors");
    if (hf) {
        snprintf(src, sizeof src, FX "%s/config.json", fx);
        link_fx(src, d, "config.json");
    }
    if (text)
        put(d, hf ? "preprocessor_config.json" : "config.json", text);
    return d;
}

/* The processors' outputs in FX "preproc/pre.bin": entry name's [3][3][32][32]. */
static int read_pre(const char *name, float *out)
{
    FILE *f = fopen(FX "preproc/pre.bin", "rb");
    char magic[8], nm[64];
    uint32_t n = 0, len, dims[3];
    int found = 0;
    if (!f)
        return -1;
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, "VKPRE001", 8) || fread(&n, 4, 1, f) != 1)
        n = 0;
    while (n == 3 && !found && fread(&len, 4, 1, f) == 1 && len < sizeof nm &&
           fread(nm, 1, len, f) == len && fread(dims, 4, 3, f) == 3) {
        size_t k = (size_t)n * dims[0] * dims[1] * dims[2];
        nm[len] = 0;
        if (k != 3 * 3 * 32 * 32)
            break;
        found = !strcmp(nm, name);
        if (fread(out, 4, k, f) != k)
            found = 0;
    }
    fclose(f);
    return found ? 0 : -1;
}

/* The fixture images through model path's preprocessing, against the
 * framework's own output (entry want of pre.bin): within 1e-6, i.e. the
 * same 8-bit pixels (one level is 1/255 / std, about 8e-3). */
static void pre_check(const char *what, const char *path, const char *want)
{
    static float ref[3 * 3 * 32 * 32];
    char imgs[256], a[300];
    vk_model m;
    vk_dataset ds;
    vk_err err = {{0}};
    float out[3 * 32 * 32];
    double worst = 0;
    snprintf(imgs, sizeof imgs, "%s/imgs", dir);
    snprintf(a, sizeof a, "%s/imgs/a", dir);
    if (mkdir(imgs, 0700) == 0) {
        mkdir(a, 0700);
        for (int i = 0; i < 3; i++) {
            char src[128], name[16];
            snprintf(src, sizeof src, FX "preproc/img%d.png", i);
            snprintf(name, sizeof name, "img%d.png", i);
            link_fx(src, a, name);
        }
    }
    CHECK_EQ_INT(read_pre(want, ref), 0);
    CHECK_EQ_INT(vk_model_load(path, NULL, &m, &err), VK_OK);
    if (err.msg[0]) {
        fprintf(stderr, "%s: %s\n", what, err.msg);
        return;
    }
    int k = m.hp.n_classes;
    m.hp.n_classes = 1; /* the folder has one class */
    CHECK_EQ_INT(vk_dataset_load(imgs, &m, 0, &ds, &err), VK_OK);
    m.hp.n_classes = k;
    if (err.msg[0]) {
        fprintf(stderr, "%s: %s\n", what, err.msg);
        vk_model_free(&m);
        return;
    }
    CHECK_EQ_INT(ds.n, 3);
    for (int i = 0; i < ds.n && i < 3; i++) {
        vk_dataset_normalize(&ds, &m, i, out);
        for (int j = 0; j < 3 * 32 * 32; j++) {
            double e = fabs(out[j] - ref[i * 3 * 32 * 32 + j]);
            worst = e > worst ? e : worst;
        }
    }
    printf("%-44s max |pixel - framework| = %.3g over 3 images (50x37, 64x64, 23x41)\n", what,
           worst);
    CHECK(worst <= 1e-6);
    vk_dataset_free(&ds);
    vk_model_free(&m);
}

/* A model folder whose preprocessing is refused on loading, naming it. */
static void pre_bad(const char *name, const char *fx, int hf, const char *text, const char *msg)
{
    vk_model m;
    vk_err err = {{0}};
    const char *d = model_dir(name, fx, hf, text);
    CHECK(vk_model_load(d, NULL, &m, &err) != VK_OK);
    CHECK_STR_CONTAINS(err.msg, msg);
    CHECK_STR_CONTAINS(err.msg, hf ? "preprocessor_config.json" : "config.json");
}

#define HF_PRE(extra)                                                                             \
    "{\"do_normalize\": true, \"do_rescale\": true, \"image_mean\": [0.5, 0.5, 0.5], "           \
    "\"image_std\": [0.5, 0.5, 0.5], \"rescale_factor\": 0.00392156862745098" extra "}"
#define TIMM_CFG(pcfg)                                                                            \
    "{\"architecture\": \"vit_tiny_patch16_224\", \"num_classes\": 7, \"model_args\": "           \
    "{\"img_size\": 32, \"patch_size\": 8, \"embed_dim\": 48, \"depth\": 2, \"num_heads\": 3}, "   \
    "\"pretrained_cfg\": {\"mean\": [0.485, 0.456, 0.406], \"std\": [0.229, 0.224, 0.225]" pcfg   \
    "}}"

static void test_preprocessing(void)
{
    char src[128];
    const char *d = model_dir("pre_vit", "hf_vit", 1, NULL);
    snprintf(src, sizeof src, FX "preproc/vit/preprocessor_config.json");
    link_fx(src, d, "preprocessor_config.json");
    pre_check("transformers ViTImageProcessor (bilinear)", d, "vit");
    pre_check("transformers ViTImageProcessorFast", d, "vit_fast");
    d = model_dir("pre_deit", "hf_deit", 1, NULL);
    link_fx(FX "preproc/deit/preprocessor_config.json", d, "preprocessor_config.json");
    pre_check("transformers DeiTImageProcessor (bicubic, crop)", d, "deit");
    /* timm: the data config timm resolved (crop_pct 0.875, bicubic,
       center) as a pretrained_cfg */
    d = model_dir("pre_timm", "timm_vit", 0,
                  TIMM_CFG(", \"interpolation\": \"bicubic\", \"crop_pct\": 0.875, "
                           "\"crop_mode\": \"center\""));
    pre_check("timm eval transform (crop_pct 0.875, bicubic)", d, "timm");
    /* malformed */
    pre_bad("b1", "hf_vit", 1, HF_PRE(", \"resample\": 1"), "\"resample\" 1 is not supported");
    pre_bad("b2", "hf_vit", 1, HF_PRE(", \"size\": \"big\""), "\"size\" must be");
    pre_bad("b3", "hf_vit", 1, HF_PRE(", \"size\": {\"height\": 32}"),
            "required field \"width\" is missing");
    pre_bad("b4", "hf_vit", 1, HF_PRE(", \"size\": {\"height\": 40, \"width\": 40}"),
            "\"size\" gives 40x40 images, the model takes 32x32");
    pre_bad("b5", "hf_vit", 1,
            HF_PRE(", \"size\": 24, \"do_center_crop\": true, \"crop_size\": 32"),
            "\"crop_size\" 32x32 is larger than \"size\" 24x24");
    pre_bad("b6", "hf_vit", 1, HF_PRE(", \"do_center_crop\": true, \"crop_size\": 16"),
            "\"crop_size\" gives 16x16 images");
    pre_bad("b7", "hf_vit", 1, HF_PRE(", \"do_resize\": \"yes\""),
            "\"do_resize\" must be true or false");
    pre_bad("b8", "hf_vit", 1, HF_PRE(", \"size\": {\"shortest_edge\": 32, \"longest_edge\": 64}"),
            "\"size\" must be");
    pre_bad("b9", "hf_vit", 1, HF_PRE(", \"size\": -3"), "\"size\" must be 1..4096 pixels");
    pre_bad("t1", "timm_vit", 0, TIMM_CFG(", \"crop_pct\": -1"), "\"crop_pct\" must be");
    pre_bad("t2", "timm_vit", 0, TIMM_CFG(", \"crop_pct\": 0.9, \"crop_mode\": \"border\""),
            "\"border\" is not supported");
    pre_bad("t3", "timm_vit", 0, TIMM_CFG(", \"interpolation\": \"lanczos\""),
            "\"interpolation\" must be");
    /* a resize that keeps the aspect without a crop: an image that does not
       come out square is refused, named */
    vk_model m;
    vk_dataset ds;
    vk_err err = {{0}};
    char imgs[256];
    d = model_dir("pre_short", "hf_vit", 1, HF_PRE(", \"size\": {\"shortest_edge\": 32}"));
    CHECK_EQ_INT(vk_model_load(d, NULL, &m, &err), VK_OK);
    int k = m.hp.n_classes;
    m.hp.n_classes = 1;
    snprintf(imgs, sizeof imgs, "%s/imgs", dir);
    CHECK(vk_dataset_load(imgs, &m, 0, &ds, &err) != VK_OK);
    CHECK_STR_CONTAINS(err.msg, "img0.png: 50x37 resized to 43x32, the model takes 32x32");
    m.hp.n_classes = k;
    vk_model_free(&m);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/vk_loaders_XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_transformers);
    RUN(test_timm);
    RUN(test_vit_b16);
    RUN(test_errors);
    RUN(test_preprocessing);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return vk_test_summary("loaders");
}
