#!/bin/sh
# tools/vkvit.py (the PyTorch ViT with vitskip's per-encoder modes) against
# an independent plain implementation of every mode, a hand-made pruning
# case, the FFN permutation and the safetensors round trip
# (tests/test_vkvit.py). Needs a python3 with torch (Debian's python3-torch,
# installed by tools/install-deps.sh); VK_PYTHON names another.
. tests/vk_test.sh
PY=${VK_PYTHON:-}
for p in python3 /usr/bin/python3; do
    [ -z "$PY" ] && "$p" -c "import torch" 2>/dev/null && PY=$p
done
[ -n "$PY" ] || { ko "no python3 with torch (apt-get install python3-torch)"; summary vkvit; exit 1; }
"$PY" tests/test_vkvit.py > "$T/out" 2>&1 && ok || ko "$(cat "$T/out")"
tail -1 "$T/out"
summary vkvit
