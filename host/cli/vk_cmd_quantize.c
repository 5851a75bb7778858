/* vk_cmd_quantize: `vitskip quantize`, the calibrated int8 blob of a
 * checkpoint written to a .vkq file: the bytes a board, an agent or
 * firmware loads (vk_qmodel_to_bytes), calibrated exactly as eval, search
 * and replay calibrate with the same options, from the same cache entry. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "host/cli/vk_cli.h"
#include "host/vk_sha256.h"
#include "host/vk_workload.h"

static const char quantize_help[] =
    "usage: vitskip quantize --model DIR --data PATH [--calib PATH] [--val PATH]\n"
    "                        [--progress] -o FILE.vkq\n"
    "\n"
    "Calibrates a checkpoint and writes its int8 blob (the kernel's parameters and\n"
    "weights, file form \"VKQM0002\") to FILE.vkq: the bytes every board loads. Its\n"
    "SHA-256 (sha256sum FILE.vkq) is the blob hash that runs are stored under and\n"
    "that an exported table's MODEL_SHA256 names. The calibration images are the\n"
    "ones eval, search and replay use with the same --data/--calib/--val, so the\n"
    "file is the blob they measure; it comes from the calibration cache when that\n"
    "holds it ($VITSKIP_CACHE, else $XDG_CACHE_HOME/vitskip or ~/.cache/vitskip).\n"
    "\n"
    "  --model DIR      checkpoint folder (transformers or timm) or timm file\n"
    "  --arch NAME      timm architecture of a bare .safetensors file\n"
    "                   (e.g. deit_small_patch16_224)\n"
    "  --data PATH      the dataset of the commands that will use the blob (IDX file\n"
    "                   or image folder): the calibration source defaults from it\n"
    "  --calib PATH     calibration images (default: the validation source, i.e. the\n"
    "                   training file next to an IDX t10k file, else the part of\n"
    "                   --data the test split never uses); 512 of them\n"
    "  --val PATH       validation source, as the other commands take it\n"
    "  --progress       calibration progress on stderr even when it is not a terminal\n"
    "  -o, --output FILE  the .vkq file to write (required)\n";

int vk_cmd_quantize(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", 1, 0, 'm'}, {"arch", 1, 0, 'a'},     {"data", 1, 0, 'd'},
        {"calib", 1, 0, 'c'}, {"val", 1, 0, 'V'},      {"progress", 0, 0, 'p'},
        {"output", 1, 0, 'o'}, {"help", 0, 0, 'h'},    {0, 0, 0, 0}};
    vk_workload_opts wo = {0};
    const char *out = NULL;
    int c, force = 0;
    vk_model m;
    vk_qmodel q, back;
    vk_calib_result how;
    vk_calib_bar bar;
    vk_err err = {{0}};
    char blob_hex[65], ckpt_hex[65];
    static const uint8_t zero[32];

    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': wo.model = optarg; break;
        case 'a': wo.arch = optarg; break;
        case 'd': wo.data = optarg; break;
        case 'c': wo.calib = optarg; break;
        case 'V': wo.val = optarg; break;
        case 'p': force = 1; break;
        case 'o': out = optarg; break;
        case 'h': fputs(quantize_help, stdout); return VK_EXIT_OK;
        default: return vk_cli_bad_option("quantize", opts, argv);
        }
    }
    if (optind < argc)
        return vk_cli_usage("quantize", "unexpected argument '%s'", argv[optind]);
    if (!wo.model || !wo.data)
        return vk_cli_usage("quantize", "--model and --data are required");
    if (!out)
        return vk_cli_usage("quantize", "-o FILE.vkq is required");

    vk_cli_calib_progress(&wo.cache, &bar, force);
    if (vk_workload_quantize(&wo, &m, &q, &how, &err) != VK_OK) {
        fprintf(stderr, "vitskip quantize: %s\n", err.msg);
        return VK_EXIT_FAIL;
    }
    /* written, then read back and validated: the file holds the blob */
    if (vk_qmodel_save(&q, out, &err) != VK_OK || vk_qmodel_load(out, &back, &err) != VK_OK) {
        fprintf(stderr, "vitskip quantize: %s\n", err.msg);
        vk_qmodel_free(&q);
        vk_model_free(&m);
        return VK_EXIT_FAIL;
    }
    int same = !memcmp(back.hash, q.hash, 32);
    vk_qmodel_free(&back);
    if (!same) {
        fprintf(stderr, "vitskip quantize: %s: read back other bytes than were written\n", out);
        vk_qmodel_free(&q);
        vk_model_free(&m);
        return VK_EXIT_FAIL;
    }
    vk_sha256_hex(q.hash, blob_hex);
    vk_sha256_hex(m.sha256, ckpt_hex);
    printf("blob        %s (%zu parameter words, %zu weight bytes)\n", out, q.par_n, q.wt_n);
    printf("sha256      %s (of the file; the blob hash)\n", blob_hex);
    printf("checkpoint  %s (%d encoders, %d tokens, width %d), weights sha256 %s\n", wo.model,
           m.hp.n_layers, m.n_tokens, m.hp.dim, memcmp(m.sha256, zero, 32) ? ckpt_hex : "-");
    printf("calibration %s\n", how == VK_CALIB_HIT        ? "from the cache"
                               : how == VK_CALIB_UNCACHED ? "computed (not cached)"
                                                          : "computed and cached");
    vk_qmodel_free(&q);
    vk_model_free(&m);
    return VK_EXIT_OK;
}
