#!/bin/sh
# A board that hangs on the last path of a generation and then dies: agent
# b is stopped (SIGSTOP) mid-search, the healthy agent a finishes its own
# path and has nothing left to take, then b is killed. a must pick up b's
# path when it fails: the search exits 0 with every path measured once.
# (It used to leave the batch and abort with "could not be measured on any
# board".)
. tests/vk_test.sh
pids=""
vk_cleanup='kill -CONT $pids 2>/dev/null; for p in $pids; do kill -9 "$p" 2>/dev/null; done'
q() { sqlite3 -cmd '.timeout 5000' "$T/r.db" "$1" 2>/dev/null; }
for n in a b; do
    VK_SIM_THREADS=1 "$VITSKIP" agent --board sim --port 0 >"$T/$n.url" 2>"$T/$n.log" &
    eval "pid_$n=$!"
    pids="$pids $!"
done
urls() { [ -s "$T/a.url" ] && [ -s "$T/b.url" ]; }
poll 100 urls || die "the agents did not start within 10 s: $(cat "$T/a.log" "$T/b.log")"
ua=$(head -1 "$T/a.url"); ub=$(head -1 "$T/b.url")
[ -n "$ua" ] && [ -n "$ub" ] && ok || die "agents did not print their URLs"
timeout 120 "$VITSKIP" search --model models/demo --data "$DATA" --limit 100 --board "$ua" \
    --board "$ub" --db "$T/r.db" --budget 12 --seed 3 -q >"$T/s.out" 2>"$T/s.err" &
search=$!
pids="$pids $search"
four() { [ "$(q 'select count(*) from paths')" -ge 4 ] 2>/dev/null; }
poll 600 four || die "fewer than 4 paths measured within 60 s: $(tail -3 "$T/s.err")"
kill -STOP "$pid_b"
# a finishes what it holds (at most one path), then has nothing to take
a_idle() {
    python3 -c "import sys, urllib.request as u
sys.exit(0 if b'\"busy\":false' in u.urlopen('$ua/v1/status', timeout=2).read() else 1)" 2>/dev/null
}
poll 100 a_idle || die "agent a still busy 10 s after b stopped"
sleep 1
kill -9 "$pid_b"
wait "$search"; rc=$?
[ $rc = 0 ] && ok || ko "search exited $rc: $(tail -3 "$T/s.err")"
[ "$(q 'select count(*) from run_paths where run_id = 1')" = 12 ] && ok || ko "run paths != 12"
[ "$(q 'select count(distinct genome) from paths')" = 12 ] && ok || ko "duplicate or missing paths"
[ "$(q "select count(*) from attempts where ok = 0 and board = '$ub'")" -ge 1 ] && ok ||
    ko "no failed attempt on the stalled agent"
[ "$(q 'pragma integrity_check')" = ok ] && ok || ko "integrity_check"
summary farm_stall
