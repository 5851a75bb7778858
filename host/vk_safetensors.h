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
    const char *name;     /* borrowed */
    char dtype_name[16];  /* as in the header, e.g. "F32" */
    vk_st_dtype dtype;
    int rank;
    int64_t shape[VK_ST_MAX_RANK];
    const uint8_t *data;  /* borrowed */
    size_t n_bytes;
} vk_st_tensor;

typedef struct vk_st vk_st;

vk_status vk_st_open(const char *path, vk_st **out, vk_err *err);
/* NULL if absent. */
const vk_st_tensor *vk_st_find(const vk_st *st, const char *name);
int vk_st_count(const vk_st *st);
const vk_st_tensor *vk_st_at(const vk_st *st, int i);
/* Copies tensor `name` as float32 into dst after checking it exists, has a
 * float dtype and exactly the expected shape. */
vk_status vk_st_get_f32(const vk_st *st, const char *name, const int64_t *shape, int rank,
                        float *dst, vk_err *err);
const char *vk_st_path(const vk_st *st);
void vk_st_close(vk_st *st);

#endif
