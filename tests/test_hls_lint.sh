#!/bin/sh
# The kernel sources pass the HLS lint (the synthesizable subset and the
# design's hardware rules, with the Tcl directives); each planted violation
# in tests/fixtures/lint/bad_*.c is caught with its own message; guarded
# host code is not.
. tests/vk_test.sh
PY=/usr/bin/python3
if $PY tools/hls_lint.py --tcl kernels/hls/directives.tcl kernels/vk_kernel.c \
    kernels/vk_kernel.h kernels/vk_int.h kernels/vk_config.h kernels/vk_loops.h; then ok
else ko "kernel sources have lint violations"; fi
for f in tests/fixtures/lint/bad_*.c; do
    kind=$(basename "$f" .c | sed 's/bad_//')
    out=$($PY tools/hls_lint.py "$f")
    if [ $? -eq 1 ]; then ok; else ko "$f not rejected"; fi
    case "$kind" in
    malloc) pat="malloc";; stdio) pat="include <stdio.h>";; recursion) pat="recursion";;
    fnptr) pat="function pointer";; vla) pat="variable-length";;
    unroll_bound) pat="is unrolled but its bound 'n'";;
    unpartitioned) pat="array 'buf' is indexed by the unrolled loop 'lanes'";;
    ddr_in_loop) pat="m_axi port 'par' used in a pipelined loop of compute()";;
    two_engines) pat="single-instance function engine() called from 2 places";;
    no_depth) pat="m_axi port without depth=";;
    *) pat="(no pattern for $kind)";;
    esac
    if printf '%s' "$out" | grep -qF "$pat"; then ok; else ko "$f: no '$pat' in: $out"; fi
done
if $PY tools/hls_lint.py tests/fixtures/lint/good_guarded.c; then ok; else ko "guarded code rejected"; fi
summary hls_lint
