#!/usr/bin/env bash
# Fleet operations (issue 24), side by side in one run:
# - backup: the pause a running user sees while container_backup copies a
#   50 MB state (STATE_MB of random data under the state path), against
#   `docker pause` + `docker cp` of the same directory to stdout +
#   `docker unpause` by the CLI, on the same container.  The pause a user
#   sees is the time from the container's `pause` event to its `unpause`
#   event, as the engine stamps them (docker events, timeNano), for both
#   ways.  pg_container.backup_max_size is set to 128 MB in the session (the
#   default, 256, allows it too); pg_container.backup_keep stays at its 7
#   (pruning runs after the unpause, outside the pause);
# - rollout: N (20) busybox users moved to a new image by
#   container_rollout(image, BATCH (5), 2), waited on through
#   container_rollout_progress until the job is completed, against N
#   sequential container_restart calls of the same users to another new
#   image (pg_container.image set in the restarting session: with no
#   rollout job recorded, that is what a restart makes the new container
#   from).  Each repetition rolls to fresh tags of pgc-gateway:test, so
#   that every user is out of date for both ways; after each rollout its
#   job is deleted, so that the next restarts are not given its image.
# Everything it makes (users, volumes, backups, rollout jobs, tags) goes at
# the end; it sets no server setting.  Not in bench/run's default list (it
# takes minutes): run it as `bench/run bench/cases/fleet_ops.sh`, or in a
# kept world as `bash bench/cases/fleet_ops.sh` (it then prints its own
# table).
source "$(dirname "$0")/../lib.sh"
REPS=${REPS:-5}
ROLLOUT_REPS=${ROLLOUT_REPS:-3}
N=${N:-20}
BATCH=${BATCH:-5}
STATE_MB=${STATE_MB:-50}
STATE_PATH=/home/node/.openclaw
STANDALONE=
if [ -z "${BENCH_RESULTS:-}" ]; then
	export BENCH_RESULTS="$BENCH_TMP/results.jsonl"
	STANDALONE=1
fi
log() { echo "fleet_ops: $*" >&2; }
TAGS=()

# Forget the users of PREFIX (containers, volumes, networks) through
# container_remove, carried out here by container_process_removals.
forget_users() {
	local i
	bq -c "SELECT count(*) FROM user_container u, container_remove(u.user_id, false) WHERE u.user_id LIKE '$1%'" \
		-c "SELECT container_process_removals()" >/dev/null
	for i in $(seq 1 120); do
		[ "$(bq -c "SELECT count(*) FROM user_container WHERE user_id LIKE '$1%'")" = 0 ] && return 0
		bq -c "SELECT container_process_removals()" >/dev/null
		sleep 0.5
	done
	log "users of $1 still being removed"
}
clean_up() {
	bq -c "SELECT count(*) FROM container_rollout_progress WHERE phase NOT IN ('completed', 'failed', 'cancelled')" \
		-c "SELECT container_rollout_cancel(job) FROM container_rollout WHERE finished_at IS NULL" >/dev/null 2>&1
	bq -c "DELETE FROM container_rollout" >/dev/null
	bq -c "SELECT count(lo_unlink(large_object)) FROM container_backup WHERE user_id LIKE 'fo-%'" \
		-c "DELETE FROM container_backup WHERE user_id LIKE 'fo-%'" >/dev/null
	forget_users fo-
	[ ${#TAGS[@]} -gt 0 ] && bdk rmi "${TAGS[@]}" >/dev/null 2>&1
}
trap clean_up EXIT

# A new name for the test image (the same image, another spec hash).
new_tag() {
	bdk tag pgc-gateway:test "pgc-gateway:bench-$1" && TAGS+=("pgc-gateway:bench-$1")
}

# --- backup: the pause a user sees ------------------------------------------

# pause_parts CONTAINER SINCE UNTIL: from the engine's events of CONTAINER
# between SINCE and UNTIL (seconds since the epoch), in ms: the pause a
# user sees (pause to unpause), and its three parts: pause to the first
# mount (the copy's start), the first mount to the last unmount (the
# engine's copy), the last unmount to the unpause (what the caller does
# after the engine has sent the copy).  "nan" unless there is exactly one
# pause and one unpause.
pause_parts() {
	bdk events --since "$2" --until "$3" --filter "container=$1" \
		--format '{{.Action}} {{.TimeNano}}' |
		awk '$1 == "pause" {p = $2; np++} $1 == "unpause" {u = $2; nu++}
		     $1 == "mount" && !m {m = $2} $1 == "unmount" {um = $2}
		     END {if (np == 1 && nu == 1 && u >= p && m && um)
		              printf "%.1f %.1f %.1f %.1f\n", (u - p) / 1e6, (m - p) / 1e6, (um - m) / 1e6, (u - um) / 1e6
		          else print "nan nan nan nan"}'
}
now_s() { date +%s.%N; }

U=fo-backup
C=mosaic-user-$U
make_users "$U" 1
U=${U}1 C=${C}1
bdk exec "$C" /bin/busybox dd if=/dev/urandom of="$STATE_PATH/state.bin" bs=1M count="$STATE_MB" 2>/dev/null ||
	bdk exec -u 0 "$C" /bin/busybox dd if=/dev/urandom of="$STATE_PATH/state.bin" bs=1M count="$STATE_MB" 2>/dev/null ||
	{ log "could not write $STATE_MB MB into $C:$STATE_PATH"; exit 1; }
state_bytes=$(bdk exec "$C" /bin/busybox du -sk "$STATE_PATH" | awk '{print $1 * 1024}')
log "state of $C: $state_bytes bytes under $STATE_PATH"
backup_pause=() cli_pause=() backup_call=() cli_call=() backup_tail=() cli_tail=()
for rep in $(seq 1 "$REPS"); do
	t0=$(now_s)
	backup_call+=($(time_ms bq -c "SET pg_container.backup_max_size = 128" -c "SELECT container_backup('$U')"))
	t1=$(now_s)
	sleep 0.2
	t2=$(now_s)
	start=$(now_ms)
	bdk pause "$C" >/dev/null && bdk cp "$C:$STATE_PATH" - >/dev/null && bdk unpause "$C" >/dev/null
	cli_call+=($(($(now_ms) - start)))
	t3=$(now_s)
	sleep 0.2
	read -r total head copy tail < <(pause_parts "$C" "$t0" "$t1")
	backup_pause+=("$total") backup_tail+=("$tail")
	log "backup rep $rep: container_backup paused $total ms (pause to copy $head, copy $copy, copy to unpause $tail; the call ${backup_call[-1]} ms)"
	read -r total head copy tail < <(pause_parts "$C" "$t2" "$t3")
	cli_pause+=("$total") cli_tail+=("$tail")
	log "backup rep $rep: CLI pause+cp+unpause paused $total ms (pause to copy $head, copy $copy, copy to unpause $tail; the three commands ${cli_call[-1]} ms)"
	[ "$(bdk inspect -f '{{.State.Status}}' "$C")" = running ] || log "$C is $(bdk inspect -f '{{.State.Status}}' "$C") after rep $rep"
done
sizes=$(bq -c "SELECT string_agg(size_bytes::text, ' ' ORDER BY id) FROM container_backup WHERE user_id = '$U'")
log "backups stored (bytes): $sizes"
record "backup of a running user's $STATE_MB MB state: the pause the user sees (container_backup)" \
	"pause to unpause (engine events)" ms "at most 1.2x the baseline" 1.2 \
	"docker pause + docker cp of the state path to stdout + docker unpause (CLI)" "${cli_pause[*]}" "${backup_pause[*]}" \
	"Both from the engine's pause and unpause events (timeNano) of the same container, the same $state_bytes bytes; the CLI's window includes the start of the docker cp and docker unpause processes. backup_max_size 128 MB (default 256 allows it too)."
record "the same backup: from the end of the engine's copy (its unmount event) to the unpause" \
	"unmount to unpause (engine events)" ms "(for comparison)" "-" "the same for the CLI" \
	"${cli_tail[*]}" "${backup_tail[*]}" \
	"What the caller does, the container still paused, once the engine has sent the copy: for container_backup, the end of the transfer (finish_transfer in docker_http.c copies the received stream into a palloc'd buffer) and the unpause request; for the CLI, docker cp's exit and the start of the docker unpause process."
record "the same backup: the whole container_backup call from a new psql (copy, SHA-256, large object, commit)" \
	"wall time" ms "(for comparison)" "-" "the three docker commands" "${cli_call[*]}" "${backup_call[*]}" \
	"Storing and pruning run after the unpause: they lengthen the call, not the pause."
bq -c "SELECT count(lo_unlink(large_object)) FROM container_backup WHERE user_id = '$U'" \
	-c "DELETE FROM container_backup WHERE user_id = '$U'" >/dev/null
forget_users "$U"

# --- rollout against sequential restarts ------------------------------------

# The image a user's container runs, by the engine.
images_of() {
	bq -c "SELECT container_name FROM user_container WHERE user_id LIKE 'fo-r%' ORDER BY user_id" |
		xargs -r docker -H "unix://$PGC_WORK/docker.sock" inspect -f '{{.Config.Image}}' | sort | uniq -c | tr -s ' \n' ' '
}

# restart_timing MARK: from the events after id MARK, the median time of
# one user's restart (its 'stopped' to its 'restarted') and the median gap
# between one user's 'restarted' and the next one's 'stopped', in ms.
event_mark() { bq -c "SELECT coalesce(max(id), 0) FROM container_event"; }
restart_timing() {
	bq -F ' ' -c "WITH r AS (
		SELECT user_id, min(at) FILTER (WHERE event = 'stopped') AS stopped, max(at) FILTER (WHERE event = 'restarted') AS restarted
		  FROM container_event WHERE id > $1 AND user_id LIKE 'fo-r%' GROUP BY user_id),
	     g AS (SELECT restarted - stopped AS own, stopped - lag(restarted) OVER (ORDER BY stopped) AS gap FROM r)
	SELECT round(extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY own)) * 1000),
	       round(extract(epoch FROM percentile_cont(0.5) WITHIN GROUP (ORDER BY gap)) * 1000) FROM g"
}

# rollout_ms IMAGE: container_rollout(IMAGE, BATCH, 2), then poll the
# progress view every 0.1 s until the job has finished; ms, from the call
# to the poll that saw it finished.
rollout_ms() {
	local start job phase i
	start=$(now_ms)
	job=$(bq -c "SELECT container_rollout('$1', $BATCH, 2)") || { log "container_rollout('$1') failed"; echo nan; return; }
	for i in $(seq 1 6000); do
		phase=$(bq -c "SELECT phase FROM container_rollout_progress WHERE job = $job")
		case $phase in completed | failed | cancelled) break ;; esac
		sleep 0.1
	done
	echo $(($(now_ms) - start))
	log "rollout job $job to $1: $phase; $(bq -F ' ' -c "SELECT 'done', done, 'of', total, 'failed', failed,
		'picked up after', round(extract(epoch FROM started_at - requested_at) * 1000), 'ms, ran',
		round(extract(epoch FROM finished_at - started_at) * 1000), 'ms' FROM container_rollout_progress WHERE job = $job")"
	[ "$phase" = completed ] || log "rollout job $job did not complete: $phase"
}

# restarts_ms IMAGE: each user in turn by container_restart in one session
# with pg_container.image = IMAGE; ms, as one psql.
restarts_ms() {
	local script=$BENCH_TMP/restarts.sql i start
	echo "SET pg_container.image = '$1';" >"$script"
	for i in $(seq 1 "$N"); do echo "SELECT count(*) FROM container_restart('fo-r$i');"; done >>"$script"
	start=$(now_ms)
	bq -f "$script" >/dev/null || log "a restart to $1 failed"
	echo $(($(now_ms) - start))
}

rollout=() restarts=() rollout_own=() restarts_own=() rollout_gap=() restarts_gap=()
[ "$ROLLOUT_REPS" -gt 0 ] && make_users fo-r "$N"
for rep in $(seq 1 "$ROLLOUT_REPS"); do
	new_tag "r$rep" && new_tag "s$rep" || { log "could not tag the test image"; exit 1; }
	do_rollout() {
		local mark own gap
		mark=$(event_mark)
		rollout+=($(rollout_ms "pgc-gateway:bench-r$rep"))
		read -r own gap < <(restart_timing "$mark")
		rollout_own+=("$own") rollout_gap+=("$gap")
		log "after the rollout: $(images_of); one user's restart $own ms, between two users $gap ms (medians)"
		bq -c "DELETE FROM container_rollout" >/dev/null
	}
	do_restarts() {
		local mark own gap
		mark=$(event_mark)
		restarts+=($(restarts_ms "pgc-gateway:bench-s$rep"))
		read -r own gap < <(restart_timing "$mark")
		restarts_own+=("$own") restarts_gap+=("$gap")
		log "after the restarts: $(images_of); one user's restart $own ms, between two users $gap ms (medians)"
	}
	# Each goes first in turn, against drift in the machine's load.
	if [ $((rep % 2)) = 1 ]; then do_rollout; do_restarts; else do_restarts; do_rollout; fi
	log "rollout rep $rep: rollout ${rollout[-1]} ms, $N sequential restarts ${restarts[-1]} ms; load $(cut -d' ' -f1-3 /proc/loadavg)"
done
[ "$ROLLOUT_REPS" -gt 0 ] && record "rollout of $N busybox users, batch $BATCH (container_rollout, until completed in container_rollout_progress)" \
	"wall time" ms "-" "-" "$N sequential container_restart calls in one session" "${restarts[*]}" "${rollout[*]}" \
	"The worker restarts a batch's users one after another, one step (a user, or the choice of a batch) a turn of its loop, and waits up to 100 ms (BOOT_POLL_MS) between turns while a job runs; both ways check /readyz of each new container."
[ "$ROLLOUT_REPS" -gt 0 ] && record "the same rollout: one user's restart (its 'stopped' to its 'restarted' event; median of the $N)" \
	"time per user" ms "(for comparison)" "-" "the same in the sequential restarts" "${restarts_own[*]}" "${rollout_own[*]}"
[ "$ROLLOUT_REPS" -gt 0 ] && record "the same rollout: between two users (one's 'restarted' to the next one's 'stopped'; median)" \
	"gap" ms "(for comparison)" "-" "the same in the sequential restarts" "${restarts_gap[*]}" "${rollout_gap[*]}" \
	"For the rollout: the step's commit, the worker's other passes, its sleep between turns, and the next step's transaction."

log "load average at the end: $(cat /proc/loadavg)"
[ -n "$STANDALONE" ] && python3 "$PGC_ROOT/bench/report.py" "$BENCH_RESULTS"
exit 0
