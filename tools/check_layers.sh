#!/bin/sh
# check_layers.sh [ROOT]: every `#include "..."` in the sources under ROOT
# (default: the repository) goes down the layers, never up:
#
#   kernels  <-  host (library)  <-  boards  <-  search, db  <-  host/cli
#
# The allowed edges are listed below, one line per layer: the layer, then
# what its files may include (a layer, or one file of a layer). db depends
# on the measurement header alone, not on the board interface. Tests and
# tools use the library, never the CLI. An include that does not resolve to
# a file of the tree (next to the including file, else from the root, as
# the compiler's -I. finds it) is an error too.
# Prints each violation as FILE:LINE and exits 1 if there is any.
ROOT=${1:-$(dirname "$0")/..}
cd "$ROOT" || exit 2

ALLOWED='
kernels kernels
host    host kernels
boards  boards host kernels
db      db host/vk_status.h boards/vk_measure.h
search  search db boards host kernels
cli     cli search db boards host kernels
tests   tests search db boards host kernels
tools   search db boards host kernels
'

files=$(find kernels host boards search db tests tools -name '*.[ch]' 2>/dev/null | sort)
[ -n "$files" ] || { echo "check_layers: no sources under $ROOT" >&2; exit 2; }
# shellcheck disable=SC2086
printf '%s\n' $files | awk -v allowed="$ALLOWED" '
function layer(p) {
    if (p ~ /^host\/cli\//) return "cli"
    if (p ~ /^(kernels|host|boards|search|db|tests|tools)\//) { sub(/\/.*/, "", p); return p }
    return "other"
}
# dir/inc with "." and ".." segments resolved; "" when it leaves the root
function norm(path,   n, i, k, seg, out) {
    n = split(path, seg, "/")
    k = 0
    for (i = 1; i <= n; i++) {
        if (seg[i] == "" || seg[i] == ".") continue
        if (seg[i] == "..") { if (k == 0) return ""; k--; continue }
        out[++k] = seg[i]
    }
    path = ""
    for (i = 1; i <= k; i++) path = path (i > 1 ? "/" : "") out[i]
    return path
}
BEGIN {
    n = split(allowed, rows, "\n")
    for (i = 1; i <= n; i++) {
        m = split(rows[i], f, " ")
        if (m < 1) continue
        may[f[1]] = ""
        for (j = 2; j <= m; j++) { ok[f[1], f[j]] = 1; may[f[1]] = may[f[1]] " " f[j] }
    }
}
FNR == NR { tree[$0] = 1; src[++nsrc] = $0; next }
END {
    for (s = 1; s <= nsrc; s++) {
        file = src[s]
        dir = file; sub(/\/[^\/]*$/, "", dir)
        from = layer(file)
        line = 0
        while ((getline text < file) > 0) {
            line++
            if (text !~ /^[ \t]*#[ \t]*include[ \t]*"/) continue
            inc = text; sub(/^[^"]*"/, "", inc); sub(/".*/, "", inc)
            n_inc++
            target = norm(dir "/" inc)
            if (!(target in tree)) target = norm(inc)
            if (!(target in tree)) {
                printf "check_layers: %s:%d: #include \"%s\" is not a file of the tree\n", file, line, inc
                bad++
                continue
            }
            if (!ok[from, layer(target)] && !ok[from, target]) {
                printf "check_layers: %s:%d: #include \"%s\" (%s) goes against the layers: %s may include only%s\n", file, line, inc, target, from, may[from]
                bad++
            }
        }
        close(file)
    }
    if (bad) { printf "check_layers: %d of %d includes go against the layers\n", bad, n_inc; exit 1 }
    printf "check_layers: %d includes follow the layers\n", n_inc
}' - /dev/null
