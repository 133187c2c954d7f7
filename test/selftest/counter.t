#!/usr/bin/env bash
# The counter of test/run-tests can say no.  It runs the counter's own
# functions (test/lib/count.sh) on files made to break, in a subshell of
# their own, and checks the verdict and the counts: a pgTAP file that plans
# 5 and dies after 2, a scenario that exits 1 after one ok, one whose test
# passes but which exits 2, one that dies before printing, one without a
# plan, and one with a "not ok" that exits 0 must each turn a run red and be
# counted as failures; healthy files must not.  The broken files' output
# stays in a file of its own, so this run itself stays green.
#
# It also checks the run's last check: a process started from the run that
# is still alive once the run has stopped what it started is found, turns
# the run red, and is stopped.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/count.sh"
plan 21

F="$(dirname "$0")/fixtures"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# count STAGE FILE... [-- STAGE FILE...]: run the counter as run-tests does,
# stage by stage (pgtap or scenarios), and print "P passed, F failed,
# green|red" as the run's last line would come out.
count() {
	(
		PGC_PASSED=0 PGC_FAILED=0 PGC_BAD_FILES=()
		: >"$T/all.log"
		while [ $# -gt 0 ]; do
			local stage=$1 files=()
			shift
			while [ $# -gt 0 ] && [ "$1" != -- ]; do files+=("$1"); shift; done
			[ $# -gt 0 ] && shift
			case $stage in
			pgtap) pgc_prove_pgtap "${TEST_DB:-pgc_test}" "$T/all.log" "${files[@]}" ;;
			scenarios) pgc_prove_scenarios "$T/all.log" "${files[@]}" ;;
			esac
		done >"$T/out.log" 2>&1
		if pgc_count_report >"$T/report.log"; then verdict=green; else verdict=red; fi
		echo "$PGC_PASSED passed, $PGC_FAILED failed, $verdict"
	)
}

is "$(count pgtap "$F/passes.sql")" "2 passed, 0 failed, green" "a healthy pgTAP file: its tests pass and the run stays green"
is "$(count scenarios "$F/passes.t")" "2 passed, 0 failed, green" "a healthy scenario: its tests pass and the run stays green"
is "$(count pgtap "$F/dies_after_two.sql")" "2 passed, 3 failed, red" \
	"a pgTAP file that plans 5 and dies after 2: the 3 that never ran are failures"
is "$(count scenarios "$F/exits_after_one.t")" "1 passed, 2 failed, red" \
	"a scenario that exits 1 after one ok of 3: the 2 that never ran are failures"
is "$(count scenarios "$F/passes_then_exits_2.t")" "1 passed, 1 failed, red" \
	"a scenario whose test passes but which exits 2 is a failure"
is "$(count scenarios "$F/silent.t")" "0 passed, 1 failed, red" "a scenario that dies before printing anything is a failure"
is "$(count scenarios "$F/no_plan.t")" "2 passed, 1 failed, red" "a scenario without a plan is a failure"
is "$(count scenarios "$F/one_not_ok.t")" "2 passed, 1 failed, red" "a not ok is a failure even when the file exits 0"

# The issue's experiment: the broken files among healthy ones, in the middle
# of each stage, as a real run has them.
is "$(count pgtap "$F/passes.sql" "$F/dies_after_two.sql" "$F/passes.sql" \
	-- scenarios "$F/passes.t" "$F/exits_after_one.t" "$F/passes_then_exits_2.t" "$F/silent.t" "$F/passes.t")" \
	"12 passed, 7 failed, red" "broken files among healthy ones turn the whole run red, each counted"
report=$(cat "$T/report.log")
like "$report" "dies_after_two.sql: 2 passed, 3 failed \(ran 2 of 5 planned,harness exit status [1-9][0-9]*,Dubious" \
	"... and the report names the pgTAP file, with what went wrong"
like "$report" "exits_after_one.t: 1 passed, 2 failed \(ran 1 of 3 planned,harness exit status 1,Dubious" "... the scenario that exited 1"
like "$report" "passes_then_exits_2.t: 1 passed, 1 failed \(harness exit status 1,Dubious" "... the one that passed and exited 2"
like "$report" "silent.t: 0 passed, 1 failed \(no plan,harness exit status 1" "... and the one that printed nothing"

# pg_regress's runs (make -k installcheck runs two): every summary line
# counts, and a make that failed without a failed test is a failure.
regress() {
	(
		PGC_PASSED=0 PGC_FAILED=0 PGC_BAD_FILES=()
		printf '%s\n' "$1" >"$T/regress.log"
		pgc_count_regress "$T/regress.log" "$2" "$T" >/dev/null
		if pgc_count_report >/dev/null; then verdict=green; else verdict=red; fi
		echo "$PGC_PASSED passed, $PGC_FAILED failed, $verdict"
	)
}
is "$(regress $' All 3 tests passed. \n All 1 tests passed. ' 0)" "4 passed, 0 failed, green" \
	"pg_regress: both instances' summaries count"
is "$(regress $' 1 of 3 tests failed. \n All 1 tests passed. ' 2)" "3 passed, 1 failed, red" \
	"pg_regress: a failed test in one instance turns the run red"
is "$(regress $'initdb: error: cannot be run as root\n All 1 tests passed. ' 2)" "1 passed, 1 failed, red" \
	"pg_regress: an instance that never got to its tests is a failure"

# A process started from the run and still alive is found, by its pid.
(
	export PGC_WORK="$T/run"
	sleep 600 &
	echo $! >"$T/sleeper"
)
sleeper=$(cat "$T/sleeper")
found=$(pgc_leftover_processes "$T/run")
kill "$sleeper" 2>/dev/null
like "$found" "^$sleeper sleep 600" "the end-of-run check finds a process the run started that is still alive"

# The whole end of a run, with a deliberate leftover: a process of a run
# (its PGC_WORK in the environment) that ignores SIGTERM, as Podman's
# conmon does, and that nothing in the run stops.  The run had passed.
(
	unset PGC_KEEP
	export PGC_WORK="$T/leftover-run" PGC_LEFTOVER_GRACE=1
	mkdir -p "$PGC_WORK"
	bash -c 'trap "" TERM; exec sleep 600' &
	echo $! >"$T/stubborn"
	PGC_PASSED=5 PGC_FAILED=0 PGC_BAD_FILES=()
	pgc_stop_counted 2>"$T/stop.err"
	rc=$?
	if pgc_count_report >"$T/leftover-report.log"; then verdict=green; else verdict=red; fi
	echo "$rc: $PGC_PASSED passed, $PGC_FAILED failed, $verdict" >"$T/leftover-verdict"
)
stubborn=$(cat "$T/stubborn")
is "$(cat "$T/leftover-verdict")" "1: 5 passed, 1 failed, red" \
	"a process the run started and did not stop turns a passing run red, as one failure"
like "$(cat "$T/leftover-report.log")" "still running after the run stopped what it started: pids $stubborn" "... and the report names its pid"
ok "$(kill -0 "$stubborn" 2>/dev/null; [ $? != 0 ]; echo $?)" "... and it is stopped, though it ignores SIGTERM"
ok "$([ ! -e "$T/leftover-run" ]; echo $?)" "... and the run's folder is removed"

tap_exit
