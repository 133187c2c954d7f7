#!/usr/bin/env bash
# pg_cron as the scheduler instead of the worker, as the README shows:
#   SELECT cron.schedule('reap', '* * * * *', 'SELECT container_reap_idle()')
# Debian's pg_cron 1.4 schedules by the minute, so this waits up to ~70 s.
source "$(dirname "$0")/../lib/tap.sh"
plan 5

q -c "CREATE EXTENSION IF NOT EXISTS pg_cron" >/dev/null
q -c "SELECT container_ensure_running('cron-idle')" >/dev/null
q -c "UPDATE user_container SET last_active_at = now() - interval '2 hours' WHERE user_id = 'cron-idle'"
# And one idle past its pause_after (0.4.0): the same scheduled sweep pauses it.
q -c "SELECT container_ensure_running('cron-pause'), container_set_pause_after('cron-pause', 5)" >/dev/null
q -c "UPDATE user_container SET last_active_at = now() - interval '10 minutes' WHERE user_id = 'cron-pause'"
# And two idle users the same sweep must leave alone (issue 23): one held
# by a lease, one kept warm by a schedule's window open now.
for u in cron-held cron-warm; do q -c "SELECT container_ensure_running('$u')" >/dev/null; done
q -c "UPDATE user_container SET last_active_at = now() - interval '2 hours' WHERE user_id IN ('cron-held', 'cron-warm')"
lease=$(q -c "SELECT container_hold('cron-held', 'a long turn', '30 min')")
q -c "INSERT INTO container_schedule (name, user_id, days, opens, closes)
      VALUES ('cron-warm', 'cron-warm', '{1,2,3,4,5,6,7}', (now() AT TIME ZONE 'UTC' - interval '1 min')::time(0),
              (now() AT TIME ZONE 'UTC' + interval '30 min')::time(0))" >/dev/null
job=$(q -c "SELECT cron.schedule('pg_container reap', '* * * * *', 'SELECT container_reap_idle()')")
stopped() { test "$(q -c "SELECT status FROM user_container WHERE user_id = 'cron-idle'")" = stopped; }
wait_for 75 stopped
is "$(q -c "SELECT status FROM user_container WHERE user_id = 'cron-idle'")" "stopped" "a reap scheduled with pg_cron stops an idle container"
is "$(pgc_docker inspect -f '{{.State.Status}}' mosaic-user-cron-idle)" "exited" "... in Docker too"
is "$(q -c "SELECT status FROM user_container WHERE user_id = 'cron-pause'") $(pgc_docker inspect -f '{{.State.Status}}' mosaic-user-cron-pause)" \
	"paused paused" "... and pauses one idle past its pause_after"
is "$(pgc_docker inspect -f '{{.State.Status}}' mosaic-user-cron-held) $(pgc_docker inspect -f '{{.State.Status}}' mosaic-user-cron-warm)" \
	"running running" "... and leaves a held user and one in a warm window running"
is "$(q -c "SELECT count(*) FROM container_event WHERE event = 'kept_warm' AND user_id = 'cron-warm'")" 1 \
	"... the window's lease taken by the scheduled sweep, with its 'kept_warm' event"
q -c "SELECT container_release($lease)" -c "DELETE FROM container_schedule WHERE name = 'cron-warm'" >/dev/null
for u in cron-pause cron-held cron-warm; do q -c "SELECT container_remove('$u')" >/dev/null; done
q -c "SELECT container_process_removals()" >/dev/null
q -c "SELECT cron.unschedule($job)" >/dev/null
tap_exit
