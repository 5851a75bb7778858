#!/bin/sh
# The board farm on loopback: a search on 3 `vitskip agent`s (sim boards);
# once measurements are flowing one agent is killed with SIGKILL and started
# again on its port. The search must finish; every path of the run is
# measured exactly once; the failures are recorded as attempts, never as
# results; the restarted agent measures again; the database is intact.
. tests/vk_test.sh
pids=""
vk_cleanup='for p in $pids; do kill "$p" 2>/dev/null; done'
q() { sqlite3 "$T/run.db" "$1" 2>/dev/null; }

# $1: name, $2: port (0 = any); sets url_<name> and pid_<name>
start_agent() {
    : >"$T/$1.url"
    VK_SIM_THREADS=1 "$VITSKIP" agent --board sim --port "$2" >"$T/$1.url" 2>>"$T/$1.log" &
    eval "pid_$1=$!"
    pids="$pids $!"
    for i in $(seq 1 100); do [ -s "$T/$1.url" ] && break; sleep 0.1; done
    eval "url_$1=\$(head -n1 \"\$T/\$1.url\")"
}
start_agent a 0; start_agent b 0; start_agent c 0
[ -n "$url_a" ] && [ -n "$url_b" ] && [ -n "$url_c" ] && ok || ko "agents did not start"
port_b=${url_b##*:}

"$VITSKIP" search --model models/demo --data "$DATA" --limit 60 --board "$url_a" \
    --board "$url_b" --board "$url_c" --db "$T/run.db" --budget 36 --seed 3 \
    >"$T/search.out" 2>"$T/search.err" &
search=$!

# kill b once a few paths are in, while the search is still measuring
for i in $(seq 1 300); do
    n=$(q "select count(*) from paths"); [ "${n:-0}" -ge 6 ] && break; sleep 0.1
done
kill -9 "$pid_b"; wait "$pid_b" 2>/dev/null
killed_at=$(q "select count(*) from paths")
sleep 0.3
start_agent b "$port_b"
[ "$url_b" = "http://127.0.0.1:$port_b" ] && ok || ko "agent b did not come back on $port_b ($url_b)"

wait $search; rc=$?
[ $rc = 0 ] && ok || ko "search exited $rc: $(tail -5 "$T/search.err")"
n=$(q "select count(*) from run_paths where run_id = 1")
d=$(q "select count(distinct genome) from paths")
p=$(q "select count(*) from paths")
[ "$n" = 36 ] && [ "$d" = 36 ] && [ "$p" = 36 ] && ok ||
    ko "run evaluated $n paths, $p stored, $d distinct (expected 36 each)"
okb=$(q "select count(*) from attempts where ok = 1 and board = '$url_b'")
badb=$(q "select count(*) from attempts where ok = 0 and board = '$url_b'")
bad_other=$(q "select count(*) from attempts where ok = 0 and board != '$url_b'")
late_b=$(q "select count(*) from attempts where ok = 1 and board = '$url_b' and id > (select max(id) from attempts where ok = 0)")
[ "${badb:-0}" -ge 1 ] && ok || ko "no failed attempt recorded on the killed agent"
[ "${bad_other:-1}" = 0 ] && ok || ko "$bad_other failed attempts on the healthy agents"
[ "$(q "select count(*) from attempts where ok = 1")" = 36 ] && ok || ko "successful attempts != paths"
[ "${late_b:-0}" -ge 1 ] && ok || ko "the restarted agent was not used again"
[ "$(q 'pragma integrity_check')" = ok ] && ok || ko "integrity_check"
echo "farm: killed agent b after $killed_at paths; attempts per board (ok/failed):"
q "select board, sum(ok), sum(1 - ok) from attempts group by board" | sed 's/^/  /'
grep -c "failed on" "$T/search.err" | sed 's/^/  search warnings: /'

summary farm
