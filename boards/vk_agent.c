/* vk_agent: the HTTP agent serving one board (see vk_agent.h for the
 * protocol).
 *
 * Structure: check_head() decides from the method, path and headers alone
 * whether a request can be taken (route, id, auth, content type, announced
 * size) and how large its body may be; the libmicrohttpd callback calls it
 * before reading any body, so refusals cost no upload. answer() then serves
 * a complete request. vk_agent_handle() is the two in sequence.
 *
 * Invariants:
 *   - a->mu guards the store, the counters, busy/progress and loaded_*;
 *     it is never held while the board runs;
 *   - a->board_mu is held for a whole measurement (and the loads before it);
 *     a second measurement finds it taken (trylock) and gets 409 at once;
 *   - a held upload is freed only with refs == 0 (eviction skips entries a
 *     measurement is using);
 *   - no path from the network names a file: ids are validated hex digests
 *     and uploads live in memory.
 */
#include "boards/vk_agent.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <ctype.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "boards/vk_board.h"
#include "host/vk_quant.h"
#include "host/vk_sha256.h"
#include "boards/vk_wire.h"

#include <sys/socket.h>

#define DS_MAGIC "VKDS0001"
#define MIN_BODY_RATE 65536.0 /* bytes/s a body must at least arrive at */
#define DS_HDR 16
#define MAX_HELD 256 /* uploads of each kind kept at most */
/* connection threads run measurements, and a board may run the kernel in
   the calling thread (about 1.1 MiB of locals at DeiT-S maxima) */
#define VK_AGENT_STACK (16u << 20)

typedef enum { HELD_MODEL, HELD_DATASET } held_kind;

/* One upload kept in memory, content-addressed by id. */
typedef struct held {
    struct held *next;
    held_kind kind;
    char id[65];
    size_t bytes;  /* memory it takes, for the store budget */
    uint64_t used; /* a->tick at the last use (LRU) */
    int refs;      /* measurements using it now */
    vk_qmodel q;   /* HELD_MODEL */
    int8_t *imgs;  /* HELD_DATASET: n * img_n */
    int n;
    size_t img_n;
} held;

struct vk_agent {
    vk_board *board;
    char spec[256];
    char addr[64];
    int port, v6;
    char url[96];
    char *token; /* NULL: none */
    size_t max_blob, max_json, max_store;
    unsigned timeout_s, max_conns;
    FILE *log;
    struct MHD_Daemon *d;

    pthread_mutex_t mu; /* everything below */
    held *store;
    size_t store_bytes;
    size_t in_flight; /* bytes reserved by uploads being received */
    uint64_t tick;
    int busy, prog_done, prog_total;
    char loaded_model[65], loaded_data[65]; /* what the board holds; "" none */
    uint64_t n_requests, n_model_up, n_data_up, n_measures;

    pthread_mutex_t board_mu; /* held during a measurement */

    /* open connections (conn_* below); cmu guards them and the counters */
    pthread_mutex_t cmu;
    pthread_cond_t ccv;       /* wakes the watchdog to stop */
    struct vconn *conns;
    unsigned max_per_client, header_s;
    uint64_t n_evicted, n_timed_out, n_refused_conns;
    int stop_watchdog, watchdog_on;
    pthread_t watchdog;
};

typedef enum { R_STATUS, R_MODEL_HEAD, R_MODEL_PUT, R_DATA_HEAD, R_DATA_PUT, R_MEASURE } route_kind;

typedef struct {
    route_kind kind;
    char id[65];
    size_t limit; /* largest body accepted */
} route;

/* ---- replies ----------------------------------------------------------- */

static void reply_json(vk_agent_reply *r, int status, cJSON *o)
{
    r->status = status;
    r->body = o ? cJSON_PrintUnformatted(o) : NULL;
    if (o && !r->body) {
        r->status = 500;
        r->body = strdup("{\"error\":\"nomem\",\"message\":\"out of memory\"}");
    }
    cJSON_Delete(o);
}

static void reply_err(vk_agent_reply *r, int status, const char *code, const char *field,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* {"error": code, "message": ..., "field": field (when non-NULL)} */
static void reply_err(vk_agent_reply *r, int status, const char *code, const char *field,
                      const char *fmt, ...)
{
    char msg[VK_ERR_MAX];
    va_list ap;
    cJSON *o = cJSON_CreateObject();
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (o) {
        cJSON_AddStringToObject(o, "error", code);
        cJSON_AddStringToObject(o, "message", msg);
        if (field)
            cJSON_AddStringToObject(o, "field", field);
    }
    reply_json(r, status, o);
    r->status = status;
}

/* A board error: 400 for requests the board refuses, 500 otherwise. */
static void reply_board_err(vk_agent_reply *r, vk_status rc, const vk_err *err)
{
    int status = (rc == VK_E_ARG || rc == VK_E_FORMAT || rc == VK_E_UNSUPPORTED) ? 400 : 500;
    cJSON *o = cJSON_CreateObject();
    if (o) {
        cJSON_AddStringToObject(o, "error", "board");
        cJSON_AddStringToObject(o, "message", err->msg);
        cJSON_AddStringToObject(o, "status", vk_status_str(rc));
        cJSON_AddNumberToObject(o, "code", rc);
    }
    reply_json(r, status, o);
    r->status = status;
}

/* ---- request heads ----------------------------------------------------- */

/* Media type of a Content-Type header (before ';', trimmed) equals want. */
static int ctype_is(const char *ctype, const char *want)
{
    size_t n = strlen(want);
    if (!ctype)
        return 0;
    while (*ctype == ' ' || *ctype == '\t')
        ctype++;
    if (strncasecmp(ctype, want, n))
        return 0;
    ctype += n;
    while (*ctype == ' ' || *ctype == '\t')
        ctype++;
    return !*ctype || *ctype == ';';
}

/* Constant-time comparison of the Authorization header with "Bearer TOKEN". */
static int auth_ok(const vk_agent *a, const char *auth)
{
    size_t n, i;
    unsigned char diff = 0;
    if (!a->token)
        return 1;
    if (!auth || strncasecmp(auth, "Bearer ", 7))
        return 0;
    auth += 7;
    n = strlen(a->token);
    if (strlen(auth) != n)
        return 0;
    for (i = 0; i < n; i++)
        diff |= (unsigned char)(auth[i] ^ a->token[i]);
    return diff == 0;
}

/* Route, method, auth, content type and announced length (clen < 0: not
 * announced). Returns 1 and fills rt when the request may proceed, else 0
 * with the refusal in r. */
static int check_head(const vk_agent *a, const char *method, const char *path, const char *ctype,
                      const char *auth, long long clen, route *rt, vk_agent_reply *r)
{
    int get = !strcmp(method, "GET"), head = !strcmp(method, "HEAD");
    int put = !strcmp(method, "PUT"), post = !strcmp(method, "POST");
    const char *id = NULL, *want_ctype = NULL;

    memset(rt, 0, sizeof *rt);
    if (!auth_ok(a, auth)) {
        reply_err(r, 401, "unauthorized", NULL,
                  "this agent needs an 'Authorization: Bearer TOKEN' header with its token");
        return 0;
    }
    if (!strcmp(path, "/v1/status")) {
        if (!get && !head) {
            r->allow = "GET, HEAD";
            reply_err(r, 405, "method", NULL, "%.16s %s: allowed methods are GET, HEAD", method,
                      path);
            return 0;
        }
        rt->kind = R_STATUS;
    } else if (!strcmp(path, "/v1/measure")) {
        if (!post) {
            r->allow = "POST";
            reply_err(r, 405, "method", NULL, "%.16s %s: allowed method is POST", method, path);
            return 0;
        }
        rt->kind = R_MEASURE;
        rt->limit = a->max_json;
        want_ctype = "application/json";
    } else if (!strncmp(path, "/v1/models/", 11) || !strncmp(path, "/v1/datasets/", 13)) {
        int model = path[4] == 'm';
        id = path + (model ? 11 : 13);
        if (!head && !put) {
            r->allow = "HEAD, PUT";
            reply_err(r, 405, "method", NULL, "%.16s on %s: allowed methods are HEAD, PUT", method,
                      model ? "/v1/models/ID" : "/v1/datasets/ID");
            return 0;
        }
        if (!vk_wire_is_id(id)) {
            reply_err(r, 400, "bad id", "id",
                      "%s id: expected the SHA-256 of the body as 64 lower-case hex digits",
                      model ? "model" : "dataset");
            return 0;
        }
        rt->kind = model ? (put ? R_MODEL_PUT : R_MODEL_HEAD) : (put ? R_DATA_PUT : R_DATA_HEAD);
        memcpy(rt->id, id, 65);
        if (put) {
            rt->limit = a->max_blob;
            want_ctype = "application/octet-stream";
        }
    } else {
        reply_err(r, 404, "not found", NULL,
                  "no such route (expected /v1/status, /v1/models/ID, /v1/datasets/ID or "
                  "/v1/measure)");
        return 0;
    }
    if (want_ctype && !ctype_is(ctype, want_ctype)) {
        reply_err(r, 415, "content type", "Content-Type", "%s %s: expected Content-Type %s", method,
                  rt->kind == R_MEASURE ? path : "upload", want_ctype);
        return 0;
    }
    if (clen > 0 && (unsigned long long)clen > rt->limit) {
        reply_err(r, 413, "too large", NULL, "body of %lld bytes is over this route's limit of %zu",
                  clen, rt->limit);
        return 0;
    }
    return 1;
}

/* ---- the store --------------------------------------------------------- */

static held *store_find(vk_agent *a, held_kind k, const char *id)
{
    for (held *h = a->store; h; h = h->next)
        if (h->kind == k && !strcmp(h->id, id))
            return h;
    return NULL;
}

static void held_free(held *h)
{
    if (!h)
        return;
    vk_qmodel_free(&h->q);
    free(h->imgs);
    free(h);
}

/* Makes room for `bytes` more (evicting least recently used entries not in
 * use) and counts entries of kind k. Under a->mu. Returns 1 when it fits. */
static int store_make_room(vk_agent *a, held_kind k, size_t bytes)
{
    for (;;) {
        held **victim = NULL, **p;
        int n_kind = 0;
        for (p = &a->store; *p; p = &(*p)->next) {
            n_kind += (*p)->kind == k;
            if (!(*p)->refs && (!victim || (*p)->used < (*victim)->used))
                victim = p;
        }
        if (a->store_bytes + bytes <= a->max_store && n_kind < MAX_HELD)
            return 1;
        if (!victim)
            return 0;
        held *v = *victim;
        *victim = v->next;
        a->store_bytes -= v->bytes;
        if (!strcmp(a->loaded_model, v->id))
            a->loaded_model[0] = 0;
        if (!strcmp(a->loaded_data, v->id))
            a->loaded_data[0] = 0;
        held_free(v);
    }
}

/* ---- handlers ---------------------------------------------------------- */

static void serve_status(vk_agent *a, vk_agent_reply *r)
{
    cJSON *o = cJSON_CreateObject(), *models, *datasets, *prog, *stats;
    char desc[256];
    if (!o)
        return reply_json(r, 500, NULL);
    vk_board_describe(a->board, desc, sizeof desc);
    cJSON_AddNumberToObject(o, "version", VK_AGENT_PROTOCOL);
    cJSON_AddStringToObject(o, "board", vk_board_kind(a->board));
    cJSON_AddStringToObject(o, "identity", vk_board_identity(a->board));
    cJSON_AddStringToObject(o, "spec", a->spec);
    cJSON_AddStringToObject(o, "describe", desc);
    models = cJSON_AddArrayToObject(o, "models");
    datasets = cJSON_AddArrayToObject(o, "datasets");
    prog = cJSON_AddObjectToObject(o, "progress");
    stats = cJSON_AddObjectToObject(o, "stats");
    pthread_mutex_lock(&a->mu);
    cJSON_AddBoolToObject(o, "busy", a->busy);
    cJSON_AddNumberToObject(prog, "done", a->prog_done);
    cJSON_AddNumberToObject(prog, "total", a->prog_total);
    for (held *h = a->store; h; h = h->next)
        cJSON_AddItemToArray(h->kind == HELD_MODEL ? models : datasets, cJSON_CreateString(h->id));
    cJSON_AddNumberToObject(stats, "requests", (double)a->n_requests);
    cJSON_AddNumberToObject(stats, "model_uploads", (double)a->n_model_up);
    cJSON_AddNumberToObject(stats, "dataset_uploads", (double)a->n_data_up);
    cJSON_AddNumberToObject(stats, "measures", (double)a->n_measures);
    cJSON_AddNumberToObject(stats, "upload_bytes_in_flight", (double)a->in_flight);
    pthread_mutex_unlock(&a->mu);
    pthread_mutex_lock(&a->cmu);
    cJSON_AddNumberToObject(stats, "connections_evicted", (double)a->n_evicted);
    cJSON_AddNumberToObject(stats, "connections_timed_out", (double)a->n_timed_out);
    cJSON_AddNumberToObject(stats, "connections_refused", (double)a->n_refused_conns);
    pthread_mutex_unlock(&a->cmu);
    reply_json(r, 200, o);
}

static void serve_head(vk_agent *a, held_kind k, const char *id, vk_agent_reply *r)
{
    pthread_mutex_lock(&a->mu);
    r->status = store_find(a, k, id) ? 200 : 404;
    pthread_mutex_unlock(&a->mu);
}

/* An upload being received: its bytes are hashed and written to their one
 * buffer as they arrive (a dataset's images straight into the buffer the
 * store keeps). Its size was announced and reserved against the store
 * budget before the first byte was read. */
typedef struct {
    held_kind kind;
    char id[65];
    size_t len, got;   /* announced, received so far */
    size_t reserved;   /* counted in a->in_flight */
    vk_sha256_ctx sha;
    uint8_t hdr[DS_HDR]; /* a dataset's header */
    uint8_t *buf;      /* model: the whole blob; dataset: the images */
} upload;

/* Memory an upload of len bytes takes while it is parsed: a model's blob
 * and its parsed copy; a dataset's images (read in place). */
static size_t upload_cost(held_kind k, size_t len)
{
    return k == HELD_MODEL ? 2 * len : len;
}

/* Starts an upload of len announced bytes. Returns 1 when the body should
 * be read; else 0 with the answer in r: 200 when already held (the body is
 * not needed), 413 when it can never fit (larger than the store: do not
 * retry), 503 when the store is taken by uploads and measurements in
 * progress (retry later), 400 for a dataset too short for its header. */
static int upload_begin(vk_agent *a, held_kind k, const char *id, size_t len, upload *u,
                        vk_agent_reply *r)
{
    const char *what = k == HELD_MODEL ? "model" : "dataset";
    size_t cost = upload_cost(k, len);
    int fits;
    memset(u, 0, sizeof *u);
    if (k == HELD_DATASET && len < DS_HDR)
        return reply_err(r, 400, "bad dataset", "body",
                         "dataset upload: expected the magic \"" DS_MAGIC "\" and a %d-byte "
                         "header",
                         DS_HDR), 0;
    if (cost > a->max_store)
        return reply_err(r, 413, "too large", NULL,
                         "%s of %zu bytes can never fit in this agent's %zu-byte store (it "
                         "takes %zu while it is read); start the agent with a larger store",
                         what, len, a->max_store, cost), 0;
    pthread_mutex_lock(&a->mu);
    if (store_find(a, k, id)) {
        pthread_mutex_unlock(&a->mu);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", id);
        cJSON_AddBoolToObject(o, "held", 1);
        return reply_json(r, 200, o), 0;
    }
    fits = store_make_room(a, k, a->in_flight + cost);
    if (fits)
        a->in_flight += cost;
    pthread_mutex_unlock(&a->mu);
    if (!fits)
        return reply_err(r, 503, "store full", NULL,
                         "%s of %zu bytes does not fit in the agent's %zu-byte store while other "
                         "uploads and measurements use it; retry later",
                         what, len, a->max_store), 0;
    u->kind = k;
    memcpy(u->id, id, 65);
    u->len = len;
    u->reserved = cost;
    vk_sha256_init(&u->sha);
    u->buf = malloc(k == HELD_MODEL ? (len ? len : 1) : len - DS_HDR + 1);
    if (!u->buf) {
        pthread_mutex_lock(&a->mu);
        a->in_flight -= cost;
        pthread_mutex_unlock(&a->mu);
        return reply_err(r, 500, "nomem", NULL, "out of memory for a %zu-byte %s", len, what), 0;
    }
    return 1;
}

/* Hashes and stores the next n bytes of the body. Returns 0 when they go
 * past the announced length (the caller answers 413). */
static int upload_feed(upload *u, const uint8_t *p, size_t n)
{
    if (n > u->len - u->got)
        return 0;
    vk_sha256_update(&u->sha, p, n);
    if (u->kind == HELD_MODEL) {
        memcpy(u->buf + u->got, p, n);
        u->got += n;
        return 1;
    }
    while (n && u->got < DS_HDR) {
        u->hdr[u->got++] = *p++;
        n--;
    }
    memcpy(u->buf + (u->got - DS_HDR), p, n);
    u->got += n;
    return 1;
}

/* Gives back the reservation and the buffer (what was not kept). */
static void upload_end(vk_agent *a, upload *u)
{
    if (u->reserved) {
        pthread_mutex_lock(&a->mu);
        a->in_flight -= u->reserved;
        pthread_mutex_unlock(&a->mu);
        u->reserved = 0;
    }
    free(u->buf);
    u->buf = NULL;
}

/* Verifies a complete upload and keeps it: 201 stored, 200 held already,
 * 400 a digest that is not the id or an invalid blob. */
static void upload_finish(vk_agent *a, upload *u, vk_agent_reply *r)
{
    uint8_t dg[32];
    char hex[65];
    const char *what = u->kind == HELD_MODEL ? "model" : "dataset";
    held *h;
    vk_err err = {{0}};
    int fits;

    if (u->got != u->len) {
        reply_err(r, 400, "short body", "body", "%s upload: %zu of the announced %zu bytes came",
                  what, u->got, u->len);
        return upload_end(a, u);
    }
    vk_sha256_final(&u->sha, dg);
    vk_sha256_hex(dg, hex);
    if (strcmp(hex, u->id)) {
        reply_err(r, 400, "digest mismatch", "id",
                  "%s upload: SHA-256 of the %zu-byte body is %s, not the id in the path", what,
                  u->len, hex);
        return upload_end(a, u);
    }
    h = calloc(1, sizeof *h);
    if (!h) {
        reply_err(r, 500, "nomem", NULL, "out of memory for a %zu-byte %s", u->len, what);
        return upload_end(a, u);
    }
    h->kind = u->kind;
    memcpy(h->id, u->id, 65);
    if (u->kind == HELD_MODEL) {
        if (vk_qmodel_from_bytes(u->buf, u->len, "model upload", &h->q, &err) != VK_OK) {
            free(h);
            reply_err(r, 400, "bad model", "body", "%s", err.msg);
            return upload_end(a, u);
        }
        h->bytes = h->q.par_n * sizeof *h->q.par + h->q.wt_n;
    } else {
        uint32_t n = 0, img_n = 0;
        size_t body = u->len - DS_HDR;
        if (!vk_wire_dataset_header_read(u->hdr, &n, &img_n) && memcmp(u->hdr, DS_MAGIC, 8)) {
            free(h);
            reply_err(r, 400, "bad dataset", "body",
                      "dataset upload: expected the magic \"" DS_MAGIC "\" and a %d-byte header",
                      DS_HDR);
            return upload_end(a, u);
        }
        if (n < 1 || n > INT32_MAX || img_n < 1 || body / img_n != n || body % img_n) {
            free(h);
            reply_err(r, 400, "bad dataset", "body",
                      "dataset upload: header says %u images of %u bytes but %zu bytes follow",
                      (unsigned)n, (unsigned)img_n, body);
            return upload_end(a, u);
        }
        h->imgs = (int8_t *)u->buf; /* the images were written in place */
        u->buf = NULL;
        h->n = (int)n;
        h->img_n = img_n;
        h->bytes = body;
    }
    free(u->buf);
    u->buf = NULL;

    pthread_mutex_lock(&a->mu);
    a->in_flight -= u->reserved;
    u->reserved = 0;
    if (store_find(a, u->kind, u->id)) { /* another upload of it finished first */
        pthread_mutex_unlock(&a->mu);
        held_free(h);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", u->id);
        cJSON_AddBoolToObject(o, "held", 1);
        return reply_json(r, 200, o);
    }
    fits = store_make_room(a, u->kind, a->in_flight + h->bytes);
    if (fits) {
        h->used = ++a->tick;
        h->next = a->store;
        a->store = h;
        a->store_bytes += h->bytes;
        if (u->kind == HELD_MODEL)
            a->n_model_up++;
        else
            a->n_data_up++;
    }
    pthread_mutex_unlock(&a->mu);
    if (!fits) {
        size_t b = h->bytes;
        held_free(h);
        return reply_err(r, 503, "store full", NULL,
                         "%s of %zu bytes does not fit in the agent's %zu-byte store while other "
                         "uploads and measurements use it; retry later",
                         what, b, a->max_store);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", u->id);
    cJSON_AddBoolToObject(o, "held", 1);
    reply_json(r, 201, o);
}

/* A whole body at once (vk_agent_handle): the same steps as a stream. */
static void serve_put(vk_agent *a, held_kind k, const char *id, const uint8_t *body, size_t len,
                      vk_agent_reply *r)
{
    upload u;
    if (!upload_begin(a, k, id, len, &u, r))
        return;
    upload_feed(&u, body, len);
    upload_finish(a, &u, r);
}

static void on_progress(void *ctx, int done, int total)
{
    vk_agent *a = ctx;
    pthread_mutex_lock(&a->mu);
    a->prog_done = done;
    a->prog_total = total;
    pthread_mutex_unlock(&a->mu);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

/* Loads the model and dataset into the board when it holds others, then
 * measures. Called with board_mu held and refs taken on hm and hd. */
static void run_measure(vk_agent *a, held *hm, held *hd, const vk_path_req *req, int n,
                        vk_agent_reply *r)
{
    vk_err err = {{0}};
    vk_status rc;
    vk_measure m;
    vk_img_result *res;
    int load_model, load_data;
    double t0 = now_ms();

    pthread_mutex_lock(&a->mu);
    load_model = strcmp(a->loaded_model, hm->id) != 0;
    load_data = load_model || strcmp(a->loaded_data, hd->id) != 0;
    pthread_mutex_unlock(&a->mu);
    if (load_model) {
        pthread_mutex_lock(&a->mu);
        a->loaded_model[0] = a->loaded_data[0] = 0;
        pthread_mutex_unlock(&a->mu);
        if ((rc = vk_board_load(a->board, &hm->q, &err)) != VK_OK)
            return reply_board_err(r, rc, &err);
        pthread_mutex_lock(&a->mu);
        memcpy(a->loaded_model, hm->id, 65);
        pthread_mutex_unlock(&a->mu);
    }
    if (load_data) {
        pthread_mutex_lock(&a->mu);
        a->loaded_data[0] = 0;
        pthread_mutex_unlock(&a->mu);
        if ((rc = vk_board_load_data(a->board, hd->imgs, hd->n, &err)) != VK_OK)
            return reply_board_err(r, rc, &err);
        pthread_mutex_lock(&a->mu);
        memcpy(a->loaded_data, hd->id, 65);
        pthread_mutex_unlock(&a->mu);
    }
    res = malloc((size_t)n * sizeof *res);
    if (!res)
        return reply_err(r, 500, "nomem", NULL, "out of memory for %d results", n);
    memset(&m, 0, sizeof m);
    rc = vk_board_measure(a->board, req, n, res, &m, &err);
    if (rc != VK_OK) {
        free(res);
        return reply_board_err(r, rc, &err);
    }
    pthread_mutex_lock(&a->mu);
    a->n_measures++;
    pthread_mutex_unlock(&a->mu);
    r->body = vk_wire_measure_ans_encode(vk_board_identity(a->board), &m, res, n,
                                         (int)vk_qmodel_dim(&hm->q, VK_HDR_LAYERS),
                                         now_ms() - t0);
    r->status = r->body ? 200 : 500;
    free(res);
}

static void serve_measure(vk_agent *a, const uint8_t *body, size_t len, vk_agent_reply *r)
{
    vk_wire_measure_req q;
    char bad[128];
    held *hm, *hd;
    int n_layers;
    vk_path_req req;

    if (!vk_wire_measure_req_decode((const char *)body, len, &q, bad, sizeof bad)) {
        char field[48];
        size_t k = strcspn(bad, ":");
        snprintf(field, sizeof field, "%.*s", (int)(k < sizeof field ? k : sizeof field - 1),
                 bad);
        return reply_err(r, 400, strstr(bad, "not valid JSON") ? "bad json" : "bad request",
                         field, "measure: %s", bad);
    }
    if (pthread_mutex_trylock(&a->board_mu) != 0)
        return reply_err(r, 409, "busy", NULL,
                         "a measurement is running on this board; retry later");
    pthread_mutex_lock(&a->mu);
    hm = store_find(a, HELD_MODEL, q.model);
    hd = store_find(a, HELD_DATASET, q.dataset);
    if (hm && hd) {
        hm->refs++;
        hd->refs++;
        hm->used = hd->used = ++a->tick;
        a->busy = 1;
        a->prog_done = 0;
        a->prog_total = q.n;
    }
    pthread_mutex_unlock(&a->mu);
    if (!hm || !hd) {
        pthread_mutex_unlock(&a->board_mu);
        return reply_err(r, 404, hm ? "unknown dataset" : "unknown model",
                         hm ? "dataset" : "model",
                         "measure: %s %s is not held by this agent; upload it first",
                         hm ? "dataset" : "model", hm ? q.dataset : q.model);
    }

    n_layers = (int)vk_qmodel_dim(&hm->q, VK_HDR_LAYERS);
    if (q.n_modes != n_layers)
        reply_err(r, 400, "bad request", "modes",
                  "measure: field 'modes' must be %d mode words (u32), one per encoder",
                  n_layers);
    else if (hd->img_n != vk_qmodel_img_n(&hm->q))
        reply_err(r, 400, "bad request", "dataset",
                  "measure: dataset images have %zu bytes, the model takes %zu", hd->img_n,
                  vk_qmodel_img_n(&hm->q));
    else if (q.n > hd->n)
        reply_err(r, 400, "bad request", "n", "measure: n = %d but the dataset has %d images",
                  q.n, hd->n);
    else {
        memset(&req, 0, sizeof req);
        req.modes = q.modes;
        req.modes_high = q.cascade ? q.modes_high : NULL;
        req.threshold_q16 = q.threshold_q16;
        req.resume = q.resume;
        req.progress = on_progress;
        req.progress_ctx = a;
        run_measure(a, hm, hd, &req, q.n, r);
    }
    pthread_mutex_lock(&a->mu);
    hm->refs--;
    hd->refs--;
    a->busy = 0;
    pthread_mutex_unlock(&a->mu);
    pthread_mutex_unlock(&a->board_mu);
}

/* Serves a request whose head check_head accepted and whose body is in. */
static void answer(vk_agent *a, const route *rt, const uint8_t *body, size_t len, vk_agent_reply *r)
{
    static const uint8_t empty[1];
    if (!body)
        body = empty;
    if (len > rt->limit)
        return reply_err(r, 413, "too large", NULL,
                         "body of %zu bytes is over this route's limit of %zu", len, rt->limit);
    switch (rt->kind) {
    case R_STATUS:
        return serve_status(a, r);
    case R_MODEL_HEAD:
        return serve_head(a, HELD_MODEL, rt->id, r);
    case R_DATA_HEAD:
        return serve_head(a, HELD_DATASET, rt->id, r);
    case R_MODEL_PUT:
        return serve_put(a, HELD_MODEL, rt->id, body, len, r);
    case R_DATA_PUT:
        return serve_put(a, HELD_DATASET, rt->id, body, len, r);
    case R_MEASURE:
        return serve_measure(a, body, len, r);
    }
}

void vk_agent_handle(vk_agent *a, const char *method, const char *path, const char *ctype,
                     const char *auth, const uint8_t *body, size_t len, vk_agent_reply *r)
{
    route rt;
    memset(r, 0, sizeof *r);
    pthread_mutex_lock(&a->mu);
    a->n_requests++;
    pthread_mutex_unlock(&a->mu);
    if (check_head(a, method, path, ctype, auth, (long long)len, &rt, r))
        answer(a, &rt, body, len, r);
    if (!strcmp(method, "HEAD")) {
        free(r->body);
        r->body = NULL;
    }
}

/* ---- libmicrohttpd glue ------------------------------------------------ */

/* Per-connection request state, from the first callback to completion. */
typedef struct {
    double t0;
    route rt;
    int refused; /* a reply was queued before the body */
    int status;
    int uploading; /* up holds a reservation: the body streams into it */
    upload up;
    uint8_t *buf;  /* a JSON body (at most max_json) */
    size_t len, cap;
    char method[16];
    char path[128]; /* printable, truncated: for the log only */
} conn_req;

/* ---- connections ---------------------------------------------------------
 *
 * Every open connection is tracked from accept to close. Its state says
 * whether closing it would lose work: IDLE (no request yet, or between
 * requests: its headers may be trickling in), BODY (a request's body is
 * arriving), BUSY (a complete request being answered). Two rules keep
 * clients with real work served however many connections others open:
 *   - deadlines, in total time rather than idle time: headers must be
 *     complete within header_s of the connection's start (or of its last
 *     answer), a body must arrive at MIN_BODY_RATE at least; a watchdog
 *     thread closes (shutdown) connections past theirs;
 *   - at max_conns open connections, or max_per_client from one address, a
 *     new connection takes the slot of the oldest one that is not BUSY and,
 *     on an agent with a token, has not shown the token (so a client with
 *     the token is never pushed out by one without); only when there is no
 *     such connection is the new one refused. */
typedef enum { C_IDLE, C_BODY, C_BUSY } conn_state;

typedef struct vconn {
    struct vconn *next;
    int fd;
    char ip[64];
    conn_state state;
    int authed;       /* its request carried this agent's token */
    int closing;      /* shut down by us; MHD closes it */
    double since;     /* when it entered its state, monotonic seconds */
    double deadline;  /* the watchdog closes it after this (not when BUSY) */
} vconn;

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void addr_str(const struct sockaddr *sa, char *out, size_t n)
{
    out[0] = 0;
    if (!sa)
        return;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)n);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)n);
}

/* Closes v's socket for reading and writing: its MHD thread sees the end
 * and closes the connection. Under cmu. */
static void conn_kill(vconn *v)
{
    shutdown(v->fd, SHUT_RDWR);
    v->closing = 1;
}

static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
    vk_agent *a = cls;
    char ip[64];
    unsigned total = 0, same = 0;
    vconn *victim = NULL, *victim_same = NULL;
    (void)len;
    addr_str(addr, ip, sizeof ip);
    pthread_mutex_lock(&a->cmu);
    for (vconn *v = a->conns; v; v = v->next) {
        if (v->closing)
            continue;
        int mine = !strcmp(v->ip, ip);
        total++;
        same += mine;
        if (v->state == C_BUSY || (a->token && v->authed))
            continue;
        if (!victim || v->since < victim->since)
            victim = v;
        if (mine && (!victim_same || v->since < victim_same->since))
            victim_same = v;
    }
    int ok = 1;
    if (same >= a->max_per_client) {
        if (victim_same) {
            conn_kill(victim_same);
            a->n_evicted++;
        } else {
            ok = 0;
        }
    } else if (total >= a->max_conns) {
        if (victim) {
            conn_kill(victim);
            a->n_evicted++;
        } else {
            ok = 0;
        }
    }
    a->n_refused_conns += !ok;
    pthread_mutex_unlock(&a->cmu);
    return ok ? MHD_YES : MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    vk_agent *a = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *ad =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        vconn *v = calloc(1, sizeof *v);
        *socket_context = v;
        if (!v || !fd)
            return;
        v->fd = fd->connect_fd;
        addr_str(ad ? ad->client_addr : NULL, v->ip, sizeof v->ip);
        v->since = mono_s();
        v->deadline = v->since + a->header_s;
        pthread_mutex_lock(&a->cmu);
        v->next = a->conns;
        a->conns = v;
        pthread_mutex_unlock(&a->cmu);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        vconn *v = *socket_context;
        if (!v)
            return;
        pthread_mutex_lock(&a->cmu);
        for (vconn **p = &a->conns; *p; p = &(*p)->next)
            if (*p == v) {
                *p = v->next;
                break;
            }
        pthread_mutex_unlock(&a->cmu);
        free(v);
        *socket_context = NULL;
    }
}

static vconn *conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i ? i->socket_context : NULL;
}

/* The headers of a request that may proceed are in; body_len bytes may
 * follow (< 0: unknown). */
static void conn_started(vk_agent *a, struct MHD_Connection *conn, long long body_len)
{
    vconn *v = conn_of(conn);
    if (!v)
        return;
    pthread_mutex_lock(&a->cmu);
    v->state = C_BODY;
    v->authed = a->token != NULL; /* check_head let it through */
    v->since = mono_s();
    v->deadline = v->since + a->header_s + (body_len > 0 ? (double)body_len / MIN_BODY_RATE : 0);
    pthread_mutex_unlock(&a->cmu);
}

static void conn_body_done(vk_agent *a, struct MHD_Connection *conn)
{
    vconn *v = conn_of(conn);
    if (!v)
        return;
    pthread_mutex_lock(&a->cmu);
    v->state = C_BUSY;
    pthread_mutex_unlock(&a->cmu);
}

/* The answer went out: the connection waits for its next request. */
static void conn_idle(vk_agent *a, struct MHD_Connection *conn)
{
    vconn *v = conn_of(conn);
    if (!v)
        return;
    pthread_mutex_lock(&a->cmu);
    v->state = C_IDLE;
    v->authed = 0;
    v->since = mono_s();
    v->deadline = v->since + a->header_s;
    pthread_mutex_unlock(&a->cmu);
}

static void *watchdog(void *p)
{
    vk_agent *a = p;
    pthread_mutex_lock(&a->cmu);
    while (!a->stop_watchdog) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 250000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&a->ccv, &a->cmu, &ts);
        double now = mono_s();
        for (vconn *v = a->conns; v; v = v->next)
            if (!v->closing && v->state != C_BUSY && now > v->deadline) {
                conn_kill(v);
                a->n_timed_out++;
            }
    }
    pthread_mutex_unlock(&a->cmu);
    return NULL;
}

static void log_line(vk_agent *a, const conn_req *c)
{
    fprintf(a->log, "agent: %s %s %d %.1f ms\n", c->method, c->path, c->status, now_ms() - c->t0);
    fflush(a->log);
}

static enum MHD_Result queue(struct MHD_Connection *conn, conn_req *c, vk_agent_reply *r)
{
    struct MHD_Response *resp;
    enum MHD_Result ok;
    size_t n = r->body ? strlen(r->body) : 0;
    resp =
        MHD_create_response_from_buffer(n, r->body ? r->body : (void *)"",
                                        r->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(r->body);
        return MHD_NO;
    }
    if (r->body)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (r->allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    if (r->status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    c->status = r->status;
    ok = MHD_queue_response(conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

/* Announced Content-Length, or -1 when absent or malformed (MHD itself
 * refuses a malformed one). */
static long long content_length(struct MHD_Connection *conn)
{
    const char *s =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    char *end;
    long long v;
    if (!s)
        return -1;
    v = strtoll(s, &end, 10);
    return (end == s || v < 0) ? -1 : v;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    vk_agent *a = cls;
    conn_req *c = *con_cls;
    vk_agent_reply r;
    (void)version;

    if (!c) {
        size_t i;
        c = calloc(1, sizeof *c);
        if (!c)
            return MHD_NO;
        *con_cls = c;
        c->t0 = now_ms();
        snprintf(c->method, sizeof c->method, "%s", method);
        snprintf(c->path, sizeof c->path, "%s", url);
        for (i = 0; c->path[i]; i++)
            if (!isprint((unsigned char)c->path[i]) || c->path[i] == ' ')
                c->path[i] = '?';
        pthread_mutex_lock(&a->mu);
        a->n_requests++;
        pthread_mutex_unlock(&a->mu);
        memset(&r, 0, sizeof r);
        if (!check_head(
                a, method, url,
                MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
                MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
                content_length(conn), &c->rt, &r)) {
            c->refused = 1;
            return queue(conn, c, &r);
        }
        conn_started(a, conn, c->rt.kind == R_MODEL_PUT || c->rt.kind == R_DATA_PUT
                                  ? content_length(conn) : (long long)c->rt.limit);
        if (c->rt.kind == R_MODEL_PUT || c->rt.kind == R_DATA_PUT) {
            long long clen = content_length(conn);
            if (clen < 0) {
                reply_err(&r, 411, "length required", "Content-Length",
                          "uploads must announce their size (Content-Length)");
                c->refused = 1;
                return queue(conn, c, &r);
            }
            if (!upload_begin(a, c->rt.kind == R_MODEL_PUT ? HELD_MODEL : HELD_DATASET,
                              c->rt.id, (size_t)clen, &c->up, &r)) {
                c->refused = 1;
                return queue(conn, c, &r);
            }
            c->uploading = 1;
        }
        return MHD_YES;
    }
    if (c->refused) { /* MHD discards the body of a refused request */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        if (c->uploading) {
            if (!upload_feed(&c->up, (const uint8_t *)upload_data, n)) {
                c->status = 413;
                return MHD_NO;
            }
            *upload_data_size = 0;
            return MHD_YES;
        }
        if (n > c->rt.limit - c->len) {
            /* only reachable without Content-Length (chunked): stop reading */
            c->status = 413;
            return MHD_NO;
        }
        if (c->len + n > c->cap) {
            size_t cap = c->cap ? c->cap : 65536;
            while (cap < c->len + n)
                cap = cap > c->rt.limit / 2 ? c->rt.limit : cap * 2;
            uint8_t *nb = realloc(c->buf, cap);
            if (!nb) {
                c->status = 500;
                return MHD_NO;
            }
            c->buf = nb;
            c->cap = cap;
        }
        memcpy(c->buf + c->len, upload_data, n);
        c->len += n;
        *upload_data_size = 0;
        return MHD_YES;
    }
    conn_body_done(a, conn);
    memset(&r, 0, sizeof r);
    if (c->uploading) {
        upload_finish(a, &c->up, &r);
        c->uploading = 0;
    } else {
        answer(a, &c->rt, c->buf, c->len, &r);
    }
    free(c->buf);
    c->buf = NULL;
    if (!strcmp(method, "HEAD")) {
        free(r.body);
        r.body = NULL;
    }
    return queue(conn, c, &r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    vk_agent *a = cls;
    conn_req *c = *con_cls;
    (void)conn;
    if (!c)
        return;
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && c->status < 400)
        c->status = toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? 408 : 499;
    log_line(a, c);
    if (c->uploading)
        upload_end(a, &c->up);
    conn_idle(a, conn);
    free(c->buf);
    free(c);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    vk_agent *a = cls;
    fprintf(a->log, "agent: libmicrohttpd: ");
    vfprintf(a->log, fmt, ap);
    fflush(a->log);
}

/* ---- lifecycle --------------------------------------------------------- */

static int is_loopback(const char *addr, int v6)
{
    if (v6) {
        struct in6_addr x;
        return inet_pton(AF_INET6, addr, &x) == 1 && IN6_IS_ADDR_LOOPBACK(&x);
    }
    struct in_addr y;
    return inet_pton(AF_INET, addr, &y) == 1 && (ntohl(y.s_addr) >> 24) == 127;
}

vk_status vk_agent_open(const vk_agent_opts *o, vk_agent **out, vk_err *err)
{
    vk_agent *a;
    vk_status rc;
    const char *addr = o->addr ? o->addr : "127.0.0.1";
    struct in6_addr a6;
    struct in_addr a4;
    int v6;

    if (inet_pton(AF_INET, addr, &a4) == 1)
        v6 = 0;
    else if (inet_pton(AF_INET6, addr, &a6) == 1)
        v6 = 1;
    else
        return vk_fail(err, VK_E_ARG, "agent: listen address '%s' is not an IPv4 or IPv6 literal",
                       addr);
    if (o->port < 0 || o->port > 65535)
        return vk_fail(err, VK_E_ARG, "agent: port %d outside 0..65535", o->port);
    if (!is_loopback(addr, v6) && (!o->token || !*o->token))
        return vk_fail(err, VK_E_ARG,
                       "agent: refusing to listen on non-loopback address %s without a token "
                       "(give --token-file FILE; clients then set VITSKIP_TOKEN)",
                       addr);
    a = calloc(1, sizeof *a);
    if (!a)
        return vk_fail(err, VK_E_NOMEM, "agent: out of memory");
    snprintf(a->spec, sizeof a->spec, "%s", o->board ? o->board : "sim");
    snprintf(a->addr, sizeof a->addr, "%s", addr);
    a->v6 = v6;
    a->port = o->port;
    a->max_blob = o->max_blob ? o->max_blob : VK_AGENT_MAX_BLOB_DEFAULT;
    a->max_json = o->max_json ? o->max_json : VK_AGENT_MAX_JSON_DEFAULT;
    a->max_store = o->max_store ? o->max_store : VK_AGENT_MAX_STORE_DEFAULT;
    a->timeout_s = o->timeout_s ? o->timeout_s : VK_AGENT_TIMEOUT_DEFAULT;
    a->max_conns = o->max_conns ? o->max_conns : VK_AGENT_CONNS_DEFAULT;
    a->log = o->log ? o->log : stderr;
    if (o->token && *o->token && !(a->token = strdup(o->token))) {
        free(a);
        return vk_fail(err, VK_E_NOMEM, "agent: out of memory");
    }
    a->max_per_client = o->max_conns_per_client ? o->max_conns_per_client
                                                : VK_AGENT_CONNS_PER_CLIENT_DEFAULT;
    a->header_s = o->header_timeout_s ? o->header_timeout_s : VK_AGENT_HEADER_TIMEOUT_DEFAULT;
    pthread_mutex_init(&a->mu, NULL);
    pthread_mutex_init(&a->board_mu, NULL);
    pthread_mutex_init(&a->cmu, NULL);
    pthread_cond_init(&a->ccv, NULL);
    if ((rc = vk_board_open(a->spec, &a->board, err)) != VK_OK) {
        vk_err_prefix(err, "agent");
        vk_agent_close(a);
        return rc;
    }
    *out = a;
    return VK_OK;
}

vk_status vk_agent_listen(vk_agent *a, vk_err *err)
{
    struct sockaddr_in s4;
    struct sockaddr_in6 s6;
    const struct sockaddr *sa;
    const union MHD_DaemonInfo *info;
    unsigned flags =
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;

    if (a->d)
        return vk_fail(err, VK_E_ARG, "agent: already listening on %s", a->url);
    if (a->v6) {
        memset(&s6, 0, sizeof s6);
        s6.sin6_family = AF_INET6;
        s6.sin6_port = htons((uint16_t)a->port);
        inet_pton(AF_INET6, a->addr, &s6.sin6_addr);
        sa = (const struct sockaddr *)&s6;
        flags |= MHD_USE_IPv6;
    } else {
        memset(&s4, 0, sizeof s4);
        s4.sin_family = AF_INET;
        s4.sin_port = htons((uint16_t)a->port);
        inet_pton(AF_INET, a->addr, &s4.sin_addr);
        sa = (const struct sockaddr *)&s4;
    }
    /* MHD's own limit leaves room for connections we shut down but it has
       not closed yet; ours is max_conns (on_accept) */
    a->d = MHD_start_daemon(
        flags, (uint16_t)a->port, on_accept, a, on_request, a, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
        a, MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_CONNECTION_TIMEOUT, a->timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, a->max_conns + 64, MHD_OPTION_THREAD_STACK_SIZE,
        (size_t)VK_AGENT_STACK, MHD_OPTION_NOTIFY_COMPLETED, on_completed, a,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, a, MHD_OPTION_END);
    if (!a->d)
        return vk_fail(err, VK_E_IO,
                       "agent: cannot listen on %s port %d (in use, or not an address of this "
                       "machine)",
                       a->addr, a->port);
    if (pthread_create(&a->watchdog, NULL, watchdog, a) == 0)
        a->watchdog_on = 1;
    info = MHD_get_daemon_info(a->d, MHD_DAEMON_INFO_BIND_PORT);
    if (info && info->port)
        a->port = info->port;
    snprintf(a->url, sizeof a->url, a->v6 ? "http://[%s]:%d" : "http://%s:%d", a->addr, a->port);
    return VK_OK;
}

int vk_agent_port(const vk_agent *a)
{
    return a->port;
}

const char *vk_agent_url(const vk_agent *a)
{
    return a->url;
}

void vk_agent_close(vk_agent *a)
{
    if (!a)
        return;
    if (a->watchdog_on) {
        pthread_mutex_lock(&a->cmu);
        a->stop_watchdog = 1;
        pthread_cond_signal(&a->ccv);
        pthread_mutex_unlock(&a->cmu);
        pthread_join(a->watchdog, NULL);
    }
    if (a->d)
        MHD_stop_daemon(a->d);
    vk_board_close(a->board);
    while (a->store) {
        held *h = a->store;
        a->store = h->next;
        held_free(h);
    }
    pthread_mutex_destroy(&a->mu);
    pthread_mutex_destroy(&a->board_mu);
    pthread_mutex_destroy(&a->cmu);
    pthread_cond_destroy(&a->ccv);
    free(a->token);
    free(a);
}
