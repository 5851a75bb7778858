/* vk_prefix: a bounded cache of residual streams, so that paths which agree
 * on their first k encoders compute those encoders once.
 *
 * A path's genome gives one mode word per encoder; two paths with the same
 * first k mode words have the same residual stream after encoder k, for
 * every image. vk_prefix_run evaluates a path over n images with a vk_fast
 * context: it starts from the longest cached prefix it can resume from (the
 * kernel's START semantics), computes only the remaining encoders, stores
 * the streams after each newly computed encoder (depths 1 .. n_layers-1)
 * as far as the byte budget allows, and writes exactly the out words
 * vk_fast_run_batch (and so vk_kernel_top) would.
 *
 * An entry is keyed by (model blob SHA-256, the image set's bytes and
 * count, depth k, the k mode words) and holds each image's stream in the
 * act layout (its token count, then tokens * dim words; a prefix that
 * prunes tokens stores the kept ones only). A path resumes only from a
 * depth after which it reads no attention computed before (a reuse whose
 * source lies in the prefix would need probabilities the cache does not
 * keep): it falls back to a shallower depth, or computes from the image.
 * Memory: entries never exceed max_bytes in total; least recently used ones
 * are evicted first. A path touches its entries deepest first, so shallow
 * prefixes (shared by the most genomes) stay longest; when a path's new
 * entries do not all fit, the shallowest are kept.
 *
 * Lifecycle: vk_prefix_new -> vk_prefix_run* -> vk_prefix_free. Used by one
 * thread at a time (vk_prefix_run itself runs images on all OpenMP
 * threads). The vk_fast context is borrowed per call.
 *
 *     vk_prefix *pc;
 *     vk_prefix_new(256u << 20, &pc, &err);
 *     for (int g = 0; g < n_genomes; g++)  // each path, its prefix reused
 *         vk_prefix_run(pc, fast, modes[g], imgs, n, outs, &err);
 *     vk_prefix_stats st; vk_prefix_get_stats(pc, &st);  // computed vs requested
 *     vk_prefix_free(pc);
 */
#ifndef VK_PREFIX_H
#define VK_PREFIX_H

#include <stddef.h>
#include <stdint.h>

#include "vk_fast.h"

#define VK_PREFIX_DEFAULT_BYTES ((size_t)256 << 20)

typedef struct vk_prefix vk_prefix;

typedef struct {
    uint64_t paths;          /* vk_prefix_run calls that succeeded */
    uint64_t enc_requested;  /* sum over paths of images x encoders */
    uint64_t enc_computed;   /* of those, computed (the rest resumed from the cache) */
    uint64_t hits;           /* paths that resumed from a cached prefix */
    uint64_t shallower;      /* of those, paths that resumed shallower than their
                                deepest cached prefix (a reuse read attention in it) */
    uint64_t evictions;      /* entries evicted for room */
    uint64_t skipped;        /* entries not stored for want of room */
    size_t entries;          /* entries held now */
    size_t bytes;            /* bytes held now (entry buffers) */
    size_t max_bytes;        /* the bound */
} vk_prefix_stats;

/* A cache that holds at most max_bytes of streams (0: the default,
 * 256 MiB). Caller owns *pc; VK_E_NOMEM on failure (*pc untouched). */
vk_status vk_prefix_new(size_t max_bytes, vk_prefix **pc, vk_err *err);
void vk_prefix_free(vk_prefix *pc); /* NULL is a no-op */

/* Evaluates the path modes (vk_fast_n_layers(f) mode words) on n images
 * (imgs: n * vk_fast_img_n bytes) into outs (n * vk_fast_out_n words).
 * Errors: VK_E_ARG for mode words the kernel refuses from START = 0 (its
 * VK_KSTAT_BAD_MODE; the message names the encoder) or n < 1, VK_E_NOMEM;
 * outs is unspecified then and the cache unchanged except for evictions. */
vk_status vk_prefix_run(vk_prefix *pc, vk_fast_ctx *f, const uint32_t *modes,
                        const int8_t *imgs, int n, int32_t *outs, vk_err *err);

void vk_prefix_get_stats(const vk_prefix *pc, vk_prefix_stats *st);

#endif
