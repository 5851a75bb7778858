/* vk_env: environment variables parsed in one place (see vk_env.h). */
#include "vk_env.h"

#include <errno.h>
#include <stdlib.h>

vk_status vk_env_long(const char *name, long def, long lo, long hi, long *v, vk_err *err)
{
    const char *e = getenv(name);
    char *end;
    long x;
    if (!e || !*e) {
        *v = def;
        return VK_OK;
    }
    errno = 0;
    x = strtol(e, &end, 10);
    if (errno || end == e || *end || x < lo || x > hi)
        return vk_fail(err, VK_E_ARG, "%s='%s': expected an integer in %ld..%ld", name, e, lo,
                       hi);
    *v = x;
    return VK_OK;
}
