#!/bin/sh
# Builds a static aarch64 `vitskip-agent`: the `vitskip agent` command alone
# (host/cli/vk_cmd_agent.c built with -DVK_AGENT_MAIN) with the sim and cpu
# boards, for the ZCU102's ARM Linux or any arm64 Linux. Static, so it runs
# whatever libc the board has. Needs no libcurl, SQLite or image library.
#
#   sh tools/cross_aarch64.sh        # -> $BUILD/aarch64/vitskip-agent
#
# Needs: gcc-aarch64-linux-gnu, dpkg-dev (dpkg-source), and Debian's package
# sources reachable by apt. libmicrohttpd (HTTPS off) and cJSON are built
# from Debian's source packages, fetched with `apt-get source` into the
# build tree with a private apt state: the system's apt configuration and
# architectures are left as they are. A second run reuses them.
# Environment: BUILD (default build), CROSS (default aarch64-linux-gnu-).
# On the board: copy the binary and boards/zcu102.json (the sim board reads
# ./boards/zcu102.json or <exe dir>/../boards/zcu102.json), then run
# `vitskip-agent --listen ADDR:PORT --token-file FILE`.
set -eu

BUILD=${BUILD:-build}
CROSS=${CROSS:-aarch64-linux-gnu-}
ROOT=$(pwd)
OUT=$ROOT/$BUILD/aarch64
APT=$OUT/apt
SRC=$OUT/src
OBJ=$OUT/obj
CC_A=${CROSS}gcc

command -v "$CC_A" >/dev/null || {
    echo "cross_aarch64: $CC_A not found (apt-get install gcc-aarch64-linux-gnu)" >&2
    exit 1
}
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/parts" "$SRC" "$OBJ"

# --- 1. Debian source packages of libmicrohttpd and cJSON -------------------
if ! ls -d "$SRC"/libmicrohttpd-*/ "$SRC"/cjson-*/ >/dev/null 2>&1; then
    # the system's Debian sources, as deb-src, in a private apt state
    rm -f "$APT/parts/"*
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && grep -q debian-archive-keyring "$f" &&
            sed 's/^Types:.*/Types: deb-src/' "$f" > "$APT/parts/$(basename "$f")"
    done
    if [ -f /etc/apt/sources.list ]; then
        sed -n 's/^deb \(.*debian.*\)/deb-src \1/p' /etc/apt/sources.list > "$APT/parts/list.list"
    fi
    ls "$APT/parts/"* >/dev/null 2>&1 || {
        echo "cross_aarch64: no Debian apt sources found in /etc/apt" >&2
        exit 1
    }
    APTO="-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$APT/parts
          -o Dir::State::Lists=$APT/lists -o Dir::Cache=$APT/cache
          -o APT::Sandbox::User=root -o Debug::NoLocking=1"
    echo "cross_aarch64: fetching the libmicrohttpd and cjson source packages"
    # shellcheck disable=SC2086
    apt-get $APTO -q update >"$OUT/apt.log" 2>&1 || {
        cat "$OUT/apt.log" >&2
        exit 1
    }
    # shellcheck disable=SC2086
    (cd "$SRC" && apt-get $APTO -q source libmicrohttpd cjson) >>"$OUT/apt.log" 2>&1 || {
        cat "$OUT/apt.log" >&2
        exit 1
    }
fi
MHD_SRC=$(ls -d "$SRC"/libmicrohttpd-*/ | head -1)
CJSON_SRC=$(ls -d "$SRC"/cjson-*/ | head -1)

# --- 2. libmicrohttpd, static, no HTTPS --------------------------------------
MHD_A=$OUT/mhd/src/microhttpd/.libs/libmicrohttpd.a
if [ ! -f "$MHD_A" ]; then
    echo "cross_aarch64: building libmicrohttpd for aarch64"
    mkdir -p "$OUT/mhd"
    (cd "$OUT/mhd" && "$MHD_SRC/configure" --host=aarch64-linux-gnu CC="$CC_A" \
        --disable-shared --enable-static --disable-https --without-gnutls --disable-curl \
        --disable-doc --disable-examples && make -C src/microhttpd -j2) >"$OUT/mhd.log" 2>&1 || {
        tail -30 "$OUT/mhd.log" >&2
        exit 1
    }
fi

# --- 3. cJSON ---------------------------------------------------------------
mkdir -p "$OUT/include"
cp "$CJSON_SRC/cJSON.h" "$MHD_SRC/src/include/microhttpd.h" "$OUT/include/"

# --- 4. the agent -------------------------------------------------------------
CFLAGS="-O2 -g0 -std=c11 -D_GNU_SOURCE -I. -I$OUT/include -fopenmp -pthread
        -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Werror
        -Wno-unused-label"
LIB_SRC="kernels/vk_kernel.c host/cli/vk_cli.c host/vk_clock.c host/vk_env.c host/vk_status.c host/vk_sha256.c
         host/vk_quant.c host/vk_ref.c host/vk_model.c host/vk_safetensors.c host/vk_datafile.c
         boards/vk_agent.c boards/vk_wire.c boards/vk_board.c boards/vk_measure.c
         boards/vk_cycles.c boards/vk_board_sim.c search/vk_genome.c search/vk_objective.c
         search/vk_rng.c"
# the cpu board (and the fast path it runs) is left out, with a warning,
# when it does not build for aarch64
CPU_SRC="boards/vk_board_cpu.c host/vk_fast.c host/vk_prefix.c boards/vk_hwmon.c"
echo "cross_aarch64: compiling the agent"
rm -f "$OBJ"/*.o "$OBJ"/*.log
$CC_A -O2 -c "$CJSON_SRC/cJSON.c" -o "$OBJ/cJSON.o"

# compile SRC...: starts one compiler per file; prints the objects
compile() {
    for s in "$@"; do
        [ -f "$s" ] || continue
        o="$OBJ/$(echo "$s" | tr / _).o"
        extra=""
        case $s in kernels/*) extra="-Wno-unknown-pragmas" ;; esac
        # shellcheck disable=SC2086
        ($CC_A $CFLAGS $extra -c "$s" -o "$o" 2>"$o.log" || rm -f "$o") &
        echo "$o"
    done
}
objs=$(compile $LIB_SRC)
cpu_objs=$(compile $CPU_SRC)
# shellcheck disable=SC2086
$CC_A $CFLAGS -DVK_AGENT_MAIN -c host/cli/vk_cmd_agent.c -o "$OBJ/main.o"
wait
for o in $objs "$OBJ/main.o"; do
    [ -f "$o" ] || { cat "$o.log" >&2; echo "cross_aarch64: compile failed" >&2; exit 1; }
done
for o in $cpu_objs; do
    if [ ! -f "$o" ]; then
        echo "cross_aarch64: warning: cpu board left out (does not build for aarch64):" >&2
        grep -m3 error "$o.log" >&2 || true
        cpu_objs=""
        break
    fi
done
# the board back-ends are referenced weakly: linked as objects, the rest from
# an archive so that only what the agent uses comes in
lib_objs=""
board_objs=""
for o in $objs $cpu_objs; do
    case $o in *vk_board_sim.c.o | *vk_board_cpu.c.o) board_objs="$board_objs $o" ;;
    *) lib_objs="$lib_objs $o" ;; esac
done
rm -f "$OBJ/libvk.a"
# shellcheck disable=SC2086
${CROSS}ar rcs "$OBJ/libvk.a" $lib_objs
# shellcheck disable=SC2086
$CC_A -static -fopenmp -pthread -o "$OUT/vitskip-agent" "$OBJ/main.o" $board_objs "$OBJ/libvk.a" \
    "$MHD_A" "$OBJ/cJSON.o" -lm
echo "cross_aarch64: $BUILD/aarch64/vitskip-agent ($(wc -c <"$OUT/vitskip-agent") bytes," \
     "boards: sim${cpu_objs:+, cpu})"
