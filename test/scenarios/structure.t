#!/usr/bin/env bash
# The shape of src/ (issue 13) stays as it was left: no include cycles, no
# function over 80 lines but the settings table, and README's "Source
# layout" lists every file.  The checker is checked on a tree made to break.
source "$(dirname "$0")/../lib/tap.sh"
plan 4

root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(python3 "$root/test/check_structure.py" "$root" 2>&1)
is "$?:$out" "0:" "src/ has no include cycle, no over-long function, and README lists every file"

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir "$T/src"
printf '#include "b.h"\n' >"$T/src/a.h"
printf '#include "a.h"\n' >"$T/src/b.h"
{
	printf 'static void\nlong_one(void)\n{\n'
	for i in $(seq 90); do printf '\tx = %d;\n' "$i"; done
	printf '}\n'
} >"$T/src/a.c"
printf '## Source layout\n\n| `src/gone.c` | nothing |\n' >"$T/README.md"
out=$(python3 "$root/test/check_structure.py" "$T")
like "$out" "include cycle: a -> b -> a" "the checker finds an include cycle"
like "$out" "a.c:2: long_one is 93 lines" "... a function over 80 lines"
like "$out" "does not list src/a.c.*lists src/gone.c" "... and a Source layout out of step with src/"
tap_exit
