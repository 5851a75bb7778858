/* vk_prefix: residual streams cached by genome prefix (see vk_prefix.h).
 *
 * Entries sit on one doubly linked list, most recently used first; lookups
 * scan it (a cache holds at most max_bytes / entry size entries, and a
 * path looks up at most n_layers - 1 depths, so a scan costs microseconds
 * next to the milliseconds an encoder takes per image). While a path runs,
 * the entry it resumes from and the entries it fills are pinned, so that
 * making room never evicts them. */
#include "vk_prefix.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    struct entry *prev, *next;
    uint8_t model[32];  /* blob SHA-256 */
    uint64_t img_hash;  /* of the n images' bytes */
    int n;              /* images */
    size_t img_n;       /* bytes per image */
    int depth;          /* encoders run */
    uint32_t modes[VK_MAX_LAYERS]; /* the first depth mode words */
    int32_t *act;       /* n * act_n words: the stream after `depth` encoders */
    size_t bytes;       /* of act */
    int pinned;
} entry;

struct vk_prefix {
    entry *head, *tail; /* most / least recently used */
    vk_prefix_stats st;
};

typedef struct {
    const uint8_t *model;
    uint64_t img_hash;
    int n;
    size_t img_n;
    const uint32_t *modes;
} pkey;

vk_status vk_prefix_new(size_t max_bytes, vk_prefix **pc, vk_err *err)
{
    vk_prefix *c = calloc(1, sizeof *c);
    if (!c)
        return vk_fail(err, VK_E_NOMEM, "prefix cache: out of memory");
    c->st.max_bytes = max_bytes ? max_bytes : VK_PREFIX_DEFAULT_BYTES;
    *pc = c;
    return VK_OK;
}

static void unlink_entry(vk_prefix *c, entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(vk_prefix *c, entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
}

static void drop(vk_prefix *c, entry *e)
{
    unlink_entry(c, e);
    c->st.bytes -= e->bytes;
    c->st.entries--;
    free(e->act);
    free(e);
}

void vk_prefix_free(vk_prefix *c)
{
    if (!c)
        return;
    while (c->head)
        drop(c, c->head);
    free(c);
}

void vk_prefix_get_stats(const vk_prefix *c, vk_prefix_stats *st)
{
    *st = c->st;
}

/* 64-bit FNV-1a over 8-byte words (then the tail bytes). */
static uint64_t hash_bytes(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 0xcbf29ce484222325ull, w;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        memcpy(&w, b + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h ^ n;
}

static entry *find(const vk_prefix *c, const pkey *k, int depth)
{
    entry *e;
    for (e = c->head; e; e = e->next)
        if (e->depth == depth && e->img_hash == k->img_hash && e->n == k->n &&
            e->img_n == k->img_n && !memcmp(e->model, k->model, 32) &&
            !memcmp(e->modes, k->modes, (size_t)depth * sizeof *k->modes))
            return e;
    return NULL;
}

/* Evicts the least recently used unpinned entry; 0 if there is none. */
static int evict_one(vk_prefix *c)
{
    entry *e;
    for (e = c->tail; e; e = e->prev)
        if (!e->pinned) {
            drop(c, e);
            c->st.evictions++;
            return 1;
        }
    return 0;
}

/* A new pinned entry for depth, with room made for it; NULL when it cannot
 * fit in the budget (or memory is short), in which case nothing is stored. */
static entry *new_entry(vk_prefix *c, const pkey *k, int depth, size_t bytes)
{
    entry *e;
    if (bytes > c->st.max_bytes)
        return NULL;
    while (c->st.bytes + bytes > c->st.max_bytes)
        if (!evict_one(c))
            return NULL;
    e = calloc(1, sizeof *e);
    if (e)
        e->act = malloc(bytes);
    if (!e || !e->act) {
        free(e);
        return NULL;
    }
    memcpy(e->model, k->model, 32);
    e->img_hash = k->img_hash;
    e->n = k->n;
    e->img_n = k->img_n;
    e->depth = depth;
    memcpy(e->modes, k->modes, (size_t)depth * sizeof *k->modes);
    e->bytes = bytes;
    e->pinned = 1;
    push_front(c, e);
    c->st.bytes += bytes;
    c->st.entries++;
    return e;
}

vk_status vk_prefix_run(vk_prefix *c, vk_fast_ctx *f, const uint32_t *modes,
                        const int8_t *imgs, int n, int32_t *outs, vk_err *err)
{
    int L = vk_fast_n_layers(f), k0 = 0, k, i, bad, nthr = omp_get_max_threads(), failed = 0;
    int shallower = 0;
    size_t in = vk_fast_img_n(f), an = vk_fast_act_n(f), on = vk_fast_out_n(f);
    size_t stride[VK_MAX_LAYERS + 1]; /* words per image of the stream after k encoders */
    entry *src = NULL, *fill[VK_MAX_LAYERS + 1] = {0};
    int32_t *tmp;
    pkey key;
    vk_status rc;

    if (n < 1)
        return vk_fail(err, VK_E_ARG, "prefix cache: no images to run (n = %d)", n);
    if ((bad = vk_fast_modes_bad(f, modes, 0)) >= 0)
        return vk_fail(err, VK_E_ARG,
                       "prefix cache: encoder %d has mode word 0x%08x, which the kernel "
                       "refuses on this path (status %d)",
                       bad, modes[bad], VK_KSTAT_BAD_MODE);
    for (k = 0; k <= L; k++)
        stride[k] = vk_fast_act_words(f, vk_fast_tokens(f, modes, k));
    if (nthr > n)
        nthr = n;
    if ((rc = vk_fast_reserve_workers(f, nthr, err)) != VK_OK)
        return rc;
    tmp = malloc((size_t)nthr * an * sizeof *tmp);
    if (!tmp)
        return vk_fail(err, VK_E_NOMEM, "prefix cache: out of memory for %d streams", nthr);

    /* the deepest cached prefix whose suffix is self-contained: a reuse
       after it must not read attention computed inside it */
    key = (pkey){vk_fast_model_hash(f), hash_bytes(imgs, (size_t)n * in), n, in, modes};
    for (k = L - 1; k >= 1 && !src; k--)
        if ((src = find(c, &key, k)) != NULL && !vk_fast_modes_ok(f, modes, k)) {
            src = NULL;
            shallower = 1;
        } else if (src) {
            k0 = k;
        }
    if (src)
        src->pinned = 1;
    for (k = k0 + 1; k <= L - 1; k++)
        if (!find(c, &key, k) &&
            !(fill[k] = new_entry(c, &key, k, (size_t)n * stride[k] * sizeof(int32_t)))) {
            c->st.skipped += (uint64_t)(L - k);
            break;
        }

#pragma omp parallel num_threads(nthr) reduction(| : failed)
    {
        int w = omp_get_thread_num(), ll;
        int32_t *a = tmp + (size_t)w * an;
#pragma omp for schedule(dynamic, 4)
        for (i = 0; i < n; i++) {
            int32_t st = VK_KSTAT_OK;
            if (src)
                memcpy(a, src->act + (size_t)i * stride[k0], stride[k0] * sizeof *a);
            else
                vk_fast_embed(f, w, imgs + (size_t)i * in, a);
            for (ll = k0; ll < L && st == VK_KSTAT_OK; ll++) {
                st = src && ll == k0 ? vk_fast_resume(f, w, modes, ll, ll + 1, a)
                                     : vk_fast_encoders(f, w, modes, ll, ll + 1, a);
                if (fill[ll + 1])
                    memcpy(fill[ll + 1]->act + (size_t)i * stride[ll + 1], a,
                           stride[ll + 1] * sizeof *a);
            }
            if (st == VK_KSTAT_OK)
                vk_fast_head(f, w, a, outs + (size_t)i * on);
            else
                failed = 1;
        }
    }
    free(tmp);

    /* most recently used: this path's entries, the shallowest first */
    for (k = L - 1; k >= 1; k--) {
        entry *e = fill[k] ? fill[k] : find(c, &key, k);
        if (e && failed && e == fill[k]) {
            drop(c, e);
        } else if (e) {
            e->pinned = 0;
            unlink_entry(c, e);
            push_front(c, e);
        }
    }
    if (failed) /* the checks above make this unreachable; never store or return a partial run */
        return vk_fail(err, VK_E_ARG, "prefix cache: the fast path refused a step of a path "
                                      "it had accepted");
    c->st.paths++;
    c->st.hits += src != NULL;
    c->st.shallower += src != NULL && shallower;
    c->st.enc_requested += (uint64_t)n * L;
    c->st.enc_computed += (uint64_t)n * (L - k0);
    return VK_OK;
}
