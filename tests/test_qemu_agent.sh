#!/bin/sh
# test_qemu_agent: the static aarch64 agent (tools/cross_aarch64.sh) runs
# under qemu-aarch64 serving the sim board on loopback; the x86 test_remote
# measures a path and a cascade through it (VK_REMOTE_URL) and checks that
# per-image results and every figure equal the local sim board's. Then the
# same agent serves the cpu board (the fast path built for aarch64): its
# top-1 and entropy equal the sim board's.
# Needs gcc-aarch64-linux-gnu, qemu-user and dpkg-dev; run from the
# repository root. BUILD names the build tree (default build); the x86
# $BUILD/tests/test_remote is built by make if missing.
set -eu

BUILD=${BUILD:-build}
AGENT=$BUILD/aarch64/vitskip-agent
T=$BUILD/tests/test_remote
LOG=$BUILD/aarch64/qemu-agent.log
URLF=$BUILD/aarch64/qemu-agent.url
start=$(date +%s)

command -v qemu-aarch64 >/dev/null || {
    echo "test_qemu_agent: qemu-aarch64 not found (apt-get install qemu-user)" >&2
    exit 1
}
[ -x "$T" ] || make -s BUILD="$BUILD" "$T"
BUILD=$BUILD sh tools/cross_aarch64.sh

rm -f "$URLF"
qemu-aarch64 "$AGENT" --port 0 >"$URLF" 2>"$LOG" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT INT TERM
i=0
while ! grep -q '^http://' "$URLF" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 300 ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "test_qemu_agent: the aarch64 agent did not start:" >&2
        cat "$LOG" >&2
        exit 1
    fi
    sleep 0.1
done
url=$(head -1 "$URLF")
echo "test_qemu_agent: aarch64 agent under qemu at $url"

rc=0
VK_REMOTE_URL=$url VK_REMOTE_IMAGES=${VK_REMOTE_IMAGES:-96} timeout 170 "$T" || rc=$?
if [ $rc -ne 0 ]; then
    echo "test_qemu_agent: agent log:" >&2
    tail -20 "$LOG" >&2
fi
grep -q 'POST /v1/measure 200' "$LOG" || {
    echo "test_qemu_agent: the aarch64 agent logged no measurement" >&2
    rc=1
}
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true

# the cpu board on aarch64 (the fast path's portable code): top-1 and mean
# entropy of a skipping path equal the local sim board's (the kernel's)
rm -f "$URLF"
VITSKIP_CPU_TIMED=4 VITSKIP_SUFFIX_IMAGES=1 qemu-aarch64 "$AGENT" --board cpu --port 0 \
    >"$URLF" 2>"$LOG" &
pid=$!
i=0
while ! grep -q '^http://' "$URLF" 2>/dev/null && [ $i -lt 300 ]; do i=$((i + 1)); sleep 0.1; done
url=$(head -1 "$URLF")
VITSKIP=${VITSKIP:-$BUILD/vitskip}
[ -x "$VITSKIP" ] || make -s BUILD="$BUILD" "$VITSKIP"
DATA=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
ev() { "$VITSKIP" eval --model models/demo --data "$DATA" --limit 40 --skip 1,3,5 --board "$1" \
    2>/dev/null | grep -E '^(top-1|entropy)'; }
a=$(ev "$url") || a=""
b=$(ev sim)
if [ -n "$a" ] && [ "$a" = "$b" ]; then
    echo "test_qemu_agent: aarch64 cpu board = sim board: $(echo "$a" | head -1)"
else
    echo "test_qemu_agent: aarch64 cpu board gave '$a', sim '$b'" >&2
    tail -5 "$LOG" >&2
    rc=1
fi

echo "test_qemu_agent: $(($(date +%s) - start)) s"
[ $rc -eq 0 ] && echo "qemu_agent: 1 passed, 0 failed" || echo "qemu_agent: 0 passed, 1 failed"
exit $rc
