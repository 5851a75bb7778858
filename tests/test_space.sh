#!/bin/sh
# test_space: per-encoder modes through the CLI. Malformed --space and
# --genome are usage errors naming the option and the fault; a search over
# a mixed space stores its space with the run, proposes only valid paths of
# it, resumes in it, and exports the modes; a sweep refuses a space too big.
. tests/vk_test.sh
M=models/demo
# expect EXIT PATTERN CMD...: exit status and a line of stderr
expect() {
    want=$1 pat=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
    [ $rc = "$want" ] && grep -q -- "$pat" "$T/err" && ok ||
        ko "$* -> exit $rc, wanted $want and '$pat': $(head -c 300 "$T/err")"
}
S="$VITSKIP search --model $M --data $DATA --limit 24 --board sim --db $T/s.db -q"
expect 2 "--space: space 'FX'" $S --space FX
expect 2 "needs F or H" $S --space SR
expect 2 "keep percents 1..100" $S --space F:k0
expect 2 "unexpected ':q'" $S --space FS:q
expect 2 "encoder 1: reuses attention" $VITSKIP eval --model $M --data $DATA --genome RFFFFFFF
expect 2 "encoder 3: prunes tokens" $VITSKIP eval --model $M --data $DATA --genome FFS:k50FFFFF
expect 2 "text left after 8 encoders" $VITSKIP eval --model $M --data $DATA --genome FFFFFFFFF
expect 2 "no leading zero" $VITSKIP eval --model $M --data $DATA --genome F:k05FFFFFFF
expect 2 "each name the path" $VITSKIP eval --model $M --data $DATA --genome FFFFFFFF --skip 1
expect 2 "is not in the space FS" $S --space FS --seed-genome FHFFFFFF
expect 1 "a sweep measures at most" $VITSKIP sweep --model $M --data $DATA --limit 24 \
    --board cpu --db "$T/w.db" --space all -q

# eval of a mixed path: the canonical genome printed back
$VITSKIP eval --model $M --data $DATA --limit 24 --board sim --genome FH:k70FRS:f50FFF \
    --float >"$T/ev" 2>&1 && grep -q "^path      FH:k70FRS:f50FFF " "$T/ev" &&
    grep -q "^top-1 .*(float32 reference, host)" "$T/ev" && ok ||
    ko "eval --genome: $(cat "$T/ev")"

# a search over FSRH with keep 100/70 and ffn 0/50, then its resume
SP=FSRH:k100,70:f0,50
$S --space $SP --budget 12 --seed 3 --seed-genome FH:k70FRS:f50FFF >"$T/run" 2>&1 ||
    ko "search --space: $(tail -3 "$T/run")"
q() { python3 -c "import sqlite3,sys; print(sqlite3.connect('$T/s.db').execute(sys.argv[1]).fetchone()[0])" "$1"; }
[ "$(q 'select space from runs where id = 1')" = "$SP" ] && ok || ko "stored space"
[ "$(q 'select count(*) from run_paths where run_id = 1')" = 12 ] && ok || ko "12 paths"
[ "$(q "select count(*) from paths where genome = 'FH:k70FRS:f50FFF'")" = 1 ] && ok ||
    ko "the seed genome measured"
# every stored genome parses under the space's rules: eval accepts it
for g in $(python3 -c "import sqlite3; [print(r[0]) for r in sqlite3.connect('$T/s.db').execute('select genome from paths')]"); do
    case $g in *:k[1-9]*) case $g in *:k70*) ;; *) ko "keep outside the space: $g" ;; esac ;; esac
    $VITSKIP eval --model $M --data $DATA --limit 2 --board sim --genome "$g" >/dev/null 2>"$T/e1" ||
        ko "stored genome $g refused: $(cat "$T/e1")"
done
ok
$VITSKIP show --db "$T/s.db" --json 1 >"$T/j" && grep -q "\"space\":[[:space:]]*\"$SP\"" "$T/j" && ok ||
    ko "show --json space: $(head -c 300 "$T/j")"
expect 2 "continues the run's own space" $VITSKIP search --db "$T/s.db" --resume 1 \
    --board cpu --space FS
# resume with a larger budget: 6 more paths of the same space
python3 -c "import sqlite3; c=sqlite3.connect('$T/s.db'); c.execute('update runs set budget = 18'); c.commit()"
$VITSKIP search --db "$T/s.db" --resume 1 --board sim -q >"$T/run2" 2>&1 || ko "resume: $(tail -3 "$T/run2")"
[ "$(q 'select count(*) from run_paths where run_id = 1')" = 18 ] && ok || ko "18 paths after resume"
# export: the per-encoder comments and the genome text
p=$(q "select id from paths where genome = 'FH:k70FRS:f50FFF'")
$VITSKIP export --db "$T/s.db" --config "P$p" --format header -o "$T/t.h" &&
    grep -q "genome FH:k70FRS:f50FFF" "$T/t.h" &&
    grep -q "encoder 1: shared-head attention, keeps 70% of the tokens" "$T/t.h" &&
    grep -q "encoder 4: attention skipped, drops 50% of the FFN" "$T/t.h" && ok ||
    ko "export header: $(head -20 "$T/t.h")"
# one-at-a-time: the full path and each single-field variant, then the table
expect 2 "is a kind of sweep" $S --one-at-a-time
expect 2 "drop --seed-genome" $VITSKIP sweep --model $M --data $DATA --db "$T/o.db" \
    --one-at-a-time --seed-genome FFFFFFFF
$VITSKIP sweep --model $M --data $DATA --limit 24 --board sim --db "$T/o.db" -q \
    --space FSR:k100,70 --one-at-a-time >"$T/o" 2>&1 || ko "sweep --one-at-a-time: $(tail -3 "$T/o")"
qo() { python3 -c "import sqlite3,sys; print(sqlite3.connect('$T/o.db').execute(sys.argv[1]).fetchone()[0])" "$1"; }
# 8 encoders x (S, R, F:k70), less R at encoder 1, and the full path
[ "$(qo 'select count(*) from run_paths where run_id = 1')" = 24 ] && ok || ko "24 one-at-a-time paths"
[ "$(qo 'select strategy from runs where id = 1')" = one-at-a-time ] && ok || ko "strategy stored"
[ "$(qo "select count(*) from paths where genome = 'FFFF:k70FFFF'")" = 1 ] && ok || ko "a keep variant"
$VITSKIP sensitivity --db "$T/o.db" >"$T/sens" 2>&1 &&
    grep -q "^enc *S *R *F:k70$" "$T/sens" && grep -q "^1  .* - " "$T/sens" &&
    grep -q "^8 " "$T/sens" && grep -q "^mean " "$T/sens" && ok ||
    ko "sensitivity table: $(cat "$T/sens")"
$VITSKIP sensitivity --db "$T/o.db" --json 1 >"$T/sj" &&
    python3 -c "import json,sys; j=json.load(open('$T/sj')); sys.exit(len(j['variants']) != 23 or j['run'] != 1)" &&
    ok || ko "sensitivity --json: $(head -c 300 "$T/sj")"
expect 1 "not one-at-a-time" $VITSKIP sensitivity --db "$T/s.db" 1
expect 1 "no one-at-a-time run" $VITSKIP sensitivity --db "$T/s.db"
expect 2 "expected one run id" $VITSKIP sensitivity --db "$T/o.db" x
summary space
