#!/bin/sh
# test_qemu_agent: the static aarch64 agent (tools/cross_aarch64.sh) runs
# under qemu-aarch64 serving the sim board on loopback; the x86 test_remote
# measures a path and a cascade through it (VK_REMOTE_URL) and checks that
# per-image results and every figure equal the local sim board's.
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
echo "test_qemu_agent: $(($(date +%s) - start)) s"
[ $rc -eq 0 ] && echo "qemu_agent: 1 passed, 0 failed" || echo "qemu_agent: 0 passed, 1 failed"
exit $rc
