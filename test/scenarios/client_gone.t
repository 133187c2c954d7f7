#!/usr/bin/env bash
# A caller that goes away does not leave its call behind.  An ensure whose
# gateway never gets ready waits for pg_container.ready_timeout with the
# user's row locked; if its client is killed meanwhile (an application
# that gave up, a pool that dropped the connection), the backend ends at
# the next poll, as PostgreSQL's client_connection_check_interval would
# end it, rather than poll until the timeout, and the next call for that
# user is not queued behind it.  (The hour's soak found calls queued for
# 60 s and more behind a cut-off restart.)
source "$(dirname "$0")/../lib/tap.sh"
plan 4

backend_of() { q -c "SELECT pid FROM pg_stat_activity WHERE application_name = '$1'"; }
# The gateway of pgc-sleeper:test never answers: the ensure polls it.
q -c "INSERT INTO container_profile (name, image) VALUES ('cg-sleeper', 'pgc-sleeper:test')" \
	-c "SELECT container_set_profile('cg-gone', 'cg-sleeper')" >/dev/null
PGAPPNAME=pgc-gone psql -X -qAt -d pgc_test -c "SET pg_container.ready_timeout = '60s'" \
	-c "SELECT container_ensure_running('cg-gone')" >/dev/null 2>&1 &
client=$!
# Once its container runs, the ensure is polling the gateway.
wait_for 60 bash -c "[ \"\$(docker -H unix://$PGC_WORK/docker.sock inspect -f '{{.State.Status}}' mosaic-user-cg-gone 2>/dev/null)\" = running ]"
sleep 1
backend=$(backend_of pgc-gone)
is "$(q -c "SELECT wait_event_type || ' ' || state FROM pg_stat_activity WHERE pid = ${backend:-0}")" "Extension active" \
	"the ensure waits for a gateway that never answers"
kill -KILL "$client"
wait "$client" 2>/dev/null
gone_at=$(now_ms)
wait_for 30 bash -c "[ -z \"\$(psql -X -At -d pgc_test -c \"SELECT pid FROM pg_stat_activity WHERE pid = ${backend:-0}\")\" ]"
cmp_ok "$(($(now_ms) - gone_at))" -lt 10000 "once its client is killed the backend ends within seconds, not at the 60 s timeout"
like "$(grep "\[$backend\]" "$PGC_WORK/postgres.log" | grep -c 'connection to client lost')" '^[1-9]' "... saying the connection to the client was lost"
start=$(now_ms)
q -c "SET statement_timeout = '60s'" -c "SELECT container_touch('cg-gone')" >/dev/null
cmp_ok "$(($(now_ms) - start))" -lt 5000 "a touch of that user does not wait for the abandoned call's row lock"

q -c "SELECT container_remove('cg-gone', keep_volume => false)" >/dev/null
q -c "SELECT container_process_removals()" >/dev/null
q -c "DELETE FROM container_profile WHERE name = 'cg-sleeper'" >/dev/null
tap_exit
