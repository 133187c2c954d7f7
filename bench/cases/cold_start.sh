#!/usr/bin/env bash
# Cold start: ensure for a user with no container, against `docker run -d`
# of the same spec through the CLI.  ensure also waits for the gateway to
# answer on /readyz, which docker run does not; it is measured both ways.
source "$(dirname "$0")/../lib.sh"
REPS=7

ours=() ours_noready=() base=()
for rep in $(seq 1 "$REPS"); do
	ours+=($(time_ms bq -c "SELECT container_ensure_running('cold-$rep')"))
	ours_noready+=($(time_ms bq -c "SET pg_container.ready_path = ''" -c "SELECT container_ensure_running('cold-nr-$rep')"))
	port=$((29000 + rep))
	base+=($(time_ms bdk run -d --name "cold-base-$rep" --network mosaic-internal \
		-p "127.0.0.1:$port:18789" -v "cold-base-$rep-state:/home/node/.openclaw" \
		-e MOSAIC_API_URL=http://mosaic-api:3000/api -e "AGENT_TOKEN=$(openssl rand -hex 32)" -e "AGENT_ID=$(cat /proc/sys/kernel/random/uuid)" \
		--label pg_container.managed=bench --label "pg_container.user_id=cold-base-$rep" \
		--security-opt no-new-privileges --restart unless-stopped pgc-gateway:test))
done
record "cold start without readiness wait (ready_path = '')" "wall time" ms "at most 1.2x the baseline" 1.2 \
	"docker run -d of the same spec (CLI)" "${base[*]}" "${ours_noready[*]}"
record "cold start, default (waits until /readyz answers 2xx)" "wall time" ms "(the gateway's boot on top)" "-" \
	"docker run -d of the same spec (CLI)" "${base[*]}" "${ours[*]}"
for rep in $(seq 1 "$REPS"); do bdk rm -f "cold-base-$rep" >/dev/null; done
