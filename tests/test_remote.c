/* test_remote: the remote board (boards/vk_board_remote.c) against real
 * agents on loopback serving the sim board on a small random model, and
 * against a fake agent that answers garbage.
 *   - per-image results and every vk_measure figure equal the local sim
 *     board's, for a path and a cascade; the note says where they came from;
 *   - uploads happen once (a second load or board does not re-upload);
 *   - every malformed field of an answer is VK_E_NET naming the field, with
 *     nothing returned; a busy agent is waited for, then given up on;
 *   - an agent killed mid-measurement is VK_E_NET, and a restarted agent on
 *     the same port is usable again (the client uploads anew);
 *   - a token-protected agent needs VITSKIP_TOKEN or VITSKIP_TOKEN_FILE. */
#include <arpa/inet.h>
#include <cJSON.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boards/vk_agent.h"
#include "boards/vk_board.h"
#include "host/vk_quant.h"
#include "tests/vk_fixture.h"
#include "tests/vk_test.h"

#define N_IMG 300
#define IMG 256
#define N_LAYERS 4
#define M_FULL VK_MODE(VK_ATTN_FULL)
#define M_SKIP VK_MODE(VK_ATTN_SKIP)

static vk_model model;
static vk_qmodel qm;
static int8_t imgs[N_IMG * IMG];
static FILE *quiet;
static const uint32_t LOW[N_LAYERS] = {M_FULL, M_SKIP, M_SKIP, M_SKIP};
static const uint32_t HIGH[N_LAYERS] = {M_FULL, M_FULL, M_FULL, M_FULL};

static void setup(void)
{
    vk_err err = {{0}};
    CHECK_EQ_INT(vk_fixture_tiny(N_LAYERS, N_IMG, 0x9E3779B97F4A7C15ull, 23, &model, &qm, imgs, &err),
                 VK_OK);
    quiet = fopen("/dev/null", "w");
    setenv("VITSKIP_HTTP_TIMEOUT", "20", 1);
}

static vk_agent *agent_start(const char *token)
{
    vk_agent_opts o = {.board = "sim", .port = 0, .token = token, .log = quiet};
    vk_agent *a = NULL;
    vk_err err = {{0}};
    CHECK_EQ_INT(vk_agent_open(&o, &a, &err), VK_OK);
    if (a && vk_agent_listen(a, &err) != VK_OK) {
        fprintf(stderr, "%s\n", err.msg);
        vk_agent_close(a);
        a = NULL;
    }
    CHECK(a != NULL);
    return a;
}

/* Opens spec and loads the model and all images; NULL on failure. */
static vk_board *open_loaded(const char *spec)
{
    return vk_fixture_board(spec, &qm, imgs, N_IMG);
}

static vk_status run(vk_board *b, const uint32_t *lo, const uint32_t *hi, int32_t thr,
                     int32_t resume, int n, vk_img_result *res, vk_measure *m, vk_err *err)
{
    vk_path_req r = {.modes = lo, .modes_high = hi, .threshold_q16 = thr, .resume = resume};
    return vk_board_measure(b, &r, n, res, m, err);
}

/* Every figure but the note is equal. */
static int same_measure(const vk_measure *a, const vk_measure *b)
{
    return a->n_images == b->n_images && a->latency_ms == b->latency_ms &&
           a->latency_p10_ms == b->latency_p10_ms && a->latency_p90_ms == b->latency_p90_ms &&
           a->latency_src == b->latency_src && a->energy_mj == b->energy_mj &&
           a->energy_src == b->energy_src &&
           !memcmp(a->suffix_ms, b->suffix_ms, (N_LAYERS + 1) * sizeof(double)) &&
           !memcmp(a->suffix_mj, b->suffix_mj, (N_LAYERS + 1) * sizeof(double)) &&
           a->cycles == b->cycles && a->ddr_bytes == b->ddr_bytes && a->macs == b->macs &&
           a->macs_skipped == b->macs_skipped &&
           !memcmp(a->stage_cycles, b->stage_cycles, sizeof a->stage_cycles) &&
           a->n_escalated == b->n_escalated;
}

static int progress_calls, progress_done;
static void on_progress(void *ctx, int done, int total)
{
    (void)ctx;
    (void)total;
    progress_calls++;
    progress_done = done;
}

/* The JSON status of the agent at a (in process). */
static cJSON *status_of(vk_agent *a)
{
    vk_agent_reply r;
    cJSON *j;
    vk_agent_handle(a, "GET", "/v1/status", NULL, NULL, NULL, 0, &r);
    j = cJSON_Parse(r.body ? r.body : "");
    free(r.body);
    return j;
}

static int stat_of(vk_agent *a, const char *name)
{
    cJSON *j = status_of(a);
    const cJSON *v =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "stats"), name);
    int n = cJSON_IsNumber(v) ? v->valueint : -1;
    cJSON_Delete(j);
    return n;
}

static void test_equals_local(void)
{
    static vk_img_result rr[N_IMG], lr[N_IMG];
    vk_measure rm, lm;
    vk_err err = {{0}};
    char spec[64], via[96], desc[512];
    vk_agent *a = agent_start(NULL);
    vk_board *rb, *lb;
    if (!a)
        return;
    snprintf(spec, sizeof spec, "http://127.0.0.1:%d", vk_agent_port(a));
    rb = open_loaded(spec);
    lb = open_loaded("sim");
    if (!rb || !lb)
        goto out;
    CHECK(!strcmp(vk_board_kind(rb), "remote"));
    vk_board_describe(rb, desc, sizeof desc);
    CHECK_STR_CONTAINS(desc, "serving sim");
    /* a single path */
    memset(rr, 0, sizeof rr);
    memset(lr, 0, sizeof lr);
    vk_path_req req = {.modes = LOW, .progress = on_progress};
    CHECK_EQ_INT(vk_board_measure(rb, &req, 50, rr, &rm, &err), VK_OK);
    CHECK_EQ_INT(run(lb, LOW, NULL, 0, 0, 50, lr, &lm, &err), VK_OK);
    CHECK(vk_fixture_same_results(rr, lr, 50, 1));
    CHECK(same_measure(&rm, &lm));
    CHECK_EQ_INT(rm.latency_src, VK_SRC_MODELED);
    snprintf(via, sizeof via, " (via %s)", spec);
    CHECK(strlen(rm.note) > strlen(via) && !strcmp(rm.note + strlen(rm.note) - strlen(via), via));
    CHECK(!strncmp(rm.note, lm.note, strlen(rm.note) - strlen(via)));
    CHECK_EQ_INT(progress_calls, 1);
    CHECK_EQ_INT(progress_done, 50);
    /* a cascade that resumes after the first encoder, on every image */
    int32_t thr = lr[0].entropy_q16;
    memset(rr, 0, sizeof rr);
    memset(lr, 0, sizeof lr);
    CHECK_EQ_INT(run(rb, LOW, HIGH, thr, 1, N_IMG, rr, &rm, &err), VK_OK);
    CHECK_EQ_INT(run(lb, LOW, HIGH, thr, 1, N_IMG, lr, &lm, &err), VK_OK);
    CHECK(vk_fixture_same_results(rr, lr, N_IMG, 1));
    CHECK(same_measure(&rm, &lm));
    CHECK(lm.n_escalated > 0 && lm.n_escalated < N_IMG);
    /* an error of the agent's board comes back as that error */
    uint32_t bad[N_LAYERS] = {VK_MODE(VK_ATTN_REUSE), M_FULL, M_FULL, M_FULL}; /* nothing to reuse */
    CHECK_EQ_INT(run(rb, bad, NULL, 0, 0, 4, rr, &rm, &err), VK_E_UNSUPPORTED);
    CHECK_STR_CONTAINS(err.msg, "kernel status");
    CHECK_STR_CONTAINS(err.msg, spec);
out:
    vk_board_close(rb);
    vk_board_close(lb);
    vk_agent_close(a);
}

static void test_upload_once(void)
{
    vk_agent *a = agent_start(NULL);
    vk_err err = {{0}};
    vk_img_result res[4];
    vk_measure m;
    char spec[64];
    vk_board *b1, *b2;
    if (!a)
        return;
    snprintf(spec, sizeof spec, "http://127.0.0.1:%d/", vk_agent_port(a));
    b1 = open_loaded(spec);
    CHECK_EQ_INT(stat_of(a, "model_uploads"), 1);
    CHECK_EQ_INT(stat_of(a, "dataset_uploads"), 1);
    CHECK_EQ_INT(vk_board_load(b1, &qm, &err), VK_OK);
    CHECK_EQ_INT(vk_board_load_data(b1, imgs, N_IMG, &err), VK_OK);
    b2 = open_loaded(spec);
    CHECK_EQ_INT(run(b2, LOW, NULL, 0, 0, 4, res, &m, &err), VK_OK);
    CHECK_EQ_INT(stat_of(a, "model_uploads"), 1);
    CHECK_EQ_INT(stat_of(a, "dataset_uploads"), 1);
    CHECK_EQ_INT(stat_of(a, "measures"), 1);
    /* fewer images are another dataset */
    CHECK_EQ_INT(vk_board_load_data(b2, imgs, 10, &err), VK_OK);
    CHECK_EQ_INT(stat_of(a, "dataset_uploads"), 2);
    vk_board_close(b1);
    vk_board_close(b2);
    vk_agent_close(a);
}

/* ---- a fake agent --------------------------------------------------------- */

static struct {
    int fd, port;
    atomic_int stop; /* set by the main thread, read by the fake's (TSan) */
    pthread_t t;
    pthread_mutex_t mu;
    int busy_left;      /* answer 409 to this many measurements first */
    int measure_status; /* then this status */
    char *measure_body; /* with this body (owned) */
    int n_measure;      /* measurements received */
    char status[1024];  /* the answer to GET /v1/status */
} fake;

/* The fake agent's status answer, reporting identity id (NULL: none). */
static void fake_identity(const char *id)
{
    pthread_mutex_lock(&fake.mu);
    if (id)
        snprintf(fake.status, sizeof fake.status,
                 "{\"version\":1,\"board\":\"sim\",\"spec\":\"sim\",\"identity\":\"%s\","
                 "\"describe\":\"fake\",\"busy\":false}",
                 id);
    else
        snprintf(fake.status, sizeof fake.status,
                 "{\"version\":1,\"board\":\"sim\",\"spec\":\"sim\",\"describe\":\"fake\","
                 "\"busy\":false}");
    pthread_mutex_unlock(&fake.mu);
}

/* The identity of this machine's sim board, which the real agents of these
 * tests serve (their answers are replayed by the fake). */
static void sim_identity(char *out, size_t n)
{
    vk_board *b;
    vk_err err = {{0}};
    out[0] = 0;
    CHECK_EQ_INT(vk_board_open("sim", &b, &err), VK_OK);
    if (b)
        snprintf(out, n, "%s", vk_board_identity(b));
    vk_board_close(b);
}

static void fake_reply(int c, int status, const char *body)
{
    char head[256];
    size_t n = body ? strlen(body) : 0;
    int hn = snprintf(head, sizeof head,
                      "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      status, n);
    send(c, head, (size_t)hn, MSG_NOSIGNAL);
    if (n)
        send(c, body, n, MSG_NOSIGNAL);
}

static void *fake_loop(void *arg)
{
    (void)arg;
    while (!fake.stop) {
        struct pollfd pf = {fake.fd, POLLIN, 0};
        static char buf[1 << 20];
        size_t n = 0;
        char *hdr_end = NULL, method[8] = "", path[256] = "";
        long clen = 0;
        if (poll(&pf, 1, 50) <= 0)
            continue;
        int c = accept(fake.fd, NULL, NULL);
        if (c < 0)
            continue;
        /* headers, then Content-Length bytes of body */
        while (n < sizeof buf - 1) {
            struct pollfd pc = {c, POLLIN, 0};
            if (poll(&pc, 1, 2000) <= 0)
                break;
            ssize_t k = recv(c, buf + n, sizeof buf - 1 - n, 0);
            if (k <= 0)
                break;
            n += (size_t)k;
            buf[n] = 0;
            if (!hdr_end && (hdr_end = strstr(buf, "\r\n\r\n")) != NULL) {
                char *cl = strcasestr(buf, "Content-Length:");
                clen = cl && cl < hdr_end ? strtol(cl + 15, NULL, 10) : 0;
            }
            if (hdr_end && n >= (size_t)(hdr_end + 4 - buf) + (size_t)clen)
                break;
        }
        sscanf(buf, "%7s %255s", method, path);
        pthread_mutex_lock(&fake.mu);
        if (!strcmp(path, "/v1/status"))
            fake_reply(c, 200, fake.status);
        else if (!strcmp(method, "HEAD"))
            fake_reply(c, 200, NULL);
        else if (!strcmp(method, "PUT"))
            fake_reply(c, 201, "{}");
        else if (!strcmp(path, "/v1/measure")) {
            fake.n_measure++;
            if (fake.busy_left > 0) {
                fake.busy_left--;
                fake_reply(c, 409, "{\"error\":\"busy\",\"message\":\"busy\"}");
            } else {
                fake_reply(c, fake.measure_status, fake.measure_body);
            }
        } else
            fake_reply(c, 404, "{}");
        pthread_mutex_unlock(&fake.mu);
        close(c);
    }
    return NULL;
}

static void fake_start(void)
{
    struct sockaddr_in sa = {0};
    socklen_t sl = sizeof sa;
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fake.fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(bind(fake.fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    CHECK(listen(fake.fd, 16) == 0);
    getsockname(fake.fd, (struct sockaddr *)&sa, &sl);
    fake.port = ntohs(sa.sin_port);
    fake.stop = 0;
    pthread_mutex_init(&fake.mu, NULL);
    {
        char id[VK_BOARD_ID_MAX];
        sim_identity(id, sizeof id);
        fake_identity(id);
    }
    pthread_create(&fake.t, NULL, fake_loop, NULL);
}

static void fake_set(int busy_left, int status, const char *body)
{
    pthread_mutex_lock(&fake.mu);
    fake.busy_left = busy_left;
    fake.measure_status = status;
    free(fake.measure_body);
    fake.measure_body = body ? strdup(body) : NULL;
    fake.n_measure = 0;
    pthread_mutex_unlock(&fake.mu);
}

static void fake_stop(void)
{
    fake.stop = 1;
    pthread_join(fake.t, NULL);
    close(fake.fd);
    free(fake.measure_body);
    fake.measure_body = NULL;
    pthread_mutex_destroy(&fake.mu);
}

/* A real agent's answer to measuring LOW on the first n images. */
static cJSON *real_answer(int n)
{
    vk_agent *a = agent_start(NULL);
    vk_err err = {{0}};
    vk_img_result res[16];
    vk_measure m;
    char spec[64];
    cJSON *j = NULL;
    if (!a)
        return NULL;
    snprintf(spec, sizeof spec, "http://127.0.0.1:%d", vk_agent_port(a));
    vk_board *b = open_loaded(spec);
    CHECK_EQ_INT(run(b, LOW, NULL, 0, 0, n, res, &m, &err), VK_OK);
    /* the same request again, in process, to keep its body */
    cJSON *st = status_of(a), *q = cJSON_CreateObject(), *modes = cJSON_CreateArray();
    cJSON_AddItemToObject(
        q, "model", cJSON_Duplicate(cJSON_GetArrayItem(cJSON_GetObjectItem(st, "models"), 0), 0));
    cJSON_AddItemToObject(
        q, "dataset",
        cJSON_Duplicate(cJSON_GetArrayItem(cJSON_GetObjectItem(st, "datasets"), 0), 0));
    cJSON_AddNumberToObject(q, "n", n);
    for (int l = 0; l < N_LAYERS; l++)
        cJSON_AddItemToArray(modes, cJSON_CreateNumber(LOW[l]));
    cJSON_AddItemToObject(q, "modes", modes);
    char *body = cJSON_PrintUnformatted(q);
    vk_agent_reply r;
    vk_agent_handle(a, "POST", "/v1/measure", "application/json", NULL, (const uint8_t *)body,
                    strlen(body), &r);
    CHECK_EQ_INT(r.status, 200);
    j = cJSON_Parse(r.body ? r.body : "");
    free(r.body);
    free(body);
    cJSON_Delete(q);
    cJSON_Delete(st);
    vk_board_close(b);
    vk_agent_close(a);
    return j;
}

typedef void (*mutate_fn)(cJSON *j);

static void m_n_images(cJSON *j)
{
    cJSON_SetNumberValue(cJSON_GetObjectItem(j, "n_images"), 9);
}
static void m_no_src(cJSON *j)
{
    cJSON_DeleteItemFromObject(j, "latency_src");
}
static void m_bad_src(cJSON *j)
{
    cJSON_ReplaceItemInObject(j, "energy_src", cJSON_CreateString("guessed"));
}
static void m_short_cls(cJSON *j)
{
    cJSON_DeleteItemFromArray(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "results"), "cls"), 0);
}
static void m_big_cls(cJSON *j)
{
    cJSON_SetNumberValue(
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "results"), "cls"), 3), 5);
}
static void m_frac_ent(cJSON *j)
{
    cJSON_SetNumberValue(
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "results"), "entropy_q16"),
                           0),
        1.5);
}
static void m_esc(cJSON *j)
{
    cJSON_SetNumberValue(
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "results"), "escalated"), 0),
        1);
}
static void m_suffix(cJSON *j)
{
    cJSON_DeleteItemFromArray(cJSON_GetObjectItem(j, "suffix_ms"), 0);
}
static void m_stage(cJSON *j)
{
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(j, "stage_cycles"), "mlp");
}
static void m_cycles(cJSON *j)
{
    cJSON_SetNumberValue(cJSON_GetObjectItem(j, "cycles"), -1);
}
static void m_n_esc(cJSON *j)
{
    cJSON_SetNumberValue(cJSON_GetObjectItem(j, "n_escalated"), 1);
}
static void m_latency(cJSON *j)
{
    cJSON_ReplaceItemInObject(j, "latency_ms", cJSON_CreateString("fast"));
}
static void m_note(cJSON *j)
{
    cJSON_ReplaceItemInObject(j, "note", cJSON_CreateNumber(1));
}

/* Item 1 of issue 15: an answer measured by another board (the agent was
 * restarted on another board since open) is refused. */
static void m_other_board(cJSON *j)
{
    cJSON_ReplaceItemInObject(j, "board", cJSON_CreateString("cpu:Other CPU:2t"));
}

/* Item 13 of issue 15: figures out of range are refused by the client. */
static void m_neg_latency(cJSON *j)
{
    cJSON_SetNumberValue(cJSON_GetObjectItem(j, "latency_ms"), -1.5);
}
static void m_huge_latency(cJSON *j)
{
    cJSON_SetNumberValue(cJSON_GetObjectItem(j, "latency_ms"), 1e308);
}
static void m_huge_energy(cJSON *j)
{
    cJSON_SetNumberValue(cJSON_GetObjectItem(j, "energy_mj"), 1e300);
}
static void m_neg_p10(cJSON *j)
{
    cJSON_SetNumberValue(cJSON_GetObjectItem(j, "latency_p10_ms"), -0.001);
}
static void m_neg_suffix(cJSON *j)
{
    cJSON_SetNumberValue(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "suffix_mj"), 1), -3);
}

/* The remote board takes its agent's identity (a sim agent's figures are
 * this machine's sim board's); a missing or malformed one fails open. */
static void test_identity(void)
{
    vk_agent *a = agent_start(NULL);
    vk_err err = {{0}};
    char spec[64], local[VK_BOARD_ID_MAX], longid[300];
    vk_board *b = NULL;
    sim_identity(local, sizeof local);
    CHECK(vk_board_identity_ok(local));
    if (a) {
        snprintf(spec, sizeof spec, "http://127.0.0.1:%d", vk_agent_port(a));
        CHECK_EQ_INT(vk_board_open(spec, &b, &err), VK_OK);
        if (b)
            CHECK(!strcmp(vk_board_identity(b), local));
        vk_board_close(b);
        vk_agent_close(a);
    }
    memset(longid, 'a', sizeof longid - 1);
    memcpy(longid, "sim:", 4);
    longid[sizeof longid - 1] = 0;
    const char *bad[] = {NULL, "", "sim", "sim:", "remote:x", "sim:a */ #error", "sim:tab\\there",
                         longid};
    fake_start();
    snprintf(spec, sizeof spec, "http://127.0.0.1:%d", fake.port);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fake_identity(bad[i]);
        b = NULL;
        CHECK_EQ_INT(vk_board_open(spec, &b, &err), VK_E_NET);
        CHECK(b == NULL);
        CHECK_STR_CONTAINS(err.msg, "identity missing or malformed");
    }
    fake_identity("cpu:Some CPU (R) @ 2.0GHz:4t");
    CHECK_EQ_INT(vk_board_open(spec, &b, &err), VK_OK);
    if (b)
        CHECK(!strcmp(vk_board_identity(b), "cpu:Some CPU (R) @ 2.0GHz:4t"));
    vk_board_close(b);
    fake_stop();
}

static void test_garbage_answers(void)
{
    static const struct {
        mutate_fn f;
        const char *field;
    } cases[] = {
        {m_n_images, "n_images"},
        {m_no_src, "latency_src (missing)"},
        {m_bad_src, "energy_src"},
        {m_short_cls, "cls"},
        {m_big_cls, "results.cls[3]"},
        {m_frac_ent, "entropy_q16[0]"},
        {m_esc, "escalated[0]"},
        {m_suffix, "suffix_ms"},
        {m_stage, "mlp (missing)"},
        {m_cycles, "cycles"},
        {m_n_esc, "n_escalated"},
        {m_latency, "latency_ms"},
        {m_note, "note"},
        {m_other_board, "board (expected"},
        {m_neg_latency, "latency_ms (out of range"},
        {m_huge_latency, "latency_ms (out of range"},
        {m_huge_energy, "energy_mj (out of range"},
        {m_neg_p10, "latency_p10_ms (out of range"},
        {m_neg_suffix, "suffix_mj[1] (out of range"},
    };
    cJSON *good = real_answer(8);
    vk_err err = {{0}};
    vk_img_result res[8], sentinel[8];
    vk_measure m, msent;
    char spec[64];
    vk_board *b;
    if (!good)
        return;
    fake_start();
    snprintf(spec, sizeof spec, "http://127.0.0.1:%d", fake.port);
    b = open_loaded(spec);
    if (!b)
        goto out;
    char *s = cJSON_PrintUnformatted(good);
    fake_set(0, 200, s);
    free(s);
    CHECK_EQ_INT(run(b, LOW, NULL, 0, 0, 8, res, &m, &err), VK_OK);
    memset(sentinel, 0x5A, sizeof sentinel);
    memset(&msent, 0x5A, sizeof msent);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *j = cJSON_Duplicate(good, 1);
        cases[i].f(j);
        s = cJSON_PrintUnformatted(j);
        fake_set(0, 200, s);
        free(s);
        cJSON_Delete(j);
        memcpy(res, sentinel, sizeof res);
        memcpy(&m, &msent, sizeof m);
        CHECK_EQ_INT(run(b, LOW, NULL, 0, 0, 8, res, &m, &err), VK_E_NET);
        CHECK_STR_CONTAINS(err.msg, cases[i].field);
        CHECK(!memcmp(res, sentinel, sizeof res) && !memcmp(&m, &msent, sizeof m));
    }
    /* not JSON, empty, an error page */
    fake_set(0, 200, "<html>hello</html>");
    CHECK_EQ_INT(run(b, LOW, NULL, 0, 0, 8, res, &m, &err), VK_E_NET);
    CHECK_STR_CONTAINS(err.msg, "not a JSON object");
    fake_set(0, 200, NULL);
    CHECK_EQ_INT(run(b, LOW, NULL, 0, 0, 8, res, &m, &err), VK_E_NET);
    fake_set(0, 500, "oops");
    CHECK_EQ_INT(run(b, LOW, NULL, 0, 0, 8, res, &m, &err), VK_E_NET);
    CHECK_STR_CONTAINS(err.msg, "HTTP 500");
    /* wrong n: the answer is for 8 images, the request for 7 */
    s = cJSON_PrintUnformatted(good);
    fake_set(0, 200, s);
    CHECK_EQ_INT(run(b, LOW, NULL, 0, 0, 7, res, &m, &err), VK_E_NET);
    CHECK_STR_CONTAINS(err.msg, "n_images");
    /* busy twice, then an answer: waited for */
    fake_set(2, 200, s);
    CHECK_EQ_INT(run(b, LOW, NULL, 0, 0, 8, res, &m, &err), VK_OK);
    CHECK_EQ_INT(fake.n_measure, 3);
    free(s);
    vk_board_close(b);
    /* busy for longer than VITSKIP_HTTP_TIMEOUT: given up as busy */
    setenv("VITSKIP_HTTP_TIMEOUT", "1", 1);
    b = open_loaded(spec);
    fake_set(1000000, 200, NULL);
    CHECK_EQ_INT(run(b, LOW, NULL, 0, 0, 8, res, &m, &err), VK_E_BUSY);
    CHECK_STR_CONTAINS(err.msg, "busy");
    vk_board_close(b);
    /* nothing listening: a network error naming the spec */
    CHECK_EQ_INT(vk_board_open("http://127.0.0.1:1", &b, &err), VK_E_NET);
    CHECK_STR_CONTAINS(err.msg, "http://127.0.0.1:1");
    setenv("VITSKIP_HTTP_TIMEOUT", "20", 1);
out:
    fake_stop();
    cJSON_Delete(good);
}

/* ---- an agent in a child process, killed and restarted ------------------- */

/* Forks an agent on port (0: any); returns its pid and sets *got. */
static pid_t spawn_agent(int port, int *got)
{
    int pfd[2];
    pid_t pid;
    if (pipe(pfd))
        return -1;
    pid = fork();
    if (pid == 0) {
        vk_agent_opts o = {.board = "sim", .port = port, .log = quiet};
        vk_agent *a;
        vk_err err = {{0}};
        int p = -1;
        close(pfd[0]);
        if (vk_agent_open(&o, &a, &err) == VK_OK && vk_agent_listen(a, &err) == VK_OK)
            p = vk_agent_port(a);
        if (write(pfd[1], &p, sizeof p) != (ssize_t)sizeof p || p < 0)
            _exit(1);
        for (;;)
            pause();
    }
    close(pfd[1]);
    *got = -1;
    if (pid < 0 || read(pfd[0], got, sizeof *got) != (ssize_t)sizeof *got || *got <= 0) {
        close(pfd[0]);
        return -1;
    }
    close(pfd[0]);
    return pid;
}

static struct {
    int port;
    pid_t pid;
    atomic_int stop, killed; /* the main thread and the killer both use them (TSan) */
} killer;

/* Polls GET /v1/status; kills the agent once it is busy measuring. */
static void *kill_when_busy(void *arg)
{
    (void)arg;
    while (!killer.stop && !killer.killed) {
        struct sockaddr_in sa = {0};
        char buf[4096];
        size_t n = 0;
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        sa.sin_family = AF_INET;
        sa.sin_port = htons((uint16_t)killer.port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
            static const char q[] =
                "GET /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
            send(fd, q, sizeof q - 1, MSG_NOSIGNAL);
            for (;;) {
                struct pollfd pf = {fd, POLLIN, 0};
                if (poll(&pf, 1, 2000) <= 0)
                    break;
                ssize_t k = recv(fd, buf + n, sizeof buf - 1 - n, 0);
                if (k <= 0)
                    break;
                n += (size_t)k;
            }
            buf[n] = 0;
            if (strstr(buf, "\"busy\":true")) {
                kill(killer.pid, SIGKILL);
                killer.killed = 1;
            }
        }
        close(fd);
        usleep(2000);
    }
    return NULL;
}

static void test_killed_and_restarted(void)
{
    static vk_img_result res[N_IMG], lr[N_IMG], sentinel[N_IMG];
    vk_measure m, lm, msent;
    vk_err err = {{0}};
    char spec[64];
    int port = 0, port2 = 0, st;
    pid_t pid = spawn_agent(0, &port);
    vk_board *b, *lb;
    vk_status rc = VK_OK;
    CHECK(pid > 0);
    if (pid <= 0)
        return;
    snprintf(spec, sizeof spec, "http://127.0.0.1:%d", port);
    b = open_loaded(spec);
    memset(sentinel, 0x5A, sizeof sentinel);
    memset(&msent, 0x5A, sizeof msent);
    /* measure until the killer catches a measurement in flight */
    killer.port = port;
    killer.pid = pid;
    killer.killed = 0;
    for (int attempt = 0; attempt < 10 && b && rc == VK_OK; attempt++) {
        pthread_t t;
        killer.stop = 0;
        pthread_create(&t, NULL, kill_when_busy, NULL);
        memcpy(res, sentinel, sizeof res);
        memcpy(&m, &msent, sizeof m);
        rc = run(b, HIGH, NULL, 0, 0, N_IMG, res, &m, &err);
        killer.stop = 1;
        pthread_join(t, NULL);
    }
    CHECK(killer.killed);
    CHECK_EQ_INT(rc, VK_E_NET);
    CHECK_STR_CONTAINS(err.msg, spec);
    fprintf(stderr, "killed mid-measurement: %s\n", err.msg);
    CHECK(!memcmp(res, sentinel, sizeof res) && !memcmp(&m, &msent, sizeof m));
    if (!killer.killed)
        kill(pid, SIGKILL);
    waitpid(pid, &st, 0);

    /* the same port again: the client uploads anew and goes on */
    pid = spawn_agent(port, &port2);
    CHECK(pid > 0);
    CHECK_EQ_INT(port2, port);
    if (pid > 0 && b) {
        lb = open_loaded("sim");
        CHECK_EQ_INT(run(b, HIGH, NULL, 0, 0, 40, res, &m, &err), VK_OK);
        CHECK_EQ_INT(run(lb, HIGH, NULL, 0, 0, 40, lr, &lm, &err), VK_OK);
        CHECK(vk_fixture_same_results(res, lr, 40, 1));
        CHECK(same_measure(&m, &lm));
        vk_board_close(lb);
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    vk_board_close(b);
}

static void test_token(void)
{
    vk_agent *a = agent_start("correct-horse");
    vk_board *b = NULL;
    vk_err err = {{0}};
    char spec[64], tf[] = "/tmp/vk_test_tokenXXXXXX";
    int fd;
    if (!a)
        return;
    snprintf(spec, sizeof spec, "http://127.0.0.1:%d", vk_agent_port(a));
    unsetenv("VITSKIP_TOKEN");
    unsetenv("VITSKIP_TOKEN_FILE");
    CHECK_EQ_INT(vk_board_open(spec, &b, &err), VK_E_NET);
    CHECK_STR_CONTAINS(err.msg, "401");
    setenv("VITSKIP_TOKEN", "wrong-horse", 1);
    CHECK_EQ_INT(vk_board_open(spec, &b, &err), VK_E_NET);
    setenv("VITSKIP_TOKEN", "correct-horse", 1);
    b = open_loaded(spec);
    vk_board_close(b);
    unsetenv("VITSKIP_TOKEN");
    fd = mkstemp(tf);
    CHECK(fd >= 0 && write(fd, "correct-horse\n", 14) == 14);
    close(fd);
    setenv("VITSKIP_TOKEN_FILE", tf, 1);
    b = open_loaded(spec);
    vk_board_close(b);
    unsetenv("VITSKIP_TOKEN_FILE");
    unlink(tf);
    vk_agent_close(a);
}

/* A timeout that is not a whole number of seconds in range fails the open,
 * naming the variable, before anything is sent. */
static void test_bad_timeouts(void)
{
    const char *vars[] = {"VITSKIP_HTTP_TIMEOUT", "VITSKIP_HTTP_CONNECT_TIMEOUT"};
    const char *bad[] = {"soon", "0", "-5", "86401", "10s"};
    vk_board *b = NULL;
    vk_err err = {{0}};
    for (int v = 0; v < 2; v++) {
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            setenv(vars[v], bad[i], 1);
            CHECK_EQ_INT(vk_board_open("http://127.0.0.1:1", &b, &err), VK_E_ARG);
            CHECK_STR_CONTAINS(err.msg, vars[v]);
            CHECK_STR_CONTAINS(err.msg, "1..86400");
        }
        unsetenv(vars[v]);
    }
    CHECK(b == NULL);
    setenv("VITSKIP_HTTP_TIMEOUT", "20", 1); /* as setup left it */
}

/* VK_REMOTE_URL names an agent started outside (tests/test_qemu_agent.sh:
 * the aarch64 build under qemu): a path and a cascade on the first
 * VK_REMOTE_IMAGES images (default 24) equal the local sim board's. */
static void test_external(void)
{
    static vk_img_result rr[N_IMG], lr[N_IMG];
    const char *url = getenv("VK_REMOTE_URL"), *ni = getenv("VK_REMOTE_IMAGES");
    int n = ni ? atoi(ni) : 24;
    vk_measure rm, lm;
    vk_err err = {{0}};
    char desc[512];
    vk_board *rb, *lb;
    if (n < 2 || n > N_IMG)
        n = 24;
    rb = open_loaded(url);
    lb = open_loaded("sim");
    if (rb && lb) {
        vk_board_describe(rb, desc, sizeof desc);
        printf("external agent: %s\n", desc);
        CHECK_EQ_INT(run(rb, LOW, NULL, 0, 0, n, rr, &rm, &err), VK_OK);
        if (err.msg[0])
            fprintf(stderr, "%s\n", err.msg);
        CHECK_EQ_INT(run(lb, LOW, NULL, 0, 0, n, lr, &lm, &err), VK_OK);
        CHECK(vk_fixture_same_results(rr, lr, n, 1));
        CHECK(same_measure(&rm, &lm));
        int32_t thr = lr[n / 2].entropy_q16;
        CHECK_EQ_INT(run(rb, LOW, HIGH, thr, 1, n, rr, &rm, &err), VK_OK);
        CHECK_EQ_INT(run(lb, LOW, HIGH, thr, 1, n, lr, &lm, &err), VK_OK);
        CHECK(vk_fixture_same_results(rr, lr, n, 1));
        CHECK(same_measure(&rm, &lm));
        CHECK(lm.n_escalated > 0);
        printf("external agent: %d images, path and cascade (%d escalated) equal the local sim "
               "board\n",
               n, lm.n_escalated);
    }
    vk_board_close(rb);
    vk_board_close(lb);
}

int main(void)
{
    setup();
    if (getenv("VK_REMOTE_URL")) {
        RUN(test_external);
        return vk_test_summary("remote (external agent)");
    }
    RUN(test_killed_and_restarted); /* first: forks before any thread runs */
    RUN(test_equals_local);
    RUN(test_upload_once);
    RUN(test_garbage_answers);
    RUN(test_identity);
    RUN(test_token);
    RUN(test_bad_timeouts);
    vk_qmodel_free(&qm);
    vk_model_free(&model);
    fclose(quiet);
    return vk_test_summary("remote");
}
