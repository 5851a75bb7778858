#!/bin/sh
# The board farm on loopback: a search on 3 `vitskip agent`s (sim boards);
# once measurements are flowing, agent b is killed with SIGKILL, and as soon
# as the search has recorded a failed attempt on it, b is started again on
# its port. The search must exit 0; every path of the run is measured
# exactly once; failures are attempts, never results, and each failed path
# is measured later on some board; all three agents measure, b again after
# its restart; the database is intact. No fixed sleeps: every wait polls
# with a time limit and fails with the reason.
#
# Why the failed attempt and b's reuse are guaranteed: a POST /v1/measure
# that was sent is not repeated, so b killed mid-measurement fails at once;
# b killed while idle fails on its next path, after the remote board's
# connection retries (about 3 s, vk_board_remote.c). b is restarted right
# after that first failure, while its worker is retrying (refused
# connections are retried for about 3 s), so its next measurement lands on
# the new agent (which gets the model and images again after a 404).
. tests/vk_test.sh
pids=""
search=""
vk_cleanup='for p in $pids $search; do kill "$p" 2>/dev/null; done; wait 2>/dev/null'
trap 'exit 130' INT TERM # so that the EXIT trap (vk_test.sh) kills the children
BUDGET=36
q() { sqlite3 -cmd '.timeout 5000' "$T/run.db" "$1" 2>/dev/null; }

# start_agent NAME PORT (0 = any): sets url_NAME and pid_NAME. A port just
# freed by a killed agent is tried again (exit 1, cannot listen) for 5 s.
up() { [ -s "$T/$1.url" ] || ! kill -0 "$2" 2>/dev/null; }
start_agent() {
    tries=0
    while :; do
        : >"$T/$1.url"
        VK_SIM_THREADS=1 "$VITSKIP" agent --board sim --port "$2" >"$T/$1.url" 2>>"$T/$1.log" &
        p=$!
        poll 100 up "$1" "$p"
        [ -s "$T/$1.url" ] && break
        kill "$p" 2>/dev/null
        wait "$p"
        arc=$?
        tries=$((tries + 1))
        [ "$2" != 0 ] && [ $arc = 1 ] && [ $tries -lt 25 ] ||
            die "agent $1 did not start on port $2 (exit $arc): $(tail -2 "$T/$1.log")"
        sleep 0.2
    done
    pids="$pids $p"
    eval "pid_$1=$p; url_$1=\$(head -n1 \"\$T/\$1.url\")"
}
start_agent a 0
start_agent b 0
start_agent c 0
port_b=${url_b##*:}
[ -n "$url_a" ] && [ -n "$url_b" ] && [ -n "$url_c" ] && ok || die "agents did not start"

# VK_TEST_TIME_SCALE: a slower build (make TSAN=1 test-tsan) multiplies the limit
timeout $((80 * ${VK_TEST_TIME_SCALE:-1})) "$VITSKIP" search --model models/demo --data "$DATA" --limit 60 --board "$url_a" \
    --board "$url_b" --board "$url_c" --db "$T/run.db" --budget $BUDGET --seed 3 \
    >"$T/search.out" 2>"$T/search.err" &
search=$!
running() { kill -0 "$search" 2>/dev/null; }

# kill b once a few paths are in, with most of the run still to measure
paths_in() { [ "$(q 'select count(*) from paths')" -ge 6 ] 2>/dev/null || ! running; }
poll 600 paths_in && running || die "no measurements after 60 s: $(tail -3 "$T/search.err")"
kill -9 "$pid_b"
wait "$pid_b" 2>/dev/null
killed_at=$(q "select count(*) from paths")
b_failed() { [ "$(q "select count(*) from attempts where ok = 0 and board = '$url_b'")" -ge 1 ] \
    2>/dev/null || ! running; }
poll 300 b_failed && running || die "no failed attempt on the killed agent within 30 s"
ok
start_agent b "$port_b"
[ "$url_b" = "http://127.0.0.1:$port_b" ] && ok || die "agent b came back on $url_b, not $port_b"

wait "$search"
rc=$?
search=""
[ $rc = 0 ] && ok || die "search exited $rc: $(tail -5 "$T/search.err")"

# each path measured exactly once, complete results
n=$(q "select count(*) from run_paths where run_id = 1")
d=$(q "select count(distinct genome) from paths")
p=$(q "select count(*) from paths")
[ "$n" = $BUDGET ] && [ "$d" = $BUDGET ] && [ "$p" = $BUDGET ] && ok ||
    ko "run evaluated $n paths, $p stored, $d distinct (expected $BUDGET each)"
[ "$(q 'select count(*) from paths where length(results) != 6 * n_images')" = 0 ] && ok ||
    ko "paths with incomplete results"
# attempts: one success per path, every failure measured later elsewhere or on b again
[ "$(q 'select count(*) from attempts where ok = 1')" = $BUDGET ] && ok ||
    ko "successful attempts != $BUDGET"
[ "$(q 'select count(*) from (select genome from attempts where ok = 1 group by genome
        having count(*) > 1)')" = 0 ] && ok || ko "a genome with several successful attempts"
[ "$(q 'select count(*) from paths where genome not in
        (select genome from attempts where ok = 1)')" = 0 ] && ok || ko "a path without an attempt"
[ "$(q 'select count(*) from attempts f where ok = 0 and not exists (select 1 from attempts s
        where s.ok = 1 and s.genome = f.genome and s.id > f.id)')" = 0 ] && ok ||
    ko "a failed path was never measured afterwards"
cnt() { q "select count(*) from attempts where ok = $1 and board $2 '$3'"; }
[ "$(cnt 0 != "$url_b")" = 0 ] && ok || ko "$(cnt 0 != "$url_b") failed attempts on the healthy agents"
[ "$(cnt 1 = "$url_a")" -ge 1 ] && [ "$(cnt 1 = "$url_c")" -ge 1 ] && ok ||
    ko "a healthy agent measured nothing"
late_b=$(q "select count(*) from attempts where ok = 1 and board = '$url_b'
            and id > (select max(id) from attempts where ok = 0)")
[ "${late_b:-0}" -ge 1 ] && ok || ko "the restarted agent was not used again"
grep -q 'POST /v1/measure 200' "$T/b.log" && ok || ko "agent b's log shows no measurement"
[ "$(q 'pragma integrity_check')" = ok ] && ok || ko "integrity_check"

echo "farm: $p paths, each measured once; agent b killed after $killed_at paths," \
    "restarted on port $port_b; attempts (ok/failed):"
for x in a b c; do
    eval "u=\$url_$x"
    echo "  agent $x $u: $(cnt 1 = "$u") ok, $(cnt 0 = "$u") failed"
done
q "select '  failed: ' || genome || ': ' || substr(error, 1, 70) from attempts where ok = 0"
summary farm
