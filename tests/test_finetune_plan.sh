#!/bin/sh
# vitskip finetune-plan: a real search's front is picked, each path exported
# and tuned by tools/finetune (a few CPU steps), imported, measured on the
# sim board and stored as a new configuration linked to its parent; show,
# export and replay --level see it; a second plan tunes nothing again; a
# failing command, a sidecar of another path or parent, and bad options are
# errors naming what is wrong.
. tests/vk_test.sh
torch_python || { summary finetune_plan; exit 1; }
D=$(dirname "$DATA")
smoke="--limit 96 --epochs 1 --max-steps 2 --batch 32 --device cpu"
tune="$PY tools/finetune/finetune.py --export {export} --model {model} --data {data} --out {out} $smoke"

"$VITSKIP" search --model models/demo --data "$DATA" --limit 40 --budget 6 --db "$T/r.db" -q \
    --objective edp --max-acc-drop 30 > "$T/s.out" 2>&1 || die "search failed: $(tail -3 "$T/s.out")"

# the plan alone
"$VITSKIP" finetune-plan --db "$T/r.db" --out "$T/ft" --top 1 --min-top1 0 --dry-run \
    > "$T/dry.out" 2>&1 && ok || ko "dry run: $(tail -3 "$T/dry.out")"
p=$(grep -E '^  P[0-9]+ ' "$T/dry.out" | head -1 | awk '{print $1}')
[ -n "$p" ] && ok || die "no path picked: $(cat "$T/dry.out")"
[ ! -e "$T/ft" ] && ok || ko "a dry run wrote $T/ft"

# the loop
"$VITSKIP" finetune-plan --db "$T/r.db" --out "$T/ft" --top 1 --min-top1 0 --command "$tune" \
    > "$T/plan.out" 2> "$T/plan.err" && ok || ko "plan: $(tail -5 "$T/plan.err")"
[ -s "$T/ft/$p.json" ] && [ -s "$T/ft/$p/finetune.json" ] && ok || ko "no export or tuned checkpoint"
tp=$(grep -E "^P[0-9]+ .*<- $p " "$T/plan.out" | awk '{print $1}')
[ -n "$tp" ] && [ "$tp" != "$p" ] && ok || die "no tuned path stored: $(cat "$T/plan.out")"
grep -q "hold-out .*test .*finetune.json" "$T/plan.out" && ok || ko "no sidecar figures"
# the plan's export is the bytes `vitskip export -o` writes (a tuning made
# from either is recognised by the export's hash)
"$VITSKIP" export --db "$T/r.db" --config "$p" --format json -o "$T/e.json" &&
    cmp -s "$T/e.json" "$T/ft/$p.json" && ok || ko "the plan's export differs from vitskip export's"

# show, export and replay see it
"$VITSKIP" show --db "$T/r.db" > "$T/show.out" 2>&1 &&
    grep -q "^$tp .*(fine-tuned from $p: $T/ft/$p)" "$T/show.out" && ok ||
    ko "show: $(cat "$T/show.out")"
"$VITSKIP" show --db "$T/r.db" --json > "$T/show.json" 2>&1 &&
    grep -q "\"finetuned_from\":[[:space:]]*\"$p\"" "$T/show.json" && ok || ko "show --json"
"$VITSKIP" export --db "$T/r.db" --config "$tp" --format json -o "$T/tp.json" 2> "$T/e.err" &&
    grep -q "fine-tuned from $p" "$T/tp.json" && ok || ko "export: $(cat "$T/e.err")"
full=$(grep -E '^P[0-9]+ .* FFFFFFFF$' "$T/s.out" | awk '{print $1}')
[ -n "$full" ] || full=$(sqlite3 "$T/r.db" "select 'P' || id from paths where genome = 'FFFFFFFF'")
"$VITSKIP" replay --db "$T/r.db" --level "$tp" --level "$full" --threshold 0.5 > "$T/rp.out" \
    2> "$T/rp.err" && grep -q "level 1   $T/ft/$p " "$T/rp.out" && ok ||
    ko "replay --level with the tuned path: $(tail -3 "$T/rp.err") $(head -3 "$T/rp.out")"
n=$(sqlite3 "$T/r.db" "select count(*) from finetunes where parent_id = ${p#P}")
[ "$n" = 1 ] && ok || ko "finetunes rows: $n"

# again: the sidecar is there, so nothing is tuned (a command that fails would say)
"$VITSKIP" finetune-plan --db "$T/r.db" --run 1 --out "$T/ft" --paths "$p" --command false \
    > "$T/again.out" 2> "$T/again.err" && ok || ko "a second plan tuned again: $(tail -2 "$T/again.err")"
n=$(sqlite3 "$T/r.db" "select count(*) from finetunes where parent_id = ${p#P}")
[ "$n" = 1 ] && ok || ko "a second plan stored the link twice ($n)"
"$VITSKIP" finetune-plan --db "$T/r.db" --run 1 --out "$T/ft" --paths "$p" --import-only \
    > /dev/null 2>&1 && ok || ko "--import-only of a tuned path"

# errors
bad() { # bad NAME RC EXPECTED-TEXT args...
    name=$1 want_rc=$2 want=$3
    shift 3
    "$VITSKIP" finetune-plan "$@" > "$T/bad.out" 2>&1
    rc=$?
    [ $rc = "$want_rc" ] && grep -q -- "$want" "$T/bad.out" && ok ||
        ko "$name: exit $rc, wanted $want_rc and '$want': $(tail -2 "$T/bad.out")"
}
bad "no out" 2 "--out is required" --db "$T/r.db"
bad "no db" 2 "--db is required" --out "$T/x"
bad "bad top" 2 "--top" --db "$T/r.db" --out "$T/x" --top 0
bad "bad paths" 1 "--paths 'Q1'" --db "$T/r.db" --out "$T/x" --paths Q1
bad "import and command" 2 "drop --command" --db "$T/r.db" --out "$T/x" --import-only --command true
bad "failing command" 1 "the tuning command failed (exit 1)" --db "$T/r.db" --run 1 \
    --out "$T/y" --paths "$p" --command false
bad "command writes nothing" 1 "finetune.json: missing" --db "$T/r.db" --run 1 --out "$T/y" \
    --paths "$p" --command true
bad "nothing to import" 1 "finetune.json: missing" --db "$T/r.db" --run 1 --out "$T/z" \
    --paths "$p" --import-only
bad "path of another run" 1 "$tp is not a path of run 1" --db "$T/r.db" --run 1 --out "$T/x" \
    --paths "$tp"
bad "bad min-top1" 2 "--min-top1" --db "$T/r.db" --out "$T/x" --min-top1 abc
bad "tuning run" 1 "a tuning's own" --db "$T/r.db" --run 2 --out "$T/x"
# a sidecar of another path, or of another parent
mkdir -p "$T/w/$p"
cp "$T/ft/$p"/* "$T/w/$p/"
sed -i 's/"path": "[^"]*"/"path": "HHHHHHHH"/' "$T/w/$p/finetune.json"
bad "sidecar of another path" 1 '"path" is not the path planned' --db "$T/r.db" --run 1 \
    --out "$T/w" --paths "$p" --import-only
cp "$T/ft/$p/finetune.json" "$T/w/$p/"
sed -i 's/"safetensors_sha256": "[0-9a-f]*"/"safetensors_sha256": "00"/' "$T/w/$p/finetune.json"
bad "sidecar of another parent" 1 "is not the run's checkpoint" --db "$T/r.db" --run 1 \
    --out "$T/w" --paths "$p" --import-only
echo '{"format": "vitskip-finetune",' > "$T/w/$p/finetune.json"
bad "truncated sidecar" 1 "not a JSON object" --db "$T/r.db" --run 1 --out "$T/w" --paths "$p" \
    --import-only

summary finetune_plan
