#!/bin/sh
# Every library header's usage example compiles: the example (the last block
# of code lines, indented by five spaces, in the header's opening comment) is
# extracted and compiled (-fsyntax-only, warnings as errors) inside a
# function whose prelude below declares what the example takes as given (a
# model, images, an error buffer...). A header whose example drifted from
# its API fails here.
. tests/vk_test.sh
CC=${CC:-cc}
# shellcheck disable=SC2046
CFLAGS="-std=c11 -D_GNU_SOURCE -I. $(pkg-config --cflags libcjson 2>/dev/null) -Wall -Wextra -Werror
        -Wno-unused-variable -Wno-unused-but-set-variable -Wno-unused-parameter
        -Wno-uninitialized -Wno-maybe-uninitialized"

# example HEADER: the example's lines
example() {
    awk '
    NR == 1 && !/^\/\*/ { exit }
    { end_c = /\*\// }
    /^ \*     [^ ]/ || (inblk && /^ \*      /) {
        if (!inblk) { n = 0; inblk = 1 }
        line = $0; sub(/\*\/.*$/, "", line); blk[++n] = substr(line, 8)
        if (end_c) exit
        next
    }
    { if (inblk) { m = n; for (i = 1; i <= n; i++) last[i] = blk[i] } inblk = 0 }
    end_c { exit }
    END {
        if (inblk) { m = n; for (i = 1; i <= n; i++) last[i] = blk[i] }
        for (i = 1; i <= m; i++) print last[i]
    }' "$1"
}

# prelude HEADER: declarations the example assumes, one statement a line
prelude() {
    case $1 in
    host/vk_calib.h) echo 'vk_model model; vk_dataset calib_images; vk_qmodel q; vk_progress_fn bar = 0;
        int pr;' ;;
    host/vk_data.h) echo 'const char *path = "x"; vk_model model; float img[784];' ;;
    host/vk_fast.h) echo 'vk_qmodel q; const int8_t *imgs = 0; int n = 1; int32_t *outs = 0;' ;;
    host/vk_prefix.h) echo 'vk_fast_ctx *fast = 0; const uint32_t *modes[2] = {0}; const int8_t *imgs = 0;
        int n = 1; int32_t *outs = 0; int n_genomes = 1;' ;;
    host/vk_quant.h) echo 'vk_model m; vk_ref_ws *ws = 0; float *img[4] = {0}; float logits[10];
        int i, n = 4; int8_t img8[784];' ;;
    host/vk_ref.h) echo 'vk_model m; const float *img = 0; const uint32_t *modes = 0;' ;;
    host/vk_safetensors.h) echo 'float dst[64 * 64];' ;;
    host/vk_sha256.h) echo 'const uint8_t *buf = 0; size_t len = 0;' ;;
    host/vk_status.h) echo 'vk_model m;' ;;
    host/vk_workload.h) echo 'const char *path = "x"; vk_board *b = 0;' ;;
    host/vk_clock.h) echo 'void (*work)(void) = 0;' ;;
    boards/vk_board.h) echo 'vk_qmodel qm; const int8_t *imgs = 0; int n = 1; const uint32_t *modes = 0;
        vk_img_result res[1]; vk_measure meas;' ;;
    boards/vk_cycles.h) echo 'vk_qmodel q; const uint32_t *modes = 0;' ;;
    boards/vk_hwmon.h) echo 'vk_source energy_src; void (*run_images)(void) = 0; double joules, watts;' ;;
    boards/vk_resource.h) echo 'vk_cycles_hw hw;' ;;
    search/vk_evo.h) echo 'uint64_t seed = 1; const vk_genome *full = 0; vk_genome batch[16]; int n, i;
        double obj[2] = {0}, violation = 0;' ;;
    search/vk_cascade.h) echo 'const int32_t *ent = 0; const uint8_t *ok_low = 0, *ok_high = 0; int n = 4;
        double lat_low = 1, lat_high = 2;' ;;
    search/vk_objective.h) echo 'vk_measure m;' ;;
    search/vk_proxy.h) echo 'vk_workload w; vk_imageset vs; vk_genome genome;' ;;
    search/vk_levels.h) echo 'vk_board *b = 0; vk_qmodel tuned, full; int n_val = 1, n = 1;
        const int8_t *tuned_val = 0, *full_val = 0, *tuned_test = 0, *full_test = 0;
        vk_img_result *val_res[2] = {0}, *res = 0; uint8_t *level = 0; vk_measure meas[2];
        vk_levels_sweep_in in;' ;;
    search/vk_search.h) echo 'const char *path = "x";' ;;
    boards/vk_wire.h) echo 'const char *req = "{}"; size_t req_len = 2;' ;;
    db/vk_store.h) echo 'vk_run_info run; vk_path_rec rec; int n_images = 1;
        const char *model_hash = "", *data_hash = "";' ;;
    esac
}

# examples known to be stale in files another change owns right now: their
# failure is a SKIP that says so, and once they compile the entry must go
known_stale=""
stale() { case " $known_stale " in *" $1 "*) return 0 ;; esac; return 1; }

includes=$(for h in host/*.h boards/*.h search/*.h db/*.h; do printf '#include "%s"\n' "$h"; done)
for h in host/*.h boards/*.h search/*.h db/*.h; do
    ex=$(example "$h")
    if [ -z "$ex" ]; then
        skip "$h has no usage example"
        continue
    fi
    c="$T/$(echo "$h" | tr / _).c"
    {
        printf '%s\n' "$includes"
        printf '#include <limits.h>\n#include <stdio.h>\n#include <stdlib.h>\n'
        printf 'static void die(const char *msg) { fprintf(stderr, "%%s\\n", msg); exit(1); }\n'
        printf 'void example(void);\nvoid example(void)\n{\n    (void)die;\n'
        # the error buffer, unless the example declares its own
        printf '%s\n' "$ex" | grep -q 'vk_err err' || printf '    vk_err err = {{0}};\n'
        prelude "$h"
        printf '#line 1 "%s: usage example"\n' "$h"
        printf '%s\n' "$ex"
        printf '}\n'
    } >"$c"
    # shellcheck disable=SC2086
    if out=$($CC $CFLAGS -fsyntax-only "$c" 2>&1); then
        if stale "$h"; then ko "$h: its example compiles now; drop it from known_stale"; else ok; fi
    elif stale "$h"; then
        skip "$h: usage example known to be stale ($(printf '%s\n' "$out" | grep -m1 error))"
    else
        ko "$h: its usage example does not compile:"
        printf '%s\n' "$ex" | sed 's/^/    /'
        printf '%s\n' "$out" | grep -E 'error' | head -5
    fi
done
summary header_examples
