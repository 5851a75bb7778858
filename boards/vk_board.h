/* vk_board: one interface over every place a path can be measured.
 *
 * A board runs the quantized kernel over evaluation images and returns, per
 * image, the predicted class and the output entropy, plus the latency and
 * energy per image with where they came from (measured on a real clock or
 * sensor, or modeled by the ZCU102 cycle/energy model) and the counts
 * behind them. Back-ends (one ops table each, chosen by name):
 *   sim[:board.json]  kernel C simulation + ZCU102 cycle/energy model (default)
 *   cpu               fast native path on the host, measured wall time
 *   xrt[:N][:file.xclbin]  a real device through XRT's native API
 *   http://host:port  a `vitskip agent` serving any of the above
 *
 * Lifecycle: open -> load (model) -> load_data (images) -> measure* -> close.
 * A board is used by one thread at a time; distinct boards are independent.
 *
 *     vk_board *b;
 *     if (vk_board_open("sim", &b, &err) != VK_OK) die(err.msg);
 *     vk_board_load(b, &qm, &err);
 *     vk_board_load_data(b, imgs, n, &err);
 *     vk_path_req req = {.modes = modes};
 *     vk_board_measure(b, &req, n, res, &meas, &err);
 *     vk_board_close(b);
 */
#ifndef VK_BOARD_H
#define VK_BOARD_H

#include <stdint.h>
#include <stdio.h>

#include "../host/vk_quant.h"

typedef enum {
    VK_SRC_NONE = 0,     /* not available on this board */
    VK_SRC_MEASURED = 1, /* a clock or power sensor on a real device */
    VK_SRC_MODELED = 2   /* the cycle/energy model */
} vk_source;

const char *vk_source_str(vk_source s); /* "none", "measured", "modeled" */

/* Stages whose cycles the model accounts separately. */
typedef enum {
    VK_STAGE_EMBED = 0, /* patch embedding */
    VK_STAGE_LN,        /* LayerNorms */
    VK_STAGE_QKV,
    VK_STAGE_QK,        /* Q K^T */
    VK_STAGE_SOFTMAX,
    VK_STAGE_AV,
    VK_STAGE_PROJ,
    VK_STAGE_MLP,       /* FC1, activation, FC2 */
    VK_STAGE_HEAD,      /* final LayerNorm, classifier, entropy */
    VK_STAGE_PRUNE,     /* token pruning: ranking and compaction */
    VK_STAGE_N
} vk_stage;

const char *vk_stage_str(vk_stage s);

/* One image's outcome. */
typedef struct {
    int32_t cls;         /* predicted class */
    int32_t entropy_q16; /* entropy of the class softmax, Q16 nats */
    uint8_t escalated;   /* cascade only: 1 if the high path ran */
} vk_img_result;

/* What to measure: a path, or a cascade of two paths routed by entropy. */
typedef struct {
    const uint32_t *modes;      /* n_layers mode words of the (low) path */
    const uint32_t *modes_high; /* NULL: a single path; else the high path */
    int32_t threshold_q16;      /* cascade: escalate when entropy > threshold */
    int32_t resume;             /* cascade: high path resumes after this many
                                   encoders (it shares them with the low path);
                                   0 = high path from scratch */
    void (*progress)(void *ctx, int done, int total); /* optional */
    void *progress_ctx;
} vk_path_req;

/* Per-image figures (means over the images), with their sources. */
typedef struct {
    int n_images;
    double latency_ms;     /* median per image if measured; model if modeled */
    double latency_p10_ms; /* spread (measured); equal to latency if modeled */
    double latency_p90_ms;
    vk_source latency_src;
    double energy_mj;      /* per image */
    vk_source energy_src;
    char note[192];        /* how: "ZCU102 model @ 200 MHz, ..." / "host clock, ..." */
    /* cost of the path's suffix: suffix_ms[k] = latency when resuming after
       k encoders (suffix_ms[0] = whole path); same source as latency */
    double suffix_ms[VK_MAX_LAYERS + 1];
    double suffix_mj[VK_MAX_LAYERS + 1];
    /* counts per image (modeled boards fill all; others what they can) */
    uint64_t cycles;
    uint64_t ddr_bytes;
    uint64_t macs;
    uint64_t macs_skipped; /* versus every attention computed */
    uint64_t stage_cycles[VK_STAGE_N];
    int n_escalated;       /* cascade only */
} vk_measure;

typedef struct vk_board vk_board;

/* Back-end operations; state is the back-end's own. */
typedef struct {
    const char *kind; /* "sim", "cpu", "xrt", "remote" */
    vk_status (*open)(const char *spec, void **state, vk_err *err);
    vk_status (*load)(void *state, const vk_qmodel *q, vk_err *err);
    /* imgs: n quantized images (vk_qmodel_img_n bytes each), copied. */
    vk_status (*load_data)(void *state, const int8_t *imgs, int n, vk_err *err);
    /* Measures req over the first n loaded images; res gets n results. */
    vk_status (*measure)(void *state, const vk_path_req *req, int n, vk_img_result *res,
                         vk_measure *out, vk_err *err);
    void (*describe)(void *state, char *buf, size_t len);
    void (*close)(void *state);
} vk_board_ops;

/* Opens a board by spec (see above). Unknown kinds, malformed specs and
 * unavailable devices are errors naming the spec. Caller owns *b. */
vk_status vk_board_open(const char *spec, vk_board **b, vk_err *err);
vk_status vk_board_load(vk_board *b, const vk_qmodel *q, vk_err *err);
vk_status vk_board_load_data(vk_board *b, const int8_t *imgs, int n, vk_err *err);
/* On error, res and out are unspecified and nothing must be recorded. */
vk_status vk_board_measure(vk_board *b, const vk_path_req *req, int n, vk_img_result *res,
                           vk_measure *out, vk_err *err);
const char *vk_board_spec(const vk_board *b); /* as opened */
const char *vk_board_kind(const vk_board *b);
void vk_board_describe(vk_board *b, char *buf, size_t len);
void vk_board_close(vk_board *b); /* NULL is a no-op */

/* Prints which boards this machine offers and why others are unavailable
 * (`vitskip boards`). */
void vk_board_list(FILE *out);

#endif
