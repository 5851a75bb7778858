/* vk_datafile: the lookup of vitskip's shipped data files (vk_datafile.h). */
#include "vk_datafile.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

vk_status vk_datafile_find(const char *name, char *path, size_t len, vk_err *err)
{
    static const char *rel[] = {"/../share/vitskip/", "/../", "/../../"};
    char exe[PATH_MAX], cand[PATH_MAX + 64], real[PATH_MAX], *slash;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    int w;
    if (n > 0) {
        exe[n] = 0;
        if ((slash = strrchr(exe, '/')) != NULL) {
            *slash = 0;
            for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
                w = snprintf(cand, sizeof cand, "%s%s%s", exe, rel[i], name);
                /* the canonical path: it is shown in a board's description */
                if (w > 0 && (size_t)w < sizeof cand && access(cand, R_OK) == 0 &&
                    realpath(cand, real) && strlen(real) < len) {
                    memcpy(path, real, strlen(real) + 1);
                    return VK_OK;
                }
            }
        }
    } else {
        snprintf(exe, sizeof exe, "(the binary's directory: /proc/self/exe unreadable)");
    }
    if (access(name, R_OK) == 0 && strlen(name) < len) {
        memcpy(path, name, strlen(name) + 1);
        return VK_OK;
    }
    return vk_fail(err, VK_E_NOTFOUND,
                   "%s not found in %s/../share/vitskip (make install), %s/.. or %s/../.. (a "
                   "build tree), nor in the working directory",
                   name, exe, exe, exe);
}
