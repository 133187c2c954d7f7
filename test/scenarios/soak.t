#!/usr/bin/env bash
# The chaos soak (test/soak, docs/soak.md) for three minutes over twelve
# users, in the suite's world: clients calling ensure, touch, stop, restart
# and remove at random while gateways are killed and paused, dockerd and
# PostgreSQL (-m immediate) restart, the worker is killed and the engine
# fails or crawls; its invariants (one container per user, the mirror
# agreeing with Docker, no volume or token lost, no backend crash, nothing
# left running) are checked all along.  Its own lines are shown as
# comments; afterwards the world is as the next tests expect it.
source "$(dirname "$0")/../lib/tap.sh"
plan 3

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
settings() { q -c "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings WHERE name IN ('pg_container.docker_host', 'pg_container.health_check_interval', 'pg_container.reap_interval', 'pg_container.stop_timeout')"; }
before=$(settings)

"$PGC_ROOT/test/soak" --minutes "${PGC_SOAK_MINUTES:-3}" --users "${PGC_SOAK_USERS:-12}" >"$T/soak.out" 2>&1
status=$?
sed 's/^/# /' "$T/soak.out"
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$T/soak.out" | tail -n 1)
is "$status ${summary#* passed, }" "0 0 failed" "the soak finds no violation (${summary:-no summary})"

in_sync() { test "$(q -c "SELECT in_sync FROM container_mirror")" = t; }
wait_for 60 in_sync
ok $? "afterwards PostgreSQL answers and the worker's mirror is in sync with dockerd"
is "$(settings)" "$before" "... with the settings it found"
tap_exit
