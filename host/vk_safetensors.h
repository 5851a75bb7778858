/* vk_safetensors: a strict reader of the safetensors format (an 8-byte
 * little-endian header length N, N bytes of JSON naming each tensor's dtype,
 * shape and data offsets, then the data block).
 *
 * Every offset, length, dtype and shape is checked against the header and the
 * file size at open; readers ask for a tensor by name with the exact shape
 * they expect, and get float32 (F32, F16 and BF16 are converted).
 *
 *     vk_st *st;
 *     if (vk_st_open("model.safetensors", &st, &err) != VK_OK) die(err.msg);
 *     int64_t shape[2] = {64, 64};
 *     vk_st_get_f32(st, "classifier.weight", shape, 2, dst, &err);
 *     vk_st_close(st);
 *
 * The vk_st owns the file's bytes; tensors are borrowed until vk_st_close.
 * A vk_st is read-only after open and may be shared by threads. */
#ifndef VK_SAFETENSORS_H
#define VK_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "vk_status.h"

#define VK_ST_MAX_RANK 8

typedef enum { VK_ST_F32, VK_ST_F16, VK_ST_BF16, VK_ST_OTHER } vk_st_dtype;

typedef struct {
    const char *name;    /* borrowed */
    char dtype_name[16]; /* as in the header, e.g. "F32" */
    vk_st_dtype dtype;
    int rank;
    int64_t shape[VK_ST_MAX_RANK];
    const uint8_t *data; /* borrowed */
    size_t n_bytes;
} vk_st_tensor;

typedef struct vk_st vk_st;

/* Reads the whole file (at most 4 GiB) and validates its header: length
 * 2..100 MB inside the file, a JSON object of tensors each with a known
 * dtype, a shape of at most VK_ST_MAX_RANK non-negative integers and
 * data_offsets [begin, end] inside the data block whose length equals
 * product(shape) * dtype size; names unique; "__metadata__" skipped.
 * On success *out owns the bytes (free with vk_st_close); on error *out is
 * untouched and err names the file and the tensor or field. */
vk_status vk_st_open(const char *path, vk_st **out, vk_err *err);
/* The tensor called name, or NULL if absent; borrowed from st. */
const vk_st_tensor *vk_st_find(const vk_st *st, const char *name);
/* Number of tensors (metadata excluded), and the i-th in header order
 * (NULL when i is out of range); borrowed from st. */
int vk_st_count(const vk_st *st);
const vk_st_tensor *vk_st_at(const vk_st *st, int i);
/* Copies tensor `name` as float32 into dst (product(shape) floats) after
 * checking that it exists (else VK_E_FORMAT), has dtype F32, F16 or BF16
 * (else VK_E_UNSUPPORTED naming the dtype) and exactly the expected shape
 * (else VK_E_FORMAT giving both shapes). dst is untouched on error. */
vk_status vk_st_get_f32(const vk_st *st, const char *name, const int64_t *shape, int rank,
                        float *dst, vk_err *err);
/* SHA-256 of the whole file as read (the digest Hugging Face lists for it). */
void vk_st_sha256(const vk_st *st, uint8_t out[32]);
/* The path given to vk_st_open; borrowed from st. */
const char *vk_st_path(const vk_st *st);
/* Frees st and its bytes; NULL is a no-op. */
void vk_st_close(vk_st *st);

#endif
