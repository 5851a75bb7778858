/* vk_cmd_bench: `vitskip bench` — times the fast native path (vk_fast) on
 * the demo model (batch-1 latency and throughput, full and with half the
 * attentions skipped) and on a DeiT-S-shaped model with random weights
 * (batch-1 latency), with the int8 GOP/s achieved and an estimate of this
 * CPU's int8 peak. Every figure is measured on the host's monotonic clock.
 * `--tsv` prints machine-readable rows for tools/bench_peer.py, which times
 * PyTorch on the same models and images and prints both side by side. */
#include <getopt.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "host/cli/vk_cli.h"
#include "host/vk_fast.h"
#include "host/vk_workload.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define BENCH_X86 1
#endif

static const char bench_help[] =
    "usage: vitskip bench [options]\n"
    "\n"
    "Times vitskip's native int8 path (the kernel's integers, bit-exact) on the host:\n"
    "  demo model: batch-1 latency (median over single images) and throughput over the\n"
    "              test set on all OpenMP threads, all attentions and half skipped;\n"
    "  DeiT-S shape (224/16, 3x384, 12 layers, 6 heads, MLP 1536, 1000 classes, random\n"
    "              weights calibrated on random images): batch-1 latency, full and half.\n"
    "Figures are measured (host monotonic clock). Threads: OMP_NUM_THREADS.\n"
    "\n"
    "  --model DIR      demo checkpoint (default models/demo)\n"
    "  --data PATH      evaluation images (default the Fashion-MNIST test set)\n"
    "  --limit N        images for the throughput run (default all)\n"
    "  --lat-n N        single images timed for the demo latency (default 1000)\n"
    "  --deit-reps N    DeiT-S single-image runs per path (default 7)\n"
    "  --no-demo        skip the demo model\n"
    "  --no-deit        skip the DeiT-S shape\n"
    "  --isa NAME       auto (default), scalar, avx2, avx512-vnni\n"
    "  --ref-out FILE   write the float reference logits of the first --ref-n demo\n"
    "                   images (float32 [n][classes], little-endian) for the peer check\n"
    "  --ref-n N        images in --ref-out (default 16)\n"
    "  --tsv            rows as tab-separated values (model, path, metric, value, unit,\n"
    "                   GOP/s) plus '#' comment lines\n"
    "  -h, --help       this help\n";

#define DEMO_DATA "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"

typedef struct {
    int tsv;
    int threads;
} out_ctx;

static void row(const out_ctx *o, const char *model, const char *path, const char *metric,
                double value, const char *unit, double gops)
{
    if (o->tsv)
        printf("%s\t%s\t%s\t%.6g\t%s\t%.4g\n", model, path, metric, value, unit, gops);
    else
        printf("%-8s %-10s %-16s %12.4g %-6s %8.1f GOP/s\n", model, path, metric, value, unit,
               gops);
    fflush(stdout);
}

static void note(const out_ctx *o, const char *fmt, const char *s)
{
    printf(o->tsv ? "# " : "");
    printf(fmt, s);
    printf("\n");
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* modes: all full, or attention skipped in the odd encoders */
static void path_modes(uint32_t *cfg, int n_layers, int half)
{
    uint32_t modes[VK_MAX_LAYERS];
    for (int l = 0; l < n_layers; l++)
        modes[l] = VK_MODE(half && l % 2 ? VK_ATTN_SKIP : VK_ATTN_FULL);
    vk_cfg_init(cfg, modes, n_layers, 0, 0);
}

/* Median ms of single-image runs over n images (image i % n_imgs). */
static double latency_ms(vk_fast_ctx *f, const uint32_t *cfg, const int8_t *imgs, int n_imgs,
                         int n, int32_t *out)
{
    double *t = malloc((size_t)n * sizeof *t), med;
    size_t in = vk_fast_img_n(f);
    if (!t)
        return -1;
    vk_fast_run(f, cfg, imgs, NULL, out); /* warm caches */
    for (int i = 0; i < n; i++) {
        double t0 = vk_clock_now();
        vk_fast_run(f, cfg, imgs + (size_t)(i % n_imgs) * in, NULL, out);
        t[i] = (vk_clock_now() - t0) * 1e3;
    }
    med = median(t, n);
    free(t);
    return med;
}

#ifdef BENCH_X86
/* 12 independent chains of the ISA's multiply-accumulate instruction, in
 * assembly so that nothing but the instruction and the loop counter runs;
 * returns instructions per second on one thread. */
#define R12(ins, reg)                                                                  \
    ins " " reg "1, " reg "0, " reg "2\n\t" ins " " reg "1, " reg "0, " reg "3\n\t"     \
    ins " " reg "1, " reg "0, " reg "4\n\t" ins " " reg "1, " reg "0, " reg "5\n\t"     \
    ins " " reg "1, " reg "0, " reg "6\n\t" ins " " reg "1, " reg "0, " reg "7\n\t"     \
    ins " " reg "1, " reg "0, " reg "8\n\t" ins " " reg "1, " reg "0, " reg "9\n\t"     \
    ins " " reg "1, " reg "0, " reg "10\n\t" ins " " reg "1, " reg "0, " reg "11\n\t"   \
    ins " " reg "1, " reg "0, " reg "12\n\t" ins " " reg "1, " reg "0, " reg "13\n\t"

static double probe_vnni(long iters)
{
    double n = (double)iters, t0 = vk_clock_now();
    __asm__ volatile("1:\n\t" R12("vpdpbusd", "%%zmm") "dec %0\n\tjnz 1b\n\t"
                     : "+r"(iters)
                     :
                     : "cc", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
                       "xmm10", "xmm11", "xmm12", "xmm13");
    return 12.0 * n / (vk_clock_now() - t0);
}

static double probe_avx2(long iters)
{
    double n = (double)iters, t0 = vk_clock_now();
    __asm__ volatile("1:\n\t" R12("vpmaddwd", "%%ymm") "dec %0\n\tjnz 1b\n\tvzeroupper\n\t"
                     : "+r"(iters)
                     :
                     : "cc", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
                       "xmm10", "xmm11", "xmm12", "xmm13");
    return 12.0 * n / (vk_clock_now() - t0);
}
#endif

/* First "cpu MHz" of /proc/cpuinfo, or 0. */
static double cpu_mhz(char *model, size_t model_n)
{
    FILE *fp = fopen("/proc/cpuinfo", "r");
    char line[512];
    double mhz = 0;
    snprintf(model, model_n, "unknown CPU");
    if (!fp)
        return 0;
    while (fgets(line, sizeof line, fp)) {
        char *c = strchr(line, ':');
        if (!c)
            continue;
        if (!strncmp(line, "model name", 10) && !strcmp(model, "unknown CPU")) {
            snprintf(model, model_n, "%s", c + 2);
            model[strcspn(model, "\n")] = 0;
        } else if (!strncmp(line, "cpu MHz", 7) && mhz == 0) {
            mhz = atof(c + 1);
        }
    }
    fclose(fp);
    return mhz;
}

/* The peak estimate: this ISA's MAC instruction timed on one thread (best
 * of 20), converted to instructions per cycle at the cpuinfo clock, times
 * MACs per instruction, 2 ops per MAC, threads and clock. */
static void peak(const out_ctx *o, vk_fast_isa isa)
{
    char model[256], buf[512];
    double mhz = cpu_mhz(model, sizeof model), best = 0, ipc, macs = 0, gops;
    const char *ins = "none";
#ifdef BENCH_X86
    for (int r = 0; r < 20; r++) {
        double v = 0;
        if (isa == VK_FAST_ISA_VNNI)
            v = probe_vnni(2000000);
        else if (isa == VK_FAST_ISA_AVX2)
            v = probe_avx2(2000000);
        if (v > best)
            best = v;
    }
    if (isa == VK_FAST_ISA_VNNI)
        ins = "vpdpbusd zmm", macs = 64;
    else if (isa == VK_FAST_ISA_AVX2)
        ins = "vpmaddwd ymm", macs = 16;
#endif
    snprintf(buf, sizeof buf, "cpu: %s, %d threads, cpuinfo clock %.0f MHz", model, o->threads,
             mhz);
    note(o, "%s", buf);
    if (!macs || mhz <= 0) {
        note(o, "peak int8: not estimated for the %s path", vk_fast_isa_str(isa));
        return;
    }
    ipc = best / (mhz * 1e6);
    gops = o->threads * mhz * 1e6 * ipc * macs * 2 / 1e9;
    snprintf(buf, sizeof buf,
             "peak int8 (estimate): %.0f GOP/s = %d threads x %.0f MHz x %.2f %s per "
             "cpuinfo cycle (timed on one thread: 12 independent chains, best of 20) x %.0f "
             "MACs x 2 ops; assumes every thread gets a core at that rate",
             gops, o->threads, mhz, ipc, ins, macs);
    note(o, "%s", buf);
    if (o->tsv)
        printf("peak\t-\tint8 peak\t%.6g\tGOP/s\t%.4g\n", gops, gops);
}

static int bench_demo(const out_ctx *o, const vk_workload_opts *wo, vk_fast_isa isa, int lat_n,
                      const char *ref_out, int ref_n)
{
    vk_workload w;
    vk_err err = {{0}};
    vk_fast_ctx *f = NULL;
    int32_t *outs = NULL;
    int rc = VK_EXIT_FAIL;
    uint32_t cfg[VK_CFG_WORDS];
    char buf[256];

    if (vk_workload_open(wo, &w, &err) != VK_OK) {
        fprintf(stderr, "vitskip bench: %s\n", err.msg);
        return VK_EXIT_FAIL;
    }
    if (vk_fast_ctx_new(&w.q, isa, &f, &err) != VK_OK) {
        fprintf(stderr, "vitskip bench: %s\n", err.msg);
        goto out;
    }
    outs = malloc((size_t)w.n * vk_fast_out_n(f) * sizeof *outs);
    if (!outs) {
        fprintf(stderr, "vitskip bench: out of memory\n");
        goto out;
    }
    snprintf(buf, sizeof buf, "demo: %s, %d images, model %.12s", wo->model, w.n, w.model_hash);
    note(o, "%s", buf);
    vk_fast_set_threads(f, o->threads);
    for (int half = 0; half <= 1; half++) {
        const char *path = half ? "half-skip" : "full";
        double ms, t0, dt, gop;
        int reps = 0, ok = 0;
        path_modes(cfg, w.model.hp.n_layers, half);
        gop = 2.0 * (double)vk_fast_macs(f, cfg + VK_CFG_MODES) / 1e9;
        ms = latency_ms(f, cfg, w.imgs, w.n, lat_n, outs);
        row(o, "demo", path, "batch-1 latency", ms, "ms", gop / (ms / 1e3));
        t0 = vk_clock_now();
        do {
            if (vk_fast_run_batch(f, cfg, w.imgs, w.n, NULL, outs, &err) != VK_OK) {
                fprintf(stderr, "vitskip bench: %s\n", err.msg);
                goto out;
            }
            reps++;
        } while ((dt = vk_clock_now() - t0) < 1.0);
        row(o, "demo", path, "throughput", reps * w.n / dt, "img/s", gop * reps * w.n / dt);
        for (int i = 0; i < w.n; i++)
            ok += outs[(size_t)i * vk_fast_out_n(f) + VK_OUT_CLASS] == w.data.labels[i];
        snprintf(buf, sizeof buf, "demo %s: int8 top-1 %.2f%%", path, 100.0 * ok / w.n);
        note(o, "%s", buf);
    }
    if (ref_out) {
        vk_ref_ws *ws = vk_ref_ws_new(&w.model);
        size_t img_n = (size_t)w.model.hp.n_channels * w.model.hp.image_size *
                       w.model.hp.image_size;
        float *img = malloc(img_n * sizeof *img);
        float *lg = malloc((size_t)w.model.hp.n_classes * sizeof *lg);
        FILE *fp = fopen(ref_out, "wb");
        if (!ws || !img || !lg || !fp) {
            fprintf(stderr, "vitskip bench: cannot write %s\n", ref_out);
            rc = VK_EXIT_FAIL;
        } else {
            int n = ref_n < w.n ? ref_n : w.n;
            for (int i = 0; i < n; i++) {
                vk_dataset_normalize(&w.data, &w.model, i, img);
                vk_ref_forward(&w.model, ws, img, NULL, lg, NULL);
                fwrite(lg, sizeof *lg, (size_t)w.model.hp.n_classes, fp);
            }
        }
        if (fp && fclose(fp) != 0)
            fprintf(stderr, "vitskip bench: cannot write %s\n", ref_out);
        vk_ref_ws_free(ws);
        free(img);
        free(lg);
    }
    rc = VK_EXIT_OK;
out:
    free(outs);
    vk_fast_ctx_free(f);
    vk_workload_free(&w);
    return rc;
}

/* xorshift: random normalized pixels in [-2, 2) */
static void rand_pixels(float *p, size_t n, uint64_t seed)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        p[i] = (float)((double)(s >> 11) / 9007199254740992.0 * 4.0 - 2.0);
    }
}

static int bench_deit(const out_ctx *o, vk_fast_isa isa, int reps)
{
    const vk_hparams hp = {.image_size = 224, .patch_size = 16, .n_channels = 3, .dim = 384,
                           .n_layers = 12, .n_heads = 6, .mlp_dim = 1536, .n_classes = 1000,
                           .ln_eps = 1e-6f, .act = VK_ACT_GELU};
    const int n_cal = 2, n_img = 4;
    size_t img_n = (size_t)3 * 224 * 224;
    vk_model m;
    vk_qmodel q = {0};
    vk_err err = {{0}};
    vk_fast_ctx *f = NULL;
    float *px = NULL;
    int8_t *imgs = NULL;
    int32_t out[VK_OUT_WORDS];
    uint32_t cfg[VK_CFG_WORDS];
    int rc = VK_EXIT_FAIL;

    if (vk_model_alloc(&m, &hp, &err) != VK_OK) {
        fprintf(stderr, "vitskip bench: %s\n", err.msg);
        return VK_EXIT_FAIL;
    }
    vk_model_randomize(&m, 2024);
    px = malloc(img_n * (n_cal > n_img ? n_cal : n_img) * sizeof *px);
    imgs = malloc(img_n * n_img);
    if (!px || !imgs) {
        fprintf(stderr, "vitskip bench: out of memory\n");
        goto out;
    }
    note(o, "%s", "deit-s: random weights (seed 2024), calibrating on 2 random images ...");
    rand_pixels(px, img_n * n_cal, 1);
    if (vk_quant_calibrate(&m, px, n_cal, &q, &err) != VK_OK ||
        vk_fast_ctx_new(&q, isa, &f, &err) != VK_OK) {
        fprintf(stderr, "vitskip bench: %s\n", err.msg);
        goto out;
    }
    rand_pixels(px, img_n * n_img, 2);
    for (int i = 0; i < n_img; i++)
        vk_quant_input(&q, px + (size_t)i * img_n, imgs + (size_t)i * img_n);
    vk_fast_set_threads(f, o->threads);
    for (int half = 0; half <= 1; half++) {
        double ms, gop;
        path_modes(cfg, hp.n_layers, half);
        gop = 2.0 * (double)vk_fast_macs(f, cfg + VK_CFG_MODES) / 1e9;
        ms = latency_ms(f, cfg, imgs, n_img, reps, out);
        row(o, "deit-s", half ? "half-skip" : "full", "batch-1 latency", ms, "ms",
            gop / (ms / 1e3));
    }
    rc = VK_EXIT_OK;
out:
    vk_fast_ctx_free(f);
    vk_qmodel_free(&q);
    vk_model_free(&m);
    free(px);
    free(imgs);
    return rc;
}

/* A positive integer option (at most 10^8) into *v. */
static int parse_pos(const char *opt, const char *s, int *v)
{
    long long x;
    if (vk_cli_parse_int("bench", opt, s, 1, 100000000, &x))
        return VK_EXIT_USAGE;
    *v = (int)x;
    return 0;
}

int vk_cmd_bench(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},  {"data", required_argument, 0, 'd'},
        {"limit", required_argument, 0, 'n'},  {"lat-n", required_argument, 0, 'l'},
        {"deit-reps", required_argument, 0, 'r'}, {"no-demo", no_argument, 0, 'D'},
        {"no-deit", no_argument, 0, 'S'},      {"isa", required_argument, 0, 'i'},
        {"ref-out", required_argument, 0, 'o'}, {"ref-n", required_argument, 0, 'k'},
        {"tsv", no_argument, 0, 't'},          {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    vk_workload_opts wo = {.model = "models/demo", .data = DEMO_DATA, .quiet = 1};
    out_ctx o = {0, omp_get_max_threads()};
    int c, lat_n = 1000, deit_reps = 7, demo = 1, deit = 1, ref_n = 16, rc = VK_EXIT_OK;
    const char *ref_out = NULL;
    vk_fast_isa isa = VK_FAST_ISA_AUTO;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': wo.model = optarg; break;
        case 'd': wo.data = optarg; break;
        case 'n':
            if (parse_pos("--limit", optarg, &wo.limit))
                return VK_EXIT_USAGE;
            break;
        case 'l':
            if (parse_pos("--lat-n", optarg, &lat_n))
                return VK_EXIT_USAGE;
            break;
        case 'r':
            if (parse_pos("--deit-reps", optarg, &deit_reps))
                return VK_EXIT_USAGE;
            break;
        case 'k':
            if (parse_pos("--ref-n", optarg, &ref_n))
                return VK_EXIT_USAGE;
            break;
        case 'D': demo = 0; break;
        case 'S': deit = 0; break;
        case 'o': ref_out = optarg; break;
        case 't': o.tsv = 1; break;
        case 'i': {
            int found = 0;
            for (int k = VK_FAST_ISA_AUTO; k <= VK_FAST_ISA_VNNI; k++)
                if (!strcmp(optarg, vk_fast_isa_str((vk_fast_isa)k))) {
                    isa = (vk_fast_isa)k;
                    found = 1;
                }
            if (!found)
                return vk_cli_usage("bench", "--isa '%s': expected auto, scalar, avx2 or "
                                             "avx512-vnni",
                                    optarg);
            break;
        }
        case 'h': fputs(bench_help, stdout); return VK_EXIT_OK;
        default: return vk_cli_bad_option("bench", opts, argv);
        }
    }
    if (optind < argc)
        return vk_cli_usage("bench", "unexpected argument '%s'", argv[optind]);
    if (!vk_fast_isa_supported(isa)) {
        fprintf(stderr, "vitskip bench: this CPU cannot run the %s path\n",
                vk_fast_isa_str(isa));
        return VK_EXIT_FAIL;
    }
    if (isa == VK_FAST_ISA_AUTO)
        isa = vk_fast_isa_supported(VK_FAST_ISA_VNNI)   ? VK_FAST_ISA_VNNI
              : vk_fast_isa_supported(VK_FAST_ISA_AVX2) ? VK_FAST_ISA_AVX2
                                                        : VK_FAST_ISA_SCALAR;
    note(&o, "vitskip bench: native int8 path (%s), measured on the host monotonic clock",
         vk_fast_isa_str(isa));
    if (!o.tsv)
        printf("%-8s %-10s %-16s %12s %-6s %14s\n", "model", "path", "metric", "value", "unit",
               "int8 achieved");
    if (demo)
        rc = bench_demo(&o, &wo, isa, lat_n, ref_out, ref_n);
    if (rc == VK_EXIT_OK && deit)
        rc = bench_deit(&o, isa, deit_reps);
    if (rc == VK_EXIT_OK)
        peak(&o, isa);
    return rc;
}
