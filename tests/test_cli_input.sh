#!/bin/sh
# The CLI's own inputs and outputs (issue 15, items 2, 9 and 15):
#  - numeric options are integers with ranges, or finite numbers: 1e10,
#    inf, 3e9, -1 and out-of-range values are usage errors (exit 2) naming
#    the option, never a budget removed or a seed stored as 0;
#  - a command whose output cannot be written (stdout on /dev/full) fails
#    with exit 1 and says so;
#  - --resume without --board continues on the boards the run stored (here
#    the cpu board), says so, and measures nothing again.
. tests/vk_test.sh
args="--model models/demo --data $DATA --limit 40 --population 4 -q"

# usage ARGS... EXPECTED: exit 2 and EXPECTED on stderr, nothing stored
usage() {
    want=$1; shift
    "$VITSKIP" "$@" --db "$T/u.db" > "$T/u.out" 2>&1; rc=$?
    [ $rc = 2 ] && grep -q -- "$want" "$T/u.out" && [ ! -f "$T/u.db" ] && ok ||
        ko "$* exited $rc: $(head -2 "$T/u.out")"
}
usage "--budget '1e10': expected an integer from 1 to" search $args --budget 1e10
usage "--budget 'inf'" search $args --budget inf
usage "--budget '0'" search $args --budget 0
usage "--seed '1e30': expected an integer from 0 to" search $args --seed 1e30
usage "--seed '-1'" search $args --seed -1
usage "--seed '99999999999999999999'" search $args --seed 99999999999999999999
usage "--population '3e9'" search $args --population 3e9
usage "--population '5000'" search $args --population 5000
usage "--limit '2.5'" search $args --limit 2.5
usage "--resume '1x'" search --resume 1x
usage "--time-budget 'inf': expected a finite number" search $args --time-budget inf
usage "--latency-budget 'nan'" search $args --latency-budget nan
usage "--max-acc-drop '-1'" sweep $args --max-acc-drop -1
usage "--seeds '1e3'" search-bench --seeds 1e3
usage "--run '0'" search-bench --run 0
usage "--run '1e3': expected an integer from 1 to" finetune-plan --run 1e3 --out "$T/ft"
usage "--top '2.0': expected an integer from 1 to" finetune-plan --top 2.0 --out "$T/ft"
# bench's counts go through the same parser (it had its own strtol)
for a in "--lat-n 1e3" "--ref-n 0" "--deit-reps 2.5"; do
    # shellcheck disable=SC2086
    "$VITSKIP" bench $a > "$T/b.out" 2>&1; rc=$?
    [ $rc = 2 ] && grep -q -- "'${a#* }': expected an integer from 1 to" "$T/b.out" && ok ||
        ko "bench $a exited $rc: $(head -1 "$T/b.out")"
done

# output that cannot be written
if [ -w /dev/full ]; then
    "$VITSKIP" --help > /dev/full 2> "$T/full.out"; rc=$?
    [ $rc = 1 ] && grep -q 'cannot write to standard output' "$T/full.out" && ok ||
        ko "--help > /dev/full exited $rc: $(cat "$T/full.out")"
    "$VITSKIP" search $args --budget 4 --seed 2 --db "$T/r.db" > "$T/r1.out" 2>&1 ||
        die "search failed: $(tail -2 "$T/r1.out")"
    "$VITSKIP" show --db "$T/r.db" > /dev/full 2> "$T/full.out"; rc=$?
    [ $rc = 1 ] && grep -q 'cannot write to standard output' "$T/full.out" && ok ||
        ko "show > /dev/full exited $rc: $(cat "$T/full.out")"
else
    skip "no writable /dev/full"
fi

# a resume stays on the run's boards
"$VITSKIP" search $args --board cpu --budget 4 --seed 2 --db "$T/c.db" > "$T/c1.out" 2>&1 ||
    die "search on the cpu board failed: $(tail -2 "$T/c1.out")"
"$VITSKIP" search --db "$T/c.db" --resume 1 -q > "$T/c2.out" 2>&1 ||
    ko "resume failed: $(tail -2 "$T/c2.out")"
grep -q "^search: boards cpu (the run's own" "$T/c2.out" && ok ||
    ko "the resume does not say its boards: $(head -2 "$T/c2.out")"
b=$(sqlite3 "$T/c.db" 'select count(*), group_concat(distinct board) from paths')
case $b in "4|cpu:"*) ok ;; *) ko "after the resume the paths are $b (4|cpu:... expected)" ;; esac
summary "cli input"
