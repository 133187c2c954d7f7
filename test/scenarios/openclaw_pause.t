#!/usr/bin/env bash
# The real OpenClaw gateway, paused by the idle sweep and resumed by
# container_ensure_running (issue 17): the same URL and token, /readyz 2xx
# at once, the token still authenticates, and the paused gateway keeps its
# memory (the freezer frees CPU, not pages).  One boot of the real gateway
# (13-20 s on two idle cores, more under load), then only pauses.
source "$(dirname "$0")/../lib/tap.sh"
source "$(dirname "$0")/../lib/env.sh"
plan 7

if ! IMAGE=$(DOCKER_HOST="unix://$PGC_WORK/docker.sock" "$(dirname "$0")/../openclaw/build-image.sh" 2>"$PGC_WORK/openclaw-build.log"); then
	tail -n 20 "$PGC_WORK/openclaw-build.log" | sed 's/^/# /'
	echo "Bail out! the real gateway image could not be built"
	exit 1
fi

oc() { q -c "SET pg_container.image = '$IMAGE'" -c "SET pg_container.ready_timeout = '300s'" \
	-c "SET pg_container.stop_timeout = '30s'" "$@"; }
invoke() {
	curl -s -o /dev/null -m 30 -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		-H "Authorization: Bearer $2" -d '{"tool":"session_status","args":{}}' "http://127.0.0.1:$1/tools/invoke"
}
state() { pgc_docker inspect -f '{{.State.Status}}' mosaic-user-ocp-alice; }
mib() { pgc_docker stats --no-stream --format '{{.MemUsage}}' mosaic-user-ocp-alice | awk '{print $1}'; }

q -c "SELECT container_remove('ocp-alice', false)" >/dev/null
first=$(oc -c "SELECT url || ' ' || token FROM container_ensure_running('ocp-alice')")
token=${first#* }
port=$(q -c "SELECT gateway_port FROM user_container WHERE user_id = 'ocp-alice'")
running_mem=$(mib)
q -c "SELECT container_set_pause_after('ocp-alice', 5)" \
	-c "UPDATE user_container SET last_active_at = now() - interval '10 minutes' WHERE user_id = 'ocp-alice'" \
	-c "SELECT count(*) FROM container_reap_idle()" >/dev/null
is "$(state) $(q -c "SELECT status FROM user_container WHERE user_id = 'ocp-alice'")" "paused paused" \
	"the idle sweep pauses the real gateway"
is "$(curl -s -o /dev/null -m 3 -w '%{http_code}' "http://127.0.0.1:$port/readyz")" "000" "... which then answers nothing"
paused_mem=$(mib)
diag "memory of the real gateway: running idle $running_mem, paused $paused_mem"

start=$(now_ms)
again=$(oc -c "SELECT url || ' ' || token FROM container_ensure_running('ocp-alice')")
elapsed=$(($(now_ms) - start))
diag "resume of the paused real gateway through ensure: $elapsed ms"
is "$again" "$first" "ensure resumes it with the same URL and token"
is "$(state)" "running" "... running again"
is "$(curl -s -o /dev/null -m 10 -w '%{http_code}' "http://127.0.0.1:$port/readyz")" "200" "... /readyz answers 2xx"
is "$(invoke "$port" "$token")" 200 "... and the token authenticates"
cmp_ok "$elapsed" -le 5000 "... in far less than a boot (took $elapsed ms)"

q -c "SELECT container_remove('ocp-alice', false)" >/dev/null
tap_exit
