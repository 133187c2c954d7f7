#!/usr/bin/env bash
# Events and observability: NOTIFY pg_container carries the id of every
# state change to a listening session (and no more, since any role may
# LISTEN), every state change has a LOG line with the user
# id, and the worker prunes events past pg_container.event_retention.
source "$(dirname "$0")/../lib/tap.sh"
plan 9

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
LOG="$PGC_WORK/postgres.log"
reload() { q -c "SELECT pg_reload_conf()" >/dev/null; }

q -c "DELETE FROM container_event WHERE user_id LIKE 'ev-%'"

# Listeners: the test's superuser and a role with no grants at all; once
# both listen, a user is created, stopped and removed.  Their long sleeps
# are then cancelled: psql prints what it was told as the statement ends.
# (No fixed wait: each listens once it is in its sleep.)
TEST_DB=postgres q -c "DROP ROLE IF EXISTS pgc_nobody" -c "CREATE ROLE pgc_nobody LOGIN"
PGAPPNAME=pgc-ev-listener psql -X -qAt -d pgc_test -c "LISTEN pg_container" -c "SELECT pg_sleep(300)" >"$T/listener" 2>&1 &
listener=$!
PGAPPNAME=pgc-ev-listener psql -X -qAt -U pgc_nobody -d pgc_test -c "LISTEN pg_container" -c "SELECT pg_sleep(300)" >"$T/nobody" 2>&1 &
nobody=$!
listening() {
	test "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgc-ev-listener' AND state = 'active' AND query LIKE 'SELECT pg_sleep%'")" = 2
}
wait_for 60 listening
mark=$(stat -c %s "$LOG")
q -c "SELECT container_ensure_running('ev-user')" -c "SELECT container_stop('ev-user')" -c "SELECT container_remove('ev-user')" \
	-c "SELECT test_helpers.wait_removed('ev-user')" >/dev/null
q -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'pgc-ev-listener'" >/dev/null
wait "$listener" "$nobody"

# The payload is the event's id; the event itself is read from the table.
ids=$(grep -o 'with payload "[^"]*"' "$T/listener" | grep -o '"[^"]*"$' | tr -d '"' | paste -sd, -)
like "$ids" '^[0-9]+(,[0-9]+)+$' "a LISTEN pg_container session is sent the id of each event, and nothing else"
# (uniq: a port found taken means a second "created", which is history too)
events=$(q -c "SELECT string_agg(event, ' ' ORDER BY id) FROM container_event WHERE id IN (${ids:-0}) AND user_id = 'ev-user'" | tr ' ' '\n' | uniq | tr '\n' ' ')
is "$events" "created started stopped removed " "... one for every state change, in order"
is "$(grep -c 'with payload' "$T/nobody")" "$(grep -c 'with payload' "$T/listener")" "a role with no grants hears as many notifications"
is "$(grep -c 'ev-user' "$T/nobody")" 0 "... but learns no user id or container from them"
denied=$(psql -X -qAt -U pgc_nobody -d pgc_test -c "SELECT count(*) FROM container_event" 2>&1)
like "$denied" "permission denied" "... and cannot read the events they point at"
TEST_DB=postgres q -c "DROP ROLE pgc_nobody"
logged=$(tail -c +"$((mark + 1))" "$LOG" | grep -o 'pg_container: user "ev-user": [a-z]*' | sort -u | awk '{print $NF}' | tr '\n' ' ')
is "$logged" "created removed started stopped " "each state change has a LOG line with the user id"

# Retention: the worker prunes what is older than event_retention.
q -c "INSERT INTO container_event (user_id, event, at) VALUES ('ev-old', 'created', now() - interval '8 days'),
                                                               ('ev-recent', 'created', now() - interval '6 days')"
q -c "ALTER SYSTEM SET pg_container.health_check_interval = 0.5"
reload
pruned() { test "$(q -c "SELECT count(*) FROM container_event WHERE user_id = 'ev-old'")" = 0; }
wait_for 15 pruned
q -c "ALTER SYSTEM SET pg_container.health_check_interval = 0"
reload
is "$(q -c "SELECT count(*) FROM container_event WHERE user_id = 'ev-old'")" 0 "the worker prunes events older than the 7-day retention"
is "$(q -c "SELECT count(*) FROM container_event WHERE user_id = 'ev-recent'")" 1 "... and keeps newer ones"

# A failed pass of the worker is recorded too.
q -c "ALTER SYSTEM SET pg_container.docker_host = 'unix:///nonexistent/docker.sock'" \
  -c "ALTER SYSTEM SET pg_container.health_check_interval = 0.5"
reload
failed() { test "$(q -c "SELECT count(*) FROM container_event WHERE user_id IS NULL AND event = 'error'")" -gt 0; }
wait_for 15 failed
q -c "ALTER SYSTEM RESET pg_container.docker_host" -c "ALTER SYSTEM SET pg_container.health_check_interval = 0"
reload
like "$(q -c "SELECT detail::text FROM container_event WHERE user_id IS NULL AND event = 'error' ORDER BY id DESC LIMIT 1")" \
	'"pass": "health".*could not connect to the Docker engine' "a worker pass that fails is recorded as an error event"
tap_exit
