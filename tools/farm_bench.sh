#!/bin/sh
# Measured search throughput with 1 vs 4 `vitskip agent`s (sim boards) on
# loopback: the same search (seed, budget, 4 children per generation), a
# fresh database each time so nothing is deduplicated.
set -e
VITSKIP=${1:-build/vitskip}
DATA=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
IMAGES=${VK_FARM_IMAGES:-200}
BUDGET=${VK_FARM_BUDGET:-48}
T=$(mktemp -d)
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT INT TERM
start_agent() { # $1: name; prints the URL
    VK_SIM_THREADS=${VK_SIM_THREADS:-1} "$VITSKIP" agent --board sim --port 0 \
        >"$T/$1.url" 2>"$T/$1.log" &
    pids="$pids $!"
    for i in $(seq 1 100); do [ -s "$T/$1.url" ] && break; sleep 0.1; done
    head -n1 "$T/$1.url"
}
for n in 1 4; do
    boards=""
    for a in $(seq 1 $n); do boards="$boards --board $(start_agent "a$n$a")"; done
    t0=$(date +%s.%N)
    "$VITSKIP" search --model models/demo --data "$DATA" --limit "$IMAGES" $boards \
        --db "$T/f$n.db" --budget "$BUDGET" --offspring 4 --seed 1 -q >/dev/null
    t1=$(date +%s.%N)
    eval "t_$n=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    pids=""
done
echo "farm: $BUDGET paths x $IMAGES images, sim boards behind vitskip agents on loopback," \
    "VK_SIM_THREADS=${VK_SIM_THREADS:-1} per agent, $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p'))"
printf '%-9s %10s %14s\n' agents "wall s" "paths/s"
awk -v b="$BUDGET" -v t1="$t_1" -v t4="$t_4" 'BEGIN {
    printf "%-9s %10.1f %14.3f\n", 1, t1, b / t1
    printf "%-9s %10.1f %14.3f\n", 4, t4, b / t4
    printf "ratio 4 vs 1: %.2fx (measured wall time; the sim board is CPU-bound, so the\n", t1 / t4
    printf "ratio is at most min(4, cores / VK_SIM_THREADS) on one machine)\n" }'
