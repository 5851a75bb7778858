/* vk_calib: the calibrated int8 model, computed once per (checkpoint,
 * calibration images, method) and kept in an on-disk cache, so that every
 * command after the first starts at once.
 *
 * The key is the SHA-256 of: a format tag, VK_QUANT_METHOD, the model's
 * weights digest (the SHA-256 of the file it was loaded from, else of its
 * tensors), its hyper-parameters and preprocessing, and the calibration
 * set's vk_dataset_hash. The entry is the file DIR/<key in hex>.vkc:
 * "VKCC0001", the SHA-256 of the blob, then the blob (vk_qmodel_to_bytes,
 * the bytes `vitskip quantize` writes). DIR is opts.dir, else
 * $VITSKIP_CACHE, else $XDG_CACHE_HOME/vitskip, else $HOME/.cache/vitskip;
 * it is created when missing.
 *
 * An entry that fails any check (magic, length, digest, blob validation) is
 * recomputed and rewritten, with a warning naming the file. Entries are
 * written to a temporary file and renamed into place, so a killed process
 * or two processes at once never leave a partial entry. A cache that cannot
 * be written costs a warning, never the result.
 *
 *     vk_calib_opts o = {.progress = bar, .progress_ctx = &pr};
 *     vk_calib_result how;
 *     if (vk_calib_get(&model, &calib_images, &o, &q, &how, &err) != VK_OK) die(err.msg);
 *     // how == VK_CALIB_HIT: nothing was computed
 *
 * Thread-safe for distinct outputs (no global state); the cache itself may
 * be shared by processes. */
#ifndef VK_CALIB_H
#define VK_CALIB_H

#include "vk_data.h"
#include "vk_quant.h"

typedef enum {
    VK_CALIB_HIT = 0,      /* read from the cache */
    VK_CALIB_MISS = 1,     /* calibrated, then stored */
    VK_CALIB_REBUILT = 2,  /* the entry was corrupt: calibrated, stored again */
    VK_CALIB_UNCACHED = 3, /* calibrated; the cache was off or not writable */
    VK_CALIB_FILE = 4      /* not calibrated: read from a .vkq file the user gave
                              (vk_workload_opts.blob) */
} vk_calib_result;

typedef struct {
    const char *dir;          /* NULL: the default folder (above) */
    int off;                  /* 1: neither read nor write the cache */
    vk_progress_fn progress;  /* calibration progress, or NULL */
    void *progress_ctx;
    /* one line per warning (corrupt entry, unwritable folder); NULL: stderr */
    void (*warn)(void *ctx, const char *msg);
    void *warn_ctx;
} vk_calib_opts;

/* The cache folder for opts.dir (may be NULL), without creating it. */
vk_status vk_calib_dir(const char *dir, char *out, size_t n, vk_err *err);

/* The cache key of a model and a calibration set. */
void vk_calib_key(const vk_model *m, const vk_dataset *cal, uint8_t key[32]);

/* The calibrated blob of m on the images of cal: from the cache when a
 * valid entry exists, else computed (vk_quant_stats, vk_quant_build) and
 * stored. *how says which (may be NULL). On error *q is untouched. */
vk_status vk_calib_get(const vk_model *m, const vk_dataset *cal, const vk_calib_opts *o,
                       vk_qmodel *q, vk_calib_result *how, vk_err *err);

#endif
