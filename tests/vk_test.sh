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
