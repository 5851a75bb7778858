#!/bin/sh
# A search killed with SIGKILL at random moments resumes with --resume and
# ends with the same Pareto front as an uninterrupted run; the database
# passes integrity_check after every kill and holds no duplicate path.
. tests/vk_test.sh
args="--model models/demo --data $DATA --limit 60 --budget 14 --population 6 --seed 3 -q"
front() { grep -E '^P[0-9]+ ' "$1" | awk '{print $NF, $2, $3}'; }

"$VITSKIP" search $args --db "$T/ref.db" > "$T/ref.out" 2>&1 || ko "reference search failed"
[ "$(front "$T/ref.out" | wc -l)" -ge 1 ] && ok || ko "no front in the reference run"

kills=0
vk_cleanup='kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null'
"$VITSKIP" search $args --db "$T/k.db" > /dev/null 2>&1 &
pid=$!
# kill only once the run exists (model loading and calibration come first)
measuring() {
    python3 -c "import sqlite3,sys; sys.exit(0 if sqlite3.connect('$T/k.db').execute('select count(*) from paths').fetchone()[0] > 0 else 1)" 2>/dev/null
}
poll 200 measuring || die "no path measured within 20 s"
for i in 1 2 3 4 5 6; do
    sleep "$(awk -v s=$i 'BEGIN{srand(s); printf "%.2f", 0.3 + rand() * 1.5}')"
    if kill -0 $pid 2>/dev/null; then
        kill -9 $pid; wait $pid 2>/dev/null; kills=$((kills + 1))
    else
        wait $pid 2>/dev/null
    fi
    r=$(python3 -c "
import sqlite3; c = sqlite3.connect('$T/k.db')
ok = c.execute('pragma integrity_check').fetchone()[0]
dup = c.execute('select count(*) from (select 1 from paths group by genome having count(*) > 1)').fetchone()[0]
bad = c.execute('select count(*) from paths where length(results) != 6 * n_images').fetchone()[0]
print(ok, dup, bad)")
    [ "$r" = "ok 0 0" ] && ok || ko "after kill $kills: integrity/dup/bad = $r"
    "$VITSKIP" search --db "$T/k.db" --resume 1 -q > "$T/k.out" 2>&1 &
    pid=$!
done
wait $pid || ko "final resume failed: $(tail -3 "$T/k.out")"
# a run that finished before any kill tested nothing
[ "$kills" -ge 1 ] && ok || ko "no kill landed: the search ended before the first one"
if [ "$(front "$T/ref.out")" = "$(front "$T/k.out")" ]; then ok; else
    ko "fronts differ"; front "$T/ref.out"; echo ---; front "$T/k.out"; fi
n=$(python3 -c "import sqlite3; print(sqlite3.connect('$T/k.db').execute('select count(*) from paths').fetchone()[0])")
[ "$n" -eq 14 ] && ok || ko "expected 14 measured paths, found $n"
# show, export and replay on the resumed run
"$VITSKIP" show --db "$T/k.db" --json > "$T/show.json" && python3 -c "
import json; d = json.load(open('$T/show.json')); assert len(d['paths']) == 14" && ok || ko "show --json"
p=$(grep -E '^P[0-9]+ ' "$T/k.out" | head -1 | awk '{print $1}')
"$VITSKIP" export --db "$T/k.db" --config "$p" --format json -o "$T/p.json" &&
    grep -q '"kind":.*"path"' "$T/p.json" && ok || ko "export json"
"$VITSKIP" export --db "$T/k.db" --config "$p" --format header | grep -q 'vk_skip_modes\[8\]' && ok ||
    ko "export header"
"$VITSKIP" export --db "$T/k.db" --config Q9 > /dev/null 2>&1; [ $? -eq 2 ] && ok || ko "bad --config exit code"
"$VITSKIP" replay --db "$T/k.db" --config "$p" > "$T/replay.out" 2>/dev/null || ko "replay failed"
a=$(awk '/^stored:/ {print $3}' "$T/replay.out"); b=$(awk '/^replay:/ {print $3}' "$T/replay.out")
[ -n "$a" ] && [ "$a" = "$b" ] && ok || ko "replay top-1 $b differs from stored $a"
summary "search kill/resume ($kills kills)"
