/* vk_board_xrt: the `xrt` board — the vitskip kernel on a real device (a
 * ZCU102, or any XRT device) through XRT's native C API (see vk_board.h).
 *
 * Spec: "xrt" (device 0), "xrt:N", "xrt:N:FILE.xclbin". Without a file:
 * $VITSKIP_XCLBIN, else ./vitskip.xclbin (built by kernels/hls/vitis.mk).
 * Environment: XILINX_XRT (the XRT install; on Arm, unset means /usr, as
 * XRT itself assumes), VITSKIP_XRT_TIMEOUT_MS (per run, 1..3600000, default
 * 10000), VITSKIP_SUFFIX_IMAGES (0..32, default 8; see measure).
 *
 * XRT is not linked: $XILINX_XRT/lib/libxrt_coreutil.so.2 (or .so) is
 * dlopen()ed on the first open and kept for the life of the process (XRT's
 * static state and threads do not survive dlclose), so vitskip runs on
 * machines without XRT and says why the board is unavailable. The C API is
 * declared below, not included, so the build needs no XRT headers; the
 * signatures are XRT 2.13's (xrt/xrt_device.h, xrt_kernel.h, xrt_bo.h,
 * experimental/xrt_xclbin.h). XRT itself then loads its device shim,
 * $XILINX_XRT/lib/libxrt_core.so.2 (libxrt_swemu / libxrt_hwemu when
 * XCL_EMULATION_MODE is sw_emu / hw_emu).
 *
 * Exceptions: the C API does not let C++ exceptions escape. In XRT
 * 2.13.466 (tag 202210.2.13.466, src/runtime_src/core/common/api/
 * xrt_device.cpp, xrt_kernel.cpp, xrt_bo.cpp, xrt_xclbin.cpp) every exported
 * C function wraps its whole body in try { } catch (const xrt_core::error&)
 * { errno = code } catch (const std::exception&) { }, prints the exception's
 * text through XRT's message logger (stderr by default, prefixed "[XRT]"),
 * and returns NULL / -1 / ERT_CMD_STATE_ABORT. Consequences handled here:
 *   - errno is set only for xrt_core::error; a std::exception leaves it
 *     alone, so errno is cleared before each call and an error with errno 0
 *     says "no error code; XRT printed the reason on stderr";
 *   - errno may be set on success too (xrtDeviceOpen in emulation returns a
 *     device with errno = ENOENT), so success is judged by the return value;
 *   - an exception type not derived from std::exception would still escape
 *     (none is thrown by these paths), and so would one thrown while XRT's
 *     static constructors run inside dlopen (e.g. reading a broken xrt.ini).
 * Verified here against the installed Debian XRT 2.13.466: with no device,
 * xrtDeviceOpen(0) returns NULL with errno ENOENT, xrtDeviceClose of a bogus
 * handle returns -1 with EINVAL, xrtXclbinAllocFilename of a missing file
 * NULL with ENOENT and of a non-xclbin NULL with errno 0; no abort (see
 * tests/test_board_xrt.c). In hw_emu, a process that exits with a device
 * still open crashes in XRT's static destructors: close the board.
 *
 * open: library -> xclbin file exists -> xrtDeviceOpen(N) ->
 * xrtXclbinAllocFilename (UUID, platform name) -> xrtDeviceLoadXclbinHandle
 * -> xrtPLKernelOpen(vk_kernel_top) -> the argument group of each of
 * vk_kernel_top(w0, w1, w2, w3, par, cfg, img, act, out, ps) -> the INA226 sampler
 * (vk_hwmon on /sys; absent sensors mean no energy figure, not an error).
 * load: one buffer object per argument in its group (the pre-tiled
 * weights once, passed to all four weight ports; three cfg buffers: low
 * path, high path, suffix runs; the probability spill area), wt and par
 * written and synced once; one run handle per cfg buffer.
 * measure: cfg buffers written once per request; one untimed warm-up run;
 * then per image, timed on the host clock (CLOCK_MONOTONIC): write img and
 * sync it to the device, start the low-path run, wait (timeout), sync out
 * back and read it; for a cascade whose entropy exceeds the threshold, the
 * high-path run (START = resume, reading act, which stays in device memory;
 * from scratch on the same img when resume = 0), sync and read again. A
 * timed-out run fails the request with VK_E_TIMEOUT and leaves the board
 * unusable (the compute unit may still be busy: reset the device and reopen);
 * a run that ends in any state but COMPLETED, or a kernel status other than
 * OK, fails it with VK_E_BOARD (VK_E_UNSUPPORTED for an unimplemented mode).
 * Figures as the cpu board: single path latency_ms = median of the
 * per-image times, p10/p90 their percentiles; cascade latency_ms = median
 * low-path time + escalated share x median high-path time; p10/p90 of the
 * per-image totals. Energy: the INA226 rails sampled over the timed loop
 * (every rail's idle power during host work included) / n images,
 * VK_SRC_MEASURED; VK_SRC_NONE without sensors. suffix_ms[k], k >= 1: on
 * VITSKIP_SUFFIX_IMAGES images spread over the n, an untimed run from
 * scratch saving act after k encoders, then a timed run from k (START = k,
 * SAVE = 0; run, wait, sync and read out — the image is already on the
 * device, as in a cascade), median over the images. suffix_ms[0] is the
 * single path's latency, or for a cascade the high path from scratch timed
 * the same way. suffix_mj and the counts are not measured (0).
 *
 * Not run in CI (no device): everything past xrtDeviceOpen on real
 * hardware. What the tests run is listed in tests/test_board_xrt.c. */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "boards/vk_board.h"
#include "boards/vk_hwmon.h"
#include "host/vk_clock.h"
#include "host/vk_env.h"

#define VK_XRT_KERNEL "vk_kernel_top"
#define VK_XRT_DEFAULT_XCLBIN "vitskip.xclbin"
#define VK_XRT_DEFAULT_TIMEOUT_MS 10000
#define VK_XRT_SUFFIX_DEFAULT 8
#define VK_XRT_SUFFIX_MAX 32

/* xclBOSyncDirection and ert_cmd_state values (xrt.h, ert.h). */
enum { XRT_SYNC_TO_DEVICE = 0, XRT_SYNC_FROM_DEVICE = 1 };
enum { XRT_STATE_COMPLETED = 4, XRT_STATE_TIMEOUT = 8 };

/* Kernel arguments in vk_kernel_top's order. */
enum { ARG_W0, ARG_W1, ARG_W2, ARG_W3, ARG_PAR, ARG_CFG, ARG_IMG, ARG_ACT, ARG_OUT, ARG_PS, ARG_N };
/* cfg buffers and run handles. */
enum { RUN_LO, RUN_HI, RUN_X, RUN_N };

/* The XRT C API functions vitskip calls, as dlsym() finds them. */
typedef struct {
    void *(*device_open)(unsigned index);
    int (*device_close)(void *dev);
    int (*device_load_xclbin_handle)(void *dev, void *xclbin);
    void *(*xclbin_alloc_filename)(const char *path);
    int (*xclbin_free)(void *xclbin);
    int (*xclbin_get_uuid)(void *xclbin, unsigned char *uuid);
    int (*xclbin_get_xsa_name)(void *xclbin, char *name, int size, int *ret_size);
    void *(*kernel_open)(void *dev, const unsigned char *uuid, const char *name);
    int (*kernel_close)(void *kernel);
    int (*kernel_arg_group)(void *kernel, int argno);
    void *(*bo_alloc)(void *dev, size_t size, uint64_t flags, uint32_t group);
    int (*bo_free)(void *bo);
    int (*bo_write)(void *bo, const void *src, size_t size, size_t seek);
    int (*bo_read)(void *bo, void *dst, size_t size, size_t skip);
    int (*bo_sync)(void *bo, int dir, size_t size, size_t offset);
    void *(*run_open)(void *kernel);
    int (*run_set_arg)(void *run, int index, ...);
    int (*run_start)(void *run);
    int (*run_wait_for)(void *run, unsigned timeout_ms);
    int (*run_close)(void *run);
} xrt_api;

static const struct {
    const char *name;
    size_t off;
} xrt_syms[] = {
    {"xrtDeviceOpen", offsetof(xrt_api, device_open)},
    {"xrtDeviceClose", offsetof(xrt_api, device_close)},
    {"xrtDeviceLoadXclbinHandle", offsetof(xrt_api, device_load_xclbin_handle)},
    {"xrtXclbinAllocFilename", offsetof(xrt_api, xclbin_alloc_filename)},
    {"xrtXclbinFreeHandle", offsetof(xrt_api, xclbin_free)},
    {"xrtXclbinGetUUID", offsetof(xrt_api, xclbin_get_uuid)},
    {"xrtXclbinGetXSAName", offsetof(xrt_api, xclbin_get_xsa_name)},
    {"xrtPLKernelOpen", offsetof(xrt_api, kernel_open)},
    {"xrtKernelClose", offsetof(xrt_api, kernel_close)},
    {"xrtKernelArgGroupId", offsetof(xrt_api, kernel_arg_group)},
    {"xrtBOAlloc", offsetof(xrt_api, bo_alloc)},
    {"xrtBOFree", offsetof(xrt_api, bo_free)},
    {"xrtBOWrite", offsetof(xrt_api, bo_write)},
    {"xrtBORead", offsetof(xrt_api, bo_read)},
    {"xrtBOSync", offsetof(xrt_api, bo_sync)},
    {"xrtRunOpen", offsetof(xrt_api, run_open)},
    {"xrtRunSetArg", offsetof(xrt_api, run_set_arg)},
    {"xrtRunStart", offsetof(xrt_api, run_start)},
    {"xrtRunWaitFor", offsetof(xrt_api, run_wait_for)},
    {"xrtRunClose", offsetof(xrt_api, run_close)},
};

/* Loaded once per process, under xrt_mu; never unloaded. */
static pthread_mutex_t xrt_mu = PTHREAD_MUTEX_INITIALIZER;
static xrt_api xrt;
static int xrt_loaded;
static char xrt_lib[PATH_MAX];

typedef struct {
    char spec[PATH_MAX + 16];
    unsigned index;
    char xclbin[PATH_MAX];
    unsigned timeout_ms;
    int n_suffix;
    void *dev, *xbin, *kern;
    unsigned char uuid[16];
    char platform[128];
    int group[ARG_N];
    vk_hwmon *hw; /* NULL: no INA226 rails */
    char hw_why[VK_ERR_MAX];
    /* model (load) */
    void *bo_wt[4], *bo_par, *bo_img, *bo_act, *bo_out, *bo_ps, *bo_cfg[RUN_N];
    void *run[RUN_N];
    int n_layers;
    size_t img_n, act_n, out_n; /* bytes of img, act, the out words used */
    int8_t *imgs;               /* owned, n_imgs * img_n */
    int n_imgs;
    int wedged;               /* a run timed out */
    char id[VK_BOARD_ID_MAX]; /* xrt:PLATFORM:<xclbin's SHA-256, 16 hex> */
} vk_xrt;

static double now_ms(void)
{
    return vk_clock_now() * 1e3;
}

/* errno after a failed XRT call, as text. */
static const char *xerr(int e)
{
    return e ? strerror(e) : "no error code; XRT printed the reason on stderr";
}

static const char *state_str(int st)
{
    static const char *names[] = {"?",         "NEW",        "QUEUED",  "RUNNING",
                                  "COMPLETED", "ERROR",      "ABORT",   "SUBMITTED",
                                  "TIMEOUT",   "NORESPONSE", "SKERROR", "SKCRASHED"};
    return st >= 0 && st < (int)(sizeof names / sizeof names[0]) ? names[st] : "?";
}

static const char *kstat_str(int32_t st)
{
    switch (st) {
    case VK_KSTAT_BAD_PAR:
        return "par header magic or a dimension out of range";
    case VK_KSTAT_BAD_CFG:
        return "cfg magic, start or save out of range";
    case VK_KSTAT_BAD_MODE:
        return "a mode this kernel build does not implement";
    default:
        return "unknown kernel status";
    }
}

/* The XRT install: XILINX_XRT, or /usr on Arm as XRT's own module loader
 * assumes (core/common/module_loader.cpp). NULL when unset elsewhere. */
static const char *xrt_root(void)
{
    const char *x = getenv("XILINX_XRT");
    if (x && *x)
        return x;
#if defined(__aarch64__) || defined(__arm__)
    return "/usr";
#else
    return NULL;
#endif
}

static vk_status load_api(vk_err *err)
{
    const char *root;
    char lib[PATH_MAX - 64], path[PATH_MAX];
    struct stat st;
    void *h;
    vk_status rc = VK_OK;
    pthread_mutex_lock(&xrt_mu);
    if (xrt_loaded)
        goto out;
    if (!(root = xrt_root())) {
        rc = vk_fail(err, VK_E_UNSUPPORTED,
                     "xrt: XILINX_XRT is not set (point it at the XRT install, e.g. "
                     "/opt/xilinx/xrt)");
        goto out;
    }
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rc = vk_fail(err, VK_E_UNSUPPORTED, "xrt: XILINX_XRT=%s is not a folder", root);
        goto out;
    }
    if (strlen(root) + sizeof "/lib" > sizeof lib) {
        rc = vk_fail(err, VK_E_ARG, "xrt: XILINX_XRT is too long");
        goto out;
    }
    snprintf(lib, sizeof lib, "%s/lib", root);
    if (stat(lib, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rc = vk_fail(err, VK_E_UNSUPPORTED,
                     "xrt: XILINX_XRT=%s has no lib/ folder (expected the XRT libraries there)",
                     root);
        goto out;
    }
    /* the runtime's versioned name first; the bare .so comes with -dev */
    snprintf(path, sizeof path, "%s/libxrt_coreutil.so.2", lib);
    if (access(path, F_OK) != 0)
        snprintf(path, sizeof path, "%s/libxrt_coreutil.so", lib);
    if (!(h = dlopen(path, RTLD_NOW | RTLD_LOCAL))) {
        const char *why = dlerror();
        size_t pl = strlen(path);
        if (!strncmp(why, path, pl) && !strncmp(why + pl, ": ", 2))
            why += pl + 2; /* glibc repeats the path */
        rc = vk_fail(err, VK_E_UNSUPPORTED, "xrt: cannot load %s: %s", path, why);
        goto out;
    }
    for (size_t i = 0; i < sizeof xrt_syms / sizeof xrt_syms[0]; i++) {
        void *f = dlsym(h, xrt_syms[i].name);
        if (!f) {
            rc = vk_fail(err, VK_E_UNSUPPORTED, "xrt: %s has no %s (XRT 2.13 or later needed)",
                         path, xrt_syms[i].name);
            goto out; /* the library stays loaded: see the file comment */
        }
        memcpy((char *)&xrt + xrt_syms[i].off, &f, sizeof f);
    }
    snprintf(xrt_lib, sizeof xrt_lib, "%s", path);
    xrt_loaded = 1;
out:
    pthread_mutex_unlock(&xrt_mu);
    return rc;
}

/* "xrt", "xrt:N", "xrt:N:FILE" -> index and xclbin path. */
static vk_status parse_spec(vk_xrt *s, const char *spec, vk_err *err)
{
    const char *p = spec + 3, *env;
    char *end;
    unsigned long idx = 0;
    if (strncmp(spec, "xrt", 3) || (*p && *p != ':'))
        return vk_fail(err, VK_E_ARG, "board '%s': expected xrt, xrt:N or xrt:N:FILE.xclbin", spec);
    if (*p == ':') {
        errno = 0;
        idx = strtoul(p + 1, &end, 10);
        if (end == p + 1 || errno || idx > 9999 || (*end && (*end != ':' || !end[1])))
            return vk_fail(err, VK_E_ARG,
                           "board '%s': expected xrt, xrt:N or xrt:N:FILE.xclbin (N a device "
                           "index)",
                           spec);
        p = end;
    }
    s->index = (unsigned)idx;
    env = getenv("VITSKIP_XCLBIN");
    snprintf(s->xclbin, sizeof s->xclbin, "%s",
             *p == ':'     ? p + 1
             : env && *env ? env
                           : VK_XRT_DEFAULT_XCLBIN);
    return VK_OK;
}

static void free_model(vk_xrt *s)
{
    void **bos[] = {&s->bo_wt[0],       &s->bo_wt[1],       &s->bo_wt[2],  &s->bo_wt[3],
                    &s->bo_par,         &s->bo_img,         &s->bo_act,    &s->bo_out,
                    &s->bo_ps,          &s->bo_cfg[RUN_LO], &s->bo_cfg[RUN_HI],
                    &s->bo_cfg[RUN_X]};
    for (int r = 0; r < RUN_N; r++)
        if (s->run[r]) {
            xrt.run_close(s->run[r]);
            s->run[r] = NULL;
        }
    for (size_t i = 0; i < sizeof bos / sizeof bos[0]; i++)
        if (*bos[i]) {
            xrt.bo_free(*bos[i]);
            *bos[i] = NULL;
        }
    free(s->imgs);
    s->imgs = NULL;
    s->n_imgs = 0;
}

static void xrt_close(void *state)
{
    vk_xrt *s = state;
    if (!s)
        return;
    free_model(s);
    if (s->kern)
        xrt.kernel_close(s->kern);
    if (s->xbin)
        xrt.xclbin_free(s->xbin);
    if (s->dev)
        xrt.device_close(s->dev);
    vk_hwmon_close(s->hw);
    free(s);
}

static vk_status xrt_open(const char *spec, void **state, vk_err *err)
{
    vk_xrt *s;
    struct stat st;
    long timeout, suffix;
    int e, n;
    vk_status rc;
    if ((rc = vk_env_long("VITSKIP_XRT_TIMEOUT_MS", VK_XRT_DEFAULT_TIMEOUT_MS, 1, 3600000,
                          &timeout, err)) != VK_OK ||
        (rc = vk_env_long("VITSKIP_SUFFIX_IMAGES", VK_XRT_SUFFIX_DEFAULT, 0, VK_XRT_SUFFIX_MAX,
                          &suffix, err)) != VK_OK)
        return rc;
    if (!(s = calloc(1, sizeof *s)))
        return vk_fail(err, VK_E_NOMEM, "board '%s': out of memory", spec);
    snprintf(s->spec, sizeof s->spec, "%s", spec);
    s->timeout_ms = (unsigned)timeout;
    s->n_suffix = (int)suffix;
    if ((rc = parse_spec(s, spec, err)) != VK_OK || (rc = load_api(err)) != VK_OK)
        goto fail;
    if (stat(s->xclbin, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = vk_fail(err, VK_E_NOTFOUND,
                     "xrt: xclbin %s does not exist (give xrt:N:FILE.xclbin or set "
                     "VITSKIP_XCLBIN; kernels/hls/vitis.mk builds it)",
                     s->xclbin);
        goto fail;
    }
    errno = 0;
    if (!(s->dev = xrt.device_open(s->index))) {
        e = errno;
        rc = vk_fail(err, VK_E_BOARD, "xrt: no device %u (xrtDeviceOpen: %s)", s->index, xerr(e));
        goto fail;
    }
    errno = 0;
    if (!(s->xbin = xrt.xclbin_alloc_filename(s->xclbin))) {
        e = errno;
        rc = vk_fail(err, VK_E_FORMAT,
                     "xrt: %s is not an xclbin XRT can read "
                     "(xrtXclbinAllocFilename: %s)",
                     s->xclbin, xerr(e));
        goto fail;
    }
    errno = 0;
    if (xrt.xclbin_get_uuid(s->xbin, s->uuid) != 0) {
        e = errno;
        rc = vk_fail(err, VK_E_FORMAT, "xrt: %s: no UUID (xrtXclbinGetUUID: %s)", s->xclbin,
                     xerr(e));
        goto fail;
    }
    n = 0;
    if (xrt.xclbin_get_xsa_name(s->xbin, s->platform, (int)sizeof s->platform - 1, &n) != 0 ||
        !s->platform[0])
        snprintf(s->platform, sizeof s->platform, "platform unknown");
    s->platform[sizeof s->platform - 1] = 0;
    {
        char fp[17], plat[64];
        if ((rc = vk_board_file_fingerprint(s->xclbin, fp, err)) != VK_OK)
            goto fail;
        snprintf(plat, sizeof plat, "%.63s", s->platform);
        vk_board_identity_clean(plat);
        snprintf(s->id, sizeof s->id, "xrt:%s:%s", plat, fp);
    }
    errno = 0;
    if (xrt.device_load_xclbin_handle(s->dev, s->xbin) != 0) {
        e = errno;
        rc = vk_fail(err, VK_E_BOARD,
                     "xrt: device %u cannot load %s (built for %s; "
                     "xrtDeviceLoadXclbinHandle: %s)",
                     s->index, s->xclbin, s->platform, xerr(e));
        goto fail;
    }
    errno = 0;
    if (!(s->kern = xrt.kernel_open(s->dev, s->uuid, VK_XRT_KERNEL))) {
        e = errno;
        rc = vk_fail(err, VK_E_NOTFOUND,
                     "xrt: kernel '%s' not found or not openable in %s (xrtPLKernelOpen: %s)",
                     VK_XRT_KERNEL, s->xclbin, xerr(e));
        goto fail;
    }
    for (int a = 0; a < ARG_N; a++) {
        errno = 0;
        if ((s->group[a] = xrt.kernel_arg_group(s->kern, a)) < 0) {
            e = errno;
            rc = vk_fail(err, VK_E_BOARD,
                         "xrt: %s in %s: no memory group for argument %d "
                         "(xrtKernelArgGroupId: %s)",
                         VK_XRT_KERNEL, s->xclbin, a, xerr(e));
            goto fail;
        }
    }
    {
        vk_err herr = {{0}};
        if (vk_hwmon_open("/sys", &s->hw, &herr) != VK_OK)
            snprintf(s->hw_why, sizeof s->hw_why, "%s", herr.msg);
    }
    *state = s;
    return VK_OK;
fail:
    xrt_close(s);
    return rc;
}

/* Allocates one buffer of bytes in argument a's group. */
static vk_status bo_new(vk_xrt *s, int a, size_t bytes, void **bo, vk_err *err)
{
    int e;
    errno = 0;
    if (!(*bo = xrt.bo_alloc(s->dev, bytes, 0, (uint32_t)s->group[a]))) {
        e = errno;
        return vk_fail(err, VK_E_BOARD,
                       "xrt: cannot allocate %zu bytes in memory group %d "
                       "(xrtBOAlloc: %s)",
                       bytes, s->group[a], xerr(e));
    }
    return VK_OK;
}

/* Writes bytes at the start of bo and syncs them to the device. */
static vk_status bo_put(void *bo, const void *src, size_t bytes, const char *what, vk_err *err)
{
    int e;
    errno = 0;
    if (xrt.bo_write(bo, src, bytes, 0) != 0 ||
        xrt.bo_sync(bo, XRT_SYNC_TO_DEVICE, bytes, 0) != 0) {
        e = errno;
        return vk_fail(err, VK_E_BOARD,
                       "xrt: cannot write %s to the device (xrtBOWrite/xrtBOSync: "
                       "%s)",
                       what, xerr(e));
    }
    return VK_OK;
}

/* The weight buffer of each weight port's group on run r: 0 or -1. */
static int wt_args(const vk_xrt *s, void *run)
{
    for (int p = 0; p < 4; p++) {
        void *bo = s->bo_wt[p];
        for (int o = 0; !bo && o < p; o++)
            if (s->group[ARG_W0 + o] == s->group[ARG_W0 + p])
                bo = s->bo_wt[o];
        if (!bo || xrt.run_set_arg(run, ARG_W0 + p, bo) != 0)
            return -1;
    }
    return 0;
}

static vk_status xrt_load(void *state, const vk_qmodel *q, vk_err *err)
{
    vk_xrt *s = state;
    vk_status rc;
    int e;
    free_model(s);
    s->n_layers = q->par[VK_HDR_LAYERS];
    s->img_n = vk_qmodel_img_n(q);
    s->act_n = vk_qmodel_act_n(q) * sizeof(int32_t);
    s->out_n = (size_t)(VK_OUT_LOGITS + q->par[VK_HDR_CLASSES]) * sizeof(int32_t);
    /* the weights once per memory group of the four weight ports (the
       platform may map HP0..HP3 to one group or to four) */
    for (int p = 0; p < 4; p++) {
        int same = -1;
        for (int o = 0; o < p; o++)
            if (s->group[ARG_W0 + o] == s->group[ARG_W0 + p])
                same = o;
        if (same >= 0)
            continue;
        if ((rc = bo_new(s, ARG_W0 + p, q->wt_n, &s->bo_wt[p], err)) != VK_OK ||
            (rc = bo_put(s->bo_wt[p], q->wt, q->wt_n, "the weights", err)) != VK_OK)
            goto fail;
    }
    if ((rc = bo_new(s, ARG_PAR, q->par_n * sizeof(int32_t), &s->bo_par, err)) != VK_OK ||
        (rc = bo_new(s, ARG_IMG, s->img_n, &s->bo_img, err)) != VK_OK ||
        (rc = bo_new(s, ARG_ACT, s->act_n, &s->bo_act, err)) != VK_OK ||
        (rc = bo_new(s, ARG_OUT, VK_OUT_WORDS * sizeof(int32_t), &s->bo_out, err)) != VK_OK ||
        (rc = bo_new(s, ARG_PS, VK_PSPILL_BYTES, &s->bo_ps, err)) != VK_OK)
        goto fail;
    for (int r = 0; r < RUN_N; r++)
        if ((rc = bo_new(s, ARG_CFG, VK_CFG_WORDS * sizeof(uint32_t), &s->bo_cfg[r], err)) != VK_OK)
            goto fail;
    if ((rc = bo_put(s->bo_par, q->par, q->par_n * sizeof(int32_t), "the parameters", err)) !=
        VK_OK)
        goto fail;
    for (int r = 0; r < RUN_N; r++) {
        errno = 0;
        if (!(s->run[r] = xrt.run_open(s->kern)) || wt_args(s, s->run[r]) != 0 ||
            xrt.run_set_arg(s->run[r], ARG_PS, s->bo_ps) != 0 ||
            xrt.run_set_arg(s->run[r], ARG_PAR, s->bo_par) != 0 ||
            xrt.run_set_arg(s->run[r], ARG_CFG, s->bo_cfg[r]) != 0 ||
            xrt.run_set_arg(s->run[r], ARG_IMG, s->bo_img) != 0 ||
            xrt.run_set_arg(s->run[r], ARG_ACT, s->bo_act) != 0 ||
            xrt.run_set_arg(s->run[r], ARG_OUT, s->bo_out) != 0) {
            e = errno;
            rc = vk_fail(err, VK_E_BOARD,
                         "xrt: cannot prepare a run of %s (xrtRunOpen/"
                         "xrtRunSetArg: %s)",
                         VK_XRT_KERNEL, xerr(e));
            goto fail;
        }
    }
    return VK_OK;
fail:
    free_model(s);
    return rc;
}

static vk_status xrt_load_data(void *state, const int8_t *imgs, int n, vk_err *err)
{
    vk_xrt *s = state;
    return vk_board_keep_images(s->spec, imgs, n, s->img_n, &s->imgs, &s->n_imgs, err);
}

static vk_status put_cfg(vk_xrt *s, int r, const uint32_t *modes, int start, int save, vk_err *err)
{
    uint32_t cfg[VK_CFG_WORDS];
    vk_cfg_init(cfg, modes, s->n_layers, start, save);
    return bo_put(s->bo_cfg[r], cfg, sizeof cfg, "a run configuration", err);
}

/* Runs r to completion and reads out back: class and entropy of image i. */
static vk_status run_once(vk_xrt *s, int r, int i, const char *what, vk_img_result *res,
                          vk_err *err)
{
    int32_t out[VK_OUT_LOGITS];
    int st, e;
    errno = 0;
    if (xrt.run_start(s->run[r]) != 0) {
        e = errno;
        return vk_fail(err, VK_E_BOARD, "xrt: cannot start %s on image %d (xrtRunStart: %s)", what,
                       i, xerr(e));
    }
    errno = 0;
    st = xrt.run_wait_for(s->run[r], s->timeout_ms);
    e = errno;
    if (st == XRT_STATE_TIMEOUT) {
        s->wedged = 1;
        return vk_fail(err, VK_E_TIMEOUT,
                       "xrt: %s on image %d did not finish in %u ms (VITSKIP_XRT_TIMEOUT_MS); "
                       "reset the device and reopen the board",
                       what, i, s->timeout_ms);
    }
    if (st != XRT_STATE_COMPLETED)
        return vk_fail(err, VK_E_BOARD, "xrt: %s on image %d ended in state %s (%d)%s%s", what, i,
                       state_str(st), st, e ? ": " : "", e ? strerror(e) : "");
    errno = 0;
    if (xrt.bo_sync(s->bo_out, XRT_SYNC_FROM_DEVICE, s->out_n, 0) != 0 ||
        xrt.bo_read(s->bo_out, out, sizeof out, 0) != 0) {
        e = errno;
        return vk_fail(err, VK_E_BOARD,
                       "xrt: cannot read the result of image %d "
                       "(xrtBOSync/xrtBORead: %s)",
                       i, xerr(e));
    }
    if (out[VK_OUT_STATUS] != VK_KSTAT_OK)
        return vk_fail(err, out[VK_OUT_STATUS] == VK_KSTAT_BAD_MODE ? VK_E_UNSUPPORTED : VK_E_BOARD,
                       "xrt: kernel status %d (%s) on image %d, %s", (int)out[VK_OUT_STATUS],
                       kstat_str(out[VK_OUT_STATUS]), i, what);
    res->cls = out[VK_OUT_CLASS];
    res->entropy_q16 = out[VK_OUT_ENTROPY];
    return VK_OK;
}

/* suffix_ms of the resuming path on n_suf images spread over n. */
static vk_status time_suffixes(vk_xrt *s, const vk_path_req *req, int n, int n_suf, double *t,
                               vk_measure *m, vk_err *err)
{
    const uint32_t *modes = req->modes_high ? req->modes_high : req->modes;
    const int L = s->n_layers;
    vk_img_result r;
    vk_status rc;
    for (int k = req->modes_high ? 0 : 1; k <= L; k++) {
        for (int si = 0; si < n_suf; si++) {
            int i = (int)((long)si * n / n_suf);
            double t0;
            if ((rc = bo_put(s->bo_img, &s->imgs[(size_t)i * s->img_n], s->img_n, "an image",
                             err)) != VK_OK)
                return rc;
            if (k > 0 && ((rc = put_cfg(s, RUN_X, modes, 0, k, err)) != VK_OK ||
                          (rc = run_once(s, RUN_X, i, "suffix preparation", &r, err)) != VK_OK))
                return rc;
            if ((rc = put_cfg(s, RUN_X, modes, k, 0, err)) != VK_OK)
                return rc;
            t0 = now_ms();
            if ((rc = run_once(s, RUN_X, i, "suffix timing", &r, err)) != VK_OK)
                return rc;
            t[si] = now_ms() - t0;
        }
        m->suffix_ms[k] = vk_board_quantile(t, n_suf, 0.5);
    }
    return VK_OK;
}

/* The measure note: latency source, device, energy rails (named when they
 * fit). */
static void make_note(const vk_xrt *s, const char *energy_fail, vk_measure *m)
{
    char rails[512];
    int n = snprintf(m->note, sizeof m->note,
                     "measured: host clock around XRT run+sync, device %u (%.48s)", s->index,
                     s->platform);
    if (n < 0 || (size_t)n >= sizeof m->note)
        return;
    if (m->energy_src == VK_SRC_MEASURED) {
        static const char sep[] = "; energy: ";
        size_t r;
        vk_hwmon_describe(s->hw, rails, sizeof rails);
        r = strlen(rails);
        if ((size_t)n + sizeof sep + r <= sizeof m->note) {
            memcpy(m->note + n, sep, sizeof sep - 1);
            memcpy(m->note + n + sizeof sep - 1, rails, r + 1);
        } else
            snprintf(m->note + n, sizeof m->note - (size_t)n,
                     "; energy: sum of %d INA226 rails (vitskip boards lists them), not 12 V "
                     "wall power",
                     vk_hwmon_n_rails(s->hw));
    } else if (energy_fail) {
        snprintf(m->note + n, sizeof m->note - (size_t)n, "; energy: none (%.60s)", energy_fail);
    }
}

static vk_status xrt_measure(void *state, const vk_path_req *req, int n, vk_img_result *res,
                             vk_measure *out, vk_err *err)
{
    vk_xrt *s = state;
    const int cascade = req->modes_high != NULL;
    const int n_suf = s->n_suffix < n ? s->n_suffix : n;
    double *lo = malloc((size_t)n * sizeof *lo), *hi = malloc((size_t)n * sizeof *hi);
    double *tot = malloc((size_t)n * sizeof *tot);
    vk_img_result *r = malloc((size_t)n * sizeof *r), warm;
    double joules = 0, watts = 0;
    int n_esc = 0, sampling = 0;
    const char *energy_fail = NULL;
    vk_err herr = {{0}};
    vk_measure m;
    vk_status rc;

    if (!lo || !hi || !tot || !r) {
        rc = vk_fail(err, VK_E_NOMEM, "board '%s': out of memory for %d results", s->spec, n);
        goto out;
    }
    if (s->wedged) {
        rc = vk_fail(err, VK_E_BOARD,
                     "board '%s': an earlier run timed out; reset the device "
                     "and reopen the board",
                     s->spec);
        goto out;
    }
    if ((rc = put_cfg(s, RUN_LO, req->modes, 0, cascade ? req->resume : 0, err)) != VK_OK ||
        (cascade && (rc = put_cfg(s, RUN_HI, req->modes_high, req->resume, 0, err)) != VK_OK))
        goto out;
    /* warm-up, untimed */
    if ((rc = bo_put(s->bo_img, s->imgs, s->img_n, "an image", err)) != VK_OK ||
        (rc = run_once(s, RUN_LO, 0, "warm-up", &warm, err)) != VK_OK)
        goto out;
    if (s->hw) {
        int period = vk_hwmon_update_ms(s->hw);
        period = period < 1 ? 10 : period > 1000 ? 1000 : period;
        if (vk_hwmon_start(s->hw, period, &herr) == VK_OK)
            sampling = 1;
        else
            energy_fail = herr.msg;
    }
    for (int i = 0; i < n; i++) {
        vk_img_result x = {0};
        double t0 = now_ms(), t1, t2;
        if ((rc = bo_put(s->bo_img, &s->imgs[(size_t)i * s->img_n], s->img_n, "an image", err)) !=
                VK_OK ||
            (rc = run_once(s, RUN_LO, i, cascade ? "low path" : "path", &x, err)) != VK_OK)
            goto out;
        t1 = now_ms();
        if (cascade && x.entropy_q16 > req->threshold_q16) {
            if ((rc = run_once(s, RUN_HI, i, "high path", &x, err)) != VK_OK)
                goto out;
            t2 = now_ms();
            x.escalated = 1;
            hi[n_esc++] = t2 - t1;
            tot[i] = t2 - t0;
        } else {
            tot[i] = t1 - t0;
        }
        lo[i] = t1 - t0;
        r[i] = x;
        if (req->progress)
            req->progress(req->progress_ctx, i + 1, n);
    }
    if (sampling) {
        sampling = 0;
        if (vk_hwmon_stop(s->hw, &joules, &watts, &herr) != VK_OK)
            energy_fail = herr.msg;
    }

    memset(&m, 0, sizeof m);
    m.n_images = n;
    vk_board_latency(tot, cascade ? lo : NULL, n, hi, n_esc, n_esc, n, &m);
    if (s->hw && !energy_fail) {
        m.energy_mj = joules * 1e3 / n;
        m.energy_src = VK_SRC_MEASURED;
    }
    if (n_suf > 0 && (rc = time_suffixes(s, req, n, n_suf, lo, &m, err)) != VK_OK)
        goto out;
    if (!cascade)
        m.suffix_ms[0] = m.latency_ms;
    make_note(s, energy_fail, &m);
    memcpy(res, r, (size_t)n * sizeof *res);
    *out = m;
out:
    if (sampling)
        vk_hwmon_stop(s->hw, &joules, &watts, &herr);
    free(lo);
    free(hi);
    free(tot);
    free(r);
    return rc;
}

static void xrt_describe(void *state, char *buf, size_t len)
{
    const vk_xrt *s = state;
    char rails[512] = "";
    if (s->hw)
        vk_hwmon_describe(s->hw, rails, sizeof rails);
    snprintf(buf, len, "XRT device %u, xclbin %s (%s), kernel %s, XRT %s; energy: %s%s", s->index,
             s->xclbin, s->platform, VK_XRT_KERNEL, xrt_lib, s->hw ? "" : "none, ",
             s->hw ? rails : s->hw_why);
}

static void xrt_identity(void *state, char *buf, size_t len)
{
    snprintf(buf, len, "%s", ((const vk_xrt *)state)->id);
}

const vk_board_ops vk_board_xrt_ops = {
    .kind = "xrt",
    .open = xrt_open,
    .load = xrt_load,
    .load_data = xrt_load_data,
    .measure = xrt_measure,
    .describe = xrt_describe,
    .identity = xrt_identity,
    .close = xrt_close,
};
