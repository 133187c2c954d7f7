#!/usr/bin/env bash
# The start queue (issue 28), side by side in one run:
# - the storm: N users (200) of a gateway that boots in BOOT_S (8) seconds
#   wake at once through a pool of POOL (10) connections, each calling
#   container_start for its share and then container_wait for each, with
#   max_connections = MAX_CONN (30), far below one backend a user.
#   Measured: connections refused; p99 of container_touch (of the storm's
#   own users) and of SELECT 1 from other clients during the storm's first
#   PROBE_S seconds, against the same with no storm; the time until all N
#   are ready, against the engine's floor: `docker run -d` of the same N
#   through WIDTH lanes (max_concurrent_starts), each lane waiting for its
#   gateway to answer before its next run;
# - the same storm through synchronous container_ensure_running;
# - admission: a budget that fits 10 gateways at their memory limit, 15
#   starts: the number running at once, sampled throughout; which idle
#   users make room (a paused one first, then the least recently active);
#   no start fails;
# - the real OpenClaw gateway, if its image can be had without a network
#   (test/openclaw/build-image.sh's cache): 8 users wake at once, against 8
#   parallel `docker run -d` plus their readiness.
# It restarts PostgreSQL (max_connections) and puts every setting back at
# the end.  Not in bench/run's default list (it takes minutes): run it as
# `bench/run bench/cases/start_storm.sh`, or in a kept world as
# `bash bench/cases/start_storm.sh` (it then prints its own table).
source "$(dirname "$0")/../lib.sh"
N=${N:-200}
POOL=${POOL:-10}
WIDTH=${WIDTH:-20}
BOOT_S=${BOOT_S:-8}
MAX_CONN=${MAX_CONN:-30}
PROBE_S=${PROBE_S:-30}
PROBE_RATE=${PROBE_RATE:-20}
OPENCLAW_USERS=${OPENCLAW_USERS:-8}
PGDATA_DIR=${PGC_PGDATA:-$PGC_WORK/pgdata}
STANDALONE=
if [ -z "${BENCH_RESULTS:-}" ]; then
	export BENCH_RESULTS="$BENCH_TMP/results.jsonl"
	STANDALONE=1
fi
V=/v$(api_version)
SLOW_IMAGE=pgc-slowboot:bench
log() { echo "start_storm: $*" >&2; }

# --- the world's settings, and putting them back -----------------------

restart_postgres() {
	runuser -u postgres -- "$PGC_PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PGC_WORK/postgres.log" \
		-w -t 60 -m fast restart >/dev/null || { log "PostgreSQL did not restart"; exit 1; }
}
# The worker serves again once it has attached (container_start says so).
wait_for_worker() {
	local i
	for i in $(seq 1 150); do
		bq -c "SELECT 1 FROM pg_stat_activity WHERE application_name = 'pg_container worker'" 2>/dev/null | grep -q 1 && return 0
		sleep 0.2
	done
	log "the pg_container worker did not come back"
	exit 1
}
set_worker() {	# set_worker NAME VALUE ...: ALTER SYSTEM, then reload
	while [ $# -gt 1 ]; do
		bq -c "ALTER SYSTEM SET $1 = '$2'"
		shift 2
	done
	bq -c "SELECT pg_reload_conf()" >/dev/null
	sleep 1
}
SETTINGS=(max_connections pg_container.max_concurrent_starts pg_container.image pg_container.ready_timeout
	pg_container.running_memory_budget pg_container.memory_limit pg_container.stop_timeout)
put_back() {
	local s
	for s in "${SETTINGS[@]}"; do bq -c "ALTER SYSTEM RESET $s" 2>/dev/null; done
	restart_postgres
	wait_for_worker
}

# Forget the users of PREFIX through container_remove (their containers,
# volumes and networks; their requests go with their rows), carried out
# here by container_process_removals rather than later by the worker,
# POOL sessions at once, so that nothing of one phase runs into the next.
forget_users() {
	local c i pids=()
	for c in $(seq 0 $((POOL - 1))); do
		bq -c "SELECT count(*) FROM user_container u, container_remove(u.user_id, false)
		        WHERE u.user_id LIKE '$1%' AND abs(hashtext(u.user_id) % $POOL) = $c" \
			-c "SELECT container_process_removals()" >/dev/null &
		pids+=($!)
	done
	wait "${pids[@]}"
	for i in $(seq 1 600); do
		[ "$(bq -c "SELECT count(*) FROM user_container WHERE user_id LIKE '$1%'")" = 0 ] && return 0
		bq -c "SELECT container_process_removals()" >/dev/null
		sleep 0.5
	done
	log "users of $1 still being removed"
}

# Rows without containers, so that touch finds the same rows with and
# without a storm, and the storm starts every user cold.
make_rows() {
	bq -c "SELECT count(*) FROM generate_series(1, $2) i, LATERAL container_set_idle_timeout('$1' || i, 30) s" >/dev/null
}

# --- the other clients: probes ------------------------------------------

# probes_start TAG PREFIX: for PROBE_S seconds, container_touch of the
# storm's users and SELECT 1, each on its own connection at PROBE_RATE a
# second (pgbench -R, logged), and a new connection every quarter second.
probes_start() {
	local dir="$BENCH_TMP/$1" prefix=$2
	mkdir -p "$dir"
	printf '\\set u random(1, %d)\nSELECT container_touch('"'"'%s'"'"' || :u);\n' "$N" "$prefix" >"$dir/touch.sql"
	echo 'SELECT 1;' >"$dir/select1.sql"
	(cd "$dir" && $PGBENCH -n -c 1 -R "$PROBE_RATE" -T "$PROBE_S" -l --log-prefix=touch \
		-f touch.sql pgc_test >touch.out 2>&1) &
	PROBE_PIDS=($!)
	(cd "$dir" && $PGBENCH -n -c 1 -R "$PROBE_RATE" -T "$PROBE_S" -l --log-prefix=select1 \
		-f select1.sql pgc_test >select1.out 2>&1) &
	PROBE_PIDS+=($!)
	(
		end=$(($(now_ms) + PROBE_S * 1000))
		while [ "$(now_ms)" -lt "$end" ]; do
			psql -X -qAt -d pgc_test -c 'SELECT 1' >/dev/null 2>>"$dir/connect.err" || echo fail >>"$dir/connect.fail"
			echo try >>"$dir/connect.tries"
			sleep 0.25
		done
	) &
	PROBE_PIDS+=($!)
}
probes_wait() { wait "${PROBE_PIDS[@]}"; }

# p99 of the logged transactions of probe KIND (touch, select1) of TAG, in
# ms: each one's own time (pgbench -R logs the schedule lag apart).
probe_p99() {
	cat "$BENCH_TMP/$1"/$2.* 2>/dev/null | awk '{lag = (NF >= 7 ? $7 : 0); print ($3 - lag) / 1000}' |
		python3 -c 'import sys; v = sorted(float(x) for x in sys.stdin.read().split()); print(f"{v[min(len(v) - 1, int(0.99 * len(v)))]:.3f}" if v else "nan")'
}
probe_count() { cat "$BENCH_TMP/$1"/$2.* 2>/dev/null | wc -l; }
# Refusals ("too many clients") in every client's output under TAG.
refusals() { cat "$BENCH_TMP/$1"/*.out "$BENCH_TMP/$1"/*.err 2>/dev/null | grep -c 'too many clients'; }

# --- the storm ---------------------------------------------------------

# storm TAG PREFIX MODE: N users of PREFIX through POOL clients, MODE
# "queue" (container_start for the client's share, then container_wait for
# each) or "ensure" (container_ensure_running for each in turn).  Prints
# the milliseconds until every client was done.
storm() {
	local tag=$1 prefix=$2 mode=$3 dir="$BENCH_TMP/$1" c i start pids=()
	mkdir -p "$dir"
	for c in $(seq 1 "$POOL"); do
		: >"$dir/client$c.sql"
		for i in $(seq "$c" "$POOL" "$N"); do
			if [ "$mode" = queue ]; then
				echo "SELECT status FROM container_start('$prefix$i');"
			else
				echo "SELECT 'running' FROM container_ensure_running('$prefix$i');"
			fi
		done >>"$dir/client$c.sql"
		if [ "$mode" = queue ]; then
			for i in $(seq "$c" "$POOL" "$N"); do
				echo "SELECT status FROM container_wait('$prefix$i', '900 s');"
			done >>"$dir/client$c.sql"
		fi
	done
	probes_start "$tag" "$prefix"
	start=$(now_ms)
	for c in $(seq 1 "$POOL"); do
		psql -X -qAt -d pgc_test -f "$dir/client$c.sql" >"$dir/client$c.status" 2>"$dir/client$c.err" &
		pids+=($!)
	done
	wait "${pids[@]}"
	echo $(($(now_ms) - start))
	probes_wait
}

# The engine's floor: the same N through WIDTH lanes, each doing by CLI
# what a start of pg_container's does with network_mode = per_user (the
# default): `docker network create` of the user's own /28, `docker run -d`
# of the same image and spec on it, `docker network connect` of the API
# container; then GET /readyz every 100 ms (the worker's BOOT_POLL_MS)
# until it answers 2xx; then its next.  Prints ms.  floor_ms forget
# removes what it made.
floor_ms() {
	python3 - "${1:-floor}" "$N" "$WIDTH" "$PGC_WORK/docker.sock" "$SLOW_IMAGE" <<'PY'
import secrets, subprocess, sys, threading, time, urllib.request, uuid
what, n, width, sock, image = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
todo = list(range(1, n + 1))
lock = threading.Lock()
failures = []

def docker(*args):
    subprocess.run(["docker", "-H", f"unix://{sock}", *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

def boot(i):
    port, net = 31000 + i, f"floor-{i}-net"
    docker("network", "create", "--subnet", f"10.214.{i * 16 // 256}.{i * 16 % 256}/28",
           "--label", "pg_container.managed=bench", net)
    docker("run", "-d", "--name", f"floor-{i}", "--network", net, "-p", f"127.0.0.1:{port}:18789",
           "-v", f"floor-{i}-state:/home/node/.openclaw",
           "-e", "MOSAIC_API_URL=http://mosaic-api:3000/api", "-e", f"AGENT_TOKEN={secrets.token_hex(32)}",
           "-e", f"AGENT_ID={uuid.uuid4()}", "--label", "pg_container.managed=bench",
           "--label", f"pg_container.user_id=floor-{i}", "--memory", "2g",
           "--security-opt", "no-new-privileges", "--restart", "unless-stopped", image)
    docker("network", "connect", net, "mosaic-api")
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                if 200 <= r.status < 300:
                    return
        except Exception:
            pass
        time.sleep(0.1)
    raise TimeoutError(i)

def forget(i):
    net = f"floor-{i}-net"
    subprocess.run(["docker", "-H", f"unix://{sock}", "rm", "-f", "-v", f"floor-{i}"], capture_output=True)
    subprocess.run(["docker", "-H", f"unix://{sock}", "network", "disconnect", "-f", net, "mosaic-api"], capture_output=True)
    subprocess.run(["docker", "-H", f"unix://{sock}", "network", "rm", net], capture_output=True)
    subprocess.run(["docker", "-H", f"unix://{sock}", "volume", "rm", f"floor-{i}-state"], capture_output=True)

def lane():
    while True:
        with lock:
            if not todo:
                return
            i = todo.pop(0)
        try:
            (boot if what == "floor" else forget)(i)
        except Exception:
            failures.append(i)

start = time.time()
lanes = [threading.Thread(target=lane) for _ in range(width)]
for t in lanes:
    t.start()
for t in lanes:
    t.join()
if failures:
    print(f"{what}: {len(failures)} of {n} failed", file=sys.stderr)
print(int((time.time() - start) * 1000))
PY
}
forget_floor() { floor_ms forget >/dev/null; }

# How many of PREFIX's users run with no start pending, and how many
# starts failed (events).
ready_count() {
	bq -c "SELECT count(*) FROM user_container u WHERE u.user_id LIKE '$1%' AND u.status = 'running'
	         AND NOT EXISTS (SELECT 1 FROM container_start_request r WHERE r.user_id = u.user_id)"
}
failed_count() { bq -c "SELECT count(*) FROM container_event WHERE user_id LIKE '$1%' AND event = 'failed'"; }

# --- set up --------------------------------------------------------------

# The slow gateway: nothing listens for BOOT_S seconds, then httpd serves
# /readyz.  TERM ends it at once, in the sleep too.
tar -C "$PGC_WORK/rootfs" -c . | bdk import --change \
	"CMD [\"/bin/busybox\",\"sh\",\"-c\",\"trap \\\"exit 0\\\" TERM; /bin/busybox sleep $BOOT_S & wait \$!; /bin/busybox httpd -f -p 18789 -h /www & wait\"]" \
	- "$SLOW_IMAGE" >/dev/null || { log "could not build $SLOW_IMAGE"; exit 1; }
trap 'put_back' EXIT
bq -c "ALTER SYSTEM SET max_connections = $MAX_CONN"
bq -c "ALTER SYSTEM SET pg_container.max_concurrent_starts = $WIDTH" -c "ALTER SYSTEM SET pg_container.image = '$SLOW_IMAGE'" \
	-c "ALTER SYSTEM SET pg_container.ready_timeout = '300s'" -c "ALTER SYSTEM SET pg_container.stop_timeout = 2"
restart_postgres
wait_for_worker
log "N=$N POOL=$POOL WIDTH=$WIDTH BOOT_S=$BOOT_S max_connections=$(bq -c 'SHOW max_connections')"

# --- no storm: the probes alone ------------------------------------------

make_rows st- "$N"
make_rows ss- "$N"
probes_start calm st-
probes_wait
log "calm: touch p99 $(probe_p99 calm touch) ms ($(probe_count calm touch) calls), SELECT 1 p99 $(probe_p99 calm select1) ms"

# --- the storm through the queue -------------------------------------------

queue_ms=$(storm queue st- queue)
queue_ready=$(ready_count st-)
queue_failed=$(failed_count st-)
server_ms=$(bq -c "SELECT round(extract(epoch FROM max(at) - min(at)) * 1000)
                     FROM container_event WHERE user_id LIKE 'st-%' AND event IN ('queued', 'started')")
log "queue storm: all ready after $queue_ms ms (first queued to last started: $server_ms ms); $queue_ready of $N running, $queue_failed failed; refused $(refusals queue); touch p99 $(probe_p99 queue touch) ms, SELECT 1 p99 $(probe_p99 queue select1) ms"
[ "$queue_ms" -gt $((PROBE_S * 1000)) ] || log "the queue storm ended within the probes' $PROBE_S s: its p99 also covers calm time"
forget_users st-

# --- the engine's floor ----------------------------------------------------

floor=$(floor_ms)
log "floor: $N docker run -d through $WIDTH lanes, each up to /readyz: $floor ms"
forget_floor

# --- the storm through synchronous ensure ------------------------------------

ensure_ms=$(storm ensure ss- ensure)
ensure_ready=$(ready_count ss-)
log "ensure storm: all ready after $ensure_ms ms; $ensure_ready of $N running; refused $(refusals ensure); touch p99 $(probe_p99 ensure touch) ms, SELECT 1 p99 $(probe_p99 ensure select1) ms"
forget_users ss-

where="N = $N, a pool of $POOL, max_connections = $MAX_CONN, max_concurrent_starts = $WIDTH, boot $BOOT_S s"
record "start storm ($where): connections refused (the storm's clients, the probes, a new connection every 0.25 s)" \
	"refusals" count "0" "-" "the same storm through container_ensure_running" "$(refusals ensure)" "$(refusals queue)" \
	"absolute target: median <= 0 refused; every user holding a backend would need $N connections"
record "start storm: p99 of container_touch of the storm's users from another client (first $PROBE_S s)" \
	"p99 latency" ms "at most 2x the baseline" 2 "the same with no storm" "$(probe_p99 calm touch)" "$(probe_p99 queue touch)"
record "start storm: p99 of SELECT 1 from another client (first $PROBE_S s)" \
	"p99 latency" ms "at most 2x the baseline" 2 "the same with no storm" "$(probe_p99 calm select1)" "$(probe_p99 queue select1)"
record "start storm: time until all $N are ready (container_start, then container_wait; $queue_ready ready, $queue_failed failed)" \
	"wall time" ms "at most 1.2x the baseline" 1.2 "docker run -d of the same $N through $WIDTH lanes, each until /readyz 2xx" \
	"$floor" "$queue_ms" "The floor's lanes run one docker run -d each, then poll /readyz every 100 ms, as the worker's boot slots do."
record "the same storm through synchronous container_ensure_running ($ensure_ready ready)" \
	"wall time" ms "(for comparison)" "-" "the storm through the queue" "$queue_ms" "$ensure_ms" \
	"Each of the pool's $POOL connections is held for each boot in turn."
record "the same storm through synchronous ensure: p99 of container_touch of its users" \
	"p99 latency" ms "(for comparison)" "-" "the same with no storm" "$(probe_p99 calm touch)" "$(probe_p99 ensure touch)" \
	"The ensure holds the user's row lock through the boot, and the touch waits for it."
record "the same storm through synchronous ensure: p99 of SELECT 1" \
	"p99 latency" ms "(for comparison)" "-" "the same with no storm" "$(probe_p99 calm select1)" "$(probe_p99 ensure select1)"

# --- admission by memory -------------------------------------------------

ADMIT_MB=64
set_worker pg_container.memory_limit "$ADMIT_MB" pg_container.running_memory_budget $((10 * ADMIT_MB))
make_rows adm- 15
# The most containers of adm- up (running or paused) at once, every 0.2 s.
(
	max=0
	while [ ! -f "$BENCH_TMP/admission.done" ]; do
		n=$(curl -s --unix-socket "$PGC_WORK/docker.sock" \
			"http://docker$V/containers/json?filters=%7B%22name%22%3A%5B%22mosaic-user-adm-%22%5D%7D" |
			python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
		[ "$n" -gt "$max" ] && max=$n && echo "$max" >"$BENCH_TMP/admission.max"
		sleep 0.2
	done
) &
sampler=$!
for i in $(seq 1 15); do bq -c "SELECT status FROM container_start('adm-$i')" >/dev/null; done
for i in $(seq 1 10); do bq -c "SELECT status FROM container_wait('adm-$i', '300 s')" >/dev/null; done
sleep 3
queued=$(bq -c "SELECT count(*) FROM container_start_queue WHERE state = 'queued' AND user_id LIKE 'adm-%'")
log "admission: 10 started, $queued of 5 still queued with nothing idle"
# Make room: adm-10, the most recently active, paused by the sweep (it goes
# first), then every one of the ten idle, adm-1 the longest.
bq -c "SELECT container_set_pause_after('adm-10', 5)" \
	-c "UPDATE user_container SET last_active_at = now() - interval '10 minutes' WHERE user_id = 'adm-10'" \
	-c "SELECT count(*) FROM container_reap_idle()" >/dev/null
bq -c "UPDATE user_container SET last_active_at = now() - (20 - substr(user_id, 5)::int) * interval '1 minute'
        WHERE user_id LIKE 'adm-%' AND substr(user_id, 5)::int < 10" >/dev/null
failed_waits=0
for i in $(seq 11 15); do bq -c "SELECT status FROM container_wait('adm-$i', '300 s')" >/dev/null || failed_waits=$((failed_waits + 1)); done
touch "$BENCH_TMP/admission.done"
wait "$sampler"
most=$(cat "$BENCH_TMP/admission.max" 2>/dev/null || echo 0)
evicted=$(bq -c "SELECT string_agg(user_id, ' ' ORDER BY id) FROM container_event WHERE user_id LIKE 'adm-%' AND event = 'stopped'")
adm_failed=$(($(failed_count adm-) + failed_waits))
wrong=$([ "$evicted" = "adm-10 adm-1 adm-2 adm-3 adm-4" ] && echo 0 || echo 1)
log "admission: at most $most up at once; stopped to make room, in order: $evicted; $adm_failed failed"
record "admission: budget for 10 gateways at their limit ($ADMIT_MB MB), 15 starts: most up at once (sampled every 0.2 s)" \
	"containers" count "never more than 10" "-" "" "" "$most" "absolute target: median <= 10 containers"
record "admission: starts that failed" "starts" count "0" "-" "" "" "$adm_failed" "absolute target: median <= 0 failed"
record "admission: idle users stopped out of order (expected: adm-10, paused, then adm-1 to adm-4, least recently active first)" \
	"wrong order" count "0" "-" "" "" "$wrong" "absolute target: median <= 0 wrong; stopped, in order: $evicted"
forget_users adm-
set_worker pg_container.running_memory_budget 0 pg_container.memory_limit 2048

# --- the real gateway --------------------------------------------------------

cache=${PGC_OPENCLAW_CACHE:-/var/cache/pg_container-test/openclaw}
if [ "$OPENCLAW_USERS" -eq 0 ]; then
	log "the real gateway: skipped (OPENCLAW_USERS=0)"
elif ! ls "$cache"/*.rootfs.tar >/dev/null 2>&1; then
	log "the real gateway: skipped, no cached image in $cache (run test/openclaw/build-image.sh --prepare-only with a network first)"
elif ! IMAGE=$(DOCKER_HOST="unix://$PGC_WORK/docker.sock" "$PGC_ROOT/test/openclaw/build-image.sh" 2>"$BENCH_TMP/openclaw-build.log"); then
	log "the real gateway: skipped, the image did not build (see $BENCH_TMP/openclaw-build.log)"
else
	set_worker pg_container.image "$IMAGE" pg_container.max_concurrent_starts "$OPENCLAW_USERS" pg_container.stop_timeout 30
	make_rows ocs- "$OPENCLAW_USERS"
	start=$(now_ms)
	for i in $(seq 1 "$OPENCLAW_USERS"); do bq -c "SELECT status FROM container_start('ocs-$i')" >/dev/null; done
	for i in $(seq 1 "$OPENCLAW_USERS"); do bq -c "SELECT status FROM container_wait('ocs-$i', '600 s')" >/dev/null; done
	oc_queue=$(($(now_ms) - start))
	oc_ready=$(ready_count ocs-)
	forget_users ocs-
	start=$(now_ms)
	for i in $(seq 1 "$OPENCLAW_USERS"); do
		(
			port=$((31500 + i))
			bdk run -d --name "ocs-base-$i" --network mosaic-internal -p "127.0.0.1:$port:18789" \
				-v "ocs-base-$i-state:/home/node/.openclaw" -e "OPENCLAW_GATEWAY_TOKEN=$(openssl rand -hex 32)" \
				--label pg_container.managed=bench --cap-drop ALL --security-opt no-new-privileges --init \
				--pids-limit 512 --memory 2g --cpus 2 --restart unless-stopped "$IMAGE" >/dev/null
			t0=$(now_ms)
			until [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200 ]; do
				[ $(($(now_ms) - t0)) -gt 300000 ] && { echo "ocs-base-$i" >>"$BENCH_TMP/ocs-base.unready"; break; }
				sleep 0.1
			done
		) &
	done
	wait
	oc_base=$(($(now_ms) - start))
	ids=$(bdk ps -aq --filter label=pg_container.managed=bench)
	[ -n "$ids" ] && bdk rm -f -v $ids >/dev/null
	bdk volume prune -f >/dev/null
	log "the real gateway: $OPENCLAW_USERS through the queue $oc_queue ms ($oc_ready ready); parallel docker run + /readyz $oc_base ms"
	oc_base_unready=$(cat "$BENCH_TMP/ocs-base.unready" 2>/dev/null | wc -l)
	if [ "$oc_ready" = "$OPENCLAW_USERS" ] && [ "$oc_base_unready" = 0 ]; then
		ratio=1.2 note=
	else
		# A gateway that never answered makes its side's time the 300 s limit.
		ratio=- note="Not judged: $((OPENCLAW_USERS - oc_ready)) through the queue and $oc_base_unready by docker run never answered within 300 s (see the log)."
	fi
	record "real gateway: $OPENCLAW_USERS users wake at once (container_start, container_wait; $oc_ready ready)" "wall time" ms \
		"at most 1.2x the baseline" "$ratio" "$OPENCLAW_USERS parallel docker run -d, each until /readyz 2xx" "$oc_base" "$oc_queue" "$note"
fi

[ -n "$STANDALONE" ] && python3 "$PGC_ROOT/bench/report.py" "$BENCH_RESULTS"
exit 0
