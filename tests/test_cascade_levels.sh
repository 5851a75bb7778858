#!/bin/sh
# Cascades whose levels have their own weights, through the CLI: eval with
# repeated --level (a second checkpoint made here: models/demo with its
# classifier perturbed) and with a levels file, thresholds given or chosen on
# validation, 2 and 3 levels; replay composing stored paths; malformed
# levels, thresholds and levels files are usage errors (exit 2) or errors
# naming the file and field (exit 1) before anything is measured.
. tests/vk_test.sh
D=$(dirname "$DATA")
common="--data $DATA --limit 60"

# a second checkpoint: the demo's classifier bias perturbed (plain Python)
mkdir -p "$T/other"
cp models/demo/config.json models/demo/preprocessor_config.json "$T/other/"
python3 - models/demo/model.safetensors "$T/other/model.safetensors" <<'EOF' || die "no second checkpoint"
import json, struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
n = struct.unpack_from("<Q", b, 0)[0]
h = json.loads(b[8:8 + n])
t = h["classifier.bias"]
a, e = t["data_offsets"]
assert t["dtype"] == "F32"
for i, o in enumerate(range(8 + n + a, 8 + n + e, 4)):
    struct.pack_into("<f", b, o, struct.unpack_from("<f", b, o)[0] + 0.3 * ((i % 3) - 1))
open(sys.argv[2], "wb").write(b)
EOF

# two levels, different checkpoints, thresholds given
"$VITSKIP" eval --level "$T/other=FSFSFSFS" --level models/demo=FFFFFFFF $common \
    --threshold 0.5 > "$T/a.out" 2> "$T/a.err" && ok || ko "2 levels: $(tail -3 "$T/a.err")"
grep -q '^top-1 .*images per level 60 / [0-9]' "$T/a.out" && ok || ko "2 levels: $(cat "$T/a.out")"
grep -q 'level 1 (from scratch)' "$T/a.out" && ok || ko "different weights resumed: $(cat "$T/a.out")"
grep -q 'thresholds as given: 1->2 above 0.5000 nats' "$T/a.out" && ok || ko "threshold line"
grep -q 'latency .*\[modeled\]' "$T/a.out" && ok || ko "no modeled label"

# the same as a levels file (relative model folders from the file's folder)
cat > "$T/lv.json" <<EOF
{"format": "vitskip-cascade", "version": 1,
 "levels": [{"model": "other", "genome": "FSFSFSFS"},
            {"model": "$PWD/models/demo", "genome": "FFFFFFFF"}],
 "thresholds_nats": [0.5]}
EOF
"$VITSKIP" eval --cascade "$T/lv.json" $common > "$T/b.out" 2> "$T/b.err" &&
    [ "$(grep '^top-1' "$T/a.out")" = "$(grep '^top-1' "$T/b.out")" ] &&
    [ "$(grep '^latency' "$T/a.out")" = "$(grep '^latency' "$T/b.out")" ] && ok ||
    ko "levels file differs from --level: $(cat "$T/b.out" "$T/b.err" | tail -5)"

# three levels, thresholds chosen on validation; levels 2 and 3 share weights
"$VITSKIP" eval --level "$T/other=SSFSFSFS" --level models/demo=FSFSFSFS \
    --level models/demo=FSFFFFFF $common --val-limit 100 --objective latency \
    > "$T/c.out" 2> "$T/c.err" && ok || ko "3 levels: $(tail -3 "$T/c.err")"
grep -q '^validation 100 images of .*train-images' "$T/c.out" && ok || ko "validation: $(cat "$T/c.out")"
grep -q '^thresholds 1->2 .* 2->3 .*: the least latency' "$T/c.out" && ok ||
    ko "no chosen thresholds: $(cat "$T/c.out")"
grep -q 'images per level 60 / ' "$T/c.out" && ok || ko "3 levels routed: $(cat "$T/c.out")"
# the default validation images are the checkpoint's hold-out, as a
# search takes them (models/demo's heldout.json; the other level has none):
# the same choice as with the hold-out's own file given by --val
python3 tools/finetune/holdout_idx.py --model models/demo --data "$D" --out "$T/ho" > /dev/null ||
    ko "holdout_idx.py failed"
"$VITSKIP" eval --level "$T/other=SSFSFSFS" --level models/demo=FSFSFSFS \
    --level models/demo=FSFFFFFF $common --val-limit 100 --objective latency \
    --val "$T/ho/holdout-images-idx3-ubyte.gz" > "$T/c2.out" 2> "$T/c2.err" || ko "3 levels --val"
[ "$(grep -E '^(thresholds|  *validation top-1|top-1)' "$T/c.out")" = \
  "$(grep -E '^(thresholds|  *validation top-1|top-1)' "$T/c2.out")" ] &&
    grep -q '^thresholds' "$T/c.out" && ok ||
    ko "the default validation images are not the hold-out: $(cat "$T/c.out" "$T/c2.out")"
# levels whose heldout.json name other hold-outs: refused unless --val
mkdir -p "$T/other2"
cp "$T/other/"* "$T/other2/"
echo '{"split": "train", "first": 50000, "count": 5000}' > "$T/other2/heldout.json"
"$VITSKIP" eval --level "$T/other2=SSFSFSFS" --level models/demo=FFFFFFFF $common \
    --val-limit 100 > "$T/h.out" 2>&1
[ $? = 1 ] && grep -q "heldout.json name other hold-outs" "$T/h.out" && ok ||
    ko "different hold-outs: $(tail -2 "$T/h.out")"

# the cpu board has no energy figures: edp (the default) would make every
# threshold's cost 0, so the thresholds minimize latency, and it says so
"$VITSKIP" eval --level "$T/other=SSFSFSFS" --level models/demo=FFFFFFFF $common \
    --val-limit 100 --board cpu > "$T/d.out" 2> "$T/d.err" &&
    grep -q '^board cpu gives no energy figures: the thresholds minimize latency, not edp' \
        "$T/d.out" && grep -q '^thresholds 1->2 .*: the least latency' "$T/d.out" && ok ||
    ko "cpu board, objective edp: $(cat "$T/d.out" "$T/d.err" | tail -5)"

# replay: stored paths of a search as levels (each on its run's checkpoint)
"$VITSKIP" search --model models/demo --data "$DATA" --limit 40 --budget 3 --db "$T/r.db" -q \
    > "$T/s.out" 2>&1 || die "search failed: $(tail -3 "$T/s.out")"
p1=$(grep -E '^P[0-9]+ ' "$T/s.out" | tail -1 | awk '{print $1}')
p2=$(grep -E '^P[0-9]+ ' "$T/s.out" | head -1 | awk '{print $1}')
"$VITSKIP" replay --db "$T/r.db" --level "$p1" --level "$p2" --threshold 0.7 > "$T/d.out" \
    2> "$T/d.err" && grep -q 'routed on the board' "$T/d.out" && ok ||
    ko "replay --level: $(tail -3 "$T/d.err")"
n=$(sqlite3 "$T/r.db" "select count(*) from replays where config = '$p1>$p2'" 2>/dev/null ||
    python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select count(*) from replays where config = '$p1>$p2'\").fetchone()[0])" "$T/r.db")
[ "$n" = 1 ] && ok || ko "the replay was not stored ($n)"

# bad input: usage errors (2) and file errors (1), each naming what is wrong
L2="--level models/demo=FSFSFSFS --level models/demo=FFFFFFFF"
bad "no =" 2 "expected MODEL=GENOME" eval --level models/demo $common
bad "empty genome" 2 "expected MODEL=GENOME" eval --level models/demo= $common
bad "bad genome" 2 "is not a genome" eval --level models/demo=FXF $common
bad "one level" 2 "2 or 3 levels" eval --level models/demo=FSFSFSFS $common
bad "four levels" 2 "at most 3" eval $L2 $L2 $common
bad "threshold text" 2 "--threshold 'x'" eval $L2 $common --threshold x
bad "negative threshold" 2 "--threshold '-1'" eval $L2 $common --threshold -1
bad "threshold count" 2 "escalates 1 times" eval $L2 $common --threshold 0.5,0.5
bad "level and model" 2 "a cascade's levels name their own" eval $L2 --model models/demo $common
bad "level and cascade" 2 "give one" eval $L2 --cascade "$T/lv.json" $common
bad "cascade option alone" 2 "are for a cascade" eval --model models/demo --threshold 1 $common
bad "bad objective" 2 "--objective" eval $L2 --objective speed $common
bad "no data" 2 "--data is required" eval $L2
bad "genome length" 1 "level 2 (models/demo)" eval --level models/demo=FSFSFSFS \
    --level models/demo=FFF $common
bad "missing model" 1 "level 1" eval --level "$T/none=FSFSFSFS" --level models/demo=FFFFFFFF \
    $common
# validation from the test file itself: disjoint from a small test split (its
# first half), refused when the test split would need that half too
bad "val is the test data" 1 "would change the test split" eval $L2 --data "$DATA" --limit 9000 \
    --val "$DATA"
bad "missing file" 1 "the levels file: cannot open it" eval --cascade "$T/none.json" $common
printf '{"format": "vitskip-cascade", "version": 1, "levels": [' > "$T/l1.json"
bad "truncated file" 1 "not a JSON object" eval --cascade "$T/l1.json" $common
sed 's/vitskip-cascade/other/' "$T/lv.json" > "$T/l2.json"
bad "wrong format" 1 '"format" must be' eval --cascade "$T/l2.json" $common
sed 's/"version": 1/"version": 2/' "$T/lv.json" > "$T/l3.json"
bad "wrong version" 1 '"version" must be 1' eval --cascade "$T/l3.json" $common
sed 's/"thresholds_nats"/"threshold"/' "$T/lv.json" > "$T/l4.json"
bad "unknown key" 1 'unknown key "threshold"' eval --cascade "$T/l4.json" $common
sed 's/"genome": "FSFSFSFS"/"genome": "FSFSFSFS", "weights": 1/' "$T/lv.json" > "$T/l5.json"
bad "unknown level key" 1 'levels\[0\]: unknown key "weights"' eval --cascade "$T/l5.json" $common
sed 's/\[0.5\]/[0.5, 1]/' "$T/lv.json" > "$T/l6.json"
bad "thresholds count" 1 '"thresholds_nats" must be an array of 1' eval --cascade "$T/l6.json" $common
sed 's/\[0.5\]/[-0.5]/' "$T/lv.json" > "$T/l7.json"
bad "negative threshold in file" 1 'thresholds_nats\[0\]' eval --cascade "$T/l7.json" $common
sed 's/"genome": "FSFSFSFS"/"genome": 7/' "$T/lv.json" > "$T/l8.json"
bad "genome not a string" 1 'levels\[0\]: expected' eval --cascade "$T/l8.json" $common
echo '{"format": "vitskip-cascade", "version": 1, "levels": [{"model": "a", "genome": "F"}]}' \
    > "$T/l9.json"
bad "one level in file" 1 "2 or 3" eval --cascade "$T/l9.json" $common
bad "replay level id" 2 "expected P<path id>" replay --db "$T/r.db" --level C1 --level P1
bad "replay unknown path" 1 "--level P999" replay --db "$T/r.db" --level P999 --level "$p1"
bad "replay one level" 2 "2 or 3 --level" replay --db "$T/r.db" --level "$p1"
bad "replay level and config" 2 "--config, --model and --blob" replay --db "$T/r.db" --level "$p1" \
    --level "$p2" --config "$p1"
bad "replay cascade option alone" 2 "for a cascade" replay --db "$T/r.db" --config "$p1" \
    --threshold 1

summary cascade_levels
