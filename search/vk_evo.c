/* vk_evo: NSGA-II and cascade sweeps (see vk_evo.h). */
#include "vk_evo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vk_rng.h"

/* ---- NSGA-II ------------------------------------------------------------ */

typedef struct {
    vk_genome g;
    double obj[2], viol;
    int told;
} indiv;

struct vk_evo {
    int n_layers, pop_n, off_n, gen;
    vk_rng rng;
    indiv *pop;    /* current parents, pop_n */
    int n_pop;
    indiv *batch;  /* proposed this generation */
    int n_batch, cap_batch;
    vk_genome *seen; /* every genome proposed (dedup) */
    int n_seen, cap_seen;
    int n_eval;
    int filled; /* generation 0 topped up with random genomes */
    int random_only; /* random search: no selection, no variation */
    vk_space space;  /* the genes genomes are drawn from */
    int pool;        /* screening: candidates bred per child, <= 1 none */
    vk_evo_pick_fn pick;
    void *pick_ctx;
};

vk_evo *vk_evo_new(int n_layers, int population, int offspring, uint64_t seed)
{
    vk_evo *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->n_layers = n_layers;
    e->pop_n = population < 4 ? 4 : population;
    e->off_n = offspring < 1 ? 1 : offspring > e->pop_n ? e->pop_n : offspring;
    vk_rng_seed(&e->rng, seed);
    {
        vk_err err;
        vk_space_parse("FS", &e->space, &err);
    }
    e->pop = calloc((size_t)e->pop_n * 2, sizeof *e->pop);
    e->cap_batch = e->pop_n * 2 + VK_MAX_LAYERS + VK_EVO_MAX_SEEDS;
    e->batch = calloc((size_t)e->cap_batch, sizeof *e->batch);
    if (!e->pop || !e->batch) {
        vk_evo_free(e);
        return NULL;
    }
    return e;
}

void vk_evo_free(vk_evo *e)
{
    if (!e)
        return;
    free(e->pop);
    free(e->batch);
    free(e->seen);
    free(e);
}

static int seen(const vk_evo *e, const vk_genome *g)
{
    for (int i = 0; i < e->n_seen; i++)
        if (vk_genome_equal(&e->seen[i], g, e->n_layers))
            return 1;
    return 0;
}

static int mark_seen(vk_evo *e, const vk_genome *g)
{
    if (e->n_seen == e->cap_seen) {
        int cap = e->cap_seen ? e->cap_seen * 2 : 256;
        vk_genome *n = realloc(e->seen, (size_t)cap * sizeof *n);
        if (!n)
            return 0;
        e->seen = n;
        e->cap_seen = cap;
    }
    e->seen[e->n_seen++] = *g;
    return 1;
}

static int add_batch(vk_evo *e, const vk_genome *g)
{
    if (e->n_batch >= e->cap_batch || seen(e, g) || !mark_seen(e, g))
        return 0;
    memset(&e->batch[e->n_batch], 0, sizeof e->batch[0]);
    e->batch[e->n_batch++].g = *g;
    return 1;
}

void vk_evo_seed(vk_evo *e, const vk_genome *g)
{
    if (e->gen == 0)
        add_batch(e, g);
}

static void random_genome(vk_evo *e, vk_genome *g)
{
    vk_genome_random(g, e->n_layers, &e->space, &e->rng);
}

int vk_evo_dominates(const double a[2], double va, const double b[2], double vb)
{
    if (va > 0 || vb > 0)
        return va < vb;
    return a[0] <= b[0] && a[1] <= b[1] && (a[0] < b[0] || a[1] < b[1]);
}

void vk_evo_ranks(const double (*obj)[2], const double *viol, int n, int *rank)
{
    int *dom = calloc((size_t)(n ? n : 1), sizeof *dom), done = 0;
    for (int i = 0; i < n; i++)
        rank[i] = -1;
    for (int r = 0; dom && done < n; r++) {
        /* the unranked points no other unranked point dominates */
        for (int i = 0; i < n; i++) {
            dom[i] = 0;
            for (int j = 0; j < n && rank[i] < 0 && !dom[i]; j++)
                if (j != i && rank[j] < 0 && vk_evo_dominates(obj[j], viol[j], obj[i], viol[i]))
                    dom[i] = 1;
        }
        for (int i = 0; i < n; i++)
            if (rank[i] < 0 && !dom[i]) {
                rank[i] = r;
                done++;
            }
    }
    free(dom);
}

void vk_evo_crowding(const double (*obj)[2], const int *idx, int m, double *dist)
{
    for (int i = 0; i < m; i++)
        dist[i] = 0;
    if (m <= 2) {
        for (int i = 0; i < m; i++)
            dist[i] = INFINITY;
        return;
    }
    int *ord = malloc((size_t)m * sizeof *ord);
    if (!ord)
        return;
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < m; i++)
            ord[i] = i;
        for (int i = 1; i < m; i++) /* insertion sort: fronts are small */
            for (int j = i; j > 0 && obj[idx[ord[j]]][k] < obj[idx[ord[j - 1]]][k]; j--) {
                int t = ord[j];
                ord[j] = ord[j - 1];
                ord[j - 1] = t;
            }
        double span = obj[idx[ord[m - 1]]][k] - obj[idx[ord[0]]][k];
        dist[ord[0]] = dist[ord[m - 1]] = INFINITY;
        for (int i = 1; i < m - 1; i++)
            if (span > 0)
                dist[ord[i]] += (obj[idx[ord[i + 1]]][k] - obj[idx[ord[i - 1]]][k]) / span;
    }
    free(ord);
}

/* Rank and crowding of the current parents (for tournaments). */
static void score(const indiv *v, int n, int *rank, double *crowd)
{
    double(*obj)[2] = malloc((size_t)n * sizeof *obj);
    double *viol = malloc((size_t)n * sizeof *viol), *d = malloc((size_t)n * sizeof *d);
    int *idx = malloc((size_t)n * sizeof *idx);
    if (!obj || !viol || !d || !idx)
        goto out;
    for (int i = 0; i < n; i++) {
        obj[i][0] = v[i].obj[0];
        obj[i][1] = v[i].obj[1];
        viol[i] = v[i].viol;
    }
    vk_evo_ranks((const double(*)[2])obj, viol, n, rank);
    for (int r = 0;; r++) {
        int m = 0;
        for (int i = 0; i < n; i++)
            if (rank[i] == r)
                idx[m++] = i;
        if (!m)
            break;
        vk_evo_crowding((const double(*)[2])obj, idx, m, d);
        for (int i = 0; i < m; i++)
            crowd[idx[i]] = d[i];
    }
out:
    free(obj);
    free(viol);
    free(d);
    free(idx);
}

static int tournament(vk_evo *e, const int *rank, const double *crowd)
{
    int a = (int)vk_rng_below(&e->rng, (uint32_t)e->n_pop);
    int b = (int)vk_rng_below(&e->rng, (uint32_t)e->n_pop);
    if (rank[a] != rank[b])
        return rank[a] < rank[b] ? a : b;
    return crowd[a] >= crowd[b] ? a : b;
}

void vk_evo_set_random(vk_evo *e)
{
    e->random_only = 1;
}

void vk_evo_set_space(vk_evo *e, const vk_space *sp)
{
    e->space = *sp;
}

void vk_evo_set_screen(vk_evo *e, int pool, vk_evo_pick_fn pick, void *ctx)
{
    e->pool = pick ? pool : 0;
    e->pick = pick;
    e->pick_ctx = ctx;
}

/* A child of two tournament winners; with fallback (a crowded space) the
 * parents are drawn but the child is random. */
static void breed(vk_evo *e, const int *rank, const double *crowd, int fallback, vk_genome *c)
{
    const vk_genome *p1 = &e->pop[tournament(e, rank, crowd)].g;
    const vk_genome *p2 = &e->pop[tournament(e, rank, crowd)].g;
    vk_genome_child(c, p1, p2, e->n_layers, &e->space, &e->rng);
    if (fallback)
        random_genome(e, c);
}

/* Breeds up to pool x offspring distinct unseen children, lets pick choose
 * `offspring` of them and adds those to the batch. */
static void breed_screened(vk_evo *e, const int *rank, const double *crowd, int n_space)
{
    int cap = e->pool * e->off_n, n = 0, *chosen = malloc((size_t)cap * sizeof *chosen);
    vk_genome *cand = malloc((size_t)cap * sizeof *cand);
    if (!cand || !chosen)
        goto out;
    for (int tries = 0; n < cap && tries < 64 * e->pop_n * e->pool && e->n_seen + n < n_space;
         tries++) {
        vk_genome c;
        breed(e, rank, crowd, tries >= 32 * e->pop_n * e->pool, &c);
        int dup = seen(e, &c);
        for (int i = 0; i < n && !dup; i++)
            dup = vk_genome_equal(&cand[i], &c, e->n_layers);
        if (!dup)
            cand[n++] = c;
    }
    if (n <= e->off_n) {
        for (int i = 0; i < n; i++)
            add_batch(e, &cand[i]);
    } else {
        int k = e->pick(e->pick_ctx, cand, n, e->off_n, chosen);
        for (int i = 0; i < k; i++)
            if (chosen[i] >= 0 && chosen[i] < n)
                add_batch(e, &cand[chosen[i]]);
    }
out:
    free(cand);
    free(chosen);
}

/* Adds the first unseen valid genome at or after a random index of the
 * space (the index's digits in base vk_space_genes: each encoder's gene),
 * wrapping around. Used when breeding and random draws found nothing new
 * for a generation although unseen genomes remain, so a search is not cut
 * short of its budget. Only reached in small spaces (n_space <= 2^30). */
static void add_unseen(vk_evo *e, uint64_t n_space)
{
    uint32_t genes = (uint32_t)vk_space_genes(&e->space);
    uint64_t start = vk_rng_below(&e->rng, (uint32_t)n_space);
    vk_err err;
    for (uint64_t k = 0; k < n_space; k++) {
        uint64_t m = (start + k) % n_space;
        vk_genome g;
        memset(&g, 0, sizeof g);
        for (int i = 0; i < e->n_layers; i++, m /= genes)
            g.modes[i] = vk_space_gene(&e->space, (int)(m % genes));
        if (vk_genome_check(&g, e->n_layers, 0, &err) == VK_OK && add_batch(e, &g))
            return;
    }
}

int vk_evo_ask(vk_evo *e, vk_genome *out, int max)
{
    uint64_t size = vk_space_size(&e->space, e->n_layers);
    uint64_t n_valid = vk_space_valid(&e->space, e->n_layers);
    int n_space = n_valid > (1u << 30) ? 1 << 30 : (int)n_valid;
    if (e->n_batch == 0 || (e->gen == 0 && !e->filled)) {
        if (e->gen == 0 || e->n_pop < 2 || e->random_only) {
            /* generation 0: the seeds, then `offspring` random genomes; in
               random search every generation is random */
            int want = e->n_batch + e->off_n;
            e->filled = 1;
            for (int tries = 0; e->n_batch < want && tries < 64 * e->pop_n &&
                                e->n_seen < n_space;
                 tries++) {
                vk_genome g;
                random_genome(e, &g);
                add_batch(e, &g);
            }
        } else {
            int *rank = malloc((size_t)e->n_pop * sizeof *rank);
            double *crowd = malloc((size_t)e->n_pop * sizeof *crowd);
            if (!rank || !crowd) {
                free(rank);
                free(crowd);
                return 0;
            }
            score(e->pop, e->n_pop, rank, crowd);
            if (e->pool > 1)
                breed_screened(e, rank, crowd, n_space);
            else
                for (int tries = 0; e->n_batch < e->off_n && tries < 64 * e->pop_n &&
                                    e->n_seen < n_space;
                     tries++) {
                    vk_genome c;
                    breed(e, rank, crowd, tries >= 32 * e->pop_n, &c);
                    add_batch(e, &c);
                }
            free(rank);
            free(crowd);
        }
        if (e->n_batch == 0 && e->n_seen < n_space && size <= (1u << 30))
            add_unseen(e, size);
    }
    int k = 0;
    for (int i = 0; i < e->n_batch && k < max; i++)
        if (!e->batch[i].told)
            out[k++] = e->batch[i].g;
    return k;
}

void vk_evo_tell(vk_evo *e, const vk_genome *g, const double obj[2], double violation)
{
    for (int i = 0; i < e->n_batch; i++)
        if (!e->batch[i].told && vk_genome_equal(&e->batch[i].g, g, e->n_layers)) {
            e->batch[i].obj[0] = obj[0];
            e->batch[i].obj[1] = obj[1];
            e->batch[i].viol = violation;
            e->batch[i].told = 1;
            e->n_eval++;
            return;
        }
}

int vk_evo_next(vk_evo *e)
{
    int n = 0, *rank, m = 0;
    indiv *all = malloc((size_t)(e->n_pop + e->n_batch) * sizeof *all);
    double *crowd;
    if (!all)
        return e->gen;
    for (int i = 0; i < e->n_pop; i++)
        all[n++] = e->pop[i];
    for (int i = 0; i < e->n_batch; i++)
        if (e->batch[i].told)
            all[n++] = e->batch[i];
    rank = malloc((size_t)n * sizeof *rank);
    crowd = malloc((size_t)n * sizeof *crowd);
    if (rank && crowd) {
        score(all, n, rank, crowd);
        /* keep the best pop_n by (rank, -crowding): selection by passes */
        int *taken = calloc((size_t)n, sizeof *taken);
        while (taken && m < e->pop_n && m < n) {
            int best = -1;
            for (int i = 0; i < n; i++)
                if (!taken[i] && (best < 0 || rank[i] < rank[best] ||
                                  (rank[i] == rank[best] && crowd[i] > crowd[best])))
                    best = i;
            taken[best] = 1;
            e->pop[m++] = all[best];
        }
        free(taken);
        e->n_pop = m;
    }
    free(rank);
    free(crowd);
    free(all);
    e->n_batch = 0;
    return ++e->gen;
}

int vk_evo_n_evaluated(const vk_evo *e)
{
    return e->n_eval;
}
