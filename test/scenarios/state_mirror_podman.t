#!/usr/bin/env bash
# The state mirror (issue 16) against Podman's Docker-compatible API, the
# second engine the suite runs: its event stream is not Docker's.  Podman
# names a death "died" in its own events and "die" in the compatible ones,
# and its filter matches the first name only: a mirror that asks for "die"
# alone is never told of a death there, and its rows stay "running" until
# the next periodic list.  The health pass is off here, so only the stream
# can tell the table, and the restart policy is "no", so that what died
# stays dead.  The gateway joins Podman's shared network: a per-user
# network's subnet may be one a dockerd bridge of the suite holds on the
# same host, which Podman refuses.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/env.sh"
plan 5

status_of() { q -c "SELECT status || '/' || coalesce(healthy::text, '-') FROM user_container WHERE user_id = '$1'"; }
last_event() { q -c "SELECT event || ' ' || detail::text FROM container_event WHERE user_id = '$1' ORDER BY id DESC LIMIT 1"; }

pgc_start_podman >/dev/null
trap 'pgc_stop_podman' EXIT
# A volume left by an earlier run in the same folder is another installation's.
pgc_podman volume rm -f mosaic-user-pm-kill-state >/dev/null 2>&1
switched=$(q -c "SELECT clock_timestamp()")
q -c "ALTER SYSTEM SET pg_container.docker_host = 'unix://$PGC_WORK/podman.sock'" \
  -c "ALTER SYSTEM SET pg_container.health_check_interval = 0" \
  -c "ALTER SYSTEM SET pg_container.restart_policy = 'no'" \
  -c "ALTER SYSTEM SET pg_container.network_mode = 'shared'" >/dev/null
reload_conf
# In sync again, and since the switch: with Podman, not still with dockerd.
synced_with_podman() { test "$(q -c "SELECT in_sync AND in_sync_since > '$switched' FROM container_mirror")" = t; }
wait_for 60 synced_with_podman
ok $? "the worker's mirror follows Podman's event stream and is in sync with it"

# The gateway's process killed from outside, by its pid: a death with no
# "kill" event before it, so only the death itself can tell the mirror.
# Only after the mirror has read the start's own event (and a second to
# handle it): that event makes it read the container again, and reading
# it dead would pass this test without the stream telling of the death.
events_read() { q -c "SELECT events_read FROM container_mirror"; }
before=$(events_read)
q -c "SELECT container_ensure_running('pm-kill')" >/dev/null
start_read() { test "$(events_read)" -gt "$before"; }
wait_for 30 start_read
sleep 1
kill -KILL "$(pgc_podman inspect -f '{{.State.Pid}}' mosaic-user-pm-kill)"
stopped() { test "$(status_of pm-kill)" = "stopped/false"; }
wait_for 30 stopped
is "$(status_of pm-kill)" "stopped/false" "a gateway that dies under Podman shows in the row without any call"
like "$(last_event pm-kill)" '^stopped .*"source": "event".*"exit_code": 137' \
	"... as a 'stopped' event from the stream, with the exit code"

pgc_podman start mosaic-user-pm-kill >/dev/null
running() { [[ "$(status_of pm-kill)" =~ ^running/(true|-)$ ]]; }
wait_for 30 running
like "$(status_of pm-kill)" '^running/(true|-)$' "a podman start by hand shows in the row as running"
like "$(last_event pm-kill)" '^started .*"source": "event"' "... as a 'started' event from the stream"

q -c "SELECT container_remove('pm-kill')" >/dev/null
q -c "ALTER SYSTEM RESET pg_container.docker_host" -c "ALTER SYSTEM RESET pg_container.health_check_interval" \
  -c "ALTER SYSTEM RESET pg_container.restart_policy" -c "ALTER SYSTEM RESET pg_container.network_mode" >/dev/null
reload_conf
tap_exit
