/* agent_fuzz: a libFuzzer target for the agent's request handling
 * (vk_agent_handle: routing, ids, auth, content types, size limits, the
 * measure JSON, model and dataset blobs, and measurements on the sim board).
 * Built and run by tools/fuzz.sh agent; the property is that no request
 * crashes, leaks or trips the sanitizers, and every reply has a status in
 * 200..599 with a JSON body (or none for HEAD).
 *
 * Input layout (so that mutations reach deep code):
 *   byte 0  method: GET HEAD PUT POST DELETE BREW
 *   byte 1  path:   /v1/status, /v1/measure, /v1/models/<sha(body)>,
 *                   /v1/datasets/<sha(body)>, /v1/models/<held model>,
 *                   /v1/datasets/<held dataset>, /v1/models/<text>, <text>
 *                   (text: the body up to its first newline)
 *   byte 2  Content-Type: none, octet-stream, json, json; charset, junk
 *   byte 3  Authorization: none, the token, a wrong one
 *   byte 4  body: the rest as is; a valid model blob or dataset blob with
 *           the rest applied as (offset, xor) byte pairs; the rest with
 *           bytes 0x01/0x02 replaced by the held model/dataset ids
 * The seeds are tests/fuzz/corpus/agent/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boards/vk_agent.h"
#include "boards/vk_wire.h"
#include "host/vk_quant.h"
#include "host/vk_sha256.h"

#define TOKEN "fuzz-token-0123"
#define IMG 64 /* 8x8, one channel */
#define N_IMG 6

static vk_agent *ag;
static uint8_t *mblob, *dblob;
static size_t mlen, dlen;
static char mid[65], did[65];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const vk_err *err)
{
    fprintf(stderr, "agent_fuzz: %s: %s\n", what, err->msg);
    exit(1);
}

/* A held model and dataset, so that measurements reach the board. */
static void put_held(void)
{
    vk_agent_reply r;
    char path[96];
    snprintf(path, sizeof path, "/v1/models/%s", mid);
    vk_agent_handle(ag, "PUT", path, "application/octet-stream", "Bearer " TOKEN, mblob, mlen, &r);
    free(r.body);
    snprintf(path, sizeof path, "/v1/datasets/%s", did);
    vk_agent_handle(ag, "PUT", path, "application/octet-stream", "Bearer " TOKEN, dblob, dlen, &r);
    free(r.body);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    vk_hparams hp = {.image_size = 8,
                     .patch_size = 4,
                     .n_channels = 1,
                     .dim = 16,
                     .n_layers = 2,
                     .n_heads = 2,
                     .mlp_dim = 32,
                     .n_classes = 3,
                     .ln_eps = 1e-6f,
                     .act = VK_ACT_GELU};
    vk_agent_opts o = {.board = "sim",
                       .token = TOKEN,
                       .max_blob = 1 << 20,
                       .max_json = 1 << 16,
                       .max_store = 64 << 20,
                       .log = stderr};
    vk_model m;
    vk_qmodel q;
    vk_err err = {{0}};
    float f[4 * IMG];
    uint8_t d[32];
    (void)argc;
    (void)argv;
    for (int i = 0; i < 4 * IMG; i++)
        f[i] = (float)((i * 37) % 17) / 4.0f - 2.0f;
    if (vk_model_alloc(&m, &hp, &err) != VK_OK)
        die("model", &err);
    vk_model_randomize(&m, 3);
    if (vk_quant_calibrate(&m, f, 4, &q, &err) != VK_OK ||
        vk_qmodel_to_bytes(&q, &mblob, &mlen, &err) != VK_OK)
        die("quantize", &err);
    vk_sha256(mblob, mlen, d);
    vk_sha256_hex(d, mid);
    dlen = VK_WIRE_DS_HDR + N_IMG * IMG;
    dblob = calloc(1, dlen);
    vk_wire_dataset_header(dblob, N_IMG, IMG);
    for (int i = 0; i < N_IMG; i++)
        vk_quant_input(&q, &f[(i % 4) * IMG], (int8_t *)dblob + VK_WIRE_DS_HDR + i * IMG);
    vk_sha256(dblob, dlen, d);
    vk_sha256_hex(d, did);
    vk_qmodel_free(&q);
    vk_model_free(&m);
    o.log = fopen("/dev/null", "w");
    if (vk_agent_open(&o, &ag, &err) != VK_OK)
        die("agent", &err);
    put_held();
    return 0;
}

/* A copy of base with (offset, xor) pairs from p applied. */
static uint8_t *patched(const uint8_t *base, size_t n, const uint8_t *p, size_t pn, size_t *out_n)
{
    uint8_t *b = malloc(n);
    memcpy(b, base, n);
    for (size_t i = 0; i + 2 < pn; i += 3)
        b[((size_t)p[i] << 8 | p[i + 1]) % n] ^= p[i + 2];
    *out_n = n;
    return b;
}

/* The rest with 0x01 and 0x02 replaced by the held ids. */
static uint8_t *expanded(const uint8_t *p, size_t pn, size_t *out_n)
{
    uint8_t *b = malloc(pn * 64 + 1);
    size_t n = 0;
    for (size_t i = 0; i < pn; i++) {
        if (p[i] == 1 || p[i] == 2) {
            memcpy(b + n, p[i] == 1 ? mid : did, 64);
            n += 64;
        } else {
            b[n++] = p[i];
        }
    }
    *out_n = n;
    return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *methods[] = {"GET", "HEAD", "PUT", "POST", "DELETE", "BREW"};
    static const char *ctypes[] = {NULL, "application/octet-stream", "application/json",
                                   "application/json; charset=utf-8", "text/\x01junk"};
    static const char *auths[] = {NULL, "Bearer " TOKEN, "Bearer fuzz-token-0124"};
    char path[400], text[300];
    uint8_t *body = NULL, dg[32];
    size_t n = 0, tn = 0;
    vk_agent_reply r;
    const char *method;
    char hex[65];

    if (size < 5)
        return 0;
    method = methods[data[0] % 6];
    switch (data[4] % 4) {
    case 0:
        body = malloc(size - 5 + 1);
        memcpy(body, data + 5, size - 5);
        n = size - 5;
        break;
    case 1:
        body = patched(mblob, mlen, data + 5, size - 5, &n);
        break;
    case 2:
        body = patched(dblob, dlen, data + 5, size - 5, &n);
        break;
    default:
        body = expanded(data + 5, size - 5, &n);
    }
    while (tn < n && tn < sizeof text - 1 && body[tn] != '\n' && body[tn])
        tn++;
    memcpy(text, body, tn);
    text[tn] = 0;
    vk_sha256(body, n, dg);
    vk_sha256_hex(dg, hex);
    switch (data[1] % 8) {
    case 0:
        snprintf(path, sizeof path, "/v1/status");
        break;
    case 1:
        snprintf(path, sizeof path, "/v1/measure");
        break;
    case 2:
        snprintf(path, sizeof path, "/v1/models/%s", hex);
        break;
    case 3:
        snprintf(path, sizeof path, "/v1/datasets/%s", hex);
        break;
    case 4:
        snprintf(path, sizeof path, "/v1/models/%s", mid);
        break;
    case 5:
        snprintf(path, sizeof path, "/v1/datasets/%s", did);
        break;
    case 6:
        snprintf(path, sizeof path, "/v1/models/%s", text);
        break;
    default:
        snprintf(path, sizeof path, "%s", text);
    }
    vk_agent_handle(ag, method, path, ctypes[data[2] % 5], auths[data[3] % 3], body, n, &r);
    if (r.status < 200 || r.status > 599 || (!r.body && strcmp(method, "HEAD")) ||
        (r.body && r.body[0] != '{')) {
        fprintf(stderr, "agent_fuzz: %s %s -> %d %s\n", method, path, r.status,
                r.body ? r.body : "(no body)");
        abort();
    }
    free(r.body);
    free(body);
    /* uploads may have evicted the held pair; keep it for the next input */
    if (data[1] % 8 == 2 || data[1] % 8 == 3)
        put_held();
    return 0;
}
