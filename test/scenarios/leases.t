#!/usr/bin/env bash
# Leases (issue 23), against the real dockerd and the worker: a user held
# with container_hold is neither stopped nor paused by container_reap_idle()
# or by the worker's own sweep, however long idle, nor stopped by the start
# queue to make room within running_memory_budget; a lease ends by itself
# at its ttl, and then the next sweep acts; a release lets the next sweep
# act; a ttl above pg_container.max_lease is refused and changes nothing;
# each lease has its 'held' and 'released' events; container_touch
# with a source shows in the overview; and container_explain says what the
# next sweep does, and agrees with it over random states.
source "$(dirname "$0")/../lib/tap.sh"
plan 24

statuses() { q -c "SELECT string_agg(user_id || '=' || status, ' ' ORDER BY user_id) FROM user_container WHERE user_id = ANY (string_to_array('$1', ' '))"; }
statuses_are() { test "$(statuses "$1")" = "$2"; }
state() { pgc_docker inspect -f '{{.State.Status}}' "mosaic-user-$1" 2>/dev/null; }
idle_for() { q -c "UPDATE user_container SET last_active_at = now() - interval '$2' WHERE user_id = '$1'" >/dev/null; }
set_and_reload() { q -c "ALTER SYSTEM SET $1 = $2" >/dev/null; reload_conf; }
remove_all() { for u in $users; do q -c "SELECT container_remove('$u', keep_volume => false)" >/dev/null; done; q -c "SELECT container_process_removals()" >/dev/null; }

users="ls-held ls-free ls-hp ls-up ls-w ls-exp ls-e1 ls-e2 ls-e3 ls-x1 ls-x2 ls-x3 ls-x4"
remove_all
q -c "DELETE FROM container_event WHERE user_id LIKE 'ls-%'" >/dev/null
# The start queue's budget below counts every running container.
q -c "SELECT container_stop(user_id) FROM user_container WHERE status IN ('running', 'paused')" >/dev/null
for u in ls-held ls-free ls-hp ls-up; do q -c "SELECT container_ensure_running('$u')" >/dev/null; done

# By hand: held and unheld users past their idle timeout, and past their pause delay.
lease=$(q -c "SELECT container_hold('ls-held', 'agent turn', '10 min')")
hp_lease=$(q -c "SELECT container_hold('ls-hp', 'websocket', '10 min')")
q -c "SELECT container_set_pause_after(u, 5) FROM unnest(ARRAY['ls-hp', 'ls-up']) u" >/dev/null
idle_for ls-held '2 hours'; idle_for ls-free '2 hours'; idle_for ls-hp '10 minutes'; idle_for ls-up '10 minutes'
is "$(q -c "SELECT string_agg(u, ' ' ORDER BY u) FROM container_reap_idle() u WHERE u LIKE 'ls-%'")" "ls-free" \
	"container_reap_idle() stops the unheld user idle past its timeout, not the held one"
is "$(statuses 'ls-held ls-free ls-hp ls-up') $(state ls-held) $(state ls-hp)" \
	"ls-free=stopped ls-held=running ls-hp=running ls-up=paused running running" \
	"... and the pause sweep pauses the unheld user, not the held one; Docker agrees"
is "$(q -c "SELECT held_until > now() + interval '9 min' FROM container_status('ls-held')") $(q -c "SELECT held_until IS NULL FROM container_status('ls-free')")" \
	"t t" "container_status shows until when the user is held, NULL for one not held"
is "$(q -c "SELECT held_until IS NOT NULL FROM container_overview WHERE user_id = 'ls-held'")" t "... and so does the overview"
is "$(q -c "SELECT string_agg(rule || ':' || coalesce(next_sweep::text, '') || ':' || why, ' | ' ORDER BY rule) FROM container_explain('ls-held') WHERE rule IN ('lease', 'idle_timeout')")" \
	"idle_timeout:false:idle past its 30 min timeout, but held | lease:false:held by lease $lease (agent turn): nothing pauses, stops or evicts the user before then" \
	"container_explain says the held user is past its idle timeout, and which lease keeps it"

# The worker's own sweep follows the same rule.
q -c "SELECT container_ensure_running('ls-w')" >/dev/null
idle_for ls-w '2 hours'
set_and_reload pg_container.reap_interval "'1s'"
wait_for 60 statuses_are ls-w "ls-w=stopped"
is "$(statuses ls-w)" "ls-w=stopped" "the worker stops an unheld idle user"
sleep 2
is "$(statuses 'ls-held ls-hp') $(state ls-held) $(state ls-hp)" "ls-held=running ls-hp=running running running" \
	"... and neither stops nor pauses the held ones, sweep after sweep"

# A lease ends by itself: the worker's next sweep after the ttl stops the user.
# (Held before it is made idle: the worker sweeps every second meanwhile.)
q -c "SELECT container_ensure_running('ls-exp')" >/dev/null
start=$(date +%s)
exp_lease=$(q -c "SELECT container_hold('ls-exp', 'short turn', '4 s')")
idle_for ls-exp '2 hours'
wait_for 60 statuses_are ls-exp "ls-exp=stopped"
took=$(($(date +%s) - start))
is "$(statuses ls-exp) $(state ls-exp)" "ls-exp=stopped exited" "a lease past its ttl holds no more: the worker stops the user"
cmp_ok "$took" -ge 3 "... but not before the ttl ran out (${took} s)"
is "$(q -c "SELECT count(*) FROM container_lease WHERE id = $exp_lease")/$(q -c "SELECT detail ->> 'expired' FROM container_event WHERE user_id = 'ls-exp' AND event = 'released' AND detail ->> 'lease' = '$exp_lease'")" \
	"0/true" "... and the sweep deleted the expired lease, recording its end as released, expired"
is "$(q -c "SELECT container_release($exp_lease)")" f "releasing an expired lease is no error: false"
set_and_reload pg_container.reap_interval 0

# A ttl above pg_container.max_lease is refused and changes nothing.
before=$(q -c "SELECT (SELECT count(*) FROM container_lease WHERE user_id = 'ls-free') || '/' || coalesce(held_until::text, '-') || '/' || (SELECT count(*) FROM container_event WHERE user_id = 'ls-free') FROM user_container WHERE user_id = 'ls-free'")
err=$(q -v VERBOSITY=verbose -c "SELECT container_hold('ls-free', 'too long', '2 hours')" 2>&1)
like "$err" "22023.*at most pg_container.max_lease \(3600 s\)" "a ttl above max_lease is refused with 22023"
like "$err" "HINT:.*hold again before the lease ends" "... with a hint"
is "$(q -c "SELECT (SELECT count(*) FROM container_lease WHERE user_id = 'ls-free') || '/' || coalesce(held_until::text, '-') || '/' || (SELECT count(*) FROM container_event WHERE user_id = 'ls-free') FROM user_container WHERE user_id = 'ls-free'")" \
	"$before" "... and changes nothing: no lease, no held_until, no event"
err=$(q -c "SET pg_container.max_lease = '1min'" -c "SELECT container_hold('ls-free', 'turn', '2 min')" 2>&1)
like "$err" "at most pg_container.max_lease \(60 s\)" "max_lease is the bound: lowered, it refuses a ttl it took before"

# A release of a lease that expired before any sweep deleted it: false,
# and it records the end the sweep would have.
short=$(q -c "SELECT container_hold('ls-free', 'brief', '1 s')")
sleep 1.5
is "$(q -c "SELECT container_release($short)")/$(q -c "SELECT detail ->> 'expired' FROM container_event WHERE event = 'released' AND detail ->> 'lease' = '$short'")/$(q -c "SELECT count(*) FROM container_lease WHERE id = $short")" \
	"f/true/0" "releasing an expired lease no sweep deleted yet is false, and records it as released, expired"

# A release lets the next sweep act.
is "$(q -c "SELECT container_release($lease)") $(q -c "SELECT container_release($lease)")" "t f" \
	"container_release ends a live lease (true), and a second release is no error (false)"
is "$(q -c "SELECT string_agg(u, ' ' ORDER BY u) FROM container_reap_idle() u WHERE u LIKE 'ls-%'")" "ls-held" \
	"... and the next sweep stops the released user"

# Each lease: one 'held' and one 'released' event, with its id and reason.
is "$(q -c "SELECT string_agg(event || ':' || (detail ->> 'lease' = '$lease') || ':' || (detail ->> 'reason'), ' ' ORDER BY id) FROM container_event WHERE user_id = 'ls-held' AND event IN ('held', 'released')")" \
	"held:true:agent turn released:true:agent turn" "the lease's held and released events name it and its reason"

# Touch with a source shows in the overview; a touch without one clears it.
q -c "SELECT container_touch('ls-hp', 'tool_call')" >/dev/null
got=$(q -c "SELECT last_activity_source FROM container_overview WHERE user_id = 'ls-hp'")
explained=$(q -c "SELECT why FROM container_explain('ls-hp') WHERE rule = 'last_activity'")
q -c "SELECT container_touch('ls-hp')" >/dev/null
is "$got/$(q -c "SELECT coalesce(last_activity_source, '-') FROM container_overview WHERE user_id = 'ls-hp'")" "tool_call/-" \
	"container_touch with a source shows in the overview; one without a source clears it"
is "$explained/$(q -c "SELECT why FROM container_explain('ls-hp') WHERE rule = 'last_activity'")" "source: tool_call/source: none said" \
	"... and so does container_explain's last activity"
q -c "SELECT container_release($hp_lease)" >/dev/null

# container_explain agrees with the sweep, over random states: each round
# starts four users, sets their idle time at random (timeout 30 min, pause
# delay 5) and holds some at random, asks explain what the next sweep does
# to each, runs container_reap_idle() and compares.
ex_users="ls-x1 ls-x2 ls-x3 ls-x4"
rounds=5 agree=0
for u in $ex_users; do q -c "SELECT container_set_pause_after('$u', 5)" >/dev/null; done
for round in $(seq $rounds); do
	for u in $ex_users; do
		q -c "SELECT container_ensure_running('$u')" >/dev/null
		[ $((RANDOM % 2)) = 0 ] && q -c "SELECT container_hold('$u', 'round $round', '5 min')" >/dev/null
		idle_for "$u" "$((RANDOM % 60)) minutes"
	done
	predicted=$(q -c "SELECT string_agg(u || '=' || coalesce((SELECT e.action FROM container_explain(u) e WHERE e.next_sweep), 'none'), ' ' ORDER BY u) FROM unnest(string_to_array('$ex_users', ' ')) u")
	q -c "SELECT container_reap_idle()" >/dev/null
	actual=$(q -c "SELECT string_agg(user_id || '=' || CASE status WHEN 'stopped' THEN 'stop' WHEN 'paused' THEN 'pause' ELSE 'none' END, ' ' ORDER BY user_id) FROM user_container WHERE user_id = ANY (string_to_array('$ex_users', ' '))")
	if [ "$predicted" = "$actual" ]; then agree=$((agree + 1)); else diag "round $round: explain said $predicted, the sweep did $actual"; fi
	q -c "SELECT container_release(id) FROM container_lease WHERE user_id LIKE 'ls-x%'" >/dev/null
done
is "$agree" "$rounds" "container_explain's next_sweep agrees with what container_reap_idle() does, over $rounds rounds of random states"
q -c "SELECT container_stop(u) FROM unnest(string_to_array('$users', ' ')) u" >/dev/null

# The start queue's memory budget: a held user is not stopped to make room,
# though it is the least recently active.
q -c "INSERT INTO container_profile (name, image, memory_limit_mb) VALUES ('ls-64', 'pgc-gateway:test', 64) ON CONFLICT DO NOTHING" >/dev/null
for u in ls-e1 ls-e2 ls-e3; do q -c "SELECT container_set_profile('$u', 'ls-64')" >/dev/null; done
q -c "SELECT container_ensure_running('ls-e1')" -c "SELECT container_ensure_running('ls-e2')" >/dev/null
idle_for ls-e1 '10 minutes'; idle_for ls-e2 '5 minutes'
q -c "SELECT container_hold('ls-e1', 'long turn', '10 min')" >/dev/null
set_and_reload pg_container.running_memory_budget 128
q -c "SELECT container_start('ls-e3')" >/dev/null
is "$(q -c "SELECT status FROM container_wait('ls-e3', '30 s')") $(statuses 'ls-e1 ls-e2')" "running ls-e1=running ls-e2=stopped" \
	"a start over the memory budget stops the unheld idle user, not the held one that was idle longer"
set_and_reload pg_container.running_memory_budget 0

remove_all
q -c "DELETE FROM container_profile WHERE name = 'ls-64'" >/dev/null
is "$(q -c "SELECT count(*) FROM container_lease WHERE user_id LIKE 'ls-%'")" 0 "removing a user drops its leases"
tap_exit
