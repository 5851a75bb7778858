/* vk_proxy: top-1 on a validation sample with the host's int8 fast path,
 * cached per genome (vk_proxy.h). */
#include "vk_proxy.h"

#include <stdlib.h>
#include <string.h>

#include "../host/vk_fast.h"
#include "../host/vk_prefix.h"

typedef struct {
    vk_genome g;
    double top1;
    int used;
} entry;

struct vk_proxy {
    vk_fast_ctx *f;
    vk_prefix *pc;
    int8_t *imgs;    /* n * img_n, owned */
    int *labels;     /* n, owned */
    int32_t *outs;   /* n * out_n scratch */
    int n;
    entry *tab;      /* open addressing, cap a power of two, owned */
    size_t cap, used;
    long evaluated;
};

static uint64_t genome_hash(const vk_genome *g)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a over the mode words */
    for (int i = 0; i < VK_MAX_LAYERS; i++) {
        h ^= g->modes[i];
        h *= 1099511628211ull;
    }
    return h;
}

static entry *slot(entry *tab, size_t cap, const vk_genome *g)
{
    size_t i = (size_t)genome_hash(g) & (cap - 1);
    while (tab[i].used && memcmp(&tab[i].g, g, sizeof *g) != 0)
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

static int grow(vk_proxy *p)
{
    size_t cap = p->cap ? p->cap * 2 : 256;
    entry *t = calloc(cap, sizeof *t);
    if (!t)
        return -1;
    for (size_t i = 0; i < p->cap; i++)
        if (p->tab[i].used)
            *slot(t, cap, &p->tab[i].g) = p->tab[i];
    free(p->tab);
    p->tab = t;
    p->cap = cap;
    return 0;
}

vk_status vk_proxy_new(const vk_qmodel *q, const vk_imageset *set, int n, vk_proxy **out,
                       vk_err *err)
{
    vk_proxy *p;
    vk_status rc;
    size_t img_n;
    if (n < 1 || n > VK_PROXY_MAX_N || !set || set->n < 1)
        return vk_fail(err, VK_E_ARG, "accuracy proxy: %d images asked of a set of %d "
                          "(expected 1..%d of a non-empty set)", n, set ? set->n : 0,
                          VK_PROXY_MAX_N);
    if (n > set->n)
        n = set->n;
    if (!(p = calloc(1, sizeof *p)))
        return vk_fail(err, VK_E_NOMEM, "accuracy proxy: out of memory");
    if ((rc = vk_fast_ctx_new(q, VK_FAST_ISA_AUTO, &p->f, err)) != VK_OK)
        goto fail;
    if ((rc = vk_prefix_new(0, &p->pc, err)) != VK_OK)
        goto fail;
    img_n = vk_fast_img_n(p->f);
    p->n = n;
    p->imgs = malloc((size_t)n * img_n);
    p->labels = malloc((size_t)n * sizeof *p->labels);
    p->outs = malloc((size_t)n * vk_fast_out_n(p->f) * sizeof *p->outs);
    if (!p->imgs || !p->labels || !p->outs || grow(p) != 0) {
        rc = vk_fail(err, VK_E_NOMEM, "accuracy proxy: out of memory for %d images", n);
        goto fail;
    }
    memcpy(p->imgs, set->imgs, (size_t)n * img_n);
    memcpy(p->labels, set->data.labels, (size_t)n * sizeof *p->labels);
    *out = p;
    return VK_OK;
fail:
    vk_proxy_free(p);
    return rc;
}

void vk_proxy_free(vk_proxy *p)
{
    if (!p)
        return;
    vk_prefix_free(p->pc);
    vk_fast_ctx_free(p->f);
    free(p->imgs);
    free(p->labels);
    free(p->outs);
    free(p->tab);
    free(p);
}

int vk_proxy_n(const vk_proxy *p)
{
    return p->n;
}

long vk_proxy_evaluated(const vk_proxy *p)
{
    return p->evaluated;
}

vk_status vk_proxy_top1(vk_proxy *p, const vk_genome *g, double *top1, vk_err *err)
{
    entry *e = slot(p->tab, p->cap, g);
    size_t out_n = vk_fast_out_n(p->f);
    vk_status rc;
    int ok = 0;
    if (e->used) {
        *top1 = e->top1;
        return VK_OK;
    }
    if ((p->used + 1) * 2 > p->cap) {
        if (grow(p) != 0)
            return vk_fail(err, VK_E_NOMEM, "accuracy proxy: out of memory for its cache");
        e = slot(p->tab, p->cap, g);
    }
    if ((rc = vk_prefix_run(p->pc, p->f, g->modes, p->imgs, p->n, p->outs, err)) != VK_OK)
        return rc;
    for (int i = 0; i < p->n; i++)
        ok += p->outs[(size_t)i * out_n + VK_OUT_CLASS] == p->labels[i];
    e->g = *g;
    e->top1 = 100.0 * ok / p->n;
    e->used = 1;
    p->used++;
    p->evaluated++;
    *top1 = e->top1;
    return VK_OK;
}
