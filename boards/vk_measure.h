/* vk_measure: what a board measures, as plain data: per image the predicted
 * class and entropy, per path the latency and energy with where each figure
 * came from (measured on a real clock or sensor, or modeled), and the counts
 * behind them. The database stores these and needs nothing else of a board.
 *
 * Plain structs with no owned pointers; the two name functions return
 * static strings and are thread-safe.
 *
 *     vk_measure m;
 *     // a board or the database fills m
 *     printf("%.4f ms [%s]\n", m.latency_ms, vk_source_str(m.latency_src));
 */
#ifndef VK_MEASURE_H
#define VK_MEASURE_H

#include <stdint.h>

#include "../kernels/vk_config.h"

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

#endif
