#!/usr/bin/env bash
# Cold starts in the background, against the real dockerd: container_start
# returns at once and queues; the worker boots the queue a few at a time,
# first come first served, holding the user's row only for the Docker
# calls; container_wait waits on a latch, times out clearly and can be
# cancelled; a failed start's error comes back from container_wait; a
# worker killed mid-boot starts nobody twice; a queued user removed is
# dropped; 30 starts through a pool with max_connections = 20 are refused
# nothing.
source "$(dirname "$0")/../lib/tap.sh"
plan 32

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

worker_pid() { q -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_container worker'"; }
request_state() { q -c "SELECT state FROM container_start_request WHERE user_id = '$1'"; }
state_is() { test "$(request_state "$1")" = "$2"; }
# Events of this run only: a rerun meets the last one's.
MARK=$(q -c "SELECT coalesce(max(id), 0) FROM container_event")
events_of() { q -c "SELECT string_agg(event, ' ' ORDER BY id) FROM container_event WHERE user_id = '$1' AND id > $MARK"; }
set_and_reload() { q -c "ALTER SYSTEM SET $1 = $2" >/dev/null; reload_conf; }
# A gateway that boots in 3 s before it serves, as a real one does in 8-15.
q -c "INSERT INTO container_profile (name, image, command) VALUES ('sq-slow', 'pgc-gateway:test',
      ARRAY['/bin/busybox', 'sh', '-c', 'trap \"exit 0\" TERM; /bin/busybox sleep 3; /bin/busybox httpd -f -p 18789 -h /www & wait'])" \
  -c "INSERT INTO container_profile (name, image) VALUES ('sq-bad', 'pgc-crashloop:test')" >/dev/null
slow() { q -c "SELECT container_set_profile('$1', 'sq-slow')" >/dev/null; }

# --- container_start returns at once, and is idempotent
slow sq-a
start=$(now_ms)
first=$(q -c "SELECT status || ' ' || url || ' ' || token FROM container_start('sq-a')")
elapsed=$(($(now_ms) - start))
like "$first" '^queued http://mosaic-user-sq-a:18789 [0-9a-f]{64}$' "container_start of a stopped user queues it and hands out its url and token"
cmp_ok "$elapsed" -lt 1000 "... at once (${elapsed} ms)"
second=$(q -c "SELECT status || ' ' || url || ' ' || token FROM container_start('sq-a')")
like "$second" "^(queued|starting) ${first#* }\$" "a second call changes nothing: the same url and token"
is "$(q -c "SELECT count(*) FROM container_start_request WHERE user_id = 'sq-a'")" 1 "... and one request"

# --- the worker boots it, holding the row only for the Docker calls
wait_for 10 state_is sq-a starting
start=$(now_ms)
q -c "SELECT container_touch('sq-a')" >/dev/null
elapsed=$(($(now_ms) - start))
is "$(request_state sq-a)" starting "the worker boots it (request 'starting')"
cmp_ok "$elapsed" -lt 500 "... and a touch of the booting user returns at once (${elapsed} ms)"
waited=$(q -c "SELECT status || ' ' || url || ' ' || token FROM container_wait('sq-a', '30 s')")
is "$waited" "running ${first#* }" "container_wait returns when it is ready, with the url and token handed out at the start"
is "$(pgc_docker exec mosaic-user-sq-a /bin/busybox wget -qO- http://127.0.0.1:18789/readyz)" ok "... and the gateway answers"
is "$(events_of sq-a)" "profile queued created started" "... with the events queued, created, started"
is "$(q -c "SELECT status FROM container_start('sq-a')")" running "container_start of a running user says running"

# --- first come, first served, never more than max_concurrent_starts at once
set_and_reload pg_container.max_concurrent_starts 1
for u in sq-f1 sq-f2 sq-f3; do slow "$u"; q -c "SELECT container_start('$u')" >/dev/null; done
for u in sq-f1 sq-f2 sq-f3; do q -c "SELECT container_wait('$u', '60 s')" >/dev/null; done
is "$(q -c "SELECT string_agg(user_id, ' ' ORDER BY id) FROM container_event WHERE event = 'created' AND user_id LIKE 'sq-f%' AND id > $MARK")" \
	"sq-f1 sq-f2 sq-f3" "starts are booted in the order they were asked for"
is "$(q -c "SELECT bool_and(s.at <= c.at) FROM container_event s JOIN container_event c
             ON (s.user_id, c.user_id) IN (('sq-f1', 'sq-f2'), ('sq-f2', 'sq-f3'))
            WHERE s.event = 'started' AND c.event = 'created' AND s.id > $MARK AND c.id > $MARK")" t "... one at a time with max_concurrent_starts = 1"

# --- a gateway that answers while its round still creates others is
# marked started then, not at the round's end: sq-p0 (ready at once) and 8
# slow ones, queued in one transaction so that one round takes them all
# (and sq-m, killed early in the round, is seen stopped by the state mirror
# between two of its creates, not once the round is over)
set_and_reload pg_container.max_concurrent_starts 10
for i in 1 2 3 4 5 6 7 8; do slow "sq-p$i"; done
q -c "SELECT container_ensure_running('sq-m')" >/dev/null
q -c "SELECT count(*) FROM unnest(ARRAY['sq-p0', 'sq-p1', 'sq-p2', 'sq-p3', 'sq-p4', 'sq-p5', 'sq-p6', 'sq-p7', 'sq-p8']) u,
             container_start(u)" >/dev/null
wait_for 30 bash -c "[ \"\$(psql -X -At -d pgc_test -c \"SELECT count(*) FROM container_event WHERE user_id = 'sq-p1' AND event = 'created' AND id > $MARK\")\" = 1 ]"
pgc_docker kill mosaic-user-sq-m >/dev/null
q -c "SELECT count(*) FROM generate_series(0, 8) i, container_wait('sq-p' || i, '120 s')" >/dev/null
last_created="(SELECT id FROM container_event WHERE user_id = 'sq-p8' AND event = 'created' AND id > $MARK)"
is "$(q -c "SELECT (SELECT id FROM container_event WHERE user_id = 'sq-p0' AND event = 'started' AND id > $MARK) < $last_created")" t \
	"a gateway ready early in an admission round is marked started before the round's last container is made"
is "$(q -c "SELECT (SELECT min(id) FROM container_event WHERE user_id = 'sq-m' AND event = 'stopped' AND id > $MARK) < $last_created")" t \
	"... and a gateway killed during the round is seen stopped by the mirror before that round ends"
set_and_reload pg_container.max_concurrent_starts 1

# --- a queued user removed meanwhile is dropped from the queue
slow sq-r1
slow sq-r2
q -c "SELECT container_start('sq-r1')" -c "SELECT container_start('sq-r2')" >/dev/null
q -c "SELECT container_remove('sq-r2')" >/dev/null
q -c "SELECT container_wait('sq-r1', '60 s')" >/dev/null
sleep 1
is "$(q -c "SELECT count(*) FROM container_start_request WHERE user_id = 'sq-r2'")" 0 "a queued user removed meanwhile is dropped from the queue"
is "$(pgc_docker ps -aq --filter name=mosaic-user-sq-r2 | wc -l)" 0 "... and never booted"
set_and_reload pg_container.max_concurrent_starts 4

# --- container_wait times out clearly, and can be cancelled
slow sq-t
q -c "SELECT container_start('sq-t')" >/dev/null
start=$(now_ms)
out=$(psql -X -At -d pgc_test -c '\set VERBOSITY sqlstate' -c "SELECT container_wait('sq-t', '300 ms')" 2>&1)
elapsed=$(($(now_ms) - start))
is "$out" "ERROR:  03000" "container_wait that runs out raises SQLSTATE 03000 (not yet complete)"
cmp_ok "$elapsed" -lt 1500 "... when its timeout is up (${elapsed} ms for 300 ms)"
like "$(q -c "SELECT container_wait('sq-t', '0 s')" 2>&1)" 'did not end within 0 ms' "... saying what did not end"
psql -X -At -d pgc_test -c "SELECT container_wait('sq-t', '60 s')" >"$T/cancel.out" 2>&1 &
waiter=$!
wait_for 10 bash -c "[ \"\$(psql -X -At -d pgc_test -c \"SELECT wait_event FROM pg_stat_activity WHERE query LIKE 'SELECT container_wait(''sq-t'', ''60 s'')%'\")\" = Extension ]"
start=$(now_ms)
q -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT container_wait(''sq-t'', ''60 s'')%'" >/dev/null
wait "$waiter"
elapsed=$(($(now_ms) - start))
like "$(cat "$T/cancel.out")" 'canceling statement due to user request' "a waiting container_wait can be cancelled"
cmp_ok "$elapsed" -lt 1000 "... at once (${elapsed} ms)"

# --- a failing start: its error on the request, as an event, and from container_wait
set_and_reload pg_container.ready_timeout "'3s'"
q -c "SELECT container_set_profile('sq-bad', 'sq-bad')" -c "SELECT container_start('sq-bad')" >/dev/null
err=$(psql -X -At -d pgc_test -c '\set VERBOSITY verbose' -c "SELECT container_wait('sq-bad', '30 s')" 2>&1)
like "$err" '^ERROR:  55000: container "mosaic-user-sq-bad" did not become ready within 3000 ms' "container_wait raises a failed start's own error and SQLSTATE"
like "$err" 'DETAIL:  The last GET http[^ ]*/readyz failed' "... with the detail the synchronous ensure gives"
is "$(q -c "SELECT detail->>'sqlstate' || ' ' || (detail->>'message') FROM container_event WHERE user_id = 'sq-bad' AND event = 'failed' AND id > $MARK")" \
	'55000 container "mosaic-user-sq-bad" did not become ready within 3000 ms' "... and the 'failed' event says the same"
set_and_reload pg_container.ready_timeout "'120s'"

# --- a worker killed mid-boot resumes the queue and starts nobody twice
slow sq-k
q -c "SELECT container_start('sq-k')" >/dev/null
wait_for 10 state_is sq-k starting
started_at=$(pgc_docker inspect -f '{{.State.StartedAt}}' mosaic-user-sq-k)
q -c "SELECT pg_terminate_backend($(worker_pid))" >/dev/null
is "$(q -c "SELECT status FROM container_wait('sq-k', '60 s')")" running "a worker killed mid-boot: its successor finishes the start"
is "$(pgc_docker inspect -f '{{.State.StartedAt}}' mosaic-user-sq-k) $(pgc_docker ps -aq --filter name=mosaic-user-sq-k | wc -l)" \
	"$started_at 1" "... on the same container, started once"

# --- container_ensure_running of a user the queue is booting waits for that boot
slow sq-e
queued=$(q -c "SELECT token FROM container_start('sq-e')")
ensured=$(q -c "SELECT token FROM container_ensure_running('sq-e')")
is "$ensured $(request_state sq-e)" "$queued " "container_ensure_running of a queued user returns when the queue's boot ends, with its token"
is "$(events_of sq-e)" "profile queued created started" "... and boots nothing a second time"

# --- 30 starts through a pool of 15 with max_connections = 20: no refusal
q -c "ALTER SYSTEM SET max_connections = 20" >/dev/null
pgc_restart_postgres
wait_for 30 bash -c "[ -n \"\$(psql -X -At -d pgc_test -c \"SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_container worker'\")\" ]"
seq 1 30 | xargs -P 15 -I{} sh -c "psql -X -At -d pgc_test -c \"SELECT status FROM container_start('sq-c{}')\" >$T/c{}.out 2>$T/c{}.err"
is "$(cat "$T"/c*.err | wc -c)" 0 "30 concurrent container_start calls with max_connections = 20 are refused nothing"
q -c "SELECT count(*) FROM generate_series(1, 30) i, container_wait('sq-c' || i, '120 s') w WHERE w.status = 'running'" >"$T/all.out" 2>&1
is "$(cat "$T/all.out")" 30 "... and all 30 are running, waited for on one connection"
q -c "ALTER SYSTEM RESET max_connections" -c "ALTER SYSTEM RESET pg_container.max_concurrent_starts" -c "ALTER SYSTEM RESET pg_container.ready_timeout" >/dev/null
pgc_restart_postgres

# Clean up
# --- a booting gateway that dies fails its start at once, not at ready_timeout
set_and_reload pg_container.ready_timeout "'60s'"
slow sq-dead
q -c "SELECT container_start('sq-dead')" >/dev/null
dead_running() { test "$(pgc_docker inspect -f '{{.State.Status}}' mosaic-user-sq-dead 2>/dev/null)" = running; }
wait_for 20 dead_running
pgc_docker kill mosaic-user-sq-dead >/dev/null
killed=$(now_ms)
err=$(q -c "SELECT container_wait('sq-dead', '60 s')" 2>&1)
cmp_ok $(($(now_ms) - killed)) -lt 5000 "a booting gateway killed before it is ready fails its start within 5 s, not at ready_timeout"
like "$err" 'stopped before it became ready' "... with an error that says it stopped"
q -c "ALTER SYSTEM RESET pg_container.ready_timeout" >/dev/null
reload_conf

users="sq-dead sq-m sq-p0 sq-p1 sq-p2 sq-p3 sq-p4 sq-p5 sq-p6 sq-p7 sq-p8 sq-a sq-e sq-f1 sq-f2 sq-f3 sq-r1 sq-t sq-bad sq-k $(seq -f 'sq-c%g' 1 30 | tr '\n' ' ')"
for u in $users; do q -c "SELECT container_remove('$u', keep_volume => false)" >/dev/null; done
q -c "SELECT container_process_removals()" -c "DELETE FROM container_profile WHERE name IN ('sq-slow', 'sq-bad')" >/dev/null

tap_exit
