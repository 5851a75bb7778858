/* test_agent: the HTTP agent (boards/vk_agent.c) on loopback, fed raw HTTP
 * over sockets: uploads are content-addressed and verified, a measurement
 * equals the local sim board's byte for byte, and every malformed request
 * (bad JSON, oversized or lying bodies, wrong content types, unknown and
 * traversal-looking ids, unknown routes and methods, missing or wrong
 * tokens, a client that stalls, a second measurement while one runs) gets
 * its documented status, after which the agent still answers GET
 * /v1/status. Limits: upload bytes in flight bounded by the store (503
 * before the body; 413 at once for what can never fit, and the remote
 * board does not retry it); 100 stalled connections do not lock out a
 * client with the token. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "boards/vk_agent.h"
#include "boards/vk_board.h"
#include "boards/vk_wire.h"
#include "host/vk_quant.h"
#include "host/vk_sha256.h"
#include "tests/vk_fixture.h"
#include "tests/vk_test.h"

#define N_IMG 400
#define IMG 256
#define N_LAYERS 4
#define MAX_BLOB (256u << 10)
#define MAX_JSON 4096u

static vk_model model;
static vk_qmodel qm;
static int8_t imgs[N_IMG * IMG];
static uint8_t *mblob, *dblob;
static size_t mlen, dlen;
static char mid[65], did[65];
static vk_agent *ag;
static int port;
static FILE *agent_log;

static void sha_hex(const void *p, size_t n, char hex[65])
{
    uint8_t d[32];
    vk_sha256(p, n, d);
    vk_sha256_hex(d, hex);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- raw HTTP over a socket -------------------------------------------- */

static int tcp_connect(int p)
{
    struct sockaddr_in sa = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)p);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
        if (k <= 0)
            return; /* the agent may close early (413, 401): expected */
        c += k;
        n -= (size_t)k;
    }
}

/* Reads until the peer closes or `ms` pass; returns bytes read. */
static size_t recv_all(int fd, char *out, size_t cap, int ms)
{
    size_t n = 0;
    struct pollfd pf = {fd, POLLIN, 0};
    while (n + 1 < cap && poll(&pf, 1, ms) > 0) {
        ssize_t k = recv(fd, out + n, cap - 1 - n, 0);
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    out[n] = 0;
    return n;
}

/* Status of an HTTP answer in buf (0 when none) and its body. */
static int parse_answer(const char *buf, const char **body)
{
    int st = 0;
    const char *b = strstr(buf, "\r\n\r\n");
    if (sscanf(buf, "HTTP/1.%*d %d", &st) != 1)
        st = 0;
    *body = b ? b + 4 : "";
    return st;
}

/* Sends raw bytes on a fresh connection and returns the answer's status;
 * the body goes to out. */
static int raw_to(int p, const void *req, size_t n, char *out, size_t cap)
{
    /* one per call: test_busy's threads call this at once (TSan) */
    char *buf = malloc(1 << 20);
    const char *body;
    int st, fd = tcp_connect(p);
    if (fd < 0 || !buf) {
        free(buf);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    send_all(fd, req, n);
    recv_all(fd, buf, 1 << 20, 5000);
    close(fd);
    st = parse_answer(buf, &body);
    if (out)
        snprintf(out, cap, "%s", body);
    free(buf);
    return st;
}

/* One request with Connection: close; extra headers end in \r\n. */
static int req_to(int p, const char *method, const char *path, const char *hdrs, const void *body,
                  size_t len, char *out, size_t cap)
{
    char head[1024];
    int hn = snprintf(head, sizeof head,
                      "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s"
                      "Content-Length: %zu\r\n\r\n",
                      method, path, hdrs ? hdrs : "", len);
    char *r = malloc((size_t)hn + len);
    int st;
    memcpy(r, head, (size_t)hn);
    if (len)
        memcpy(r + hn, body, len);
    st = raw_to(p, r, (size_t)hn + len, out, cap);
    free(r);
    return st;
}

static int req(const char *method, const char *path, const char *hdrs, const void *body, size_t len,
               char *out, size_t cap)
{
    return req_to(port, method, path, hdrs, body, len, out, cap);
}

#define BLOB "Content-Type: application/octet-stream\r\n"
#define JSON "Content-Type: application/json\r\n"

/* The agent still answers GET /v1/status with its JSON. */
static int alive_at(int p)
{
    char out[4096];
    return req_to(p, "GET", "/v1/status", NULL, NULL, 0, out, sizeof out) == 200 &&
           strstr(out, "\"version\":1") != NULL;
}

static int alive(void)
{
    return alive_at(port);
}

/* ---- fixture ------------------------------------------------------------ */

static void setup(void)
{
    vk_err err = {{0}};
    vk_agent_opts o = {
        .board = "sim", .port = 0, .max_blob = MAX_BLOB, .max_json = MAX_JSON, .timeout_s = 1};
    CHECK_EQ_INT(vk_fixture_tiny(N_LAYERS, N_IMG, 0x2545F4914F6CDD1Dull, 5, &model, &qm, imgs, &err),
                 VK_OK);
    CHECK_EQ_INT(vk_qmodel_to_bytes(&qm, &mblob, &mlen, &err), VK_OK);
    sha_hex(mblob, mlen, mid);
    dlen = 16 + sizeof imgs;
    dblob = malloc(dlen);
    vk_wire_dataset_header(dblob, N_IMG, IMG);
    memcpy(dblob + 16, imgs, sizeof imgs);
    sha_hex(dblob, dlen, did);
    agent_log = tmpfile();
    o.log = agent_log;
    CHECK_EQ_INT(vk_agent_open(&o, &ag, &err), VK_OK);
    CHECK_EQ_INT(vk_agent_listen(ag, &err), VK_OK);
    if (err.msg[0])
        fprintf(stderr, "%s\n", err.msg);
    port = ag ? vk_agent_port(ag) : 0;
    CHECK(port > 0);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_status(void)
{
    char out[4096];
    CHECK_EQ_INT(req("GET", "/v1/status", NULL, NULL, 0, out, sizeof out), 200);
    CHECK_STR_CONTAINS(out, "\"board\":\"sim\"");
    CHECK_STR_CONTAINS(out, "\"busy\":false");
    CHECK_STR_CONTAINS(out, "\"models\":[]");
    CHECK_EQ_INT(req("HEAD", "/v1/status", NULL, NULL, 0, out, sizeof out), 200);
    CHECK(strstr(vk_agent_url(ag), "http://127.0.0.1:") == vk_agent_url(ag));
}

static void test_uploads(void)
{
    char out[4096], path[128], bad_id[65];
    uint8_t junk[100];
    snprintf(path, sizeof path, "/v1/models/%s", mid);
    CHECK_EQ_INT(req("HEAD", path, NULL, NULL, 0, out, sizeof out), 404);
    CHECK_EQ_INT(req("PUT", path, BLOB, mblob, mlen, out, sizeof out), 201);
    CHECK_EQ_INT(req("PUT", path, BLOB, mblob, mlen, out, sizeof out), 200);
    CHECK_EQ_INT(req("HEAD", path, NULL, NULL, 0, out, sizeof out), 200);
    /* an id already held is answered without reading the body */
    CHECK_EQ_INT(req("PUT", path, BLOB, mblob, mlen - 1, out, sizeof out), 200);
    /* a body that is not the id's */
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 7);
    sha_hex(junk, sizeof junk, bad_id);
    snprintf(path, sizeof path, "/v1/models/%s", bad_id);
    CHECK_EQ_INT(req("PUT", path, BLOB, mblob, mlen - 1, out, sizeof out), 400);
    CHECK_STR_CONTAINS(out, "digest mismatch");
    /* the id of garbage: the digest matches, the blob does not parse */
    CHECK_EQ_INT(req("PUT", path, BLOB, junk, sizeof junk, out, sizeof out), 400);
    CHECK_STR_CONTAINS(out, "bad model");
    snprintf(path, sizeof path, "/v1/datasets/%s", bad_id);
    CHECK_EQ_INT(req("PUT", path, BLOB, junk, sizeof junk, out, sizeof out), 400);
    CHECK_STR_CONTAINS(out, "bad dataset");
    /* a dataset whose header lies about its size */
    uint8_t *d2 = malloc(dlen);
    memcpy(d2, dblob, dlen);
    put32(d2 + 8, N_IMG + 1);
    sha_hex(d2, dlen, bad_id);
    snprintf(path, sizeof path, "/v1/datasets/%s", bad_id);
    CHECK_EQ_INT(req("PUT", path, BLOB, d2, dlen, out, sizeof out), 400);
    free(d2);
    snprintf(path, sizeof path, "/v1/datasets/%s", did);
    CHECK_EQ_INT(req("PUT", path, BLOB, dblob, dlen, out, sizeof out), 201);
    CHECK_EQ_INT(req("HEAD", path, NULL, NULL, 0, out, sizeof out), 200);
    CHECK_EQ_INT(req("GET", "/v1/status", NULL, NULL, 0, out, sizeof out), 200);
    CHECK_STR_CONTAINS(out, mid);
    CHECK_STR_CONTAINS(out, did);
    CHECK_STR_CONTAINS(out, "\"model_uploads\":1");
    CHECK(alive());
}

static void test_bad_ids(void)
{
    static const char *ids[] = {
        "../../etc/passwd",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "..%2F..%2Fetc",
        "",
        "/",
        "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789",
        "abcdef0123456789abcdef0123456789abcdef0123456789abcdef012345678",   /* 63 */
        "abcdef0123456789abcdef0123456789abcdef0123456789abcdef01234567890", /* 65 */
        "abcdef0123456789abcdef0123456789abcdef0123456789abcdef012345678g",
        "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789/x"};
    char out[4096], path[256];
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        int st;
        snprintf(path, sizeof path, "/v1/models/%s", ids[i]);
        st = req("PUT", path, BLOB, mblob, mlen, out, sizeof out);
        CHECK(st == 400 || st == 404);
        snprintf(path, sizeof path, "/v1/datasets/%s", ids[i]);
        st = req("HEAD", path, NULL, NULL, 0, out, sizeof out);
        CHECK(st == 400 || st == 404);
    }
    CHECK_EQ_INT(req("PUT", "/v1/models/../../etc/passwd", BLOB, "x", 1, out, sizeof out), 400);
    CHECK_STR_CONTAINS(out, "bad id");
    CHECK(alive());
}

static void test_routes(void)
{
    char out[4096];
    int st;
    CHECK_EQ_INT(req("GET", "/", NULL, NULL, 0, out, sizeof out), 404);
    CHECK_EQ_INT(req("GET", "/v1/statusx", NULL, NULL, 0, out, sizeof out), 404);
    CHECK_EQ_INT(req("GET", "/v2/status", NULL, NULL, 0, out, sizeof out), 404);
    CHECK_EQ_INT(req("DELETE", "/v1/status", NULL, NULL, 0, out, sizeof out), 405);
    CHECK_EQ_INT(req("GET", "/v1/measure", NULL, NULL, 0, out, sizeof out), 405);
    CHECK_EQ_INT(req("POST", "/v1/status", JSON, "{}", 2, out, sizeof out), 405);
    CHECK_STR_CONTAINS(out, "\"error\":\"method\"");
    st = raw_to(port, "garbage\r\n\r\n", 11, out, sizeof out);
    CHECK(st == 0 || st == 400); /* libmicrohttpd may just close */
    CHECK_EQ_INT(raw_to(port, "GET /v1/status HTTP/9.9\r\n\r\n", 27, out, sizeof out), 505);
    CHECK(alive());
}

static void test_content_types(void)
{
    char out[4096], path[128];
    snprintf(path, sizeof path, "/v1/models/%s", mid);
    CHECK_EQ_INT(req("PUT", path, "Content-Type: text/plain\r\n", mblob, mlen, out, sizeof out),
                 415);
    CHECK_EQ_INT(req("PUT", path, NULL, mblob, mlen, out, sizeof out), 415);
    CHECK_EQ_INT(
        req("POST", "/v1/measure", "Content-Type: text/json\r\n", "{}", 2, out, sizeof out), 415);
    CHECK_EQ_INT(req("POST", "/v1/measure", BLOB, "{}", 2, out, sizeof out), 415);
    CHECK_STR_CONTAINS(out, "application/json");
    /* parameters after the media type are fine */
    CHECK_EQ_INT(req("POST", "/v1/measure", "Content-Type: Application/JSON; charset=utf-8\r\n",
                     "{}", 2, out, sizeof out),
                 400);
    CHECK(alive());
}

/* POST /v1/measure with body; returns the status, answer in out. */
static int measure(const char *body, char *out, size_t cap)
{
    return req("POST", "/v1/measure", JSON, body, strlen(body), out, cap);
}

static void test_bad_json(void)
{
    static const struct {
        const char *body;
        int status;
        const char *field;
    } cases[] = {
        {"", 400, "\"field\":\"body\""},
        {"{", 400, "\"field\":\"body\""},
        {"[1,2]", 400, "\"field\":\"body\""},
        {"null", 400, "\"field\":\"body\""},
        {"{\"model\":1}", 400, "\"field\":\"model\""},
        {"{\"model\":\"../../etc/passwd\"}", 400, "\"field\":\"model\""},
        {"{\"model\":\"%M\",\"dataset\":\"%D\",\"n\":\"x\",\"modes\":[0,0,0,0]}", 400,
         "\"field\":\"n\""},
        {"{\"model\":\"%M\",\"dataset\":\"%D\",\"n\":0,\"modes\":[0,0,0,0]}", 400,
         "\"field\":\"n\""},
        {"{\"model\":\"%M\",\"dataset\":\"%D\",\"n\":1.5,\"modes\":[0,0,0,0]}", 400,
         "\"field\":\"n\""},
        {"{\"model\":\"%M\",\"dataset\":\"%D\",\"n\":4,\"modes\":[0,0,0]}", 400,
         "\"field\":\"modes\""},
        {"{\"model\":\"%M\",\"dataset\":\"%D\",\"n\":4,\"modes\":[0,0,0,-1]}", 400,
         "\"field\":\"modes\""},
        {"{\"model\":\"%M\",\"dataset\":\"%D\",\"n\":4,\"modes\":\"all\"}", 400,
         "\"field\":\"modes\""},
        {"{\"model\":\"%M\",\"dataset\":\"%D\",\"n\":4,\"modes\":[0,0,0,0],\"modes_high\":1}", 400,
         "\"field\":\"modes_high\""},
        {"{\"model\":\"%M\",\"dataset\":\"%D\",\"n\":4,\"modes\":[0,0,0,0],\"resume\":99}", 400,
         "\"field\":\"resume\""},
        {"{\"model\":\"%M\",\"dataset\":\"%D\",\"n\":4,\"modes\":[0,0,0,0],\"extra\":1}", 400,
         "\"field\":\"extra\""},
        {"{\"model\":\"%M\",\"dataset\":\"%D\",\"n\":99999,\"modes\":[0,0,0,0]}", 400,
         "\"field\":\"n\""},
        /* a mode word the board refuses (unknown bits) */
        {"{\"model\":\"%M\",\"dataset\":\"%D\",\"n\":4,\"modes\":[0,0,0,4278190080]}", 400,
         "\"error\":\"board\""},
        {"{\"model\":\"%Z\",\"dataset\":\"%D\",\"n\":4,\"modes\":[0,0,0,0]}", 404, "unknown model"},
        {"{\"model\":\"%M\",\"dataset\":\"%Z\",\"n\":4,\"modes\":[0,0,0,0]}", 404,
         "unknown dataset"},
    };
    char body[1024], out[4096];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *s = cases[i].body;
        char *o = body;
        for (; *s; s++) {
            if (s[0] == '%' && (s[1] == 'M' || s[1] == 'D' || s[1] == 'Z')) {
                o += sprintf(
                    o, "%s",
                    s[1] == 'M' ? mid
                    : s[1] == 'D'
                        ? did
                        : "0000000000000000000000000000000000000000000000000000000000000000");
                s++;
            } else {
                *o++ = *s;
            }
        }
        *o = 0;
        int st = measure(body, out, sizeof out);
        if (st != cases[i].status || !strstr(out, cases[i].field))
            fprintf(stderr, "case %zu: %s -> %d %s\n", i, body, st, out);
        CHECK_EQ_INT(st, cases[i].status);
        CHECK_STR_CONTAINS(out, cases[i].field);
    }
    CHECK(alive());
}

/* The local sim board's results for the first n images. */
static void local(const uint32_t *modes, int n, vk_img_result *res, vk_measure *m)
{
    vk_board *b = NULL;
    vk_err err = {{0}};
    vk_path_req r = {.modes = modes};
    CHECK_EQ_INT(vk_board_open("sim", &b, &err), VK_OK);
    CHECK_EQ_INT(vk_board_load(b, &qm, &err), VK_OK);
    CHECK_EQ_INT(vk_board_load_data(b, imgs, N_IMG, &err), VK_OK);
    CHECK_EQ_INT(vk_board_measure(b, &r, n, res, m, &err), VK_OK);
    vk_board_close(b);
}

static void test_measure(void)
{
    static const uint32_t modes[N_LAYERS] = {VK_MODE(VK_ATTN_FULL), VK_MODE(VK_ATTN_SKIP),
                                             VK_MODE(VK_ATTN_FULL), VK_MODE(VK_ATTN_FULL)};
    static char out[1 << 16];
    char body[512], want[64];
    vk_img_result res[20];
    vk_measure m;
    snprintf(body, sizeof body,
             "{\"model\":\"%s\",\"dataset\":\"%s\",\"n\":20,\"modes\":[%u,%u,%u,%u]}", mid, did,
             modes[0], modes[1], modes[2], modes[3]);
    CHECK_EQ_INT(measure(body, out, sizeof out), 200);
    local(modes, 20, res, &m);
    /* per-image results, in order */
    char *cls = strstr(out, "\"cls\":["), *ent = strstr(out, "\"entropy_q16\":[");
    CHECK(cls && ent);
    if (!cls || !ent)
        return;
    cls += 7;
    ent += 15;
    for (int i = 0; i < 20; i++) {
        CHECK_EQ_INT(strtol(cls, &cls, 10), res[i].cls);
        CHECK_EQ_INT(strtol(ent, &ent, 10), res[i].entropy_q16);
        cls++;
        ent++;
    }
    CHECK_STR_CONTAINS(out, "\"latency_src\":\"modeled\"");
    CHECK_STR_CONTAINS(out, "\"n_images\":20");
    snprintf(want, sizeof want, "\"cycles\":%llu", (unsigned long long)m.cycles);
    CHECK_STR_CONTAINS(out, want);
    CHECK(alive());
}

static void test_oversized(void)
{
    char out[4096], path[128], head[512];
    size_t big = MAX_BLOB + 4096;
    uint8_t *b = calloc(1, big);
    int fd, st;
    const char *body;
    static char buf[1 << 16];

    /* announced: refused before the body is read */
    snprintf(path, sizeof path, "/v1/models/%s", mid);
    CHECK_EQ_INT(req("PUT", path, BLOB, b, big, out, sizeof out), 413);
    memset(b, ' ', MAX_JSON + 10);
    CHECK_EQ_INT(req("POST", "/v1/measure", JSON, b, MAX_JSON + 10, out, sizeof out), 413);
    /* a lying Content-Length: 2 GB announced, 10 bytes sent */
    snprintf(head, sizeof head,
             "PUT %s HTTP/1.1\r\nHost: x\r\n" BLOB "Content-Length: 2000000000\r\n\r\n0123456789",
             path);
    CHECK_EQ_INT(raw_to(port, head, strlen(head), out, sizeof out), 413);
    /* a lying Content-Length: 2 announced, a large JSON sent: the rest is
       a malformed next request */
    fd = tcp_connect(port);
    snprintf(head, sizeof head,
             "POST /v1/measure HTTP/1.1\r\nHost: x\r\n" JSON "Content-Length: 2\r\n\r\n");
    send_all(fd, head, strlen(head));
    send_all(fd, b, MAX_JSON + 10);
    recv_all(fd, buf, sizeof buf, 3000);
    close(fd);
    CHECK_EQ_INT(parse_answer(buf, &body), 400);
    /* chunked without a length, over the limit: the connection is closed */
    fd = tcp_connect(port);
    snprintf(head, sizeof head,
             "POST /v1/measure HTTP/1.1\r\nHost: x\r\n" JSON "Transfer-Encoding: chunked\r\n\r\n");
    send_all(fd, head, strlen(head));
    for (int i = 0; i < 3; i++) {
        char ch[16];
        snprintf(ch, sizeof ch, "%x\r\n", (unsigned)MAX_JSON);
        send_all(fd, ch, strlen(ch));
        send_all(fd, b, MAX_JSON);
        send_all(fd, "\r\n", 2);
    }
    recv_all(fd, buf, sizeof buf, 3000);
    close(fd);
    st = parse_answer(buf, &body);
    CHECK(st == 0 || st == 413);
    free(b);
    CHECK(alive());
}

/* Half a request, then silence: the agent closes it after its timeout
 * (1 s here) and serves others meanwhile. */
static void test_slow_client(void)
{
    static const char half[] =
        "POST /v1/measure HTTP/1.1\r\nHost: x\r\n" JSON "Content-Length: 100\r\n\r\n{\"mo";
    static const char half_head[] = "GET /v1/sta";
    char buf[4096];
    struct timespec t0, t1;
    int fd = tcp_connect(port), fd2 = tcp_connect(port);
    CHECK(fd >= 0 && fd2 >= 0);
    send_all(fd, half, sizeof half - 1);
    send_all(fd2, half_head, sizeof half_head - 1);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(alive());
    recv_all(fd, buf, sizeof buf, 8000); /* returns when the agent closes */
    recv_all(fd2, buf, sizeof buf, 8000);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    CHECK(s > 0.5 && s < 7);
    close(fd);
    close(fd2);
    CHECK(alive());
}

static atomic_int stop_measuring; /* set by the main thread, read by measure_loop */

static void *measure_loop(void *arg)
{
    static char out[1 << 16];
    char body[512];
    int *n_ok = arg;
    snprintf(body, sizeof body,
             "{\"model\":\"%s\",\"dataset\":\"%s\",\"n\":%d,\"modes\":[25600,25600,25600,25600]}",
             mid, did, N_IMG);
    for (int i = 0; i < 50 && !atomic_load(&stop_measuring); i++)
        *n_ok += measure(body, out, sizeof out) == 200;
    return NULL;
}

/* A second measurement while one runs gets 409 "busy" at once. */
static void test_busy(void)
{
    char out[4096], body[512];
    pthread_t t;
    int n_ok = 0, n_busy = 0;
    snprintf(body, sizeof body,
             "{\"model\":\"%s\",\"dataset\":\"%s\",\"n\":1,\"modes\":[25600,25600,25600,25600]}",
             mid, did);
    atomic_store(&stop_measuring, 0);
    pthread_create(&t, NULL, measure_loop, &n_ok);
    for (int i = 0; i < 2000 && n_busy < 3; i++) {
        CHECK_EQ_INT(req("GET", "/v1/status", NULL, NULL, 0, out, sizeof out), 200);
        if (strstr(out, "\"busy\":true")) {
            int st = measure(body, out, sizeof out);
            CHECK(st == 409 || st == 200); /* 200: the first one just ended */
            if (st == 409) {
                CHECK_STR_CONTAINS(out, "\"error\":\"busy\"");
                n_busy++;
            }
        }
        usleep(1000);
    }
    atomic_store(&stop_measuring, 1);
    pthread_join(t, NULL);
    CHECK(n_busy >= 1);
    CHECK(n_ok >= 1);
    CHECK(alive());
}

static void test_token(void)
{
    vk_agent_opts o = {.board = "sim", .port = 0, .token = "s3cret-token", .log = agent_log};
    vk_agent *a = NULL;
    vk_err err = {{0}};
    char out[4096];
    int p;
    CHECK_EQ_INT(vk_agent_open(&o, &a, &err), VK_OK);
    CHECK_EQ_INT(vk_agent_listen(a, &err), VK_OK);
    if (!a)
        return;
    p = vk_agent_port(a);
    CHECK_EQ_INT(req_to(p, "GET", "/v1/status", NULL, NULL, 0, out, sizeof out), 401);
    CHECK_STR_CONTAINS(out, "unauthorized");
    CHECK_EQ_INT(
        req_to(p, "GET", "/v1/status", "Authorization: Bearer wrong\r\n", NULL, 0, out, sizeof out),
        401);
    CHECK_EQ_INT(req_to(p, "GET", "/v1/status", "Authorization: Bearer s3cret-tokenX\r\n", NULL, 0,
                        out, sizeof out),
                 401);
    CHECK_EQ_INT(req_to(p, "GET", "/v1/status", "Authorization: Basic s3cret-token\r\n", NULL, 0,
                        out, sizeof out),
                 401);
    /* an upload without the token is refused before its body is read */
    CHECK_EQ_INT(req_to(p, "PUT", "/v1/models/x", BLOB, mblob, mlen, out, sizeof out), 401);
    CHECK_EQ_INT(req_to(p, "GET", "/v1/status", "Authorization: Bearer s3cret-token\r\n", NULL, 0,
                        out, sizeof out),
                 200);
    vk_agent_close(a);

    /* no token: loopback only */
    vk_agent_opts o2 = {.board = "sim", .addr = "0.0.0.0", .port = 0, .log = agent_log};
    a = NULL;
    CHECK_EQ_INT(vk_agent_open(&o2, &a, &err), VK_E_ARG);
    CHECK_STR_CONTAINS(err.msg, "without a token");
    CHECK(a == NULL);
    o2.addr = "not-an-address";
    CHECK_EQ_INT(vk_agent_open(&o2, &a, &err), VK_E_ARG);
    o2.addr = "::1";
    CHECK_EQ_INT(vk_agent_open(&o2, &a, &err), VK_OK);
    vk_agent_close(a);
    CHECK(alive());
}

/* Items 3 and 10 of issue 15: an upload's size is reserved against the
 * store before its body is read, so the bytes in flight stay bounded: while
 * one dataset is half sent, a second that would not fit beside it gets 503
 * at once, without its body being read. A model that could never fit gets
 * 413 at once, and the remote board gives up on it at once instead of
 * retrying. */
static void test_store_limits(void)
{
    vk_agent_opts o = {.board = "sim", .port = 0, .max_store = dlen + dlen / 2, .log = agent_log};
    vk_agent *a = NULL;
    vk_err err = {{0}};
    char out[4096], head[512], path[128], id2[65];
    static char buf[1 << 16];
    const char *body;
    CHECK_EQ_INT(vk_agent_open(&o, &a, &err), VK_OK);
    CHECK_EQ_INT(vk_agent_listen(a, &err), VK_OK);
    if (!a)
        return;
    int p = vk_agent_port(a);
    /* the first dataset, half sent */
    int fd = tcp_connect(p);
    snprintf(head, sizeof head,
             "PUT /v1/datasets/%s HTTP/1.1\r\nHost: x\r\n" BLOB "Content-Length: %zu\r\n\r\n", did,
             dlen);
    send_all(fd, head, strlen(head));
    send_all(fd, dblob, dlen / 2);
    int in_flight = 0;
    for (int i = 0; i < 200 && !in_flight; i++) {
        req_to(p, "GET", "/v1/status", NULL, NULL, 0, out, sizeof out);
        char want[64];
        snprintf(want, sizeof want, "\"upload_bytes_in_flight\":%zu", dlen);
        in_flight = strstr(out, want) != NULL;
        if (!in_flight)
            usleep(10000);
    }
    CHECK(in_flight);
    /* a second one: refused before its body */
    uint8_t *d2 = malloc(dlen);
    memcpy(d2, dblob, dlen);
    d2[dlen - 1] ^= 1;
    sha_hex(d2, dlen, id2);
    snprintf(path, sizeof path, "/v1/datasets/%s", id2);
    CHECK_EQ_INT(req_to(p, "PUT", path, BLOB, d2, dlen, out, sizeof out), 503);
    CHECK_STR_CONTAINS(out, "retry later");
    /* the first completes */
    send_all(fd, dblob + dlen / 2, dlen - dlen / 2);
    recv_all(fd, buf, sizeof buf, 5000);
    close(fd);
    CHECK_EQ_INT(parse_answer(buf, &body), 201);
    free(d2);
    /* a model that can never fit (a model counts twice while parsed) */
    vk_agent_close(a);
    o.max_store = mlen + 1;
    a = NULL;
    CHECK_EQ_INT(vk_agent_open(&o, &a, &err), VK_OK);
    CHECK_EQ_INT(vk_agent_listen(a, &err), VK_OK);
    if (!a)
        return;
    p = vk_agent_port(a);
    snprintf(path, sizeof path, "/v1/models/%s", mid);
    CHECK_EQ_INT(req_to(p, "PUT", path, BLOB, mblob, mlen, out, sizeof out), 413);
    CHECK_STR_CONTAINS(out, "can never fit");
    /* the remote board: one refusal, no retries for minutes */
    char spec[64];
    vk_board *b = NULL;
    struct timespec t0, t1;
    setenv("VITSKIP_HTTP_TIMEOUT", "30", 1);
    snprintf(spec, sizeof spec, "http://127.0.0.1:%d", p);
    CHECK_EQ_INT(vk_board_open(spec, &b, &err), VK_OK);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(b && vk_board_load(b, &qm, &err) != VK_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK_STR_CONTAINS(err.msg, "can never fit");
    CHECK(t1.tv_sec - t0.tv_sec < 5);
    vk_board_close(b);
    unsetenv("VITSKIP_HTTP_TIMEOUT");
    vk_agent_close(a);
}

/* Item 4 of issue 15: 100 connections that send half a request line and
 * stall (more than max_conns, and than max_conns_per_client from this one
 * address) do not lock out a client with the token: each of its requests
 * is answered at once (a stalled connection gives up its slot), it uploads
 * and measures; the stalled ones are closed after the header timeout. */
static void test_slowloris(void)
{
    enum { N_SLOW = 100 };
    vk_agent_opts o = {.board = "sim", .port = 0, .token = "tok", .max_conns = 16,
                       .max_conns_per_client = 8, .header_timeout_s = 2, .log = agent_log};
    vk_agent *a = NULL;
    vk_err err = {{0}};
    char out[4096], path[128], body[512];
    int slow[N_SLOW], n_open = 0;
    static const char auth[] = "Authorization: Bearer tok\r\n";
    CHECK_EQ_INT(vk_agent_open(&o, &a, &err), VK_OK);
    CHECK_EQ_INT(vk_agent_listen(a, &err), VK_OK);
    if (!a)
        return;
    int p = vk_agent_port(a);
    for (int i = 0; i < N_SLOW; i++) {
        slow[i] = tcp_connect(p);
        if (slow[i] >= 0) {
            send_all(slow[i], "GET /v1/sta", 11);
            n_open++;
        }
    }
    CHECK(n_open > 16);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int ok = 1;
    for (int i = 0; i < 5; i++)
        ok &= req_to(p, "GET", "/v1/status", auth, NULL, 0, out, sizeof out) == 200;
    snprintf(path, sizeof path, "/v1/models/%s", mid);
    ok &= req_to(p, "PUT", path, "Authorization: Bearer tok\r\n" BLOB, mblob, mlen, out,
                 sizeof out) == 201;
    snprintf(path, sizeof path, "/v1/datasets/%s", did);
    ok &= req_to(p, "PUT", path, "Authorization: Bearer tok\r\n" BLOB, dblob, dlen, out,
                 sizeof out) == 201;
    snprintf(body, sizeof body,
             "{\"model\":\"%s\",\"dataset\":\"%s\",\"n\":8,\"modes\":[25600,25600,25600,25600]}",
             mid, did);
    ok &= req_to(p, "POST", "/v1/measure", "Authorization: Bearer tok\r\n" JSON, body,
                 strlen(body), out, sizeof out) == 200;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK(ok);
    CHECK(t1.tv_sec - t0.tv_sec < 10);
    /* the stalled ones are gone after the header timeout */
    sleep(3);
    CHECK_EQ_INT(req_to(p, "GET", "/v1/status", auth, NULL, 0, out, sizeof out), 200);
    printf("slowloris: %d stalled connections; %s\n", n_open, strstr(out, "\"stats\""));
    CHECK(strstr(out, "\"connections_evicted\":0,") == NULL);
    CHECK(strstr(out, "\"connections_timed_out\":0,") == NULL);
    for (int i = 0; i < N_SLOW; i++)
        if (slow[i] >= 0)
            close(slow[i]);
    vk_agent_close(a);
}

/* Item 8 of issue 15: a model blob whose numbers the kernel would misread
 * (a shift of 99, a multiplier past 2^17, an activation table entry past
 * int8, a position row past the residual range, a negative LayerNorm
 * epsilon, a NaN scale) is refused with 400 naming the number, before it
 * reaches the kernel; the digest matches, so only the values are wrong. */
static void test_crafted_blobs(void)
{
    const vk_layout *l = &qm.lay;
    uint32_t L0 = l->layer_p;
    static const struct {
        const char *what;
        int global; /* offset is a header/global word */
        int32_t value;
        const char *needle;
    } cases[] = {
        {"fc1 shift", 0, 99, "fc1 requantizer [0]"},
        {"qkv mult", 0, 1 << 20, "qkv requantizer [0]"},
        {"softmax shift", 0, -1, "softmax requantizer"},
        {"gelu", 0, 300, "activation table [0] = 300"},
        {"tok0", 1, 1 << 30, "prefix/position row"},
        {"ln eps", 1, -5, "LayerNorm epsilon"},
        {"entropy shift", 1, 99, "entropy requantizer"},
        {"scale", 1, 0x7fc00000, "header scale"},
    };
    uint32_t offs[] = {L0 + l->fc1_s, L0 + l->qkv_m, L0 + l->sm_s, L0 + l->gelu, l->tok0,
                       VK_HDR_LN_EPS, VK_HDR_ENT_SHIFT, VK_HDR_S_H};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char id[65], path[128], out[4096];
        uint8_t *b = malloc(mlen);
        memcpy(b, mblob, mlen);
        put32(b + 16 + 4 * offs[i], (uint32_t)cases[i].value);
        sha_hex(b, mlen, id);
        snprintf(path, sizeof path, "/v1/models/%s", id);
        CHECK_EQ_INT(req("PUT", path, BLOB, b, mlen, out, sizeof out), 400);
        CHECK_STR_CONTAINS(out, "bad model");
        CHECK_STR_CONTAINS(out, cases[i].needle);
        free(b);
    }
    CHECK(alive());
}

/* The transport-free entry point gives the same answers. */
static void test_handle(void)
{
    vk_agent_reply r;
    vk_agent_handle(ag, "GET", "/v1/status", NULL, NULL, NULL, 0, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK(r.body && strstr(r.body, "\"version\":1"));
    free(r.body);
    vk_agent_handle(ag, "PATCH", "/v1/measure", NULL, NULL, NULL, 0, &r);
    CHECK_EQ_INT(r.status, 405);
    CHECK(r.allow && !strcmp(r.allow, "POST"));
    free(r.body);
    vk_agent_handle(ag, "HEAD", "/v1/status", NULL, NULL, NULL, 0, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK(r.body == NULL);
}

/* Every request was logged with method, path, status and time. */
static void test_log(void)
{
    char line[512];
    int n = 0, ok = 1;
    fflush(agent_log);
    rewind(agent_log);
    while (fgets(line, sizeof line, agent_log)) {
        char method[16], path[200];
        int st;
        double ms;
        if (strncmp(line, "agent: ", 7) || !strncmp(line, "agent: libmicrohttpd: ", 22))
            continue;
        n++;
        if (sscanf(line, "agent: %15s %199s %d %lf ms", method, path, &st, &ms) != 4 || st < 100 ||
            ms < 0) {
            fprintf(stderr, "bad log line: %s", line);
            ok = 0;
        }
    }
    CHECK(n > 50);
    CHECK(ok);
    rewind(agent_log);
    CHECK(fgets(line, sizeof line, agent_log) != NULL);
}

int main(void)
{
    setup();
    if (!ag)
        return vk_test_summary("agent");
    RUN(test_status);
    RUN(test_uploads);
    RUN(test_bad_ids);
    RUN(test_routes);
    RUN(test_content_types);
    RUN(test_bad_json);
    RUN(test_measure);
    RUN(test_oversized);
    RUN(test_slow_client);
    RUN(test_busy);
    RUN(test_token);
    RUN(test_store_limits);
    RUN(test_crafted_blobs);
    RUN(test_slowloris);
    RUN(test_handle);
    RUN(test_log);
    vk_agent_close(ag);
    fclose(agent_log);
    vk_qmodel_free(&qm);
    vk_model_free(&model);
    free(mblob);
    free(dblob);
    return vk_test_summary("agent");
}
