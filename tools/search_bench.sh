#!/bin/sh
# `make bench-search`: how good is the co-search? Measures every path of the
# demo model's space on the sim board (`vitskip sweep`, the true front; about
# 15 minutes on 2 cores), then runs NSGA-II and random search against it
# (`vitskip search-bench`, no further board time). Same settings as
# `make demo`. VK_SWEEP_DB reuses (or keeps) the sweep's database.
set -e
VITSKIP=${1:-build/vitskip}
DATA=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
DB=${VK_SWEEP_DB:-sweep.db}
if [ ! -s "$DB" ]; then
    start=$(date +%s)
    "$VITSKIP" sweep --model models/demo --data "$DATA" --limit "${VK_DEMO_IMAGES:-500}" \
        --board sim --board sim --db "$DB" --objective edp --max-acc-drop 1.0 >"$DB.sweep.txt"
    echo "sweep: every path measured in $(($(date +%s) - start)) s on $(nproc) cores" \
        "(table in $DB.sweep.txt)"
fi
"$VITSKIP" search-bench --db "$DB" --seeds "${VK_BENCH_SEEDS:-50}" --budgets 32,64,128
