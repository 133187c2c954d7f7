#!/usr/bin/env bash
# The real OpenClaw gateway (issue 12): cold ensure against `docker run -d`
# of the same image plus the wait until /readyz answers; warm start after a
# stop; the stop itself; and the gateway's memory per user.  Each boot takes
# 13-20 s on two idle cores, so three repetitions.  Not in bench/run's
# default list: run it as `bench/run bench/cases/openclaw.sh`.
source "$(dirname "$0")/../lib.sh"
REPS=${REPS:-3}

IMAGE=$(DOCKER_HOST="unix://$PGC_WORK/docker.sock" "$(dirname "$0")/../../test/openclaw/build-image.sh" 2>"$PGC_WORK/openclaw-build.log") || exit 1
oc() { bq -c "SET pg_container.image = '$IMAGE'" -c "SET pg_container.ready_timeout = '300s'" -c "SET pg_container.stop_timeout = '30s'" "$@"; }
ready_after_run() {
	local port=$1 start
	start=$(now_ms)
	until [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200 ]; do
		[ $(($(now_ms) - start)) -gt 300000 ] && break
		sleep 0.1
	done
}

cold=() base=() warm=() stop=() memory=()
for rep in $(seq 1 "$REPS"); do
	cold+=($(time_ms oc -c "SELECT container_ensure_running('oc-bench-$rep')"))
	memory+=($(bdk stats --no-stream --format '{{.MemUsage}}' "mosaic-user-oc-bench-$rep" | awk '{print $1}' | sed 's/MiB//'))
	stop+=($(time_ms bq -c "SELECT container_stop('oc-bench-$rep')"))
	warm+=($(time_ms oc -c "SELECT container_ensure_running('oc-bench-$rep')"))
	bq -c "SELECT container_remove('oc-bench-$rep', false)" >/dev/null

	port=$((29100 + rep))
	start=$(now_ms)
	bdk run -d --name "oc-base-$rep" --hostname "oc-base-$rep" --network mosaic-internal -p "127.0.0.1:$port:18789" \
		-v "oc-base-$rep-state:/home/node/.openclaw" -e "OPENCLAW_GATEWAY_TOKEN=$(openssl rand -hex 32)" \
		--cap-drop ALL --security-opt no-new-privileges --init --pids-limit 512 --memory 2g --cpus 2 \
		"$IMAGE" >/dev/null
	ready_after_run "$port"
	base+=($(($(now_ms) - start)))
	bdk rm -f "oc-base-$rep" >/dev/null
	bdk volume rm "oc-base-$rep-state" >/dev/null
done
record "real gateway: cold ensure (create, start, /readyz 2xx)" "wall time" ms "at most 1.2x the baseline" 1.2 \
	"docker run -d of the same image, then /readyz 2xx" "${base[*]}" "${cold[*]}"
record "real gateway: warm ensure after a stop" "wall time" ms "(the gateway's boot; a paused tier would cut it)" "-" \
	"cold ensure" "${cold[*]}" "${warm[*]}"
record "real gateway: container_stop (SIGTERM, the gateway's own drain)" "wall time" ms "-" "-" \
	"warm ensure" "${warm[*]}" "${stop[*]}"
record "real gateway: memory of one idle gateway (docker stats)" "memory" MiB "-" "-" \
	"2048 MiB limit" "2048" "${memory[*]}" "A host with 64 GB carries about 70 running gateways beside the database."
