/* vk_agent: the HTTP server behind `vitskip agent` — it serves one local board
 * (sim, cpu or xrt) to remote clients (the `remote` board, vk_board_remote.c).
 * The only code that includes microhttpd.h.
 *
 * Protocol, version 1 (JSON bodies; every error is a JSON object
 * {"error": short code, "message": one line, ...} with the status below):
 *   GET  /v1/status            200 {"version": 1, "board": kind, "spec": spec,
 *                              "identity": the board's (vk_board_identity,
 *                              which the remote board takes as its own),
 *                              "describe": text, "busy": bool,
 *                              "progress": {"done": d, "total": t},
 *                              "models": [ids], "datasets": [ids],
 *                              "stats": {"requests", "model_uploads",
 *                              "dataset_uploads", "measures"}}
 *   HEAD /v1/models/ID         200 held, 404 not held (no body)
 *   PUT  /v1/models/ID         body: a quantized model's file form
 *                              (vk_qmodel_to_bytes), application/octet-stream;
 *                              201 stored, 200 already held (the body
 *                              is not read); 400 when SHA-256(body) != ID
 *                              or the blob is invalid; 411 without a
 *                              Content-Length; 413 at once when the body
 *                              could never fit in the store (do not
 *                              retry); 503 when the store is taken by
 *                              uploads and measurements in progress
 *                              (retry later). The body is hashed and
 *                              written to its one buffer as it arrives,
 *                              its size reserved before the first byte.
 *   HEAD /v1/datasets/ID       as for models
 *   PUT  /v1/datasets/ID       body: "VKDS0001", u32 n, u32 img_n (little
 *                              endian), then n * img_n int8 kernel inputs
 *   POST /v1/measure           application/json {"model": ID, "dataset": ID,
 *                              "n": N, "modes": [u32 x n_layers], optional
 *                              "modes_high": [...], "threshold_q16": i32,
 *                              "resume": i32}; unknown fields are errors.
 *                              200 with every vk_measure field (sources as
 *                              "measured"/"modeled"/"none", "suffix_ms"/
 *                              "suffix_mj" with n_layers+1 entries,
 *                              "stage_cycles" an object keyed by vk_stage_str)
 *                              and "results": {"cls": [N], "entropy_q16": [N],
 *                              "escalated": [N]} (plain JSON integer arrays),
 *                              plus "board" and "ms" (wall time). Counts are
 *                              JSON numbers, exact up to 2^53; latency and
 *                              energy figures have 17 significant digits, so
 *                              they read back bit-exact (null if not finite).
 *                              404 "unknown model"/"unknown dataset" when an ID
 *                              is not held (upload, then retry); 409 "busy"
 *                              at once while another measurement runs (one at
 *                              a time per board: retry with backoff); 400 for
 *                              a request the board refuses (VK_E_ARG/FORMAT/
 *                              UNSUPPORTED), 500 for a board failure; board
 *                              errors carry "status" (vk_status_str) and
 *                              "code" (the vk_status value).
 * IDs are exactly 64 lower-case hex digits (a SHA-256), else 400 "bad id".
 * Every route: unknown path 404, wrong method 405 (with Allow), a body of
 * the wrong Content-Type 415 (application/octet-stream for blobs,
 * application/json for JSON), a body over the limit 413 (announced by
 * Content-Length: answered before the body is read; chunked: the connection
 * is closed), missing or wrong `Authorization: Bearer TOKEN` on an agent with
 * a token 401. Nothing from the network touches the file system: uploads
 * live in memory, least recently used evicted past max_store bytes, which
 * also bounds the bytes of uploads in flight (a model counts twice while it
 * is parsed).
 * Connections: at most max_conns, max_conns_per_client from one address;
 * a request's headers must arrive within header_timeout_s and its body at
 * 64 KiB/s at least, or the connection is closed; when the limits are
 * reached a new connection takes the slot of the oldest one not answering
 * a request (and, on an agent with a token, not holding the token), so
 * slow or idle connections cannot lock out a client with work to do.
 *
 * The bodies are encoded and decoded by boards/vk_wire.h, which the remote
 * board uses too.
 *
 * Lifecycle: open (opens the board, checks options) -> listen (starts the
 * server threads) -> close. vk_agent_handle answers one request without any
 * socket (the server calls it; so do the fuzz target and tests).
 * Thread-safety: listen's threads (one per connection) share the agent; the
 * board is used by one measurement at a time under a mutex.
 *
 *     vk_agent_opts o = {.board = "sim", .port = 0};
 *     vk_agent *a;
 *     if (vk_agent_open(&o, &a, &err) || vk_agent_listen(a, &err)) die(err.msg);
 *     printf("%s\n", vk_agent_url(a));   // http://127.0.0.1:PORT
 *     vk_agent_close(a);                 // when done serving
 */
#ifndef VK_AGENT_H
#define VK_AGENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../host/vk_status.h"

#define VK_AGENT_PROTOCOL 1
#define VK_AGENT_MAX_BLOB_DEFAULT ((size_t)512 << 20) /* model/dataset body, bytes */
#define VK_AGENT_MAX_JSON_DEFAULT ((size_t)1 << 20)   /* JSON body, bytes */
#define VK_AGENT_MAX_STORE_DEFAULT ((size_t)2 << 30)  /* held uploads, bytes */
#define VK_AGENT_TIMEOUT_DEFAULT 30                   /* idle connection, seconds */
#define VK_AGENT_CONNS_DEFAULT 64                     /* open connections */
#define VK_AGENT_CONNS_PER_CLIENT_DEFAULT 16          /* from one address */
#define VK_AGENT_HEADER_TIMEOUT_DEFAULT 10            /* seconds to send a request's headers */

typedef struct {
    const char *board;  /* vk_board_open spec; NULL = "sim" */
    const char *addr;   /* IPv4 or IPv6 literal to listen on; NULL = 127.0.0.1 */
    int port;           /* 0 = a free port (see vk_agent_port) */
    const char *token;  /* bearer token; NULL or "" = none (loopback only) */
    size_t max_blob;    /* 0 = default; bytes */
    size_t max_json;    /* 0 = default; bytes */
    size_t max_store;   /* 0 = default; bytes of uploads kept in memory */
    unsigned timeout_s; /* 0 = default; idle connections closed after this */
    unsigned max_conns; /* 0 = default */
    unsigned max_conns_per_client; /* 0 = default; connections from one address */
    unsigned header_timeout_s;     /* 0 = default; total time for a request's headers */
    FILE *log;          /* request log lines; NULL = stderr */
} vk_agent_opts;

typedef struct vk_agent vk_agent;

/* Checks the options (a non-loopback addr needs a token) and opens the
 * board. Copies everything it keeps from o. Caller owns *a. */
vk_status vk_agent_open(const vk_agent_opts *o, vk_agent **a, vk_err *err);

/* Starts serving (a thread per connection). Fails with VK_E_IO naming the
 * address when it cannot bind. Call once. */
vk_status vk_agent_listen(vk_agent *a, vk_err *err);

/* The bound port (after listen), and "http://ADDR:PORT". */
int vk_agent_port(const vk_agent *a);
const char *vk_agent_url(const vk_agent *a);

/* One request without a transport. body may be NULL when len is 0; ctype
 * and auth are the Content-Type and Authorization headers or NULL. The
 * reply body is JSON (or empty for HEAD); the caller frees r->body. */
typedef struct {
    int status;        /* HTTP status */
    char *body;        /* owned, NUL-terminated; NULL for no body */
    const char *allow; /* for 405: the methods allowed; static */
} vk_agent_reply;

void vk_agent_handle(vk_agent *a, const char *method, const char *path, const char *ctype,
                     const char *auth, const uint8_t *body, size_t len, vk_agent_reply *r);

/* Stops the server (waits for its threads) and closes the board. NULL is a
 * no-op. */
void vk_agent_close(vk_agent *a);

#endif
