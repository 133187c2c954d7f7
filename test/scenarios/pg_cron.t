#!/usr/bin/env bash
# pg_cron as the scheduler instead of the worker, as the README shows:
#   SELECT cron.schedule('reap', '* * * * *', 'SELECT container_reap_idle()')
# Debian's pg_cron 1.4 schedules by the minute, so this waits up to ~70 s.
source "$(dirname "$0")/../lib/tap.sh"
plan 2

q -c "CREATE EXTENSION IF NOT EXISTS pg_cron" >/dev/null
q -c "SELECT container_ensure_running('cron-idle')" >/dev/null
q -c "UPDATE user_container SET last_active_at = now() - interval '2 hours' WHERE user_id = 'cron-idle'"
job=$(q -c "SELECT cron.schedule('pg_container reap', '* * * * *', 'SELECT container_reap_idle()')")
stopped() { test "$(q -c "SELECT status FROM user_container WHERE user_id = 'cron-idle'")" = stopped; }
wait_for 75 stopped
is "$(q -c "SELECT status FROM user_container WHERE user_id = 'cron-idle'")" "stopped" "a reap scheduled with pg_cron stops an idle container"
is "$(pgc_docker inspect -f '{{.State.Status}}' mosaic-user-cron-idle)" "exited" "... in Docker too"
q -c "SELECT cron.unschedule($job)" >/dev/null
tap_exit
