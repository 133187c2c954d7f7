#!/usr/bin/env bash
# A backend killed with SIGKILL in the middle of container_ensure_running,
# once while Docker creates the container and once while it starts it: the
# server restarts its backends, and the next call for the user works and
# adopts or reuses the container, never creating a second.
source "$(dirname "$0")/../lib/tap.sh"
plan 7

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
LOG="$PGC_WORK/postgres.log"
fault() { curl -s --unix-socket "$PGC_WORK/fault.sock" -X "$1" --data-binary "${3:-}" "http://fault$2"; }
server_up() { psql -X -qAt -d pgc_test -c "SELECT 1" >/dev/null 2>&1; }

# crash_during USER PATH_REGEX: kill -9 the backend while its request to
# PATH_REGEX is held back by the fault engine (which passes it on later).
crash_during() {
	local user=$1 path=$2 pid
	fault POST /_fault/reset >/dev/null
	fault POST /_fault/rules "[{\"method\": \"POST\", \"path\": \"$path\", \"action\": \"pass\", \"delay_ms\": 2000}]" >/dev/null
	psql -X -qAt -d pgc_test -c "SELECT pg_backend_pid()" \
		-c "SET pg_container.docker_host = 'unix://$PGC_WORK/fault.sock'" \
		-c "SELECT container_ensure_running('$user')" >"$T/$user.out" 2>&1 &
	wait_for 10 bash -c "curl -s --unix-socket '$PGC_WORK/fault.sock' http://fault/_fault/log | grep -Eq '$path'"
	pid=$(head -1 "$T/$user.out")
	kill -KILL "$pid"
	wait
	wait_for 30 server_up
}

# The held-back request reaches dockerd after all; wait until it is done.
container_state_is() { test "$(pgc_docker inspect -f '{{.State.Status}}' "mosaic-user-$1" 2>/dev/null)" = "$2"; }

# Start from users that have nothing yet.
q -c "SELECT container_remove(u) FROM unnest(ARRAY['crash-create', 'crash-start']) u" >/dev/null
mark=$(stat -c %s "$LOG")
crash_during crash-create '/containers/create'
wait_for 10 container_state_is crash-create created
like "$(tail -c +"$((mark + 1))" "$LOG")" 'terminated by signal 9: Killed' "a backend killed during the create takes the server through a restart of its backends"
out=$(q -c "SELECT url FROM container_ensure_running('crash-create')" 2>&1)
is "$out" "http://mosaic-user-crash-create:18789" "afterwards the next call for the user works"
is "$(pgc_docker ps -a -q --filter label=pg_container.user_id=crash-create | wc -l)" 1 "... leaving exactly one container"

# This user's row is committed first, as after a sign-up, so the container
# the killed call made carries the row's token and is adopted (one made for
# a row that rolled back has another token and is made again: gateway.sql).
q -c "SELECT container_set_idle_timeout('crash-start', 30)" >/dev/null
crash_during crash-start '/containers/[0-9a-f]+/start'
wait_for 10 container_state_is crash-start running
orphan=$(pgc_docker inspect -f '{{.Id}}' mosaic-user-crash-start)
out=$(q -c "SELECT url FROM container_ensure_running('crash-start')" 2>&1)
is "$out" "http://mosaic-user-crash-start:18789" "after a kill during the start, the next call works"
is "$(pgc_docker ps -a -q --filter label=pg_container.user_id=crash-start | wc -l)" 1 "... leaving exactly one container"
is "$(q -c "SELECT container_id FROM user_container WHERE user_id = 'crash-start'")" "$orphan" "... the one the killed call made, adopted"
is "$(pgc_docker inspect -f '{{.State.Status}}' mosaic-user-crash-start)" "running" "... and running"
fault POST /_fault/reset >/dev/null
tap_exit
