#!/usr/bin/env bash
# Nothing the user stored is lost, and the table tells the truth: a file
# written into a user's volume survives stop, reap, restart and a restart
# of dockerd itself; after dockerd restarts, the health pass reports the
# truth and container_ensure_running brings every user back, also from a
# session whose kept-alive connection went down with the old dockerd.
source "$(dirname "$0")/../lib/tap.sh"
plan 15

note() { pgc_docker exec "mosaic-user-$1" /bin/busybox cat /home/node/.openclaw/note 2>&1; }

q -c "SELECT container_ensure_running('dr-1'), container_ensure_running('dr-2'), container_ensure_running('dr-3')" >/dev/null
pgc_docker exec mosaic-user-dr-1 /bin/busybox sh -c 'echo kept > /home/node/.openclaw/note'

q -c "SELECT container_stop('dr-1')" -c "SELECT container_ensure_running('dr-1')" >/dev/null
is "$(note dr-1)" "kept" "the volume's contents survive a stop"
q -c "UPDATE user_container SET last_active_at = now() - interval '2 hours' WHERE user_id = 'dr-1'" \
  -c "SELECT container_reap_idle()" -c "SELECT container_ensure_running('dr-1')" >/dev/null
is "$(note dr-1)" "kept" "... a reap"
q -c "SELECT container_restart('dr-1')" >/dev/null
is "$(note dr-1)" "kept" "... and a restart"

q -c "SELECT container_stop('dr-3')" >/dev/null
q -c "SELECT container_ensure_running('dr-4')" >/dev/null
pgc_docker exec mosaic-user-dr-4 /bin/busybox sh -c 'echo kept > /home/node/.openclaw/note'
q -c "SELECT container_remove('dr-4')" >/dev/null
ids() { for u in dr-1 dr-2 dr-3; do pgc_docker inspect -f '{{.Id}}' "mosaic-user-$u" 2>&1; done | tr '\n' ' '; }
states() { for u in dr-1 dr-2 dr-3; do pgc_docker inspect -f '{{.State.Status}}' "mosaic-user-$u" 2>&1; done | tr '\n' ' '; }
ids_before=$(ids)
is "$(pgc_docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' mosaic-user-dr-1) $(states)" "unless-stopped running running exited " \
	"before dockerd restarts: two users running under unless-stopped, one stopped by container_stop"

# Restart dockerd, leaving its containers to it, under a session that keeps
# its connection to the engine.  (pgc_restart_dockerd removes no container.)
out=$(psql -X -qAt -d pgc_test \
	-c "SELECT 'before: ' || url FROM container_ensure_running('dr-2')" \
	-c "\\! bash -c 'source $PGC_ROOT/test/lib/env.sh; pgc_restart_dockerd' >/dev/null 2>&1" \
	-c "SELECT 'after: ' || url FROM container_ensure_running('dr-2')" 2>&1)
like "$out" 'after: http://mosaic-user-dr-2:18789' "a session whose engine connection died with dockerd carries on"

# Survival: the same containers, those that ran back by dockerd's own hand
# (dr-1 had no call since), the one pg_container stopped still stopped.
all_running_again() { test "$(states)" = "running running exited "; }
wait_for 60 all_running_again
is "$(states)" "running running exited " "after dockerd restarts, unless-stopped brings back what ran; what pg_container stopped stays stopped"
is "$(ids)" "$ids_before" "... in the same containers, not new ones"

# The truth after the restart: one health row per running user, each
# agreeing with Docker; the table agrees too.  (The worker's event mirror
# saw the containers die with the old dockerd and come back with the new
# one; give it the time to read that, as the health pass would.)
table_agrees() { test "$(q -c "SELECT string_agg(user_id || '=' || status, ' ' ORDER BY user_id) FROM user_container WHERE user_id LIKE 'dr-%'")" = "dr-1=running dr-2=running dr-3=stopped"; }
wait_for 60 table_agrees
rows=0
truth=0
while IFS='|' read -r user healthy; do
	rows=$((rows + 1))
	state=$(pgc_docker inspect -f '{{.State.Status}}' "mosaic-user-$user")
	if { [ "$healthy" = t ] && [ "$state" != running ]; } || { [ "$healthy" = f ] && [ "$state" = running ]; }; then
		diag "$user: health check says healthy=$healthy, Docker says $state"
		truth=$((truth + 1))
	fi
done < <(q -c "SELECT user_id, healthy FROM container_health_check_all() WHERE user_id LIKE 'dr-%'")
is "$rows $truth" "2 0" "after dockerd restarts, the health pass reports both running users as Docker sees them"
is "$(q -c "SELECT string_agg(user_id || '=' || status, ' ' ORDER BY user_id) FROM user_container WHERE user_id LIKE 'dr-%'")" \
	"dr-1=running dr-2=running dr-3=stopped" "... and the table says what Docker says"
q -c "SELECT container_ensure_running('dr-' || i) FROM generate_series(1, 3) i" >/dev/null
is "$(states)" "running running running " "container_ensure_running brings every user back"
port=$(q -c "SELECT gateway_port FROM user_container WHERE user_id = 'dr-3'")
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" "200" "... with gateways that answer"
is "$(note dr-1)" "kept" "the volume's contents survive the dockerd restart"
is "$(pgc_docker ps -a -q --filter label=pg_container.managed=true --filter name=mosaic-user-dr- | wc -l) $(ids)" "3 $ids_before" \
	"... and no user got a second container"

# A user removed with the volume kept before the restart: Docker's answer
# to creating that volume again no longer carries its labels, but it is
# still the user's, and the user comes back onto it.
out=$(q -c "SELECT 'ok' FROM container_ensure_running('dr-4')" 2>&1)
is "$out" "ok" "a user removed with the volume kept comes back after a dockerd restart"
is "$(note dr-4)" "kept" "... onto the volume made before it"
tap_exit
