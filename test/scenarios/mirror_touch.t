#!/usr/bin/env bash
# The mirror reads a dirty user's container again with no row locked: with
# a slow engine, a container_touch of a user whose container the mirror is
# inspecting returns at once, rather than waiting for the whole batch.
source "$(dirname "$0")/../lib/tap.sh"
plan 3

fault() { curl -s --unix-socket "$PGC_WORK/fault.sock" -X "$1" --data-binary "${3:-}" "http://fault$2"; }
in_sync() { test "$(q -c "SELECT in_sync FROM container_mirror")" = t; }

q -c "SELECT container_ensure_running('mt-a'), container_ensure_running('mt-b')" >/dev/null
a=$(q -c "SELECT container_id FROM user_container WHERE user_id = 'mt-a'")
b=$(q -c "SELECT container_id FROM user_container WHERE user_id = 'mt-b'")

# The worker follows the fault engine, whose inspects take 2 s each.
fault POST /_fault/reset >/dev/null
q -c "ALTER SYSTEM SET pg_container.docker_host = 'unix://$PGC_WORK/fault.sock'"
reload_conf
wait_for 60 in_sync
fault POST /_fault/rules '[{"method": "GET", "path": "/containers/[0-9a-f]{64}/json", "action": "pass", "delay_ms": 2000}]' >/dev/null

# A signal that changes nothing, for an event that makes both users dirty.
pgc_docker kill -s WINCH "$a" "$b" >/dev/null
wait_for 30 bash -c "curl -s --unix-socket '$PGC_WORK/fault.sock' http://fault/_fault/log | grep -Eq 'containers/($a|$b)/json'"
ok $? "the mirror inspects the containers the events named"
start=$(now_ms)
q -c "SELECT container_touch('mt-a'), container_touch('mt-b')" >/dev/null
elapsed=$(($(now_ms) - start))
cmp_ok "$elapsed" -le 1000 "a touch of both users while the mirror inspects them does not wait for the engine (took ${elapsed} ms)"
wait_for 30 bash -c "[ \$(curl -s --unix-socket '$PGC_WORK/fault.sock' http://fault/_fault/log | grep -Eo 'containers/($a|$b)/json' | wc -l) -ge 2 ]"
ok $? "... and the mirror reads both containers"

q -c "ALTER SYSTEM RESET pg_container.docker_host"
reload_conf
fault POST /_fault/reset >/dev/null
tap_exit
