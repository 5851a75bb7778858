# vk_test.sh: what the shell tests share (sourced from the repository root,
# like tests/vk_test.h for the C tests): the binary, the Fashion-MNIST test
# set, a scratch folder $T removed on exit (after $vk_cleanup, a command a
# test may set), pass/fail/skip counters and the summary line, and the
# helpers poll (wait for a condition), bad (a refused command line) and die
# (fail and stop).
VITSKIP=${VITSKIP:-build/vitskip}
DATA=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
T=$(mktemp -d)
vk_cleanup=:
trap 'eval "$vk_cleanup"; rm -rf "$T"' EXIT
pass=0
fail=0
skip=0
ok() { pass=$((pass + 1)); }
ko() { fail=$((fail + 1)); echo "FAIL: $*"; }
# skip REASON: a part not run here, said so (tests/run.sh shows it)
skip() { skip=$((skip + 1)); echo "SKIP $(basename "$0"): $*"; }
# summary NAME: prints the counts; fails when a check failed or none was
# made; exits 77 (skipped) when every part was skipped
summary() {
    echo "$1: $pass passed, $fail failed, $skip skipped"
    [ "$fail" -eq 0 ] || return 1
    if [ "$pass" -eq 0 ]; then
        [ "$skip" -gt 0 ] && exit 77
        echo "$1: no check was made"; return 1
    fi
}
# poll TENTHS CMD...: runs CMD every 0.1 s until it succeeds; 1 after
# TENTHS tries
poll() {
    n=$1; shift
    while ! "$@"; do
        n=$((n - 1)); [ $n -gt 0 ] || return 1
        sleep 0.1
    done
}
# bad NAME RC TEXT ARGS...: `vitskip ARGS` must exit RC and print TEXT (a
# grep pattern) on stdout or stderr; a check named NAME
bad() {
    name=$1 want_rc=$2 want=$3
    shift 3
    "$VITSKIP" "$@" > "$T/bad.out" 2>&1
    rc=$?
    [ $rc = "$want_rc" ] && grep -q -- "$want" "$T/bad.out" && ok ||
        ko "$name: exit $rc, wanted $want_rc and '$want': $(tail -2 "$T/bad.out")"
}
# die MSG: records the failure, prints the summary and stops the test
die() { ko "$*"; summary "$(basename "$0" .sh)"; exit 1; }
# torch_python: sets PY to a python3 that imports torch (VK_PYTHON if set,
# else python3 or Debian's /usr/bin/python3); fails the test without one.
torch_python() {
    PY=${VK_PYTHON:-}
    for p in python3 /usr/bin/python3; do
        [ -z "$PY" ] && "$p" -c "import torch" 2>/dev/null && PY=$p
    done
    [ -n "$PY" ] || { ko "no python3 with torch (tools/install-deps.sh installs python3-torch)"; return 1; }
}
