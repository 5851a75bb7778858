/* vk_model: the float32 Vision Transformer as imported from a checkpoint.
 *
 * A vk_model owns one float arena holding every tensor; the per-tensor
 * pointers below point into it. Layouts follow PyTorch's nn.Linear
 * ([out][in], row-major); the patch embedding is flattened to
 * [dim][channels*patch*patch] in (c, ky, kx) order; qkv_w stacks the query,
 * key and value projections: rows [0,D) query, [D,2D) key, [2D,3D) value.
 *
 * Lifecycle: vk_model_load() (or _load_hf, _load_timm) -> use -> vk_model_free().
 *
 *     vk_model m; vk_err err = {0};
 *     if (vk_model_load_hf("models/demo", &m, &err) != VK_OK) die(err.msg);
 *     printf("%d encoders, %d classes\n", m.hp.n_layers, m.hp.n_classes);
 *     vk_model_free(&m);
 *
 * Not thread-safe while loading; a loaded model is read-only and may be
 * shared by threads. */
#ifndef VK_MODEL_H
#define VK_MODEL_H

#include "../kernels/vk_config.h"
#include "vk_status.h"

typedef enum {
    VK_ACT_GELU = 0,      /* exact erf GELU ("gelu") */
    VK_ACT_GELU_TANH = 1, /* tanh approximation ("gelu_new", "gelu_pytorch_tanh") */
    VK_ACT_RELU = 2,
    VK_ACT_QUICK_GELU = 3 /* x * sigmoid(1.702 x) */
} vk_act;

typedef struct {
    float *ln1_w, *ln1_b;   /* [D] */
    float *qkv_w, *qkv_b;   /* [3D][D], [3D] */
    float *proj_w, *proj_b; /* [D][D], [D] */
    float *ln2_w, *ln2_b;   /* [D] */
    float *fc1_w, *fc1_b;   /* [M][D], [M] */
    float *fc2_w, *fc2_b;   /* [D][M], [D] */
} vk_layer;

/* Hyper-parameters; also what a timm file needs to be given. */
typedef struct {
    int image_size;  /* pixels, square */
    int patch_size;  /* pixels */
    int n_channels;
    int dim;         /* hidden size D */
    int n_layers;
    int n_heads;
    int mlp_dim;     /* intermediate size M */
    int n_classes;   /* K */
    float ln_eps;
    vk_act act;
    int distilled;   /* 1: a distillation token after the class token (DeiT) */
    int dist_head;   /* 1 (distilled only): a distillation head whose logits are
                        averaged with the class head's, as transformers'
                        DeiTForImageClassificationWithTeacher and timm's
                        distilled DeiT in eval mode do */
} vk_hparams;

/* How an image is brought to the model's size before normalizing (README
 * "Preprocessing"). Every kind works on 8-bit pixels, as the frameworks do:
 * resize (horizontal pass, then vertical, each rounded to 8 bits), then a
 * center crop. */
typedef enum {
    VK_RESIZE_FIT = 0, /* no resize asked for (no preprocessor file, do_resize
                          false): an image of another size is fitted by
                          bilinear interpolation at half-pixel centres */
    VK_RESIZE_TORCH,   /* transformers' image processors: torchvision's
                          antialiased 8-bit resize (PIL's filters, weights in
                          int16 at the finest precision that fits) */
    VK_RESIZE_PIL      /* timm: PIL's Image.resize (weights at 22 bits) */
} vk_resize_kind;

typedef struct {
    vk_resize_kind kind;
    int bicubic;        /* 0: bilinear (PIL 2), 1: bicubic (PIL 3, a = -0.5) */
    int height, width;  /* resize to exactly this (when shortest is 0) */
    int shortest;       /* > 0: the shorter edge to this, the longer to
                           int(shortest * long / short) */
    int crop_h, crop_w; /* center crop after resizing (0: none); offsets
                           round((size - crop) / 2), halves to even */
} vk_preproc;

typedef struct {
    vk_hparams hp;
    int n_tokens;             /* n_prefix + (image/patch)^2 */
    int n_prefix;             /* 1 (class token) or 2 (class, distillation) */
    /* preprocessing (from preprocessor_config.json, or defaults) */
    float rescale;            /* pixel byte -> [0,1], typically 1/255 */
    float mean[VK_MAX_CHANNELS], std[VK_MAX_CHANNELS];
    vk_preproc pre;           /* resize and crop (kind VK_RESIZE_FIT: none) */
    char **labels;            /* n_classes strings, owned */

    float *patch_w, *patch_b; /* [D][C*P*P], [D] */
    float *cls;               /* [D] */
    float *dist;              /* [D] distillation token, or NULL */
    float *pos;               /* [T][D] */
    vk_layer layers[VK_MAX_LAYERS];
    float *lnf_w, *lnf_b;     /* [D] */
    float *head_w, *head_b;   /* [K][D], [K] */
    float *headd_w, *headd_b; /* [K][D], [K] distillation head, or NULL */

    float *arena;             /* owns every tensor above */
    size_t arena_n;           /* floats */
    uint8_t sha256[32];       /* SHA-256 of the weights file it was loaded from
                                 (model.safetensors, the timm file); all zero for
                                 a model made in memory. Code that changes the
                                 weights after loading must zero it. */
} vk_model;

/* Loads a transformers ViTForImageClassification, DeiTForImageClassification
 * (distillation token, class head) or DeiTForImageClassificationWithTeacher
 * (both heads, logits averaged) folder (config.json, model.safetensors in
 * F32, F16 or BF16, optional preprocessor_config.json). Checks every dtype,
 * shape and offset against the header and the config. On error *m is
 * untouched and err names the file and the problem. */
vk_status vk_model_load_hf(const char *dir, vk_model *m, vk_err *err);

/* Loads a timm-named ViT/DeiT safetensors file (patch_embed.proj.weight,
 * blocks.N.attn.qkv.weight, ..., head.weight; dist_token and head_dist for
 * a distilled DeiT, as hp says) given its hyper-parameters.
 * Preprocessing defaults to ImageNet mean/std, rescale 1/255. */
vk_status vk_model_load_timm(const char *path, const vk_hparams *hp, vk_model *m,
                             vk_err *err);

/* Loads any supported checkpoint (README "Bring your own model and board"):
 *  - a folder with a transformers config.json (model_type vit or deit):
 *    vk_model_load_hf;
 *  - a folder with timm's config.json ("architecture", optional
 *    model_args.num_heads, pretrained_cfg.mean/std) and model.safetensors;
 *  - a timm .safetensors file, with arch (a timm name such as
 *    deit_small_patch16_224) or timm's config.json beside it.
 * For timm the sizes come from the tensors' shapes (image size from
 * pos_embed), the head count from model_args or the architecture name
 * (tiny 3, small 6, base 12); arch, when given, wins over a config.json.
 * A missing path, a folder with only pytorch_model.bin (the error gives the
 * one line of Python that converts it), another file type and an
 * unsupported model_type or architecture are errors saying so. */
vk_status vk_model_load(const char *path, const char *arch, vk_model *m, vk_err *err);

/* The checkpoint's hold-out (heldout.json in a checkpoint folder, written by
 * tools/vktrain.py: {"split": "train", "first": N, "count": N > 0}): the
 * images [first, first + count) of the dataset's training file that the
 * weights never trained on. *count = 0 when path is not a folder or has no
 * heldout.json; a malformed file is an error naming it and the field. */
vk_status vk_model_heldout(const char *path, int *first, int *count, vk_err *err);

/* timm hyper-parameters from a safetensors file's shapes (see
 * vk_model_load); heads > 0 overrides the architecture's head count. */
vk_status vk_timm_hparams(const char *path, const char *arch, int heads, vk_hparams *hp,
                          vk_err *err);

/* Allocates a zeroed model of the given shape (labels "0".."K-1"); used by
 * the loaders, by tests and by benchmarks that fill random weights. */
vk_status vk_model_alloc(vk_model *m, const vk_hparams *hp, vk_err *err);

/* Checks hyper-parameters against the kernel maxima in vk_config.h. */
vk_status vk_hparams_check(const vk_hparams *hp, const char *what, vk_err *err);

/* Fills every weight with deterministic pseudo-random values (seeded),
 * LayerNorm gains near 1; for timing and bit-exactness tests. */
void vk_model_randomize(vk_model *m, uint64_t seed);

/* Frees everything the model owns; NULL or a zeroed model is a no-op. */
void vk_model_free(vk_model *m);

/* Encoder l's FFN hidden neurons in descending order of importance
 * I_j = ||W1[j,:]||_2 * ||W2[:,j]||_2 (ties: lower index first) into
 * perm[mlp_dim]; imp[mlp_dim] is scratch (gets I_j). FFN sparsity (:fNN)
 * drops the least important whole blocks: the quantizer stores the neurons
 * in this order, the float reference drops the same ones. */
void vk_model_ffn_order(const vk_model *m, int l, double *imp, int *perm);

#endif
