/* vk_datafile: finds the data files vitskip ships (boards/zcu102.json) from
 * wherever its binary runs, so that a build tree, an installed copy and a
 * copied binary run from the source tree all find them.
 *
 * A name relative to the data root (e.g. "boards/zcu102.json") is looked up,
 * first match wins, in:
 *   1. EXE/../share/vitskip/NAME   `make install PREFIX=P`: P/bin/vitskip and
 *                                  P/share/vitskip (relocatable: the prefix
 *                                  is found from the binary, never compiled in)
 *   2. EXE/../NAME, EXE/../../NAME a build tree: build/vitskip,
 *                                  build/tests/test_x, build/aarch64/vitskip-agent
 *   3. ./NAME                      the working directory (the source tree)
 * where EXE is the directory of the running binary (/proc/self/exe). The
 * binary's own data come first, so that a binary never reads the data of
 * another tree it happens to run in.
 *
 *     char path[PATH_MAX]; vk_err err = {0};
 *     if (vk_datafile_find("boards/zcu102.json", path, sizeof path, &err) != VK_OK)
 *         fprintf(stderr, "%s\n", err.msg);
 *
 * Stateless and thread-safe. */
#ifndef VK_DATAFILE_H
#define VK_DATAFILE_H

#include <stddef.h>

#include "vk_status.h"

/* Writes the path of the first readable NAME (above) into path[len].
 * VK_E_NOTFOUND (naming every place tried) when none is readable; path is
 * untouched on error. */
vk_status vk_datafile_find(const char *name, char *path, size_t len, vk_err *err);

#endif
