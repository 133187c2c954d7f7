#!/usr/bin/env bash
# pg_container.engine = 'swarm' on a single-node swarm (test/lib/swarm.sh),
# beside the plain dockerd, in one run:
#   - cold ensure (service create -> ready) against the docker engine's
#     cold ensure (container create -> ready);
#   - warm ensure (scale 0 -> 1 -> ready) against the docker engine's warm
#     ensure (docker start -> ready) and against `docker service scale` by
#     CLI followed by the same wait for /readyz;
#   - ensure on a running user (the hot path: one request) on both engines;
#   - the health pass at SWARM_BENCH_SIZES running services (default
#     "10 100"): two list requests whatever the number.
# The swarm's dockerd is stopped by pgc_env_down with everything else.
source "$(dirname "$0")/../lib.sh"
source "$PGC_ROOT/test/lib/swarm.sh"
REPS=${REPS:-5}
SIZES=${SWARM_BENCH_SIZES:-10 100}

# (a kept environment may have both already)
[ -S "$PGC_WORK/swarm/docker.sock" ] || pgc_start_swarm
psql -X -qAt -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'pgc_swarm'" | grep -q 1 ||
	pgc_create_swarm_db >/dev/null
sq() { psql -X -qAt -v ON_ERROR_STOP=1 -d pgc_swarm "$@"; }

# wait_ready PORT: wait until GET /readyz answers 200 (at most 60 s).
wait_ready() {
	local i
	for i in $(seq 1 600); do
		[ "$(curl -s -o /dev/null -m 1 -w '%{http_code}' "http://127.0.0.1:$1/readyz")" = 200 ] && return 0
		sleep 0.1
	done
	return 1
}

cold_swarm=() cold_docker=() warm_swarm=() warm_docker=() warm_cli=()
for rep in $(seq 1 "$REPS"); do
	cold_swarm+=($(time_ms sq -c "SELECT container_ensure_running('bsw-$rep')"))
	cold_docker+=($(time_ms bq -c "SELECT container_ensure_running('bdk-$rep')"))
	sq -c "SELECT container_stop('bsw-$rep')" >/dev/null
	bq -c "SELECT container_stop('bdk-$rep')" >/dev/null
	warm_swarm+=($(time_ms sq -c "SELECT container_ensure_running('bsw-$rep')"))
	warm_docker+=($(time_ms bq -c "SELECT container_ensure_running('bdk-$rep')"))
	# The CLI's scale, then the same readiness wait ensure does.
	sq -c "SELECT container_stop('bsw-$rep')" >/dev/null
	port=$(sq -c "SELECT gateway_port FROM user_container WHERE user_id = 'bsw-$rep'")
	start=$(now_ms)
	pgc_swarm_docker service scale --detach "mosaic-user-bsw-$rep=1" >/dev/null 2>&1
	wait_ready "$port"
	warm_cli+=($(($(now_ms) - start)))
	# (ensure finds it running and records it)
	sq -c "SELECT container_ensure_running('bsw-$rep')" >/dev/null
done
record "swarm: cold ensure (service create, scale to 1, pin, ready)" "wall time" ms "(for comparison)" "-" \
	"docker engine: cold ensure (create, start, ready)" "${cold_docker[*]}" "${cold_swarm[*]}"
record "swarm: warm ensure (scale 0 -> 1, ready)" "wall time" ms "(for comparison)" "-" \
	"docker engine: warm ensure (docker start, ready)" "${warm_docker[*]}" "${warm_swarm[*]}"
record "swarm: warm ensure (scale 0 -> 1, ready)" "wall time" ms "at most 1.5x the baseline" 1.5 \
	"docker service scale --detach by CLI, then the same wait for /readyz" "${warm_cli[*]}" "${warm_swarm[*]}"

# The hot path: one GET /services/{id} against one inspect.
hot_swarm=$(bq() { sq "$@"; }; session_ms 20 "SELECT container_ensure_running('bsw-1')")
hot_docker=$(session_ms 20 "SELECT container_ensure_running('bdk-1')")
record "swarm: ensure on a running user (one GET /services/{id})" "latency per call" ms "at most 2x the baseline" 2 \
	"docker engine: ensure on a running container (one inspect)" "$hot_docker" "$hot_swarm"

# The health pass, at each size: two requests, whatever the number.
health_ms() {
	psql -X -qAt -d pgc_swarm -c "DO \$\$ DECLARE t timestamptz; BEGIN
		PERFORM count(*) FROM container_health_check_all();
		FOR i IN 1..7 LOOP t := clock_timestamp(); PERFORM count(*) FROM container_health_check_all();
		RAISE NOTICE 'ms=%', extract(epoch FROM clock_timestamp() - t) * 1000; COMMIT; END LOOP; END \$\$" 2>&1 |
		sed -n 's/.*ms=//p'
}
have=$REPS
first_sample=
for n in $SIZES; do
	if [ "$n" -gt "$have" ]; then
		sq -c "SET pg_container.ready_path = ''" \
			-c "SELECT count(*) FROM generate_series($((have + 1)), $n) i, container_ensure_running('bsw-' || i)" >/dev/null
		have=$n
	fi
	samples=$(health_ms)
	[ -n "$first_sample" ] || first_sample=$samples
	record "swarm: health pass, $n running services" "wall time" ms "(two list requests at any N)" "-" \
		"the same at ${SIZES%% *} services" "$first_sample" "$samples"
done
