/* test_genome: genome text (round trips, every malformed form we know of,
 * a random-bytes property: whatever parses formats back to itself), the
 * kernel's validity rules, resume depths, spaces (parse, format, counts
 * against brute force) and the variation operators (always valid, always
 * in the space, every gene reached, PIVOT's F/S draws unchanged). */
#include <stdlib.h>
#include <string.h>

#include "search/vk_genome.h"
#include "tests/vk_test.h"

static void test_round_trip(void)
{
    static const char *const ok[] = {"F",           "S",           "H",
                                     "FSFS",        "H:k70FRS:f50", "F:k50:f25SHR:f25",
                                     "H:k1:f99",    "FRRRR",       "FSRHFSRH",
                                     "F:f50S:f50R:f50"};
    vk_err err = {{0}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        vk_genome g;
        char txt[VK_GENOME_TEXT_MAX];
        int n = vk_genome_text_layers(ok[i]);
        CHECK(n >= 1);
        CHECK_EQ_INT(vk_genome_parse(ok[i], n, &g, &err), VK_OK);
        vk_genome_format(&g, n, txt);
        CHECK(!strcmp(txt, ok[i]));
    }
    vk_genome g;
    CHECK_EQ_INT(vk_genome_parse("H:k70FRS:f50", 4, &g, &err), VK_OK);
    CHECK_EQ_INT(VK_MODE_ATTN(g.modes[0]), VK_ATTN_SHARED);
    CHECK_EQ_INT(VK_MODE_KEEP(g.modes[0]), 70);
    CHECK_EQ_INT(VK_MODE_ATTN(g.modes[2]), VK_ATTN_REUSE);
    CHECK_EQ_INT(VK_MODE_FFN(g.modes[3]), 50);
    CHECK_EQ_INT(VK_MODE_ATTN(g.modes[3]), VK_ATTN_SKIP);
    CHECK(!VK_MODE_PRUNES(g.modes[1]));
    /* the longest text fits VK_GENOME_TEXT_MAX */
    vk_genome big;
    char txt[VK_GENOME_TEXT_MAX];
    for (int i = 0; i < VK_MAX_LAYERS; i++)
        big.modes[i] = VK_MODE_FULL_WORD(VK_ATTN_SHARED, 85, 50);
    vk_genome_format(&big, VK_MAX_LAYERS, txt);
    CHECK_EQ_INT((int)strlen(txt), VK_GENOME_TEXT_MAX - 1);
    CHECK_EQ_INT(vk_genome_parse(txt, VK_MAX_LAYERS, &g, &err), VK_OK);
    /* pattern and prefix helpers */
    vk_genome h;
    vk_genome_pattern(&h, 4, 2);
    vk_genome_format(&h, 4, txt);
    CHECK(!strcmp(txt, "FSFS"));
    vk_genome_pattern(&g, 4, 0);
    CHECK_EQ_INT(vk_genome_common_prefix(&g, &h, 4), 1);
    CHECK(!vk_genome_equal(&g, &h, 4));
    CHECK_EQ_INT(vk_genome_text_layers("H:k70FRS:f50"), 4);
    CHECK_EQ_INT(vk_genome_text_layers("F S"), -1);
    char what[80];
    vk_gene_describe(VK_MODE_FULL_WORD(VK_ATTN_SHARED, 70, 25), what, sizeof what);
    CHECK(!strcmp(what, "shared-head attention, keeps 70% of the tokens, drops 25% of the FFN"));
    vk_gene_describe(VK_MODE(VK_ATTN_SKIP), what, sizeof what);
    CHECK(!strcmp(what, "attention skipped"));
}

static void test_malformed(void)
{
    static const struct {
        const char *text;
        int n;
        const char *says;
    } bad[] = {
        {"", 2, "encoder 1: missing"},
        {"X", 1, "unknown mode letter"},
        {"f", 1, "unknown mode letter"},
        {"F S", 2, "encoder 2: unknown"},
        {"FF", 3, "encoder 3: missing"},
        {"FFF", 2, "text left after 2 encoders"},
        {"F:", 1, "unexpected ':"},
        {"F:k", 1, "keep percent 1..99"},
        {"F:k0", 1, "keep percent"},
        {"F:k07", 1, "no leading zero"},
        {"F:k100", 1, "keep percent"},
        {"F:k1234", 1, "keep percent"},
        {"F:k-5", 1, "keep percent"},
        {"F:f0", 1, "FFN drop percent"},
        {"F:f100", 1, "FFN drop percent"},
        {"F:f50:k70", 1, "unexpected ':k'"},
        {"F:k70:k50", 1, "unexpected ':k'"},
        {"F:x5", 1, "unexpected ':x'"},
        {"FS:k70", 2, "encoder 2: prunes tokens"},
        {"FR:k70", 2, "encoder 2: prunes tokens"},
        {"RF", 2, "encoder 1: reuses attention"},
        {"SR", 2, "encoder 2: reuses attention"},
        {"H:k50R", 2, "encoder 2: reuses attention"},
        {"F\xff", 2, "unknown mode letter"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vk_genome g, before;
        vk_err err = {{0}};
        memset(&g, 0x5a, sizeof g);
        before = g;
        CHECK(vk_genome_parse(bad[i].text, bad[i].n, &g, &err) != VK_OK);
        CHECK_STR_CONTAINS(err.msg, bad[i].says);
        CHECK_STR_CONTAINS(err.msg, "genome");
        CHECK(!memcmp(&g, &before, sizeof g)); /* untouched on error */
    }
    vk_genome g;
    vk_err err = {{0}};
    CHECK_EQ_INT(vk_genome_parse("F", 0, &g, &err), VK_E_ARG);
    CHECK_EQ_INT(vk_genome_parse("F", VK_MAX_LAYERS + 1, &g, &err), VK_E_ARG);
    /* a mode word no text makes */
    g.modes[0] = 0xFFFFFFFFu;
    CHECK_EQ_INT(vk_genome_check(&g, 1, 0, &err), VK_E_ARG);
    CHECK_STR_CONTAINS(err.msg, "malformed mode word");
}

/* Random short strings over the grammar's alphabet: whatever parses is
 * canonical (formats back to the same bytes) and valid. */
static void test_parse_property(void)
{
    static const char alpha[] = "FSRHkf:0123456789x";
    vk_rng r;
    vk_err err = {{0}};
    int parsed = 0;
    vk_rng_seed(&r, 11);
    for (int t = 0; t < 200000; t++) {
        char s[16], txt[VK_GENOME_TEXT_MAX];
        int len = 1 + (int)vk_rng_below(&r, 14);
        for (int i = 0; i < len; i++)
            s[i] = alpha[vk_rng_below(&r, sizeof alpha - 1)];
        s[len] = 0;
        int n = vk_genome_text_layers(s);
        vk_genome g;
        if (n < 1 || vk_genome_parse(s, n, &g, &err) != VK_OK)
            continue;
        parsed++;
        vk_genome_format(&g, n, txt);
        CHECK(!strcmp(txt, s));
        CHECK_EQ_INT(vk_genome_check(&g, n, 0, &err), VK_OK);
    }
    CHECK(parsed > 1000);
}

static void test_resume_depth(void)
{
    vk_genome lo, hi;
    vk_err err = {{0}};
    /* shared prefix 3; the high suffix "R" alone has no source, "FR" has */
    CHECK_EQ_INT(vk_genome_parse("FSFS", 4, &lo, &err), VK_OK);
    CHECK_EQ_INT(vk_genome_parse("FSFR", 4, &hi, &err), VK_OK);
    CHECK_EQ_INT(vk_genome_common_prefix(&lo, &hi, 4), 3);
    CHECK_EQ_INT(vk_genome_resume_depth(&lo, &hi, 4), 2);
    /* shared prefix 2, suffix "FF" valid */
    CHECK_EQ_INT(vk_genome_parse("FSSS", 4, &lo, &err), VK_OK);
    CHECK_EQ_INT(vk_genome_parse("FSFF", 4, &hi, &err), VK_OK);
    CHECK_EQ_INT(vk_genome_resume_depth(&lo, &hi, 4), 2);
    /* the high path reuses from encoder 1, shared with the low one: its
       suffix "SR" never valid on its own, so from scratch */
    CHECK_EQ_INT(vk_genome_parse("FSSS", 4, &lo, &err), VK_OK);
    CHECK_EQ_INT(vk_genome_parse("FSRF", 4, &hi, &err), VK_OK);
    CHECK_EQ_INT(vk_genome_resume_depth(&lo, &hi, 4), 0);
    CHECK_EQ_INT(vk_genome_check(&hi, 4, 1, &err), VK_E_ARG);
    CHECK_STR_CONTAINS(err.msg, "of the resumed part");
}

static void test_space(void)
{
    vk_space sp;
    vk_err err = {{0}};
    char txt[64];
    CHECK_EQ_INT(vk_space_parse("FS", &sp, &err), VK_OK);
    CHECK(vk_space_is_fs(&sp));
    vk_space_format(&sp, txt, sizeof txt);
    CHECK(!strcmp(txt, "FS"));
    CHECK_EQ_INT(vk_space_genes(&sp), 2);
    CHECK(vk_space_size(&sp, 12) == 4096);
    CHECK(vk_space_valid(&sp, 12) == 4096);
    CHECK_EQ_INT(vk_space_parse("all", &sp, &err), VK_OK);
    CHECK(!vk_space_is_fs(&sp));
    vk_space_format(&sp, txt, sizeof txt);
    CHECK(!strcmp(txt, "FSRH:k100,85,70,50:f0,25,50"));
    CHECK_EQ_INT(vk_space_genes(&sp), 30); /* F, H: 4 x 3; S, R: 3 */
    CHECK_EQ_INT(vk_space_parse("HF:f50:f", &sp, &err), VK_E_ARG);
    CHECK_EQ_INT(vk_space_parse("FSH:k70:f50", &sp, &err), VK_OK);
    vk_space_format(&sp, txt, sizeof txt);
    CHECK(!strcmp(txt, "FSH:k100,70:f0,50"));
    vk_space re;
    CHECK_EQ_INT(vk_space_parse(txt, &re, &err), VK_OK);
    CHECK(!memcmp(&re, &sp, sizeof re));
    CHECK(vk_space_size(&sp, 40) == (uint64_t)1 << 62); /* saturates */

    static const struct {
        const char *text, *says;
    } bad[] = {
        {"", "no attention letters"},      {"X", "not an attention letter"},
        {"FF", "given twice"},             {"S", "needs F or H"},
        {"SR", "needs F or H"},            {"F:k0", "keep percents 1..100"},
        {"F:k101", "keep percents"},       {"F:f100", "FFN drop percents 0..99"},
        {"F:k70,,50", "keep percents"},    {"F:k1,2,3,4,5,6,7,8", "at most 8"},
        {"F:q", "unexpected ':q'"},        {"F:f50:k70", "unexpected ':k70'"},
        {"all:k50", "not an attention letter"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ_INT(vk_space_parse(bad[i].text, &sp, &err), VK_E_ARG);
        CHECK_STR_CONTAINS(err.msg, bad[i].says);
    }
}

/* vk_space_valid and vk_space_gene against enumerating every genome. */
static void test_space_counts(void)
{
    static const char *const spaces[] = {"FS", "FSR", "FSRH", "FR:k100,50", "HSR:k70:f25",
                                         "all"};
    for (size_t s = 0; s < sizeof spaces / sizeof spaces[0]; s++) {
        vk_space sp;
        vk_err err = {{0}};
        CHECK_EQ_INT(vk_space_parse(spaces[s], &sp, &err), VK_OK);
        int genes = vk_space_genes(&sp);
        for (int nl = 1; nl <= 4; nl++) {
            uint64_t size = vk_space_size(&sp, nl), valid = 0;
            for (uint64_t m = 0; m < size; m++) {
                vk_genome g;
                uint64_t x = m;
                memset(&g, 0, sizeof g);
                for (int i = 0; i < nl; i++, x /= (uint64_t)genes)
                    g.modes[i] = vk_space_gene(&sp, (int)(x % (uint64_t)genes));
                CHECK(vk_space_contains(&sp, &g, nl));
                valid += vk_genome_check(&g, nl, 0, &err) == VK_OK;
            }
            CHECK(vk_space_valid(&sp, nl) == valid);
        }
        /* genes are distinct */
        for (int i = 0; i < genes; i++)
            for (int j = i + 1; j < genes; j++)
                CHECK(vk_space_gene(&sp, i) != vk_space_gene(&sp, j));
    }
}

static void test_variation(void)
{
    static const char *const spaces[] = {"all", "FSR", "HR:k100,50", "FH:f0,25"};
    for (size_t s = 0; s < sizeof spaces / sizeof spaces[0]; s++) {
        vk_space sp;
        vk_err err = {{0}};
        vk_rng r;
        int seen[64] = {0};
        CHECK_EQ_INT(vk_space_parse(spaces[s], &sp, &err), VK_OK);
        int genes = vk_space_genes(&sp);
        vk_rng_seed(&r, 5 + s);
        vk_genome p1, p2, c;
        vk_genome_random(&p1, 12, &sp, &r);
        vk_genome_random(&p2, 12, &sp, &r);
        for (int t = 0; t < 4000; t++) {
            if (t & 1)
                vk_genome_random(&c, 12, &sp, &r);
            else
                vk_genome_child(&c, &p1, &p2, 12, &sp, &r);
            CHECK_EQ_INT(vk_genome_check(&c, 12, 0, &err), VK_OK);
            CHECK(vk_space_contains(&sp, &c, 12));
            for (int l = 0; l < 12; l++)
                for (int i = 0; i < genes; i++)
                    seen[i] += c.modes[l] == vk_space_gene(&sp, i);
            p1 = p2;
            p2 = c;
        }
        for (int i = 0; i < genes; i++)
            CHECK(seen[i] > 0);
    }
    /* repair: a reuse without a source computes (F, or H without F) */
    vk_genome g;
    vk_space sp;
    vk_err err = {{0}};
    memset(&g, 0, sizeof g);
    g.modes[0] = VK_MODE(VK_ATTN_REUSE);
    g.modes[1] = VK_MODE_FULL_WORD(VK_ATTN_SKIP, 50, 0);
    vk_genome_repair(&g, 2, NULL);
    CHECK_EQ_INT(VK_MODE_ATTN(g.modes[0]), VK_ATTN_FULL);
    CHECK(!VK_MODE_PRUNES(g.modes[1]));
    CHECK_EQ_INT(vk_space_parse("HR", &sp, &err), VK_OK);
    g.modes[0] = VK_MODE(VK_ATTN_REUSE);
    vk_genome_repair(&g, 1, &sp);
    CHECK_EQ_INT(VK_MODE_ATTN(g.modes[0]), VK_ATTN_SHARED);
}

/* F/S: the same draws as vitskip's first searches (runs stay comparable). */
static void test_fs_draws(void)
{
    vk_space sp;
    vk_err err = {{0}};
    vk_rng a, b;
    CHECK_EQ_INT(vk_space_parse("SF", &sp, &err), VK_OK);
    vk_rng_seed(&a, 9);
    vk_rng_seed(&b, 9);
    vk_genome p1, p2, c;
    vk_genome_random(&p1, 8, &sp, &a);
    for (int i = 0; i < 8; i++)
        CHECK_EQ_INT((int)p1.modes[i],
                     (int)VK_MODE(vk_rng_uniform(&b) < 0.5 ? VK_ATTN_SKIP : VK_ATTN_FULL));
    vk_genome_random(&p2, 8, &sp, &a);
    for (int i = 0; i < 8; i++)
        vk_rng_uniform(&b);
    vk_genome_child(&c, &p1, &p2, 8, &sp, &a);
    for (int i = 0; i < 8; i++) {
        uint32_t w = vk_rng_uniform(&b) < 0.5 ? p1.modes[i] : p2.modes[i];
        if (vk_rng_uniform(&b) < 1.0 / 8)
            w = VK_MODE(VK_MODE_ATTN(w) == VK_ATTN_FULL ? VK_ATTN_SKIP : VK_ATTN_FULL);
        CHECK_EQ_INT((int)c.modes[i], (int)w);
    }
}

int main(void)
{
    RUN(test_round_trip);
    RUN(test_malformed);
    RUN(test_parse_property);
    RUN(test_resume_depth);
    RUN(test_space);
    RUN(test_space_counts);
    RUN(test_variation);
    RUN(test_fs_draws);
    return vk_test_summary("genome");
}
