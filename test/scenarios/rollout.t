#!/usr/bin/env bash
# Rollouts, against the real dockerd and the worker: bad input is refused
# and records nothing; a rollout over 10 users at batch 3 does its canary
# first, then batches of 3, and brings every running user to the new image
# with the same token and volume while container_rollout_progress counts
# along; a stopped user is not booted and gets the image at its next
# start; a second job while one runs is refused; a rollout to an image
# that never gets ready stops after max_failures = 2 rollbacks with the
# rest on the old image, tokens unchanged, and its image no longer what
# new containers get; a cancel stops at the end of the batch in flight; a
# user a lease holds is restarted only once released, the job waiting for
# it meanwhile.  Users of earlier test files are stopped first, since a
# rollout takes every running user.
source "$(dirname "$0")/../lib/tap.sh"
plan 41

MARK=$(q -c "SELECT coalesce(max(id), 0) FROM container_event")
set_and_reload() { q -c "ALTER SYSTEM SET $1 = $2" >/dev/null; reload_conf; }
sqlstate_of() { psql -X -At -d pgc_test -c '\set VERBOSITY sqlstate' -c "$1" 2>&1; }
jobs_recorded() { q -c "SELECT count(*) FROM container_rollout"; }
phase_of() { q -c "SELECT phase FROM container_rollout_progress WHERE job = $1"; }
phase_is() { test "$(phase_of "$1")" = "$2"; }
USERS=$(echo ro-u{01..10})
images_of() {
	local u out=""
	for u in $USERS; do out+="$(pgc_docker inspect -f '{{.Config.Image}}' "mosaic-user-$u") "; done
	echo "$out" | tr ' ' '\n' | grep . | sort | uniq -c | awk '{print $2 "=" $1}' | paste -sd' '
}
tokens() { for u in $USERS; do q -c "SELECT token FROM container_ensure_running('$u')"; done | md5sum; }
V2=pgc-gateway:rollout-v2
pgc_docker tag pgc-gateway:test "$V2"
set_and_reload pg_container.ready_timeout "'4s'"
q -c "SELECT count(container_stop(user_id)) FROM user_container
       WHERE user_id NOT LIKE 'ro-%' AND status IN ('running', 'paused', 'starting')" >/dev/null

# --- bad input: a clear error, and nothing recorded
q -c "SELECT container_ensure_running('ro-s')" -c "SELECT container_stop('ro-s')" >/dev/null
is "$(sqlstate_of "SELECT container_rollout(NULL, 3, 2)")" "ERROR:  22004" "a NULL image is 22004"
is "$(sqlstate_of "SELECT container_rollout('$V2', NULL, 2)")" "ERROR:  22004" "a NULL batch is 22004"
is "$(sqlstate_of "SELECT container_rollout('$V2', 0, 2)")" "ERROR:  22023" "batch 0 is 22023"
is "$(sqlstate_of "SELECT container_rollout('$V2', 3, -1)")" "ERROR:  22023" "max_failures -1 is 22023"
is "$(sqlstate_of "SELECT container_rollout('', 3, 2)")" "ERROR:  22023" "an empty image is 22023"
err=$(psql -X -At -d pgc_test -c "SELECT container_rollout('$V2', 3, 2, ARRAY['ro-s', 'ro-nobody'])" 2>&1)
like "$err" 'ERROR:  canary user "ro-nobody" has no container' "an unknown canary is refused by name"
is "$(sqlstate_of "SELECT container_rollout('$V2', 3, 2, ARRAY['ro-s', NULL])")" "ERROR:  22004" "a NULL canary is 22004"
is "$(sqlstate_of "SELECT container_rollout_cancel(424242)")" "ERROR:  22023" "cancelling an unknown job is 22023"
is "$(jobs_recorded)" 0 "... and none of them recorded a job"

# --- ten users on the old image, one stopped, a file in a volume
for u in $USERS; do q -c "SELECT container_ensure_running('$u')" >/dev/null & done
wait
pgc_docker exec mosaic-user-ro-u04 /bin/busybox sh -c 'echo kept > /home/node/.openclaw/rollout-marker'
before_tokens=$(tokens)
is "$(images_of)" "pgc-gateway:test=10" "ten users run the old image"

# --- a rollout at batch 3 with a canary, ro-u05 held by a lease
lease=$(q -c "SELECT container_hold('ro-u05', 'a turn', '10 min')")
job=$(q -c "SELECT container_rollout('$V2', 3, 2, ARRAY['ro-u07', 'ro-s'])")
like "$job" '^[0-9]+$' "container_rollout returns the job's id"
err=$(psql -X -At -d pgc_test -c '\set VERBOSITY verbose' -c "SELECT container_rollout('$V2', 3, 2)" 2>&1)
like "$err" "^ERROR:  55000: rollout job $job is still running" "a second rollout while one runs is 55000"
like "$err" "HINT:  .*container_rollout_cancel\\($job\\)" "... with a hint naming the job to wait for or cancel"
samples=$(mktemp)
while ! phase_is "$job" completed && ! phase_is "$job" failed; do
	q -c "SELECT p.phase, p.done, p.total, p.failed, cardinality(p.current_users),
	             (SELECT count(*) FROM container_rollout_step s WHERE s.job = p.job),
	             (SELECT count(*) FROM user_container u WHERE u.user_id LIKE 'ro-u%' AND u.status = 'running'
	                 AND u.spec_hash = (SELECT spec_hash FROM user_container WHERE user_id = 'ro-u07'))
	        FROM container_rollout_progress p WHERE p.job = $job" >>"$samples"
	if [ -n "$lease" ] && phase_is "$job" "waiting for held users"; then
		held_image=$(pgc_docker inspect -f '{{.Config.Image}}' mosaic-user-ro-u05)
		waiting=$(q -c "SELECT cardinality(current_users) || ' ' || total FROM container_rollout_progress WHERE job = $job")
		q -c "SELECT container_release($lease)" >/dev/null
		lease=
	fi
	sleep 0.3
	[ "$(wc -l <"$samples")" -gt 600 ] && break
done
is "${held_image:-}" pgc-gateway:test "the held user is left on the old image while the others are done, the job waiting"
is "$(q -c "SELECT user_id FROM container_rollout_step WHERE job = $job ORDER BY at DESC LIMIT 1")" ro-u05 \
	"... and is restarted once released, last"
is "$(phase_of "$job")" completed "the rollout completes"
diag "10 users at batch 3 (a canary, then 3 batches): $(q -c "SELECT round(extract(epoch FROM finished_at - started_at)::numeric, 1) FROM container_rollout WHERE job = $job") s"
is "$(q -c "SELECT done || ' ' || total || ' ' || failed || ' ' || cardinality(current_users) FROM container_rollout_progress WHERE job = $job")" \
	"10 10 0 0" "... with done 10 of total 10, none failed, no batch in flight"
is "$(awk -F'|' '$2 != $6' "$samples" | wc -l)" 0 "along the way, done is always the steps recorded"
is "$(awk -F'|' '$1 != "initializing" && $3 != 10' "$samples" | wc -l)" 0 "... total is always 10 once started, the held user counted"
is "${waiting:-}" "0 10" "... and the view showed the job waiting, no batch in flight, the held user in its total"
is "$(awk -F'|' '$5 > 3' "$samples" | wc -l)" 0 "... never more than 3 users in flight"
cmp_ok "$(awk -F'|' '$2 > 0 && $2 < 10' "$samples" | wc -l)" -gt 0 "... and the view was seen part way"
is "$(awk -F'|' '$1 == "restarting users" && $2 < 1' "$samples" | wc -l)" 0 "... the users' batches only after the canary's"
rm -f "$samples"
is "$(images_of)" "$V2=10" "every running user runs the new image"
is "$(tokens)" "$before_tokens" "... with the same tokens"
is "$(pgc_docker exec mosaic-user-ro-u04 /bin/busybox cat /home/node/.openclaw/rollout-marker)" kept "... and volumes as they were"
is "$(q -c "SELECT string_agg(user_id, ' ' ORDER BY at) FROM (SELECT * FROM container_rollout_step WHERE job = $job ORDER BY at LIMIT 1) s")" \
	ro-u07 "the canary goes first"
is "$(q -c "SELECT string_agg(b || ':' || n, ' ' ORDER BY b) FROM (SELECT batch b, count(*) n FROM container_rollout_step WHERE job = $job GROUP BY batch) s")" \
	"1:1 2:3 3:3 4:2 5:1" "... in a batch of its own, then batches of 3, the held user in one after them"
is "$(q -c "SELECT count(*) FILTER (WHERE user_id LIKE 'ro-u%' AND detail->>'outcome' = 'updated') || ' '
              || string_agg(detail->>'phase', ' ' ORDER BY id) FILTER (WHERE user_id IS NULL AND detail->>'job' = '$job')
             FROM container_event WHERE event = 'rollout' AND id > $MARK")" \
	"10 started completed" "a 'rollout' event per user, and for the job's start and end"
is "$(q -c "SELECT status FROM user_container WHERE user_id = 'ro-s'")" stopped "the stopped user (a canary too) was not booted"
q -c "SELECT container_ensure_running('ro-s')" >/dev/null
is "$(pgc_docker inspect -f '{{.Config.Image}}' mosaic-user-ro-s)" "$V2" "... and gets the new image at its next start"
is "$(q -c "SELECT container_rollout_cancel($job)")" f "cancelling a finished job says false"

# --- a bad image: stops after max_failures rollbacks
before_tokens=$(tokens)
bad=$(q -c "SELECT container_rollout('pgc-crashloop:test', 3, 2)")
wait_for 120 bash -c "[ \"\$(psql -X -At -d pgc_test -c 'SELECT finished_at IS NOT NULL FROM container_rollout WHERE job = $bad')\" = t ]"
diag "2 rollbacks at ready_timeout 4 s: $(q -c "SELECT round(extract(epoch FROM finished_at - started_at)::numeric, 1) FROM container_rollout WHERE job = $bad") s"
is "$(q -c "SELECT phase || ' ' || done || ' ' || failed FROM container_rollout_progress WHERE job = $bad")" \
	"failed 2 2" "a rollout to an image that never gets ready stops as failed after 2 rollbacks"
is "$(q -c "SELECT count(*) FROM container_rollout_step WHERE job = $bad AND outcome = 'rolled back' AND error LIKE '%did not become ready%'")" \
	2 "... each step rolled back with the readiness error"
is "$(images_of)" "$V2=10" "... and every user still runs the previous image"
is "$(tokens)" "$before_tokens" "... with the same tokens"
q -c "SELECT container_stop('ro-s')" -c "SELECT container_ensure_running('ro-s')" >/dev/null
is "$(pgc_docker inspect -f '{{.Config.Image}}' mosaic-user-ro-s)" "$V2" "a failed rollout's image is not what new starts get"
is "$(q -c "SELECT count(*) FROM container_outdated() u WHERE u LIKE 'ro-%'")" 0 "... and nobody shows as outdated"

# --- a cancel stops at the end of the batch in flight (ro-s stopped, so the
# batch is ro-u01..03)
q -c "SELECT container_stop('ro-s')" >/dev/null
# (a gateway that takes 2 s to get ready, so that the batch is seen in flight)
back=$(q -c "SELECT container_rollout('pgc-slowready:test', 3, 0)")
wait_for 60 bash -c "[ \"\$(psql -X -At -d pgc_test -c 'SELECT cardinality(current_users) > 0 AND batches_done = 0 FROM container_rollout WHERE job = $back')\" = t ]"
is "$(q -c "SELECT container_rollout_cancel($back)")" t "a cancel of a running job says true"
wait_for 120 bash -c "[ \"\$(psql -X -At -d pgc_test -c 'SELECT finished_at IS NOT NULL FROM container_rollout WHERE job = $back')\" = t ]"
is "$(q -c "SELECT phase || ' ' || done FROM container_rollout_progress WHERE job = $back")" \
	"cancelled 3" "... and the job ends as cancelled once its batch of 3 is done"
is "$(images_of)" "$V2=7 pgc-slowready:test=3" "... leaving the others on the image they had"

# The jobs go, so that later tests get pg_container.image again.
q -c "DELETE FROM container_rollout" >/dev/null
for u in $USERS ro-s; do q -c "SELECT container_remove('$u')" >/dev/null; done
q -c "SELECT container_process_removals()" -c "ALTER SYSTEM RESET pg_container.ready_timeout" >/dev/null
reload_conf
pgc_docker rmi "$V2" >/dev/null
tap_exit
