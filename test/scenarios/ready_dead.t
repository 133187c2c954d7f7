#!/usr/bin/env bash
# A gateway killed while its ensure waits for it to become ready ends the
# wait at once, with the container's state, instead of holding the user's
# row until pg_container.ready_timeout: found by the soak (test/soak),
# where every call for such a user queued for two minutes behind it.  One
# whose restart policy brings it back is still waited for.
source "$(dirname "$0")/../lib/tap.sh"
plan 5

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
running() { test "$(pgc_docker inspect -f '{{.State.Status}}' "mosaic-user-$1" 2>/dev/null)" = running; }

# pgc-slowready:test answers 404 on /readyz for its first 2 s: the ensure
# is still waiting when the kill comes.
q -c "SELECT container_remove('rd-kill', keep_volume => false)" >/dev/null
start=$(now_ms)
psql -X -qAt -d pgc_test -c "SET pg_container.image = 'pgc-slowready:test'" -c "SET pg_container.ready_timeout = '30s'" \
	-c "SELECT 'ready' FROM container_ensure_running('rd-kill')" >"$T/ensure.out" 2>&1 &
ensure=$!
wait_for 20 running rd-kill
pgc_docker kill mosaic-user-rd-kill >/dev/null
killed=$(now_ms)
# Meanwhile another call for the user queues on the row.
q -c "SELECT container_touch('rd-kill')" >/dev/null 2>&1 &
touch=$!
wait "$ensure"
done_ms=$(now_ms)
wait "$touch"
touched=$?
cmp_ok $((done_ms - killed)) -lt 5000 "an ensure whose gateway is killed before it is ready ends within 5 s of the kill, not at ready_timeout (took $((done_ms - killed)) ms)"
like "$(cat "$T/ensure.out")" 'stopped before it became ready' "... with an error that says it stopped"
like "$(cat "$T/ensure.out")" 'The container is exited; its last exit code was 137' "... and its state and exit code"
is "$touched" 0 "the call that queued behind it goes through"

# A gateway that exits and is restarted by its policy is waited for: the
# restart brings the gateway up and the ensure succeeds.
q -c "SELECT container_remove('rd-back', keep_volume => false)" >/dev/null
psql -X -qAt -d pgc_test -c "SET pg_container.image = 'pgc-slowready:test'" -c "SET pg_container.ready_timeout = '30s'" \
	-c "SELECT 'ready' FROM container_ensure_running('rd-back')" >"$T/back.out" 2>&1 &
ensure=$!
wait_for 20 running rd-back
pgc_docker exec mosaic-user-rd-back /bin/busybox kill 1 >/dev/null 2>&1
wait "$ensure"
is "$(cat "$T/back.out")" "ready" "a gateway its restart policy brings back is waited for, and the ensure succeeds"
q -c "SELECT container_remove(u, keep_volume => false) FROM unnest(ARRAY['rd-kill', 'rd-back']) u" >/dev/null
tap_exit
