#!/usr/bin/env bash
# Dormancy (issue 23), against the real dockerd: with
# pg_container.dormant_after set, the idle sweep (container_reap_idle(), so
# pg_cron's too, and the worker's) removes the container and network of a
# user stopped for that long and keeps the row, token and volume, with a
# 'dormant' event; the next ensure makes the container again with the same
# token and the volume's files.  A user stopped more recently, a held one,
# and one whose container runs after all are left alone; off (0, the
# default), nobody is made dormant.
source "$(dirname "$0")/../lib/tap.sh"
plan 13

set_and_reload() { q -c "ALTER SYSTEM SET $1 = $2" >/dev/null; reload_conf; }
# stopped_for USER INTERVAL: the row as if its stop was that long ago
stopped_for() { q -c "UPDATE user_container SET last_active_at = now() - interval '$2', updated_at = now() - interval '$2' WHERE user_id = '$1'" >/dev/null; }
containers_of() { pgc_docker ps -aq --filter "name=^mosaic-user-$1\$" | wc -l; }
MARK=$(q -c "SELECT coalesce(max(id), 0) FROM container_event")
users="dm-a dm-recent dm-held dm-odd dm-w"

for u in $users; do q -c "SELECT container_ensure_running('$u')" >/dev/null; done
pgc_docker exec mosaic-user-dm-a /bin/busybox sh -c 'echo kept > /home/node/.openclaw/dormant-marker'
token=$(q -c "SELECT token FROM container_ensure_running('dm-a')")
for u in $users; do q -c "SELECT container_stop('$u')" >/dev/null; done
lease=$(q -c "SELECT container_hold('dm-held', 'a turn', '10 min')")
stopped_for dm-a '3 days'; stopped_for dm-recent '1 day'; stopped_for dm-held '3 days'; stopped_for dm-odd '3 days'

# --- off by default
q -c "SELECT count(*) FROM container_reap_idle()" >/dev/null
is "$(containers_of dm-a)" 1 "with dormant_after 0 (the default) a user stopped for 3 days keeps the container"

# --- on: container_reap_idle() makes dm-a dormant
set_and_reload pg_container.dormant_after "'2d'"
is "$(for u in dm-a dm-recent dm-held; do q -c "SELECT '$u:' || action || ':' || next_sweep FROM container_explain('$u') WHERE rule = 'dormant_after'"; done | paste -sd' ')" \
	"dm-a:remove container:true dm-recent:remove container:false dm-held:remove container:false" \
	"container_explain says which stopped users the next sweep makes dormant, and not the recent or held ones"
# dm-odd's row says stopped, but its container was started by hand (the
# same sweep then stops it as an orphan, after dormancy has looked).
pgc_docker start mosaic-user-dm-odd >/dev/null
q -c "SELECT count(*) FROM container_reap_idle()" >/dev/null
is "$(containers_of dm-a)" 0 "with dormant_after 2 days, the sweep removes the container of a user stopped for 3"
is "$(pgc_docker volume ls -q --filter name=^mosaic-user-dm-a-state\$ | wc -l)" 1 "... and keeps the volume"
is "$(pgc_docker network ls -q --filter name=^mosaic-user-dm-a-net\$ | wc -l)" 0 "... and removes the user's network"
is "$(q -c "SELECT status || ' ' || (container_id IS NULL)::text FROM user_container WHERE user_id = 'dm-a'")" "stopped true" \
	"... and keeps the row, stopped, with no container"
is "$(q -c "SELECT detail->>'rule' || ' ' || (detail->>'volume_kept') FROM container_event WHERE user_id = 'dm-a' AND event = 'dormant' AND id > $MARK")" \
	"dormant_after true" "... with a 'dormant' event naming the rule"
is "$(containers_of dm-recent) $(containers_of dm-held) $(containers_of dm-odd)" "1 1 1" \
	"a user stopped for 1 day, a held one and one whose container runs keep theirs"

# --- the next ensure brings the same token and state back
again=$(q -c "SELECT token FROM container_ensure_running('dm-a')")
is "$again" "$token" "the next ensure of a dormant user makes the container again, with the same token"
is "$(pgc_docker exec mosaic-user-dm-a /bin/busybox cat /home/node/.openclaw/dormant-marker)" kept "... and the volume's files"
is "$(q -c "SELECT string_agg(event, ' ' ORDER BY id) FROM container_event WHERE user_id = 'dm-a' AND event IN ('dormant', 'created')
                   AND id >= (SELECT id FROM container_event WHERE user_id = 'dm-a' AND event = 'dormant' AND id > $MARK)")" \
	"dormant created" "... as a new container ('created' after 'dormant')"

# --- the worker's sweep follows it too
stopped_for dm-w '3 days'
set_and_reload pg_container.reap_interval "'1s'"
wait_for 30 bash -c "[ \"\$(docker -H unix://$PGC_WORK/docker.sock ps -aq --filter name=^mosaic-user-dm-w\$ | wc -l)\" = 0 ]"
is "$(containers_of dm-w)" 0 "the worker's sweep makes a user dormant too"
set_and_reload pg_container.reap_interval 0
q -c "SELECT container_release($lease)" >/dev/null
is "$(q -c "SELECT container_id IS NULL FROM user_container WHERE user_id = 'dm-w'")" t "... and records it on the row"

q -c "ALTER SYSTEM RESET pg_container.dormant_after" >/dev/null
reload_conf
for u in $users; do q -c "SELECT container_remove('$u', keep_volume => false)" >/dev/null; done
q -c "SELECT container_process_removals()" >/dev/null
tap_exit
