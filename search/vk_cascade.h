/* vk_cascade: the cascade of two measured paths, priced without more board
 * time.
 *
 * A cascade runs a cheap low path, compares the entropy of its output with
 * a threshold and escalates the image to the high path when it is above
 * (PIVOT's input-aware path selection). From the two paths' per-image
 * results (right or wrong, the low path's entropy) the accuracy and the
 * expected cost of every threshold follow exactly: vk_cascade_sweep sorts
 * the images by entropy and sweeps once, O(n log n). The search
 * (vk_search.c) runs it on every pair of measured paths and stores the
 * Pareto set; cascades of levels with their own weights are vk_levels.h.
 *
 * A pure function of its arguments; thread-safe.
 *
 *     vk_sweep_pt *pts = malloc((size_t)(n + 1) * sizeof *pts);
 *     int np = vk_cascade_sweep(ent, ok_low, ok_high, n, lat_low, lat_high, pts);
 *     for (int p = 0; p < np; p++)
 *         printf("%d: %.2f%% at %.3f ms\n", pts[p].threshold_q16, pts[p].top1, pts[p].cost);
 *     free(pts);
 */
#ifndef VK_CASCADE_H
#define VK_CASCADE_H

#include <stdint.h>

/* One point of a cascade sweep. */
typedef struct {
    int32_t threshold_q16; /* escalate when entropy > threshold */
    int n_escalated;
    double top1;           /* percent */
    double cost;           /* expected per-image cost */
} vk_sweep_pt;

/* For every distinct threshold, accuracy and expected cost of the cascade
 * (cost = c_low + escalated share * c_high) exactly, by a sort and a sweep.
 * ok_low/ok_high: per image 1 if that path is right; ent: low path's
 * entropy. out needs n + 1 entries: first the threshold that escalates
 * nothing (INT32_MAX), then one point per distinct entropy, highest first,
 * escalating the images down to it (a tie escalates together); its
 * threshold is the next lower entropy, -1 for the last point, which
 * escalates every image. Returns the number written, 0 when out of
 * memory. */
int vk_cascade_sweep(const int32_t *ent, const uint8_t *ok_low, const uint8_t *ok_high, int n,
                     double c_low, double c_high, vk_sweep_pt *out);

#endif
