#!/bin/sh
# A stored path or cascade measured on any data (issue 11): a search's
# cascade, exported as a skip table, measured by `eval --table`, by
# `eval --config LOW,HIGH,T` and by `replay --config C --data --limit` on the
# run's own test images gives exactly the test figure the search computed
# from the two paths' per-image results (top-1 and escalated images); a
# path likewise. Malformed tables are refused naming the file and the field,
# malformed --config and option mixes are usage errors, before anything is
# measured.
. tests/vk_test.sh
q() { python3 -c "import sqlite3; c = sqlite3.connect('$1'); print(*c.execute(\"$2\").fetchone())"; }
"$VITSKIP" search --model models/demo --data "$DATA" --limit 300 --val-limit 200 --budget 8 \
    --seed 5 -q --db "$T/a.db" > "$T/s.out" 2>&1 || die "search failed: $(tail -3 "$T/s.out")"
# the cascade that escalates most on test, with its figures
set -- $(q "$T/a.db" "select id, printf('%.2f%%', top1_test), cast(round(escalated_test * 300) as int) from cascades order by escalated_test desc limit 1")
[ $# -eq 3 ] || die "no cascade with a test figure"
cid=$1 ct=$2 cesc=$3
"$VITSKIP" export --db "$T/a.db" --config "C$cid" --format json > "$T/c.json" || die "export C$cid"
m="--model models/demo --data $DATA --limit 300"

"$VITSKIP" eval $m --table "$T/c.json" > "$T/e.out" 2> "$T/e.err" || ko "eval --table: $(tail -2 "$T/e.err")"
grep -q "^top-1 *$ct (int8 kernel, the cascade routed on the board)" "$T/e.out" && ok ||
    ko "eval --table: top-1 $(grep '^top-1' "$T/e.out"), stored test figure $ct"
grep -q "; $cesc of 300 images escalated" "$T/e.out" && ok ||
    ko "eval --table: $(grep '^cascade' "$T/e.out"), stored $cesc escalated"

spec=$(python3 -c "import json; d = json.load(open('$T/c.json')); print('%s,%s,%r' % (d['genome'], d['high_genome'], d['threshold_nats']))")
"$VITSKIP" eval $m --config "$spec" > "$T/f.out" 2>&1 || ko "eval --config $spec: $(tail -2 "$T/f.out")"
[ "$(grep -E '^(top-1|cascade)' "$T/f.out")" = "$(grep -E '^(top-1|cascade)' "$T/e.out")" ] && ok ||
    ko "eval --config differs from --table: $(grep -E '^(top-1|cascade)' "$T/f.out")"

"$VITSKIP" replay --db "$T/a.db" --config "C$cid" --data "$DATA" --limit 300 > "$T/r.out" 2>&1 ||
    ko "replay --data: $(tail -2 "$T/r.out")"
grep -q "^replay: *top-1 *$ct " "$T/r.out" && grep -q "$cesc of 300 images escalated" "$T/r.out" &&
    grep -q '(--data; not stored)' "$T/r.out" && ok || ko "replay --data: $(cat "$T/r.out")"
[ "$(q "$T/a.db" 'select count(*) from replays')" = 0 ] && ok || ko "a --data replay was stored"

# a path of the front: eval --config GENOME and --table give its stored test top-1
set -- $(q "$T/a.db" "select p.id, p.genome, printf('%.2f%%', t.top1) from paths p join path_tests t on t.path_id = p.id order by p.id desc limit 1")
"$VITSKIP" eval $m --config "$2" 2>/dev/null | grep -q "^top-1 *$3 (int8 kernel)" && ok ||
    ko "eval --config $2: not the stored test top-1 $3"
"$VITSKIP" export --db "$T/a.db" --config "P$1" --format json > "$T/p.json" || ko "export P$1"
"$VITSKIP" eval $m --table "$T/p.json" 2>/dev/null | grep -q "^top-1 *$3 (int8 kernel)" && ok ||
    ko "eval --table P$1: not the stored test top-1 $3"
# replay --data of a path on a 100-image sample of the test file: it runs, labelled
"$VITSKIP" replay --db "$T/a.db" --config "P$1" --data "$DATA" --limit 100 2>/dev/null |
    grep -q "^path P$1, 100 images of $DATA (--data; not stored)" && ok || ko "replay --data of P$1"

# malformed tables: exit 1, the file and the field named
edit() { # edit OUT PYTHON-STATEMENT-ON-d
    python3 -c "import json; d = json.load(open('$T/c.json')); $2; open('$T/$1', 'w').write(json.dumps(d))"
}
bad "missing table" 1 "--table $T/none.json: cannot open it" eval $m --table "$T/none.json"
printf '{"format": "vitskip-skip-table", ' > "$T/t1.json"
bad "truncated table" 1 "$T/t1.json: not a JSON object" eval $m --table "$T/t1.json"
edit t2.json "d['format'] = 'other'"
bad "wrong format" 1 "$T/t2.json: \"format\" must be" eval $m --table "$T/t2.json"
edit t3.json "d['version'] = 2"
bad "wrong version" 1 "$T/t3.json: \"version\"" eval $m --table "$T/t3.json"
edit t4.json "d['modes'] = d['modes'][:4]"
bad "short modes" 1 "$T/t4.json: \"modes\"" eval $m --table "$T/t4.json"
edit t5.json "d['high_modes'][0] = 'F'"
bad "mode not a number" 1 "$T/t5.json: \"high_modes\"" eval $m --table "$T/t5.json"
edit t6.json "del d['threshold_q16']"
bad "no threshold" 1 "$T/t6.json: \"threshold_q16\"" eval $m --table "$T/t6.json"
edit t7.json "d['kind'] = 'levels'"
bad "unknown kind" 1 "$T/t7.json: \"kind\"" eval $m --table "$T/t7.json"
edit t8.json "d['model_hash'] = '0' * 64"
bad "other blob" 1 "$T/t8.json: \"model_hash\" 0000000000000000 is not the blob" eval $m --table "$T/t8.json"
edit t9.json "d['n_layers'] = 4; d['modes'] = d['modes'][:4]; d['high_modes'] = d['high_modes'][:4]; d['resume'] = 0"
bad "other depth" 1 "$T/t9.json: \"n_layers\" is 4, models/demo has 8" eval $m --table "$T/t9.json"
edit t10.json "d['high_modes'] = [25601] * 8; d['modes'] = [25600] * 8; d['resume'] = 8"
bad "resume past the shared encoders" 1 "$T/t10.json: \"resume\" 8" eval $m --table "$T/t10.json"
edit t11.json "d['top1'] = 'high'"
bad "figure not a number" 1 "$T/t11.json: \"top1\"" eval $m --table "$T/t11.json"

# usage errors (2)
bad "config two parts" 2 "expected GENOME or LOW,HIGH,T" eval $m --config FFFFFFFF,SSSSSSSS
bad "config genome" 2 "--config 'FFF'" eval $m --config FFF
bad "config threshold" 2 "the threshold 'x'" eval $m --config FSFSFSFS,FFFFFFFF,x
bad "config negative threshold" 2 "the threshold '-1'" eval $m --config FSFSFSFS,FFFFFFFF,-1
bad "config and table" 2 "give one" eval $m --config FFFFFFFF --table "$T/c.json"
bad "genome and config" 2 "give one" eval $m --genome FFFFFFFF --config FFFFFFFF
bad "replay limit alone" 2 "--limit samples --data" replay --db "$T/a.db" --config "C$cid" --limit 5
bad "replay limit text" 2 "--limit 'x'" replay --db "$T/a.db" --config "C$cid" --data "$DATA" --limit x
summary "eval_cli (C$cid: $ct on test, $cesc of 300 escalated)"
