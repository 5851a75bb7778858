/* vk_hv: exact 2- and 3-objective hypervolume (see vk_hv.h). */
#include "vk_hv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* 2-D points by x, then y */
static int cmp_xy(const void *a, const void *b)
{
    const double *p = a, *q = b;
    if (p[0] != q[0])
        return p[0] < q[0] ? -1 : 1;
    return p[1] < q[1] ? -1 : p[1] > q[1];
}

/* 3-D points by z */
static int cmp_z(const void *a, const void *b)
{
    const double *p = a, *q = b;
    return p[2] < q[2] ? -1 : p[2] > q[2];
}

/* p: m points of 2 doubles, all strictly below ref; sorts p. */
static double hv2(double *p, int m, const double *ref)
{
    double hv = 0, best_y = ref[1];
    qsort(p, (size_t)m, 2 * sizeof *p, cmp_xy);
    /* by increasing x, each point that lowers the staircase adds the strip
       [x, ref0) x [y, best_y) */
    for (int i = 0; i < m; i++) {
        const double *q = p + 2 * i;
        if (q[1] < best_y) {
            hv += (ref[0] - q[0]) * (best_y - q[1]);
            best_y = q[1];
        }
    }
    return hv;
}

/* A 2-D staircase: cnt mutually non-dominated points, x strictly increasing
 * and y strictly decreasing, with the area they dominate below ref. */
typedef struct {
    double *x, *y;
    int cnt;
    double area;
} stair;

/* Adds (px, py) to s, updating its area, dropping the points it dominates. */
static void stair_insert(stair *s, double px, double py, double rx, double ry)
{
    int lo = 0, hi = s->cnt;
    while (lo < hi) { /* L = number of points with x <= px */
        int mid = lo + (hi - lo) / 2;
        if (s->x[mid] <= px)
            lo = mid + 1;
        else
            hi = mid;
    }
    int L = lo, k = L;
    /* the staircase's height at px: the lowest y among points with x <= px */
    double h = L > 0 ? s->y[L - 1] : ry, cur = px, gain = 0;
    if (h <= py)
        return; /* dominated (or equal): nothing new */
    /* new area: integral over u in [px, rx) of max(0, height(u) - py) */
    for (;;) {
        double xe = k < s->cnt ? s->x[k] : rx;
        gain += (xe - cur) * (h - py);
        if (k == s->cnt || s->y[k] <= py)
            break;
        h = s->y[k]; /* point k: x > px and y > py, dominated by the new one */
        cur = s->x[k];
        k++;
    }
    /* remove [first, last): the points of x > px, y >= py, and a point at
       x == px (its y is above py) */
    int first = L > 0 && s->x[L - 1] == px ? L - 1 : L;
    int last = k < s->cnt && s->y[k] == py ? k + 1 : k;
    int tail = s->cnt - last;
    memmove(s->x + first + 1, s->x + last, (size_t)tail * sizeof *s->x);
    memmove(s->y + first + 1, s->y + last, (size_t)tail * sizeof *s->y);
    s->x[first] = px;
    s->y[first] = py;
    s->cnt = first + 1 + tail;
    s->area += gain;
}

/* p: m points of 3 doubles, all strictly below ref; sorts p. */
static double hv3(double *p, int m, const double *ref, double *xs, double *ys)
{
    stair s = {xs, ys, 0, 0};
    double hv = 0;
    qsort(p, (size_t)m, 3 * sizeof *p, cmp_z);
    /* between consecutive z values, the dominated slice is the staircase of
       every point at or below the lower one */
    for (int i = 0; i < m; i++) {
        const double *q = p + 3 * i;
        stair_insert(&s, q[0], q[1], ref[0], ref[1]);
        double z_next = i + 1 < m ? q[3 + 2] : ref[2];
        hv += s.area * (z_next - q[2]);
    }
    return hv;
}

vk_status vk_hv_compute(const double *pts, int n, int n_obj, const double *ref, double *hv,
                        vk_err *err)
{
    if (n_obj != 2 && n_obj != 3)
        return vk_fail(err, VK_E_ARG, "hypervolume: %d objectives (expected 2 or 3)", n_obj);
    if (n < 0 || (n > 0 && !pts) || !ref || !hv)
        return vk_fail(err, VK_E_ARG, "hypervolume: %d points (expected n >= 0 and arrays)", n);
    for (int k = 0; k < n_obj; k++)
        if (!isfinite(ref[k]))
            return vk_fail(err, VK_E_ARG,
                           "hypervolume: reference objective %d is %g "
                           "(expected a finite value)",
                           k, ref[k]);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n_obj; k++)
            if (!isfinite(pts[i * n_obj + k]))
                return vk_fail(err, VK_E_ARG,
                               "hypervolume: point %d objective %d is %g "
                               "(expected a finite value)",
                               i, k, pts[i * n_obj + k]);
    size_t cap = n > 0 ? (size_t)n : 1;
    double *p = malloc(cap * (size_t)n_obj * sizeof *p);
    double *xs = n_obj == 3 ? malloc(cap * sizeof *xs) : NULL;
    double *ys = n_obj == 3 ? malloc(cap * sizeof *ys) : NULL;
    if (!p || (n_obj == 3 && (!xs || !ys))) {
        free(p);
        free(xs);
        free(ys);
        return vk_fail(err, VK_E_NOMEM, "hypervolume: out of memory for %d points", n);
    }
    int m = 0;
    for (int i = 0; i < n; i++) {
        const double *q = pts + (size_t)i * (size_t)n_obj;
        int inside = 1;
        for (int k = 0; k < n_obj; k++)
            inside &= q[k] < ref[k];
        if (inside)
            memcpy(p + (size_t)m++ * (size_t)n_obj, q, (size_t)n_obj * sizeof *q);
    }
    *hv = n_obj == 2 ? hv2(p, m, ref) : hv3(p, m, ref, xs, ys);
    free(p);
    free(xs);
    free(ys);
    return VK_OK;
}
