/* bench_ref: speed of the float32 reference (host/vk_ref.c), which
 * calibration and `eval --float` run: batch-1 latency on one thread, and
 * calibration throughput (vk_quant_calibrate, every OpenMP thread), on the
 * demo model when present and on random models of DeiT-S and ViT-B/16
 * shape. Prints one row per model. `make bench-ref`.
 *
 *     build/tools/bench_ref [reps]        (default 5 single-image runs) */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host/vk_quant.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void row(const char *name, vk_model *m, int reps, int n_cal)
{
    size_t img_n = (size_t)m->hp.n_channels * m->hp.image_size * m->hp.image_size;
    float *imgs = malloc((size_t)n_cal * img_n * sizeof(float));
    float *lg = malloc((size_t)m->hp.n_classes * sizeof(float));
    double *t = malloc((size_t)reps * sizeof(double));
    vk_ref_ws *ws = vk_ref_ws_new(m);
    vk_qmodel q;
    vk_err err = {{0}};
    uint64_t s = 12345;
    if (!imgs || !lg || !t || !ws) {
        fprintf(stderr, "bench_ref: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < (size_t)n_cal * img_n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        imgs[i] = (float)((s >> 40) / 16777216.0 * 4 - 2);
    }
    double macs = 0;
    {
        double d = m->hp.dim, mlp = m->hp.mlp_dim, tk = m->n_tokens;
        double pd = (double)m->hp.n_channels * m->hp.patch_size * m->hp.patch_size;
        macs = (tk - 1) * pd * d +
               m->hp.n_layers * (tk * (4 * d * d + 2 * d * mlp) + 2 * tk * tk * d) +
               d * m->hp.n_classes;
    }
    vk_ref_forward(m, ws, imgs, NULL, lg, NULL); /* warm-up */
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        vk_ref_forward(m, ws, imgs + (size_t)(r % n_cal) * img_n, NULL, lg, NULL);
        t[r] = now() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_d);
    double t0 = now();
    if (vk_quant_calibrate(m, imgs, n_cal, &q, &err) != VK_OK) {
        fprintf(stderr, "bench_ref: %s\n", err.msg);
        exit(1);
    }
    double cal = now() - t0;
    vk_qmodel_free(&q);
    printf("%-8s %10.2f %9.2f %12.2f %10.2f  (%d images, %d threads)\n", name,
           t[reps / 2] * 1e3, macs / t[reps / 2] * 1e-9, n_cal / cal, cal, n_cal,
           omp_get_max_threads());
    vk_ref_ws_free(ws);
    free(imgs);
    free(lg);
    free(t);
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    vk_model m;
    vk_err err = {{0}};
    if (reps < 1)
        reps = 1;
    printf("float32 reference (host/vk_ref.c), measured on this host's clock\n");
    printf("%-8s %10s %9s %12s %10s\n", "model", "1 image ms", "GMAC/s", "calib img/s",
           "calib s");
    if (vk_model_load_hf("models/demo", &m, &err) == VK_OK) {
        row("demo", &m, reps * 40, 512);
        vk_model_free(&m);
    }
    static const vk_hparams deit_s = {.image_size = 224, .patch_size = 16, .n_channels = 3,
                                      .dim = 384, .n_layers = 12, .n_heads = 6,
                                      .mlp_dim = 1536, .n_classes = 1000, .ln_eps = 1e-6f,
                                      .act = VK_ACT_GELU};
    if (vk_model_alloc(&m, &deit_s, &err) != VK_OK) {
        fprintf(stderr, "bench_ref: %s\n", err.msg);
        return 1;
    }
    vk_model_randomize(&m, 1);
    row("DeiT-S", &m, reps, 8);
    vk_model_free(&m);
    return 0;
}
