#!/bin/sh
# `make bench-mixed`: the co-search on the mixed-mode space (`--space all`:
# attention full, skipped, reused or shared by the heads; 100/85/70/50% of
# the tokens kept; 0/25/50% of the FFN dropped; 30 genes per encoder, about
# 3.5 x 10^11 valid paths of the demo model), too large to sweep, so there
# is no true front: each strategy's searches (`vitskip search`, seeds
# 1..N, one sim board, the demo's images, error vs EDP, max drop 1.0) share
# one database, and each run's hypervolume after B measurements is read as
# a % of the union of every path any run measured (tools/optuna_bench.py
# --union). Runs measure on the board (sim: latency and energy modeled);
# a path measured by an earlier run is answered from the database.
# VK_MIXED_DB keeps (and reuses) the database; VK_MIXED_SEEDS (default 10),
# VK_MIXED_BUDGETS (default 16,32,64; the searches run to the largest),
# VK_MIXED_STRATEGIES (default nsga2,random,predict) change the run.
set -e
VITSKIP=${1:-build/vitskip}
DATA=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
DB=${VK_MIXED_DB:-mixed.db}
SEEDS=${VK_MIXED_SEEDS:-10}
BUDGETS=${VK_MIXED_BUDGETS:-16,32,64}
TOP=$(echo "$BUDGETS" | tr ',' '\n' | sort -n | tail -1)
start=$(date +%s)
for st in $(echo "${VK_MIXED_STRATEGIES:-nsga2,random,predict}" | tr ',' ' '); do
    seed=1
    while [ "$seed" -le "$SEEDS" ]; do
        if [ -z "$(sqlite3 "$DB" "select id from runs where strategy = '$st' and seed = $seed \
                and budget = $TOP and status = 'done'" 2>/dev/null)" ]; then
            echo "mixed_bench: $st seed $seed ($(($(date +%s) - start)) s)" >&2
            "$VITSKIP" search --model models/demo --data "$DATA" --limit "${VK_DEMO_IMAGES:-500}" \
                --space all --board sim --db "$DB" --objective edp --max-acc-drop 1.0 \
                --strategy "$st" --seed "$seed" --budget "$TOP" -q > /dev/null
        fi
        seed=$((seed + 1))
    done
done
echo "mixed_bench: searches done in $(($(date +%s) - start)) s on $(nproc) cores" >&2
/usr/bin/python3 "$(dirname "$0")/optuna_bench.py" --union "$DB" --budgets "$BUDGETS"
