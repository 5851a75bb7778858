#!/bin/sh
# `make demo`: a co-search on the bundled Fashion-MNIST ViT with the default
# board (sim: the kernel's C simulation + the ZCU102 cycle/energy model),
# then the Pareto table. Prints how long it took.
set -e
VITSKIP=${1:-build/vitskip}
DATA=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
DB=${VK_DEMO_DB:-demo.db}
rm -f "$DB" "$DB-wal" "$DB-shm"
start=$(date +%s)
"$VITSKIP" search --model models/demo --data "$DATA" --limit "${VK_DEMO_IMAGES:-500}" \
    --board sim --db "$DB" --objective edp --max-acc-drop 1.0 --strategy nsga2 \
    --budget "${VK_DEMO_BUDGET:-32}" --seed 1
end=$(date +%s)
echo
echo "demo: co-search finished in $((end - start)) s on $(nproc) cores; results in $DB"
echo "next: $VITSKIP show --db $DB"
