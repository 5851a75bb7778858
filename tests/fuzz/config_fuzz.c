/* config_fuzz: a libFuzzer target for the checkpoint folder's JSON files
 * (config.json of transformers and of timm, preprocessor_config.json,
 * heldout.json) as vk_model_load and vk_model_heldout read them, beside
 * real weights: tests/fixtures/frameworks/{hf_vit,timm_vit}/model.safetensors
 * (run from the repository root). Input: byte 0 picks the folder (bit 0:
 * transformers or timm) and the file the rest replaces (bits 1-2:
 * config.json, preprocessor_config.json, heldout.json); the other files
 * are the fixture's. Properties: no crash, leak or sanitizer report; an
 * error leaves the model zeroed and says why; a loaded model has sizes
 * that vk_hparams_check accepts. Seeds: tests/fuzz/corpus/config/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/vk_model.h"
#include "tests/fuzz/vk_fuzz.h"

static const char *fixtures[2] = {"tests/fixtures/frameworks/hf_vit",
                                  "tests/fixtures/frameworks/timm_vit"};
static const char *files[3] = {"config.json", "preprocessor_config.json", "heldout.json"};
static char dirs[2][256];
static uint8_t *configs[2];
static size_t config_n[2];

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    uint8_t *b = malloc(1 << 16);
    if (!f || !b)
        vk_fuzz_fail("config_fuzz: cannot read %s (run from the repository root)", path);
    *n = fread(b, 1, 1 << 16, f);
    fclose(f);
    return b;
}

static void setup(void)
{
    char p[512], real[4096];
    for (int i = 0; i < 2; i++) {
        vk_fuzz_path(dirs[i], sizeof dirs[i], i ? "timm" : "hf", "");
        dirs[i][strlen(dirs[i]) - 1] = 0;
        snprintf(p, sizeof p, "%s/config.json", fixtures[i]);
        configs[i] = slurp(p, &config_n[i]);
        snprintf(p, sizeof p, "%s/model.safetensors", fixtures[i]);
        if (!realpath(p, real))
            vk_fuzz_fail("config_fuzz: no %s (run from the repository root)", p);
        snprintf(p, sizeof p, "%s/model.safetensors", dirs[i]);
        unlink(p);
        if (symlink(real, p))
            vk_fuzz_fail("config_fuzz: cannot link %s", p);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const vk_model zero;
    char p[512];
    vk_model m;
    vk_err err = {{0}};
    int first = -1, count = -1;
    if (!dirs[0][0])
        setup();
    if (size < 1)
        return 0;
    int d = data[0] & 1, which = (data[0] >> 1) % 3;
    for (int k = 0; k < 3; k++) {
        snprintf(p, sizeof p, "%s/%s", dirs[d], files[k]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/config.json", dirs[d]);
    if (which)
        vk_fuzz_write(p, configs[d], config_n[d]);
    snprintf(p, sizeof p, "%s/%s", dirs[d], files[which]);
    vk_fuzz_write(p, data + 1, size - 1);

    memset(&m, 0, sizeof m);
    if (vk_model_load(dirs[d], NULL, &m, &err) == VK_OK) {
        if (vk_hparams_check(&m.hp, "fuzz", &err) != VK_OK)
            vk_fuzz_fail("config_fuzz: loaded a model with bad sizes: %s", err.msg);
        vk_model_free(&m);
    } else if (!err.msg[0] || memcmp(&m, &zero, sizeof m)) {
        vk_fuzz_fail("config_fuzz: failed without a message or touched the model");
    }
    err.msg[0] = 0;
    if (vk_model_heldout(dirs[d], &first, &count, &err) == VK_OK) {
        if (count < 0 || (count > 0 && first < 0))
            vk_fuzz_fail("config_fuzz: hold-out [%d, +%d) accepted", first, count);
    } else if (!err.msg[0]) {
        vk_fuzz_fail("config_fuzz: hold-out refused without a message");
    }
    return 0;
}
