#!/bin/sh
# make bench: vitskip's native int8 path against PyTorch (float32), same
# models, images and thread count, in one run and one table.
#
#   sh tools/bench.sh [path/to/vitskip]
#
# Environment: THREADS (default: all online CPUs), LIMIT (throughput images,
# default all 10,000), LAT_N (single images timed, default 1000), DEIT_REPS
# (default 7), MODEL (default models/demo), DATA (default the Fashion-MNIST
# test set). vitskip gets OMP_NUM_THREADS=THREADS; the peer gets
# torch.set_num_threads(THREADS) and OPENBLAS_NUM_THREADS=THREADS (Debian's
# torch reaches OpenBLAS through the generic BLAS interface, so torch's own
# setting does not reach it). Without models/demo the demo rows are skipped;
# without PyTorch only vitskip's rows are printed.
set -e
cd "$(dirname "$0")/.."
VITSKIP=${1:-${VITSKIP:-build/vitskip}}
THREADS=${THREADS:-$(nproc)}
LIMIT=${LIMIT:-0}
LAT_N=${LAT_N:-1000}
DEIT_REPS=${DEIT_REPS:-7}
MODEL=${MODEL:-models/demo}
DATA=${DATA:-/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz}
PY=/usr/bin/python3 # Debian's interpreter, where python3-torch lives

if [ ! -x "$VITSKIP" ]; then
    echo "bench: $VITSKIP not found; run 'make' first" >&2
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

demo="--model $MODEL --data $DATA --lat-n $LAT_N"
peer_demo="--model $MODEL --data $DATA --lat-n $LAT_N"
if [ "$LIMIT" -gt 0 ]; then
    demo="$demo --limit $LIMIT"
    peer_demo="$peer_demo --limit $LIMIT"
fi
if [ ! -f "$MODEL/model.safetensors" ]; then
    echo "bench: $MODEL/model.safetensors not found: demo rows skipped" >&2
    demo="--no-demo"
    peer_demo="--no-demo"
fi
case "$demo" in --no-demo) ref= ;; *) ref="--ref-out $tmp/ref.bin" ;; esac

echo "bench: vitskip ($VITSKIP), $THREADS threads ..." >&2
# shellcheck disable=SC2086
OMP_NUM_THREADS=$THREADS "$VITSKIP" bench --tsv $demo $ref --deit-reps "$DEIT_REPS" \
    >"$tmp/vitskip.tsv"

if ! $PY -c 'import torch' 2>/dev/null; then
    echo "bench: PyTorch not importable by $PY (apt-get install python3-torch); vitskip only:" >&2
    cat "$tmp/vitskip.tsv"
    exit 0
fi
echo "bench: PyTorch peer, $THREADS threads ..." >&2
[ -n "$ref" ] && peer_demo="$peer_demo --ref $tmp/ref.bin"
# shellcheck disable=SC2086
OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS $PY tools/bench_peer.py \
    --threads "$THREADS" $peer_demo --deit-reps "$DEIT_REPS" --vitskip-tsv "$tmp/vitskip.tsv"
