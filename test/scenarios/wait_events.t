#!/usr/bin/env bash
# A backend blocked on the Docker engine shows it in pg_stat_activity: wait
# event type "Extension", wait event "DockerRequest" from PostgreSQL 17 on
# (a named custom wait event), "Extension" before.  Once the call is over the
# backend no longer claims to wait on Docker.
source "$(dirname "$0")/../lib/tap.sh"
plan 3

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fault() { curl -s --unix-socket "$PGC_WORK/fault.sock" -X "$1" --data-binary "${3:-}" "http://fault$2"; }

if [ "$(q -c 'SHOW server_version_num')" -ge 170000 ]; then
	expected_event=DockerRequest
else
	expected_event=Extension
fi

fault POST /_fault/reset >/dev/null
fault POST /_fault/rules '[{"path": "/containers/", "action": "hang"}]' >/dev/null

psql -X -qAt -d pgc_test \
	-c "SELECT pg_backend_pid()" \
	-c "SET pg_container.docker_host = 'unix://$PGC_WORK/fault.sock'" \
	-c "SELECT container_ensure_running('wait-event-user')" \
	-c "SELECT 'after: ' || pg_sleep(60)" >"$T/out" 2>&1 &
victim=$!
wait_for 30 bash -c "curl -s --unix-socket '$PGC_WORK/fault.sock' http://fault/_fault/stats | grep -q '\"in_flight\": [1-9]'"
pid=$(head -1 "$T/out")

# Sampled until seen: between two polls the backend is briefly not waiting.
wait_for 10 bash -c "psql -X -qAt -d pgc_test -c \"SELECT wait_event_type || '/' || wait_event FROM pg_stat_activity WHERE pid = $pid\" | grep -qx 'Extension/$expected_event'"
seen=$(q -c "SELECT wait_event_type || '/' || wait_event FROM pg_stat_activity WHERE pid = $pid")
is "$seen" "Extension/$expected_event" "a backend blocked on the engine waits on Extension/$expected_event"

q -c "SELECT pg_cancel_backend($pid)" >/dev/null
wait_for 10 grep -q '57014\|canceling statement' "$T/out"
like "$(cat "$T/out")" 'canceling statement due to user request' "... and is cancelled out of that wait"

# The next statement (pg_sleep) shows its own wait, not a left-over Docker one.
wait_for 10 bash -c "psql -X -qAt -d pgc_test -c \"SELECT wait_event FROM pg_stat_activity WHERE pid = $pid\" | grep -qx PgSleep"
is "$(q -c "SELECT wait_event FROM pg_stat_activity WHERE pid = $pid")" "PgSleep" \
	"... and its next statement's wait replaces it"
q -c "SELECT pg_terminate_backend($pid)" >/dev/null
wait "$victim"
fault POST /_fault/reset >/dev/null
tap_exit
