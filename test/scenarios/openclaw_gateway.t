#!/usr/bin/env bash
# The real OpenClaw gateway, driven by pg_container with nothing but its
# image set (issue 12): the token ensure returns is the one the gateway
# checks; another user's, a wrong one or none is refused; its own state
# (state/openclaw.sqlite) lives in the user's volume and survives stop,
# reaping, restart and a dockerd restart, after which the token still
# authenticates.  The image is built offline from the npm registry by
# test/openclaw/build-image.sh and cached; each gateway boot takes 13-20 s
# on two idle cores, more under load.
source "$(dirname "$0")/../lib/tap.sh"
plan 14

if ! IMAGE=$(DOCKER_HOST="unix://$PGC_WORK/docker.sock" "$(dirname "$0")/../openclaw/build-image.sh" 2>"$PGC_WORK/openclaw-build.log"); then
	tail -n 20 "$PGC_WORK/openclaw-build.log" | sed 's/^/# /'
	echo "Bail out! the real gateway image could not be built"
	exit 1
fi

# Only the image, and room for boots on a loaded machine.
oc() { q -c "SET pg_container.image = '$IMAGE'" -c "SET pg_container.ready_timeout = '300s'" \
	-c "SET pg_container.stop_timeout = '30s'" "$@"; }
port_of() { q -c "SELECT gateway_port FROM user_container WHERE user_id = '$1'"; }
invoke() {
	local port=$1
	shift
	curl -s -o /dev/null -m 30 -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		"$@" -d '{"tool":"session_status","args":{}}' "http://127.0.0.1:$port/tools/invoke"
}
state_files() {
	pgc_docker run --rm -v "mosaic-user-$1-state:/s" pgc-gateway:test /bin/busybox ls /s/state 2>/dev/null | grep -c 'openclaw.sqlite$'
}

start=$(now_ms)
alice=$(oc -c "SELECT token FROM container_ensure_running('oc-alice')")
diag "cold ensure of the real gateway: $(($(now_ms) - start)) ms"
a_port=$(port_of oc-alice)
is "$(curl -s -o /dev/null -m 10 -w '%{http_code}' "http://127.0.0.1:$a_port/readyz")" 200 \
	"with only the image set, ensure returns once the real gateway is ready"
is "$(invoke "$a_port" -H "Authorization: Bearer $alice")" 200 "the gateway accepts the token ensure returned"
is "$(invoke "$a_port")" 401 "... and refuses a request without one"
is "$(invoke "$a_port" -H "Authorization: Bearer $(openssl rand -hex 32)")" 401 "... and a wrong one"
bob=$(oc -c "SELECT token FROM container_ensure_running('oc-bob')")
is "$(invoke "$a_port" -H "Authorization: Bearer $bob")" 401 "... and another user's"
is "$(state_files oc-alice)" 1 "the gateway's own state (state/openclaw.sqlite) is in the user's volume"
is "$(q -c "SELECT count(*) FROM container_logs('oc-alice', 1000) l WHERE l ~ '$alice'")" 0 \
	"container_logs never shows the token"
diag "memory of the idle gateway: $(pgc_docker stats --no-stream --format '{{.MemUsage}}' mosaic-user-oc-alice)"
q -c "SELECT container_remove('oc-bob', false)" >/dev/null

# Stop, then ensure: a warm start on the same volume and token.
start=$(now_ms)
q -c "SELECT container_stop('oc-alice')" >/dev/null
diag "container_stop of the real gateway: $(($(now_ms) - start)) ms"
start=$(now_ms)
again=$(oc -c "SELECT token FROM container_ensure_running('oc-alice')")
diag "warm ensure after a stop: $(($(now_ms) - start)) ms"
is "$again $(invoke "$a_port" -H "Authorization: Bearer $alice")" "$alice 200" "after a stop the same token authenticates"
is "$(state_files oc-alice)" 1 "... and the state is still there"

# Reaped for idleness, then back.
q -c "UPDATE user_container SET last_active_at = now() - interval '2 hours' WHERE user_id = 'oc-alice'"
is "$(q -c "SELECT string_agg(u, ',') FROM container_reap_idle() u WHERE u = 'oc-alice'")" "oc-alice" "the reaper stops the idle real gateway"
oc -c "SELECT container_ensure_running('oc-alice')" >/dev/null
is "$(invoke "$a_port" -H "Authorization: Bearer $alice")" 200 "... and after it the token still authenticates"

# A dockerd restart: unless-stopped brings the gateway back.
pgc_restart_dockerd >/dev/null 2>&1
back() { [ "$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$a_port/readyz")" = 200 ]; }
wait_for 300 back
is "$(pgc_docker inspect -f '{{.State.Status}}' mosaic-user-oc-alice)" running "after a dockerd restart the gateway is running again"
is "$(oc -c "SELECT token FROM container_ensure_running('oc-alice')") $(invoke "$a_port" -H "Authorization: Bearer $alice")" \
	"$alice 200" "... and the same token authenticates"
is "$(state_files oc-alice)" 1 "... on the same state"

q -c "SELECT container_remove('oc-alice', false)" >/dev/null
tap_exit
