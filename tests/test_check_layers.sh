#!/bin/sh
# tools/check_layers.sh passes on the tree, and catches each planted
# include against the layers (on a copy of the sources).
. tests/vk_test.sh
if out=$(sh tools/check_layers.sh); then ok; else ko "the tree breaks the layers: $out"; fi

# plant FILE LINE PATTERN: the copy with LINE added to FILE must fail,
# naming FILE and matching PATTERN
plant() {
    rm -rf "$T/tree" && mkdir "$T/tree"
    cp -r kernels host boards search db tests tools "$T/tree/"
    printf '%s\n' "$2" >>"$T/tree/$1"
    out=$(sh tools/check_layers.sh "$T/tree")
    if [ $? -eq 1 ]; then ok; else ko "$1 += '$2' not rejected: $out"; fi
    if printf '%s' "$out" | grep -q "$1:.*$3"; then ok; else ko "$1 += '$2': no '$3' in: $out"; fi
}
plant search/vk_search.c '#include "../host/cli/vk_cli.h"' 'search may include only'
plant db/vk_store.h '#include "../boards/vk_board.h"' 'db may include only'
plant host/vk_model.c '#include "boards/vk_board.h"' 'host may include only'
plant boards/vk_board.c '#include "../search/vk_evo.h"' 'boards may include only'
plant kernels/vk_kernel.c '#include "../host/vk_status.h"' 'kernels may include only'
plant tests/test_hv.c '#include "host/cli/vk_cli.h"' 'tests may include only'
plant host/vk_data.c '#include "vk_nowhere.h"' 'not a file of the tree'
# the allowed edges still pass: the CLI may include every layer
rm -rf "$T/tree" && mkdir "$T/tree" && cp -r kernels host boards search db tests tools "$T/tree/"
printf '#include "search/vk_search.h"\n' >>"$T/tree/host/cli/main.c"
if out=$(sh tools/check_layers.sh "$T/tree"); then ok; else ko "cli -> search rejected: $out"; fi
summary check_layers
