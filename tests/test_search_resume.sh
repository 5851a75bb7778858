#!/bin/sh
# A search killed with SIGKILL at random moments drawn from the whole run,
# starting at zero (before the run exists, during calibration, before its
# first stored measurement, between a proposal and its store, during
# cascades), resumes with --resume (or is started again while no run
# exists yet) and ends with the same Pareto front as an uninterrupted run.
# After every kill the database passes integrity_check and holds no
# duplicate path; at the end each genome was stored once and measured
# successfully at most once (issue 15, item 14). A run that completes
# before its kill time ends its trial; the next trial starts a fresh
# database, until 8 kills have landed.
. tests/vk_test.sh
args="--model models/demo --data $DATA --limit 60 --budget 14 --population 6 --seed 3 -q"
front() { grep -E '^P[0-9]+ ' "$1" | awk '{print $NF, $2, $3}'; }
q() { python3 -c "import sqlite3; c = sqlite3.connect('$db'); print(*c.execute(\"$1\").fetchone())" 2>/dev/null; }
start() { # a resume when the run exists, else the search again
    if [ -f "$db" ] && [ "$(q 'select count(*) from runs')" = 1 ]; then
        "$VITSKIP" search --db "$db" --resume 1 -q > "$T/k.out" 2>&1
    else
        "$VITSKIP" search $args --db "$db" > "$T/k.out" 2>&1
    fi
}
check_done() { # the trial's run completed: the same front, each genome once
    if [ "$(front "$T/ref.out")" = "$(front "$T/k.out")" ]; then ok; else
        ko "trial $trial: fronts differ"; front "$T/ref.out"; echo ---; front "$T/k.out"; fi
    [ "$(q 'select count(*) from paths')" = 14 ] && ok ||
        ko "trial $trial: expected 14 measured paths, found $(q 'select count(*) from paths')"
    [ "$(q 'select count(*), count(distinct seq) from run_paths where run_id = 1')" = "14 14" ] &&
        ok || ko "trial $trial: run 1 evaluated $(q 'select count(*) from run_paths') paths"
    twice=$(q "select count(*) from (select genome from attempts where ok = 1 group by genome having count(*) > 1)")
    [ "$twice" = 0 ] && ok || ko "trial $trial: $twice genomes measured successfully twice"
}

t0=$(date +%s.%N)
"$VITSKIP" search $args --db "$T/ref.db" > "$T/ref.out" 2>&1 || ko "reference search failed"
span=$(echo "$t0 $(date +%s.%N)" | awk '{print $2 - $1}')
[ "$(front "$T/ref.out" | wc -l)" -ge 1 ] && ok || ko "no front in the reference run"

kills=0; early=0; trial=1; i=0; db="$T/k1.db"; pid=
vk_cleanup='[ -z "$pid" ] || { pkill -9 -P $pid vitskip; kill -9 $pid; } 2>/dev/null'
while [ $kills -lt 8 ] && [ $i -lt 40 ]; do
    i=$((i + 1))
    start &
    pid=$!
    # uniform over the whole uninterrupted run, from zero; the first kill
    # within its first tenth (model loading, calibration: nothing stored yet)
    sleep "$(awk -v s=$i -v span="$span" 'BEGIN{srand(s); printf "%.2f", rand() * span * (s == 1 ? 0.1 : 1)}')"
    if kill -0 $pid 2>/dev/null; then
        pkill -9 -P $pid vitskip 2>/dev/null; kill -9 $pid 2>/dev/null
        wait $pid 2>/dev/null
        kills=$((kills + 1))
        [ ! -f "$db" ] || [ "$(q 'select count(*) from paths')" = 0 ] && early=$((early + 1))
        [ -f "$db" ] || continue
        r=$(q "select (select group_concat(integrity_check) from pragma_integrity_check), (select count(*) from (select 1 from paths group by genome having count(*) > 1)), (select count(*) from paths where length(results) != 6 * n_images)")
        [ "$r" = "ok 0 0" ] && ok || ko "after kill $kills: integrity/dup/bad = $r"
    else
        wait $pid || ko "trial $trial: a run failed: $(tail -3 "$T/k.out")"
        check_done
        trial=$((trial + 1)); db="$T/k$trial.db"
    fi
done
start || ko "final resume failed: $(tail -3 "$T/k.out")"
pid=
check_done
[ "$kills" -ge 8 ] && [ "$early" -ge 1 ] && ok ||
    ko "$kills kills landed, $early before the first stored measurement (8 and 1 wanted)"
# show, export and replay on the resumed run
"$VITSKIP" show --db "$db" --json > "$T/show.json" && python3 -c "
import json; d = json.load(open('$T/show.json')); assert len(d['paths']) == 14" && ok || ko "show --json"
p=$(grep -E '^P[0-9]+ ' "$T/k.out" | head -1 | awk '{print $1}')
"$VITSKIP" export --db "$db" --config "$p" --format json -o "$T/p.json" &&
    grep -q '"kind":.*"path"' "$T/p.json" && ok || ko "export json"
"$VITSKIP" export --db "$db" --config "$p" --format header | grep -q 'vk_skip_modes\[8\]' && ok ||
    ko "export header"
"$VITSKIP" export --db "$db" --config Q9 > /dev/null 2>&1; [ $? -eq 2 ] && ok || ko "bad --config exit code"
"$VITSKIP" replay --db "$db" --config "$p" > "$T/replay.out" 2>/dev/null || ko "replay failed"
a=$(awk '/^stored:/ {print $3}' "$T/replay.out"); b=$(awk '/^replay:/ {print $3}' "$T/replay.out")
[ -n "$a" ] && [ "$a" = "$b" ] && ok || ko "replay top-1 $b differs from stored $a"
summary "search kill/resume ($kills kills in $trial trials, kill times uniform in 0..${span}s, $early before the first stored measurement)"
