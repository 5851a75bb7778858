/* vk_board: the board registry and the checks every back-end can rely on
 * (see vk_board.h).
 *
 * vk_board_open parses the spec and dispatches to one ops table; the
 * wrappers check every argument before a back-end sees it:
 *   load       q has a par header the kernel accepts (dimensions in range);
 *   load_data  a model is loaded, imgs non-NULL, n >= 1; loading a new model
 *              forgets the images (their size may differ);
 *   measure    model and data loaded, 1 <= n <= images loaded, res/out/req/
 *              modes non-NULL, every mode word well formed (attention mode
 *              0..3, no unknown bits), and for a cascade 0 <= resume <=
 *              n_layers with the high path equal to the low one on the
 *              first `resume` encoders (it resumes from the low path's act).
 * Whether a well-formed mode is implemented is the back-end's answer.
 *
 * The cpu, xrt and remote back-ends live in their own files; they are
 * referenced weakly so that a build without one still links and reports
 * "board kind '...' is not built in". */
#include "boards/vk_board.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boards/vk_cycles.h"
#include "host/vk_env.h"
#include "host/vk_sha256.h"

extern const vk_board_ops vk_board_sim_ops;
extern const vk_board_ops vk_board_cpu_ops __attribute__((weak));
extern const vk_board_ops vk_board_xrt_ops __attribute__((weak));
extern const vk_board_ops vk_board_remote_ops __attribute__((weak));

struct vk_board {
    const vk_board_ops *ops;
    void *state;
    char *spec;
    int has_model;
    int n_layers;
    int n_images;
    char id[VK_BOARD_ID_MAX];
};

/* "sim" or "sim:FILE.json" (a file name after the colon). */
static int sim_spec_ok(const char *spec)
{
    return spec[3] != ':' || spec[4];
}

/* "xrt", "xrt:N" or "xrt:N:file.xclbin" with N a device index. */
static int xrt_spec_ok(const char *spec)
{
    const char *p = spec + 3, *q;
    if (!*p)
        return 1;
    if (*p++ != ':')
        return 0;
    for (q = p; *q >= '0' && *q <= '9'; q++)
        ;
    if (q == p || q - p > 4)
        return 0;
    if (!*q)
        return 1;
    return *q == ':' && q[1] != 0;
}

/* "http://host[:port][/]" with a non-empty host and a port in 1..65535. */
static int http_spec_ok(const char *spec)
{
    const char *h = spec + 7, *e = h;
    while (*e && *e != ':' && *e != '/')
        e++;
    if (e == h)
        return 0;
    if (*e == ':') {
        char *end;
        long port = strtol(e + 1, &end, 10);
        if (end == e + 1 || port < 1 || port > 65535)
            return 0;
        e = end;
    }
    return !*e || (e[0] == '/' && !e[1]);
}

/* The board kinds: which specs each serves (`prefix` alone or followed by
 * ':', or any spec starting with it when `bare` is 0), their syntax, and
 * how `vitskip boards` offers them (opened, or described by `offer`). One
 * table for lookup and listing; `ops` is NULL for a kind not built in. */
static const struct {
    const char *kind, *prefix, *form;
    int bare;
    int (*spec_ok)(const char *spec);
    const vk_board_ops *ops;
    const char *offer; /* NULL: opened to be described */
} board_kinds[VK_BOARD_N_KINDS] = {
    {"sim", "sim", "sim[:FILE.json]", 1, sim_spec_ok, &vk_board_sim_ops, NULL},
    {"cpu", "cpu", "cpu", 1, NULL, &vk_board_cpu_ops, NULL},
    {"xrt", "xrt", "xrt[:DEVICE[:FILE.xclbin]]", 1, xrt_spec_ok, &vk_board_xrt_ops, NULL},
    {"remote", "http://", "http://HOST:PORT", 0, http_spec_ok, &vk_board_remote_ops,
     "any http://HOST:PORT serving `vitskip agent`"},
};

/* Which ops table serves spec. */
static vk_status pick_ops(const char *spec, const vk_board_ops **ops, vk_err *err)
{
    for (int i = 0; i < VK_BOARD_N_KINDS; i++) {
        size_t n = strlen(board_kinds[i].prefix);
        if (strncmp(spec, board_kinds[i].prefix, n) ||
            (board_kinds[i].bare && spec[n] && spec[n] != ':'))
            continue;
        if (board_kinds[i].spec_ok && !board_kinds[i].spec_ok(spec))
            return vk_fail(err, VK_E_ARG, "board '%s': expected %s", spec, board_kinds[i].form);
        if (!(*ops = board_kinds[i].ops))
            return vk_fail(err, VK_E_UNSUPPORTED, "board '%s': board kind '%s' is not built in",
                           spec, board_kinds[i].kind);
        return VK_OK;
    }
    return vk_fail(err, VK_E_NOTFOUND, "unknown board '%s' (expected %s, %s, %s or %s)", spec,
                   board_kinds[0].form, board_kinds[1].form, board_kinds[2].form,
                   board_kinds[3].form);
}

vk_status vk_board_check_spec(const char *spec, vk_err *err)
{
    const vk_board_ops *ops = NULL;
    return pick_ops(spec, &ops, err);
}

vk_status vk_board_open(const char *spec, vk_board **b, vk_err *err)
{
    const vk_board_ops *ops = NULL;
    vk_board *r;
    vk_status rc;
    if (!spec || !b)
        return vk_fail(err, VK_E_ARG, "vk_board_open: spec and b must be non-NULL");
    if ((rc = pick_ops(spec, &ops, err)) != VK_OK)
        return rc;
    r = calloc(1, sizeof *r);
    if (!r || !(r->spec = strdup(spec))) {
        free(r);
        return vk_fail(err, VK_E_NOMEM, "board '%s': out of memory", spec);
    }
    r->ops = ops;
    if ((rc = ops->open(spec, &r->state, err)) != VK_OK) {
        free(r->spec);
        free(r);
        return rc;
    }
    ops->identity(r->state, r->id, sizeof r->id);
    if (!vk_board_identity_ok(r->id)) { /* a back-end's bug: remote checks its agent's */
        rc = vk_fail(err, VK_E_BOARD, "board '%s': malformed identity '%.40s'", spec, r->id);
        vk_board_close(r);
        return rc;
    }
    *b = r;
    return VK_OK;
}

vk_status vk_board_load(vk_board *b, const vk_qmodel *q, vk_err *err)
{
    vk_cycles_dims d;
    vk_layout lay;
    vk_status rc;
    if (!b || !q || !q->par || !q->wt || q->par_n < VK_HDR_WORDS)
        return vk_fail(err, VK_E_ARG, "board load: a board and a built model are required");
    if (q->par[VK_HDR_MAGIC] != VK_PAR_MAGIC || q->par[VK_HDR_VERSION] != VK_PAR_VERSION)
        return vk_fail(err, VK_E_FORMAT, "board '%s': model blob has a bad par header", b->spec);
    vk_cycles_dims_from_par(q->par, &d);
    if ((rc = vk_cycles_dims_check(&d, "model", err)) != VK_OK)
        return rc;
    vk_layout_compute(&lay, (uint32_t)d.channels, (uint32_t)d.patch, (uint32_t)d.dim,
                      (uint32_t)d.layers, (uint32_t)d.mlp, (uint32_t)d.classes, (uint32_t)d.tokens,
                      (uint32_t)d.heads, (uint32_t)d.prefix);
    if (q->par_n < lay.par_n || q->wt_n < lay.wt_n)
        return vk_fail(err, VK_E_FORMAT,
                       "board '%s': model blob too short (par %zu of %u words, wt %zu of %u "
                       "bytes)",
                       b->spec, q->par_n, lay.par_n, q->wt_n, lay.wt_n);
    b->has_model = 0;
    b->n_images = 0;
    if ((rc = b->ops->load(b->state, q, err)) != VK_OK)
        return rc;
    b->has_model = 1;
    b->n_layers = d.layers;
    return VK_OK;
}

vk_status vk_board_load_data(vk_board *b, const int8_t *imgs, int n, vk_err *err)
{
    vk_status rc;
    if (!b)
        return vk_fail(err, VK_E_ARG, "board load_data: no board");
    if (!b->has_model)
        return vk_fail(err, VK_E_ARG, "board '%s': load a model before the images", b->spec);
    if (!imgs || n < 1)
        return vk_fail(err, VK_E_ARG, "board '%s': load_data needs at least one image (got %d)",
                       b->spec, n);
    b->n_images = 0;
    if ((rc = b->ops->load_data(b->state, imgs, n, err)) != VK_OK)
        return rc;
    b->n_images = n;
    return VK_OK;
}

static vk_status check_modes(const vk_board *b, const uint32_t *modes, const char *which,
                             vk_err *err)
{
    for (int l = 0; l < b->n_layers; l++) {
        uint32_t w = modes[l];
        if (VK_MODE_ATTN(w) > VK_ATTN_SHARED || (w & 0xFF0000F0u))
            return vk_fail(err, VK_E_ARG,
                           "board '%s': %s mode word 0x%08x of encoder %d is malformed "
                           "(attention mode 0..3 in bits 0-3, keep in 8-15, FFN in 16-23)",
                           b->spec, which, (unsigned)w, l);
    }
    return VK_OK;
}

vk_status vk_board_measure(vk_board *b, const vk_path_req *req, int n, vk_img_result *res,
                           vk_measure *out, vk_err *err)
{
    vk_status rc;
    if (!b || !req || !res || !out)
        return vk_fail(err, VK_E_ARG, "board measure: board, request, res and out are required");
    if (!b->has_model || !b->n_images)
        return vk_fail(err, VK_E_ARG, "board '%s': load a model and images before measuring",
                       b->spec);
    if (n < 1 || n > b->n_images)
        return vk_fail(err, VK_E_ARG, "board '%s': request for %d images, %d loaded", b->spec, n,
                       b->n_images);
    if (!req->modes)
        return vk_fail(err, VK_E_ARG, "board '%s': request has no mode words", b->spec);
    if ((rc = check_modes(b, req->modes, "path", err)) != VK_OK)
        return rc;
    if (req->modes_high) {
        if ((rc = check_modes(b, req->modes_high, "high path", err)) != VK_OK)
            return rc;
        if (req->resume < 0 || req->resume > b->n_layers)
            return vk_fail(err, VK_E_ARG, "board '%s': cascade resume %d outside 0..%d", b->spec,
                           (int)req->resume, b->n_layers);
        for (int l = 0; l < req->resume; l++)
            if (req->modes[l] != req->modes_high[l])
                return vk_fail(err, VK_E_ARG,
                               "board '%s': cascade resumes after %d encoders but the paths "
                               "differ at encoder %d",
                               b->spec, (int)req->resume, l);
    }
    return b->ops->measure(b->state, req, n, res, out, err);
}

const char *vk_board_spec(const vk_board *b)
{
    return b->spec;
}

const char *vk_board_kind(const vk_board *b)
{
    return b->ops->kind;
}

const char *vk_board_identity(const vk_board *b)
{
    return b->id;
}

/* The options of a spec: after its kind's ':' ("" when none). */
static const char *opts_of(const char *spec)
{
    const char *c = strchr(spec, ':');
    return c && strncmp(spec, "http://", 7) ? c + 1 : "";
}

vk_status vk_board_opts_check(const char *spec, const char *const *keys, int file_ok,
                              vk_err *err)
{
    const char *p = opts_of(spec);
    for (int first = 1; *p; first = 0) {
        size_t n = strcspn(p, ","), k = strcspn(p, "=");
        int known = 0;
        if (k >= n) {
            if (!file_ok || !first || !n)
                return vk_fail(err, VK_E_ARG, "board '%s': option '%.*s' is not key=value", spec,
                               (int)n, p);
        } else {
            for (int i = 0; keys[i] && !known; i++)
                known = strlen(keys[i]) == k && !strncmp(p, keys[i], k);
            if (!known) {
                char list[256] = "";
                for (int i = 0; keys[i]; i++)
                    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                             i ? ", " : "", keys[i]);
                return vk_fail(err, VK_E_ARG, "board '%s': unknown option '%.*s' (expected %s)",
                               spec, (int)k, p, keys[0] ? list : "none");
            }
        }
        p += n + (p[n] == ',');
    }
    return VK_OK;
}

vk_status vk_board_opt_long(const char *spec, const char *key, const char *env, long def, long lo,
                            long hi, long *v, vk_err *err)
{
    size_t kl = strlen(key);
    for (const char *p = opts_of(spec); *p;) {
        size_t n = strcspn(p, ",");
        if (n > kl && !strncmp(p, key, kl) && p[kl] == '=') {
            char val[32], *end;
            long x;
            size_t vl = n - kl - 1;
            snprintf(val, sizeof val, "%.*s", (int)(vl < sizeof val ? vl : sizeof val - 1),
                     p + kl + 1);
            errno = 0;
            x = strtol(val, &end, 10);
            if (!vl || vl >= sizeof val || *end || errno || x < lo || x > hi)
                return vk_fail(err, VK_E_ARG,
                               "board '%s': option %s='%.*s': expected an integer in %ld..%ld",
                               spec, key, (int)vl, p + kl + 1, lo, hi);
            *v = x;
            return VK_OK;
        }
        p += n + (p[n] == ',');
    }
    return vk_env_long(env, def, lo, hi, v, err);
}

void vk_board_opt_file(const char *spec, char *buf, size_t n)
{
    const char *p = opts_of(spec);
    size_t l = strcspn(p, ",");
    if (memchr(p, '=', l))
        l = 0;
    snprintf(buf, n, "%.*s", (int)l, p);
}

static int id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr(" ._:@()+,#=/-", c));
}

int vk_board_identity_ok(const char *id)
{
    static const char *const measured_by[] = {"sim:", "cpu:", "xrt:"};
    size_t n = id ? strlen(id) : 0;
    int known = 0;
    if (n < 5 || n >= VK_BOARD_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!id_char(id[i]))
            return 0;
    for (size_t k = 0; k < sizeof measured_by / sizeof measured_by[0]; k++)
        known |= !strncmp(id, measured_by[k], 4);
    return known && id[4] != ' ';
}

void vk_board_identity_clean(char *s)
{
    for (; *s; s++)
        if (!id_char(*s))
            *s = '_';
}

vk_status vk_board_file_fingerprint(const char *path, char out[17], vk_err *err)
{
    uint8_t d[32];
    char hex[65];
    vk_status rc = vk_sha256_file(path, d, err);
    if (rc != VK_OK)
        return rc;
    vk_sha256_hex(d, hex);
    memcpy(out, hex, 16);
    out[16] = 0;
    return VK_OK;
}

void vk_board_describe(vk_board *b, char *buf, size_t len)
{
    if (len)
        buf[0] = 0;
    b->ops->describe(b->state, buf, len);
}

void vk_board_close(vk_board *b)
{
    if (!b)
        return;
    b->ops->close(b->state);
    free(b->spec);
    free(b);
}

/* Opens kind and notes its description, or why it is unavailable. */
static void offer_one(vk_board_offer *o, const char *kind)
{
    vk_board *b = NULL;
    vk_err err = {{0}};
    snprintf(o->kind, sizeof o->kind, "%s", kind);
    o->identity[0] = 0;
    o->available = vk_board_open(kind, &b, &err) == VK_OK;
    if (!o->available) {
        snprintf(o->detail, sizeof o->detail, "%s", err.msg);
        return;
    }
    vk_board_describe(b, o->detail, sizeof o->detail);
    snprintf(o->identity, sizeof o->identity, "%s", vk_board_identity(b));
    vk_board_close(b);
}

void vk_board_offers(vk_board_offer out[VK_BOARD_N_KINDS])
{
    for (int i = 0; i < VK_BOARD_N_KINDS; i++) {
        vk_board_offer *o = &out[i];
        if (board_kinds[i].ops &&
            !board_kinds[i].offer) { /* opening says why not (XILINX_XRT, ...) */
            offer_one(o, board_kinds[i].kind);
            continue;
        }
        snprintf(o->kind, sizeof o->kind, "%s", board_kinds[i].kind);
        o->identity[0] = 0; /* a remote board's: each agent reports its own */
        o->available = board_kinds[i].ops != NULL;
        if (o->available)
            snprintf(o->detail, sizeof o->detail, "%s", board_kinds[i].offer);
        else
            snprintf(o->detail, sizeof o->detail, "board kind '%s' is not built in",
                     board_kinds[i].kind);
    }
}

void vk_board_list(FILE *out)
{
    vk_board_offer o[VK_BOARD_N_KINDS];
    vk_board_offers(o);
    fprintf(out, "boards on this machine:\n");
    for (int i = 0; i < VK_BOARD_N_KINDS; i++) {
        fprintf(out, "  %-8s %s%s\n", o[i].kind,
                !o[i].available               ? "unavailable: "
                : strcmp(o[i].kind, "remote") ? "available: "
                                              : "",
                o[i].detail);
        if (o[i].identity[0])
            fprintf(out, "  %-8s results keyed by %s\n", "", o[i].identity);
    }
}

vk_status vk_board_keep_images(const char *spec, const int8_t *src, int n, size_t img_n,
                               int8_t **imgs, int *n_imgs, vk_err *err)
{
    int8_t *c = malloc((size_t)n * img_n);
    if (!c)
        return vk_fail(err, VK_E_NOMEM, "board '%s': out of memory for %d images", spec, n);
    memcpy(c, src, (size_t)n * img_n);
    free(*imgs);
    *imgs = c;
    *n_imgs = n;
    return VK_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double vk_board_quantile(double *v, int n, double q)
{
    double pos;
    int i;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    pos = q * (n - 1);
    i = (int)pos;
    return i + 1 < n ? v[i] + (pos - i) * (v[i + 1] - v[i]) : v[n - 1];
}

void vk_board_latency(double *tot, double *lo, int n_timed, double *hi, int n_hi, int n_escalated,
                      int n, vk_measure *out)
{
    if (lo) {
        out->latency_ms = vk_board_quantile(lo, n_timed, 0.5) +
                          (n_hi ? (double)n_escalated / n * vk_board_quantile(hi, n_hi, 0.5) : 0);
        out->n_escalated = n_escalated;
    } else {
        out->latency_ms = vk_board_quantile(tot, n_timed, 0.5);
    }
    out->latency_p10_ms = vk_board_quantile(tot, n_timed, 0.1);
    out->latency_p90_ms = vk_board_quantile(tot, n_timed, 0.9);
    out->latency_src = VK_SRC_MEASURED;
}
