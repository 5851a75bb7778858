/* vk_status: status codes and error messages shared by every vitskip module.
 *
 * Every fallible function returns a vk_status (VK_OK = 0, negative on error)
 * and, when given a non-NULL vk_err, fills it with one line a user can act on:
 * the file, field, offset or request and what was expected versus found.
 * Out-parameters are left untouched on error.
 *
 *     vk_err err = {0};
 *     vk_status rc = vk_model_load_hf("models/demo", &m, &err);
 *     if (rc != VK_OK) fprintf(stderr, "vitskip: %s\n", err.msg);
 *
 * Thread-safe: no global state. */
#ifndef VK_STATUS_H
#define VK_STATUS_H

#include <stddef.h>

typedef enum {
    VK_OK = 0,
    VK_E_IO = -1,          /* a file or socket could not be read or written */
    VK_E_FORMAT = -2,      /* malformed input: file, JSON, request, genome */
    VK_E_NOMEM = -3,       /* allocation failed */
    VK_E_ARG = -4,         /* invalid argument or option combination */
    VK_E_UNSUPPORTED = -5, /* valid input the build or the kernel cannot take */
    VK_E_BOARD = -6,       /* a board failed (device, runtime, kernel status) */
    VK_E_TIMEOUT = -7,     /* a board or peer did not answer in time */
    VK_E_DB = -8,          /* database error */
    VK_E_BUSY = -9,        /* resource busy; retry later */
    VK_E_NET = -10,        /* network or HTTP error */
    VK_E_MISMATCH = -11,   /* results differ where they must be equal */
    VK_E_NOTFOUND = -12    /* a named object (run, config, board) is absent */
} vk_status;

#define VK_ERR_MAX 512

/* Error detail; a zero-initialised vk_err is empty. */
typedef struct {
    char msg[VK_ERR_MAX];
} vk_err;

/* Short name of a status ("format error"); never NULL. */
const char *vk_status_str(vk_status rc);

/* Formats a message into err (if err is non-NULL) and returns rc, so that
 * callers can write `return vk_fail(err, VK_E_FORMAT, "%s: ...", path);`. */
vk_status vk_fail(vk_err *err, vk_status rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the existing message with "prefix: " (keeps the detail). */
void vk_err_prefix(vk_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
