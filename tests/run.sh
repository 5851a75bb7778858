#!/bin/sh
# Runs every test binary given, prints each one's summary and a total line
# "tests: N passed, N failed". Exit status non-zero if any failed.
# Each test runs from the repository root; BUILD names the build tree.
pass=0; fail=0; failed=""
for t in "$@"; do
    start=$(date +%s)
    if out=$("$t" 2>&1); then
        pass=$((pass + 1)); status=ok
    else
        fail=$((fail + 1)); status=FAIL; failed="$failed $t"
        printf '%s\n' "$out" | tail -40
    fi
    printf '%-40s %s (%ss)\n' "$(basename "$t")" "$status" "$(($(date +%s) - start))"
done
[ -n "$failed" ] && echo "failed:$failed"
echo "tests: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
