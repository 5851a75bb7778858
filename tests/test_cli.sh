#!/bin/sh
# The CLI fails early and cleanly: a mistyped --db is refused by every
# command that reads (show, export, report, replay, search-bench) and no
# file is created; reading commands leave the database byte for byte as it
# was; `export --name` tables of two names compile in one translation unit
# that reads only some of their arrays, under -Wall -Wextra -Werror; a
# mistyped command or option is one line, exit 2, with the nearest name.
. tests/vk_test.sh
DB=$T/r.db
"$VITSKIP" search --model models/demo --data "$DATA" --limit 30 --budget 10 --db "$DB" \
    --max-acc-drop 5 >"$T/s.log" 2>&1 || { tail -3 "$T/s.log"; ko "the search failed"; }
p=$(sqlite3 "$DB" "select path_id from run_paths order by seq limit 1")
c=$(sqlite3 "$DB" "select id from cascades order by id limit 1")

# a missing database: exit 1, one line naming it, nothing created
for cmd in "show" "export --config P1" "report -o $T/x.html" "replay --config P1" \
    "search-bench"; do
    # shellcheck disable=SC2086
    "$VITSKIP" $cmd --db "$T/typo.db" >"$T/out" 2>"$T/err"; rc=$?
    [ $rc = 1 ] && grep -q "typo.db: no such database" "$T/err" && [ "$(wc -l <"$T/err")" = 1 ] &&
        ok || ko "$cmd on a missing db: exit $rc: $(cat "$T/err")"
    [ ! -e "$T/typo.db" ] && ok || ko "$cmd created $T/typo.db"
    rm -f "$T/typo.db"*
done

# reading leaves the database as it was
sum=$(cat "$DB" "$DB-wal" 2>/dev/null | sha256sum)
"$VITSKIP" show --db "$DB" >/dev/null && "$VITSKIP" show --db "$DB" --json >/dev/null &&
    "$VITSKIP" export --db "$DB" --config "P$p" --format json >/dev/null &&
    "$VITSKIP" report --db "$DB" -o "$T/r.html" >/dev/null && ok || ko "a reading command failed"
[ "$(cat "$DB" "$DB-wal" 2>/dev/null | sha256sum)" = "$sum" ] && ok || ko "reading changed the db"

# two exported tables in one unit
"$VITSKIP" export --db "$DB" --config "P$p" --name fw_path -o "$T/a.h" &&
    "$VITSKIP" export --db "$DB" --config "C$c" --name fw_cascade -o "$T/b.h" && ok ||
    ko "export --name"
grep -q "#define FW_PATH_LATENCY_MS " "$T/a.h" && grep -q "#define FW_CASCADE_TOP1 " "$T/b.h" &&
    ok || ko "the figures' macros are missing"
printf '#include "a.h"\n#include "b.h"\nint f(void);\nint f(void) { return (int)fw_path_modes[0] + FW_CASCADE_RESUME; }\n' >"$T/two.c"
cc -std=c11 -Wall -Wextra -Werror -Wunused-const-variable=2 -c "$T/two.c" -o "$T/two.o" &&
    ok || ko "two exported tables do not compile in one unit"
"$VITSKIP" export --db "$DB" --config "P$p" --name 'bad-name' >/dev/null 2>"$T/err"
[ $? = 2 ] && grep -q "expected a C identifier" "$T/err" && ok || ko "--name bad-name: $(cat "$T/err")"

# usage errors: one line and the hint, exit 2, "did you mean" when near
usage() { # usage EXPECTED-TEXT ARGS...: exit 2, the text on the first line, 2 lines
    want=$1; shift
    "$VITSKIP" "$@" >"$T/out" 2>"$T/err"; rc=$?
    [ $rc = 2 ] && head -1 "$T/err" | grep -qF "$want" && [ "$(wc -l <"$T/err")" = 2 ] &&
        grep -q "^try 'vitskip" "$T/err" && [ ! -s "$T/out" ] && ok ||
        ko "vitskip $*: exit $rc: $(cat "$T/err")"
}
usage "unknown command 'serach'; did you mean 'search'?" serach
usage "unknown command 'frobnicate'" frobnicate
usage "unknown option '--lmit'; did you mean '--limit'?" eval --lmit 5
usage "unknown option '--dbb'; did you mean '--db'?" show --dbb x
usage "option '--db' needs a value" show --db
usage "option '--json' takes no value" show --json=1
usage "option '-o' needs a value" report -o
usage "unknown option '-x'" export -x
summary cli
