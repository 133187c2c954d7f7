#!/usr/bin/env bash
# pg_cron as the scheduler instead of the worker, as the README shows:
#   SELECT cron.schedule('reap', '* * * * *', 'SELECT container_reap_idle()')
# Debian's pg_cron 1.4 schedules by the minute, so this waits up to ~70 s.
source "$(dirname "$0")/../lib/tap.sh"
plan 3

q -c "CREATE EXTENSION IF NOT EXISTS pg_cron" >/dev/null
q -c "SELECT container_ensure_running('cron-idle')" >/dev/null
q -c "UPDATE user_container SET last_active_at = now() - interval '2 hours' WHERE user_id = 'cron-idle'"
# And one idle past its pause_after (0.4.0): the same scheduled sweep pauses it.
q -c "SELECT container_ensure_running('cron-pause'), container_set_pause_after('cron-pause', 5)" >/dev/null
q -c "UPDATE user_container SET last_active_at = now() - interval '10 minutes' WHERE user_id = 'cron-pause'"
job=$(q -c "SELECT cron.schedule('pg_container reap', '* * * * *', 'SELECT container_reap_idle()')")
stopped() { test "$(q -c "SELECT status FROM user_container WHERE user_id = 'cron-idle'")" = stopped; }
wait_for 75 stopped
is "$(q -c "SELECT status FROM user_container WHERE user_id = 'cron-idle'")" "stopped" "a reap scheduled with pg_cron stops an idle container"
is "$(pgc_docker inspect -f '{{.State.Status}}' mosaic-user-cron-idle)" "exited" "... in Docker too"
is "$(q -c "SELECT status FROM user_container WHERE user_id = 'cron-pause'") $(pgc_docker inspect -f '{{.State.Status}}' mosaic-user-cron-pause)" \
	"paused paused" "... and pauses one idle past its pause_after"
q -c "SELECT container_remove('cron-pause')" >/dev/null
q -c "SELECT cron.unschedule($job)" >/dev/null
tap_exit
