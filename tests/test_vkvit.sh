#!/bin/sh
# tools/vkvit.py (the PyTorch ViT with vitskip's per-encoder modes) against
# an independent plain implementation of every mode, a hand-made pruning
# case, the FFN permutation and the safetensors round trip
# (tests/test_vkvit.py).
. tests/vk_test.sh
torch_python || { summary vkvit; exit 1; }
"$PY" tests/test_vkvit.py > "$T/out" 2>&1 && ok || ko "$(cat "$T/out")"
tail -1 "$T/out"
summary vkvit
