/* genome_fuzz: a libFuzzer target for the genome and search-space texts
 * (vk_genome_parse, vk_genome_text_layers, vk_space_parse). Input: byte 0
 * picks the encoder count (1..VK_MAX_LAYERS), the rest is the text.
 * Properties: no crash or sanitizer report; a parsed genome is valid
 * (vk_genome_check), formats to a text that parses back equal and that
 * vk_genome_text_layers counts as n_layers encoders; a parsed space
 * formats to a text that parses back to the same space, its counts stay
 * in range and its one-at-a-time variants are valid.
 * Seeds: tests/fuzz/corpus/genome/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "search/vk_genome.h"
#include "tests/fuzz/vk_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vk_err err = {{0}};
    vk_genome g, g2;
    vk_space sp, sp2;
    char out[VK_GENOME_TEXT_MAX], sout[96], again[96], desc[128];
    if (size < 1 || size > 4096)
        return 0;
    int n_layers = 1 + data[0] % VK_MAX_LAYERS;
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;

    vk_genome_text_layers(text);
    if (vk_genome_parse(text, n_layers, &g, &err) == VK_OK) {
        if (vk_genome_check(&g, n_layers, 0, &err) != VK_OK)
            vk_fuzz_fail("genome_fuzz: \"%s\" parsed but invalid: %s", text, err.msg);
        vk_genome_format(&g, n_layers, out);
        if (vk_genome_parse(out, n_layers, &g2, &err) != VK_OK || !vk_genome_equal(&g, &g2, n_layers))
            vk_fuzz_fail("genome_fuzz: \"%s\" -> \"%s\" does not parse back", text, out);
        if (vk_genome_text_layers(out) != n_layers)
            vk_fuzz_fail("genome_fuzz: \"%s\" counted as %d encoders, not %d", out,
                         vk_genome_text_layers(out), n_layers);
        for (int i = 0; i < n_layers; i++)
            vk_gene_describe(g.modes[i], desc, sizeof desc);
    } else if (!err.msg[0]) {
        vk_fuzz_fail("genome_fuzz: \"%s\" refused without a message", text);
    }

    err.msg[0] = 0;
    if (vk_space_parse(text, &sp, &err) == VK_OK) {
        vk_space_format(&sp, sout, sizeof sout);
        if (vk_space_parse(sout, &sp2, &err) != VK_OK)
            vk_fuzz_fail("genome_fuzz: space \"%s\" -> \"%s\" does not parse back: %s", text,
                         sout, err.msg);
        vk_space_format(&sp2, again, sizeof again);
        if (strcmp(sout, again))
            vk_fuzz_fail("genome_fuzz: space \"%s\" -> \"%s\" -> \"%s\"", text, sout, again);
        int genes = vk_space_genes(&sp);
        for (int i = 0; i < genes; i++)
            vk_gene_describe(vk_space_gene(&sp, i), desc, sizeof desc);
        if (vk_space_valid(&sp, n_layers) > vk_space_size(&sp, n_layers))
            vk_fuzz_fail("genome_fuzz: space \"%s\" has more valid genomes than genomes", sout);
        vk_genome oat[64];
        int k = vk_space_one_at_a_time(&sp, n_layers, oat, 64);
        for (int i = 0; i < k && i < 64; i++)
            if (vk_genome_check(&oat[i], n_layers, 0, &err) != VK_OK)
                vk_fuzz_fail("genome_fuzz: space \"%s\": variant %d invalid", sout, i);
    } else if (!err.msg[0]) {
        vk_fuzz_fail("genome_fuzz: space \"%s\" refused without a message", text);
    }
    free(text);
    return 0;
}
