#!/usr/bin/env bash
# The background worker, against the real dockerd: it runs in
# pg_container.database, reaps and checks health on its own schedule, takes
# new intervals on reload, corrects stale rows when it starts, comes back
# after pg_terminate_backend, takes a reload only between passes, and
# answers SIGTERM while blocked on a hung engine.
source "$(dirname "$0")/../lib/tap.sh"
plan 15

LOG="$PGC_WORK/postgres.log"
reload() { q -c "SELECT pg_reload_conf()" >/dev/null; }
worker_pid() { q -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_container worker'"; }
fault() { curl -s --unix-socket "$PGC_WORK/fault.sock" -X "$1" --data-binary "${3:-}" "http://fault$2"; }
status_of() { q -c "SELECT status FROM user_container WHERE user_id = '$1'"; }
status_is() { test "$(status_of "$1")" = "$2"; }
log_since() { tail -c +"$(($1 + 1))" "$LOG"; }

is "$(q -c "SELECT datname FROM pg_stat_activity WHERE backend_type = 'pg_container worker'")" "pgc_test" \
	"the worker runs, visible by name in pg_stat_activity, in pg_container.database"

# Reaping on its own schedule, with no SQL call.
q -c "SELECT container_ensure_running('wk-idle'), container_ensure_running('wk-fresh')" >/dev/null
q -c "UPDATE user_container SET last_active_at = now() - interval '2 hours' WHERE user_id = 'wk-idle'"
mark=$(stat -c %s "$LOG")
q -c "ALTER SYSTEM SET pg_container.reap_interval = '2s'"
reload
# The schedule starts when the worker has taken the new interval; on a
# loaded machine the reload itself may take a while to arrive.
wait_for 30 bash -c "tail -c +$((mark + 1)) '$LOG' | grep -q 'reap_interval is now 2 s'"
start=$(now_ms)
wait_for 30 status_is wk-idle stopped
elapsed=$(($(now_ms) - start))
is "$(status_of wk-idle)" "stopped" "the worker reaps an idle container with no SQL call"
cmp_ok "$elapsed" -le 4500 "... within two reap intervals of 2 s of taking the interval (took ${elapsed} ms)"
is "$(status_of wk-fresh) $(pgc_docker inspect -f '{{.State.Status}}' mosaic-user-wk-fresh)" "running running" "... and leaves an active one running"
like "$(log_since "$mark")" 'reap_interval is now 2 s' "a reload changes the interval without a restart, and says so"
q -c "ALTER SYSTEM SET pg_container.reap_interval = 0"
reload

# Health on its own schedule: a container stopped behind our back.
mark=$(stat -c %s "$LOG")
pgc_docker stop -t 1 mosaic-user-wk-fresh >/dev/null
q -c "ALTER SYSTEM SET pg_container.health_check_interval = '1s'"
reload
wait_for 10 status_is wk-fresh stopped
is "$(status_of wk-fresh)" "stopped" "the worker's health pass marks a container stopped behind our back as stopped"
# (the event mirror, when it sees the stop first, logs it as a 'stopped' event)
like "$(log_since "$mark")" '(the container of user "wk-fresh" is exited; marking it stopped|user "wk-fresh": stopped)' "... with a LOG line"
q -c "ALTER SYSTEM SET pg_container.health_check_interval = 0"
reload

# pg_terminate_backend: back within 10 s; and on start it corrects stale rows.
q -c "SELECT container_ensure_running('wk-crash')" >/dev/null
pgc_docker stop -t 1 mosaic-user-wk-crash >/dev/null
old_pid=$(worker_pid)
q -c "SELECT pg_terminate_backend($old_pid)" >/dev/null
wait_for 10 bash -c "[ -n \"\$(psql -X -qAt -d pgc_test -c \"SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_container worker' AND pid <> $old_pid\")\" ]"
new_pid=$(worker_pid)
ok "$([[ "$old_pid $new_pid" =~ ^[0-9]+\ [0-9]+$ ]] && [ "$new_pid" != "$old_pid" ]; echo $?)" \
	"after pg_terminate_backend the worker is back within 10 s (pid ${old_pid:-none}, then ${new_pid:-none})"
wait_for 10 status_is wk-crash stopped
is "$(status_of wk-crash)" "stopped" "on start, with the health interval off, the worker corrects a row left running"

# A reload inside a pass waits for the pass to end: a sweep lists and stops
# on the engine it started with.  The fault engine holds the worker's list
# for 3 s while docker_host is set back to dockerd itself; the stop still
# goes through the fault engine, and the reload is taken after the pass.
# (The event stream is off: only the sweep talks to the engine.)
q -c "SELECT container_ensure_running('wk-hang')" >/dev/null
q -c "UPDATE user_container SET last_active_at = now() - interval '2 hours' WHERE user_id = 'wk-hang'"
fault POST /_fault/reset >/dev/null
fault POST /_fault/rules '[{"path": "/containers/json", "action": "pass", "delay_ms": 3000, "times": 1}]' >/dev/null
q -c "ALTER SYSTEM SET pg_container.docker_host = 'unix://$PGC_WORK/fault.sock'" \
  -c "ALTER SYSTEM SET pg_container.reap_interval = '1s'" -c "ALTER SYSTEM SET pg_container.event_stream = off"
reload
wait_for 30 bash -c "curl -s --unix-socket '$PGC_WORK/fault.sock' http://fault/_fault/stats | grep -q '\"in_flight\": [1-9]'"
mark=$(stat -c %s "$LOG")
q -c "ALTER SYSTEM RESET pg_container.docker_host" -c "ALTER SYSTEM SET pg_container.reap_interval = '7s'"
reload
wait_for 30 status_is wk-hang stopped
is "$(status_of wk-hang)" "stopped" "a sweep whose list is slow reaps an idle container"
like "$(fault GET /_fault/log)" '"POST", "path": "[^"]*/containers/[0-9a-f]+/stop' \
	"... stopping it on the engine it listed on, not on the one a reload named meanwhile"
wait_for 10 bash -c "tail -c +$((mark + 1)) '$LOG' | grep -q 'reap_interval is now 7 s'"
like "$(log_since "$mark")" 'reap_interval is now 7 s' "... and the reload is taken once the pass has ended"
q -c "ALTER SYSTEM SET pg_container.reap_interval = 0" -c "ALTER SYSTEM RESET pg_container.event_stream"
reload

# Blocked on a hung engine, it still answers SIGTERM within 2 s.
fault POST /_fault/reset >/dev/null
fault POST /_fault/rules '[{"path": "/containers/json", "action": "hang"}]' >/dev/null
q -c "ALTER SYSTEM SET pg_container.docker_host = 'unix://$PGC_WORK/fault.sock'" \
  -c "ALTER SYSTEM SET pg_container.health_check_interval = '1s'"
reload
wait_for 30 bash -c "curl -s --unix-socket '$PGC_WORK/fault.sock' http://fault/_fault/log | grep -q containers/json"
# The worker is blocked once its request is held by the engine.
wait_for 30 bash -c "curl -s --unix-socket '$PGC_WORK/fault.sock' http://fault/_fault/stats | grep -q '\"in_flight\": [1-9]'"
pid=$(worker_pid)
ok "$([[ $pid =~ ^[0-9]+$ ]]; echo $?)" "the worker is blocked on the hung engine (pid ${pid:-none})"
start=$(now_ms)
q -c "SELECT pg_terminate_backend($pid)" >/dev/null
wait_for 5 bash -c "! kill -0 $pid 2>/dev/null"
elapsed=$(($(now_ms) - start))
cmp_ok "$elapsed" -le 2000 "... and answers SIGTERM within 2 s (took ${elapsed} ms)"
q -c "ALTER SYSTEM RESET pg_container.docker_host" -c "ALTER SYSTEM SET pg_container.health_check_interval = 0" \
  -c "ALTER SYSTEM SET pg_container.reap_interval = 0"
reload
fault POST /_fault/reset >/dev/null

# CREATE EXTENSION elsewhere works, and says where the worker is.
TEST_DB=postgres q -c "DROP DATABASE IF EXISTS pgc_elsewhere" -c "CREATE DATABASE pgc_elsewhere" 2>/dev/null
out=$(psql -X -q -d pgc_elsewhere -c "CREATE EXTENSION pg_container" 2>&1)
like "$out" 'WARNING:  the pg_container background worker serves database "pgc_test", not this one' \
	"CREATE EXTENSION in another database works, with a WARNING naming the worker's database"
TEST_DB=postgres q -c "DROP DATABASE pgc_elsewhere"

tap_exit
