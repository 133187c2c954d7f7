#!/usr/bin/env bash
# Idle in two steps, driven by the background worker (issue 17): it pauses
# and stops on its own schedule; and a worker killed with SIGKILL in the
# middle of a sweep, with some pauses sent and one held back by the fault
# engine, leaves nothing half done: its transaction never committed, so the
# rows are as before, and the next sweep finds the containers it paused
# already (recorded without pausing them again) and finishes the rest.
source "$(dirname "$0")/../lib/tap.sh"
plan 9

LOG="$PGC_WORK/postgres.log"
reload() { q -c "SELECT pg_reload_conf()" >/dev/null; }
worker_pid() { q -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_container worker'"; }
fault() { curl -s --unix-socket "$PGC_WORK/fault.sock" -X "$1" --data-binary "${3:-}" "http://fault$2"; }
statuses() { q -c "SELECT string_agg(user_id || '=' || status, ' ' ORDER BY user_id) FROM user_container WHERE user_id LIKE 'pw-%'"; }
states() { for u in "$@"; do printf '%s=%s ' "$u" "$(pgc_docker inspect -f '{{.State.Status}}' "mosaic-user-$u" 2>/dev/null)"; done | sed 's/ $//'; }
statuses_are() { test "$(statuses)" = "$1"; }
server_up() { psql -X -qAt -d pgc_test -c "SELECT 1" >/dev/null 2>&1; }
log_has() { tail -c +"$(($1 + 1))" "$LOG" | grep -q "$2"; }

users="pw-a pw-b pw-c pw-stop"
q -c "SELECT container_remove(u) FROM unnest(string_to_array('$users', ' ')) u" >/dev/null
q -c "DELETE FROM container_event WHERE user_id LIKE 'pw-%'"
for u in $users; do
	q -c "SELECT container_ensure_running('$u'), container_set_pause_after('$u', 5)" >/dev/null
done
q -c "UPDATE user_container SET last_active_at = now() - interval '10 minutes' WHERE user_id IN ('pw-a', 'pw-b', 'pw-c')"
q -c "UPDATE user_container SET last_active_at = now() - interval '2 hours' WHERE user_id = 'pw-stop'"

# The worker talks to the fault engine, which holds pw-c's pause for 8 s.
held=$(q -c "SELECT container_id FROM user_container WHERE user_id = 'pw-c'")
fault POST /_fault/reset >/dev/null
fault POST /_fault/rules "[{\"method\": \"POST\", \"path\": \"/containers/$held/pause\", \"action\": \"pass\", \"delay_ms\": 8000}]" >/dev/null
q -c "ALTER SYSTEM SET pg_container.docker_host = 'unix://$PGC_WORK/fault.sock'"
q -c "ALTER SYSTEM SET pg_container.reap_interval = '1s'"
mark=$(stat -c %s "$LOG")
reload
wait_for 30 bash -c "curl -s --unix-socket '$PGC_WORK/fault.sock' http://fault/_fault/log | grep -q '/containers/$held/pause'"
pid=$(worker_pid)
# The worker that comes back must not sweep before we have looked.
q -c "ALTER SYSTEM SET pg_container.docker_host = 'unix://$PGC_WORK/docker.sock'"
q -c "ALTER SYSTEM SET pg_container.reap_interval = 0"
reload
kill -KILL "$pid"
wait_for 30 server_up
like "$(tail -c +"$((mark + 1))" "$LOG")" 'terminated by signal 9: Killed' "the worker killed mid-sweep takes the server through a restart of its backends"
is "$(q -c "SELECT status FROM user_container WHERE user_id = 'pw-stop'") $(states pw-stop)" "running pw-stop=running" \
	"... the stop its sweep had not reached was neither sent nor recorded"
is "$(q -c "SELECT count(*) FROM container_event WHERE user_id LIKE 'pw-%' AND event = 'reaped' OR (event = 'paused' AND detail ->> 'already' = 'false' AND user_id LIKE 'pw-%')")" "0" \
	"... and none of its pauses was recorded as made by it"

# The held pause reaches dockerd after all; then the worker's next sweeps finish the job.
wait_for 30 bash -c "[ \"\$(docker -H unix://$PGC_WORK/docker.sock inspect -f '{{.State.Status}}' mosaic-user-pw-c)\" = paused ]"
q -c "ALTER SYSTEM SET pg_container.reap_interval = '1s'"
reload
wait_for 60 statuses_are "pw-a=paused pw-b=paused pw-c=paused pw-stop=stopped"
is "$(statuses)" "pw-a=paused pw-b=paused pw-c=paused pw-stop=stopped" "the next passes record every pause and the stop"
is "$(states pw-a pw-b pw-c pw-stop)" "pw-a=paused pw-b=paused pw-c=paused pw-stop=exited" "... and Docker agrees"
is "$(q -c "SELECT string_agg(user_id || ':' || n, ' ' ORDER BY user_id) FROM (SELECT user_id, count(*) n FROM container_event WHERE user_id LIKE 'pw-%' AND event = 'paused' GROUP BY user_id) e")" \
	"pw-a:1 pw-b:1 pw-c:1" "... one paused event each, whichever pass recorded it"
is "$(q -c "SELECT count(*) FROM container_event WHERE user_id LIKE 'pw-%' AND event = 'error'")" "0" "... and no error: a container paused already is not paused again"

# Resume of one the worker paused, then the worker stops the paused ones past the timeout.
out=$(q -c "SELECT url FROM container_ensure_running('pw-a')")
is "$out $(states pw-a)" "http://mosaic-user-pw-a:18789 pw-a=running" "ensure resumes a container the worker paused"
q -c "UPDATE user_container SET last_active_at = now() - interval '2 hours' WHERE user_id IN ('pw-b', 'pw-c')"
wait_for 60 bash -c "[ \"\$(psql -X -qAt -d pgc_test -c \"SELECT string_agg(status, ' ') FROM user_container WHERE user_id IN ('pw-b', 'pw-c')\")\" = 'stopped stopped' ]"
is "$(states pw-b pw-c)" "pw-b=exited pw-c=exited" "the worker stops paused containers past their idle timeout"

q -c "ALTER SYSTEM RESET pg_container.docker_host"
q -c "ALTER SYSTEM SET pg_container.reap_interval = 0"
reload
fault POST /_fault/reset >/dev/null
q -c "SELECT container_remove(u) FROM unnest(string_to_array('$users', ' ')) u" >/dev/null
tap_exit
