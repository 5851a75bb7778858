/* vk_board_remote: the `remote` board — a `vitskip agent` reached over HTTP
 * (protocol in boards/vk_agent.h). The only code that includes curl/curl.h.
 *
 * Spec: "http://HOST:PORT". Token: when the agent needs one, the client
 * sends `Authorization: Bearer T` with T from $VITSKIP_TOKEN, else from the
 * first line of the file $VITSKIP_TOKEN_FILE.
 * Timeouts: connect 3 s ($VITSKIP_HTTP_CONNECT_TIMEOUT, seconds); whole
 * request 600 s ($VITSKIP_HTTP_TIMEOUT, seconds), which also bounds how long
 * a measurement waits for a busy agent; either in 1..86400, else open
 * fails naming the variable.
 *
 * open   GET /v1/status: the agent must answer protocol version 1.
 * load   keeps the model's file form and its SHA-256; HEAD /v1/models/ID,
 *        and PUT only when the agent lacks it.
 * load_data  the same for the images (dataset body: "VKDS0001", u32 n,
 *        u32 img_n, images; vk_agent.h).
 * measure  POST /v1/measure. When the agent answers 404 for the model or
 *        the dataset (it restarted, or evicted them), both are uploaded
 *        again and the request repeated once.
 * Retries, with exponential backoff (0.1 s doubling to 2 s): GET, HEAD and
 * PUT on any transport failure or 503, up to 5 times (a 413, an upload
 * that can never fit the agent's store, is not retried); POST measure only when
 * the request cannot have reached the agent (connection refused or not
 * established) or the agent answered busy (409/503). Repeating a measurement
 * is safe: it changes nothing on the agent but which model and images its
 * board holds, and those are named by content. A measurement whose
 * connection fails after the request was sent is not repeated: VK_E_NET.
 *
 * Every field of the agent's answer is checked (types, ranges, array
 * lengths, n_images = n, classes below the model's, n_escalated = the sum
 * of the flags; latencies in 0..3.6e6 ms and energies in 0..1e9 mJ per
 * image, so a negative or absurd figure never reaches the store); anything else is VK_E_NET with the field named, and no
 * result. Latency and energy keep the agent's sources (modeled stays
 * modeled); the note gets " (via http://HOST:PORT)" appended. Progress is
 * reported once, when the answer is in. Board errors on the agent come back
 * with their own status (VK_E_ARG, VK_E_BOARD, ...) and message. */
#include <cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boards/vk_board.h"
#include "host/vk_clock.h"
#include "host/vk_env.h"
#include "host/vk_sha256.h"
#include "boards/vk_wire.h"

#define CONNECT_S_DEFAULT 3
#define TOTAL_S_DEFAULT 600
#define TIMEOUT_S_MAX 86400
#define RETRIES 5
#define BACKOFF0_MS 100
#define BACKOFF_MAX_MS 2000
#define MAX_ANSWER ((size_t)256 << 20)

typedef struct {
    char base[128];  /* "http://host:port" */
    char auth[4200]; /* "Authorization: Bearer ..." or "" */
    long connect_s, total_s;
    CURL *curl;
    char agent_kind[32];            /* the board the agent serves */
    char agent_id[VK_BOARD_ID_MAX]; /* and its identity, which this board takes */
    char agent_desc[256];
    /* the loaded model, as uploaded */
    uint8_t *model;
    size_t model_len;
    char model_id[65];
    int n_layers, n_classes;
    size_t img_n;
    /* the loaded images, as uploaded */
    uint8_t *data;
    size_t data_len;
    char data_id[65];
} vk_remote;

typedef struct {
    char *p;
    size_t n;
    int over; /* the answer passed MAX_ANSWER */
} buf;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *ctx)
{
    buf *b = ctx;
    size_t n = size * nmemb;
    char *q;
    if (b->n + n > MAX_ANSWER) {
        b->over = 1;
        return 0;
    }
    q = realloc(b->p, b->n + n + 1);
    if (!q)
        return 0;
    memcpy(q + b->n, p, n);
    b->p = q;
    b->n += n;
    b->p[b->n] = 0;
    return n;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

typedef enum {
    RETRY_TRANSPORT, /* idempotent: any transport failure or 503 */
    RETRY_UNSENT     /* POST: only when unsent, or the agent is busy */
} retry_kind;

/* One HTTP exchange with retries. method "GET", "HEAD", "PUT" or "POST";
 * body/len/ctype for PUT and POST. On VK_OK *code is the final HTTP status
 * and ans holds the body (caller frees ans->p). Transport failures after the
 * retries are VK_E_NET (VK_E_TIMEOUT when the total time ran out); a busy
 * agent past the total time is VK_E_BUSY. */
static vk_status http(vk_remote *r, const char *method, const char *path, const void *body,
                      size_t len, const char *ctype, retry_kind rk, long *code, buf *ans,
                      vk_err *err)
{
    char url[512], ctype_h[96];
    double t_end = vk_clock_now() + (double)r->total_s;
    long backoff = BACKOFF0_MS;
    int tries = 0;
    char first[CURL_ERROR_SIZE] = ""; /* the first failure, when later ones differ */

    snprintf(url, sizeof url, "%s%s", r->base, path);
    snprintf(ctype_h, sizeof ctype_h, "Content-Type: %s", ctype ? ctype : "");
    for (;;) {
        struct curl_slist *h = NULL;
        char cerr[CURL_ERROR_SIZE] = "";
        CURLcode cc;
        long st = 0;
        double left = t_end - vk_clock_now();
        buf b = {0};

        curl_easy_reset(r->curl);
        curl_easy_setopt(r->curl, CURLOPT_URL, url);
        curl_easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(r->curl, CURLOPT_PROTOCOLS_STR, "http");
        curl_easy_setopt(r->curl, CURLOPT_CONNECTTIMEOUT, r->connect_s);
        curl_easy_setopt(r->curl, CURLOPT_TIMEOUT_MS, left > 0.001 ? (long)(left * 1000) : 1L);
        curl_easy_setopt(r->curl, CURLOPT_ERRORBUFFER, cerr);
        curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, on_write);
        curl_easy_setopt(r->curl, CURLOPT_WRITEDATA, &b);
        h = curl_slist_append(h, "Expect:");
        if (r->auth[0])
            h = curl_slist_append(h, r->auth);
        if (!strcmp(method, "HEAD")) {
            curl_easy_setopt(r->curl, CURLOPT_NOBODY, 1L);
        } else if (body) {
            /* a new connection for a POST: on a reused one curl itself would
               send it again when the agent dies before answering */
            if (rk == RETRY_UNSENT)
                curl_easy_setopt(r->curl, CURLOPT_FRESH_CONNECT, 1L);
            h = curl_slist_append(h, ctype_h);
            curl_easy_setopt(r->curl, CURLOPT_CUSTOMREQUEST, method);
            curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(r->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        }
        curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, h);
        cc = curl_easy_perform(r->curl);
        curl_slist_free_all(h);
        if (cc == CURLE_OK)
            curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &st);
        tries++;

        curl_off_t conn_us = 0;
        curl_easy_getinfo(r->curl, CURLINFO_CONNECT_TIME_T, &conn_us);
        int busy = cc == CURLE_OK && (st == 409 || st == 503);
        /* refused, or timed out before a connection was made: nothing sent */
        int unsent = cc == CURLE_COULDNT_CONNECT || (cc == CURLE_OPERATION_TIMEDOUT && !conn_us);
        int retry = rk == RETRY_TRANSPORT ? cc != CURLE_OK || st == 503 : unsent || busy;
        if (retry && busy)
            retry = vk_clock_now() + backoff / 1000.0 < t_end; /* wait for a busy agent */
        else if (retry)
            retry = tries <= RETRIES && vk_clock_now() + backoff / 1000.0 < t_end;
        if (retry && cc != CURLE_OK && !first[0])
            snprintf(first, sizeof first, "%s", cerr[0] ? cerr : curl_easy_strerror(cc));
        if (retry) {
            free(b.p);
            sleep_ms(backoff);
            backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
            continue;
        }
        if (cc != CURLE_OK) {
            free(b.p);
            if (b.over)
                return vk_fail(err, VK_E_NET, "%s %s%s: answer larger than %zu bytes", method,
                               r->base, path, MAX_ANSWER);
            const char *last = cerr[0] ? cerr : curl_easy_strerror(cc);
            int same = !first[0] || !strcmp(first, last);
            return vk_fail(err, cc == CURLE_OPERATION_TIMEDOUT ? VK_E_TIMEOUT : VK_E_NET,
                           "%s %s%s: %s (after %d tr%s%s%s)", method, r->base, path, last, tries,
                           tries == 1 ? "y" : "ies", same ? "" : "; first: ", same ? "" : first);
        }
        if (busy && st == 409) {
            free(b.p);
            return vk_fail(err, VK_E_BUSY,
                           "%s %s%s: the agent stayed busy for %ld s (VITSKIP_HTTP_TIMEOUT)",
                           method, r->base, path, r->total_s);
        }
        *code = st;
        *ans = b;
        return VK_OK;
    }
}

/* The agent's error answer as a status and message: board errors keep
 * their status, anything else is VK_E_NET. */
static vk_status agent_error(const vk_remote *r, const char *what, long code, const buf *ans,
                             vk_err *err)
{
    cJSON *j = ans->p ? cJSON_ParseWithLength(ans->p, ans->n) : NULL;
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "code");
    vk_status rc = VK_E_NET;
    if (cJSON_IsNumber(c)) {
        int v = c->valueint;
        if (v == VK_E_ARG || v == VK_E_FORMAT || v == VK_E_UNSUPPORTED || v == VK_E_BOARD ||
            v == VK_E_NOMEM || v == VK_E_TIMEOUT)
            rc = (vk_status)v;
    }
    vk_fail(err, rc, "agent %s: %s: HTTP %ld: %s", r->base, what, code,
            cJSON_IsString(msg) ? msg->valuestring : "(no error message)");
    cJSON_Delete(j);
    return rc;
}

static vk_status read_token_file(const char *path, char *out, size_t n, vk_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return vk_fail(err, VK_E_IO, "VITSKIP_TOKEN_FILE %s: %s", path, strerror(errno));
    if (!fgets(out, (int)n, f))
        out[0] = 0;
    fclose(f);
    out[strcspn(out, "\r\n")] = 0;
    for (size_t l = strlen(out); l && (out[l - 1] == ' ' || out[l - 1] == '\t');)
        out[--l] = 0;
    if (!out[0])
        return vk_fail(err, VK_E_FORMAT, "VITSKIP_TOKEN_FILE %s: first line is empty", path);
    return VK_OK;
}

/* GET /v1/status; checks the protocol version and keeps the board's kind
 * and identity. */
static vk_status fetch_status(vk_remote *r, vk_err *err)
{
    long code = 0;
    buf ans = {0};
    vk_status rc = http(r, "GET", "/v1/status", NULL, 0, NULL, RETRY_TRANSPORT, &code, &ans, err);
    cJSON *j;
    const cJSON *v, *kind, *desc, *id;
    if (rc != VK_OK)
        return rc;
    if (code != 200) {
        rc = agent_error(r, "status", code, &ans, err);
        free(ans.p);
        return rc;
    }
    j = cJSON_ParseWithLength(ans.p ? ans.p : "", ans.n);
    free(ans.p);
    v = cJSON_GetObjectItemCaseSensitive(j, "version");
    kind = cJSON_GetObjectItemCaseSensitive(j, "board");
    desc = cJSON_GetObjectItemCaseSensitive(j, "describe");
    id = cJSON_GetObjectItemCaseSensitive(j, "identity");
    if (!cJSON_IsNumber(v) || !cJSON_IsString(kind) || !cJSON_IsString(desc)) {
        cJSON_Delete(j);
        return vk_fail(err, VK_E_NET,
                       "%s/v1/status: not a vitskip agent's answer (expected version, board, "
                       "describe)",
                       r->base);
    }
    if (v->valuedouble != 1) {
        cJSON_Delete(j);
        return vk_fail(err, VK_E_UNSUPPORTED, "%s: agent speaks protocol %g, this client 1",
                       r->base, v->valuedouble);
    }
    if (!cJSON_IsString(id) || !vk_board_identity_ok(id->valuestring)) {
        cJSON_Delete(j);
        return vk_fail(
            err, VK_E_NET,
            "%s/v1/status: identity missing or malformed (expected \"kind:fingerprint\", "
            "at most %d characters of [A-Za-z0-9 ._:@()+,#=/-]; an agent older than "
            "this client does not send it: upgrade it)",
            r->base, VK_BOARD_ID_MAX - 1);
    }
    snprintf(r->agent_id, sizeof r->agent_id, "%s", id->valuestring);
    snprintf(r->agent_kind, sizeof r->agent_kind, "%s", kind->valuestring);
    snprintf(r->agent_desc, sizeof r->agent_desc, "%s", desc->valuestring);
    cJSON_Delete(j);
    return VK_OK;
}

static void remote_close(void *state);

static void remote_identity(void *state, char *out, size_t len)
{
    snprintf(out, len, "%s", ((const vk_remote *)state)->agent_id);
}

static vk_status remote_open(const char *spec, void **state, vk_err *err)
{
    vk_remote *r;
    const char *tok = getenv("VITSKIP_TOKEN"), *tokf = getenv("VITSKIP_TOKEN_FILE");
    char t[4096];
    size_t n = strlen(spec);
    long connect_s, total_s;
    vk_status rc;

    if (strncmp(spec, "http://", 7) || n >= sizeof r->base)
        return vk_fail(err, VK_E_ARG, "board '%s': expected http://HOST:PORT", spec);
    if ((rc = vk_env_long("VITSKIP_HTTP_CONNECT_TIMEOUT", CONNECT_S_DEFAULT, 1, TIMEOUT_S_MAX,
                          &connect_s, err)) != VK_OK ||
        (rc = vk_env_long("VITSKIP_HTTP_TIMEOUT", TOTAL_S_DEFAULT, 1, TIMEOUT_S_MAX, &total_s,
                          err)) != VK_OK)
        return rc;
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return vk_fail(err, VK_E_NET, "board '%s': libcurl: %s", spec,
                       curl_easy_strerror(curl_init_rc));
    r = calloc(1, sizeof *r);
    if (!r)
        return vk_fail(err, VK_E_NOMEM, "board '%s': out of memory", spec);
    memcpy(r->base, spec, n + 1);
    if (n > 7 && r->base[n - 1] == '/')
        r->base[n - 1] = 0;
    r->connect_s = connect_s;
    r->total_s = total_s;
    if (tok && *tok) {
        snprintf(t, sizeof t, "%s", tok);
    } else if (tokf && *tokf) {
        if ((rc = read_token_file(tokf, t, sizeof t, err)) != VK_OK) {
            free(r);
            return rc;
        }
    } else {
        t[0] = 0;
    }
    if (t[0])
        snprintf(r->auth, sizeof r->auth, "Authorization: Bearer %s", t);
    if (!(r->curl = curl_easy_init())) {
        free(r);
        return vk_fail(err, VK_E_NET, "board '%s': libcurl cannot start", spec);
    }
    if ((rc = fetch_status(r, err)) != VK_OK) {
        vk_err_prefix(err, "board '%s'", spec);
        remote_close(r);
        return rc;
    }
    *state = r;
    return VK_OK;
}

/* Makes sure the agent holds a blob: HEAD, then PUT when it is missing. */
static vk_status ensure_held(vk_remote *r, const char *kind, const char *id, const uint8_t *blob,
                             size_t len, vk_err *err)
{
    char path[96], what[128];
    long code = 0;
    buf ans = {0};
    vk_status rc;
    snprintf(path, sizeof path, "/v1/%s/%s", kind, id);
    snprintf(what, sizeof what, "%s upload", kind);
    if ((rc = http(r, "HEAD", path, NULL, 0, NULL, RETRY_TRANSPORT, &code, &ans, err)) != VK_OK)
        return rc;
    free(ans.p);
    if (code == 200)
        return VK_OK;
    if (code != 404)
        return vk_fail(err, VK_E_NET, "agent %s: HEAD %s: unexpected HTTP %ld", r->base, path,
                       code);
    if ((rc = http(r, "PUT", path, blob, len, "application/octet-stream", RETRY_TRANSPORT, &code,
                   &ans, err)) != VK_OK)
        return rc;
    if (code != 200 && code != 201)
        rc = agent_error(r, what, code, &ans, err);
    free(ans.p);
    return rc;
}

static vk_status remote_load(void *state, const vk_qmodel *q, vk_err *err)
{
    vk_remote *r = state;
    uint8_t *blob, d[32];
    size_t len;
    char id[65];
    vk_status rc;
    if ((rc = vk_qmodel_to_bytes(q, &blob, &len, err)) != VK_OK)
        return rc;
    vk_sha256(blob, len, d);
    vk_sha256_hex(d, id);
    if ((rc = ensure_held(r, "models", id, blob, len, err)) != VK_OK) {
        free(blob);
        return rc;
    }
    free(r->model);
    free(r->data);
    r->data = NULL;
    r->data_len = 0;
    r->data_id[0] = 0;
    r->model = blob;
    r->model_len = len;
    memcpy(r->model_id, id, 65);
    r->n_layers = (int)vk_qmodel_dim(q, VK_HDR_LAYERS);
    r->n_classes = (int)vk_qmodel_dim(q, VK_HDR_CLASSES);
    r->img_n = vk_qmodel_img_n(q);
    return VK_OK;
}

static vk_status remote_load_data(void *state, const int8_t *imgs, int n, vk_err *err)
{
    vk_remote *r = state;
    size_t len = VK_WIRE_DS_HDR + (size_t)n * r->img_n;
    uint8_t *blob = malloc(len), d[32];
    char id[65];
    vk_status rc;
    if (!blob)
        return vk_fail(err, VK_E_NOMEM, "board '%s': out of memory for %d images", r->base, n);
    vk_wire_dataset_header(blob, (uint32_t)n, (uint32_t)r->img_n);
    memcpy(blob + VK_WIRE_DS_HDR, imgs, (size_t)n * r->img_n);
    vk_sha256(blob, len, d);
    vk_sha256_hex(d, id);
    if ((rc = ensure_held(r, "datasets", id, blob, len, err)) != VK_OK) {
        free(blob);
        return rc;
    }
    free(r->data);
    r->data = blob;
    r->data_len = len;
    memcpy(r->data_id, id, 65);
    return VK_OK;
}

/* Decodes and checks a measure answer (vk_wire) into res/out (untouched on
 * error); the note says where it came from. */
static vk_status parse_answer(const vk_remote *r, const buf *ans, int n, int cascade,
                              vk_img_result *res, vk_measure *out, vk_err *err)
{
    vk_measure m;
    char bad[320], note[sizeof m.note];
    size_t room;
    if (!vk_wire_measure_ans_decode(ans->p, ans->n, r->agent_id, n, r->n_layers, r->n_classes,
                                    cascade, res, &m, bad, sizeof bad)) {
        if (!strcmp(bad, "body (not a JSON object)"))
            return vk_fail(err, VK_E_NET, "agent %s: measure answer is not a JSON object", r->base);
        return vk_fail(err, VK_E_NET, "agent %s: measure answer: bad field %s", r->base, bad);
    }
    /* the agent's note, shortened if need be, then where it came from */
    memcpy(note, m.note, sizeof note);
    room = sizeof m.note - strlen(" (via )") - strlen(r->base) - 1;
    snprintf(m.note, sizeof m.note, "%.*s (via %s)", (int)room, note, r->base);
    *out = m;
    return VK_OK;
}

static vk_status remote_measure(void *state, const vk_path_req *req, int n, vk_img_result *res,
                                vk_measure *out, vk_err *err)
{
    vk_remote *r = state;
    vk_wire_measure_req q;
    char *body;
    long code = 0;
    buf ans = {0};
    vk_status rc;

    if (!r->data)
        return vk_fail(err, VK_E_ARG, "board '%s': no images loaded", r->base);
    memset(&q, 0, sizeof q);
    memcpy(q.model, r->model_id, 65);
    memcpy(q.dataset, r->data_id, 65);
    q.n = n;
    q.n_modes = r->n_layers;
    memcpy(q.modes, req->modes, (size_t)r->n_layers * sizeof *q.modes);
    if (req->modes_high) {
        q.cascade = 1;
        memcpy(q.modes_high, req->modes_high, (size_t)r->n_layers * sizeof *q.modes_high);
        q.threshold_q16 = req->threshold_q16;
        q.resume = req->resume;
    }
    body = vk_wire_measure_req_encode(&q);
    if (!body)
        return vk_fail(err, VK_E_NOMEM, "board '%s': out of memory", r->base);
    for (int attempt = 0;; attempt++) {
        rc = http(r, "POST", "/v1/measure", body, strlen(body), "application/json", RETRY_UNSENT,
                  &code, &ans, err);
        if (rc != VK_OK)
            break;
        if (code == 404 && attempt == 0) {
            /* the agent lost the uploads (restart or eviction): upload again */
            free(ans.p);
            ans.p = NULL;
            if ((rc = ensure_held(r, "models", r->model_id, r->model, r->model_len, err)) !=
                    VK_OK ||
                (rc = ensure_held(r, "datasets", r->data_id, r->data, r->data_len, err)) != VK_OK)
                break;
            continue;
        }
        if (code != 200)
            rc = agent_error(r, "measure", code, &ans, err);
        else
            rc = parse_answer(r, &ans, n, req->modes_high != NULL, res, out, err);
        free(ans.p);
        break;
    }
    free(body);
    if (rc == VK_OK && req->progress)
        req->progress(req->progress_ctx, n, n);
    return rc;
}

static void remote_describe(void *state, char *buf_, size_t len)
{
    const vk_remote *r = state;
    snprintf(buf_, len, "agent at %s serving %s (%s): %s", r->base, r->agent_kind, r->agent_id,
             r->agent_desc);
}

static void remote_close(void *state)
{
    vk_remote *r = state;
    if (!r)
        return;
    if (r->curl)
        curl_easy_cleanup(r->curl);
    free(r->model);
    free(r->data);
    free(r);
}

const vk_board_ops vk_board_remote_ops = {
    .kind = "remote",
    .open = remote_open,
    .load = remote_load,
    .load_data = remote_load_data,
    .measure = remote_measure,
    .describe = remote_describe,
    .identity = remote_identity,
    .close = remote_close,
};
