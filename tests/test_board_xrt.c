/* test_board_xrt: the xrt board without a device.
 *
 * In the test process itself, against the installed XRT libraries (an XRT
 * C++ exception escaping into C would abort it, which is the failure this
 * guards against):
 *   (a) XILINX_XRT unset -> "XILINX_XRT is not set" (x86 only: on Arm the
 *       board assumes /usr, as XRT does);
 *   (b) XILINX_XRT naming nothing, a folder without lib/, an empty lib/, a
 *       lib/ holding a file that is not a library -> each a one-line error
 *       (the dlopen error for the last two);
 *   (c) XILINX_XRT = a folder whose lib/ links the installed XRT libraries ->
 *       the library loads; a missing xclbin is reported before the device is
 *       touched; xrtDeviceOpen(0) and (3) fail -> "no device N
 *       (xrtDeviceOpen: ...)" and the process carries on.
 * In child processes (the XRT library is loaded once per process, and XRT
 * reads XCL_EMULATION_MODE once), each in a temporary folder:
 *   (d) XRT's emulation shims (Debian ships libxrt_swemu and libxrt_hwemu):
 *       sw_emu opens a device without emconfig.json; a file that is not an
 *       xclbin fails xrtXclbinAllocFilename; a minimal well-formed xclbin
 *       with no sections is read (UUID, platform name) and then refused by
 *       xrtDeviceLoadXclbinHandle, which is as far as one gets without a
 *       Vitis-built xclbin; hw_emu likewise opens a device and refuses the
 *       non-xclbin, and the child exits cleanly (hw_emu crashes at exit if
 *       a device is left open). hw_emu is not given the minimal xclbin: it
 *       looks for a simulation bundle inside it and then hangs.
 *   (e) a FAKE XRT: this file compiled with -DVK_XRT_FAKE_LIB into
 *       lib/libxrt_coreutil.so.2 (needs `cc`), implementing the C API calls
 *       the board makes, with separate host and device copies of every
 *       buffer (sync copies between them; the device copy starts as
 *       garbage) and runs that call vk_kernel_top on the device copies. It
 *       drives the board's whole measure path: results equal the sim
 *       board's for paths and cascades (so every buffer is written and
 *       synced where it must be), the suffix timings, a reloaded model, an
 *       unimplemented mode, a kernel missing from the xclbin, a run that
 *       never finishes (VK_E_TIMEOUT, then the board refuses), a run that
 *       ends in ERROR, and every handle closed at the end. Its latencies
 *       are host timings of the C kernel, nothing about a device.
 * Not run here (no device, no Vitis): a real xclbin on real hardware, and
 * INA226 sampling on a board. (c) and (d) are skipped, and say so, where the
 * XRT libraries are not installed. */
#ifdef VK_XRT_FAKE_LIB
/* ---- the fake XRT (e): the C API calls vk_board_xrt.c makes ---------- */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/vk_kernel.h"

/* Memory groups of vk_kernel_top's arguments: its AXI bundles (gmem_w0..3:
 * the weights, one group each, as a platform that maps them to HP0..HP3
 * separately shows them; gmem_p: par, cfg; gmem_io: img, act, out, ps). */
#define FAKE_ARGS 10
static const uint32_t fake_group[FAKE_ARGS] = {0, 1, 2, 3, 4, 4, 5, 5, 5, 5};

/* Run behaviour, from the xclbin's text: "FAKE XCLBIN [NOKERNEL|HANG|ERROR]". */
enum { FAKE_OK, FAKE_NOKERNEL, FAKE_HANG, FAKE_ERROR };

typedef struct {
    int behaviour;
} fake_dev;
typedef struct {
    int behaviour;
} fake_xclbin;
typedef struct {
    fake_dev *dev;
} fake_kernel;
typedef struct {
    size_t n;
    uint32_t grp;
    unsigned char *host, *dev;
} fake_bo;
typedef struct {
    fake_kernel *k;
    fake_bo *arg[FAKE_ARGS];
    int state;
} fake_run;

static int fake_live; /* handles not yet closed or freed */

void *xrtDeviceOpen(unsigned index);
int xrtDeviceClose(void *d);
int xrtDeviceLoadXclbinHandle(void *d, void *x);
void *xrtXclbinAllocFilename(const char *path);
int xrtXclbinFreeHandle(void *x);
int xrtXclbinGetUUID(void *x, unsigned char *uuid);
int xrtXclbinGetXSAName(void *x, char *name, int size, int *ret_size);
void *xrtPLKernelOpen(void *d, const unsigned char *uuid, const char *name);
int xrtKernelClose(void *k);
int xrtKernelArgGroupId(void *k, int argno);
void *xrtBOAlloc(void *d, size_t size, uint64_t flags, uint32_t grp);
int xrtBOFree(void *bo);
int xrtBOWrite(void *bo, const void *src, size_t size, size_t seek);
int xrtBORead(void *bo, void *dst, size_t size, size_t skip);
int xrtBOSync(void *bo, int dir, size_t size, size_t offset);
void *xrtRunOpen(void *k);
int xrtRunSetArg(void *run, int index, ...);
int xrtRunStart(void *run);
int xrtRunWaitFor(void *run, unsigned timeout_ms);
int xrtRunClose(void *run);
int vk_fake_xrt_live(void);

void *xrtDeviceOpen(unsigned index)
{
    fake_dev *d;
    if (index != 0 || !(d = calloc(1, sizeof *d))) {
        errno = ENODEV;
        return NULL;
    }
    fake_live++;
    return d;
}

int xrtDeviceClose(void *d)
{
    free(d);
    fake_live--;
    return 0;
}

void *xrtXclbinAllocFilename(const char *path)
{
    char buf[64] = {0};
    fake_xclbin *x;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL; /* errno from fopen, as XRT's xrt_core::error */
    if (fread(buf, 1, sizeof buf - 1, f) < 11 || strncmp(buf, "FAKE XCLBIN", 11)) {
        fclose(f);
        return NULL; /* XRT: std::exception "Invalid xclbin", errno untouched */
    }
    fclose(f);
    if (!(x = calloc(1, sizeof *x)))
        return NULL;
    x->behaviour = strstr(buf, "NOKERNEL") ? FAKE_NOKERNEL
                   : strstr(buf, "HANG")   ? FAKE_HANG
                   : strstr(buf, "ERROR")  ? FAKE_ERROR
                                           : FAKE_OK;
    fake_live++;
    return x;
}

int xrtXclbinFreeHandle(void *x)
{
    free(x);
    fake_live--;
    return 0;
}

int xrtXclbinGetUUID(void *x, unsigned char *uuid)
{
    (void)x;
    memset(uuid, 0x5A, 16);
    return 0;
}

int xrtXclbinGetXSAName(void *x, char *name, int size, int *ret_size)
{
    static const char plat[] = "fake_platform";
    (void)x;
    if (ret_size)
        *ret_size = (int)sizeof plat - 1;
    if (name)
        strncpy(name, plat, (size_t)size);
    return 0;
}

int xrtDeviceLoadXclbinHandle(void *d, void *x)
{
    ((fake_dev *)d)->behaviour = ((fake_xclbin *)x)->behaviour;
    return 0;
}

void *xrtPLKernelOpen(void *d, const unsigned char *uuid, const char *name)
{
    fake_kernel *k;
    if (uuid[0] != 0x5A || strcmp(name, "vk_kernel_top") ||
        ((fake_dev *)d)->behaviour == FAKE_NOKERNEL) {
        errno = ENOENT;
        return NULL;
    }
    if (!(k = calloc(1, sizeof *k)))
        return NULL;
    k->dev = d;
    fake_live++;
    return k;
}

int xrtKernelClose(void *k)
{
    free(k);
    fake_live--;
    return 0;
}

int xrtKernelArgGroupId(void *k, int argno)
{
    (void)k;
    if (argno < 0 || argno >= FAKE_ARGS) {
        errno = EINVAL;
        return -1;
    }
    return (int)fake_group[argno];
}

void *xrtBOAlloc(void *d, size_t size, uint64_t flags, uint32_t grp)
{
    fake_bo *b = calloc(1, sizeof *b);
    (void)d;
    if (!b || flags != 0 || !(b->host = malloc(size)) || !(b->dev = malloc(size))) {
        if (b) {
            free(b->host);
            free(b);
        }
        errno = ENOMEM;
        return NULL;
    }
    b->n = size;
    b->grp = grp;
    memset(b->host, 0x5A, size); /* garbage until written */
    memset(b->dev, 0xA5, size);  /* garbage until synced or computed */
    fake_live++;
    return b;
}

int xrtBOFree(void *bo)
{
    fake_bo *b = bo;
    free(b->host);
    free(b->dev);
    free(b);
    fake_live--;
    return 0;
}

static int fake_range(const fake_bo *b, size_t size, size_t off)
{
    if (off > b->n || size > b->n - off) {
        errno = EINVAL;
        return 0;
    }
    return 1;
}

int xrtBOWrite(void *bo, const void *src, size_t size, size_t seek)
{
    fake_bo *b = bo;
    if (!fake_range(b, size, seek))
        return -1;
    memcpy(b->host + seek, src, size);
    return 0;
}

int xrtBORead(void *bo, void *dst, size_t size, size_t skip)
{
    fake_bo *b = bo;
    if (!fake_range(b, size, skip))
        return -1;
    memcpy(dst, b->host + skip, size);
    return 0;
}

int xrtBOSync(void *bo, int dir, size_t size, size_t offset)
{
    fake_bo *b = bo;
    if (!fake_range(b, size, offset) || (dir != 0 && dir != 1)) {
        errno = EINVAL;
        return -1;
    }
    if (dir == 0)
        memcpy(b->dev + offset, b->host + offset, size);
    else
        memcpy(b->host + offset, b->dev + offset, size);
    return 0;
}

void *xrtRunOpen(void *k)
{
    fake_run *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->k = k;
    r->state = 1; /* NEW */
    fake_live++;
    return r;
}

int xrtRunSetArg(void *run, int index, ...)
{
    fake_run *r = run;
    fake_bo *b;
    va_list ap;
    va_start(ap, index);
    b = va_arg(ap, void *);
    va_end(ap);
    if (index < 0 || index >= FAKE_ARGS || !b || b->grp != fake_group[index]) {
        errno = EINVAL;
        return -1;
    }
    r->arg[index] = b;
    return 0;
}

int xrtRunStart(void *run)
{
    fake_run *r = run;
    for (int a = 0; a < FAKE_ARGS; a++)
        if (!r->arg[a]) {
            errno = EINVAL;
            return -1;
        }
    switch (r->k->dev->behaviour) {
    case FAKE_HANG:
        r->state = 3; /* RUNNING, forever */
        return 0;
    case FAKE_ERROR:
        r->state = 5; /* ERROR */
        return 0;
    default:
        vk_kernel_top((const vk_wword *)(void *)r->arg[0]->dev,
                      (const vk_wword *)(void *)r->arg[1]->dev,
                      (const vk_wword *)(void *)r->arg[2]->dev,
                      (const vk_wword *)(void *)r->arg[3]->dev,
                      (const vk_pword *)(void *)r->arg[4]->dev, (const uint32_t *)r->arg[5]->dev,
                      (const int8_t *)r->arg[6]->dev, (int32_t *)r->arg[7]->dev,
                      (int32_t *)r->arg[8]->dev, (uint8_t *)r->arg[9]->dev);
        r->state = 4; /* COMPLETED */
        return 0;
    }
}

int xrtRunWaitFor(void *run, unsigned timeout_ms)
{
    fake_run *r = run;
    (void)timeout_ms;
    return r->state == 3 ? 8 /* TIMEOUT */ : r->state;
}

int xrtRunClose(void *run)
{
    free(run);
    fake_live--;
    return 0;
}

int vk_fake_xrt_live(void)
{
    return fake_live;
}

#else
/* ---- the test ------------------------------------------------------------ */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boards/vk_board.h"
#include "boards/vk_hwmon.h"
#include "host/vk_quant.h"
#include "tests/vk_fixture.h"
#include "tests/vk_test.h"

extern char **environ;
extern const vk_board_ops vk_board_xrt_ops;

static char tmp[] = "/tmp/vk_xrt_XXXXXX";
static char real_lib[256]; /* folder with the installed XRT libraries, or "" */

static const char *xrt_libs[] = {"libxrt_coreutil.so.2", "libxrt_core.so.2", "libxrt_swemu.so.2",
                                 "libxrt_hwemu.so.2", "libxrt_noop.so.2"};

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        CHECK(fwrite(data, 1, n, f) == n);
        fclose(f);
    }
}

/* Opens spec, expecting failure rc with a message containing want. */
static void open_fails(const char *spec, vk_status rc, const char *want)
{
    vk_board *b = NULL;
    vk_err err = {{0}};
    CHECK_EQ_INT(vk_board_open(spec, &b, &err), rc);
    CHECK(b == NULL);
    CHECK_STR_CONTAINS(err.msg, want);
    if (b)
        vk_board_close(b);
}

static void find_real_lib(void)
{
    static const char *dirs[] = {"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
                                 "/usr/lib64", "/usr/lib", "/opt/xilinx/xrt/lib"};
    char p[512];
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(p, sizeof p, "%s/libxrt_coreutil.so.2", dirs[i]);
        if (access(p, R_OK) == 0) {
            snprintf(real_lib, sizeof real_lib, "%s", dirs[i]);
            return;
        }
    }
}

static void test_no_xilinx_xrt(void)
{
    unsetenv("XILINX_XRT");
#if defined(__aarch64__) || defined(__arm__)
    SKIP("(a) on Arm, where XILINX_XRT defaults to /usr");
#else
    open_fails("xrt", VK_E_UNSUPPORTED,
               "xrt: XILINX_XRT is not set (point it at the XRT install, e.g. /opt/xilinx/xrt)");
    open_fails("xrt:1:/nonexistent.xclbin", VK_E_UNSUPPORTED, "XILINX_XRT is not set");
#endif
}

static void test_bad_xilinx_xrt(void)
{
    char root[300], p[400];
    setenv("XILINX_XRT", "/nonexistent-vk-xrt", 1);
    open_fails("xrt", VK_E_UNSUPPORTED, "xrt: XILINX_XRT=/nonexistent-vk-xrt is not a folder");
    snprintf(root, sizeof root, "%s/nolib", tmp);
    mkdir(root, 0755);
    setenv("XILINX_XRT", root, 1);
    open_fails("xrt", VK_E_UNSUPPORTED, "has no lib/ folder");
    snprintf(root, sizeof root, "%s/empty", tmp);
    mkdir(root, 0755);
    snprintf(p, sizeof p, "%s/lib", root);
    mkdir(p, 0755);
    setenv("XILINX_XRT", root, 1);
    snprintf(p, sizeof p,
             "xrt: cannot load %s/lib/libxrt_coreutil.so: cannot open shared object "
             "file: No such file or directory",
             root);
    open_fails("xrt:0", VK_E_UNSUPPORTED, p);
    /* a file by the right name that is not a library */
    snprintf(p, sizeof p, "%s/lib/libxrt_coreutil.so.2", root);
    write_file(p, "not an ELF file\n", 16);
    snprintf(p, sizeof p, "xrt: cannot load %s/lib/libxrt_coreutil.so.2: ", root);
    open_fails("xrt", VK_E_UNSUPPORTED, p);
}

static void test_bad_spec_and_env(void)
{
    void *state = NULL;
    vk_err err = {{0}};
    /* the back-end parses its spec itself, whatever the registry let in */
    CHECK_EQ_INT(vk_board_xrt_ops.open("xrt:abc", &state, &err), VK_E_ARG);
    CHECK_STR_CONTAINS(err.msg, "xrt:N:FILE.xclbin");
    CHECK_EQ_INT(vk_board_xrt_ops.open("xrt:1:", &state, &err), VK_E_ARG);
    CHECK_EQ_INT(vk_board_xrt_ops.open("xrtx", &state, &err), VK_E_ARG);
    CHECK(state == NULL);
    setenv("VITSKIP_XRT_TIMEOUT_MS", "0", 1);
    open_fails("xrt", VK_E_ARG, "VITSKIP_XRT_TIMEOUT_MS='0'");
    unsetenv("VITSKIP_XRT_TIMEOUT_MS");
    setenv("VITSKIP_SUFFIX_IMAGES", "x", 1);
    open_fails("xrt", VK_E_ARG, "VITSKIP_SUFFIX_IMAGES='x'");
    unsetenv("VITSKIP_SUFFIX_IMAGES");
}

/* tmp/xrt/lib/ links the installed libraries; XILINX_XRT points there. */
static int make_xrt_root(void)
{
    char p[400], t[400];
    if (!real_lib[0])
        return 0;
    snprintf(p, sizeof p, "%s/xrt", tmp);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/xrt/lib", tmp);
    mkdir(p, 0755);
    for (size_t i = 0; i < sizeof xrt_libs / sizeof xrt_libs[0]; i++) {
        snprintf(t, sizeof t, "%s/%s", real_lib, xrt_libs[i]);
        snprintf(p, sizeof p, "%s/xrt/lib/%s", tmp, xrt_libs[i]);
        if (access(t, R_OK) == 0)
            CHECK(symlink(t, p) == 0);
    }
    snprintf(p, sizeof p, "%s/xrt", tmp);
    setenv("XILINX_XRT", p, 1);
    return 1;
}

static void test_real_library_no_device(void)
{
    char junk[400], spec[500];
    if (!make_xrt_root()) {
        SKIP("(c) no installed libxrt_coreutil.so.2");
    }
    /* the xclbin is checked before any device is opened */
    open_fails("xrt:0:/nonexistent-vk/x.xclbin", VK_E_NOTFOUND,
               "xrt: xclbin /nonexistent-vk/x.xclbin does not exist");
    snprintf(junk, sizeof junk, "%s/junk.xclbin", tmp);
    write_file(junk, "not an xclbin\n", 14);
    setenv("VITSKIP_XCLBIN", "/nonexistent-vk/default.xclbin", 1);
    open_fails("xrt", VK_E_NOTFOUND, "xclbin /nonexistent-vk/default.xclbin does not exist");
    /* the default xclbin is found; then there is no device (twice: XRT
       reports the second failure through a std::exception, errno unset) */
    setenv("VITSKIP_XCLBIN", junk, 1);
    open_fails("xrt", VK_E_BOARD, "xrt: no device 0 (xrtDeviceOpen: ");
    snprintf(spec, sizeof spec, "xrt:3:%s", junk);
    open_fails(spec, VK_E_BOARD, "xrt: no device 3 (xrtDeviceOpen: ");
    unsetenv("VITSKIP_XCLBIN");
}

/* A 496-byte xclbin: struct axlf (XRT's xclbin.h) with magic "xclbin2",
 * no signature, m_length = 496, version 2.13.0, a platform name, a UUID
 * and no sections. */
static void write_min_xclbin(const char *path)
{
    unsigned char b[496] = {0};
    const char *vbnv = "xilinx_zcu102_base_202210_1";
    memcpy(b, "xclbin2", 8);
    memset(b + 8, 0xFF, 4 + 28); /* m_signature_length = -1, reserved */
    b[304] = 496 & 0xFF;         /* m_header.m_length (LE) */
    b[305] = 496 >> 8;
    b[330] = 2;                          /* m_versionMajor */
    b[331] = 13;                         /* m_versionMinor */
    memcpy(b + 352, vbnv, strlen(vbnv)); /* m_platformVBNV */
    for (int i = 0; i < 16; i++)
        b[416 + i] = (unsigned char)(i + 1); /* uuid */
    write_file(path, b, sizeof b);
}

/* Child: argv = {exe, "--emu", mode, folder}. Exit 0 when every open went
 * as expected. */
static int emu_child(const char *mode, const char *dir)
{
    char junk[400], min[400], spec[500];
    if (chdir(dir) != 0)
        return 10;
    snprintf(junk, sizeof junk, "%s/junk.xclbin", dir);
    snprintf(min, sizeof min, "%s/min.xclbin", dir);
    snprintf(spec, sizeof spec, "xrt:0:%s", junk);
    open_fails(spec, VK_E_FORMAT, "is not an xclbin XRT can read (xrtXclbinAllocFilename: ");
    if (!strcmp(mode, "sw_emu")) {
        char want[600];
        snprintf(spec, sizeof spec, "xrt:0:%s", min);
        /* read (UUID, platform name), then refused by the device */
        snprintf(want, sizeof want,
                 "xrt: device 0 cannot load %s (built for "
                 "xilinx_zcu102_base_202210_1; xrtDeviceLoadXclbinHandle: ",
                 min);
        open_fails(spec, VK_E_BOARD, want);
    }
    printf("xrt %s child: %s\n", mode, vk_test_cur_fail ? "FAILED" : "as expected");
    return vk_test_cur_fail ? 1 : 0;
}

/* Runs this binary as a child with argv (argv[0] = /proc/self/exe), its
 * stdout and stderr into log; checks that it exits with 0, else shows the
 * log. */
static void run_child(char *const argv[], const char *log)
{
    posix_spawn_file_actions_t fa;
    pid_t pid = -1;
    int status = -1;
    write_file(log, "", 0);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_APPEND, 0);
    posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_APPEND, 0);
    CHECK_EQ_INT(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char cmd[600];
        fprintf(stderr, "%s %s: child status %d; its output:\n", argv[1], argv[2], status);
        snprintf(cmd, sizeof cmd, "cat %s >&2", log);
        CHECK(system(cmd) == 0);
    }
}

/* Sets or (value NULL) unsets an environment variable; returns the old
 * value (caller frees) for env_restore. */
static char *env_swap(const char *name, const char *value)
{
    const char *old = getenv(name);
    char *keep = old ? strdup(old) : NULL;
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
    return keep;
}

static void env_restore(const char *name, char *old)
{
    if (old)
        setenv(name, old, 1);
    else
        unsetenv(name);
    free(old);
}

static void run_emu(const char *mode)
{
    char shim[450], dir[400], log[450], supp[450], lsan[500], exe[] = "/proc/self/exe";
    char *argv[] = {exe, "--emu", (char *)mode, dir, NULL}, *old_lsan;
    snprintf(shim, sizeof shim, "%s/xrt/lib/libxrt_%s.so.2", tmp,
             !strcmp(mode, "sw_emu") ? "swemu" : "hwemu");
    if (access(shim, R_OK) != 0) {
        SKIP("(d) %s: no %s", mode, shim);
    }
    snprintf(dir, sizeof dir, "%s/%s", tmp, mode);
    mkdir(dir, 0755);
    snprintf(log, sizeof log, "%s/log", dir);
    snprintf(shim, sizeof shim, "%s/junk.xclbin", dir);
    write_file(shim, "not an xclbin\n", 14);
    snprintf(shim, sizeof shim, "%s/min.xclbin", dir);
    write_min_xclbin(shim);
    /* XRT's emulation shims leak a few objects (their memory managers) at
       exit: under LeakSanitizer the child ignores leaks from libxrt_* */
    snprintf(supp, sizeof supp, "%s/lsan.supp", dir);
    write_file(supp, "leak:libxrt_\n", 13);
    snprintf(lsan, sizeof lsan, "suppressions=%s", supp);
    old_lsan = env_swap("LSAN_OPTIONS", lsan);
    setenv("XCL_EMULATION_MODE", mode, 1);
    run_child(argv, log);
    unsetenv("XCL_EMULATION_MODE");
    env_restore("LSAN_OPTIONS", old_lsan);
}

static void test_emulation(void)
{
    if (!real_lib[0]) {
        SKIP("(d) no installed XRT libraries");
    }
    run_emu("sw_emu");
    run_emu("hw_emu");
}

/* ---- (e) the fake XRT --------------------------------------------------- */

#define FK_N 16
#define FK_LAYERS 4

static vk_model fk_model;
static vk_qmodel fk_q;
static int8_t fk_imgs[FK_N * 256];

static int fk_setup(void)
{
    vk_err err = {{0}};
    return vk_fixture_tiny(FK_LAYERS, FK_N, 0x9E3779B97F4A7C15ull, 5, &fk_model, &fk_q, fk_imgs,
                           &err) == VK_OK;
}

static vk_board *fk_open(const char *spec)
{
    return vk_fixture_board(spec, &fk_q, fk_imgs, FK_N);
}

/* The request on both boards: same per-image results; x's figures measured. */
static void fk_compare(vk_board *x, vk_board *sim, const vk_path_req *req, vk_img_result *rx,
                       vk_measure *m)
{
    vk_img_result rs[FK_N];
    vk_measure ms;
    vk_err err = {{0}};
    CHECK_EQ_INT(vk_board_measure(x, req, FK_N, rx, m, &err), VK_OK);
    CHECK_EQ_INT(vk_board_measure(sim, req, FK_N, rs, &ms, &err), VK_OK);
    CHECK(vk_fixture_same_results(rx, rs, FK_N, 1));
    CHECK_EQ_INT(m->n_escalated, ms.n_escalated);
    CHECK_EQ_INT(m->latency_src, VK_SRC_MEASURED);
    CHECK(m->latency_ms > 0 && m->latency_p10_ms <= m->latency_ms &&
          m->latency_ms <= m->latency_p90_ms);
    CHECK_STR_CONTAINS(m->note, "measured: host clock around XRT run+sync, device 0 "
                                "(fake_platform)");
    for (int k = 1; k <= FK_LAYERS; k++)
        CHECK(m->suffix_ms[k] > 0);
}

/* Child: argv = {exe, "--fake", folder}; XILINX_XRT is the folder. */
static int fake_child(const char *dir)
{
    char spec[500], desc[1024], lib[450];
    vk_board *x, *sim, *b = NULL;
    vk_img_result full[FK_N], half[FK_N], res[FK_N];
    vk_measure m;
    vk_err err = {{0}};
    vk_hwmon *hw = NULL;
    uint32_t reuse[VK_MAX_LAYERS];
    void *h;
    int (*live)(void);
    int has_ina = vk_hwmon_open("/sys", &hw, &err) == VK_OK;
    vk_hwmon_close(hw);
    if (!fk_setup()) {
        printf("fake child: model setup failed\n");
        return 1;
    }
    snprintf(spec, sizeof spec, "xrt:0:%s/ok.xclbin", dir);
    if (!(x = fk_open(spec)) || !(sim = fk_open("sim"))) {
        vk_board_close(x);
        return 1;
    }
    vk_board_describe(x, desc, sizeof desc);
    CHECK_STR_CONTAINS(desc, "XRT device 0, xclbin ");
    CHECK_STR_CONTAINS(desc, "(fake_platform), kernel vk_kernel_top");

    vk_path_req rf = {.modes = VK_FX_FULL}, rh = {.modes = VK_FX_HALF};
    fk_compare(x, sim, &rf, full, &m);
    CHECK(m.suffix_ms[0] == m.latency_ms);
    CHECK_EQ_INT(m.energy_src, has_ina ? VK_SRC_MEASURED : VK_SRC_NONE);
    fk_compare(x, sim, &rh, half, &m);
    /* a cascade resuming after encoder 0, threshold mid-way: act stays on
       the device between the two runs */
    vk_path_req mid = {.modes = VK_FX_HALF,
                       .modes_high = VK_FX_FULL,
                       .resume = 1,
                       .threshold_q16 = half[FK_N / 2].entropy_q16};
    fk_compare(x, sim, &mid, res, &m);
    CHECK(m.n_escalated > 0 && m.n_escalated < FK_N);
    CHECK(m.suffix_ms[0] > 0);
    /* everything escalates, high path from scratch on the same image */
    vk_path_req all = {.modes = VK_FX_HALF, .modes_high = VK_FX_FULL, .threshold_q16 = -1};
    fk_compare(x, sim, &all, res, &m);
    for (int i = 0; i < FK_N; i++)
        CHECK(res[i].escalated && res[i].entropy_q16 == full[i].entropy_q16);
    /* an unimplemented mode: the kernel's status, and the board goes on */
    memcpy(reuse, VK_FX_FULL, sizeof reuse);
    reuse[1] = VK_MODE(VK_ATTN_REUSE);
    vk_path_req rr = {.modes = reuse};
    CHECK_EQ_INT(vk_board_measure(x, &rr, FK_N, res, &m, &err), VK_E_UNSUPPORTED);
    CHECK_STR_CONTAINS(err.msg, "xrt: kernel status 3");
    /* a model loaded again: new buffers */
    CHECK_EQ_INT(vk_board_load(x, &fk_q, &err), VK_OK);
    CHECK_EQ_INT(vk_board_load_data(x, fk_imgs, FK_N, &err), VK_OK);
    fk_compare(x, sim, &rf, res, &m);
    vk_board_close(x);
    vk_board_close(sim);

    snprintf(spec, sizeof spec, "xrt:1:%s/ok.xclbin", dir);
    open_fails(spec, VK_E_BOARD, "xrt: no device 1 (xrtDeviceOpen: No such device)");
    snprintf(spec, sizeof spec, "xrt:0:%s/nokernel.xclbin", dir);
    open_fails(spec, VK_E_NOTFOUND, "xrt: kernel 'vk_kernel_top' not found or not openable in");
    snprintf(spec, sizeof spec, "xrt:0:%s/junk.xclbin", dir);
    open_fails(spec, VK_E_FORMAT,
               "is not an xclbin XRT can read (xrtXclbinAllocFilename: "
               "no error code; XRT printed the reason on stderr)");
    /* a run that never finishes: timeout, then the board refuses */
    setenv("VITSKIP_XRT_TIMEOUT_MS", "20", 1);
    snprintf(spec, sizeof spec, "xrt:0:%s/hang.xclbin", dir);
    if ((b = fk_open(spec))) {
        CHECK_EQ_INT(vk_board_measure(b, &rf, FK_N, res, &m, &err), VK_E_TIMEOUT);
        CHECK_STR_CONTAINS(err.msg, "did not finish in 20 ms");
        CHECK_EQ_INT(vk_board_measure(b, &rf, FK_N, res, &m, &err), VK_E_BOARD);
        CHECK_STR_CONTAINS(err.msg, "an earlier run timed out");
        vk_board_close(b);
    }
    unsetenv("VITSKIP_XRT_TIMEOUT_MS");
    snprintf(spec, sizeof spec, "xrt:0:%s/error.xclbin", dir);
    if ((b = fk_open(spec))) {
        CHECK_EQ_INT(vk_board_measure(b, &rf, FK_N, res, &m, &err), VK_E_BOARD);
        CHECK_STR_CONTAINS(err.msg, "ended in state ERROR (5)");
        vk_board_close(b);
    }
    /* every handle the board opened is closed */
    snprintf(lib, sizeof lib, "%s/lib/libxrt_coreutil.so.2", dir);
    h = dlopen(lib, RTLD_NOW | RTLD_NOLOAD);
    CHECK(h != NULL);
    if (h) {
        *(void **)&live = dlsym(h, "vk_fake_xrt_live");
        CHECK(live && live() == 0);
        dlclose(h);
    }
    vk_qmodel_free(&fk_q);
    vk_model_free(&fk_model);
    printf("xrt fake child: %s\n", vk_test_cur_fail ? "FAILED" : "as expected");
    return vk_test_cur_fail ? 1 : 0;
}

static void test_fake_xrt(void)
{
    char dir[400], p[450], log[450], cmd[1500], exe[] = "/proc/self/exe";
    char *argv[] = {exe, "--fake", dir, NULL}, *old;
    const char *cc = getenv("CC");
    static const char *xclbins[][2] = {{"ok", "FAKE XCLBIN\n"},
                                       {"nokernel", "FAKE XCLBIN NOKERNEL\n"},
                                       {"hang", "FAKE XCLBIN HANG\n"},
                                       {"error", "FAKE XCLBIN ERROR\n"},
                                       {"junk", "not an xclbin\n"}};
    snprintf(dir, sizeof dir, "%s/fake", tmp);
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/lib", dir);
    mkdir(p, 0755);
    snprintf(cmd, sizeof cmd,
             "%s -shared -fPIC -O1 -DVK_XRT_FAKE_LIB -I. tests/test_board_xrt.c "
             "kernels/vk_kernel.c -o %s/lib/libxrt_coreutil.so.2 -lm > %s/cc.log 2>&1",
             cc && *cc ? cc : "cc", dir, dir);
    if (system(cmd) != 0) {
        CHECK(!"the fake XRT library builds");
        snprintf(cmd, sizeof cmd, "cat %s/cc.log >&2", dir);
        CHECK(system(cmd) == 0);
        return;
    }
    for (size_t i = 0; i < sizeof xclbins / sizeof xclbins[0]; i++) {
        snprintf(p, sizeof p, "%s/%s.xclbin", dir, xclbins[i][0]);
        write_file(p, xclbins[i][1], strlen(xclbins[i][1]));
    }
    snprintf(log, sizeof log, "%s/log", dir);
    old = env_swap("XILINX_XRT", dir);
    run_child(argv, log);
    env_restore("XILINX_XRT", old);
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "--emu"))
        return emu_child(argv[2], argv[3]);
    if (argc == 3 && !strcmp(argv[1], "--fake"))
        return fake_child(argv[2]);
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    find_real_lib();
    RUN(test_no_xilinx_xrt);
    RUN(test_bad_xilinx_xrt);
    RUN(test_bad_spec_and_env);
    RUN(test_real_library_no_device);
    RUN(test_emulation);
    RUN(test_fake_xrt);
    nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return vk_test_summary("board_xrt");
}

#endif
