#!/usr/bin/env bash
# Admission by memory, against the real dockerd: with
# pg_container.running_memory_budget set, a queued start that would exceed
# it first stops the least recently active idle user, and waits, queued,
# with its place and wait shown in container_start_queue, when nobody is
# idle; it boots once room is made.
source "$(dirname "$0")/../lib/tap.sh"
plan 8

status_of() { q -c "SELECT status FROM user_container WHERE user_id = '$1'"; }
request_state() { q -c "SELECT state FROM container_start_request WHERE user_id = '$1'"; }
state_is() { test "$(request_state "$1")" = "$2"; }
set_and_reload() { q -c "ALTER SYSTEM SET $1 = $2" >/dev/null; reload_conf; }

# Only this test's users run, each counted at 64 MB.
q -c "SELECT container_stop(user_id) FROM user_container WHERE status IN ('running', 'paused')" >/dev/null
q -c "INSERT INTO container_profile (name, image, memory_limit_mb) VALUES ('sa-64', 'pgc-gateway:test', 64)" >/dev/null
for u in sa-1 sa-2 sa-3 sa-4; do q -c "SELECT container_set_profile('$u', 'sa-64')" >/dev/null; done
q -c "SELECT container_start('sa-1')" -c "SELECT container_start('sa-2')" >/dev/null
q -c "SELECT container_wait('sa-1', '30 s')" -c "SELECT container_wait('sa-2', '30 s')" >/dev/null
# sa-1 idle for 10 minutes, sa-2 for 5: sa-1 is the least recently active.
q -c "UPDATE user_container SET last_active_at = now() - interval '10 minutes' WHERE user_id = 'sa-1'" \
  -c "UPDATE user_container SET last_active_at = now() - interval '5 minutes' WHERE user_id = 'sa-2'" >/dev/null
set_and_reload pg_container.running_memory_budget 128

q -c "SELECT container_start('sa-3')" >/dev/null
is "$(q -c "SELECT status FROM container_wait('sa-3', '30 s')")" running "a start over the budget boots once room is made"
is "$(status_of sa-1) $(status_of sa-2)" "stopped running" "... by stopping the least recently active idle user first, and only it"
is "$(pgc_docker volume ls -q --filter name=mosaic-user-sa-1-state | wc -l)" 1 "... keeping its volume"

# Nobody idle now: the next start waits, queued, and says where it stands.
q -c "SELECT container_touch('sa-2')" -c "SELECT container_touch('sa-3')" >/dev/null
q -c "SELECT container_start('sa-4')" >/dev/null
sleep 3
is "$(request_state sa-4) $(status_of sa-2) $(status_of sa-3)" "queued running running" "with nobody idle a start waits queued and stops nobody"
is "$(q -c "SELECT position || ' ' || (waited >= interval '2 s') FROM container_start_queue WHERE user_id = 'sa-4'")" "1 true" \
	"... and container_start_queue shows its place and how long it waited"
is "$(q -c "SELECT sum(64) FROM user_container WHERE status IN ('running', 'paused')")" 128 "... so never more than the budget runs"

# Room made by hand: the worker boots it on its next round.
q -c "SELECT container_stop('sa-2')" >/dev/null
is "$(q -c "SELECT status FROM container_wait('sa-4', '30 s')")" running "once room is made the queued start boots"
is "$(status_of sa-3)" running "... and the active user kept running"

set_and_reload pg_container.running_memory_budget 0
for u in sa-1 sa-2 sa-3 sa-4; do q -c "SELECT container_remove('$u', keep_volume => false)" >/dev/null; done
q -c "SELECT container_process_removals()" -c "DELETE FROM container_profile WHERE name = 'sa-64'" >/dev/null

tap_exit
