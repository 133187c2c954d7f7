#!/usr/bin/env bash
# Keep-warm schedules (issue 23), against the real dockerd and the worker:
# while a window of a profile's (or a user's) schedule is warm, the idle
# sweep leases its users until the window closes ('kept_warm', rule
# schedule), so an idle one is not stopped, and queues a start for those
# not running, which the worker boots; container_explain says so before
# the sweep acts; a changed or deleted schedule ends its leases at the next
# sweep and the idle rules apply again; a window due to open within
# start_before makes the worker start its users ahead.  The windows are in
# Asia/Kolkata (UTC+05:30), so that a zone is really applied.
source "$(dirname "$0")/../lib/tap.sh"
plan 16

set_and_reload() { q -c "ALTER SYSTEM SET $1 = $2" >/dev/null; reload_conf; }
idle_for() { q -c "UPDATE user_container SET last_active_at = now() - interval '$2' WHERE user_id = '$1'" >/dev/null; }
docker_state() { pgc_docker inspect -f '{{.State.Status}}' "mosaic-user-$1" 2>/dev/null || echo none; }
# local TIME: Asia/Kolkata's wall-clock time now plus the interval, as a time
local_time() { q -c "SELECT ((now() + interval '$1') AT TIME ZONE 'Asia/Kolkata')::time(0)"; }
explain() { q -c "SELECT action || ':' || next_sweep FROM container_explain('$1') WHERE rule = '$2'"; }
sweep() { q -c "SELECT count(*) FROM container_reap_idle()" >/dev/null; }
MARK=$(q -c "SELECT coalesce(max(id), 0) FROM container_event")
users="sc-a sc-b sc-c sc-u"

set_and_reload pg_container.reap_interval 0
q -c "INSERT INTO container_profile (name, idle_timeout_min) VALUES ('sc-office', 5)" >/dev/null
for u in $users; do q -c "SELECT container_ensure_running('$u')" >/dev/null; done
for u in sc-a sc-b; do q -c "SELECT container_set_profile('$u', 'sc-office')" >/dev/null; done
q -c "SELECT container_stop('sc-b')" >/dev/null
idle_for sc-a '10 min'; idle_for sc-c '10 min'
q -c "UPDATE user_container SET idle_timeout_min = 5 WHERE user_id IN ('sc-c', 'sc-u')" >/dev/null

# --- a window open now, for the profile
q -c "INSERT INTO container_schedule (name, profile, days, opens, closes, time_zone)
      VALUES ('sc-now', 'sc-office', '{1,2,3,4,5,6,7}', '$(local_time '-1 min')', '$(local_time '30 min')', 'Asia/Kolkata')" >/dev/null
is "$(explain sc-a schedule) $(explain sc-a idle_timeout)" "keep:true stop:false" \
	"before the sweep, container_explain says the window keeps an idle user and the idle timeout does not stop it"
sweep
is "$(docker_state sc-a) $(docker_state sc-c)" "running exited" \
	"the sweep keeps the idle user of a warm window running, and stops an idle user outside it"
is "$(q -c "SELECT l.expires_at = w.closes_at FROM container_lease l, container_schedule_windows() w
             WHERE l.user_id = 'sc-a' AND l.schedule = 'sc-now' AND w.schedule = 'sc-now' ORDER BY w.opens_at LIMIT 1")" t \
	"... through a lease that ends when the window closes"
is "$(q -c "SELECT held_until = (SELECT expires_at FROM container_lease WHERE user_id = 'sc-a' AND schedule = 'sc-now') FROM container_status('sc-a')")" t \
	"... which container_status shows as held_until"
is "$(q -c "SELECT string_agg(user_id || ':' || (detail->>'rule') || ':' || (detail->>'schedule') || ':' || coalesce(detail->>'start', '-'), ' ' ORDER BY user_id)
             FROM container_event WHERE event = 'kept_warm' AND id > $MARK")" \
	"sc-a:schedule:sc-now:- sc-b:schedule:sc-now:queued" \
	"each user of the window has a 'kept_warm' event naming the rule and schedule; the stopped one's start is queued"
wait_for 90 bash -c "[ \"\$(docker -H unix://$PGC_WORK/docker.sock inspect -f '{{.State.Status}}' mosaic-user-sc-b 2>/dev/null)\" = running ]"
is "$(docker_state sc-b)" running "the worker boots the stopped user of a warm window"
sweep
is "$(q -c "SELECT count(*) FROM container_lease WHERE user_id = 'sc-a'") $(q -c "SELECT count(*) FROM container_event WHERE event = 'kept_warm' AND user_id = 'sc-a' AND id > $MARK")" "1 1" \
	"a second sweep in the same window takes no second lease and records nothing new"
is "$(explain sc-a schedule)" "keep:false" "... and container_explain says the user is kept warm, with nothing left for the sweep to do"

# --- a per-user schedule
q -c "INSERT INTO container_schedule (name, user_id, days, opens, closes, time_zone)
      VALUES ('sc-mine', 'sc-u', '{1,2,3,4,5,6,7}', '$(local_time '-1 min')', '$(local_time '30 min')', 'Asia/Kolkata')" >/dev/null
idle_for sc-u '10 min'
sweep
is "$(docker_state sc-u) $(q -c "SELECT count(*) FROM container_event WHERE event = 'kept_warm' AND user_id = 'sc-u' AND id > $MARK")" "running 1" \
	"a user's own schedule keeps that user warm"

# --- the window moves two hours ahead: its lease ends and the idle rules apply again
q -c "UPDATE container_schedule SET opens = '$(local_time '2 hours')', closes = '$(local_time '3 hours')' WHERE name = 'sc-now'" >/dev/null
is "$(q -c "SELECT action FROM container_explain('sc-a') WHERE rule = 'schedule'")" start \
	"container_explain names the next window, and when the sweep will start the user for it"
idle_for sc-b '10 min'
sweep
is "$(docker_state sc-a) $(docker_state sc-b)" "exited exited" \
	"once the schedule no longer holds them, the next sweep stops the idle users it kept"
is "$(q -c "SELECT count(*) FROM container_event WHERE event = 'released' AND detail->>'ended_by' = 'schedule'
             AND user_id IN ('sc-a', 'sc-b') AND id > $MARK") $(q -c "SELECT count(*) FROM container_lease WHERE schedule = 'sc-now'")" "2 0" \
	"... after ending their window's leases, each with a 'released' event"

# --- the worker starts a window's users ahead of its opening
q -c "UPDATE container_schedule SET opens = '$(local_time '3 min')', closes = '$(local_time '30 min')', start_before = '5 min' WHERE name = 'sc-now'" >/dev/null
set_and_reload pg_container.reap_interval "'1s'"
# Both: the worker boots them one after the other.
wait_for 90 bash -c "[ \"\$(docker -H unix://$PGC_WORK/docker.sock inspect -f '{{.State.Status}}' mosaic-user-sc-a mosaic-user-sc-b 2>/dev/null | sort -u)\" = running ]"
is "$(docker_state sc-a) $(docker_state sc-b)" "running running" \
	"the worker's sweep starts a window's users start_before ahead of its opening"
set_and_reload pg_container.reap_interval 0
is "$(q -c "SELECT w.opens_at > now() FROM container_schedule_windows() w WHERE w.schedule = 'sc-now' ORDER BY w.opens_at LIMIT 1")" t \
	"... before the window has opened"

# --- a deleted schedule ends its leases too
q -c "DELETE FROM container_schedule WHERE name = 'sc-mine'" >/dev/null
sweep
is "$(docker_state sc-u) $(q -c "SELECT count(*) FROM container_lease WHERE user_id = 'sc-u'")" "exited 0" \
	"a deleted schedule's leases end at the next sweep, which stops its idle user"
for u in sc-a sc-b; do q -c "SELECT container_set_profile('$u', NULL)" >/dev/null; done
q -c "DELETE FROM container_profile WHERE name = 'sc-office'" >/dev/null
is "$(q -c "SELECT count(*) FROM container_schedule WHERE name LIKE 'sc-%'")" 0 "deleting a profile deletes its schedules"

for u in $users; do q -c "SELECT container_remove('$u', keep_volume => false)" >/dev/null; done
q -c "SELECT container_process_removals()" >/dev/null
tap_exit
