/* vk_cmd_export: `vitskip export`, a stored path's or cascade's skip table. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "host/cli/vk_cli.h"
#include "host/cli/vk_cli_search.h"

int vk_cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {{"db", 1, 0, 'D'},     {"config", 1, 0, 'c'},
                                         {"format", 1, 0, 'f'}, {"output", 1, 0, 'o'},
                                         {"name", 1, 0, 'n'},   {"help", 0, 0, 'h'},
                                         {"no-checkpoint", 0, 0, 'N'}, {0, 0, 0, 0}};
    const char *path = NULL, *cfg = NULL, *fmt = "header", *out = NULL, *name = "";
    vk_store *db;
    vk_skip_table t;
    vk_err err = {{0}};
    int c, rcode, want_ckpt = 1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'D': path = optarg; break;
        case 'c': cfg = optarg; break;
        case 'f': fmt = optarg; break;
        case 'o': out = optarg; break;
        case 'n': name = optarg; break;
        case 'N': want_ckpt = 0; break;
        case 'h':
            printf("usage: vitskip export --db FILE --config P<id>|C<id> [--format header|json] "
                   "[--name NAME] [-o FILE]\n\nThe skip table of a stored path or cascade: a C "
                   "header for firmware (mode words,\nthreshold in Q16 nats, model hash, "
                   "top-1, latency and energy) or JSON for\ntools (schema: "
                   "search/vk_export.schema.json).\n\n"
                   "MODEL_SHA256 (JSON: model_hash) is the blob the table was measured with:\n"
                   "the SHA-256 of the .vkq file `vitskip quantize` writes for the run's\n"
                   "checkpoint and calibration (sha256sum FILE.vkq prints it).\n"
                   "CHECKPOINT_SHA256 (checkpoint_sha256) beside it is the SHA-256 of the\n"
                   "checkpoint's weights file, written only when that checkpoint, read now,\n"
                   "calibrates to that very blob (from the calibration cache, else by\n"
                   "calibrating again); otherwise it is left out with a warning.\n\n"
                   "  --no-checkpoint  leave CHECKPOINT_SHA256 out (no checkpoint is read)\n"
                   "  --name NAME   prefix of the header's macros and arrays (default vk_skip:\n"
                   "                VK_SKIP_N_LAYERS, vk_skip_modes[]); tables of different\n"
                   "                names can be included in one translation unit\n");
            return VK_EXIT_OK;
        default: return vk_cli_bad_option("export", opts, argv);
        }
    }
    if (!cfg)
        return vk_cli_usage("export", "--config is required");
    if (strcmp(fmt, "header") && strcmp(fmt, "json"))
        return vk_cli_usage("export", "--format '%s': expected header or json", fmt);
    if (!vk_export_name_ok(name))
        return vk_cli_usage("export", "--name '%s': expected a C identifier of at most 31 "
                                      "characters", name);
    if ((rcode = vk_cli_open_db("export", path, VK_CLI_DB_READONLY, &db)))
        return rcode;
    rcode = vk_cli_load_config(db, cfg, &t, &err);
    if (!rcode && want_ckpt)
        vk_cli_config_checkpoint("export", db, cfg, &t);
    vk_store_close(db);
    snprintf(t.name, sizeof t.name, "%s", name);
    if (rcode) {
        fprintf(stderr, "vitskip export: %s\n", err.msg);
        return rcode;
    }
    char *text = !strcmp(fmt, "json") ? vk_export_json(&t) : vk_export_header(&t);
    FILE *f = out ? fopen(out, "w") : stdout;
    if (!text || !f) {
        fprintf(stderr, "vitskip export: %s: %s\n", out ? out : "stdout",
                text ? "cannot create" : "out of memory");
        free(text);
        return VK_EXIT_FAIL;
    }
    fputs(text, f);
    if (text[0] && text[strlen(text) - 1] != '\n')
        fputc('\n', f);
    if (out && fclose(f) != 0) {
        fprintf(stderr, "vitskip export: %s: write failed\n", out);
        free(text);
        return VK_EXIT_FAIL;
    }
    free(text);
    return VK_EXIT_OK;
}

