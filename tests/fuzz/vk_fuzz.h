/* vk_fuzz: what the libFuzzer targets in tests/fuzz share (header-only).
 *
 * Each target (tests/fuzz/<name>_fuzz.c) defines LLVMFuzzerTestOneInput and
 * is built by `make FUZZ=1` (clang, libFuzzer, ASan and UBSan) and run by
 * tools/fuzz.sh <name> on its seed corpus tests/fuzz/corpus/<name>/. The
 * parsers read files by path, so a target writes its input to a file of
 * its own under $TMPDIR (vk_fuzz_path) and hands that over. A broken
 * property calls vk_fuzz_fail, which aborts so that libFuzzer saves the
 * input. Single-threaded, as libFuzzer runs a target.
 *
 *     static char path[256];
 *     vk_fuzz_path(path, sizeof path, "st", "model.safetensors");
 *     vk_fuzz_write(path, data, size);
 *     if (vk_st_open(path, &st, &err) == VK_OK) ...
 */
#ifndef VK_FUZZ_H
#define VK_FUZZ_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prints what broke and aborts (libFuzzer keeps the input as crash-*). */
static inline void vk_fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

/* out = $TMPDIR/vk_fuzz_<tag>_<pid>/<name>, the folder made once. */
static inline void vk_fuzz_path(char *out, size_t len, const char *tag, const char *name)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(out, len, "%s/vk_fuzz_%s_%d", tmp, tag, (int)getpid());
    if (mkdir(out, 0700) && access(out, W_OK))
        vk_fuzz_fail("vk_fuzz: cannot make %s", out);
    snprintf(out, len, "%s/vk_fuzz_%s_%d/%s", tmp, tag, (int)getpid(), name);
}

/* Writes n bytes to path (replacing it); aborts if it cannot. */
static inline void vk_fuzz_write(const char *path, const uint8_t *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(d, 1, n, f) != n) || fclose(f))
        vk_fuzz_fail("vk_fuzz: cannot write %s", path);
}

#endif
