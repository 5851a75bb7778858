#!/bin/sh
# The kernel's C simulation on one DeiT-S-shaped encoder (224x224x3, patch
# 16, 384 wide, 6 heads, MLP 1536, 197 tokens, 1000 classes), full and with
# shared heads, pruning and FFN sparsity, against the independent Python
# reference: the inputs from tools/mk_golden (seeded), the expected bytes
# from tools/golden_ref.py, compared by the testbench. Made in the build
# tree at test time (2.5 MB of vectors are not kept in the repository).
. tests/vk_test.sh
BUILD=${BUILD:-build}
dir="$BUILD/golden/deits"
mkdir -p "$dir" && "$BUILD/tools/mk_golden" deits "$dir" >/dev/null && ok || ko "mk_golden"
/usr/bin/python3 tools/golden_ref.py "$dir" >/dev/null && ok || ko "golden_ref.py"
out=$("$BUILD/kernels/tb/vk_tb" "$dir") && ok || ko "the kernel differs: $out"
echo "$out"
summary golden_deits
