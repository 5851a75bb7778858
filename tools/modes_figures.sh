#!/bin/sh
# modes_figures.sh: the README's per-encoder-mode figures on a model (default
# models/fm197, 197 tokens). Selects on a validation split, reports on the
# test split:
#   1. NSGA-II over the skip-only space (FS) and over every choice (all),
#      same budget and seed, on the sim board (accuracy: the kernel's
#      integers; latency: the ZCU102 cycle model, modeled);
#   2. each run's front (validation top-1 vs modeled latency) measured on
#      the test split by the search itself (vitskip search --val/--data),
#      its hypervolume and the best test top-1 within 0.6x and 0.4x of the
#      full path's modeled latency;
#   3. a one-at-a-time sweep of every choice (vitskip sensitivity), on the
#      sim board (modeled) and on the cpu board (measured on this machine).
# usage: tools/modes_figures.sh OUT [VITSKIP]
# env: VK_MODEL (models/fm197), VK_VAL (validation images; default: the
# search's, the model's hold-out of the training file), VK_TEST (test IDX
# images),
# VK_CALIB (calibration IDX images; default: vitskip's), VK_VAL_N (2000),
# VK_TEST_N (10000), VK_BUDGET (150), VK_TIME (no limit: seconds per
# search), VK_CPU_N (200; 0: no cpu
# board run).
set -e
OUT=${1:?usage: tools/modes_figures.sh OUT [VITSKIP]}
V=${2:-build/vitskip}
M=${VK_MODEL:-models/fm197}
VAL=${VK_VAL:+--val $VK_VAL}
TEST=${VK_TEST:-/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz}
VN=${VK_VAL_N:-2000} TN=${VK_TEST_N:-10000} B=${VK_BUDGET:-150} CN=${VK_CPU_N:-200}
CAL=${VK_CALIB:+--calib $VK_CALIB}
TB=${VK_TIME:+--time-budget $VK_TIME}
mkdir -p "$OUT"
t0=$(date +%s)
stamp() { echo "[$(($(date +%s) - t0)) s] $*" >&2; }
for sp in FS all; do
    stamp "search --space $sp: $B paths on $VN validation images"
    $V search --model "$M" $VAL --val-limit "$VN" --data "$TEST" --limit "$TN" \
        --board sim $CAL --db "$OUT/$sp.db" \
        --space $sp --budget "$B" $TB --seed 1 --population 12 --max-acc-drop 1.0 -q \
        >"$OUT/$sp.txt"
    $V show --db "$OUT/$sp.db" 1 --json >"$OUT/$sp.json"
done
stamp "one-at-a-time, sim board"
$V sweep --model "$M" $VAL --val-limit "$VN" --data "$TEST" --limit 500 \
    --board sim $CAL --db "$OUT/oat.db" \
    --space all --one-at-a-time -q >/dev/null
$V sensitivity --db "$OUT/oat.db" >"$OUT/sens_sim.txt"
if [ "$CN" -gt 0 ]; then
    stamp "one-at-a-time, cpu board ($CN images)"
    $V sweep --model "$M" $VAL --val-limit "$CN" --data "$TEST" --limit "$CN" \
        --board cpu $CAL --db "$OUT/oatcpu.db" \
        --space all --one-at-a-time -q >/dev/null
    $V sensitivity --db "$OUT/oatcpu.db" >"$OUT/sens_cpu.txt"
fi
stamp "done"
python3 - "$OUT" <<'EOF'
import json, sys
out = sys.argv[1]
test = {}
for sp in ("FS", "all"):
    for p in json.load(open(f"{out}/{sp}.json"))["paths"]:
        if p.get("top1_test") is not None:
            test[p["genome"]] = p["top1_test"]
def front(ps, key):
    ps = sorted(ps, key=lambda p: (p["latency_ms"], -key(p)))
    f, best = [], -1.0
    for p in ps:
        if key(p) > best:
            f.append(p)
            best = key(p)
    return f
def hv(f, full_lat, full_acc, key):
    # area dominated in (latency / full latency, top-1) above the reference
    # point (1.0, full top-1 - 10 points), in points x latency fraction
    ref = full_acc - 10.0
    area, x_prev = 0.0, None
    pts = [(p["latency_ms"] / full_lat, key(p)) for p in f if key(p) > ref and
           p["latency_ms"] <= full_lat]
    pts.sort()
    best = ref
    xs = [x for x, _ in pts] + [1.0]
    for i, (x, a) in enumerate(pts):
        best = max(best, a)
        area += (xs[i + 1] - x) * (best - ref)
    return area
print("space  paths  front  HV(val)  HV(test)  best test top-1 at <=0.6x / <=0.4x latency")
for sp in ("FS", "all"):
    ps = json.load(open(f"{out}/{sp}.json"))["paths"]
    full = next(p for p in ps if set(p["genome"]) == {"F"})
    fv = front(ps, lambda p: p["top1"])
    ft = [dict(p, top1=test[p["genome"]]) for p in fv if p["genome"] in test]
    ft = front(ft, lambda p: p["top1"])
    fa = test.get(full["genome"], float("nan"))
    def best(r):
        c = [p for p in ft if p["latency_ms"] <= r * full["latency_ms"]]
        if not c:
            return "-"
        b = max(c, key=lambda p: p["top1"])
        return f"{b['top1']:.2f}% ({b['genome']}, {b['latency_ms'] / full['latency_ms']:.2f}x)"
    print(f"{sp:5} {len(ps):6} {len(fv):6} {hv(fv, full['latency_ms'], full['top1'], lambda p: p['top1']):8.3f}"
          f" {hv(ft, full['latency_ms'], fa, lambda p: p['top1']):9.3f}  {best(0.6)} / {best(0.4)}")
    print(f"      full path: validation {full['top1']:.2f}%, test {fa:.2f}%, "
          f"{full['latency_ms']:.4f} ms [{full['latency_source']}]")
EOF
