#!/bin/sh
# What a search leaves behind when something is wrong (issue 14): a
# mistyped board, genome or number is a usage error (exit 2) before the
# model is read, and neither a database nor a run is created; a board that
# cannot be reached at the start is left out and the search goes on with
# the others (exit 3 and nothing stored when none is left); an energy
# objective on a board without energy figures is refused and its run
# removed; Ctrl-C marks the run interrupted and prints the resume line;
# --resume RUN --budget N extends a finished run to the paths a fresh run
# of budget N evaluates; `vitskip runs` lists runs and `vitskip rm`
# removes one, keeping its measurements for later searches.
. tests/vk_test.sh
M=models/demo
q() { sqlite3 "$1" "$2"; }
front() { grep -E '^P[0-9]+ ' "$1" | awk '{print $NF, $2, $3}'; }

# usage errors before anything is read: exit 2, nothing created
early() { # early EXPECTED-TEXT ARGS...
    want=$1; shift
    "$VITSKIP" "$@" >"$T/out" 2>"$T/err"; rc=$?
    [ $rc = 2 ] && head -1 "$T/err" | grep -qF -- "$want" && ok ||
        ko "vitskip $*: exit $rc: $(cat "$T/err")"
    [ ! -e "$T/new.db" ] && ok || ko "vitskip $*: created a database"
    # the model is never read: no workload note, nothing on stdout
    [ ! -s "$T/out" ] && ! grep -q "calibrat\|quantiz" "$T/err" && ok ||
        ko "vitskip $*: read the model: $(cat "$T/err")"
    rm -f "$T/new.db"*
}
S="search --model $M --data $DATA --db $T/new.db"
early "unknown board 'cpuu'" $S --board cpuu
early "did you mean 'cpu'?" $S --board cpuu
early "board 'sim:$T/nope.json': cannot read" $S --board "sim:$T/nope.json"
early "--seed-genome 'FSXF': not a genome" $S --seed-genome FSXF
early "--seed-genome 'FSFSFSFH' is not in the space FS" $S --seed-genome FSFSFSFH
early "--budget '2.5': expected an integer" $S --budget 2.5
early "--population '1e3': expected an integer" $S --population 1e3
early "unknown board 'cpuu'" eval --model $M --data "$DATA" --board cpuu
early "--genome 'FSQ': not a genome" eval --model $M --data "$DATA" --genome FSQ
early "--seeds '2.5': expected an integer" search-bench --db "$T/new.db" --seeds 2.5

# one reference search, and a typo against its database changes nothing
DB=$T/r.db
args="--model $M --data $DATA --limit 40 --population 6 --seed 5 -q"
"$VITSKIP" search $args --budget 10 --db "$DB" >"$T/r10.out" 2>"$T/r10.err" ||
    die "the reference search failed: $(tail -3 "$T/r10.err")"
sum=$(cat "$DB" "$DB-wal" 2>/dev/null | sha256sum)
"$VITSKIP" search $args --board cpuu --db "$DB" >/dev/null 2>&1
[ $? = 2 ] && [ "$(cat "$DB" "$DB-wal" 2>/dev/null | sha256sum)" = "$sum" ] && ok ||
    ko "a typo changed the database"

# a board nothing answers (a closed loopback port): left out, the search
# goes on with the healthy one; alone, exit 3 and no run
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$VITSKIP" search $args --budget 4 --board "http://127.0.0.1:$port" --board sim \
    --db "$T/u.db" >"$T/u.out" 2>"$T/u.err"; rc=$?
[ $rc = 0 ] && grep -q "board http://127.0.0.1:$port left out" "$T/u.err" && ok ||
    ko "one unreachable board of two: exit $rc: $(tail -3 "$T/u.err")"
[ "$(q "$T/u.db" 'select boards, status from runs')" = "sim|done" ] && ok ||
    ko "the run records $(q "$T/u.db" 'select boards, status from runs')"
"$VITSKIP" search $args --budget 4 --board "http://127.0.0.1:$port" --db "$T/v.db" \
    >"$T/v.out" 2>"$T/v.err"; rc=$?
[ $rc = 3 ] && grep -q "no board could be used" "$T/v.err" && [ ! -e "$T/v.db" ] && ok ||
    ko "no reachable board: exit $rc, db $(ls "$T/v.db" 2>&1): $(tail -2 "$T/v.err")"

# an energy objective where the board gives no energy: refused, no run left
if "$VITSKIP" eval --model $M --data "$DATA" --limit 10 --board cpu 2>/dev/null |
    grep -q "energy    not available"; then
    "$VITSKIP" search $args --budget 4 --board cpu --objective energy --db "$T/e.db" \
        >"$T/e.out" 2>"$T/e.err"; rc=$?
    [ $rc = 1 ] && grep -q "gives no energy figure" "$T/e.err" &&
        grep -q "the run was removed" "$T/e.err" && ! grep -q "resume with" "$T/e.err" && ok ||
        ko "--objective energy on cpu: exit $rc: $(tail -2 "$T/e.err")"
    [ "$(q "$T/e.db" 'select count(*) from runs')" = 0 ] &&
        [ "$(q "$T/e.db" 'select count(*) > 0, count(energy_mj) from paths')" = "1|0" ] && ok ||
        ko "after the refusal: runs $(q "$T/e.db" 'select count(*) from runs'), paths (n, energies) $(q "$T/e.db" 'select count(*), count(energy_mj) from paths')"
    # the measurements kept are found again; no energy shows as "-"
    "$VITSKIP" search $args --budget 3 --board cpu --db "$T/e.db" >"$T/e2.out" 2>&1 &&
        grep -qE '^P[0-9]+ ' "$T/e2.out" && [ -z "$(grep -E '^P[0-9]+ ' "$T/e2.out" |
        grep -vE ' - +none +- ')" ] && ok ||
        ko "missing energy is not '-': $(grep -E '^P[0-9]' "$T/e2.out" | head -2)"
    "$VITSKIP" show --db "$T/e.db" >"$T/e3.out" && [ -z "$(grep -E '^P[0-9]+ ' "$T/e3.out" |
        grep -vE ' - +none ')" ] && "$VITSKIP" show --db "$T/e.db" --json |
        python3 -c 'import json, sys; assert all(p["energy_mj"] is None for p in json.load(sys.stdin)["paths"])' &&
        ok || ko "show: missing energy is not '-' and null"
else
    skip "the cpu board measures energy here (RAPL or hwmon): nothing to refuse"
fi

# --resume RUN --budget N: a finished run of 10 extended to 16 evaluates
# exactly the paths of a fresh run of 16, measuring only the 6 new ones
"$VITSKIP" search $args --budget 16 --db "$T/r16.db" >"$T/r16.out" 2>&1 ||
    ko "the budget-16 search failed"
"$VITSKIP" search --db "$DB" --resume 1 --budget 16 -q >"$T/x.out" 2>"$T/x.err"; rc=$?
[ $rc = 0 ] && ok || ko "--resume 1 --budget 16: exit $rc: $(tail -2 "$T/x.err")"
[ "$(q "$DB" 'select budget, status from runs where id = 1')" = "16|done" ] && ok ||
    ko "the extended run: $(q "$DB" 'select budget, status from runs where id = 1')"
g1=$(q "$DB" 'select genome from run_paths r join paths p on p.id = r.path_id where run_id = 1 order by seq')
g2=$(q "$T/r16.db" 'select genome from run_paths r join paths p on p.id = r.path_id where run_id = 1 order by seq')
[ "$(echo "$g1" | wc -l)" = 16 ] && [ "$g1" = "$g2" ] && ok ||
    ko "the extended run evaluated other paths than a fresh one: $(echo "$g1" | tr '\n' ' ') vs $(echo "$g2" | tr '\n' ' ')"
[ "$(front "$T/x.out")" = "$(front "$T/r16.out")" ] && ok || ko "the extended run's front differs"
[ "$(q "$DB" 'select count(*) from attempts where ok = 1')" = 16 ] && ok ||
    ko "extending measured $(q "$DB" 'select count(*) from attempts where ok = 1') paths in all (16 wanted)"
"$VITSKIP" search --db "$DB" --resume 1 --budget 12 -q >/dev/null 2>"$T/x.err"; rc=$?
[ $rc = 1 ] && grep -q "has evaluated 16 paths already" "$T/x.err" && ok ||
    ko "--budget below the evaluated paths: exit $rc: $(cat "$T/x.err")"

# Ctrl-C: exit 130, the run marked interrupted, the resume line; the
# resumed run ends as an uninterrupted one (r16)
"$VITSKIP" search $args --budget 16 --db "$T/c.db" >"$T/c.out" 2>"$T/c.err" &
pid=$!
vk_cleanup='kill $pid 2>/dev/null'
has_paths() { [ "$(q "$T/c.db" 'select count(*) from run_paths' 2>/dev/null)" -ge 2 ] 2>/dev/null; }
if poll 600 has_paths && kill -INT $pid; then
    wait $pid; rc=$?
    n=$(q "$T/c.db" 'select count(*) from run_paths')
    if [ $rc = 0 ]; then
        skip "the search ended before SIGINT arrived ($n paths)"
    else
        [ $rc = 130 ] && grep -q "run 1 is marked interrupted" "$T/c.err" &&
            grep -q "^resume with: vitskip search --db $T/c.db --resume 1$" "$T/c.err" && ok ||
            ko "Ctrl-C: exit $rc: $(tail -3 "$T/c.err")"
        [ "$(q "$T/c.db" 'select status from runs')" = interrupted ] && [ "$n" -lt 16 ] && ok ||
            ko "after Ctrl-C: status $(q "$T/c.db" 'select status from runs'), $n paths"
        "$VITSKIP" search --db "$T/c.db" --resume 1 -q >"$T/c2.out" 2>"$T/c2.err" &&
            [ "$(front "$T/c2.out")" = "$(front "$T/r16.out")" ] &&
            [ "$(q "$T/c.db" 'select status, budget from runs')" = "done|16" ] && ok ||
            ko "the interrupted run did not resume to the same front: $(tail -2 "$T/c2.err")"
    fi
else
    ko "no path was stored to interrupt: $(tail -3 "$T/c.err")"
fi
vk_cleanup=:

# runs and rm: the run goes, its measurements stay and a new search finds
# them; --measurements removes those only that run used
"$VITSKIP" runs --db "$DB" >"$T/runs.out" && grep -qE '^1 +done .* 16/16 +latency +sim ' "$T/runs.out" &&
    ok || ko "runs: $(cat "$T/runs.out")"
n_paths=$(q "$DB" 'select count(*) from paths')
"$VITSKIP" rm --db "$DB" 1 >"$T/rm.out" && grep -q "removed run 1 " "$T/rm.out" &&
    [ "$(q "$DB" 'select count(*) from runs')" = 0 ] &&
    [ "$(q "$DB" 'select count(*) from run_paths')" = 0 ] &&
    [ "$(q "$DB" 'select count(*) from cascades')" = 0 ] &&
    [ "$(q "$DB" 'select count(*) from paths')" = "$n_paths" ] && ok || ko "rm 1: $(cat "$T/rm.out")"
"$VITSKIP" search $args --budget 16 --db "$DB" >/dev/null 2>&1 &&
    [ "$(q "$DB" 'select count(*) from attempts')" = 0 ] && ok ||
    ko "the search after rm measured again"
"$VITSKIP" rm --db "$DB" 9 >/dev/null 2>"$T/rm.err"; rc=$?
[ $rc = 1 ] && grep -q "run 9" "$T/rm.err" && ok || ko "rm of a missing run: exit $rc: $(cat "$T/rm.err")"
early "RUN 'x': expected an integer" rm --db "$DB" x
run=$(q "$DB" 'select id from runs')
"$VITSKIP" rm --db "$DB" --measurements "$run" >"$T/rm.out" &&
    grep -q "removed run $run and 16 measured path(s)" "$T/rm.out" &&
    [ "$(q "$DB" 'select count(*) from paths')" = 0 ] && ok || ko "rm --measurements: $(cat "$T/rm.out")"
"$VITSKIP" runs --db "$DB" | grep -q "no runs" && ok || ko "runs on an empty database"

# a search whose only board dies mid-run fails and marks its run failed
# (not left "running"); its measurements stay for a resume
VK_SIM_THREADS=1 "$VITSKIP" agent --board sim --port 0 >"$T/ag.url" 2>"$T/ag.log" &
agent=$!
vk_cleanup="kill $agent 2>/dev/null; wait 2>/dev/null"
agent_up() { [ -s "$T/ag.url" ]; }
poll 100 agent_up || die "agent did not start: $(cat "$T/ag.log")"
"$VITSKIP" search --model $M --data "$DATA" --limit 200 --budget 64 --board "$(cat "$T/ag.url")" \
    --db "$T/dies.db" -q >"$T/dies.out" 2>&1 &
s=$!
measured() { [ "$(sqlite3 -cmd '.timeout 5000' "$T/dies.db" 'select count(*) from paths' 2>/dev/null)" -ge 3 ] 2>/dev/null; }
poll 600 measured || ko "no measurement reached the database"
kill "$agent"
wait "$s"; rc=$?
st=$(sqlite3 -cmd '.timeout 5000' "$T/dies.db" 'select status from runs where id = 1')
[ $rc = 3 ] && [ "$st" = failed ] && ok || ko "board died: exit $rc, run status '$st': $(tail -2 "$T/dies.out")"
"$VITSKIP" runs --db "$T/dies.db" | grep -q "^1 *failed" && ok || ko "runs does not show the run failed"
summary search-cli
