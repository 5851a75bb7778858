#!/bin/sh
# Fuzzes the agent's request handling (tests/agent_fuzz.c) for a bounded
# time: libFuzzer with AddressSanitizer/UBSan when clang has it (Debian:
# clang, libclang-rt-14-dev), else a deterministic random-mutation loop built
# with cc and the same sanitizers. Exit status non-zero on any finding (the
# crashing input is left in $OUT/crash-*).
#
#   sh tools/fuzz_agent.sh            # 20 s of fuzzing after the build
#   FUZZ_SECONDS=300 sh tools/fuzz_agent.sh
# Environment: BUILD (build tree, default build), FUZZ_SECONDS (default 20),
# FUZZ_RUNS (fallback loop only, default 20000), CLANG (default clang).
# Run from the repository root (the sim board reads boards/zcu102.json).
set -eu

BUILD=${BUILD:-build}
OUT=$BUILD/fuzz
SECONDS_=${FUZZ_SECONDS:-20}
CLANG=${CLANG:-clang}
SRC="boards/vk_agent.c boards/vk_wire.c boards/vk_board.c boards/vk_board_sim.c boards/vk_cycles.c
     kernels/vk_kernel.c host/vk_quant.c host/vk_ref.c host/vk_model.c
     host/vk_safetensors.c host/vk_sha256.c host/vk_status.c host/vk_datafile.c
     host/vk_fast.c host/vk_prefix.c host/vk_env.c boards/vk_measure.c boards/vk_resource.c"
CPPFLAGS="-D_GNU_SOURCE -I. -I/usr/include/cjson"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
LIBS="-lcjson -lmicrohttpd -lm -pthread -fopenmp"

mkdir -p "$OUT/corpus" "$OUT/seeds" "$OUT/obj"

# Seeds: byte 0 method, 1 path, 2 content type, 3 auth, 4 body kind (see
# tests/agent_fuzz.c); \001 and \002 stand for the held model and dataset.
seed() { printf "$2" > "$OUT/seeds/$1"; }
seed status       '\000\000\000\001\000'
seed measure      '\003\001\002\001\003{"model":"\001","dataset":"\002","n":2,"modes":[25600,25601]}'
seed cascade      '\003\001\002\001\003{"model":"\001","dataset":"\002","n":6,"modes":[25600,25601],"modes_high":[25600,25600],"threshold_q16":1000,"resume":1}'
seed badjson      '\003\001\002\001\003{"model":"\001","n":[1,{"x":null}],"modes":"'
seed model        '\002\002\001\001\001\000\010\001\000\041\377'
seed dataset      '\002\003\001\001\002\000\011\377'
seed head         '\001\004\000\001\000'
seed path         '\000\007\000\001\000/v1/models/../../etc/passwd'
seed noauth       '\002\005\001\000\002'

if printf 'int LLVMFuzzerTestOneInput(const char *d, long n){return 0;}' |
   $CLANG -x c -fsanitize=fuzzer -o "$OUT/probe" - 2>/dev/null; then
    echo "fuzz_agent: libFuzzer ($CLANG), ${SECONDS_} s"
    objs=""
    pids=""
    rm -f "$OUT"/obj/*.o
    for s in $SRC; do
        o="$OUT/obj/$(echo "$s" | tr / _).o"
        # coverage only where the requests are handled
        cov=""
        case $s in boards/vk_agent.c | boards/vk_wire.c | host/vk_quant.c) cov="-fsanitize=fuzzer-no-link" ;; esac
        $CLANG $CPPFLAGS -O1 -g $SAN $cov -c "$s" -o "$o" &
        pids="$pids $!"
        objs="$objs $o"
    done
    for p in $pids; do wait "$p" || { echo "fuzz_agent: compile failed" >&2; exit 1; }; done
    $CLANG $CPPFLAGS -O1 -g $SAN -fsanitize=fuzzer tests/agent_fuzz.c $objs $LIBS \
        -o "$OUT/agent_fuzz"
    "$OUT/agent_fuzz" -max_total_time="$SECONDS_" -max_len=8192 -timeout=20 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$OUT/" \
        "$OUT/corpus" "$OUT/seeds"
else
    echo "fuzz_agent: no libFuzzer; deterministic mutation loop (${FUZZ_RUNS:-20000} runs)"
    cc $CPPFLAGS -O1 -g $SAN -DVK_FUZZ_STANDALONE tests/agent_fuzz.c $SRC $LIBS \
        -o "$OUT/agent_fuzz_loop"
    "$OUT/agent_fuzz_loop" "$OUT"/seeds/*
fi
