/* vk_env: the environment variables vitskip reads as documented defaults,
 * parsed in one place, so that a bad value is an error naming the variable,
 * its value and what was expected, the same way whichever module reads it.
 *
 * An unset or empty variable gives the default. Stateless; thread-safe as
 * far as getenv is (no thread may setenv meanwhile).
 *
 *     long threads;
 *     if (vk_env_long("VK_SIM_THREADS", 2, 1, 64, &threads, &err) != VK_OK)
 *         die(err.msg);
 */
#ifndef VK_ENV_H
#define VK_ENV_H

#include "vk_status.h"

/* *v = the decimal integer in the variable name, def when it is unset or
 * empty. VK_E_ARG ("NAME='value': expected an integer in lo..hi") when it is
 * not a whole decimal integer in lo..hi; *v is untouched then. */
vk_status vk_env_long(const char *name, long def, long lo, long hi, long *v, vk_err *err);

#endif
