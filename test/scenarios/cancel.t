#!/usr/bin/env bash
# A Docker request to a hung engine is cancelled from another session with
# pg_cancel_backend within 2 s, as 57014; the backend lives on and its next
# call against the healthy engine succeeds.
source "$(dirname "$0")/../lib/tap.sh"
plan 4

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fault() { curl -s --unix-socket "$PGC_WORK/fault.sock" -X "$1" --data-binary "${3:-}" "http://fault$2"; }

q -c "SELECT container_ensure_running('cancel-user')" >/dev/null
fault POST /_fault/reset >/dev/null
fault POST /_fault/rules '[{"path": "/containers/", "action": "hang"}]' >/dev/null

# The victim session, blocked on the hung engine; then a healthy call.
psql -X -qAt -d pgc_test -v VERBOSITY=verbose \
	-c "SELECT pg_backend_pid()" \
	-c "SET pg_container.docker_host = 'unix://$PGC_WORK/fault.sock'" \
	-c "SELECT container_ensure_running('cancel-user')" \
	-c "RESET pg_container.docker_host" \
	-c "SELECT 'next: ' || url FROM container_ensure_running('cancel-user')" \
	-c "SELECT 'still: ' || pg_backend_pid()" >"$T/out" 2>&1 &
victim=$!
# Blocked once the engine holds its request.
wait_for 30 bash -c "curl -s --unix-socket '$PGC_WORK/fault.sock' http://fault/_fault/stats | grep -q '\"in_flight\": [1-9]'"
pid=$(head -1 "$T/out")
start=$(now_ms)
q -c "SELECT pg_cancel_backend($pid)" >/dev/null
wait_for 5 grep -q '57014' "$T/out"
elapsed=$(($(now_ms) - start))
wait "$victim"

like "$(cat "$T/out")" 'ERROR:  57014: canceling statement due to user request' "pg_cancel_backend ends a call blocked on a hung engine with 57014"
cmp_ok "$elapsed" -le 2000 "... within 2 s (took ${elapsed} ms)"
like "$(cat "$T/out")" 'next: http://mosaic-user-cancel-user:18789' "the next call against the healthy engine succeeds"
# The backend that was cancelled is the one that went on: the same pid.
ok "$([[ $pid =~ ^[0-9]+$ ]] && [ "$(grep '^still: ' "$T/out")" = "still: $pid" ]; echo $?)" \
	"... in the same backend, which lived on (pid ${pid:-none})"
fault POST /_fault/reset >/dev/null
tap_exit
