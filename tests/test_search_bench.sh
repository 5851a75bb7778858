#!/bin/sh
# search-bench: a sweep of the demo model's 256 paths (few images), then
# NSGA-II, random search and NSGA-II with the predictor (its accuracy
# proxy shared by the seeds) against its true front. At a budget of the
# whole space all must reach exactly 100%; no search may need the board; bad
# options and databases without a sweep are clear errors. Random search is
# recorded as such and resumable; predict is the default, deterministic for
# a seed and resumable, and bad --proxy-images values are refused. The
# proxy's image count is stored with the run (a schema-7 predict run's
# migrated as the default's); a resume screens on it and refuses another.
. tests/vk_test.sh
base="--model models/demo --data $DATA --limit 12 --objective edp --max-acc-drop 1.0 -q"

"$VITSKIP" sweep $base --db "$T/s.db" > "$T/sweep.out" 2>&1 || ko "sweep failed: $(tail -3 "$T/sweep.out")"
n=$(sqlite3 "$T/s.db" "select count(*) from run_paths where run_id = 1")
[ "$n" = 256 ] && ok || ko "sweep evaluated $n paths, expected 256"

"$VITSKIP" search-bench --db "$T/s.db" --seeds 2 --budgets 8,64,256 > "$T/b.out" 2> "$T/b.err" &&
    ok || ko "search-bench failed: $(cat "$T/b.err")"
cat "$T/b.out"
# the 256 row: every strategy at exactly 100.00%, every seed
full=$(grep -cE '^256( +100\.00% \[100\.00, 100\.00\]){3} +0/2$' "$T/b.out")
[ "$full" = 2 ] && ok || ko "at the whole space all must reach 100% (2 tables), got $full rows"
rows=$(grep -cE '^(8|64) ' "$T/b.out")
[ "$rows" = 4 ] && ok || ko "expected budget rows 8 and 64 in both tables, got $rows"
over=$(grep -E '^[0-9]+ +[0-9.]+%' "$T/b.out" | tr -d '%[],' |
    awk '{for (i = 2; i <= 10; i++) if ($i > 100 || $i < 0) print}')
[ -z "$over" ] && ok || ko "a fraction above 100%: $over"
# the bench works on a copy: the sweep database holds still one run
[ "$(sqlite3 "$T/s.db" 'select count(*) from runs')" = 1 ] && ok || ko "search-bench wrote into the sweep database"

# errors
"$VITSKIP" search-bench --db "$T/s.db" --budgets 8,4 > /dev/null 2> "$T/e1"
[ $? = 2 ] && grep -q "increasing" "$T/e1" && ok || ko "decreasing budgets: $(cat "$T/e1")"
"$VITSKIP" search-bench --db "$T/s.db" --budgets 300 > /dev/null 2> "$T/e2"
[ $? != 0 ] && grep -q "exceeds the space" "$T/e2" && ok || ko "budget over the space: $(cat "$T/e2")"
"$VITSKIP" search $base --db "$T/r.db" --budget 6 --strategy random > /dev/null 2>&1 || ko "random search failed"
[ "$(sqlite3 "$T/r.db" 'select strategy from runs where id = 1')" = random ] && ok || ko "strategy not recorded"
[ "$(sqlite3 "$T/r.db" 'select count(*) from run_paths where run_id = 1')" = 6 ] && ok || ko "random search budget"
"$VITSKIP" search-bench --db "$T/r.db" > /dev/null 2> "$T/e3"
[ $? != 0 ] && grep -q "no sweep run" "$T/e3" && ok || ko "no sweep: $(cat "$T/e3")"
"$VITSKIP" search $base --db "$T/x.db" --strategy annealing > /dev/null 2> "$T/e4"
[ $? = 2 ] && grep -q "expected nsga2, random or predict" "$T/e4" && ok || ko "bad strategy: $(cat "$T/e4")"
# the predictor: recorded as its strategy; a resume of a finished run
# proposes the same paths (deterministic) and measures nothing
"$VITSKIP" search $base --db "$T/r.db" --budget 24 --strategy predict --seed 4 > /dev/null 2>&1 ||
    ko "predict search failed"
[ "$(sqlite3 "$T/r.db" 'select strategy from runs where id = 2')" = predict ] && ok || ko "predict not recorded"
[ "$(sqlite3 "$T/r.db" 'select count(distinct path_id) from run_paths where run_id = 2')" = 24 ] && ok ||
    ko "predict search budget"
"$VITSKIP" search --db "$T/r.db" --resume 2 > /dev/null 2>&1 || ko "predict resume failed"
[ "$(sqlite3 "$T/r.db" 'select count(*) from run_paths where run_id = 2')" = 24 ] && ok || ko "predict resume re-proposed"
cp "$T/s.db" "$T/p.db"
"$VITSKIP" search $base --db "$T/p.db" --budget 24 --strategy predict --seed 4 > /dev/null 2>&1 ||
    ko "predict search on the sweep failed"
a=$(sqlite3 "$T/r.db" "select p.genome from run_paths r join paths p on p.id = r.path_id where r.run_id = 2 order by r.seq")
b=$(sqlite3 "$T/p.db" "select p.genome from run_paths r join paths p on p.id = r.path_id where r.run_id = 2 order by r.seq")
[ -n "$a" ] && [ "$a" = "$b" ] && ok || ko "predict is not deterministic for a seed"
"$VITSKIP" search-bench --db "$T/s.db" --strategies nsga2,annealing > /dev/null 2> "$T/e6"
[ $? = 2 ] && grep -q "expected some of nsga2, random" "$T/e6" && ok || ko "bad --strategies: $(cat "$T/e6")"
"$VITSKIP" search-bench --db "$T/s.db" --strategies predict,predict > /dev/null 2> "$T/e7"
[ $? = 2 ] && ok || ko "--strategies with a repeat accepted"
"$VITSKIP" search-bench --db "$T/s.db" --seeds 1 --budgets 8 --strategies predict > "$T/b1.out" 2>&1 &&
    grep -q "^8  *[0-9.]*% " "$T/b1.out" && ! grep -q "ahead" "$T/b1.out" && ok ||
    ko "search-bench with one strategy: $(cat "$T/b1.out")"
# predict is the default strategy; its proxy's image count is checked
"$VITSKIP" search $base --db "$T/d.db" --budget 8 > /dev/null 2>&1 || ko "default search failed"
[ "$(sqlite3 "$T/d.db" 'select strategy from runs where id = 1')" = predict ] && ok ||
    ko "the default strategy is not predict"
"$VITSKIP" search $base --db "$T/d.db" --budget 8 --proxy-images 5 > /dev/null 2>&1 &&
    ok || ko "--proxy-images 5 refused"
for bad in 0 -1 abc 1e3 2.0 100001 ""; do
    "$VITSKIP" search $base --db "$T/x.db" --proxy-images "$bad" > /dev/null 2> "$T/e8"
    [ $? = 2 ] && grep -q -- "--proxy-images" "$T/e8" && ok || ko "--proxy-images '$bad': $(cat "$T/e8")"
done
"$VITSKIP" search $base --db "$T/x.db" --strategy nsga2 --proxy-images 8 > /dev/null 2> "$T/e9"
[ $? = 2 ] && grep -q "predict strategy's" "$T/e9" && ok || ko "--proxy-images with nsga2: $(cat "$T/e9")"
# the proxy's images are stored with the run: a resume screens on them (it
# proposes what an uninterrupted run with those images proposes, which
# differs from the default's here) and refuses another count, leaving the
# run as it was
genomes() { sqlite3 "$1" "select p.genome from run_paths r join paths p on p.id = r.path_id where r.run_id = 1 order by r.seq"; }
"$VITSKIP" search $base --db "$T/q1.db" --budget 10 --seed 7 --proxy-images 5 > /dev/null 2>&1 ||
    ko "predict with --proxy-images 5 failed"
[ "$(sqlite3 "$T/q1.db" 'select proxy_n from runs where id = 1')" = 5 ] && ok || ko "proxy images not stored"
"$VITSKIP" search --db "$T/q1.db" --resume 1 --budget 20 -q > /dev/null 2>&1 || ko "resume of the 5-image run failed"
"$VITSKIP" search $base --db "$T/q2.db" --budget 20 --seed 7 --proxy-images 5 > /dev/null 2>&1 ||
    ko "uninterrupted 5-image run failed"
"$VITSKIP" search $base --db "$T/q3.db" --budget 20 --seed 7 > /dev/null 2>&1 || ko "default-proxy run failed"
a=$(genomes "$T/q1.db"); b=$(genomes "$T/q2.db"); c=$(genomes "$T/q3.db")
[ "$(echo "$a" | wc -l)" = 20 ] && [ "$a" = "$b" ] && ok ||
    ko "the resumed run's proposals differ from an uninterrupted run with --proxy-images 5"
[ "$b" != "$c" ] && ok || ko "5 proxy images propose as the default does: the resume check cannot fail"
"$VITSKIP" show --db "$T/q1.db" 1 | grep -q "predict (population 6, 1 offspring per generation, accuracy proxy on 5 validation images)" &&
    ok || ko "show: $("$VITSKIP" show --db "$T/q1.db" 1 | sed -n 2p)"
[ "$("$VITSKIP" show --db "$T/q1.db" --json 1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["run"]["proxy_images"])')" = 5 ] &&
    ok || ko "show --json: proxy_images"
[ "$("$VITSKIP" show --db "$T/r.db" --json 1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["run"]["proxy_images"])')" = None ] &&
    ok || ko "show --json: proxy_images of a random run"
before=$(sqlite3 "$T/q1.db" 'select status, budget from runs; select count(*) from run_paths')
"$VITSKIP" search --db "$T/q1.db" --resume 1 --budget 24 --proxy-images 7 > /dev/null 2> "$T/e10"
[ $? = 1 ] && grep -q -- "--resume 1: the run screens with the accuracy proxy on 5 images, not 7 (--proxy-images)" "$T/e10" &&
    ok || ko "--resume with another --proxy-images: $(cat "$T/e10")"
[ "$(sqlite3 "$T/q1.db" 'select status, budget from runs; select count(*) from run_paths')" = "$before" ] &&
    ok || ko "a refused resume changed the run"
"$VITSKIP" search --db "$T/q1.db" --resume 1 --proxy-images 5 -q > /dev/null 2>&1 && ok ||
    ko "--resume with the run's own --proxy-images refused"
"$VITSKIP" search --db "$T/r.db" --resume 1 --proxy-images 5 > /dev/null 2> "$T/e11"
[ $? = 1 ] && grep -q "predict strategy's; the run's is random" "$T/e11" && ok ||
    ko "--proxy-images resuming a random run: $(cat "$T/e11")"
# a predict run stored by the previous schema (7, no proxy_n) used the
# default: migrated, it resumes as the default-proxy run
"$VITSKIP" search $base --db "$T/q4.db" --budget 10 --seed 7 > /dev/null 2>&1 || ko "default predict run failed"
sqlite3 "$T/q4.db" 'ALTER TABLE runs DROP COLUMN proxy_n; PRAGMA user_version = 7' || ko "downgrade to schema 7 failed"
"$VITSKIP" search --db "$T/q4.db" --resume 1 --budget 20 -q > /dev/null 2>&1 || ko "resume of a schema-7 run failed"
[ "$(sqlite3 "$T/q4.db" 'PRAGMA user_version; select proxy_n from runs')" = "8
12" ] && ok || ko "schema-7 run migrated to $(sqlite3 "$T/q4.db" 'PRAGMA user_version; select proxy_n from runs')"
[ "$(genomes "$T/q4.db")" = "$c" ] && ok || ko "the migrated run's resume differs from the default-proxy run"
"$VITSKIP" sweep $base --db "$T/x.db" --strategy random > /dev/null 2> "$T/e5"
[ $? = 2 ] && ok || ko "sweep with a strategy accepted"

summary search_bench
