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
 * Identity: every board names what measures on it (vk_board_identity),
 * "kind:fingerprint": sim:BOARD:<SHA-256 of the board JSON, 16 hex>,
 * cpu:<CPU model>:<timing threads>t, xrt:<platform>:<SHA-256 of the
 * xclbin, 16 hex>; a remote board takes the identity its agent reports (a
 * sim agent's figures are the local sim board's). Results are stored and
 * reused under it, so figures from different measuring things never mix.
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
#include "vk_measure.h"

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
    /* The board's identity (see above), known once open succeeded; buf
     * gets at most VK_BOARD_ID_MAX - 1 characters. */
    void (*identity)(void *state, char *buf, size_t len);
    void (*close)(void *state);
} vk_board_ops;

/* Longest identity, terminator included. */
#define VK_BOARD_ID_MAX 160

/* Opens a board by spec (see above). Unknown kinds, malformed specs and
 * unavailable devices are errors naming the spec. Caller owns *b. */
vk_status vk_board_open(const char *spec, vk_board **b, vk_err *err);
/* Checks a spec's syntax and that its kind is built in, opening nothing:
 * VK_E_NOTFOUND for an unknown kind, VK_E_ARG for a malformed spec,
 * VK_E_UNSUPPORTED for a kind left out of this build. */
vk_status vk_board_check_spec(const char *spec, vk_err *err);
vk_status vk_board_load(vk_board *b, const vk_qmodel *q, vk_err *err);
vk_status vk_board_load_data(vk_board *b, const int8_t *imgs, int n, vk_err *err);
/* On error, res and out are unspecified and nothing must be recorded. */
vk_status vk_board_measure(vk_board *b, const vk_path_req *req, int n, vk_img_result *res,
                           vk_measure *out, vk_err *err);
const char *vk_board_spec(const vk_board *b); /* as opened */
const char *vk_board_kind(const vk_board *b);
/* What measures on b ("kind:fingerprint", see above); the key of every
 * stored result. Valid while b is open. */
const char *vk_board_identity(const vk_board *b);
void vk_board_describe(vk_board *b, char *buf, size_t len);
void vk_board_close(vk_board *b); /* NULL is a no-op */

/* One board kind this machine offers or not (`vitskip boards`). */
typedef struct {
    char kind[16];    /* sim | cpu | xrt | remote */
    int available;    /* 1: opened (remote: built in, any agent URL) */
    char detail[VK_ERR_MAX]; /* its description, or why it is unavailable */
    char identity[VK_BOARD_ID_MAX]; /* what keys its results ("" when
                                       unavailable, and for remote) */
} vk_board_offer;
#define VK_BOARD_N_KINDS 4
/* Fills out[0..VK_BOARD_N_KINDS) by opening each local kind once. */
void vk_board_offers(vk_board_offer out[VK_BOARD_N_KINDS]);
/* Prints vk_board_offers as text (`vitskip boards`). */
void vk_board_list(FILE *out);

/* ---- for back-ends: the mechanics every back-end shares ---------------- */

/* The load_data of a back-end that keeps the images: *imgs (n_imgs of
 * them, owned by the back-end, freed with free) replaced by a copy of the n
 * images of img_n bytes at src. Out of memory: VK_E_NOMEM naming the board
 * spec, and the old images kept. */
vk_status vk_board_keep_images(const char *spec, const int8_t *src, int n, size_t img_n,
                               int8_t **imgs, int *n_imgs, vk_err *err);

/* Board options, part of the spec: "KIND:key=value,key=value" (the sim
 * board's file, its one item without '=', first: "sim:FILE.json,threads=4";
 * file names holding ',' or '=' cannot be given). Environment variables
 * are only their defaults.
 * vk_board_opts_check: VK_E_ARG naming the spec and the item when an item's
 * key is not one of keys (NULL-terminated) or an item has no '=' (allowed
 * once, first, when file_ok).
 * vk_board_opt_long: *v = option key's decimal value, else the variable
 * env's (vk_env_long), else def; VK_E_ARG naming the spec, the key and
 * lo..hi when it is not a whole number in that range.
 * vk_board_opt_file: the item without '=' (a file) into buf, "" if none. */
vk_status vk_board_opts_check(const char *spec, const char *const *keys, int file_ok,
                              vk_err *err);
vk_status vk_board_opt_long(const char *spec, const char *key, const char *env, long def, long lo,
                            long hi, long *v, vk_err *err);
void vk_board_opt_file(const char *spec, char *buf, size_t n);

/* Whether id is a well-formed identity: 3..VK_BOARD_ID_MAX-1 characters
 * from [A-Za-z0-9 ._:@()+,#=/-], a known kind before the first ':' and a
 * non-empty fingerprint after it. */
int vk_board_identity_ok(const char *id);

/* Replaces in s every character an identity does not allow by '_' (for
 * fingerprints built from outside text: a CPU model, a board name). */
void vk_board_identity_clean(char *s);

/* The first 16 hex digits of the SHA-256 of a file's bytes (out: 17). */
vk_status vk_board_file_fingerprint(const char *path, char out[17], vk_err *err);

/* The q-quantile (0..1) of v[0..n), n >= 1, linear between order
 * statistics; sorts v in place. */
double vk_board_quantile(double *v, int n, double q);

/* The latency figures of a measurement from wall times per image (ms),
 * n_timed of the request's n images timed: tot[] their whole times; for a
 * cascade (lo non-NULL) lo[] their low-path times, hi[0..n_hi) the
 * high-path times of those that escalated, and n_escalated of all n images
 * escalated. Sets out->latency_ms (a path: the median of tot; a cascade:
 * the median of lo + n_escalated / n x the median of hi), latency_p10_ms
 * and latency_p90_ms (of tot), latency_src (measured) and, for a cascade,
 * n_escalated. Sorts the arrays in place. */
void vk_board_latency(double *tot, double *lo, int n_timed, double *hi, int n_hi,
                      int n_escalated, int n, vk_measure *out);

#endif
