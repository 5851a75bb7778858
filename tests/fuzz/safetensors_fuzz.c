/* safetensors_fuzz: a libFuzzer target for the safetensors reader
 * (vk_st_open on the input as a file, then every tensor found by name and
 * read as float32 with its own shape). Properties: no crash, leak or
 * sanitizer report (ASan checks every read of a tensor's bytes); a file that
 * opens lists tensors that vk_st_find finds; an F32/F16/BF16 tensor reads back with its
 * own shape and a wrong rank is refused. Seeds: tests/fuzz/corpus/safetensors/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host/vk_safetensors.h"
#include "tests/fuzz/vk_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[256];
    vk_err err = {{0}};
    vk_st *st = NULL;
    if (!path[0])
        vk_fuzz_path(path, sizeof path, "st", "model.safetensors");
    vk_fuzz_write(path, data, size);
    if (vk_st_open(path, &st, &err) != VK_OK) {
        if (st || !err.msg[0])
            vk_fuzz_fail("safetensors_fuzz: failed without a message or touched *out");
        return 0;
    }
    for (int i = 0; i < vk_st_count(st); i++) {
        const vk_st_tensor *t = vk_st_at(st, i);
        size_t n = 1;
        if (!t || vk_st_find(st, t->name) != t)
            vk_fuzz_fail("safetensors_fuzz: tensor %d not found by its name", i);
        for (int k = 0; k < t->rank; k++)
            n *= (size_t)t->shape[k];
        if (n > (size_t)1 << 20 || t->dtype == VK_ST_OTHER)
            continue;
        float *dst = malloc((n ? n : 1) * sizeof *dst);
        if (vk_st_get_f32(st, t->name, t->shape, t->rank, dst, &err) != VK_OK)
            vk_fuzz_fail("safetensors_fuzz: \"%s\" not read with its own shape: %s", t->name,
                         err.msg);
        if (t->rank > 0 && vk_st_get_f32(st, t->name, t->shape, t->rank - 1, dst, &err) == VK_OK)
            vk_fuzz_fail("safetensors_fuzz: \"%s\" read with a smaller rank", t->name);
        free(dst);
    }
    vk_st_close(st);
    return 0;
}
