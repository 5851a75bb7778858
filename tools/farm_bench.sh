#!/bin/sh
# Measured search throughput with 1 vs 4 `vitskip agent`s (sim boards) on
# loopback: the same search (seed, budget, 4 children per generation, so
# both runs measure the same paths), a fresh database each time so nothing
# is deduplicated. Wall time is the host clock around `vitskip search`
# (model loading and calibration included). With sqlite3 installed it
# checks that both runs measured BUDGET paths, the same ones.
# Usage: sh tools/farm_bench.sh [VITSKIP]; VK_FARM_IMAGES (200),
# VK_FARM_BUDGET (48), VK_SIM_THREADS per agent (1).
set -e
VITSKIP=${1:-build/vitskip}
DATA=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
IMAGES=${VK_FARM_IMAGES:-200}
BUDGET=${VK_FARM_BUDGET:-48}
THREADS=${VK_SIM_THREADS:-1}
T=$(mktemp -d)
pids=""
stop_agents() { for p in $pids; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; pids=""; }
cleanup() { stop_agents; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
start_agent() { # $1: name; sets url (no subshell: pids must keep the PID)
    VK_SIM_THREADS=$THREADS "$VITSKIP" agent --board sim --port 0 >"$T/$1.url" 2>"$T/$1.log" &
    pids="$pids $!"
    for i in $(seq 1 100); do [ -s "$T/$1.url" ] && break; sleep 0.1; done
    [ -s "$T/$1.url" ] || { echo "farm_bench: agent $1 did not start: $(tail -2 "$T/$1.log")" >&2; exit 1; }
    url=$(head -n1 "$T/$1.url")
}
for n in 1 4; do
    boards=""
    for a in $(seq 1 $n); do
        start_agent "a$n$a"
        boards="$boards --board $url"
    done
    t0=$(date +%s.%N)
    # shellcheck disable=SC2086 # $boards: one word per --board and URL
    "$VITSKIP" search --model models/demo --data "$DATA" --limit "$IMAGES" $boards \
        --db "$T/f$n.db" --budget "$BUDGET" --offspring 4 --seed 1 -q >/dev/null
    t1=$(date +%s.%N)
    eval "t_$n=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
    stop_agents
done
check=""
if command -v sqlite3 >/dev/null; then
    g() { sqlite3 "$T/f$1.db" "select genome from paths order by genome"; }
    [ "$(g 1 | wc -l)" = "$BUDGET" ] && [ "$(g 4 | wc -l)" = "$BUDGET" ] && [ "$(g 1)" = "$(g 4)" ] ||
        { echo "farm_bench: the two runs did not measure the same $BUDGET paths" >&2; exit 1; }
    check=" (checked: both runs measured the same $BUDGET paths)"
fi
echo "farm: $BUDGET paths x $IMAGES images, sim boards behind vitskip agents on loopback,"
echo "VK_SIM_THREADS=$THREADS per agent; nproc $(nproc) ($(lscpu | sed -n 's/^Model name: *//p'))$check"
printf '%-9s %10s %14s\n' agents "wall s" "paths/s"
awk -v b="$BUDGET" -v t1="$t_1" -v t4="$t_4" -v c="$(nproc)" -v th="$THREADS" 'BEGIN {
    printf "%-9s %10.1f %14.3f\n", 1, t1, b / t1
    printf "%-9s %10.1f %14.3f\n", 4, t4, b / t4
    m = c / th; if (m > 4) m = 4
    printf "ratio 4 vs 1: %.2fx (measured). The sim board is CPU-bound (the kernel C\n", t1 / t4
    printf "simulation runs on the agent'"'"'s CPU), so on one machine the ratio is at most\n"
    printf "min(4, nproc / VK_SIM_THREADS) = %.0fx here; agents on separate machines\n", m
    printf "or boards do not share cores.\n" }'
