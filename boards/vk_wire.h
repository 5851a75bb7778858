/* vk_wire: the messages between a search (the remote board) and an agent,
 * encoded and decoded in one place, so both ends, the tests and the fuzz
 * target read and write exactly the same forms (protocol: vk_agent.h).
 *
 *   measure request   JSON {"model": ID, "dataset": ID, "n": N,
 *                     "modes": [u32...], optional "modes_high": [u32...] or
 *                     null, "threshold_q16": i32, "resume": 0..VK_MAX_LAYERS};
 *                     unknown fields are errors
 *   measure answer    JSON: every vk_measure field (latencies and energies
 *                     with 17 significant digits, so they read back
 *                     bit-exact), "stage_cycles" keyed by vk_stage_str,
 *                     "results": {"cls", "entropy_q16", "escalated"}, plus
 *                     "board" (the identity of the board that measured,
 *                     vk_board_identity) and "ms"; decoding checks every field's type
 *                     and range (latency 0..VK_WIRE_MAX_MS, energy
 *                     0..VK_WIRE_MAX_MJ per image, classes below the
 *                     model's, n_escalated = the flags' sum)
 *   dataset upload    "VKDS0001", u32 n, u32 img_n (little endian), then
 *                     n * img_n int8 kernel inputs
 *   ids               64 lower-case hex digits (a SHA-256)
 *
 * Lifecycle: none; every function is pure (no state, thread-safe). Encoders
 * return text the caller frees (NULL when out of memory); decoders leave
 * their outputs untouched on error and name the field at fault in `bad`.
 *
 *     // the remote board: a request body to POST (ids in q.model, q.dataset)
 *     vk_wire_measure_req q = {.n = 100, .n_modes = 8};
 *     char *body = vk_wire_measure_req_encode(&q);
 *     free(body);
 *     // the agent: the body it received (req, req_len)
 *     vk_wire_measure_req got;
 *     char bad[64];
 *     if (!vk_wire_measure_req_decode(req, req_len, &got, bad, sizeof bad))
 *         die(bad); // answer 400 naming the field
 */
#ifndef VK_WIRE_H
#define VK_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "vk_measure.h"

#define VK_WIRE_DS_MAGIC "VKDS0001"
#define VK_WIRE_DS_HDR 16
#define VK_WIRE_MAX_MS 3.6e6 /* latency per image beyond this is an agent's error */
#define VK_WIRE_MAX_MJ 1e9   /* energy per image beyond this likewise */

/* 1 when s is exactly 64 lower-case hex digits. */
int vk_wire_is_id(const char *s);

typedef struct {
    char model[65], dataset[65]; /* ids */
    int n;                       /* images, >= 1 */
    int n_modes;                 /* mode words in modes (and modes_high) */
    uint32_t modes[VK_MAX_LAYERS];
    int cascade;                 /* modes_high given */
    uint32_t modes_high[VK_MAX_LAYERS];
    int32_t threshold_q16, resume;
} vk_wire_measure_req;

char *vk_wire_measure_req_encode(const vk_wire_measure_req *q);
/* Returns 0 and names the field in bad (with what it must be) on error. */
int vk_wire_measure_req_decode(const char *body, size_t len, vk_wire_measure_req *q, char *bad,
                               size_t bad_n);

/* board: the identity of the board that measured (vk_board_identity); ms:
 * the wall time of the measurement. */
char *vk_wire_measure_ans_encode(const char *board, const vk_measure *m,
                                 const vk_img_result *res, int n, int n_layers, double ms);
/* Decodes an answer for n images of a model with n_layers encoders and
 * n_classes classes, measured by the board identified as board (another
 * identity is an error: the agent now serves another board); cascade
 * allows escalated flags. Returns 0 with the field at fault in bad (res,
 * out untouched). out->note is the agent's. */
int vk_wire_measure_ans_decode(const char *body, size_t len, const char *board, int n,
                               int n_layers, int n_classes, int cascade, vk_img_result *res,
                               vk_measure *out, char *bad, size_t bad_n);

/* The dataset upload header. */
void vk_wire_dataset_header(uint8_t hdr[VK_WIRE_DS_HDR], uint32_t n, uint32_t img_n);
/* Reads a header; 0 unless the magic is right and n, img_n >= 1. */
int vk_wire_dataset_header_read(const uint8_t hdr[VK_WIRE_DS_HDR], uint32_t *n,
                                uint32_t *img_n);

#endif
