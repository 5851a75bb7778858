/* test_proxy: the accuracy proxy (search/vk_proxy) on the demo model and
 * Fashion-MNIST's validation split: for paths of every kind (all
 * attentions, skips, reuse, shared heads, token pruning, FFN sparsity) the
 * proxy's top-1 equals the sim board's top-1 measured on the same images
 * exactly (the same integer arithmetic), and differs between paths whose
 * board answers differ; repeated genomes come from the cache; bad sizes
 * and genomes the kernel refuses are errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "boards/vk_board.h"
#include "host/vk_workload.h"
#include "search/vk_genome.h"
#include "search/vk_proxy.h"
#include "search/vk_rng.h"
#include "tests/vk_fixture.h"
#include "tests/vk_test.h"

#define N_PROXY 64

static vk_workload w;
static vk_imageset vs;
static int ready;

static void setup(void)
{
    struct stat st;
    vk_workload_opts o = {
        .model = "models/demo", .data = VK_FX_FMNIST, .limit = 200, .calib_n = 128, .quiet = 1};
    vk_err err = {{0}};
    if (stat("models/demo/config.json", &st) != 0) {
        SKIP("models/demo absent");
    }
    CHECK_EQ_INT(vk_workload_open(&o, &w, &err), VK_OK);
    if (vk_test_cur_fail)
        return;
    CHECK_EQ_INT(vk_workload_take(&w, VK_SPLIT_VAL, &vs, &err), VK_OK);
    CHECK(vs.n >= N_PROXY);
    ready = !vk_test_cur_fail;
}

/* top-1 of the sim board on the first n validation images */
static double board_top1(vk_board *b, const vk_genome *g, int n)
{
    vk_img_result *res = calloc((size_t)n, sizeof *res);
    vk_path_req r = {.modes = g->modes};
    vk_measure m;
    vk_err err = {{0}};
    int ok = 0;
    CHECK(res != NULL);
    if (!res)
        return -1;
    CHECK_EQ_INT(vk_board_measure(b, &r, n, res, &m, &err), VK_OK);
    for (int i = 0; i < n; i++)
        ok += res[i].cls == vs.data.labels[i];
    free(res);
    return 100.0 * ok / n;
}

static void test_equals_board(void)
{
    const int nl = ready ? w.model.hp.n_layers : 0;
    const char *fixed[] = {"FFFFFFFF", "SSSSSSSS", "FSFSFSFS", "FRFRFRFR", "H:k70FRS:f50FFFF",
                           "F:k50FFFFFFF", "FFFFFFFS:f75"};
    vk_board *b = NULL;
    vk_proxy *px = NULL;
    vk_space sp;
    vk_rng rng;
    vk_err err = {{0}};
    double lo = 101, hi = -1;
    int n_checked = 0;
    if (!ready)
        return;
    CHECK_EQ_INT(nl, 8);
    CHECK_EQ_INT(vk_proxy_new(&w.q, &vs, N_PROXY, &px, &err), VK_OK);
    CHECK_EQ_INT(vk_board_open("sim", &b, &err), VK_OK);
    if (vk_test_cur_fail)
        goto out;
    CHECK_EQ_INT(vk_proxy_n(px), N_PROXY);
    CHECK_EQ_INT(vk_board_load(b, &w.q, &err), VK_OK);
    CHECK_EQ_INT(vk_board_load_data(b, vs.imgs, N_PROXY, &err), VK_OK);
    CHECK_EQ_INT(vk_space_parse("all", &sp, &err), VK_OK);
    vk_rng_seed(&rng, 16);
    for (int k = 0; k < (int)(sizeof fixed / sizeof *fixed) + 12; k++) {
        vk_genome g;
        double p = -1, want;
        char txt[VK_GENOME_TEXT_MAX];
        if (k < (int)(sizeof fixed / sizeof *fixed))
            CHECK_EQ_INT(vk_genome_parse(fixed[k], nl, &g, &err), VK_OK);
        else
            vk_genome_random(&g, nl, &sp, &rng);
        CHECK_EQ_INT(vk_proxy_top1(px, &g, &p, &err), VK_OK);
        want = board_top1(b, &g, N_PROXY);
        vk_genome_format(&g, nl, txt);
        if (p != want)
            fprintf(stderr, "%s: proxy %.4f%%, board %.4f%%\n", txt, p, want);
        CHECK(p == want);
        lo = p < lo ? p : lo;
        hi = p > hi ? p : hi;
        n_checked++;
    }
    printf("proxy: %d paths, top-1 on %d validation images from %.1f%% to %.1f%%, each "
           "equal to the sim board's\n", n_checked, N_PROXY, lo, hi);
    CHECK(hi > lo + 10); /* the paths differ, so equality is not trivial */
    CHECK(hi > 50);      /* the trained model, far above chance */
    /* the cache: asking again evaluates nothing */
    {
        long before = vk_proxy_evaluated(px);
        vk_genome g;
        double p;
        CHECK_EQ_INT(vk_genome_parse("FFFFFFFF", nl, &g, &err), VK_OK);
        CHECK_EQ_INT(vk_proxy_top1(px, &g, &p, &err), VK_OK);
        CHECK(before == vk_proxy_evaluated(px));
        CHECK(p == board_top1(b, &g, N_PROXY));
    }
out:
    vk_board_close(b);
    vk_proxy_free(px);
}

static void test_bad(void)
{
    vk_proxy *px = NULL, *keep = (vk_proxy *)&w;
    vk_genome g;
    vk_err err = {{0}};
    double p = 12345;
    if (!ready)
        return;
    px = keep;
    CHECK_EQ_INT(vk_proxy_new(&w.q, &vs, 0, &px, &err), VK_E_ARG);
    CHECK_STR_CONTAINS(err.msg, "accuracy proxy");
    CHECK(px == keep);
    CHECK_EQ_INT(vk_proxy_new(&w.q, &vs, -3, &px, &err), VK_E_ARG);
    CHECK_EQ_INT(vk_proxy_new(&w.q, &vs, VK_PROXY_MAX_N + 1, &px, &err), VK_E_ARG);
    CHECK(px == keep);
    /* more than the set holds: the whole set */
    px = NULL;
    CHECK_EQ_INT(vk_proxy_new(&w.q, &vs, vs.n + 5, &px, &err), VK_OK);
    if (!px)
        return;
    CHECK_EQ_INT(vk_proxy_n(px), vs.n);
    /* a reuse with no attention before it: the kernel refuses the path */
    memset(&g, 0, sizeof g);
    for (int l = 0; l < w.model.hp.n_layers; l++)
        g.modes[l] = VK_MODE(l == 0 ? VK_ATTN_REUSE : VK_ATTN_FULL);
    CHECK_EQ_INT(vk_proxy_top1(px, &g, &p, &err), VK_E_ARG);
    CHECK(p == 12345);
    CHECK_EQ_INT((int)vk_proxy_evaluated(px), 0);
    vk_proxy_free(px);
}

int main(void)
{
    RUN(setup);
    RUN(test_equals_board);
    RUN(test_bad);
    vk_imageset_free(&vs);
    if (ready)
        vk_workload_free(&w);
    return vk_test_summary("proxy");
}
