/* export_fuzz: a libFuzzer target for reading skip tables back
 * (vk_export_parse: the JSON form and the C header form). Properties: no
 * crash, leak or sanitizer report; an error says why; a table that parses
 * is written again in both forms (when vk_export_json/vk_export_header
 * accept it) and each parses back to the same path or cascade.
 * Seeds: tests/fuzz/corpus/export/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "search/vk_export.h"
#include "tests/fuzz/vk_fuzz.h"

static int same(const vk_skip_table *a, const vk_skip_table *b)
{
    return a->n_layers == b->n_layers && a->kind_cascade == b->kind_cascade &&
           !strcmp(a->model_hash, b->model_hash) && vk_genome_equal(&a->low, &b->low, a->n_layers) &&
           (!a->kind_cascade ||
            (vk_genome_equal(&a->high, &b->high, a->n_layers) &&
             a->threshold_q16 == b->threshold_q16 && a->resume == b->resume));
}

static void again(const vk_skip_table *t, char *text, const char *form)
{
    vk_skip_table t2;
    vk_err err = {{0}};
    if (!text)
        return;
    if (vk_export_parse(text, form, &t2, &err) != VK_OK)
        vk_fuzz_fail("export_fuzz: the %s written does not parse: %s\n%s", form, err.msg, text);
    if (!same(t, &t2))
        vk_fuzz_fail("export_fuzz: the %s written parses to another table\n%s", form, text);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vk_skip_table t;
    vk_err err = {{0}};
    if (size > 1 << 16)
        return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    if (vk_export_parse(text, "fuzz", &t, &err) == VK_OK) {
        again(&t, vk_export_json(&t), "JSON");
        again(&t, vk_export_header(&t), "header");
    } else if (!err.msg[0]) {
        vk_fuzz_fail("export_fuzz: refused without a message");
    }
    free(text);
    return 0;
}
