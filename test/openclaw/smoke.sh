#!/usr/bin/env bash
# test/openclaw/smoke.sh: the real OpenClaw gateway image, built by
# build-image.sh, runs under the hardened profile pg_container will give it
# and answers as the gateway does: ready on /readyz, token auth on
# /tools/invoke, its own state in the named volume, a clean exit on SIGTERM,
# and exit code 78 without a token.  No pg_container involved: it proves the
# image and the facts the C code will rely on.
#
#   prove -v --exec bash test/openclaw/smoke.sh
#
# Needs a Docker engine in DOCKER_HOST (test/lib/env.sh's, or any private
# one) and, unless build-image.sh's cache is filled, the npm registry.  Run
# it in the namespace of that engine so 127.0.0.1 ports are its own.  It
# removes exactly the containers, volume and networks it made.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
source "$HERE/../lib/env.sh"

RUN=smoke-$$
NET=pgc-oc-$RUN
VOL=pgc-oc-$RUN
C1=pgc-oc-$RUN-gw
C2=pgc-oc-$RUN-notoken
TOKEN=$(openssl rand -hex 32)

cleanup() {
	docker rm -f "$C1" "$C2" >/dev/null 2>&1
	docker volume rm "$VOL" >/dev/null 2>&1
	docker network rm "$NET" >/dev/null 2>&1
}
trap cleanup EXIT

plan 14

if ! IMAGE=$("$HERE/build-image.sh"); then
	echo "Bail out! build-image.sh could not build the image"
	exit 1
fi
PORT=$(pgc_free_port 28789)

# fleet's cell profile: its container paths, hardening and limits, published
# on loopback only; a fixed host name (see wait_ready's note on the lease).
gateway() {
	docker run -d --name "$C1" --hostname openclaw-smoke --network "$NET" \
		-e OPENCLAW_GATEWAY_TOKEN="$TOKEN" \
		-e HOME=/home/node -e OPENCLAW_HOME=/home/node \
		-e OPENCLAW_STATE_DIR=/home/node/.openclaw \
		-e OPENCLAW_CONFIG_PATH=/home/node/.openclaw/openclaw.json \
		-e OPENCLAW_WORKSPACE_DIR=/home/node/.openclaw/workspace \
		-e XDG_CACHE_HOME=/home/node/.openclaw/cache \
		--cap-drop ALL --security-opt no-new-privileges --init \
		--pids-limit 512 --memory 2g --cpus 2 \
		-v "$VOL:/home/node/.openclaw" -p "127.0.0.1:$PORT:18789" "$IMAGE" >/dev/null
}

http_code() { curl -s -o /dev/null -m 10 -w '%{http_code}' "$@"; }

# Seconds until /readyz answers 200, or "never" after 300 s (a loaded
# 2-core machine has been seen to take 85 s).
wait_ready() {
	local start=$SECONDS
	while [ $((SECONDS - start)) -lt 300 ]; do
		if [ "$(http_code "http://127.0.0.1:$PORT/readyz")" = 200 ]; then
			echo $((SECONDS - start))
			return 0
		fi
		[ "$(docker inspect -f '{{.State.Status}}' "$C1" 2>/dev/null)" = exited ] && break
		sleep 0.5
	done
	echo never
	return 1
}

invoke() {
	curl -s -o /dev/null -m 30 -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		"$@" -d '{"tool":"session_status","args":{}}' "http://127.0.0.1:$PORT/tools/invoke"
}

# ok_ready DESC: passes when the gateway got ready; shows its log when not.
ok_ready() {
	local secs
	secs=$(wait_ready)
	if [ "$secs" = never ]; then
		ok 1 "$1 (not within 300 s)"
		docker logs --tail 20 "$C1" 2>&1 | sed 's/^/#   /'
	else
		ok 0 "$1 (after ${secs} s)"
	fi
}

docker network create "$NET" >/dev/null
gateway
ok_ready "the gateway answers /readyz 200"

is "$(invoke -H "Authorization: Bearer $TOKEN")" 200 "POST /tools/invoke with the token: 200"
is "$(invoke)" 401 "... without a token: 401"
is "$(invoke -H "Authorization: Bearer $(openssl rand -hex 32)")" 401 "... with another token: 401"

caps=$(docker exec "$C1" sh -c 'grep -E "^(CapEff|NoNewPrivs)" /proc/1/status' | awk '{print $2}' | tr '\n' ' ')
is "$caps" "0000000000000000 1 " "it runs with no capabilities and no-new-privileges"
is "$(docker exec "$C1" id -u)" 1000 "... as uid 1000"

health=
for _ in $(seq 1 120); do
	health=$(docker inspect -f '{{.State.Health.Status}}' "$C1")
	[ "$health" = starting ] || break
	sleep 2
done
is "$health" healthy "the image's HEALTHCHECK on /healthz reports healthy"

state=$(docker exec "$C1" sh -c 'ls /home/node/.openclaw/state/openclaw.sqlite && stat -c %u /home/node/.openclaw')
is "$state" "/home/node/.openclaw/state/openclaw.sqlite
1000" "its state database is in the volume, which uid 1000 owns"

docker stop -t 60 "$C1" >/dev/null
is "$(docker inspect -f '{{.State.ExitCode}}' "$C1")" 0 "SIGTERM: a clean exit (0)"
logs=$(docker logs "$C1" 2>&1)
grep -q 'shutdown\] completed cleanly' <<<"$logs"
ok $? "... that its log calls clean"
grep -qF "$TOKEN" <<<"$logs"
ok $((!$?)) "the token never appears in its log"

# The gateway leases its state directory to its process (pid, start time,
# host name; 5 minute TTL renewed every 30 s).  A SIGKILLed gateway leaves
# the lease behind: a new container reclaims it only if it has the same host
# name (then the pid's start time tells it the owner is dead); with another
# it refuses ("Another Gateway owner lease is still active") until the TTL.
docker rm -f "$C1" >/dev/null
gateway
wait_ready >/dev/null
docker kill -s KILL "$C1" >/dev/null
docker rm -f "$C1" >/dev/null
gateway
ok_ready "after a SIGKILL, a new container with the same host name on the volume gets ready"
docker stop -t 60 "$C1" >/dev/null

docker run -d --name "$C2" --network "$NET" "$IMAGE" >/dev/null
for _ in $(seq 1 240); do
	[ "$(docker inspect -f '{{.State.Status}}' "$C2")" = exited ] && break
	sleep 0.5
done
is "$(docker inspect -f '{{.State.ExitCode}}' "$C2")" 78 "without OPENCLAW_GATEWAY_TOKEN it exits with 78"
grep -q 'Refusing to bind gateway to lan without auth' <<<"$(docker logs "$C2" 2>&1)"
ok $? "... logging why: Refusing to bind gateway to lan without auth"
