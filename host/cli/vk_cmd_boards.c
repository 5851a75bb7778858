/* vk_cmd_boards: `vitskip boards` (which boards this machine offers) and
 * `vitskip model-figures` (the ZCU102 model's figures for DeiT-S and the
 * demo model's shapes, full and with half the attentions skipped). Every
 * latency and energy model-figures prints is modeled, and says so. */
#include <cJSON.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "boards/vk_board.h"
#include "boards/vk_cycles.h"
#include "boards/vk_resource.h"
#include "host/cli/vk_cli.h"

static const char boards_help[] =
    "usage: vitskip boards [--json]\n"
    "\n"
    "Lists the boards this machine offers, and why the others are unavailable:\n"
    "  sim               kernel C simulation + ZCU102 cycle/energy model (modeled)\n"
    "  cpu               the fast native path on this host (measured wall time)\n"
    "  xrt[:N[:FILE]]    a real device through XRT (needs XILINX_XRT and a device)\n"
    "  http://HOST:PORT  a `vitskip agent` serving one of the above\n"
    "\n"
    "  --json            the same as a JSON array of {\"kind\", \"available\" (true or\n"
    "                    false), \"detail\" (the description or why not),\n"
    "                    \"identity\" (what keys its results; null when unavailable,\n"
    "                    and for remote: each agent reports its own)}\n"
    "  -h, --help        this help\n";

static const char figures_help[] =
    "usage: vitskip model-figures [--board-json FILE] [--json]\n"
    "\n"
    "Prints the ZCU102 design's modeled figures (MODELED, not measured): for\n"
    "DeiT-S (224 px, patch 16, dim 384, 12 layers, 6 heads, MLP 1536, 1000 classes),\n"
    "ViT-B/16 (dim 768, 12 heads, MLP 3072), the 197-token Fashion-MNIST model\n"
    "(28 px, patch 2, dim 192, 12 layers, 3 heads, MLP 768) and the demo model\n"
    "(28 px, patch 7, dim 64, 8 layers, 4 heads, MLP 256), each with every\n"
    "attention computed and with the attentions of encoders 1, 3, 5, ... skipped:\n"
    "latency, energy, EDP, MACs, the roofline (the engine's peak or the weight\n"
    "ports' bandwidth, whichever binds), the share of cycles per stage, and the\n"
    "resource estimate against the device. Counts only: no weights, no C\n"
    "simulation.\n"
    "\n"
    "  --board-json FILE  board description (default: boards/zcu102.json)\n"
    "  --json             the same figures as one JSON object: \"source\" (\"modeled\"),\n"
    "                     \"note\", \"board_file\", \"clock_mhz\", \"fits_kernel\",\n"
    "                     \"paths\" (per model and path: latency_ms, energy_mj,\n"
    "                     edp_mj_ms, gmacs, roofline_ms, stage_share_pct by stage,\n"
    "                     weight_stall_pct) and \"resources\" (parts, totals, budget,\n"
    "                     over_budget: null or why)\n"
    "  -h, --help         this help\n";

int vk_cmd_boards(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c, json = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(boards_help, stdout);
            return VK_EXIT_OK;
        }
        if (c == 'j') {
            json = 1;
            continue;
        }
        return vk_cli_bad_option("boards", opts, argv);
    }
    if (optind < argc)
        return vk_cli_usage("boards", "unexpected argument '%s'", argv[optind]);
    if (!json) {
        vk_board_list(stdout);
        return VK_EXIT_OK;
    }
    vk_board_offer o[VK_BOARD_N_KINDS];
    vk_board_offers(o);
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < VK_BOARD_N_KINDS; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "kind", o[i].kind);
        cJSON_AddBoolToObject(e, "available", o[i].available);
        cJSON_AddStringToObject(e, "detail", o[i].detail);
        if (o[i].identity[0])
            cJSON_AddStringToObject(e, "identity", o[i].identity);
        else
            cJSON_AddNullToObject(e, "identity");
        cJSON_AddItemToArray(arr, e);
    }
    char *txt = cJSON_Print(arr);
    cJSON_Delete(arr);
    if (!txt) {
        fprintf(stderr, "vitskip boards: out of memory\n");
        return VK_EXIT_FAIL;
    }
    puts(txt);
    free(txt);
    return VK_EXIT_OK;
}

typedef struct {
    const char *name;
    vk_cycles_dims d;
} fig_model;

static void fig_row(const vk_cycles_hw *hw, const char *model, const char *path,
                    const vk_cycles_count *c)
{
    double ms = vk_cycles_ms(hw, (double)c->cycles), mj = vk_cycles_mj(hw, c);
    double roof = vk_cycles_roofline_ms(hw, c);
    printf("%-9s %-13s %9.3f %9.3f %11.5g %7.3f %9.3f %6.2fx\n", model, path, ms, mj, mj * ms,
           (double)c->macs / 1e9, roof, ms / roof);
}

static void share_row(const char *model, const char *path, const vk_cycles_count *c)
{
    const uint64_t *s = c->stage_cycles;
    double t = (double)c->cycles / 100.0;
    printf("%-9s %-13s %5.1f %5.1f %7.1f %5.1f %5.1f %5.1f %5.1f %5.1f %5.1f %5.1f  %7.1f\n",
           model, path, s[VK_STAGE_QKV] / t, s[VK_STAGE_QK] / t, s[VK_STAGE_SOFTMAX] / t,
           s[VK_STAGE_AV] / t, s[VK_STAGE_PROJ] / t, s[VK_STAGE_MLP] / t, s[VK_STAGE_LN] / t,
           s[VK_STAGE_EMBED] / t, s[VK_STAGE_HEAD] / t, s[VK_STAGE_PRUNE] / t,
           (double)c->load_stall / t);
}

static void resource_table(const vk_cycles_hw *hw)
{
    vk_res r;
    vk_err err = {{0}};
    vk_resource_estimate(&r);
    printf("\nresources, modeled (estimates from kernels/vk_config.h, no synthesis run)\n"
           "%-36s %7s %7s %8s %8s\n", "component", "DSP", "BRAM36", "LUT", "FF");
    for (int i = 0; i < r.n; i++)
        printf("%-36s %7.0f %7.1f %8.0f %8.0f\n", r.part[i].name, r.part[i].dsp,
               r.part[i].bram36, r.part[i].lut, r.part[i].ff);
    printf("%-36s %7.0f %7.1f %8.0f %8.0f\n", "total", r.dsp, r.bram36, r.lut, r.ff);
    printf("%-36s %6.1f%% %6.1f%% %7.1f%% %7.1f%%   (budget %.0f%% / %.0f%% / %.0f%%)\n",
           hw->board, 100 * r.dsp / hw->dsp_total, 100 * r.bram36 / hw->bram36_total,
           100 * r.lut / hw->lut_total, 100 * r.ff / hw->ff_total, 100 * hw->dsp_budget,
           100 * hw->bram_budget, 100 * hw->lut_budget);
    if (vk_resource_check(&r, hw, &err) != VK_OK)
        printf("OVER BUDGET: %s\n", err.msg);
}

/* One model's path as a JSON object (model-figures --json). */
static cJSON *fig_json(const vk_cycles_hw *hw, const char *model, const char *path,
                       const vk_cycles_count *c)
{
    cJSON *o = cJSON_CreateObject(), *sh = cJSON_CreateObject();
    double ms = vk_cycles_ms(hw, (double)c->cycles), mj = vk_cycles_mj(hw, c);
    double t = (double)c->cycles / 100.0;
    cJSON_AddStringToObject(o, "model", model);
    cJSON_AddStringToObject(o, "path", path);
    cJSON_AddNumberToObject(o, "latency_ms", ms);
    cJSON_AddNumberToObject(o, "energy_mj", mj);
    cJSON_AddNumberToObject(o, "edp_mj_ms", ms * mj);
    cJSON_AddNumberToObject(o, "gmacs", (double)c->macs / 1e9);
    cJSON_AddNumberToObject(o, "roofline_ms", vk_cycles_roofline_ms(hw, c));
    for (int k = 0; k < VK_STAGE_N; k++)
        cJSON_AddNumberToObject(sh, vk_stage_str((vk_stage)k), (double)c->stage_cycles[k] / t);
    cJSON_AddItemToObject(o, "stage_share_pct", sh);
    cJSON_AddNumberToObject(o, "weight_stall_pct", (double)c->load_stall / t);
    return o;
}

/* The resource estimate as a JSON object (model-figures --json). */
static cJSON *resource_json(const vk_cycles_hw *hw)
{
    vk_res r;
    vk_err err = {{0}};
    cJSON *o = cJSON_CreateObject(), *parts = cJSON_AddArrayToObject(o, "parts");
    cJSON *tot = cJSON_CreateObject(), *dev = cJSON_CreateObject();
    vk_resource_estimate(&r);
    for (int i = 0; i < r.n; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "name", r.part[i].name);
        cJSON_AddNumberToObject(p, "dsp", r.part[i].dsp);
        cJSON_AddNumberToObject(p, "bram36", r.part[i].bram36);
        cJSON_AddNumberToObject(p, "lut", r.part[i].lut);
        cJSON_AddNumberToObject(p, "ff", r.part[i].ff);
        cJSON_AddStringToObject(p, "basis", r.part[i].basis);
        cJSON_AddItemToArray(parts, p);
    }
    cJSON_AddNumberToObject(tot, "dsp", r.dsp);
    cJSON_AddNumberToObject(tot, "bram36", r.bram36);
    cJSON_AddNumberToObject(tot, "lut", r.lut);
    cJSON_AddNumberToObject(tot, "ff", r.ff);
    cJSON_AddItemToObject(o, "total", tot);
    cJSON_AddStringToObject(dev, "name", hw->board);
    cJSON_AddNumberToObject(dev, "dsp", hw->dsp_total);
    cJSON_AddNumberToObject(dev, "bram36", hw->bram36_total);
    cJSON_AddNumberToObject(dev, "lut", hw->lut_total);
    cJSON_AddNumberToObject(dev, "ff", hw->ff_total);
    cJSON_AddNumberToObject(dev, "dsp_budget", hw->dsp_budget);
    cJSON_AddNumberToObject(dev, "bram_budget", hw->bram_budget);
    cJSON_AddNumberToObject(dev, "lut_budget", hw->lut_budget);
    cJSON_AddItemToObject(o, "device", dev);
    if (vk_resource_check(&r, hw, &err) != VK_OK)
        cJSON_AddStringToObject(o, "over_budget", err.msg);
    else
        cJSON_AddNullToObject(o, "over_budget");
    return o;
}

int vk_cmd_model_figures(int argc, char **argv)
{
    static const struct option opts[] = {
        {"board-json", required_argument, 0, 'j'},
        {"json", no_argument, 0, 'J'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    static const fig_model models[] = {
        {"DeiT-S", {224, 16, 3, 384, 12, 6, 1536, 1000, 197, 1}},
        {"ViT-B/16", {224, 16, 3, 768, 12, 12, 3072, 1000, 197, 1}},
        {"fm197", {28, 2, 1, 192, 12, 3, 768, 10, 197, 1}},
        {"demo", {28, 7, 1, 64, 8, 4, 256, 10, 17, 1}},
    };
    enum { N_MODELS = sizeof models / sizeof models[0] };
    const char *json = NULL;
    char path[PATH_MAX], note[256];
    vk_cycles_hw hw;
    vk_cycles_count cnt[N_MODELS][2];
    vk_err err = {{0}};
    int c, as_json = 0;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = optarg;
            break;
        case 'J':
            as_json = 1;
            break;
        case 'h':
            fputs(figures_help, stdout);
            return VK_EXIT_OK;
        default:
            return vk_cli_bad_option("model-figures", opts, argv);
        }
    }
    if (optind < argc)
        return vk_cli_usage("model-figures", "unexpected argument '%s'", argv[optind]);
    if (!json) {
        if (vk_cycles_hw_find_default(path, sizeof path, &err) != VK_OK) {
            fprintf(stderr, "vitskip model-figures: %s (--board-json FILE)\n", err.msg);
            return VK_EXIT_FAIL;
        }
        json = path;
    }
    if (vk_cycles_hw_load(json, &hw, &err) != VK_OK) {
        fprintf(stderr, "vitskip model-figures: %s\n", err.msg);
        return VK_EXIT_FAIL;
    }
    vk_cycles_note(&hw, note, sizeof note);
    int fits = vk_cycles_hw_check_kernel(&hw, json, &err) == VK_OK;
    if (!as_json) {
        printf("%s\n(board file %s; every latency and energy below is MODELED, not measured)\n",
               note, json);
        if (!fits)
            printf("note: this board file does not describe the compiled kernel: %s\n", err.msg);
    }

    for (int m = 0; m < N_MODELS; m++) {
        uint32_t modes[VK_MAX_LAYERS];
        if (vk_cycles_dims_check(&models[m].d, models[m].name, &err) != VK_OK) {
            fprintf(stderr, "vitskip model-figures: %s\n", err.msg);
            return VK_EXIT_FAIL;
        }
        for (int l = 0; l < VK_MAX_LAYERS; l++)
            modes[l] = VK_MODE(VK_ATTN_FULL);
        vk_cycles_run(&hw, &models[m].d, modes, 0, 0, 0, &cnt[m][0]);
        for (int l = 1; l < VK_MAX_LAYERS; l += 2)
            modes[l] = VK_MODE(VK_ATTN_SKIP);
        vk_cycles_run(&hw, &models[m].d, modes, 0, 0, 0, &cnt[m][1]);
    }

    if (as_json) {
        cJSON *o = cJSON_CreateObject(), *paths;
        cJSON_AddStringToObject(o, "source", "modeled");
        cJSON_AddStringToObject(o, "note", note);
        cJSON_AddStringToObject(o, "board_file", json);
        cJSON_AddNumberToObject(o, "clock_mhz", hw.clock_mhz);
        cJSON_AddBoolToObject(o, "fits_kernel", fits);
        paths = cJSON_AddArrayToObject(o, "paths");
        for (int m = 0; m < N_MODELS; m++) {
            cJSON_AddItemToArray(paths, fig_json(&hw, models[m].name, "full", &cnt[m][0]));
            cJSON_AddItemToArray(paths, fig_json(&hw, models[m].name, "skip 1,3,5,..", &cnt[m][1]));
        }
        cJSON_AddItemToObject(o, "resources", resource_json(&hw));
        char *txt = cJSON_Print(o);
        cJSON_Delete(o);
        if (!txt) {
            fprintf(stderr, "vitskip model-figures: out of memory\n");
            return VK_EXIT_FAIL;
        }
        puts(txt);
        free(txt);
        return VK_EXIT_OK;
    }
    printf("\nper image, modeled         latency    energy         EDP   GMACs  roofline "
           "latency/\n"
           "model     path                 ms        mJ       mJ*ms             ms  roofline\n");
    for (int m = 0; m < N_MODELS; m++) {
        fig_row(&hw, models[m].name, "full", &cnt[m][0]);
        fig_row(&hw, models[m].name, "skip 1,3,5,..", &cnt[m][1]);
    }
    printf("\nshare of modeled cycles, %%                                                  "
           "weight\n"
           "model     path            QKV  QK^T softmax    AV  proj   MLP    LN embed  head "
           "prune  stalls\n");
    for (int m = 0; m < N_MODELS; m++) {
        share_row(models[m].name, "full", &cnt[m][0]);
        share_row(models[m].name, "skip 1,3,5,..", &cnt[m][1]);
    }
    printf("(embed includes the input and residual-stream I/O; weight stalls = step cycles in "
           "which the weight load outlasted the engine, already inside the stages)\n");
    printf("roofline = max(MACs / (%d x %d per cycle), weight bytes / min(%d ports x %d B, %g "
           "GB/s)) at %g MHz\n",
           hw.engine_pe, hw.engine_lanes, hw.weight_ports, hw.axi_port_bits / 8,
           hw.ddr_bandwidth_gbs, hw.clock_mhz);
    resource_table(&hw);
    return VK_EXIT_OK;
}
