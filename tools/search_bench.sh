#!/bin/sh
# `make bench-search`: how good is the co-search, against Optuna on equal
# terms? Measures every path of the demo model's space on the sim board
# (`vitskip sweep`, the true front; about 2 minutes on 2 cores), then runs
# vitskip's strategies (`vitskip search-bench`) and Optuna's samplers
# (tools/optuna_bench.py: NSGA-II default and small population, TPE default
# and multivariate, random) against it, 50 seeds each, budgets 16/32/64/128,
# every proposal answered by the sweep's stored measurement (no further board
# time), and prints one table per accounting. Same settings as `make demo`.
# VK_SWEEP_DB reuses (or keeps) the sweep's database; VK_BENCH_SEEDS,
# VK_BENCH_BUDGETS and VK_BENCH_JOBS (Optuna studies in parallel) change the
# run; VK_SWEEP_ARGS replaces the sweep's model, data and space options.
# VK_SWEEP_SPACE sweeps another space than the F/S skips and VK_SWEEP_DROP
# sets the sweep's (hence every search's) --max-acc-drop (default 1.0): the
# README's second benchmark, where a pruned encoder makes the encoders after
# it cheaper, is
#   VK_SWEEP_DB=sweep-k50.db VK_SWEEP_SPACE=F:k50 VK_SWEEP_DROP=5 sh tools/search_bench.sh
set -e
VITSKIP=${1:-build/vitskip}
DATA=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
DB=${VK_SWEEP_DB:-sweep.db}
SEEDS=${VK_BENCH_SEEDS:-50}
BUDGETS=${VK_BENCH_BUDGETS:-16,32,64,128}
if [ ! -s "$DB" ]; then
    start=$(date +%s)
    # shellcheck disable=SC2086
    "$VITSKIP" sweep ${VK_SWEEP_ARGS:---model models/demo --data "$DATA" --limit "${VK_DEMO_IMAGES:-500}"} \
        ${VK_SWEEP_SPACE:+--space "$VK_SWEEP_SPACE"} --board sim --board sim --db "$DB" \
        --objective edp --max-acc-drop "${VK_SWEEP_DROP:-1.0}" >"$DB.sweep.txt"
    echo "sweep: every path measured in $(($(date +%s) - start)) s on $(nproc) cores" \
        "(table in $DB.sweep.txt)"
fi
"$VITSKIP" search-bench --db "$DB" --seeds "$SEEDS" --budgets "$BUDGETS" --csv "$DB.vitskip.csv"
/usr/bin/python3 "$(dirname "$0")/optuna_bench.py" --db "$DB" --seeds "$SEEDS" --budgets "$BUDGETS" \
    --vitskip-csv "$DB.vitskip.csv" --csv "$DB.all.csv" --jobs "${VK_BENCH_JOBS:-$(nproc)}"
