#!/bin/sh
# `vitskip report` in a real browser: two real runs in one database (the sim
# board, modeled figures, objective EDP; the cpu board, measured latency,
# objective latency), a path and a cascade replayed; the report of both
# runs is rendered by headless Chromium (Debian's chromium) to
# $BUILD/report/report.png, and its DOM (--dump-dom) is checked against
# the database by an independent reading (tests/report_check.py): the
# plotted points per run and objective, their kinds (full model, the front
# recomputed here, feasible, infeasible, cascades, replays) and sources,
# the front's labels, the heat map, the stage breakdown, the export rows;
# no script and nothing fetched; text from the database is escaped. The
# report opens the database read-only: it stays byte for byte the same, and
# a missing database is refused without being created.
. tests/vk_test.sh
BUILD=${BUILD:-build}
OUT=$BUILD/report
mkdir -p "$OUT"
rm -f "$OUT"/report.*
DB=$T/r.db
common="--model models/demo --data $DATA --limit 40 --max-acc-drop 2 --budget 10 --db $DB"
# shellcheck disable=SC2086
"$VITSKIP" search $common --board sim --objective edp --seed 1 >"$T/s1.log" 2>&1 &&
    VITSKIP_CPU_TIMED=4 "$VITSKIP" search $common --board cpu --objective latency --seed 2 \
        >"$T/s2.log" 2>&1 || { tail -5 "$T/s1.log" "$T/s2.log"; ko "the searches failed"; }
p=$(sqlite3 "$DB" "select path_id from run_paths where run_id=1 order by seq limit 1 offset 1")
c=$(sqlite3 "$DB" "select id from cascades where run_id=1 order by id limit 1")
"$VITSKIP" replay --db "$DB" --config "P$p" --board sim >/dev/null 2>&1 && ok || ko "replay P$p"
"$VITSKIP" replay --db "$DB" --config "C$c" --board sim >/dev/null 2>&1 && ok || ko "replay C$c"
# text from the database is escaped: a tampered model name
sqlite3 "$DB" "update runs set model='<script>alert(1)</script>models/demo' where id=1"
sum=$(cat "$DB" "$DB-wal" 2>/dev/null | sha256sum)

"$VITSKIP" report --db "$DB" 1 2 -o "$OUT/report.html" >"$T/report.log" 2>&1 && ok ||
    { cat "$T/report.log"; ko "report exited non-zero"; }
[ "$(cat "$DB" "$DB-wal" 2>/dev/null | sha256sum)" = "$sum" ] && ok || ko "report changed the database"

chrome() {
    timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$(mktemp -d "$T/profile.XXXX")" --hide-scrollbars "$@" \
        "file://$(pwd)/$OUT/report.html" 2>>"$T/chromium.log"
}
chrome --dump-dom >"$OUT/report.dom.html" && [ -s "$OUT/report.dom.html" ] && ok ||
    { tail -5 "$T/chromium.log"; ko "chromium --dump-dom"; }
chrome --window-size=1100,5200 --screenshot="$OUT/report.png" >/dev/null &&
    [ "$(wc -c <"$OUT/report.png")" -gt 50000 ] && ok ||
    { tail -5 "$T/chromium.log"; ko "chromium --screenshot"; }
python3 tests/report_check.py "$DB" "$OUT/report.dom.html" "$OUT/report.html" 1 2 &&
    ok || ko "the rendered report does not match the database"

# a missing database is refused and not created; a run that is not there too
"$VITSKIP" report --db "$T/missing.db" -o "$T/x.html" 2>"$T/err" && ko "report on a missing db" || ok
[ ! -e "$T/missing.db" ] && [ ! -e "$T/x.html" ] && ok || ko "report created a file for a missing db"
grep -q "no such database" "$T/err" && ok || ko "missing db message: $(cat "$T/err")"
"$VITSKIP" report --db "$DB" 9 -o "$T/x.html" 2>"$T/err" && ko "report of run 9" || ok
grep -q "no run 9" "$T/err" && [ ! -e "$T/x.html" ] && ok || ko "run 9: $(cat "$T/err")"
"$VITSKIP" report --db "$DB" 1 --config P999 -o "$T/x.html" 2>/dev/null && ko "--config P999" || ok
echo "test_report: $OUT/report.png, $OUT/report.dom.html"
summary report
