#!/usr/bin/env bash
# A touch racing a reap wins: while a session holds the user's row (its
# touch not yet committed), the sweep skips that user instead of waiting or
# stopping it; once the touch commits the user is no longer idle.
source "$(dirname "$0")/../lib/tap.sh"
plan 4

q -c "SELECT container_ensure_running('race-user'), container_ensure_running('race-other')" >/dev/null
q -c "UPDATE user_container SET last_active_at = now() - interval '2 hours' WHERE user_id IN ('race-user', 'race-other')"

# Session A touches and keeps its transaction open for 3 seconds.
psql -X -qAt -d pgc_test -c "BEGIN" -c "SELECT container_touch('race-user')" -c "SELECT pg_sleep(3)" -c "COMMIT" >/dev/null &
session_a=$!
sleep 0.5

# Session B sweeps meanwhile.
start=$(now_ms)
reaped=$(q -c "SELECT string_agg(u, ',' ORDER BY u) FROM container_reap_idle() u WHERE u LIKE 'race-%'")
elapsed=$(($(now_ms) - start))
wait "$session_a"

is "$reaped" "race-other" "the sweep stops the idle user but skips the one whose touch is in flight"
cmp_ok "$elapsed" -lt 2500 "... without waiting for that touch to commit (took ${elapsed} ms)"
is "$(q -c "SELECT status FROM user_container WHERE user_id = 'race-user'") $(dk inspect -f '{{.State.Status}}' mosaic-user-race-user)" \
	"running running" "the touched user's container keeps running"
is "$(q -c "SELECT count(*) FROM container_reap_idle() u WHERE u = 'race-user'")" 0 "... and once the touch committed, it is not idle any more"
tap_exit
