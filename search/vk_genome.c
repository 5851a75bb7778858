/* vk_genome: genomes, their text, validity and variation (see vk_genome.h). */
#include "vk_genome.h"

#include <stdio.h>
#include <string.h>

static const char letters[] = "FSRH"; /* indexed by VK_ATTN_* */

static int computes(uint32_t w)
{
    return VK_MODE_ATTN(w) == VK_ATTN_FULL || VK_MODE_ATTN(w) == VK_ATTN_SHARED;
}

/* One number of 1..99 after `:k` or `:f` at *p; advances *p. -1 if malformed. */
static int percent(const char **p)
{
    const char *s = *p;
    int v = 0, n = 0;
    while (*s >= '0' && *s <= '9' && n < 3) {
        v = v * 10 + (*s - '0');
        s++;
        n++;
    }
    if (n == 0 || (n > 1 && **p == '0') || v < 1 || v > 99 || (*s >= '0' && *s <= '9'))
        return -1;
    *p = s;
    return v;
}

vk_status vk_genome_parse(const char *text, int n_layers, vk_genome *g, vk_err *err)
{
    vk_genome r;
    const char *p = text;
    vk_status rc;
    memset(&r, 0, sizeof r);
    if (n_layers < 1 || n_layers > VK_MAX_LAYERS)
        return vk_fail(err, VK_E_ARG, "genome '%.120s': %d encoders (1..%d)", text, n_layers,
                       VK_MAX_LAYERS);
    for (int i = 0; i < n_layers; i++) {
        const char *at = strchr(letters, *p);
        uint32_t keep = VK_KEEP_ALL, ffn = 0;
        int v;
        if (!*p || !at)
            return vk_fail(err, VK_E_FORMAT,
                           "genome '%.120s': encoder %d: %s (expected F, S, R or H, then "
                           "optional :kNN and :fNN; the model has %d encoders)",
                           text, i + 1, *p ? "unknown mode letter" : "missing", n_layers);
        p++;
        if (p[0] == ':' && p[1] == 'k') {
            p += 2;
            if ((v = percent(&p)) < 0)
                return vk_fail(err, VK_E_FORMAT,
                               "genome '%.120s': encoder %d: ':k' needs a keep percent 1..99 "
                               "(no leading zero)",
                               text, i + 1);
            keep = (uint32_t)v;
        }
        if (p[0] == ':' && p[1] == 'f') {
            p += 2;
            if ((v = percent(&p)) < 0)
                return vk_fail(err, VK_E_FORMAT,
                               "genome '%.120s': encoder %d: ':f' needs an FFN drop percent "
                               "1..99 (no leading zero)",
                               text, i + 1);
            ffn = (uint32_t)v;
        }
        if (p[0] == ':')
            return vk_fail(err, VK_E_FORMAT,
                           "genome '%.120s': encoder %d: unexpected ':%c' (only :kNN, then "
                           ":fNN)",
                           text, i + 1, p[1] ? p[1] : ' ');
        r.modes[i] = VK_MODE_FULL_WORD((uint32_t)(at - letters), keep, ffn);
    }
    if (*p)
        return vk_fail(err, VK_E_FORMAT,
                       "genome '%.120s': text left after %d encoders ('%.16s'); the model has "
                       "%d encoders",
                       text, n_layers, p, n_layers);
    if ((rc = vk_genome_check(&r, n_layers, 0, err)) != VK_OK) {
        vk_err_prefix(err, "genome");
        return rc;
    }
    *g = r;
    return VK_OK;
}

int vk_genome_text_layers(const char *text)
{
    int n = 0;
    for (const char *p = text; *p; p++)
        if (strchr(letters, *p))
            n++;
        else if (*p != ':' && *p != 'k' && *p != 'f' && (*p < '0' || *p > '9'))
            return -1;
    return n;
}

void vk_gene_describe(uint32_t w, char *out, int len)
{
    static const char *const attn[] = {"full attention", "attention skipped",
                                       "attention reused", "shared-head attention"};
    int o = snprintf(out, (size_t)len, "%s", attn[VK_MODE_ATTN(w) & 3]);
    if (VK_MODE_PRUNES(w) && o < len)
        o += snprintf(out + o, (size_t)(len - o), ", keeps %u%% of the tokens",
                      (unsigned)VK_MODE_KEEP(w));
    if (VK_MODE_FFN(w) >= 1 && VK_MODE_FFN(w) <= 99 && o < len)
        snprintf(out + o, (size_t)(len - o), ", drops %u%% of the FFN", (unsigned)VK_MODE_FFN(w));
}

void vk_genome_format(const vk_genome *g, int n_layers, char *out)
{
    char *o = out;
    for (int i = 0; i < n_layers; i++) {
        uint32_t w = g->modes[i];
        *o++ = letters[VK_MODE_ATTN(w) & 3];
        if (VK_MODE_PRUNES(w))
            o += sprintf(o, ":k%u", (unsigned)VK_MODE_KEEP(w));
        if (VK_MODE_FFN(w) >= 1 && VK_MODE_FFN(w) <= 99)
            o += sprintf(o, ":f%u", (unsigned)VK_MODE_FFN(w));
    }
    *o = 0;
}

int vk_genome_equal(const vk_genome *a, const vk_genome *b, int n_layers)
{
    return memcmp(a->modes, b->modes, (size_t)n_layers * sizeof(uint32_t)) == 0;
}

vk_status vk_genome_check(const vk_genome *g, int n_layers, int from, vk_err *err)
{
    int src = -1;
    for (int l = from; l < n_layers; l++) {
        uint32_t w = g->modes[l], a = VK_MODE_ATTN(w);
        if (a > VK_ATTN_SHARED || VK_MODE_KEEP(w) > VK_KEEP_ALL || VK_MODE_FFN(w) > 99 ||
            (w & 0xFF0000F0u))
            return vk_fail(err, VK_E_ARG, "encoder %d: malformed mode word 0x%08x", l + 1,
                           (unsigned)w);
        if (VK_MODE_PRUNES(w) && !computes(w))
            return vk_fail(err, VK_E_ARG,
                           "encoder %d: prunes tokens (:k%u) but does not compute attention "
                           "(pruning ranks tokens by this encoder's own attention: use F or H)",
                           l + 1, (unsigned)VK_MODE_KEEP(w));
        if (a == VK_ATTN_REUSE && src < 0)
            return vk_fail(err, VK_E_ARG,
                           "encoder %d: reuses attention (R) but no earlier encoder%s computed "
                           "attention since the last pruning",
                           l + 1, from ? " of the resumed part" : "");
        if (computes(w))
            src = l;
        if (VK_MODE_PRUNES(w))
            src = -1;
    }
    return VK_OK;
}

int vk_genome_common_prefix(const vk_genome *a, const vk_genome *b, int n_layers)
{
    int k = 0;
    while (k < n_layers && a->modes[k] == b->modes[k])
        k++;
    return k;
}

int vk_genome_resume_depth(const vk_genome *low, const vk_genome *high, int n_layers)
{
    vk_err err;
    for (int k = vk_genome_common_prefix(low, high, n_layers); k > 0; k--)
        if (vk_genome_check(high, n_layers, k, &err) == VK_OK)
            return k;
    return 0;
}

void vk_genome_pattern(vk_genome *g, int n_layers, int skip_every)
{
    memset(g, 0, sizeof *g);
    for (int i = 0; i < n_layers; i++) {
        int skip = skip_every == 1 || (skip_every == 2 && (i & 1));
        g->modes[i] = VK_MODE(skip ? VK_ATTN_SKIP : VK_ATTN_FULL);
    }
}

/* ---- spaces ------------------------------------------------------------- */

static int has_attn(const vk_space *sp, uint32_t a)
{
    for (int i = 0; i < sp->n_attn; i++)
        if (sp->attn[i] == a)
            return 1;
    return 0;
}

/* A list "P,P,..." of percents in lo..hi into v (n at most max); the
 * default d added first when missing. */
static int percents(const char **p, int lo, int hi, int d, uint8_t *v, int max)
{
    const char *s = *p;
    int n = 0;
    v[n++] = (uint8_t)d;
    for (;;) {
        int x = 0, k = 0;
        while (*s >= '0' && *s <= '9' && k < 3) {
            x = x * 10 + (*s - '0');
            s++;
            k++;
        }
        if (!k || x < lo || x > hi)
            return -1;
        int dup = 0;
        for (int i = 0; i < n; i++)
            dup |= v[i] == x;
        if (!dup) {
            if (n == max)
                return -1;
            v[n++] = (uint8_t)x;
        }
        if (*s != ',')
            break;
        s++;
    }
    *p = s;
    return n;
}

vk_status vk_space_parse(const char *text, vk_space *sp, vk_err *err)
{
    vk_space r;
    const char *p = text;
    memset(&r, 0, sizeof r);
    if (!strcmp(text, "all"))
        p = "FSRH:k100,85,70,50:f0,25,50";
    while (*p && *p != ':') {
        const char *at = strchr(letters, *p);
        if (!at)
            return vk_fail(err, VK_E_ARG,
                           "space '%s': '%c' is not an attention letter (F, S, R, H)", text, *p);
        for (int i = 0; i < r.n_attn; i++)
            if (r.attn[i] == (uint8_t)(at - letters))
                return vk_fail(err, VK_E_ARG, "space '%s': '%c' given twice", text, *p);
        r.attn[r.n_attn++] = (uint8_t)(at - letters);
        p++;
    }
    if (!r.n_attn)
        return vk_fail(err, VK_E_ARG,
                       "space '%s': no attention letters (expected e.g. FS, FSRH or all)", text);
    if (!has_attn(&r, VK_ATTN_FULL) && !has_attn(&r, VK_ATTN_SHARED))
        return vk_fail(err, VK_E_ARG,
                       "space '%s': needs F or H (the first encoder must compute attention "
                       "for R to have a source, and the full path is every search's "
                       "reference)",
                       text);
    r.keep[0] = VK_KEEP_ALL;
    r.n_keep = 1;
    r.ffn[0] = 0;
    r.n_ffn = 1;
    if (p[0] == ':' && p[1] == 'k') {
        p += 2;
        if ((r.n_keep = percents(&p, 1, 100, VK_KEEP_ALL, r.keep, 8)) < 0)
            return vk_fail(err, VK_E_ARG,
                           "space '%s': ':k' needs keep percents 1..100, comma-separated, at "
                           "most 8",
                           text);
    }
    if (p[0] == ':' && p[1] == 'f') {
        p += 2;
        if ((r.n_ffn = percents(&p, 0, 99, 0, r.ffn, 8)) < 0)
            return vk_fail(err, VK_E_ARG,
                           "space '%s': ':f' needs FFN drop percents 0..99, comma-separated, "
                           "at most 8",
                           text);
    }
    if (*p)
        return vk_fail(err, VK_E_ARG, "space '%s': unexpected '%.16s' (LETTERS[:kP,...][:fP,...])",
                       text, p);
    *sp = r;
    return VK_OK;
}

void vk_space_format(const vk_space *sp, char *out, int len)
{
    int o = 0;
    for (int i = 0; i < sp->n_attn && o < len - 1; i++)
        out[o++] = letters[sp->attn[i] & 3];
    for (int i = 0; sp->n_keep > 1 && i < sp->n_keep && o < len - 8; i++)
        o += snprintf(out + o, (size_t)(len - o), "%s%u", i ? "," : ":k", sp->keep[i]);
    for (int i = 0; sp->n_ffn > 1 && i < sp->n_ffn && o < len - 8; i++)
        o += snprintf(out + o, (size_t)(len - o), "%s%u", i ? "," : ":f", sp->ffn[i]);
    out[o < len ? o : len - 1] = 0;
}

int vk_space_genes(const vk_space *sp)
{
    int n = 0;
    for (int i = 0; i < sp->n_attn; i++) {
        int c = sp->attn[i] == VK_ATTN_FULL || sp->attn[i] == VK_ATTN_SHARED;
        n += (c ? sp->n_keep : 1) * sp->n_ffn;
    }
    return n;
}

/* A word with attention a, keep and ffn; keep only where attention runs. */
static uint32_t gene(uint32_t a, uint32_t keep, uint32_t ffn)
{
    int c = a == VK_ATTN_FULL || a == VK_ATTN_SHARED;
    return VK_MODE_FULL_WORD(a, c ? keep : VK_KEEP_ALL, ffn);
}

uint32_t vk_space_gene(const vk_space *sp, int i)
{
    for (int a = 0; a < sp->n_attn; a++) {
        int c = sp->attn[a] == VK_ATTN_FULL || sp->attn[a] == VK_ATTN_SHARED;
        int nk = c ? sp->n_keep : 1, n = nk * sp->n_ffn;
        if (i < n)
            return gene(sp->attn[a], sp->keep[i / sp->n_ffn], sp->ffn[i % sp->n_ffn]);
        i -= n;
    }
    return VK_MODE(VK_ATTN_FULL);
}

uint64_t vk_space_size(const vk_space *sp, int n_layers)
{
    uint64_t n = 1, g = (uint64_t)vk_space_genes(sp);
    for (int i = 0; i < n_layers; i++) {
        if (n > ((uint64_t)1 << 62) / g)
            return (uint64_t)1 << 62;
        n *= g;
    }
    return n;
}

uint64_t vk_space_valid(const vk_space *sp, int n_layers)
{
    /* n[s]: valid prefixes ending with (s = 1) or without (s = 0) an
       attention a reuse may take */
    const uint64_t cap = (uint64_t)1 << 62;
    uint64_t n[2] = {1, 0};
    int genes = vk_space_genes(sp);
    for (int l = 0; l < n_layers; l++) {
        uint64_t m[2] = {0, 0};
        for (int i = 0; i < genes; i++) {
            uint32_t w = vk_space_gene(sp, i);
            for (int s = 0; s < 2; s++) {
                int t = s;
                if (VK_MODE_ATTN(w) == VK_ATTN_REUSE && !s)
                    continue;
                if (computes(w))
                    t = !VK_MODE_PRUNES(w);
                m[t] = m[t] + n[s] > cap ? cap : m[t] + n[s];
            }
        }
        n[0] = m[0];
        n[1] = m[1];
    }
    return n[0] + n[1] > cap ? cap : n[0] + n[1];
}

int vk_space_contains(const vk_space *sp, const vk_genome *g, int n_layers)
{
    for (int l = 0; l < n_layers; l++) {
        uint32_t w = g->modes[l], keep = VK_MODE_PRUNES(w) ? VK_MODE_KEEP(w) : VK_KEEP_ALL;
        int ok_k = 0, ok_f = 0;
        if (!has_attn(sp, VK_MODE_ATTN(w)))
            return 0;
        for (int i = 0; i < sp->n_keep; i++)
            ok_k |= sp->keep[i] == keep;
        for (int i = 0; i < sp->n_ffn; i++)
            ok_f |= sp->ffn[i] == VK_MODE_FFN(w);
        if (!ok_k || !ok_f)
            return 0;
    }
    return 1;
}

/* ---- variation ---------------------------------------------------------- */

int vk_space_one_at_a_time(const vk_space *sp, int n_layers, vk_genome *out, int max)
{
    int n = 0;
    vk_err err;
    for (int l = 0; l < n_layers; l++) {
        uint32_t v[24];
        int nv = 0;
        for (int i = 0; i < sp->n_attn; i++)
            if (sp->attn[i] != VK_ATTN_FULL)
                v[nv++] = VK_MODE(sp->attn[i]);
        for (int i = 0; i < sp->n_keep; i++)
            if (sp->keep[i] != VK_KEEP_ALL)
                v[nv++] = VK_MODE_FULL_WORD(VK_ATTN_FULL, sp->keep[i], 0);
        for (int i = 0; i < sp->n_ffn; i++)
            if (sp->ffn[i] != 0)
                v[nv++] = VK_MODE_FULL_WORD(VK_ATTN_FULL, VK_KEEP_ALL, sp->ffn[i]);
        for (int i = 0; i < nv; i++) {
            vk_genome g;
            vk_genome_pattern(&g, n_layers, 0);
            g.modes[l] = v[i];
            if (vk_genome_check(&g, n_layers, 0, &err) != VK_OK)
                continue;
            if (n < max)
                out[n] = g;
            n++;
        }
    }
    return n;
}

int vk_space_is_fs(const vk_space *sp)
{
    return sp->n_attn == 2 && has_attn(sp, VK_ATTN_FULL) && has_attn(sp, VK_ATTN_SKIP) &&
           sp->n_keep == 1 && sp->n_ffn == 1;
}

void vk_genome_repair(vk_genome *g, int n_layers, const vk_space *sp)
{
    int src = 0;
    uint32_t comp = sp && !has_attn(sp, VK_ATTN_FULL) ? VK_ATTN_SHARED : VK_ATTN_FULL;
    for (int l = 0; l < n_layers; l++) {
        uint32_t w = g->modes[l], a = VK_MODE_ATTN(w);
        if (a == VK_ATTN_REUSE && !src)
            a = comp;
        g->modes[l] = gene(a, VK_MODE_KEEP(w) ? VK_MODE_KEEP(w) : VK_KEEP_ALL, VK_MODE_FFN(w));
        if (a == VK_ATTN_FULL || a == VK_ATTN_SHARED)
            src = 1;
        if (VK_MODE_PRUNES(g->modes[l]))
            src = 0;
    }
}

void vk_genome_random(vk_genome *g, int n_layers, const vk_space *sp, vk_rng *rng)
{
    memset(g, 0, sizeof *g);
    if (vk_space_is_fs(sp)) {
        for (int i = 0; i < n_layers; i++)
            g->modes[i] = VK_MODE(vk_rng_uniform(rng) < 0.5 ? VK_ATTN_SKIP : VK_ATTN_FULL);
        return;
    }
    for (int i = 0; i < n_layers; i++) {
        uint32_t a = sp->attn[vk_rng_below(rng, (uint32_t)sp->n_attn)];
        uint32_t keep = sp->keep[vk_rng_below(rng, (uint32_t)sp->n_keep)];
        uint32_t ffn = sp->ffn[vk_rng_below(rng, (uint32_t)sp->n_ffn)];
        g->modes[i] = gene(a, keep, ffn);
    }
    vk_genome_repair(g, n_layers, sp);
}

void vk_genome_child(vk_genome *c, const vk_genome *p1, const vk_genome *p2, int n_layers,
                     const vk_space *sp, vk_rng *rng)
{
    int fs = vk_space_is_fs(sp);
    memset(c, 0, sizeof *c);
    for (int i = 0; i < n_layers; i++) {
        uint32_t w, a, keep, ffn;
        int cmp;
        c->modes[i] = vk_rng_uniform(rng) < 0.5 ? p1->modes[i] : p2->modes[i];
        if (vk_rng_uniform(rng) >= 1.0 / n_layers)
            continue;
        w = c->modes[i];
        a = VK_MODE_ATTN(w);
        ffn = VK_MODE_FFN(w);
        if (fs) {
            c->modes[i] = VK_MODE(a == VK_ATTN_FULL ? VK_ATTN_SKIP : VK_ATTN_FULL);
            continue;
        }
        keep = VK_MODE_PRUNES(w) ? VK_MODE_KEEP(w) : VK_KEEP_ALL;
        cmp = a == VK_ATTN_FULL || a == VK_ATTN_SHARED;
        /* which field: those with a choice */
        uint32_t fields = (sp->n_attn > 1) + (cmp && sp->n_keep > 1) + (sp->n_ffn > 1);
        if (!fields)
            continue;
        uint32_t f = vk_rng_below(rng, fields);
        if (sp->n_attn > 1 && f-- == 0) {
            uint32_t na;
            do
                na = sp->attn[vk_rng_below(rng, (uint32_t)sp->n_attn)];
            while (na == a);
            a = na;
        } else if (cmp && sp->n_keep > 1 && f-- == 0) {
            uint32_t nk;
            do
                nk = sp->keep[vk_rng_below(rng, (uint32_t)sp->n_keep)];
            while (nk == keep);
            keep = nk;
        } else {
            uint32_t nf;
            do
                nf = sp->ffn[vk_rng_below(rng, (uint32_t)sp->n_ffn)];
            while (nf == ffn);
            ffn = nf;
        }
        c->modes[i] = gene(a, keep, ffn);
    }
    vk_genome_repair(c, n_layers, sp);
}
