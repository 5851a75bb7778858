#!/bin/sh
# `make install PREFIX=P` (and DESTDIR): the installed binary finds its data
# files next to itself (P/share/vitskip, host/vk_datafile.h) when run from
# a folder that has none: the default sim board loads, `eval` on the
# installed demo model prints modeled figures equal to the build tree's.
# A binary copied alone fails with an error naming what it looked for.
. tests/vk_test.sh
BUILD=${BUILD:-build}
P=$T/prefix
make -s --no-print-directory BUILD="$BUILD" install PREFIX="$P" >"$T/install.log" 2>&1 ||
    { cat "$T/install.log"; ko "make install"; }
for f in bin/vitskip share/vitskip/boards/zcu102.json share/vitskip/models/demo/config.json \
    share/vitskip/models/demo/model.safetensors share/doc/vitskip/README.md; do
    [ -f "$P/$f" ] && ok || ko "make install did not install $f"
done
[ -x "$P/bin/vitskip" ] && ok || ko "bin/vitskip is not executable"

top=$(pwd)
mkdir -p "$T/elsewhere"
ev() { "$1" eval --model "$2" --data "$DATA" --limit 20 --skip 1,3 2>&1 | grep -E '^(top-1|latency|energy)'; }
here=$(ev "$top/$VITSKIP" "$top/models/demo")
there=$(cd "$T/elsewhere" && ev "$P/bin/vitskip" "$P/share/vitskip/models/demo")
if [ -n "$here" ] && [ "$here" = "$there" ]; then ok; else
    ko "installed eval gave '$there', the build tree's '$here'"
fi
echo "$there" | grep -q 'latency .*\[modeled\]' && ok || ko "installed eval: no modeled latency"
(cd "$T/elsewhere" && "$P/bin/vitskip" boards) | grep -q "sim .*available.*$P/share/vitskip/boards/zcu102.json" &&
    ok || ko "installed 'vitskip boards' does not use $P/share/vitskip/boards/zcu102.json"

# DESTDIR stages the same tree under another root
make -s --no-print-directory BUILD="$BUILD" install PREFIX=/opt/vk DESTDIR="$T/stage" >/dev/null 2>&1 &&
    [ -f "$T/stage/opt/vk/share/vitskip/boards/zcu102.json" ] && ok || ko "DESTDIR install"

# the binary alone, with no data next to it nor in the working directory
mkdir -p "$T/alone/bin"
cp "$P/bin/vitskip" "$T/alone/bin/"
out=$(cd "$T/elsewhere" && "$T/alone/bin/vitskip" eval --model "$P/share/vitskip/models/demo" \
    --data "$DATA" --limit 5 2>&1) && ko "a lone binary evaluated on sim without its board file" || ok
echo "$out" | grep -q "boards/zcu102.json not found in $T/alone/bin/../share/vitskip" && ok ||
    ko "a lone binary's error does not say where it looked: $out"
summary install
