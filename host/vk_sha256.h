/* vk_sha256: SHA-256 (FIPS 180-4) for content addressing: model blobs,
 * evaluation sets and agent uploads are identified by their digest.
 *
 *     uint8_t d[32]; char hex[65];
 *     vk_sha256(buf, len, d);
 *     vk_sha256_hex(d, hex);
 *
 * Streaming: vk_sha256_init -> vk_sha256_update* -> vk_sha256_final.
 * No global state; a context is used by one thread at a time. */
#ifndef VK_SHA256_H
#define VK_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "vk_status.h"

typedef struct {
    uint32_t h[8];
    uint64_t n_bytes;
    uint8_t buf[64];
    size_t n_buf;
} vk_sha256_ctx;

void vk_sha256_init(vk_sha256_ctx *c);
void vk_sha256_update(vk_sha256_ctx *c, const void *data, size_t len);
void vk_sha256_final(vk_sha256_ctx *c, uint8_t out[32]);
/* One-shot digest of a buffer. */
void vk_sha256(const void *data, size_t len, uint8_t out[32]);
/* Digest of a whole file; out untouched on error. */
vk_status vk_sha256_file(const char *path, uint8_t out[32], vk_err *err);
/* Lower-case hex, NUL-terminated (65 bytes). */
void vk_sha256_hex(const uint8_t d[32], char out[65]);

#endif
