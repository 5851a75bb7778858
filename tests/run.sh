#!/bin/sh
# Runs every test binary given, prints each one's summary and a total line
# "tests: N passed, N failed, N skipped". Exit status non-zero if any failed.
# A test that exits 77 skipped entirely (tests/vk_test.h, tests/vk_test.sh);
# one that passed with parts skipped says how many, and each SKIP line (with
# its reason) is shown. Each test runs from the repository root; BUILD names
# the build tree.
pass=0; fail=0; skip=0; failed=""; skipped_parts=0
# a calibration cache of this run's own: tests neither read nor fill the user's
VITSKIP_CACHE=$(mktemp -d /tmp/vk_test_cache.XXXXXX)
export VITSKIP_CACHE
trap 'rm -rf "$VITSKIP_CACHE"' EXIT
for t in "$@"; do
    start=$(date +%s)
    out=$("$t" 2>&1)
    rc=$?
    skips=$(printf '%s\n' "$out" | grep '^SKIP ')
    n_skips=$(printf '%s' "$skips" | grep -c '^SKIP ')
    if [ $rc -eq 0 ] && [ "$n_skips" -eq 0 ]; then
        pass=$((pass + 1)); status=ok
    elif [ $rc -eq 0 ]; then
        pass=$((pass + 1)); status="ok, $n_skips part(s) skipped"
        skipped_parts=$((skipped_parts + n_skips))
    elif [ $rc -eq 77 ]; then
        skip=$((skip + 1)); status=skipped
    else
        fail=$((fail + 1)); status=FAIL; failed="$failed $t"
        printf '%s\n' "$out" | tail -40
    fi
    printf '%-40s %s (%ss)\n' "$(basename "$t")" "$status" "$(($(date +%s) - start))"
    [ "$n_skips" -gt 0 ] && [ "$status" != FAIL ] && printf '    %s\n' "$skips" | sed 's/^ *SKIP/    SKIP/'
done
[ -n "$failed" ] && echo "failed:$failed"
echo "tests: $pass passed, $fail failed, $skip skipped ($skipped_parts skipped parts)"
[ "$fail" -eq 0 ]
