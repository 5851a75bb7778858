/* vk_cascade: the exact threshold sweep of a two-path cascade (see
 * vk_cascade.h). */
#include "vk_cascade.h"

#include <stdlib.h>

typedef struct {
    int32_t e;
    uint8_t lo, hi;
} sw_item;

static int cmp_desc(const void *a, const void *b)
{
    const sw_item *x = a, *y = b;
    return x->e < y->e ? 1 : x->e > y->e ? -1 : 0;
}

int vk_cascade_sweep(const int32_t *ent, const uint8_t *ok_low, const uint8_t *ok_high, int n,
                     double c_low, double c_high, vk_sweep_pt *out)
{
    sw_item *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    int correct = 0, k = 0;
    if (!v)
        return 0;
    for (int i = 0; i < n; i++) {
        v[i].e = ent[i];
        v[i].lo = ok_low[i];
        v[i].hi = ok_high[i];
        correct += ok_low[i];
    }
    qsort(v, (size_t)n, sizeof *v, cmp_desc);
    /* threshold above every entropy: nothing escalated */
    out[k].threshold_q16 = INT32_MAX;
    out[k].n_escalated = 0;
    out[k].top1 = n ? 100.0 * correct / n : 0;
    out[k].cost = c_low;
    k++;
    for (int i = 0; i < n;) {
        int j = i;
        while (j < n && v[j].e == v[i].e) { /* a tie group escalates together */
            correct += v[j].hi - v[j].lo;
            j++;
        }
        out[k].threshold_q16 = j < n ? v[j].e : -1;
        out[k].n_escalated = j;
        out[k].top1 = 100.0 * correct / n;
        out[k].cost = c_low + (double)j / n * c_high;
        k++;
        i = j;
    }
    free(v);
    return k;
}
