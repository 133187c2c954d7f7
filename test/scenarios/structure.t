#!/usr/bin/env bash
# The shape of src/ (issue 13) stays as it was left: no include cycles, no
# function over 80 lines but the settings table, and docs/internals.md's
# "Source layout" lists every file; pg_regress keeps PGXS's layout (inputs
# in sql/ beside the install scripts, none of them installed, expected/ at
# the top).  The checker is checked on a tree made to break.
source "$(dirname "$0")/../lib/tap.sh"
plan 5

root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(python3 "$root/test/check_structure.py" "$root" 2>&1)
is "$?:$out" "0:" "src/ has no include cycle, no over-long function, docs/internals.md lists every file, and pg_regress is in PGXS's layout"

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir "$T/src" "$T/docs" "$T/sql" "$T/expected"
touch "$T/sql/pg_container--1.0.sql" "$T/sql/lonely.sql" "$T/expected/orphan.out"
printf 'DATA = $(wildcard sql/*.sql)\n' >"$T/Makefile"
printf '#include "b.h"\n' >"$T/src/a.h"
printf '#include "a.h"\n' >"$T/src/b.h"
{
	printf 'static void\nlong_one(void)\n{\n'
	for i in $(seq 90); do printf '\tx = %d;\n' "$i"; done
	printf '}\n'
} >"$T/src/a.c"
printf '## Source layout\n\n| `src/gone.c` | nothing |\n' >"$T/docs/internals.md"
out=$(python3 "$root/test/check_structure.py" "$T")
like "$out" "include cycle: a -> b -> a" "the checker finds an include cycle"
like "$out" "a.c:2: long_one is 93 lines" "... a function over 80 lines"
like "$out" "does not list src/a.c.*lists src/gone.c" "... and a Source layout out of step with src/"
like "$out" "sql/lonely.sql has no expected/lonely.out.*expected/orphan.out has no sql/orphan.sql.*DATA is" \
	"... and pg_regress inputs without expected output, and a DATA that would install them"
tap_exit
