/* vk_tb: C-simulation testbench of the vitskip kernel.
 *
 * Runs vk_kernel_top on every stored golden case of each set and compares
 * the out words and the act buffer with the expected bytes, which
 * tools/golden_ref.py (an independent Python implementation of the integer
 * scheme) computed. The exit code is the verdict: 0 all equal, 1 a
 * mismatch, 2 bad files.
 *
 * usage: vk_tb [DIR...]   (default kernels/tb/golden/tiny kernels/tb/golden/tiles)
 * Files: see tools/golden_ref.py. Vitis HLS runs the same file as its csim
 * and cosim testbench (kernels/hls/run_hls.tcl). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../vk_kernel.h"

static uint8_t *slurp(const char *dir, const char *name, size_t *len)
{
    char path[1024];
    FILE *f;
    long n;
    uint8_t *b;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "vk_tb: cannot open %s\n", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc(n > 0 ? (size_t)n : 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "vk_tb: cannot read %s\n", path);
        free(b);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* One golden set; returns mismatching cases, or -1 for bad files. */
static int run_set(const char *dir)
{
    size_t ml, cl, el, par_n, wt_n, off, eoff;
    uint8_t *mb = slurp(dir, "model.bin", &ml), *cb = slurp(dir, "cases.bin", &cl);
    uint8_t *eb = slurp(dir, "expected.bin", &el), *ps;
    int32_t *par, *act, *out;
    int8_t *wt;
    uint32_t n, img_n, act_n, cfg[VK_CFG_WORDS];
    int fails = 0;

    if (!mb || !cb || !eb || ml < 16 || memcmp(mb, "VKQM0002", 8) || cl < 20 ||
        memcmp(cb, "VKGC0002", 8) || el < 20 || memcmp(eb, "VKGE0002", 8)) {
        fprintf(stderr, "vk_tb: %s: missing files or bad magic in model.bin, cases.bin or "
                        "expected.bin\n", dir);
        free(mb);
        free(cb);
        free(eb);
        return -1;
    }
    par_n = rd32(mb + 8);
    wt_n = rd32(mb + 12);
    n = rd32(cb + 8);
    img_n = rd32(cb + 12);
    act_n = rd32(cb + 16);
    if (16 + 4 * par_n + wt_n != ml || rd32(eb + 8) != n || rd32(eb + 12) != VK_OUT_WORDS ||
        rd32(eb + 16) != act_n ||
        cl != 20 + (size_t)n * (4 * VK_CFG_WORDS + img_n + 4 * act_n) ||
        el != 20 + (size_t)n * 4 * (VK_OUT_WORDS + act_n)) {
        fprintf(stderr, "vk_tb: %s: model, case and expected files disagree in size\n", dir);
        free(mb);
        free(cb);
        free(eb);
        return -1;
    }
    par = malloc(4 * par_n);
    wt = malloc(wt_n);
    act = malloc(4 * act_n);
    out = malloc(4 * VK_OUT_WORDS);
    ps = malloc(VK_PSPILL_BYTES);
    for (size_t i = 0; i < par_n; i++)
        par[i] = (int32_t)rd32(mb + 16 + 4 * i);
    memcpy(wt, mb + 16 + 4 * par_n, wt_n);
    off = 20;
    eoff = 20;
    for (uint32_t c = 0; c < n; c++) {
        const int8_t *img = (const int8_t *)(cb + off + 4 * VK_CFG_WORDS);
        const vk_wword *w = (const vk_wword *)(const void *)wt;
        for (int i = 0; i < VK_CFG_WORDS; i++)
            cfg[i] = rd32(cb + off + 4 * i);
        for (uint32_t i = 0; i < act_n; i++)
            act[i] = (int32_t)rd32(cb + off + 4 * VK_CFG_WORDS + img_n + 4 * i);
        memset(out, 0, 4 * VK_OUT_WORDS);
        vk_kernel_top(w, w, w, w, (const vk_pword *)(const void *)par, cfg, img, act, out, ps);
        for (int i = 0; i < VK_OUT_WORDS; i++) {
            int32_t want = (int32_t)rd32(eb + eoff + 4 * i);
            if (out[i] != want) {
                fprintf(stderr, "vk_tb: %s case %u: out[%d] = %d, expected %d\n", dir, c, i,
                        out[i], want);
                fails++;
                break;
            }
        }
        for (uint32_t i = 0; i < act_n; i++) {
            int32_t want = (int32_t)rd32(eb + eoff + 4 * VK_OUT_WORDS + 4 * i);
            if (act[i] != want) {
                fprintf(stderr, "vk_tb: %s case %u: act[%u] = %d, expected %d\n", dir, c, i,
                        act[i], want);
                fails++;
                break;
            }
        }
        off += 4 * VK_CFG_WORDS + img_n + 4 * act_n;
        eoff += 4 * (VK_OUT_WORDS + act_n);
    }
    printf("vk_tb: %s: %u cases, %d mismatching\n", dir, n, fails);
    free(mb);
    free(cb);
    free(eb);
    free(par);
    free(wt);
    free(act);
    free(out);
    free(ps);
    return fails;
}

int main(int argc, char **argv)
{
    static const char *def[] = {"kernels/tb/golden/tiny", "kernels/tb/golden/tiles"};
    int n = argc > 1 ? argc - 1 : 2, bad = 0, files = 0;
    for (int i = 0; i < n; i++) {
        int r = run_set(argc > 1 ? argv[i + 1] : def[i]);
        if (r < 0)
            files = 1;
        else
            bad += r;
    }
    return files ? 2 : bad ? 1 : 0;
}
