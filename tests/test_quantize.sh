#!/bin/sh
# vitskip quantize (issue 11): the .vkq file is the blob eval and search
# measure (its SHA-256 is the blob hash eval prints, runs are stored under
# and the exported header's MODEL_SHA256 names), the same bytes calibrated
# afresh or read from the calibration cache; the header's
# CHECKPOINT_SHA256 is the checkpoint's weights file's, and is left out
# with a warning when the checkpoint now calibrates to another blob; the
# calibration progress line is on stderr only with --progress (or a
# terminal); bad input is a clear error and writes nothing.
. tests/vk_test.sh
VITSKIP_CACHE=$T/cache
export VITSKIP_CACHE
args="--model models/demo --data $DATA"

# first: calibrated (a miss), with the progress line asked for
"$VITSKIP" quantize $args --progress -o "$T/a.vkq" > "$T/a.out" 2> "$T/a.err" ||
    die "quantize failed: $(cat "$T/a.err")"
blob=$(sha256sum "$T/a.vkq" | cut -d' ' -f1)
grep -q "^sha256      $blob " "$T/a.out" && ok || ko "printed hash is not the file's: $(cat "$T/a.out")"
grep -q '^calibration computed and cached' "$T/a.out" && ok || ko "first run: $(cat "$T/a.out")"
ckpt=$(sha256sum models/demo/model.safetensors | cut -d' ' -f1)
grep -q "weights sha256 $ckpt" "$T/a.out" && ok || ko "checkpoint hash: $(cat "$T/a.out")"
[ "$(head -c 8 "$T/a.vkq")" = VKQM0002 ] && ok || ko "not a VKQM0002 file"
# the progress line: images done of 512, a rate and an ETA, then the time taken
grep -qE '^calibration: [0-9]+/512 images, [0-9.]+ images/s, eta [0-9]+s$' "$T/a.err" && ok ||
    ko "no progress line: $(cat "$T/a.err")"
grep -qE '^calibration: 512/512 images, [0-9.]+ images/s, took ' "$T/a.err" && ok ||
    ko "no final progress line: $(cat "$T/a.err")"

# second: from the cache, the same bytes, and quiet without --progress
"$VITSKIP" quantize $args -o "$T/b.vkq" > "$T/b.out" 2> "$T/b.err" || ko "second quantize failed"
cmp -s "$T/a.vkq" "$T/b.vkq" && ok || ko "the cached blob differs from the calibrated one"
grep -q '^calibration from the cache' "$T/b.out" && ok || ko "second run: $(cat "$T/b.out")"
[ ! -s "$T/b.err" ] && ok || ko "stderr not quiet: $(cat "$T/b.err")"
# calibrated afresh without a cache: the same bytes again
VITSKIP_CACHE=$T/cache2 "$VITSKIP" quantize $args -o "$T/c.vkq" > "$T/c.out" 2> "$T/c.err" &&
    cmp -s "$T/a.vkq" "$T/c.vkq" && [ ! -s "$T/c.err" ] && ok ||
    ko "a fresh calibration gives other bytes or speaks: $(cat "$T/c.err")"

# eval measures that blob (it prints the hash's first 16 digits)
"$VITSKIP" eval $args --limit 20 > "$T/e.out" 2> "$T/e.err" || ko "eval failed: $(cat "$T/e.err")"
grep -q "sha256 $(echo "$blob" | cut -c1-16))" "$T/e.out" && ok ||
    ko "eval's blob is not the .vkq: $(grep '^model' "$T/e.out") vs $blob"
grep -q '^calibration' "$T/e.err" && ko "eval printed calibration progress off a terminal" || ok

# eval --blob runs the file as is, without calibrating (an empty cache
# stays empty), with byte-identical results to eval from the checkpoint
for b in sim cpu; do
    "$VITSKIP" eval $args --limit 200 --board $b > "$T/e1" 2>&1 || ko "eval on $b failed"
    VITSKIP_CACHE=$T/empty "$VITSKIP" eval $args --limit 200 --board $b --blob "$T/a.vkq" \
        > "$T/e2" 2>&1 || ko "eval --blob on $b failed: $(cat "$T/e2")"
    # the results (sim: its modeled latency and energy too; cpu: measured, so not)
    keep='^(model|data|board|path|top-1|entropy) '
    [ $b = sim ] && keep='^(model|data|board|path|top-1|entropy|latency|energy) '
    grep -E "$keep" "$T/e1" > "$T/e1.r"
    grep -E "$keep" "$T/e2" > "$T/e2.r"
    cmp -s "$T/e1.r" "$T/e2.r" && grep -q '^top-1 ' "$T/e2" && ok ||
        ko "eval --blob on $b differs: $(diff "$T/e1.r" "$T/e2.r")"
done
[ -z "$(ls -A "$T/empty" 2>/dev/null)" ] && ok || ko "eval --blob calibrated: $(ls "$T/empty")"
# a blob of another model, and a .vkq given as the model: clear errors
"$VITSKIP" eval --model models/fm197 --data "$DATA" --limit 5 --blob "$T/a.vkq" > /dev/null \
    2> "$T/m.err" && ko "a demo blob ran with fm197" ||
    { grep -q "a.vkq: a blob of .*, but models/fm197 has" "$T/m.err" && ok || ko "$(cat "$T/m.err")"; }
"$VITSKIP" eval --model "$T/a.vkq" --data "$DATA" --limit 5 > /dev/null 2> "$T/m.err" &&
    ko "a .vkq ran as a model" ||
    { grep -q "a.vkq: a .vkq file holds the int8 blob only.*--blob" "$T/m.err" && ok ||
      ko "$(cat "$T/m.err")"; }
head -c 1000 "$T/a.vkq" > "$T/cut.vkq"
"$VITSKIP" eval $args --limit 5 --blob "$T/cut.vkq" > /dev/null 2> "$T/m.err" &&
    ko "a truncated blob ran" || { grep -q "cut.vkq" "$T/m.err" && ok || ko "$(cat "$T/m.err")"; }

# an agent takes the file's bytes as they are: PUT /v1/models/<sha256sum>
"$VITSKIP" agent --board sim --port 0 > "$T/url" 2> "$T/agent.log" &
agent=$!
vk_cleanup='kill $agent 2>/dev/null; wait $agent 2>/dev/null'
poll 100 test -s "$T/url" || die "the agent did not start: $(tail -3 "$T/agent.log")"
url=$(head -1 "$T/url")
python3 - "$url" "$blob" "$T/a.vkq" <<'EOF' && ok || ko "the agent refused the .vkq upload"
import sys, urllib.request
url, blob, path = sys.argv[1:]
r = urllib.request.urlopen(urllib.request.Request(url + "/v1/models/" + blob,
                           data=open(path, "rb").read(), method="PUT",
                           headers={"Content-Type": "application/octet-stream"}))
assert r.status in (200, 201), r.status
r = urllib.request.urlopen(urllib.request.Request(url + "/v1/models/" + blob, method="HEAD"))
assert r.status == 200, r.status
EOF
"$VITSKIP" eval $args --limit 200 --board "$url" --blob "$T/a.vkq" > "$T/e3" 2>&1 &&
    grep -q "^$(grep '^top-1 ' "$T/e1")\$" "$T/e3" && ok || ko "eval through the agent: $(cat "$T/e3")"
kill $agent; wait $agent 2>/dev/null; vk_cleanup=:

# a search's exported path: MODEL_SHA256 = sha256sum of the .vkq, the
# checkpoint's SHA-256 beside it, in the header and in JSON
"$VITSKIP" search $args --limit 30 --val-limit 30 --budget 3 --seed 3 -q --db "$T/r.db" \
    > "$T/s.out" 2>&1 || die "search failed: $(tail -3 "$T/s.out")"
"$VITSKIP" export --db "$T/r.db" --config P1 -o "$T/p.h" 2> "$T/x.err" || ko "export failed"
grep -q "^#define VK_SKIP_MODEL_SHA256 \"$blob\"$" "$T/p.h" && ok ||
    ko "header's blob hash is not sha256sum of the .vkq: $(grep SHA256 "$T/p.h")"
grep -q "^#define VK_SKIP_CHECKPOINT_SHA256 \"$ckpt\"$" "$T/p.h" && ok ||
    ko "header's checkpoint hash: $(grep SHA256 "$T/p.h") $(cat "$T/x.err")"
[ ! -s "$T/x.err" ] && ok || ko "export warned: $(cat "$T/x.err")"
"$VITSKIP" export --db "$T/r.db" --config P1 --format json -o "$T/p.json" &&
    python3 -c "import json,sys; d=json.load(open('$T/p.json'));
sys.exit(d['model_hash'] != '$blob' or d['checkpoint_sha256'] != '$ckpt')" && ok ||
    ko "JSON hashes: $(cat "$T/p.json")"
"$VITSKIP" export --db "$T/r.db" --config P1 --no-checkpoint -o "$T/n.h" 2> "$T/n.err" &&
    ! grep -q CHECKPOINT "$T/n.h" && [ ! -s "$T/n.err" ] && ok || ko "--no-checkpoint"

# the run's checkpoint changed since (other weights under its path): the
# checkpoint's hash is left out, with a warning naming why; the blob hash stays
mkdir "$T/m" && cp models/demo/*.json "$T/m/" && cp models/demo/model.safetensors "$T/m/" &&
    "$VITSKIP" search --model "$T/m" --data "$DATA" --limit 30 --val-limit 30 --budget 2 \
        --seed 3 -q --db "$T/m.db" > "$T/ms.out" 2>&1 || die "search on the copy failed"
python3 - "$T/m/model.safetensors" <<'EOF' || die "cannot alter the copy"
import struct, sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
n = int.from_bytes(b[:8], "little")
b[8 + n:8 + n + 4] = struct.pack("<f", 7.5)  # the first (f32) value of the data
open(p, "wb").write(bytes(b))
EOF
"$VITSKIP" export --db "$T/m.db" --config P1 -o "$T/m.h" 2> "$T/m.err" || ko "export of the altered run"
grep -q "^#define VK_SKIP_MODEL_SHA256 \"$blob\"$" "$T/m.h" && ! grep -q CHECKPOINT "$T/m.h" &&
    ok || ko "altered checkpoint: $(grep SHA256 "$T/m.h")"
grep -q "warning: the checkpoint's SHA-256 is left out: $T/m now calibrates to blob" "$T/m.err" &&
    ok || ko "no warning: $(cat "$T/m.err")"

# replay --blob: the stored path re-measured on the .vkq as is (no
# calibration: an empty cache stays empty), the same top-1 as stored; a
# blob of other weights (the altered copy's), a truncated one and --blob
# with --level are refused, named
stored=$(sqlite3 "$T/r.db" "select printf('%.2f', top1) from paths where id = 1")
VITSKIP_CACHE=$T/empty3 "$VITSKIP" replay --db "$T/r.db" --config P1 --blob "$T/a.vkq" \
    > "$T/rb.out" 2>&1 || ko "replay --blob failed: $(cat "$T/rb.out")"
grep -q "^replay: *top-1 *$stored%" "$T/rb.out" && [ -z "$(ls -A "$T/empty3" 2>/dev/null)" ] &&
    ok || ko "replay --blob: stored $stored: $(cat "$T/rb.out"); cache: $(ls "$T/empty3")"
"$VITSKIP" quantize --model "$T/m" --data "$DATA" -o "$T/other.vkq" > /dev/null 2>&1 ||
    die "quantize of the altered copy failed"
"$VITSKIP" replay --db "$T/r.db" --config P1 --blob "$T/other.vkq" > /dev/null 2> "$T/rb.err"
[ $? = 1 ] && grep -q -- "--blob $T/other.vkq is blob [0-9a-f]\{16\}, the stored P1 was measured on $(echo "$blob" | cut -c1-16)" "$T/rb.err" &&
    ok || ko "replay --blob of other weights: $(cat "$T/rb.err")"
"$VITSKIP" replay --db "$T/r.db" --config P1 --blob "$T/cut.vkq" > /dev/null 2> "$T/rb.err"
[ $? = 1 ] && grep -q "cut.vkq" "$T/rb.err" && ok || ko "replay --blob truncated: $(cat "$T/rb.err")"
"$VITSKIP" replay --db "$T/r.db" --level P1 --level P2 --blob "$T/a.vkq" > /dev/null 2> "$T/rb.err"
[ $? = 2 ] && grep -q -- "--blob are for one stored configuration" "$T/rb.err" && ok ||
    ko "replay --level --blob: $(cat "$T/rb.err")"
[ "$(sqlite3 "$T/r.db" 'select count(*) from replays')" = 1 ] && ok ||
    ko "replays stored: $(sqlite3 "$T/r.db" 'select count(*) from replays') (1 expected)"

# bad input: usage errors (exit 2) and failures (exit 1) write no file
bad() {
    want=$1; msg=$2; shift 2
    "$VITSKIP" quantize "$@" > /dev/null 2> "$T/bad.err"; rc=$?
    [ $rc = "$want" ] && grep -q -- "$msg" "$T/bad.err" && ok ||
        ko "quantize $*: exit $rc: $(cat "$T/bad.err")"
}
bad 2 "-o FILE.vkq is required" $args
bad 2 "--model and --data are required" --data "$DATA" -o "$T/z.vkq"
bad 2 "unexpected argument" $args -o "$T/z.vkq" extra
bad 1 "$T/none" --model "$T/none" --data "$DATA" -o "$T/z.vkq"
bad 1 "$T/nodata" --model models/demo --data "$T/nodata" -o "$T/z.vkq"
bad 1 "$T/no/dir/z.vkq: cannot create" $args -o "$T/no/dir/z.vkq"
[ ! -e "$T/z.vkq" ] && ok || ko "a failed quantize wrote $T/z.vkq"
"$VITSKIP" quantize --help | grep -q '^usage: vitskip quantize' && ok || ko "--help"

summary test_quantize
