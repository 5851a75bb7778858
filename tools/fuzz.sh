#!/bin/sh
# Builds the libFuzzer targets (tests/fuzz/*_fuzz.c: clang, ASan, UBSan;
# `make FUZZ=1`) and fuzzes each one named (default: all) for a bounded
# time, starting from its seed corpus tests/fuzz/corpus/<target>/ (read
# only; what the run adds goes to $BUILD/fuzz/<target>/corpus). Prints one
# line per target: seconds, executions, corpus size. Exit status non-zero
# on any finding; the input is left in $BUILD/fuzz/<target>/crash-* (or
# leak-*, oom-*, timeout-*): replay it with `$BUILD/tests/fuzz/<t>_fuzz FILE`,
# then add it as a regression test in the parser's unit test.
#
#   sh tools/fuzz.sh                    # every target, 15 s each
#   FUZZ_SECONDS=300 sh tools/fuzz.sh idx genome
# Environment: BUILD (default build-fuzz), FUZZ_SECONDS (per target,
# default 15), JOBS (make -j, default 2). Run from the repository root.
set -eu

BUILD=${BUILD:-build-fuzz}
SECONDS_=${FUZZ_SECONDS:-15}
[ $# -gt 0 ] || set -- $(ls tests/fuzz/*_fuzz.c | sed 's#tests/fuzz/\(.*\)_fuzz\.c#\1#')
for t in "$@"; do
    [ -d "tests/fuzz/corpus/$t" ] || { echo "fuzz: no target $t (tests/fuzz/corpus/$t)" >&2; exit 2; }
done
make -s -j"${JOBS:-2}" FUZZ=1 BUILD="$BUILD" \
    $(for t in "$@"; do printf '%s/tests/fuzz/%s_fuzz ' "$BUILD" "$t"; done)

# a target takes one input at a time: OpenMP's idle workers would only spin
export OMP_NUM_THREADS=1
status=0
for t in "$@"; do
    out=$BUILD/fuzz/$t
    # the targets write their inputs as files under $TMPDIR: keep them here
    mkdir -p "$out/corpus" "$out/tmp"
    # the malloc limit is libFuzzer's default (the RSS limit): a few bytes of
    # input may not make a parser reserve gigabytes
    if TMPDIR=$out/tmp "$BUILD/tests/fuzz/${t}_fuzz" -max_total_time="$SECONDS_" -max_len=65536 -timeout=20 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$out/" \
        "$out/corpus" "tests/fuzz/corpus/$t" > "$out/log" 2>&1; then
        r=ok
    else
        r=FAILED
        status=1
        tail -60 "$out/log"
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log" | tail -1)
    secs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$out/log" | awk '{print $5}' | tail -1)
    printf 'fuzz %-12s %s: %s executions in %s s, corpus %s files (%s seeds)\n' "$t" "$r" \
        "${runs:-?}" "${secs:-?}" "$(ls "$out/corpus" | wc -l)" "$(ls "tests/fuzz/corpus/$t" | wc -l)"
done
exit $status
