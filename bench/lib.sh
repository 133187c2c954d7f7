# bench/lib.sh: helpers for the benchmark cases (sourced by each case).
# The world of test/lib/env.sh is running: PGHOST, PGPORT, PGC_WORK, ...

source "$(dirname "${BASH_SOURCE[0]}")/../test/lib/env.sh"

bq() { psql -X -qAt -v ON_ERROR_STOP=1 -d pgc_test "$@"; }
bdk() { docker -H "unix://$PGC_WORK/docker.sock" "$@"; }
now_ms() { date +%s%3N; }

# record CASE METRIC UNIT TARGET_TEXT TARGET_RATIO BASELINE_NAME "BASE1 BASE2 ..." "S1 S2 ..." [NOTE]
# One line of JSON per measured case; bench/report.py turns them into RESULTS.md.
# TARGET_RATIO is the largest allowed median/baseline ratio (or, prefixed
# with >=, the smallest), "-" for none.
record() {
	python3 - "$@" >>"$BENCH_RESULTS" <<'PY'
import json, sys
case, metric, unit, target, ratio, base_name, base, samples = sys.argv[1:9]
note = sys.argv[9] if len(sys.argv) > 9 else ""
print(json.dumps({"case": case, "metric": metric, "unit": unit, "target": target,
                  "ratio": ratio, "baseline_name": base_name,
                  "baseline": [float(x) for x in base.split()],
                  "samples": [float(x) for x in samples.split()], "note": note}))
PY
}

# Make users ensure-running with the given image (ready check off for
# images that serve nothing).
make_users() {
	local prefix=$1 count=$2 image=${3:-pgc-gateway:test}
	bq -c "SET pg_container.image = '$image'" -c "SET pg_container.ready_path = ''" \
		-c "SELECT count(*) FROM generate_series(1, $count) i, container_ensure_running('$prefix' || i)" >/dev/null
}

PGBENCH=$PGC_PG_BIN/pgbench
BENCH_TMP=$(mktemp -d)

# median of numbers on stdin
median() { python3 -c 'import sys, statistics; v=[float(x) for x in sys.stdin.read().split()]; print(f"{statistics.median(v):.3f}" if v else "nan")'; }

# pgbench_latency_ms CLIENTS SECONDS SCRIPT: median per-transaction latency
# in ms, from pgbench's transaction log.
pgbench_latency_ms() {
	local clients=$1 seconds=$2 script=$3 dir
	shift 3
	dir=$(mktemp -d -p "$BENCH_TMP")
	(cd "$dir" && $PGBENCH -n -c "$clients" -j "$(( clients < 2 ? clients : 2 ))" -T "$seconds" \
		-l --log-prefix=tx -f "$script" "$@" pgc_test >pgbench.out 2>&1) || { cat "$dir/pgbench.out" >&2; echo nan; return; }
	cat "$dir"/tx.* | awk '{print $3 / 1000}' | median
}

# pgbench_tps CLIENTS SECONDS SCRIPT: transactions per second.
pgbench_tps() {
	local clients=$1 seconds=$2 script=$3
	shift 3
	$PGBENCH -n -c "$clients" -j "$(( clients < 2 ? clients : 2 ))" -T "$seconds" -f "$script" "$@" pgc_test 2>&1 |
		awk '/^tps = / {print $3}'
}

# curl_latency_ms CLIENTS COUNT PATH: median time of COUNT GETs of PATH per
# client, each client on one kept-alive connection to the engine's socket.
curl_latency_ms() {
	local clients=$1 count=$2 path=$3 dir urls=() i
	dir=$(mktemp -d -p "$BENCH_TMP")
	# One -o per URL: curl pairs them in order.
	for i in $(seq 1 "$count"); do urls+=(-o /dev/null "http://docker$path"); done
	for i in $(seq 1 "$clients"); do
		curl -s --unix-socket "$PGC_WORK/docker.sock" -w '%{time_total}\n' "${urls[@]}" >"$dir/c$i" &
	done
	wait
	cat "$dir"/c* | awk '{print $1 * 1000}' | median
}

# time_ms COMMAND...: wall time of one run, in ms.
time_ms() {
	local start
	start=$(now_ms)
	"$@" >/dev/null 2>&1
	echo $(($(now_ms) - start))
}

api_version() { curl -s -D - -o /dev/null --unix-socket "$PGC_WORK/docker.sock" http://docker/_ping | awk -F': ' 'tolower($1) == "api-version" {print $2}' | tr -d '\r'; }

# session_ms REPS EXPRESSION: evaluate EXPRESSION (e.g. a scalar subquery)
# REPS times in one warm session, each in its own transaction, after one
# warm-up; print each run's milliseconds.  Unlike timing a psql process,
# this leaves out connection start-up and version negotiation.
session_ms() {
	bq -c "DO \$\$ DECLARE t timestamptz; BEGIN
		PERFORM ($2);
		FOR i IN 1..$1 LOOP
			t := clock_timestamp();
			PERFORM ($2);
			RAISE NOTICE 'ms=%', extract(epoch FROM clock_timestamp() - t) * 1000;
			COMMIT;
		END LOOP; END \$\$" 2>&1 | sed -n 's/.*ms=//p'
}
