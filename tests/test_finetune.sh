#!/bin/sh
# tools/finetune (smoke, CPU, a few steps): a real `vitskip export --format
# json` of a searched demo path and a hand-edited export with every mode are
# fine-tuned from models/demo; the outputs import into vitskip, the sidecar
# names the path, the export, the parent's SHA-256 and the data, and its
# validation accuracy is that of the saved weights (recomputed here);
# malformed exports, checkpoints and data folders are clear errors (exit 2).
. tests/vk_test.sh
torch_python || { summary finetune; exit 1; }
FT=tools/finetune/finetune.py
D=$(dirname "$DATA")
small="--data $D --limit 96 --epochs 2 --max-steps 2 --batch 32 --device cpu"

"$VITSKIP" search --model models/demo --data "$DATA" --limit 12 --budget 2 --db "$T/r.db" -q \
    > "$T/s.out" 2>&1 || ko "search failed: $(tail -3 "$T/s.out")"
p=$(grep -E '^P[0-9]+ ' "$T/s.out" | head -1 | awk '{print $1}')
"$VITSKIP" export --db "$T/r.db" --config "$p" --format json -o "$T/p.json" 2> "$T/e.out" &&
    ok || ko "export $p: $(cat "$T/e.out")"

# the exported path, with the entropy term on
"$PY" $FT --export "$T/p.json" --model models/demo --out "$T/ft" $small --entropy 0.1 \
    > "$T/ft.out" 2>&1 && ok || ko "finetune failed: $(tail -5 "$T/ft.out")"
for f in config.json model.safetensors preprocessor_config.json heldout.json finetune.json \
    finetune_log.txt; do
    [ -s "$T/ft/$f" ] && ok || ko "finetune wrote no $f"
done
"$VITSKIP" eval --model "$T/ft" --data "$DATA" --limit 20 --float > "$T/ev.out" 2>&1 &&
    ok || ko "vitskip does not import the tuned checkpoint: $(tail -3 "$T/ev.out")"
sha=$(sha256sum models/demo/model.safetensors | cut -d' ' -f1)
[ "$sha" != "$(sha256sum "$T/ft/model.safetensors" | cut -d' ' -f1)" ] && ok ||
    ko "the tuned weights equal the parent's"
"$PY" - "$T" "$sha" <<'EOF' > "$T/chk.out" 2>&1 && ok || ko "sidecar: $(cat "$T/chk.out")"
import json, sys
sys.path.insert(0, "tools")
import vkvit, vktrain
t, sha = sys.argv[1], sys.argv[2]
s = json.load(open(t + "/ft/finetune.json"))
e = json.load(open(t + "/p.json"))
assert s["format"] == "vitskip-finetune" and s["version"] == 1, s["format"]
assert s["path"] == e["genome"], (s["path"], e["genome"])
assert s["parent"]["safetensors_sha256"] == sha, s["parent"]
assert s["export"]["model_hash"] == e["model_hash"]
assert s["data"]["validation"]["first"] == 55000 and s["data"]["train"]["count"] == 96
assert s["hyperparameters"]["entropy"] == 0.1 and s["selected_epoch"] in (1, 2)
assert len(s["epochs"]) == 2
d = vktrain.load_fmnist("/usr/share/datasets/fashion-mnist", 96)
m = vkvit.load_pretrained(t + "/ft")
x, y = d["holdout"]
v = vktrain.top1(m, x, y, s["path"])
assert v == s["accuracy"]["validation"]["path"], (v, s["accuracy"])
x, y = d["test"]
v = vktrain.top1(m, x, y, s["path"])
assert v == s["accuracy"]["test"]["path"], (v, s["accuracy"])
EOF

# every mode: the export's genome edited to F/S/R/H with :k and :f
sed 's/"genome":[[:space:]]*"[A-Z]*"/"genome": "FH:k70SF:f50HRS:f25F"/' "$T/p.json" > "$T/m.json"
"$PY" $FT --export "$T/m.json" --model models/demo --out "$T/ftm" $small > "$T/ftm.out" 2>&1 &&
    grep -q '"path": "FH:k70SF:f50HRS:f25F"' "$T/ftm/finetune.json" && ok ||
    ko "mixed-mode path: $(tail -5 "$T/ftm.out")"
"$VITSKIP" eval --model "$T/ftm" --data "$DATA" --limit 20 --float > /dev/null 2>&1 &&
    ok || ko "vitskip does not import the mixed-mode checkpoint"

# a time budget: no epoch starts after it, the sidecar says where it stopped
"$PY" $FT --export "$T/p.json" --model models/demo --out "$T/ftb" $small --time-budget 0.001 \
    > "$T/ftb.out" 2>&1 && grep -q '"stopped_early": "time budget of 0.001 s reached after epoch 1 of 2"' \
    "$T/ftb/finetune.json" && ok || ko "time budget: $(tail -3 "$T/ftb.out")"

# bad input: exit 2 and a message naming what is wrong
bad() { # bad NAME EXPECTED-TEXT finetune-args...
    name=$1 want=$2
    shift 2
    "$PY" $FT "$@" > "$T/bad.out" 2>&1
    rc=$?
    [ $rc = 2 ] && grep -q -- "$want" "$T/bad.out" && ok ||
        ko "$name: exit $rc, wanted 2 and '$want': $(tail -2 "$T/bad.out")"
}
args="--model models/demo --out $T/x $small"
bad "missing export" "cannot read" --export "$T/none.json" $args
echo '{"format": "vitskip-skip-table", "version": 1,' > "$T/b1.json"
bad "truncated JSON" "not JSON" --export "$T/b1.json" $args
sed 's/vitskip-skip-table/other/' "$T/p.json" > "$T/b2.json"
bad "wrong format" '"format" must be' --export "$T/b2.json" $args
sed 's/"n_layers":[[:space:]]*8/"n_layers": 12/' "$T/p.json" > "$T/b3.json"
bad "n_layers" "the model has 8" --export "$T/b3.json" $args
sed 's/"genome":[[:space:]]*"[A-Z]*"/"genome": "RFFFFFFF"/' "$T/p.json" > "$T/b4.json"
bad "R first" "no earlier" --export "$T/b4.json" $args
sed 's/"genome":[[:space:]]*"[A-Z]*"/"genome": "F:k100FFFFFFF"/' "$T/p.json" > "$T/b5.json"
bad "bad keep ratio" ":k100" --export "$T/b5.json" $args
bad "high level of a path" "needs a cascade" --export "$T/p.json" $args --level high
bad "not a checkpoint" "not a checkpoint" --export "$T/p.json" --model "$T" --out "$T/x" $small
bad "no data" "$T" --export "$T/p.json" --model models/demo --out "$T/x" --data "$T" --device cpu
bad "bad option" "alpha" --export "$T/p.json" $args --alpha 2
bad "bad time budget" "time-budget" --export "$T/p.json" $args --time-budget 0
[ ! -e "$T/x" ] && ok || ko "a failed run wrote its output folder"

summary finetune
