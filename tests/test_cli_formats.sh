#!/bin/sh
# What the CLI prints for programs (issue 14): `vitskip --version` and
# `vitskip version` (one line, exit 0; a stray argument is a usage error; a
# full stdout fails), `boards --json` (the same offers as the text),
# `eval --json` (the same figures as the text, energy null when the board
# gives none; a cascade refused before anything is read) and `show --csv`
# (the header row, one row per path agreeing with `show --json`, empty
# fields where the JSON has null), `model-figures --json` (the text's
# figures, labelled modeled), `search --json` (the run as `show --json RUN`
# prints it, nothing else on stdout), `replay --json` (the text's figures),
# each with malformed arguments.
. tests/vk_test.sh
M=models/demo
q() { sqlite3 "$1" "$2"; }
# usage EXPECTED-TEXT ARGS...: exit 2, the text on stderr's first line,
# nothing on stdout
usage() {
    want=$1; shift
    "$VITSKIP" "$@" >"$T/out" 2>"$T/err"; rc=$?
    [ $rc = 2 ] && head -1 "$T/err" | grep -qF -- "$want" && [ ! -s "$T/out" ] && ok ||
        ko "vitskip $*: exit $rc: $(cat "$T/err" "$T/out")"
}

# --version and version
v1=$("$VITSKIP" --version) && v2=$("$VITSKIP" version) && [ "$v1" = "$v2" ] &&
    echo "$v1" | grep -qE '^vitskip [0-9]+\.[0-9]+\.[0-9]+ \(database schema [0-9]+, agent protocol [0-9]+, SQLite [0-9.]+\)$' &&
    [ "$(echo "$v1" | wc -l)" = 1 ] && ok || ko "--version: '$v1' vs version: '$v2'"
schema=$(grep -o 'define VK_STORE_SCHEMA [0-9]*' db/vk_store.h | cut -d' ' -f3)
echo "$v1" | grep -q "database schema $schema," && ok || ko "--version names schema: $v1 ($schema)"
"$VITSKIP" --help | grep -qE '^  version +' && ok || ko "--help does not list version"
usage "unexpected argument 'now'" version now
usage "unexpected argument 'now'" --version now
"$VITSKIP" version --help | grep -q '^usage: vitskip version' && ok || ko "version --help"
"$VITSKIP" --version >/dev/full 2>"$T/err"; rc=$?
[ $rc = 1 ] && grep -q "cannot write to standard output" "$T/err" && ok ||
    ko "--version to a full disk: exit $rc: $(cat "$T/err")"

# boards --json: an array of the four kinds, each agreeing with the text
"$VITSKIP" boards >"$T/b.txt" && "$VITSKIP" boards --json >"$T/b.json" && ok || ko "boards failed"
python3 - "$T/b.json" "$T/b.txt" <<'EOF' && ok || ko "boards --json: $(cat "$T/b.json")"
import json, sys
b = json.load(open(sys.argv[1]))
text = [l for l in open(sys.argv[2]).read().splitlines()[1:] if "results keyed by" not in l]
keys = [l.split("results keyed by ")[1] for l in open(sys.argv[2]) if "results keyed by" in l]
assert [o["kind"] for o in b] == ["sim", "cpu", "xrt", "remote"], b
for o, line in zip(b, text):
    assert set(o) == {"kind", "available", "detail", "identity"}, o
    assert isinstance(o["available"], bool) and o["detail"], o
    word = line.split()[1]
    assert line.split()[0] == o["kind"], (line, o)
    if o["kind"] != "remote":
        assert word == ("available:" if o["available"] else "unavailable:"), (line, o)
        assert (o["identity"] is not None) == o["available"], o
    else:
        assert o["identity"] is None, o
    assert line.endswith(o["detail"]), (line, o)
assert [o["identity"] for o in b if o["identity"]] == [k.strip() for k in keys], (b, keys)
assert b[0]["available"] and b[0]["identity"].startswith("sim:"), "the sim board is always there"
EOF
usage "unexpected argument 'sim'" boards --json sim
usage "did you mean '--json'?" boards --jsno

# eval --json: the text's figures, energy null iff its source is none
D="--model $M --data $DATA --limit 30"
"$VITSKIP" eval $D --genome FSFSFSFS >"$T/e.txt" 2>/dev/null &&
    "$VITSKIP" eval $D --genome FSFSFSFS --json >"$T/e.json" 2>/dev/null && ok ||
    ko "eval on sim failed"
python3 - "$T/e.json" "$T/e.txt" <<'EOF' && ok || ko "eval --json on sim: $(cat "$T/e.json")"
import json, re, sys
e = json.load(open(sys.argv[1]))
t = open(sys.argv[2]).read()
assert e["genome"] == "FSFSFSFS" and e["n_images"] == 30 and e["n_layers"] == 8, e
assert e["board"] == "sim" and e["model"] == "models/demo", e
assert "%.2f%%" % e["top1"] in re.search(r"top-1 +(\S+) \(int8", t).group(0), (e["top1"], t)
assert "%.4f" % e["latency_ms"] == re.search(r"latency +([0-9.]+)", t).group(1), t
assert e["latency_source"] == "modeled" and e["energy_source"] == "modeled", e
assert "%.4f" % e["energy_mj"] == re.search(r"energy +([0-9.]+)", t).group(1), t
assert abs(e["edp_mj_ms"] - e["energy_mj"] * e["latency_ms"]) < 1e-9 * e["edp_mj_ms"], e
assert e["top1_float"] is None and e["note"].startswith("modeled"), e
EOF
"$VITSKIP" eval $D --board cpu --json >"$T/c.json" 2>/dev/null && python3 - "$T/c.json" <<'EOF' &&
import json, sys
e = json.load(open(sys.argv[1]))
assert e["latency_source"] == "measured" and e["genome"] == "FFFFFFFF", e
assert (e["energy_mj"] is None) == (e["energy_source"] == "none"), e
assert (e["edp_mj_ms"] is None) == (e["energy_mj"] is None), e
EOF
    ok || ko "eval --json on cpu: $(cat "$T/c.json")"
"$VITSKIP" eval $D --limit 10 --float --json 2>/dev/null |
    python3 -c 'import json, sys; e = json.load(sys.stdin); assert 0 <= e["top1_float"] <= 100, e' &&
    ok || ko "eval --float --json has no top1_float"
usage "--json is for one path, not a cascade" eval --level $M=FSFSFSFS --level $M=FFFFFFFF \
    --data "$DATA" --json
usage "--genome 'FSQ': not a genome" eval $D --genome FSQ --json
usage "option '--json' takes no value" eval $D --json=yes

# show --csv: one row per path of the run, agreeing with show --json
DB=$T/r.db
"$VITSKIP" search --model $M --data "$DATA" --limit 40 --budget 8 --seed 3 -q --db "$DB" \
    >/dev/null 2>"$T/s.err" || die "the search failed: $(tail -2 "$T/s.err")"
"$VITSKIP" show --db "$DB" --csv >"$T/s.csv" && "$VITSKIP" show --db "$DB" --json >"$T/s.json" &&
    ok || ko "show --csv failed"
[ "$(head -1 "$T/s.csv")" = "run,config,genome,top1_val,top1_test,latency_ms,latency_source,energy_mj,energy_source,finetuned_from" ] &&
    ok || ko "show --csv header: $(head -1 "$T/s.csv")"
"$VITSKIP" show --help | tr -d ' \n' | grep -qF "$(head -1 "$T/s.csv")" && ok ||
    ko "the header is not documented"
python3 - "$T/s.csv" "$T/s.json" "$(q "$DB" 'select count(*) from run_paths')" <<'EOF' &&
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
j = json.load(open(sys.argv[2]))
assert len(rows) == len(j["paths"]) == int(sys.argv[3]) > 0, (len(rows), sys.argv[3])
assert all(len(r) == 10 and None not in r for r in rows), rows
n_test = 0
for r, p in zip(rows, j["paths"]):
    assert r["run"] == str(j["run"]["id"]) and r["config"] == p["config"], (r, p)
    assert r["genome"] == p["genome"], (r, p)
    assert abs(float(r["top1_val"]) - p["top1"]) < 1e-4, (r, p)
    assert abs(float(r["latency_ms"]) - p["latency_ms"]) < 1e-6, (r, p)
    assert r["latency_source"] == p["latency_source"] == "modeled", (r, p)
    assert (r["top1_test"] == "") == (p["top1_test"] is None), (r, p)
    n_test += r["top1_test"] != ""
    assert (r["energy_mj"] == "") == (p["energy_mj"] is None), (r, p)
    assert r["energy_source"] == p["energy_source"] and r["finetuned_from"] == "", (r, p)
assert n_test > 0, "no path carries a test figure (the front is measured on test)"
EOF
    ok || ko "show --csv vs --json: $(cat "$T/s.csv")"
"$VITSKIP" show --db "$DB" 1 --csv | cmp -s - "$T/s.csv" && ok || ko "show RUN --csv differs"
usage "--json and --csv both name the output; give one" show --db "$DB" --csv --json
usage "RUN '0': expected an integer" show --db "$DB" --csv 0
usage "RUN '1x': expected an integer" show --db "$DB" --csv 1x
usage "unexpected argument '2' (one RUN at a time)" show --db "$DB" --csv 1 2
"$VITSKIP" show --db "$DB" --csv 7 >"$T/out" 2>"$T/err"; rc=$?
[ $rc = 1 ] && [ ! -s "$T/out" ] && grep -q "7" "$T/err" && ok ||
    ko "show --csv of a missing run: exit $rc: $(cat "$T/out" "$T/err")"
"$VITSKIP" show --db "$T/nope.db" --csv >"$T/out" 2>"$T/err"; rc=$?
[ $rc != 0 ] && [ ! -s "$T/out" ] && [ ! -e "$T/nope.db" ] && ok ||
    ko "show --csv of a missing database: exit $rc, $(ls "$T")"
# no runs: the header alone, and JSON that parses
"$VITSKIP" rm --db "$DB" 1 >/dev/null || ko "rm failed"
[ "$("$VITSKIP" show --db "$DB" --csv)" = "$(head -1 "$T/s.csv")" ] && ok ||
    ko "show --csv with no runs: $("$VITSKIP" show --db "$DB" --csv)"
"$VITSKIP" show --db "$DB" --json | python3 -c 'import json, sys; d = json.load(sys.stdin); assert d["run"] is None and d["paths"] == [], d' &&
    ok || ko "show --json with no runs is not JSON"
# model-figures --json: the text table's figures, every one modeled
"$VITSKIP" model-figures >"$T/mf.txt" && "$VITSKIP" model-figures --json >"$T/mf.json" ||
    ko "model-figures failed"
python3 - "$T/mf.txt" "$T/mf.json" <<'PY' && ok || ko "model-figures --json disagrees with the text"
import json, sys
text = open(sys.argv[1]).read().splitlines()
d = json.load(open(sys.argv[2]))
assert d["source"] == "modeled" and d["clock_mhz"] > 0 and d["fits_kernel"] is True, d["source"]
assert len(d["paths"]) == 8, len(d["paths"])
rows = [l.split() for l in text if l.startswith(("DeiT-S", "ViT-B/16", "fm197", "demo")) and "x" in l.split()[-1]]
assert len(rows) == 8, rows
for p, r in zip(d["paths"], rows):
    assert r[0] == p["model"], (r, p["model"])
    assert abs(float(r[-6]) - p["latency_ms"]) < 6e-4 and abs(float(r[-5]) - p["energy_mj"]) < 6e-4, (r, p)
    assert abs(sum(p["stage_share_pct"].values()) - 100) < 0.5, p["stage_share_pct"]
assert d["resources"]["over_budget"] is None and d["resources"]["total"]["dsp"] > 0
PY
usage "unknown option '--jsn'; did you mean '--json'?" model-figures --jsn
"$VITSKIP" model-figures --json --board-json "$T/none.json" >"$T/out" 2>"$T/err"; rc=$?
[ $rc = 1 ] && [ ! -s "$T/out" ] && grep -q "none.json" "$T/err" && ok ||
    ko "model-figures --json with a missing board file: exit $rc: $(cat "$T/err")"
# search --json: the stored run, as show --json prints it
"$VITSKIP" search --model $M --data "$DATA" --limit 40 --budget 5 --db "$T/sj.db" --json -q \
    >"$T/sj.json" 2>"$T/sj.err" || ko "search --json failed: $(cat "$T/sj.err")"
"$VITSKIP" show --db "$T/sj.db" --json 1 >"$T/sj.show" && cmp -s "$T/sj.json" "$T/sj.show" && ok ||
    ko "search --json differs from show --json 1"
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert len(d["paths"]) == 5 and d["run"]["id"] == 1, d["run"]' \
    "$T/sj.json" && ok || ko "search --json: not the run of 5 paths"
usage "unknown option '--jsn'; did you mean '--json'?" search --model $M --data "$DATA" --jsn

# replay --json: the same figures as the text replay of the same path
"$VITSKIP" replay --db "$T/sj.db" --config P2 >"$T/rp.txt" 2>/dev/null &&
    "$VITSKIP" replay --db "$T/sj.db" --config P2 --json >"$T/rp.json" 2>/dev/null ||
    ko "replay failed"
python3 - "$T/rp.txt" "$T/rp.json" <<'PY' && ok || ko "replay --json disagrees with the text"
import json, re, sys
t = open(sys.argv[1]).read()
d = json.load(open(sys.argv[2]))
rep = re.search(r"replay:  top-1 +([0-9.]+)%  latency ([0-9.]+) ms per image \[(\w+)\]", t)
st = re.search(r"stored:  top-1 +([0-9.]+)%  latency ([0-9.]+) ms", t)
assert d["config"] == "P2" and d["kind"] == "path" and d["images"] == "validation", d
assert abs(d["replay"]["top1"] - float(rep.group(1))) < 0.006, (d["replay"], rep.groups())
assert abs(d["replay"]["latency_ms"] - float(rep.group(2))) < 6e-5 and d["replay"]["latency_source"] == rep.group(3)
assert abs(d["stored"]["top1"] - float(st.group(1))) < 0.006 and d["replay"]["identity"].startswith("sim:")
PY
"$VITSKIP" replay --db "$T/sj.db" --config P2 --json --data "$DATA" --limit 30 2>/dev/null |
    python3 -c 'import json, sys; d = json.load(sys.stdin); assert d["stored"] is None and d["n_images"] == 30, d' &&
    ok || ko "replay --json --data: stored figures shown for other images"
usage "--json is for --config" replay --db "$T/sj.db" --level P1 --level P2 --json
summary cli-formats
