/* vk_cmd_boards: `vitskip boards` (which boards this machine offers) and
 * `vitskip model-figures` (the ZCU102 model's figures for DeiT-S and the
 * demo model's shapes, full and with half the attentions skipped). Every
 * latency and energy model-figures prints is modeled, and says so. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "boards/vk_board.h"
#include "boards/vk_cycles.h"
#include "host/vk_cli.h"

static const char boards_help[] =
    "usage: vitskip boards\n"
    "\n"
    "Lists the boards this machine offers, and why the others are unavailable:\n"
    "  sim               kernel C simulation + ZCU102 cycle/energy model (modeled)\n"
    "  cpu               the fast native path on this host (measured wall time)\n"
    "  xrt[:N[:FILE]]    a real device through XRT (needs XILINX_XRT and a device)\n"
    "  http://HOST:PORT  a `vitskip agent` serving one of the above\n"
    "\n"
    "  -h, --help        this help\n";

static const char figures_help[] =
    "usage: vitskip model-figures [--board-json FILE]\n"
    "\n"
    "Prints the cycle/energy model's figures (MODELED, not measured) for a\n"
    "DeiT-S-shaped model (224 px, patch 16, dim 384, 12 layers, 6 heads, MLP 1536,\n"
    "1000 classes) and the demo model's shape (28 px, patch 7, dim 64, 8 layers,\n"
    "4 heads, MLP 256, 10 classes), each with every attention computed and with\n"
    "the attentions of encoders 1, 3, 5, ... skipped: latency, energy, EDP, MACs,\n"
    "the MAC array's roofline bound and the share of cycles per stage. Counts\n"
    "only: no weights, no C simulation.\n"
    "\n"
    "  --board-json FILE  board description (default: boards/zcu102.json)\n"
    "  -h, --help         this help\n";

int vk_cmd_boards(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(boards_help, stdout);
            return VK_EXIT_OK;
        }
        return vk_cli_usage("boards", "unknown option");
    }
    if (optind < argc)
        return vk_cli_usage("boards", "unexpected argument '%s'", argv[optind]);
    vk_board_list(stdout);
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
    double roof = vk_cycles_roofline_ms(hw, c->macs);
    printf("%-8s %-14s %10.3f %10.3f %11.5g %8.3f %10.3f %7.2fx\n", model, path, ms, mj, mj * ms,
           (double)c->macs / 1e9, roof, ms / roof);
}

static void share_row(const char *model, const char *path, const vk_cycles_count *c)
{
    const uint64_t *s = c->stage_cycles;
    double t = (double)c->cycles / 100.0;
    printf("%-8s %-14s %5.1f %5.1f %7.1f %5.1f %5.1f %5.1f %5.1f %5.1f   %5.1f\n", model, path,
           s[VK_STAGE_QKV] / t, s[VK_STAGE_QK] / t, s[VK_STAGE_SOFTMAX] / t, s[VK_STAGE_AV] / t,
           s[VK_STAGE_PROJ] / t, s[VK_STAGE_MLP] / t, s[VK_STAGE_LN] / t,
           (s[VK_STAGE_EMBED] + s[VK_STAGE_HEAD]) / t, c->load_cycles / t);
}

int vk_cmd_model_figures(int argc, char **argv)
{
    static const struct option opts[] = {
        {"board-json", required_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    static const fig_model models[] = {
        {"DeiT-S", {224, 16, 3, 384, 12, 6, 1536, 1000, 197}},
        {"demo", {28, 7, 1, 64, 8, 4, 256, 10, 17}},
    };
    const char *json = NULL;
    char path[PATH_MAX], note[192];
    vk_cycles_hw hw;
    vk_cycles_count cnt[2][2];
    vk_err err = {{0}};
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = optarg;
            break;
        case 'h':
            fputs(figures_help, stdout);
            return VK_EXIT_OK;
        default:
            return vk_cli_usage("model-figures", "unknown option");
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
    printf("%s\n(board file %s; every latency and energy below is MODELED, not measured)\n", note,
           json);
    if (vk_cycles_hw_check_kernel(&hw, json, &err) != VK_OK)
        printf("note: this board file does not describe the compiled kernel: %s\n", err.msg);

    for (int m = 0; m < 2; m++) {
        uint32_t modes[VK_MAX_LAYERS];
        if (vk_cycles_dims_check(&models[m].d, models[m].name, &err) != VK_OK) {
            fprintf(stderr, "vitskip model-figures: %s\n", err.msg);
            return VK_EXIT_FAIL;
        }
        for (int l = 0; l < VK_MAX_LAYERS; l++)
            modes[l] = VK_MODE(VK_ATTN_FULL);
        vk_cycles_run(&hw, &models[m].d, modes, 0, 0, &cnt[m][0]);
        for (int l = 1; l < VK_MAX_LAYERS; l += 2)
            modes[l] = VK_MODE(VK_ATTN_SKIP);
        vk_cycles_run(&hw, &models[m].d, modes, 0, 0, &cnt[m][1]);
    }

    printf(
        "\nper image, modeled          latency     energy         EDP    GMACs   roofline  "
        "latency/\n"
        "model    path                    ms         mJ       mJ*ms               ms  roofline\n");
    for (int m = 0; m < 2; m++) {
        fig_row(&hw, models[m].name, "full", &cnt[m][0]);
        fig_row(&hw, models[m].name, "skip 1,3,5,..", &cnt[m][1]);
    }
    printf("\nshare of modeled cycles, %%                                              "
           "   wt-tile\n"
           "model    path             QKV  QK^T softmax    AV  proj   MLP    LN other"
           "     loads\n");
    for (int m = 0; m < 2; m++) {
        share_row(models[m].name, "full", &cnt[m][0]);
        share_row(models[m].name, "skip 1,3,5,..", &cnt[m][1]);
    }
    printf("(other = patch embedding + head; wt-tile loads = weight-tile load cycles not "
           "hidden under compute, already inside the stages)\n");
    printf("roofline = MACs / (%d x %d MACs/cycle x %g MHz)\n", hw.mac_pe, hw.mac_lanes,
           hw.clock_mhz);
    return VK_EXIT_OK;
}
