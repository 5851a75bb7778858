#!/bin/sh
# Installs the Debian 12 packages of tools/packages.txt (group `base`, plus
# the groups named in VK_DEPS_EXTRA, e.g. VK_DEPS_EXTRA="bench"), without
# recommends. Does nothing when every package is there. As root it installs
# what is missing; otherwise it prints the exact apt-get line and exits 1.
# `make deps` runs it; so do `make demo` and `make test`.
#
#   sh tools/install-deps.sh            install what is missing (root)
#   sh tools/install-deps.sh --print    print the apt-get line for the whole list
set -e
list="$(dirname "$0")/packages.txt"
groups="base $VK_DEPS_EXTRA"
pkgs=$(sed 's/#.*//' "$list" | awk -v g=" $groups " 'NF >= 2 && index(g, " " $2 " ") { print $1 }')
[ -n "$pkgs" ] || { echo "install-deps: no packages read from $list" >&2; exit 1; }
line() { echo "apt-get install -y --no-install-recommends" $*; }
if [ "$1" = "--print" ]; then
    line $pkgs
    exit 0
fi
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing Debian packages:$missing; as root, run:" >&2
    echo "    apt-get update && $(line $missing)" >&2
    exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
