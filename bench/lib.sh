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
