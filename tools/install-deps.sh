#!/bin/sh
# Installs what vitskip needs on Debian 12 (run as root). Idempotent: does
# nothing when every package is already there. `make deps` runs it.
#   VK_DEPS_EXTRA="bench"  also installs the benchmark's PyTorch peer
set -e
pkgs="gcc make python3 pkg-config libsqlite3-dev libcurl4-openssl-dev libmicrohttpd-dev \
libcjson-dev libpng-dev libjpeg-dev zlib1g-dev libxrt-dev dataset-fashion-mnist \
gcc-aarch64-linux-gnu qemu-user dpkg-dev xz-utils clang libclang-rt-14-dev sqlite3"
case " $VK_DEPS_EXTRA " in *" bench "*) pkgs="$pkgs python3-torch libopenblas0" ;; esac
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages:$missing (run as root, or install them)" >&2
    exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
