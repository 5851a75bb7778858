#!/bin/sh
# `make fresh-check`: the README's quickstart on a fresh Debian 12 machine.
# Builds a minimal Debian 12 root with debootstrap (variant minbase: apt and
# the essential packages, no compiler, no make), copies a clean `git clone`
# of this repository's HEAD into it, and runs there, as root, exactly the
# README's quickstart: `apt-get install make`, `make demo`, `make test`. So
# tools/packages.txt must be complete: nothing installed by hand on this
# machine is visible inside. Exit status 0 when both commands pass.
#
# The root runs in its own mount and PID namespaces (unshare): /proc, /sys
# (read-only) and /dev are mounted there and vanish with the namespace, and
# any process left behind (an agent) ends with it. Network: the host's (the
# package mirror and loopback).
#
# Needs root, debootstrap and git (tools/packages.txt). Run from the
# repository root. Environment:
#   BUILD            build tree (default build); the root is $BUILD/fresh/root,
#                    logs in $BUILD/fresh/*.log (the root is removed on success)
#   VK_FRESH_CACHE   .deb cache kept between runs (default /var/cache/vitskip-fresh;
#                    empty: none, everything is downloaded)
#   VK_FRESH_MIRROR  Debian mirror (default http://deb.debian.org/debian)
#   VK_FRESH_KEEP=1  keep the root after a successful run
set -eu

BUILD=${BUILD:-build}
TOP=$(pwd)
F=$TOP/$BUILD/fresh
R=$F/root
CACHE=${VK_FRESH_CACHE-/var/cache/vitskip-fresh}
MIRROR=${VK_FRESH_MIRROR:-http://deb.debian.org/debian}
SECURITY=$(dirname "$MIRROR")/debian-security

die() { echo "fresh-check: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot and mounts)"
command -v debootstrap >/dev/null || die "debootstrap not found (make deps)"
command -v git >/dev/null || die "git not found (make deps)"
[ -z "$(git status --porcelain --untracked-files=no)" ] ||
    echo "fresh-check: note: uncommitted changes are not checked (the root gets HEAD)" >&2

# a mount still under $R (an earlier run killed mid-way outside its namespace)
# would make `rm -rf` reach the host's /dev or /proc: refuse instead
mounted() { awk -v r="$R/" 'index($2 "/", r) == 1' /proc/mounts; }
[ -z "$(mounted)" ] || die "something is still mounted under $R: $(mounted | head -1)"
rm -rf "$R"
mkdir -p "$F" "$R"
t0=$(date +%s)
step() { echo "fresh-check: $1 ($(($(date +%s) - t0)) s)"; }

dsopt=""
if [ -n "$CACHE" ]; then
    mkdir -p "$CACHE/debootstrap" "$CACHE/apt/partial"
    dsopt="--cache-dir=$CACHE/debootstrap"
fi
step "debootstrap --variant=minbase bookworm from $MIRROR"
# shellcheck disable=SC2086
debootstrap --variant=minbase $dsopt bookworm "$R" "$MIRROR" >"$F/debootstrap.log" 2>&1 || {
    tail -20 "$F/debootstrap.log" >&2
    die "debootstrap failed (log: $F/debootstrap.log)"
}
# what a Debian 12 installer writes: the release, its updates and security
cat >"$R/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECURITY bookworm-security main
EOF
cp /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null || true
git clone -q --no-hardlinks "$TOP" "$R/root/vitskip"
git -C "$R/root/vitskip" log -1 --format='fresh-check: checking %h %s'

# the README's quickstart, as root on the fresh machine
cat >"$R/root/quickstart.sh" <<'EOF'
set -e
cd /root/vitskip
export DEBIAN_FRONTEND=noninteractive
echo "== apt-get install make"
apt-get update -qq
apt-get install -y -qq --no-install-recommends make >/dev/null
echo "== make demo"
make demo
echo "== make test"
make -j2 test
EOF
[ -z "$CACHE" ] || mkdir -p "$R/var/cache/apt/archives"
step "make demo; make test (in the root; log: $F/quickstart.log)"
rc=0
unshare --mount --pid --fork --propagation private --mount-proc="$R/proc" sh -c '
    set -e
    R=$1; CACHE=$2
    mount --rbind /dev "$R/dev"
    mount -t sysfs -o ro sysfs "$R/sys"
    [ -z "$CACHE" ] || mount --bind "$CACHE/apt" "$R/var/cache/apt/archives"
    exec chroot "$R" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        TERM=dumb sh /root/quickstart.sh' fresh "$R" "$CACHE" >"$F/quickstart.log" 2>&1 || rc=$?
grep -E '^(== |demo: |tests: |failed:)' "$F/quickstart.log" | sed 's/^/fresh-check:   /'
[ -z "$(mounted)" ] || die "mounts left under $R after the run: $(mounted | head -1)"
if [ $rc -ne 0 ]; then
    tail -40 "$F/quickstart.log" >&2
    die "FAILED (exit $rc) after $(($(date +%s) - t0)) s; the root is kept in $R"
fi
[ "${VK_FRESH_KEEP:-0}" = 1 ] || rm -rf "$R"
step "passed: make demo and make test on a fresh Debian 12 root"
