#!/usr/bin/env bash
# Scale: health check at 10, 50 and 200 running containers against one
# GET /containers/json and N sequential inspects; and the per-call cost of
# ensure, touch, health and reap at 200 users against the same at 10.
# Runs first, while the engine holds no other containers.  Every side takes
# REPS samples, and the engine calls are timed by curl itself per request
# (no process start-up), like the health check, which is timed in session.
source "$(dirname "$0")/../lib.sh"
REPS=7
V=/v$(api_version)
declare -A ENSURE TOUCH HEALTH REAP HEALTH_PER_USER

cat >"$BENCH_TMP/ensure_sc.sql" <<'SQL'
\set u random(1, :n)
SELECT * FROM container_ensure_running('sc-' || :u);
SQL
cat >"$BENCH_TMP/touch_sc.sql" <<'SQL'
\set u random(1, :n)
SELECT container_touch('sc-' || :u);
SQL

for n in 10 50 200; do
	make_users sc- "$n" pgc-sleeper:test
	health=() list=() inspects=() reap=()
	ids=$(bq -c "SELECT string_agg(container_id, ' ') FROM user_container WHERE user_id LIKE 'sc-%'")
	health=($(session_ms "$REPS" "SELECT count(*) FROM container_health_check_all()"))
	reap=($(session_ms "$REPS" "SELECT count(*) FROM container_reap_idle()"))
	for rep in $(seq 1 "$REPS"); do
		list+=($(curl -s -o /dev/null --unix-socket "$PGC_WORK/docker.sock" -w '%{time_total}' \
			"http://docker$V/containers/json?all=1&filters=%7B%22label%22%3A%5B%22pg_container.managed%3Dtrue%22%5D%7D" | awk '{print $1 * 1000}'))
	done
	per_user=()
	for h in "${health[@]}"; do per_user+=($(python3 -c "print($h / $n)")); done
	HEALTH_PER_USER[$n]="${per_user[*]}"
	urls=()
	for id in $ids; do urls+=(-o /dev/null "http://docker$V/containers/$id/json"); done
	for rep in $(seq 1 "$REPS"); do
		# The sum of the N requests' own times, over one kept-alive connection.
		inspects+=($(curl -s --unix-socket "$PGC_WORK/docker.sock" -w '%{time_total}\n' "${urls[@]}" |
			awk '{t += $1} END {printf "%.3f\n", t * 1000}'))
	done
	record "health check, $n running containers" "wall time" ms "flat in N; at N = 200 under 3x the list call" \
		"$([ "$n" = 200 ] && echo 3 || echo -)" "one GET /containers/json (curl, kept alive)" "${list[*]}" "${health[*]}"
	record "health check the original service's way, $n containers" "wall time" ms "(for comparison)" "-" \
		"container_health_check_all()" "${health[*]}" "${inspects[*]}" "N sequential inspects over one kept-alive connection, the sum of curl's times per request"
	HEALTH[$n]="${health[*]}"
	REAP[$n]="${reap[*]}"

	e=() t=()
	for rep in $(seq 1 "$REPS"); do
		e+=($(pgbench_latency_ms 1 4 "$BENCH_TMP/ensure_sc.sql" -D n="$n"))
		t+=($(pgbench_latency_ms 1 4 "$BENCH_TMP/touch_sc.sql" -D n="$n"))
	done
	ENSURE[$n]="${e[*]}"
	TOUCH[$n]="${t[*]}"
done

record "scale: ensure on a running container, 200 users" "latency per call" ms "within 1.5x of 10 users" 1.5 \
	"the same at 10 users" "${ENSURE[10]}" "${ENSURE[200]}"
record "scale: touch, 200 users" "latency per call" ms "within 1.5x of 10 users" 1.5 \
	"the same at 10 users" "${TOUCH[10]}" "${TOUCH[200]}"
record "scale: health check, 200 running users" "wall time" ms "within 1.5x of 10 users" 1.5 \
	"the same at 10 users" "${HEALTH[10]}" "${HEALTH[200]}" "the engine's own list call grows with the number of containers"
record "scale: health check per running user, 200 users" "time per user" ms "(flat in N)" "-" \
	"the same at 10 users" "${HEALTH_PER_USER[10]}" "${HEALTH_PER_USER[200]}"
record "scale: reap sweep with nothing idle, 200 users" "wall time" ms "within 1.5x of 10 users" 1.5 \
	"the same at 10 users" "${REAP[10]}" "${REAP[200]}"
