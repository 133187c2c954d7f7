#!/usr/bin/env bash
# Maximum age (issue 23), against the real dockerd and the worker: with
# pg_container.max_age set, the worker restarts, after its idle sweep, a
# gateway that has run for longer and has been idle for 5 minutes with no
# lease, keeping token and volume, with an 'aged_out' event; one active a
# minute ago, a held one and a young one are left running as they are;
# container_explain says which the worker restarts; off (0, the default),
# nobody is restarted.
source "$(dirname "$0")/../lib/tap.sh"
plan 10

set_and_reload() { q -c "ALTER SYSTEM SET $1 = $2" >/dev/null; reload_conf; }
# aged USER STARTED_AGO IDLE_FOR: the row as if so
aged() { q -c "UPDATE user_container SET started_at = now() - interval '$2', last_active_at = now() - interval '$3' WHERE user_id = '$1'" >/dev/null; }
started() { pgc_docker inspect -f '{{.State.StartedAt}}' "mosaic-user-$1"; }
MARK=$(q -c "SELECT coalesce(max(id), 0) FROM container_event")
users="ma-old ma-busy ma-held ma-young"

for u in $users; do q -c "SELECT container_ensure_running('$u')" >/dev/null; done
is "$(q -c "SELECT count(*) FROM user_container WHERE user_id LIKE 'ma-%' AND started_at > now() - interval '5 min'")" 4 \
	"each start stamps started_at"
pgc_docker exec mosaic-user-ma-old /bin/busybox sh -c 'echo kept > /home/node/.openclaw/age-marker'
token=$(q -c "SELECT token FROM container_ensure_running('ma-old')")
lease=$(q -c "SELECT container_hold('ma-held', 'a turn', '10 min')")
aged ma-old '3 hours' '10 min'; aged ma-busy '3 hours' '1 min'; aged ma-held '3 hours' '10 min'; aged ma-young '10 min' '10 min'
declare -A before
for u in $users; do before[$u]=$(started "$u"); done

# --- off by default: the worker's sweeps restart nobody
set_and_reload pg_container.reap_interval "'1s'"
sleep 4
is "$(started ma-old)" "${before[ma-old]}" "with max_age 0 (the default) a gateway running for 3 hours is not restarted"

# --- what container_explain says, then the worker does
set_and_reload pg_container.reap_interval 0
set_and_reload pg_container.max_age "'2h'"
is "$(for u in $users; do q -c "SELECT '$u:' || next_sweep FROM container_explain('$u') WHERE rule = 'max_age'"; done | paste -sd' ')" \
	"ma-old:true ma-busy:false ma-held:false ma-young:false" \
	"container_explain says the worker restarts the old idle one, not the busy, held or young ones"
set_and_reload pg_container.reap_interval "'1s'"
wait_for 60 bash -c "[ \"\$(psql -X -At -d pgc_test -c \"SELECT count(*) FROM container_event WHERE user_id = 'ma-old' AND event = 'aged_out' AND id > $MARK\")\" = 1 ]"
is "$(q -c "SELECT detail->>'rule' || ' ' || (detail->>'outcome') FROM container_event WHERE user_id = 'ma-old' AND event = 'aged_out' AND id > $MARK")" \
	"max_age restarted" "the worker restarts a gateway past max_age that is idle and unheld, with an 'aged_out' event"
[ "$(started ma-old)" != "${before[ma-old]}" ]
ok $? "... its container started again"
is "$(q -c "SELECT token FROM container_ensure_running('ma-old')")" "$token" "... with the same token"
is "$(pgc_docker exec mosaic-user-ma-old /bin/busybox cat /home/node/.openclaw/age-marker)" kept "... and the volume's files"
is "$(q -c "SELECT started_at > now() - interval '1 min' FROM user_container WHERE user_id = 'ma-old'")" t "... and started_at stamped again"
sleep 3
is "$(started ma-busy) $(started ma-held) $(started ma-young)" "${before[ma-busy]} ${before[ma-held]} ${before[ma-young]}" \
	"the busy, held and young gateways were not restarted"
is "$(q -c "SELECT count(*) FROM container_event WHERE user_id = 'ma-old' AND event = 'aged_out' AND id > $MARK")" 1 \
	"... and the restarted one only once"

set_and_reload pg_container.reap_interval 0
q -c "SELECT container_release($lease)" -c "ALTER SYSTEM RESET pg_container.max_age" >/dev/null
reload_conf
for u in $users; do q -c "SELECT container_remove('$u', keep_volume => false)" >/dev/null; done
q -c "SELECT container_process_removals()" >/dev/null
tap_exit
