#!/usr/bin/env bash
# A Docker request to a hung engine is cancelled from another session with
# pg_cancel_backend within 2 s, as 57014; the backend lives on and its next
# call against the healthy engine succeeds.  The background worker, too,
# lives on through a cancel, whatever it was doing: following the events,
# waiting, or a sweep blocked on a hung engine.
source "$(dirname "$0")/../lib/tap.sh"
plan 12

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fault() { curl -s --unix-socket "$PGC_WORK/fault.sock" -X "$1" --data-binary "${3:-}" "http://fault$2"; }

q -c "SELECT container_ensure_running('cancel-user')" >/dev/null
fault POST /_fault/reset >/dev/null
fault POST /_fault/rules '[{"path": "/containers/", "action": "hang"}]' >/dev/null

# The victim session, blocked on the hung engine; then a healthy call.
psql -X -qAt -d pgc_test -v VERBOSITY=verbose \
	-c "SELECT pg_backend_pid()" \
	-c "SET pg_container.docker_host = 'unix://$PGC_WORK/fault.sock'" \
	-c "SELECT container_ensure_running('cancel-user')" \
	-c "RESET pg_container.docker_host" \
	-c "SELECT 'next: ' || url FROM container_ensure_running('cancel-user')" \
	-c "SELECT 'still: ' || pg_backend_pid()" >"$T/out" 2>&1 &
victim=$!
# Blocked once the engine holds its request.
wait_for 30 bash -c "curl -s --unix-socket '$PGC_WORK/fault.sock' http://fault/_fault/stats | grep -q '\"in_flight\": [1-9]'"
pid=$(head -1 "$T/out")
start=$(now_ms)
q -c "SELECT pg_cancel_backend($pid)" >/dev/null
wait_for 5 grep -q '57014' "$T/out"
elapsed=$(($(now_ms) - start))
wait "$victim"

like "$(cat "$T/out")" 'ERROR:  57014: canceling statement due to user request' "pg_cancel_backend ends a call blocked on a hung engine with 57014"
cmp_ok "$elapsed" -le 2000 "... within 2 s (took ${elapsed} ms)"
like "$(cat "$T/out")" 'next: http://mosaic-user-cancel-user:18789' "the next call against the healthy engine succeeds"
# The backend that was cancelled is the one that went on: the same pid.
ok "$([[ $pid =~ ^[0-9]+$ ]] && [ "$(grep '^still: ' "$T/out")" = "still: $pid" ]; echo $?)" \
	"... in the same backend, which lived on (pid ${pid:-none})"
fault POST /_fault/reset >/dev/null

# The worker.  It comes back after bgw_restart_time (1 s) when it exits,
# so the same pid 3 s after the cancel is what says it lived on.
LOG="$PGC_WORK/postgres.log"
worker_pid() { q -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_container worker'"; }
same_worker() { [[ $1 =~ ^[0-9]+$ ]] && [ "$(worker_pid)" = "$1" ]; }
in_sync() { test "$(q -c "SELECT in_sync FROM container_mirror")" = t; }
status_is() { test "$(q -c "SELECT status FROM user_container WHERE user_id = '$1'")" = "$2"; }
cancel_worker() { q -c "SELECT pg_cancel_backend($1)" >/dev/null; sleep 3; }

# While it follows Docker's events (both sweeps are off in the test world).
q -c "SELECT container_ensure_running('cancel-mirror')" >/dev/null
wait_for 60 in_sync
pid=$(worker_pid)
mark=$(stat -c %s "$LOG")
cancel_worker "$pid"
ok "$(same_worker "$pid"; echo $?)" "a cancel while the worker follows the events leaves the same worker running (pid ${pid:-none}, now $(worker_pid))"
like "$(tail -c +$((mark + 1)) "$LOG")" 'canceling statement due to user request' "... and the cancel is reported in the log"
pgc_docker stop -t 1 mosaic-user-cancel-mirror >/dev/null
wait_for 30 status_is cancel-mirror stopped
ok $? "... and the mirror goes on: a container stopped behind our back is marked stopped"

# While it waits, with the event stream off.
q -c "ALTER SYSTEM SET pg_container.event_stream = off"
reload_conf
wait_for 30 bash -c "! psql -X -qAt -d pgc_test -c 'SELECT in_sync FROM container_mirror' | grep -q t"
sleep 1
pid=$(worker_pid)
cancel_worker "$pid"
ok "$(same_worker "$pid"; echo $?)" "a cancel while the worker waits leaves the same worker running"

# During a sweep blocked on a hung engine: the sweep ends, the worker goes on.
q -c "ALTER SYSTEM SET pg_container.docker_host = 'unix://$PGC_WORK/fault.sock'" \
  -c "ALTER SYSTEM SET pg_container.reap_interval = '1s'"
fault POST /_fault/reset >/dev/null
fault POST /_fault/rules '[{"path": "/containers/json", "action": "hang", "times": 1}]' >/dev/null
reload_conf
wait_for 30 bash -c "curl -s --unix-socket '$PGC_WORK/fault.sock' http://fault/_fault/stats | grep -q '\"in_flight\": [1-9]'"
pid=$(worker_pid)
cancel_worker "$pid"
ok "$(same_worker "$pid"; echo $?)" "a cancel during a sweep blocked on a hung engine leaves the same worker running"
lists() { fault GET /_fault/log | grep -o 'containers/json' | wc -l; }
wait_for 10 bash -c "[ \$(curl -s --unix-socket '$PGC_WORK/fault.sock' http://fault/_fault/log | grep -o containers/json | wc -l) -ge 2 ]"
cmp_ok "$(lists)" -ge 2 "... whose next sweep runs"
is "$(q -c "SELECT count(*) FROM container_event WHERE event = 'error' AND detail->>'message' ~ 'canceling'")" 0 \
	"... and the cancel is not recorded as a failed pass"
ok "$(same_worker "$pid"; echo $?)" "... still in the same worker"

q -c "ALTER SYSTEM RESET pg_container.docker_host" -c "ALTER SYSTEM RESET pg_container.reap_interval" \
  -c "ALTER SYSTEM RESET pg_container.event_stream"
reload_conf
fault POST /_fault/reset >/dev/null
tap_exit
