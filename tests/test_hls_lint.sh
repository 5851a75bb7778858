#!/bin/sh
# The kernel sources pass the synthesizable-subset lint; each planted
# violation in tests/fixtures/lint/bad_*.c is caught; guarded host code is not.
pass=0; fail=0
ok() { pass=$((pass + 1)); }
ko() { fail=$((fail + 1)); echo "FAIL: $*"; }
if python3 tools/hls_lint.py kernels/vk_kernel.c kernels/vk_kernel.h kernels/vk_int.h \
    kernels/vk_config.h; then ok; else ko "kernel sources have lint violations"; fi
for f in tests/fixtures/lint/bad_*.c; do
    kind=$(basename "$f" .c | sed 's/bad_//')
    out=$(python3 tools/hls_lint.py "$f")
    if [ $? -eq 1 ]; then ok; else ko "$f not rejected"; fi
    case "$kind" in
    malloc) pat="malloc";; stdio) pat="include <stdio.h>";; recursion) pat="recursion";;
    fnptr) pat="function pointer";; vla) pat="variable-length";;
    esac
    if printf '%s' "$out" | grep -q "$pat"; then ok; else ko "$f: no '$pat' in: $out"; fi
done
if python3 tools/hls_lint.py tests/fixtures/lint/good_guarded.c; then ok; else ko "guarded code rejected"; fi
echo "hls_lint: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
