#!/bin/sh
# Splits through the CLI (issue 11): a search selects on the validation
# split (for the bundled demo model: its hold-out, images 55000..59999 of
# the training file, the same images tools/finetune/holdout_idx.py writes)
# and reports its front on the test split; both figures are stored and
# shown, labelled, by search, show, show --json and export; a resume uses
# the same images; an explicit --val is taken as given; a run stored before
# the splits is refused by --resume.
. tests/vk_test.sh
args="--model models/demo --data $DATA --limit 300 --val-limit 200 --budget 8 --seed 5 -q"
"$VITSKIP" search $args --db "$T/a.db" > "$T/a.out" 2>&1 || die "search failed: $(tail -3 "$T/a.out")"
q() { python3 -c "import sqlite3; c = sqlite3.connect('$1'); print(*c.execute(\"$2\").fetchone())"; }

# the run's splits: 200 validation images, 300 test images, different sets
[ "$(q "$T/a.db" 'select n_images, n_test, data_hash != test_hash from runs')" = "200 300 1" ] &&
    ok || ko "run splits: $(q "$T/a.db" 'select n_images, n_test, data_hash, test_hash from runs')"
[ "$(q "$T/a.db" 'select count(distinct n_images) || n_images from paths')" = "1200" ] && ok ||
    ko "paths measured on other than the 200 validation images"

# the front: a validation and a test figure each, the test one stored
grep -q 'full model top-1 [0-9.]*% on validation (200 images, selected on), [0-9.]*% on test (300 images' \
    "$T/a.out" && ok || ko "summary line: $(grep '^run' "$T/a.out")"
grep -q '^config  *val top1 *test top1' "$T/a.out" && ok || ko "front header: $(cat "$T/a.out")"
nf=$(grep -cE '^P[0-9]+ +[0-9.]+% +[0-9.]+% ' "$T/a.out")
[ "$nf" -ge 1 ] && ok || ko "no front row with both figures"
# the front, the full path (P1) and the cascades' paths are measured on
# test, and only they
nt=$(q "$T/a.db" 'select count(*) from path_tests where n_images = 300')
want=$( (grep -E '^P[0-9]+ ' "$T/a.out" | awk '{print substr($1, 2)}'; echo 1
         python3 -c "import sqlite3; c = sqlite3.connect('$T/a.db')
for l, h in c.execute('select low, high from cascades'): print(l); print(h)") | sort -u | wc -l)
[ "$nt" -eq "$want" ] && ok || ko "$nt test figures for $want front, full and cascade paths"
[ "$(q "$T/a.db" 'select count(*) from path_tests where path_id = 1')" = 1 ] && ok ||
    ko "the full path has no test figure"
# each front row's test figure is the stored one
grep -E '^P[0-9]+ ' "$T/a.out" | while read -r id v t rest; do
    s=$(q "$T/a.db" "select printf('%.2f%%', top1) from path_tests where path_id = ${id#P}")
    [ "$s" = "$t" ] || echo "$id: shown $t, stored $s"
done > "$T/diff"
[ ! -s "$T/diff" ] && ok || ko "front test figures: $(cat "$T/diff")"

# show: labelled columns, the front's test figures, "-" elsewhere
"$VITSKIP" show --db "$T/a.db" > "$T/show" || ko "show failed"
grep -q 'selected on 200 validation images .*300 test images never selected on' "$T/show" && ok ||
    ko "show: no split line: $(head -5 "$T/show")"
p1=$(grep -E '^P[0-9]+ ' "$T/a.out" | head -1 | awk '{print $1}')
t1=$(grep -E '^P[0-9]+ ' "$T/a.out" | head -1 | awk '{print $3}')
grep -E "^$p1 " "$T/show" | awk '{print $3}' | grep -qx "$t1" && ok || ko "show: $p1's test top-1"
[ "$(grep -cE '^P[0-9]+ +[0-9.]+% +- ' "$T/show")" -eq $((8 - nt)) ] && ok ||
    ko "show: paths off the front without a test figure: $(cat "$T/show")"
"$VITSKIP" show --db "$T/a.db" --json > "$T/show.json" || ko "show --json failed"
python3 - "$T/show.json" "$nt" <<'EOF' && ok || ko "show --json"
import json, sys
d = json.load(open(sys.argv[1]))
r = d["run"]
assert r["n_val"] == 200 and r["n_test"] == 300 and r["top1_on"] == "validation", r
assert len(r["test_hash"]) == 64
tested = [p for p in d["paths"] if p["top1_test"] is not None]
assert len(tested) == int(sys.argv[2]), tested
assert all(0 <= p["top1_test"] <= 100 for p in tested)
EOF

# export: the comment carries both figures
"$VITSKIP" export --db "$T/a.db" --config "$p1" --format header > "$T/h" || ko "export failed"
grep -q "validation top-1 [0-9.]*% (200 images), test top-1 $t1 (300 images)" "$T/h" && ok ||
    ko "export comment: $(grep -i top-1 "$T/h")"

# the validation images are the demo's hold-out: --val with the hold-out's
# own IDX file (tools/finetune/holdout_idx.py) gives the same sample
python3 tools/finetune/holdout_idx.py --model models/demo --data "$(dirname "$DATA")" \
    --out "$T/ho" > /dev/null || ko "holdout_idx.py failed"
"$VITSKIP" search $args --val "$T/ho/holdout-images-idx3-ubyte.gz" --db "$T/b.db" > "$T/b.out" 2>&1 ||
    ko "search --val failed: $(tail -3 "$T/b.out")"
[ "$(q "$T/a.db" 'select data_hash, test_hash from runs')" = "$(q "$T/b.db" 'select data_hash, test_hash from runs')" ] &&
    ok || ko "the default validation split is not the hold-out"
# ... and not a sample of the whole training file
"$VITSKIP" search $args --val "$(dirname "$DATA")/train-images-idx3-ubyte.gz" --db "$T/c.db" \
    > "$T/c.out" 2>&1 || ko "search --val train failed: $(tail -3 "$T/c.out")"
[ "$(q "$T/a.db" 'select data_hash from runs')" != "$(q "$T/c.db" 'select data_hash from runs')" ] &&
    ok || ko "--val of the whole training file gave the hold-out's sample"

# a resumed run measures on the same images: nothing new to measure
"$VITSKIP" search --db "$T/a.db" --resume 1 -q > "$T/r.out" 2>&1 || ko "resume failed: $(tail -3 "$T/r.out")"
[ "$(grep -E '^P[0-9]+ ' "$T/r.out")" = "$(grep -E '^P[0-9]+ ' "$T/a.out")" ] && ok ||
    ko "resumed front differs"
[ "$(q "$T/a.db" 'select count(*) from paths')" = 8 ] && ok || ko "the resume measured again"
[ "$(q "$T/a.db" 'select count(*) from path_tests')" = "$nt" ] && ok || ko "the resume tested again"
"$VITSKIP" search --db "$T/a.db" --resume 1 --val-limit 50 > /dev/null 2>&1
[ $? -eq 2 ] && ok || ko "--resume with --val-limit is not a usage error"

# a run stored before the splits (test_hash ''): shown as such, not resumed
cp "$T/a.db" "$T/old.db"
python3 -c "import sqlite3; c = sqlite3.connect('$T/old.db'); c.execute(\"update runs set test_hash = '', n_test = 0\"); c.commit()"
"$VITSKIP" show --db "$T/old.db" | grep -q 'selected and reported on the same 200 images' && ok ||
    ko "show of a run before the splits"
"$VITSKIP" search --db "$T/old.db" --resume 1 -q > "$T/o.out" 2>&1
[ $? -eq 1 ] && grep -q 'stored before validation and test splits' "$T/o.out" && ok ||
    ko "resume of a run before the splits: $(cat "$T/o.out")"
# cascades: thresholds chosen on validation, top-1 and escalated share on
# test computed from the two paths' stored per-image test results. A test
# set of one class (200 shirts of the t10k file, given by --test) makes the
# hand computation independent of the sample's order: every label is 6.
python3 - "$DATA" "$T/shirts" <<'EOF' || die "cannot write the shirts test set"
import gzip, struct, sys
src, out = sys.argv[1], sys.argv[2]
img = gzip.open(src).read()
lab = gzip.open(src.replace("images-idx3", "labels-idx1")).read()
n, h, w = struct.unpack(">3I", img[4:16])
keep = [i for i in range(n) if lab[8 + i] == 6][:200]
open(out + "-images-idx3-ubyte", "wb").write(struct.pack(">4I", 0x803, len(keep), h, w) +
    b"".join(img[16 + i * h * w:16 + (i + 1) * h * w] for i in keep))
open(out + "-labels-idx1-ubyte", "wb").write(struct.pack(">2I", 0x801, len(keep)) + bytes([6] * len(keep)))
EOF
targs="--model models/demo --data $DATA --test $T/shirts-images-idx3-ubyte --val-limit 200 --budget 8 --seed 5 -q"
"$VITSKIP" search $targs --db "$T/t.db" > "$T/t.out" 2>&1 || die "search --test failed: $(tail -3 "$T/t.out")"
[ "$(q "$T/t.db" 'select n_images, n_test, test from runs')" = "200 200 $T/shirts-images-idx3-ubyte" ] &&
    ok || ko "--test run: $(q "$T/t.db" 'select n_images, n_test, test from runs')"
[ "$(q "$T/a.db" 'select data_hash from runs')" = "$(q "$T/t.db" 'select data_hash from runs')" ] &&
    ok || ko "--test changed the validation images"
python3 - "$T/t.db" "$T/t.out" <<'EOF' && ok || ko "cascade test figures"
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
th = c.execute("select test_hash from runs").fetchone()[0]
def res(p):
    n, b = c.execute("select n_images, results from path_tests where path_id = ? and test_hash = ?",
                     (p, th)).fetchone()
    return [(int.from_bytes(b[6 * i:6 * i + 2], "little", signed=True),
             int.from_bytes(b[6 * i + 2:6 * i + 6], "little", signed=True)) for i in range(n)]
rows = c.execute("select id, low, high, threshold_q16, top1_test, escalated_test from cascades").fetchall()
assert rows, "no cascades"
shown = {l.split()[0]: l.split() for l in open(sys.argv[2]) if l.startswith("C")}
for cid, lo, hi, thr, t1, esc in rows:
    rl, rh = res(lo), res(hi)
    up = [e > thr for _, e in rl]
    right = sum((rh[i][0] if u else rl[i][0]) == 6 for i, u in enumerate(up))
    assert t1 == 100.0 * right / len(rl) and esc == sum(up) / len(rl), (cid, t1, esc, right, sum(up))
    if "C%d" % cid in shown:
        r = shown["C%d" % cid]
        assert r[5] == "%.2f%%" % t1 and r[7] == "%.1f%%" % (100 * esc), r
EOF
grep -q '^config .*val top1 *test top1 *val esc *test esc' "$T/t.out" && ok ||
    ko "search: cascade header: $(grep '^config' "$T/t.out")"
c1=$(q "$T/t.db" "select id, printf('%.2f%%', top1_test) from cascades order by latency_ms limit 1")
"$VITSKIP" show --db "$T/t.db" | grep -E "^C${c1% *} " | awk '{print $6}' | grep -qx "${c1#* }" &&
    ok || ko "show: C${c1% *}'s test top-1 is not ${c1#* }"
"$VITSKIP" show --db "$T/t.db" --json | python3 -c "
import json, sys
cs = json.load(sys.stdin)['cascades']
assert cs and all(0 <= x['top1_test'] <= 100 and 0 <= x['escalated_test'] <= 1 for x in cs)" &&
    ok || ko "show --json: cascades' test figures"
"$VITSKIP" export --db "$T/t.db" --config "C${c1% *}" --format json > "$T/c.json" || ko "export C${c1% *}"
python3 -c "
import json, sys
d = json.load(open('$T/c.json'))
assert '%.2f' % d['top1'] == '${c1#* }'.rstrip('%'), d['top1']
assert 'test top-1 ${c1#* }' in d['comment'], d['comment']" && ok || ko "export: the cascade's test figure"
# a resume keeps the --test images: nothing measured again
n0=$(q "$T/t.db" 'select count(*) from path_tests')
"$VITSKIP" search --db "$T/t.db" --resume 1 -q > /dev/null 2>&1 || ko "resume of a --test run"
[ "$(q "$T/t.db" 'select count(*) from path_tests')" = "$n0" ] && ok ||
    ko "the resume measured on other test images"
# test images that hold the validation hold-out are refused: the training
# file it is taken from, by its own name or another
ln -s "$(dirname "$DATA")/train-images-idx3-ubyte.gz" "$T/other-images-idx3-ubyte.gz"
ln -s "$(dirname "$DATA")/train-labels-idx1-ubyte.gz" "$T/other-labels-idx1-ubyte.gz"
for t in "$(dirname "$DATA")/train-images-idx3-ubyte.gz" "$T/other-images-idx3-ubyte.gz"; do
    "$VITSKIP" search --model models/demo --data "$DATA" --test "$t" --budget 2 -q \
        --db "$T/x.db" > "$T/x.out" 2>&1
    [ $? -eq 1 ] && grep -q "test images $t: the file the validation images" "$T/x.out" && ok ||
        ko "--test $t: $(cat "$T/x.out")"
done
summary "splits ($nf front paths, $nt test figures)"
