/* vk_status: status names and error formatting. */
#include "vk_status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *vk_status_str(vk_status rc)
{
    switch (rc) {
    case VK_OK: return "ok";
    case VK_E_IO: return "I/O error";
    case VK_E_FORMAT: return "format error";
    case VK_E_NOMEM: return "out of memory";
    case VK_E_ARG: return "invalid argument";
    case VK_E_UNSUPPORTED: return "unsupported";
    case VK_E_BOARD: return "board error";
    case VK_E_TIMEOUT: return "timeout";
    case VK_E_DB: return "database error";
    case VK_E_BUSY: return "busy";
    case VK_E_NET: return "network error";
    case VK_E_MISMATCH: return "mismatch";
    case VK_E_NOTFOUND: return "not found";
    }
    return "unknown status";
}

vk_status vk_fail(vk_err *err, vk_status rc, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return rc;
}

void vk_err_prefix(vk_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    char pre[VK_ERR_MAX], old[VK_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t n = strlen(pre);
    if (n > sizeof err->msg - 3)
        n = sizeof err->msg - 3;
    memcpy(err->msg, pre, n);
    memcpy(err->msg + n, ": ", 2);
    size_t rest = sizeof err->msg - n - 3;
    size_t m = strlen(old) < rest ? strlen(old) : rest;
    memcpy(err->msg + n + 2, old, m);
    err->msg[n + 2 + m] = 0;
}
