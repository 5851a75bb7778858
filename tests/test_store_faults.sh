#!/bin/sh
# The store under the CLI, with real processes and real file systems
# (issue 15, items 5, 6, 7 and 12):
#  - two searches started at once on one fresh database both complete, and
#    every genome is stored once;
#  - resuming a finished run again stores no cascade or hypervolume row twice;
#  - a search that meets a write lock held 8 s by another process waits,
#    says so, and completes;
#  - a full disk (a 4 MiB tmpfs in a private mount namespace, filled while
#    the search runs) stops it with a message naming the database; what was
#    committed is intact; a read-only file (read-only bind mount) is refused the same way,
#    never as "not an SQLite database";
#  - a foreign or tampered database (meta('app', NULL), a genome longer than
#    the maximum, a board name that closes the C comment) never crashes
#    show/export/replay, and the exported header compiles to just the table.
. tests/vk_test.sh
args="--model models/demo --data $DATA --limit 60 --population 6 -q"
q() { sqlite3 -cmd '.timeout 20000' "$1" "$2"; }

# concurrent first opens, the same genomes
"$VITSKIP" search $args --budget 8 --seed 3 --db "$T/c.db" > "$T/c1.out" 2>&1 & p1=$!
"$VITSKIP" search $args --budget 8 --seed 3 --db "$T/c.db" > "$T/c2.out" 2>&1 & p2=$!
wait $p1; r1=$?; wait $p2; r2=$?
[ $r1 = 0 ] && [ $r2 = 0 ] && ok || ko "concurrent searches exited $r1, $r2: $(tail -2 "$T/c1.out" "$T/c2.out")"
[ "$(q "$T/c.db" 'select count(*), count(distinct genome) from paths')" = "8|8" ] && ok ||
    ko "paths after concurrent searches: $(q "$T/c.db" 'select count(*), count(distinct genome) from paths')"
[ "$(q "$T/c.db" 'select count(*) from run_paths group by run_id' | tr '\n' ' ')" = "8 8 " ] && ok ||
    ko "each run should have evaluated 8 paths"

# resuming a finished run again changes nothing
before=$(q "$T/c.db" 'select (select count(*) from cascades where run_id = 1), (select count(*) from hv_history where run_id = 1)')
"$VITSKIP" search --db "$T/c.db" --resume 1 -q > "$T/r.out" 2>&1 || ko "resume of a finished run failed"
after=$(q "$T/c.db" 'select (select count(*) from cascades where run_id = 1), (select count(*) from hv_history where run_id = 1)')
[ "$before" = "$after" ] && [ "${before%|*}" -gt 0 ] && ok || ko "cascades|history $before became $after"

# a write lock held by another process for 8 s
python3 -c "
import sqlite3, time
c = sqlite3.connect('$T/c.db', isolation_level=None)
c.execute('BEGIN IMMEDIATE'); c.execute(\"INSERT INTO meta VALUES('lock', 'x')\")
open('$T/locked', 'w').close(); time.sleep(8); c.execute('ROLLBACK')" &
lock=$!
for i in $(seq 200); do [ -f "$T/locked" ] && break; sleep 0.05; done
"$VITSKIP" search $args --budget 4 --seed 5 --db "$T/c.db" > "$T/l.out" 2>&1; rc=$?
wait $lock
[ $rc = 0 ] && ok || ko "search under a lock exited $rc: $(tail -2 "$T/l.out")"
grep -q 'c.db is locked by another process; waiting' "$T/l.out" && ok || ko "no waiting message"

# a full disk and a read-only file, in a private mount namespace
if unshare -m true 2>/dev/null; then
    cp "$T/c.db" "$T/full-src.db"
    n0=$(q "$T/full-src.db" 'select count(*) from paths')
    # the disk fills while the search runs: after its run exists and has
    # stored a measurement, a filler takes every free byte
    unshare -m sh -c '
        mkdir -p "$1/mnt"; mount -t tmpfs -o size=4m tmpfs "$1/mnt" || exit 1
        cp "$1/full-src.db" "$1/mnt/f.db"
        "$2" search $3 --budget 16 --seed 7 --db "$1/mnt/f.db" > "$1/full.out" 2>&1 &
        pid=$!
        for i in $(seq 600); do
            [ "$(sqlite3 -cmd ".timeout 5000" "$1/mnt/f.db" "select count(*) from run_paths where run_id = 4" 2>/dev/null)" -ge 2 ] 2>/dev/null && break
            sleep 0.05
        done
        sqlite3 -cmd ".timeout 5000" "$1/mnt/f.db" "select count(*) from paths" > "$1/full.n1"
        cat /dev/zero > "$1/mnt/filler" 2>/dev/null
        wait $pid; echo $? > "$1/full.rc"
        rm "$1/mnt/filler"
        sqlite3 "$1/mnt/f.db" "pragma integrity_check; select count(*) from paths" > "$1/full.after"
        mount --bind "$1/full-src.db" "$1/full-src.db"
        mount -o remount,bind,ro "$1/full-src.db"
        "$2" search $3 --budget 12 --seed 7 --db "$1/full-src.db" > "$1/ro.out" 2>&1
        echo $? > "$1/ro.rc"
    ' sh "$T" "$VITSKIP" "$args"
    [ "$(cat "$T/full.rc")" != 0 ] && ok || ko "full disk: exit 0: $(tail -2 "$T/full.out")"
    grep -q 'f.db: .*disk is full' "$T/full.out" && ok || ko "full disk: message: $(tail -2 "$T/full.out")"
    [ "$(head -1 "$T/full.after")" = ok ] && ok || ko "full disk: integrity: $(cat "$T/full.after")"
    [ "$(tail -1 "$T/full.after")" -ge "$(cat "$T/full.n1")" ] && ok ||
        ko "full disk: $(cat "$T/full.n1") paths before the disk filled, $(tail -1 "$T/full.after") after"
    [ "$(cat "$T/ro.rc")" = 1 ] && ok || ko "read-only: exit $(cat "$T/ro.rc"): $(tail -2 "$T/ro.out")"
    grep -q 'full-src.db: .*read-only' "$T/ro.out" && ! grep -q 'not an SQLite' "$T/ro.out" && ok ||
        ko "read-only: message: $(tail -2 "$T/ro.out")"
    echo "full disk: $(tail -1 "$T/full.out")"
    echo "read-only: $(tail -1 "$T/ro.out")"
else
    skip "full disk / read-only: no private mount namespace here (not root?)"
fi

# foreign and tampered content
python3 -c "
import sqlite3; c = sqlite3.connect('$T/foreign.db')
c.execute('create table meta(key, value)'); c.execute(\"insert into meta values('app', NULL)\"); c.commit()"
"$VITSKIP" show --db "$T/foreign.db" > "$T/f.out" 2>&1; rc=$?
[ $rc = 1 ] && grep -q 'not a vitskip one' "$T/f.out" && ok || ko "meta(app, NULL): exit $rc: $(cat "$T/f.out")"
cp "$T/c.db" "$T/long.db"
q "$T/long.db" "update paths set genome = genome || genome || genome || genome || genome where id = 1"
"$VITSKIP" export --db "$T/long.db" --config P1 --format header > "$T/e.out" 2>&1; rc=$?
[ $rc = 1 ] && grep -q 'path 1: stored genome' "$T/e.out" && ok || ko "long genome export: exit $rc: $(cat "$T/e.out")"
"$VITSKIP" replay --db "$T/long.db" --config P1 > "$T/e.out" 2>&1; rc=$?
[ $rc = 1 ] && grep -q 'path 1: stored genome' "$T/e.out" && ok || ko "long genome replay: exit $rc: $(cat "$T/e.out")"
cp "$T/c.db" "$T/inject.db"
q "$T/inject.db" "update paths set board = 'sim */ #error injected /*' where id = 2"
"$VITSKIP" export --db "$T/inject.db" --config P2 --format header -o "$T/skip.h" &&
    cc -std=c11 -Werror -fsyntax-only -include "$T/skip.h" -x c /dev/null && ok ||
    ko "the exported header does not compile: $(head -3 "$T/skip.h")"
summary "store faults"
