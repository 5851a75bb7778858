# vk_test.sh: what the shell tests share (sourced from the repository root,
# like tests/vk_test.h for the C tests): the binary, the Fashion-MNIST test
# set, a scratch folder $T removed on exit (after $vk_cleanup, a command a
# test may set), pass/fail counters and the summary line.
VITSKIP=${VITSKIP:-build/vitskip}
DATA=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
T=$(mktemp -d)
vk_cleanup=:
trap 'eval "$vk_cleanup"; rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
ko() { fail=$((fail + 1)); echo "FAIL: $*"; }
# summary NAME: prints the counts; fails when a check failed
summary() { echo "$1: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; }
# torch_python: sets PY to a python3 that imports torch (VK_PYTHON if set,
# else python3 or Debian's /usr/bin/python3); fails the test without one.
torch_python() {
    PY=${VK_PYTHON:-}
    for p in python3 /usr/bin/python3; do
        [ -z "$PY" ] && "$p" -c "import torch" 2>/dev/null && PY=$p
    done
    [ -n "$PY" ] || { ko "no python3 with torch (tools/install-deps.sh installs python3-torch)"; return 1; }
}
