#!/usr/bin/env bash
# A touch racing a reap wins: while a session holds the user's row (its
# touch not yet committed), the sweep skips that user instead of waiting or
# stopping it; once the touch commits the user is no longer idle.
source "$(dirname "$0")/../lib/tap.sh"
plan 4

# (Set-up, retried: Debian 13's runc now and then fails a start with "read
# init-p: connection reset by peer"; the next ensure makes the container
# again.)
for try in 1 2 3; do
	q -c "SELECT container_ensure_running('race-user'), container_ensure_running('race-other')" >/dev/null && break
	sleep 1
done
q -c "UPDATE user_container SET last_active_at = now() - interval '2 hours' WHERE user_id IN ('race-user', 'race-other')"

activity() { q -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$1' AND $2"; }
holding() { test "$(activity pgc-race-holder "query LIKE 'SELECT pg_sleep%' AND state = 'active'")" = 1; }
a_waiting() { test "$(activity pgc-race-a "query LIKE 'SELECT pg_advisory_xact_lock%' AND wait_event_type = 'Lock'")" = 1; }

# Session A touches, then keeps its transaction open until we let it go: it
# waits for an advisory lock that a holder session has.  No fixed waits:
# each step waits for the state it needs.
PGAPPNAME=pgc-race-holder psql -X -qAt -d pgc_test -c "SELECT pg_advisory_lock(4711)" -c "SELECT pg_sleep(300)" >/dev/null 2>&1 &
holder=$!
wait_for 60 holding
PGAPPNAME=pgc-race-a psql -X -qAt -d pgc_test -c "BEGIN" -c "SELECT container_touch('race-user')" \
	-c "SELECT pg_advisory_xact_lock(4711)" -c "COMMIT" >/dev/null &
session_a=$!
wait_for 60 a_waiting

# Session B sweeps meanwhile; were it to wait for A, the timeout ends it.
reaped=$(q -c "SET statement_timeout = '60s'" -c "SELECT string_agg(u, ',' ORDER BY u) FROM container_reap_idle() u WHERE u LIKE 'race-%'" 2>&1)
a_open=$(activity pgc-race-a "xact_start IS NOT NULL")
q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pgc-race-holder'" >/dev/null
wait "$holder"
wait "$session_a"

is "$reaped" "race-other" "the sweep stops the idle user but skips the one whose touch is in flight"
is "$a_open" 1 "... without waiting for that touch to commit: it returned while the touch's transaction was open"
is "$(q -c "SELECT status FROM user_container WHERE user_id = 'race-user'") $(pgc_docker inspect -f '{{.State.Status}}' mosaic-user-race-user)" \
	"running running" "the touched user's container keeps running"
is "$(q -c "SELECT count(*) FROM container_reap_idle() u WHERE u = 'race-user'")" 0 "... and once the touch committed, it is not idle any more"
tap_exit
