#!/bin/sh
# Measurement identity (issue 15, item 1): stored results are keyed by what
# measured them, not by the board's kind.
#  - a sim board with another board file (the clock at 100 MHz instead of
#    200) measures again rather than reusing the 200 MHz figures;
#  - the same board file under another name is the same board: reused;
#  - boards of different identities in one run (sim and cpu) are refused;
#  - a resume on a board of another identity is refused, naming both;
#  - rows stored before identities (board 'sim', the kind alone) are not
#    reused, and their run is not resumed on today's boards.
. tests/vk_test.sh
args="--model models/demo --data $DATA --limit 40 --val-limit 40 --population 4 --budget 4 --seed 3 -q"
q() { sqlite3 "$T/i.db" "$1"; }

"$VITSKIP" search $args --db "$T/i.db" > "$T/s1.out" 2>&1 ||
    die "search on sim failed: $(tail -2 "$T/s1.out")"
id=$(q "select distinct board from paths")
case $id in sim:ZCU102*:????????????????) ok ;; *) ko "stored board key is '$id'" ;; esac

# the same bytes under another name: the same board, nothing measured again
cp boards/zcu102.json "$T/copy.json"
"$VITSKIP" search $args --board "sim:$T/copy.json" --db "$T/i.db" > "$T/s2.out" 2>&1 ||
    die "search on the copied board file failed: $(tail -2 "$T/s2.out")"
[ "$(q "select count(*) from paths")" = 4 ] && ok ||
    ko "the same board file measured again: $(q "select count(*) from paths") paths"

# another clock: another board, measured again, slower
sed 's/"clock_mhz": {"value": 200/"clock_mhz": {"value": 100/' boards/zcu102.json > "$T/slow.json"
grep -q '"value": 100' "$T/slow.json" || die "could not make the 100 MHz board file"
"$VITSKIP" search $args --board "sim:$T/slow.json" --db "$T/i.db" > "$T/s3.out" 2>&1 ||
    die "search on the 100 MHz board failed: $(tail -2 "$T/s3.out")"
slow=$(q "select distinct board from paths where board != '$id'")
[ -n "$slow" ] && [ "$(q "select count(*) from paths where board = '$slow'")" = 4 ] && ok ||
    ko "the 100 MHz board reused the 200 MHz figures: $(q "select board, count(*) from paths group by board")"
r=$(q "select round(b.latency_ms / a.latency_ms, 2) from paths a join paths b
       on a.genome = b.genome and a.board = '$id' and b.board = '$slow' limit 1")
[ "$r" = 2.0 ] && ok || ko "100 MHz over 200 MHz latency ratio $r (2.0 expected)"

# two identities in one run
"$VITSKIP" search $args --board sim --board cpu --db "$T/i.db" > "$T/s4.out" 2>&1; rc=$?
[ $rc != 0 ] && grep -q "measure different things" "$T/s4.out" && ok ||
    ko "sim + cpu in one run: exit $rc, $(tail -2 "$T/s4.out")"
[ "$(q "select count(*) from paths where board like 'cpu:%'")" = 0 ] && ok ||
    ko "the refused run stored cpu measurements"

# a resume on another identity
"$VITSKIP" search --resume 1 --board "sim:$T/slow.json" --budget 4 --db "$T/i.db" -q \
    > "$T/s5.out" 2>&1; rc=$?
[ $rc != 0 ] && grep -q "the run's paths were measured by $id" "$T/s5.out" && ok ||
    ko "resume on the 100 MHz board: exit $rc, $(tail -2 "$T/s5.out")"

# rows from before identities: the kind alone
cp "$T/i.db" "$T/old.db"
sqlite3 "$T/old.db" "delete from paths where board != '$id'; update paths set board = 'sim'" ||
    die "cannot make the old-style database"
"$VITSKIP" search --resume 1 --db "$T/old.db" -q > "$T/s6.out" 2>&1; rc=$?
[ $rc != 0 ] && grep -q "measured by sim, but" "$T/s6.out" && ok ||
    ko "resume of a run keyed 'sim': exit $rc, $(tail -2 "$T/s6.out")"
"$VITSKIP" search $args --db "$T/old.db" > "$T/s7.out" 2>&1 ||
    die "a new run beside old rows failed: $(tail -2 "$T/s7.out")"
[ "$(sqlite3 "$T/old.db" "select count(*) from paths where board = '$id'")" = 4 ] && ok ||
    ko "old rows keyed 'sim' were reused"
summary "board identity"
