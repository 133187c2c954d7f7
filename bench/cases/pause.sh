#!/usr/bin/env bash
# Idle in two steps (issue 17), side by side in one run:
# - resume of a paused real gateway through container_ensure_running, up to
#   /readyz 2xx (ensure checks it), against its warm start after a stop and
#   its cold start;
# - resume of a paused busybox gateway through ensure against `docker
#   unpause` by CLI;
# - memory of the real gateway paused against running idle (docker stats);
# - a sweep that pauses 20 and stops 20 in one pass against today's
#   stop-only sweep of 20.
# Not in bench/run's default list (the real gateway boots in 10-20 s):
# run it as `bench/run bench/cases/pause.sh`.
source "$(dirname "$0")/../lib.sh"
REPS=${REPS:-3}
RESUME_REPS=${RESUME_REPS:-9}
N=20

# held_resumes USER REPS [SET...]: in one held session, as an application
# calls it, REPS times: pause USER through the sweep, then time
# container_ensure_running from the server's clock; the first round warms
# the session (its plans) and is not counted.  Prints the times in ms.
held_resumes() {
	local u=$1 reps=$2 sets=${3:-} script r
	script=$(mktemp)
	echo "$sets" >"$script"
	for r in $(seq 0 "$reps"); do
		cat >>"$script" <<SQL
SELECT container_set_pause_after('$u', 5) \g /dev/null
UPDATE user_container SET last_active_at = now() - interval '10 minutes' WHERE user_id = '$u';
SELECT count(*) FROM container_reap_idle() \g /dev/null
SELECT clock_timestamp() AS t0 \gset
SELECT container_ensure_running('$u') \g /dev/null
SELECT CASE WHEN $r > 0 THEN round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000, 1) END;
SQL
	done
	bq -f "$script" | grep -v '^$' | tr '\n' ' '
	rm -f "$script"
}

# Pause one user's container through the sweep, as the worker would.
pause_by_sweep() {
	bq -c "SELECT container_set_pause_after('$1', 5)" \
		-c "UPDATE user_container SET last_active_at = now() - interval '10 minutes' WHERE user_id = '$1'" \
		-c "SELECT count(*) FROM container_reap_idle()" >/dev/null
	[ "$(bdk inspect -f '{{.State.Status}}' "mosaic-user-$1")" = paused ] || echo "bench pause: $1 not paused" >&2
}

# Busybox gateway: ensure of a paused one against docker unpause by CLI.
bq -c "SELECT container_ensure_running('pz-bb')" >/dev/null
bdk run -d --name pz-bb-base pgc-gateway:test >/dev/null
bb_resume=($(held_resumes pz-bb "$RESUME_REPS")) bb_psql=() bb_cli=()
for rep in $(seq 1 "$RESUME_REPS"); do
	pause_by_sweep pz-bb
	bb_psql+=($(time_ms bq -c "SELECT container_ensure_running('pz-bb')"))
	bdk pause pz-bb-base >/dev/null
	bb_cli+=($(time_ms bdk unpause pz-bb-base))
done
echo "pause busybox: ensure (held session) ${bb_resume[*]} ms; ensure (new psql) ${bb_psql[*]} ms; docker unpause CLI ${bb_cli[*]} ms" >&2
bdk rm -f pz-bb-base >/dev/null
bq -c "SELECT container_remove('pz-bb', false)" >/dev/null
record "busybox gateway: resume of a paused container (container_ensure_running in a held session)" "wall time" ms "at most 1.5x the baseline" 1.5 \
	"docker unpause by CLI" "${bb_cli[*]}" "${bb_resume[*]}" "Timed by the server's clock in one session, as an application calls it; ensure locks the row, inspects, unpauses, checks /readyz and records. The CLI's time includes its process start."
record "busybox gateway: the same resume from a new psql process" "wall time" ms "-" "-" \
	"docker unpause by CLI" "${bb_cli[*]}" "${bb_psql[*]}" "Adds psql's start, a connection and a new backend preparing its plans."

# The sweep: 20 to pause and 20 to stop in one pass, against 20 stops only.
sweep_users() {
	make_users pzs- $((2 * N))
	bq -c "UPDATE user_container SET pause_after_min = $1 WHERE user_id LIKE 'pzs-%'" \
		-c "UPDATE user_container SET last_active_at = now() - interval '10 minutes' WHERE user_id LIKE 'pzs-%' AND substr(user_id, 5)::int <= $N" \
		-c "UPDATE user_container SET last_active_at = now() - interval '2 hours' WHERE user_id LIKE 'pzs-%' AND substr(user_id, 5)::int > $N"
}
tiered=() stop_only=()
for rep in $(seq 1 "$REPS"); do
	sweep_users 0
	stop_only+=($(time_ms bq -c "SELECT count(*) FROM container_reap_idle()"))
	sweep_users 5
	tiered+=($(time_ms bq -c "SELECT count(*) FROM container_reap_idle()"))
	paused=$(bq -c "SELECT count(*) FROM user_container WHERE user_id LIKE 'pzs-%' AND status = 'paused'")
	echo "pause sweep rep $rep: stop-only ${stop_only[-1]} ms, pause $N + stop $N ${tiered[-1]} ms ($paused paused)" >&2
	bq -c "SELECT count(*) FROM user_container u, container_remove(u.user_id, false) WHERE u.user_id LIKE 'pzs-%'" >/dev/null
done
record "sweep: pause $N and stop $N in one pass (busybox gateways)" "sweep wall time" ms "(for comparison)" "-" \
	"today's stop-only sweep of $N" "${stop_only[*]}" "${tiered[*]}"

# The real gateway: cold ensure, warm ensure after a stop, resume of a pause; memory.
IMAGE=$(DOCKER_HOST="unix://$PGC_WORK/docker.sock" "$(dirname "$0")/../../test/openclaw/build-image.sh" 2>"$PGC_WORK/openclaw-build.log") || exit 1
oc() { bq -c "SET pg_container.image = '$IMAGE'" -c "SET pg_container.ready_timeout = '300s'" -c "SET pg_container.stop_timeout = '30s'" "$@"; }
mib() { bdk stats --no-stream --format '{{.MemUsage}}' "$1" | awk '{print $1}' | sed 's/MiB//'; }
cold=() warm=() resume=() mem_running=() mem_paused=()
for rep in $(seq 1 "$REPS"); do
	u=pz-oc-$rep
	cold+=($(time_ms oc -c "SELECT container_ensure_running('$u')"))
	sleep 5	# let the booted gateway settle to its idle footprint
	mem_running+=($(mib "mosaic-user-$u"))
	pause_by_sweep "$u"
	mem_paused+=($(mib "mosaic-user-$u"))
	resume+=($(held_resumes "$u" "$RESUME_REPS" "SET pg_container.image = '$IMAGE';"))
	bq -c "SELECT container_stop('$u')" >/dev/null
	warm+=($(time_ms oc -c "SELECT container_ensure_running('$u')"))
	echo "pause real gateway rep $rep: cold ${cold[-1]} ms, warm ${warm[-1]} ms, resume ${resume[*]: -$RESUME_REPS} ms, memory running ${mem_running[-1]} MiB, paused ${mem_paused[-1]} MiB" >&2
	bq -c "SELECT container_remove('$u', false)" >/dev/null
done
record "real gateway: resume of a paused one (ensure in a held session, /readyz 2xx)" "wall time" ms "median at most 100 ms" "-" \
	"warm ensure after a stop" "${warm[*]}" "${resume[*]}"
record "real gateway: warm ensure after a stop" "wall time" ms "-" "-" \
	"cold ensure" "${cold[*]}" "${warm[*]}"
record "real gateway: memory paused (docker stats)" "memory" MiB "-" "-" \
	"running idle" "${mem_running[*]}" "${mem_paused[*]}" "The freezer keeps every page: a paused gateway holds what a running idle one does, so pg_container.paused_memory_budget is what the paused tier costs."
