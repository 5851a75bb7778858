/* vk_hv: exact hypervolume of a set of points in 2 or 3 minimised
 * objectives, the co-search's measure of how good a Pareto front is.
 *
 * The hypervolume is the measure (area, volume) of the region dominated by
 * at least one point and bounded by the reference point ref:
 *     { y : exists p in pts, p <= y < ref componentwise }.
 * A point that does not dominate ref strictly in every objective contributes
 * nothing; dominated points and duplicates change nothing. Computed exactly
 * (no sampling): 2 objectives by a sort and a sweep, O(n log n); 3 objectives
 * by sweeping the third objective and keeping the 2-D staircase of the
 * points below the sweep plane with its area updated on each insertion
 * (HV3D-style slicing), O(n log n) comparisons and O(n^2) moves at worst.
 * With integer coordinates the result is exact in double while it stays
 * below 2^53.
 *
 * No state: thread-safe. Points are row-major, n_obj doubles each.
 *
 *     const double pts[3][2] = {{1, 3}, {2, 2}, {3, 1}}, ref[2] = {4, 4};
 *     double hv;
 *     if (vk_hv_compute(&pts[0][0], 3, 2, ref, &hv, &err) != VK_OK) die(err.msg);
 *     // hv == 6
 */
#ifndef VK_HV_H
#define VK_HV_H

#include "../host/vk_status.h"

#define VK_HV_MAX_OBJ 3

/* Hypervolume of n points (pts[i * n_obj + k], n >= 0) in n_obj = 2 or 3
 * minimised objectives against ref (n_obj values). Every coordinate must be
 * finite. VK_E_ARG for a bad n_obj, n < 0 or a non-finite value (named by
 * point and objective); VK_E_NOMEM; *hv untouched on error. */
vk_status vk_hv_compute(const double *pts, int n, int n_obj, const double *ref, double *hv,
                        vk_err *err);

#endif
