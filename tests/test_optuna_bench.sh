#!/bin/sh
# tools/optuna_bench.py (Optuna's samplers against a sweep, beside vitskip's
# strategies): its hypervolume equals vitskip's on the same point sets (the
# sweep's history and searches' histories recomputed from their stored
# measurements), random sampling with a result cache reaches exactly 100% at
# the whole space, a cache never does worse than paying for repeats, vitskip's
# search-bench rows are merged, and bad databases, options and CSV files are
# clear errors. The units (hypervolume vs counted cells, spaces, repair) are
# in tests/test_optuna_bench.py.
. tests/vk_test.sh
PY=/usr/bin/python3
OB=tools/optuna_bench.py
"$PY" -c "import optuna" 2>/dev/null || die "no optuna for $PY (tools/install-deps.sh installs python3-optuna)"
"$PY" tests/test_optuna_bench.py > "$T/u" 2>&1 && ok || ko "units: $(cat "$T/u")"
base="--model models/demo --data $DATA --limit 12 --objective edp --max-acc-drop 1.0 -q"
"$VITSKIP" sweep $base --db "$T/s.db" > "$T/sweep.out" 2>&1 || die "sweep failed: $(tail -3 "$T/sweep.out")"
cp "$T/s.db" "$T/r.db"
"$VITSKIP" search $base --db "$T/r.db" --budget 40 > /dev/null 2>&1 || ko "nsga2 search failed"
"$VITSKIP" search $base --db "$T/r.db" --budget 40 --strategy random --seed 3 > /dev/null 2>&1 ||
    ko "random search failed"
for run in 1 2 3; do
    db="$T/r.db"; [ $run = 1 ] && db="$T/s.db"
    "$PY" $OB --check-hv "$db" $run > "$T/c" 2>&1 && ok || ko "check-hv run $run: $(cat "$T/c")"
done
grep -q "256 records" "$T/c" || grep -q "40 records" "$T/c" && ok || ko "check-hv: $(cat "$T/c")"
# a hypervolume history that disagrees is caught
sqlite3 "$T/r.db" "update hv_history set hypervolume = hypervolume * 1.001 where run_id = 2 and n_evals = 20"
"$PY" $OB --check-hv "$T/r.db" 2 > "$T/c" 2>&1
[ $? = 1 ] && ok || ko "check-hv missed an altered hypervolume: $(cat "$T/c")"

"$VITSKIP" search-bench --db "$T/s.db" --seeds 2 --budgets 8,64,256 --csv "$T/vk.csv" > /dev/null 2>&1 ||
    ko "search-bench --csv failed"
[ "$(grep -c '^nsga2,' "$T/vk.csv")" = 6 ] && [ "$(grep -c '^random,' "$T/vk.csv")" = 6 ] &&
    [ "$(grep -c '^predict,' "$T/vk.csv")" = 6 ] && ok ||
    ko "search-bench --csv rows: $(cat "$T/vk.csv")"
"$PY" $OB --db "$T/s.db" --seeds 2 --budgets 8,64,256 --samplers random \
    --max-trials 3000 --vitskip-csv "$T/vk.csv" --csv "$T/all.csv" > "$T/b.out" 2> "$T/b.err" && ok ||
    ko "optuna_bench failed: $(cat "$T/b.err")"
# error vs cost, repeats free: random sampling at the whole space is exact
grep -A6 "error vs the run's cost; repeats free" "$T/b.out" |
    grep -qE '^\| 256 \|( \*\*100\.00% \[100\.00, 100\.00\]\*\* \|){4}$' &&
    ok || ko "at the whole space vitskip's strategies and cached random sampling must reach 100%: $(cat "$T/b.out")"
# per study: the cache accounting is never below the trial accounting
bad=$(awk -F, 'NR > 1 { k = $1 "," $3 "," $4; if ($2 == "trial") t[k] = $5; else c[k] = $5 }
    END { for (k in t) if (c[k] + 1e-9 < t[k]) print k }' "$T/all.csv")
[ -z "$bad" ] && ok || ko "cache below trial accounting: $bad"
[ "$(grep -c '^Optuna random,' "$T/all.csv")" = 12 ] && ok || ko "--csv rows for Optuna random"
# --first-seed: the same study as seed 2 of the run above, named seed 2 in the CSV
"$PY" $OB --db "$T/s.db" --seeds 1 --first-seed 2 --budgets 8,64,256 --samplers random \
    --max-trials 3000 --csv "$T/s2.csv" > /dev/null 2>&1 || ko "--first-seed 2 failed"
[ "$(grep '^Optuna random,trial,2,' "$T/s2.csv")" = "$(grep '^Optuna random,trial,2,' "$T/all.csv")" ] &&
    [ "$(grep -c '^Optuna random,' "$T/s2.csv")" = 6 ] && ok ||
    ko "--first-seed 2: $(cat "$T/s2.csv")"
# the other samplers run (one seed, small budgets)
"$PY" $OB --db "$T/s.db" --seeds 1 --budgets 4,8 --samplers nsga2,nsga2-small,tpe,tpe-mv > "$T/o.out" 2>&1 &&
    grep -q "Optuna TPE (multivariate)" "$T/o.out" && ok || ko "other samplers: $(cat "$T/o.out")"
# the cached hypervolume subset selection changes no proposal: default TPE
# with and without it gives the same figures, study for study
"$PY" $OB --db "$T/s.db" --seeds 2 --budgets 8,24 --samplers tpe --csv "$T/m1.csv" > /dev/null 2>&1 &&
    VK_OPTUNA_NO_MEMO=1 "$PY" $OB --db "$T/s.db" --seeds 2 --budgets 8,24 --samplers tpe \
        --csv "$T/m0.csv" > /dev/null 2>&1 && [ "$(grep -c '^Optuna TPE,' "$T/m1.csv")" = 8 ] &&
    cmp -s "$T/m1.csv" "$T/m0.csv" && ok ||
    ko "TPE with and without the cached subset selection: $(diff "$T/m1.csv" "$T/m0.csv")"

# bad input: a clear error, exit 1 (2 for a usage error)
bad() { # EXPECTED_RC PATTERN ARGS...
    rc=$1; pat=$2; shift 2
    "$PY" $OB "$@" > /dev/null 2> "$T/e"
    r=$?
    [ $r = "$rc" ] && grep -q "$pat" "$T/e" && ok || ko "$*: rc $r, $(cat "$T/e")"
}
bad 1 "no such file" --db "$T/none.db"
# --union (a space too large to sweep): one run is its own union, so 100% at
# its whole budget; two runs each at most 100%; runs not comparable refused
mx="--model models/demo --data $DATA --limit 12 --space all --board sim --objective edp --max-acc-drop 1.0 -q"
"$VITSKIP" search $mx --db "$T/u.db" --budget 10 --strategy nsga2 > /dev/null 2>&1 || ko "mixed nsga2 search failed"
"$PY" $OB --union "$T/u.db" --budgets 4,10 > "$T/u1" 2>&1 &&
    grep -q '^| 10 | 100.00% \[100.00, 100.00\] |$' "$T/u1" && ok || ko "--union of one run: $(cat "$T/u1")"
"$VITSKIP" search $mx --db "$T/u.db" --budget 10 --strategy random --seed 2 > /dev/null 2>&1 || ko "mixed random search failed"
"$PY" $OB --union "$T/u.db" --budgets 4,10 > "$T/u2" 2>&1 && grep -q "2 runs of" "$T/u2" &&
    grep -q "nsga2 (1 runs) | random (1 runs)" "$T/u2" && ok || ko "--union of two runs: $(cat "$T/u2")"
over=$(grep '^| [0-9]' "$T/u2" | tr '|[],' '    ' | awk '{ for (i = 2; i <= NF; i++) if ($i + 0 > 100.0000001) print }')
[ -z "$over" ] && ok || ko "--union: a run above the union's hypervolume: $over"
cp "$T/u.db" "$T/u3.db"
"$VITSKIP" search $mx --db "$T/u3.db" --budget 12 --max-acc-drop 3 --seed 3 > /dev/null 2>&1 || ko "third search failed"
bad 1 "not comparable with run 1" --union "$T/u3.db" --budgets 4
bad 1 "fewer than the budget 20" --union "$T/u.db" --budgets 4,20
bad 1 "no such file" --union "$T/none.db"
sqlite3 "$T/empty.db" "create table meta(key, value); insert into meta values('app', 'vitskip');
    create table runs(id, strategy, seed)"
bad 1 "holds no run" --union "$T/empty.db"
bad 2 "expected comma-separated" --union "$T/u.db" --budgets 4,x

echo "not a database" > "$T/text.db"
bad 1 "not a vitskip database" --db "$T/text.db"
sqlite3 "$T/other.db" "create table meta(key, value); insert into meta values('app', 'other')"
bad 1 "no vitskip marker" --db "$T/other.db"
bad 1 "no run 9" --db "$T/s.db" --run 9
bad 1 "expected increasing" --db "$T/s.db" --budgets 8,4
bad 1 "exceeds the sweep's 256" --db "$T/s.db" --budgets 300
bad 1 "unknown 'anneal'" --db "$T/s.db" --samplers random,anneal
bad 2 "expected comma-separated" --db "$T/s.db" --budgets x
bad 2 "at least 1" --db "$T/s.db" --first-seed 0
bad 1 "RUN 'x' is not a number" --check-hv "$T/s.db" x
printf 'strategy,seed\n' > "$T/v1.csv"
bad 1 "line 1: expected '# sweep run N" --db "$T/s.db" --vitskip-csv "$T/v1.csv"
printf '# sweep run 1 of x\nnsga2,1,8,oops,1\n' > "$T/v2.csv"
bad 1 "line 2: expected strategy,seed,budget" --db "$T/s.db" --vitskip-csv "$T/v2.csv"
printf '# sweep run 1 of x\nnsga2,1,8,150,1\n' > "$T/v3.csv"
bad 1 "line 2: malformed row" --db "$T/s.db" --vitskip-csv "$T/v3.csv"
bad 1 "not found\|no such file\|No such file" --db "$T/s.db" --vitskip-csv "$T/none.csv"
"$VITSKIP" search-bench --db "$T/s.db" --seeds 1 --budgets 8 --csv "$T/no/dir.csv" > /dev/null 2> "$T/e"
[ $? = 1 ] && grep -q "cannot create" "$T/e" && ok || ko "search-bench --csv to a missing folder: $(cat "$T/e")"
summary optuna_bench
