#!/bin/sh
# The float reference (host/vk_ref.c) computes every per-encoder mode as
# tools/vkvit.py (PyTorch) does: genomes mixing F, S, R, H, token pruning
# and FFN sparsity, on the demo model (200 test images) and the 197-token
# model (24 images), logits made by PyTorch now and compared by test_ref.
. tests/vk_test.sh
torch_python || { summary ref_modes; exit 1; }
D=$(dirname "$DATA")
BUILD=${BUILD:-build}
run() { # MODEL N GENOME...
    m=$1 n=$2
    shift 2
    "$PY" tools/make_reference.py --model "$m" --data "$D" --modes "$T/ref.bin" --n "$n" "$@" \
        >"$T/py" 2>&1 || { ko "make_reference $m: $(tail -3 "$T/py")"; return; }
    "$BUILD/tests/test_ref" "$m" "$T/ref.bin" >"$T/c" 2>&1 && ok || ko "$m: $(cat "$T/c")"
    grep -v '^ref_modes' "$T/c"
}
run models/demo 200 FFFFFFFF H:k70FRS:f50FFFF FHRRF:k50SH:f25R:f50 H:k85H:k50HF:k70FFFF:f50 \
    FSRFFFFF HHHHHHHH F:k1FFFFFFF:f99
run models/fm197 24 FFFFFFFFFFFF FSFSFSFSFSFS H:k70FRRF:k50SH:f25RFH:k85FR:f50 \
    FFH:k50FRRRRRRRR F:k85:f25F:k85:f25F:k85:f25F:k85:f25FFFFFFFF
summary ref_modes
