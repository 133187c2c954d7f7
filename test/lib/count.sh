# test/lib/count.sh: how test/run-tests runs and counts test files.
#
# Every file runs under its own harness (pg_prove or prove), one file per
# harness run, so a file's boundary is the run itself and never a pattern
# in the output.  A file counts its "ok" lines as passed; its failures are
# its "not ok" lines, plus every planned test that never ran, plus one if
# it printed no plan.  A file the harness did not pass (its exit status, a
# "Dubious" or a result other than PASS) counts at least one failure even
# when its TAP looks clean: a test that passes and then exits 2 is broken.
#
# test/selftest/counter.t runs these functions on files made to break.

PGC_PASSED=0
PGC_FAILED=0
PGC_BAD_FILES=()

# pgc_count_file LOG STATUS NAME: count one file's harness output, LOG,
# given the harness's exit STATUS.
pgc_count_file() {
	local log=$1 rc=$2 name=$3 counts pass notok ran planned plan dubious result
	local fail=0 why=()
	counts=$(awk '
		/^1\.\.[0-9]+/ { planned++; plan = substr($0, 4) + 0; next }
		/^ok [0-9]+/ { pass++; ran++; next }
		# A failing TODO test is not a failure, in TAP or to the harness.
		/^not ok [0-9]+.*# *TODO/ { pass++; ran++; next }
		/^not ok [0-9]+/ { notok++; ran++; next }
		/^Dubious/ { dubious = 1; next }
		/^Result: / { result = $2; next }
		END { printf "%d %d %d %d %d %d %s\n", pass, notok, ran, planned, plan, dubious, result == "" ? "none" : result }
	' "$log")
	read -r pass notok ran planned plan dubious result <<<"$counts"
	fail=$notok
	[ "$notok" -gt 0 ] && why+=("$notok not ok")
	if [ "$planned" -eq 0 ]; then
		fail=$((fail + 1))
		why+=("no plan")
	elif [ "$planned" -gt 1 ]; then
		fail=$((fail + 1))
		why+=("$planned plans")
	elif [ "$ran" -lt "$plan" ]; then
		fail=$((fail + plan - ran))
		why+=("ran $ran of $plan planned")
	elif [ "$ran" -gt "$plan" ]; then
		fail=$((fail + 1))
		why+=("ran $ran, planned $plan")
	fi
	[ "$rc" != 0 ] && why+=("harness exit status $rc")
	[ "$dubious" = 1 ] && why+=("Dubious")
	[ "$result" != PASS ] && why+=("harness result $result")
	if [ ${#why[@]} -gt 0 ] && [ "$fail" -eq 0 ]; then
		fail=1
	fi
	PGC_PASSED=$((PGC_PASSED + pass))
	PGC_FAILED=$((PGC_FAILED + fail))
	if [ ${#why[@]} -gt 0 ]; then
		local IFS=,
		PGC_BAD_FILES+=("$name: $pass passed, $fail failed (${why[*]})")
	fi
}

# pgc_run_file ALL NAME COMMAND...: run one file's harness, show its output,
# append it to the log ALL, and count it.
pgc_run_file() {
	local all=$1 name=$2 one rc
	shift 2
	one=$(mktemp)
	"$@" </dev/null 2>&1 | tee "$one"
	rc=${PIPESTATUS[0]}
	cat "$one" >>"$all"
	pgc_count_file "$one" "$rc" "$name"
	rm -f "$one"
}

# pgc_prove_pgtap DB LOG FILE...: each pgTAP file under pg_prove.
pgc_prove_pgtap() {
	local db=$1 log=$2 f
	shift 2
	for f in "$@"; do
		pgc_run_file "$log" "$f" pg_prove -v -d "$db" "$f"
	done
}

# pgc_prove_scenarios LOG FILE...: each shell scenario under prove.
pgc_prove_scenarios() {
	local log=$1 f
	shift
	for f in "$@"; do
		pgc_run_file "$log" "$f" prove -v --exec bash "$f"
	done
}

# pgc_count_report: list the files that went wrong; fails if any did, or if
# nothing passed at all.
pgc_count_report() {
	local f
	if [ ${#PGC_BAD_FILES[@]} -gt 0 ]; then
		echo "files that failed:"
		for f in "${PGC_BAD_FILES[@]}"; do
			echo "  $f"
		done
	fi
	[ "$PGC_FAILED" -eq 0 ] && [ ${#PGC_BAD_FILES[@]} -eq 0 ] && [ "$PGC_PASSED" -gt 0 ]
}

# pgc_count_regress LOG STATUS DIR: count make installcheck's output, LOG,
# given make's exit STATUS: every pg_regress run in it ends with "All N
# tests passed." or "F of N tests failed.".  A run that failed without
# such a line, or a make that failed with nothing failed, counts one
# failure.  The diffs of failed runs (under DIR) are shown.
pgc_count_regress() {
	local log=$1 rc=$2 dir=$3 counts pass fail runs
	counts=$(awk '
		/All [0-9]+ tests passed/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) { pass += $i; break }; runs++ }
		/[0-9]+ of [0-9]+ tests failed/ { for (i = 1; i <= NF; i++) if ($i == "of") { fail += $(i - 1); pass += $(i + 1) - $(i - 1); break }; runs++ }
		END { printf "%d %d %d\n", pass, fail, runs }
	' "$log")
	read -r pass fail runs <<<"$counts"
	PGC_PASSED=$((PGC_PASSED + pass))
	if [ "$fail" -gt 0 ]; then
		PGC_FAILED=$((PGC_FAILED + fail))
		PGC_BAD_FILES+=("pg_regress: $fail failed")
		find "$dir" -name regression.diffs -exec cat {} + 2>/dev/null
	elif [ "$runs" -eq 0 ] || [ "$rc" != 0 ]; then
		PGC_FAILED=$((PGC_FAILED + 1))
		PGC_BAD_FILES+=("pg_regress: make installcheck exited $rc after $runs summary lines")
	fi
}

# pgc_run_isolation DB OUTDIR DIR: the isolation specs DIR/specs/*.spec
# against the existing database DB, with pg_isolation_regress from
# PostgreSQL's server-dev package, compared with DIR/expected; counted as
# pg_regress is (its summary lines are pg_regress's).
pgc_run_isolation() {
	local db=$1 out=$2 dir=$3 tool specs rc
	tool="$(dirname "$("$PG_CONFIG" --pgxs)")/../test/isolation/pg_isolation_regress"
	specs=$(cd "$dir/specs" && ls ./*.spec | sed 's|^\./||; s|\.spec$||')
	mkdir -p "$out"
	# shellcheck disable=SC2086
	"$tool" --use-existing --dbname="$db" --inputdir="$dir" --outputdir="$out" \
		--bindir="$PGC_PG_BIN" $specs 2>&1 | tee "$out/isolation.log"
	rc=${PIPESTATUS[0]}
	pgc_count_regress "$out/isolation.log" "$rc" "$out"
}

# pgc_stop_counted: stop everything the run started (pgc_env_down, from
# test/lib/env.sh).  A process the run started that is still alive after
# that fails the run: one failure, listed with the files that failed.
pgc_stop_counted() {
	pgc_env_down
	[ -z "${PGC_LEFTOVERS:-}" ] && return 0
	PGC_FAILED=$((PGC_FAILED + 1))
	PGC_BAD_FILES+=("still running after the run stopped what it started: pids $(printf '%s\n' "$PGC_LEFTOVERS" | awk '{print $1}' | paste -sd ' ')")
	return 1
}
