#!/usr/bin/env bash
# The worker's scheduled backups (issue 24), against the real dockerd:
# with pg_container.backup_interval set, the worker backs up every user
# with a container, running (a pause, not a restart) or stopped, each with
# a 'backup' event saying the schedule took it; a held user waits until
# its lease ends; a user backed up within the interval is not backed up
# again; a restore is a 'restored' event.  Off (0, the default), nothing.
source "$(dirname "$0")/../lib/tap.sh"
plan 7

set_and_reload() { q -c "ALTER SYSTEM SET $1 = $2" >/dev/null; reload_conf; }
backups_of() { q -c "SELECT count(*) FROM container_backup WHERE user_id = '$1'"; }
MARK=$(q -c "SELECT coalesce(max(id), 0) FROM container_event")
users="bs-run bs-stop bs-held"

for u in $users; do q -c "SELECT container_ensure_running('$u')" >/dev/null; done
token=$(q -c "SELECT token FROM container_ensure_running('bs-run')")
pgc_docker exec mosaic-user-bs-run /bin/busybox sh -c 'echo nightly > /home/node/.openclaw/marker'
q -c "SELECT container_stop('bs-stop')" >/dev/null
lease=$(q -c "SELECT container_hold('bs-held', 'a long turn', '30 min')")
is "$(backups_of bs-run)$(backups_of bs-stop)" 00 "with backup_interval 0 (the default) the worker backs nobody up"

set_and_reload pg_container.backup_interval "'10min'"
wait_for 120 bash -c "[ \"\$(psql -X -At -d pgc_test -c \"SELECT count(DISTINCT user_id) FROM container_backup WHERE user_id IN ('bs-run', 'bs-stop')\")\" = 2 ]"
is "$(backups_of bs-run) $(backups_of bs-stop) $(backups_of bs-held)" "1 1 0" \
	"the worker backs up a running and a stopped user, and not a held one"
is "$(q -c "SELECT string_agg(user_id || ':' || (detail->>'outcome') || ':' || (detail->>'by'), ' ' ORDER BY user_id)
             FROM container_event WHERE event = 'backup' AND user_id IN ('bs-run', 'bs-stop') AND id > $MARK")" \
	"bs-run:taken:schedule bs-stop:taken:schedule" "... each with a 'backup' event saying the schedule took it"
is "$(pgc_docker inspect -f '{{.State.Status}}' mosaic-user-bs-run) $(q -c "SELECT token FROM container_ensure_running('bs-run')")" \
	"running $token" "the running user is still running, with the same token"

# The lease ends: a reload makes the worker look again at once.
q -c "SELECT container_release($lease)" >/dev/null
set_and_reload pg_container.backup_interval "'10min'"
wait_for 120 bash -c "[ \"\$(psql -X -At -d pgc_test -c \"SELECT count(*) FROM container_backup WHERE user_id = 'bs-held'\")\" = 1 ]"
is "$(backups_of bs-held) $(backups_of bs-run)" "1 1" \
	"once the lease ends the held user is backed up, and the others are not backed up again within the interval"
set_and_reload pg_container.backup_interval 0

# A restore of the running user's backup into the stopped one clones it.
backup=$(q -c "SELECT id FROM container_backup WHERE user_id = 'bs-run'")
q -c "SELECT container_restore('bs-stop', $backup)" >/dev/null
is "$(q -c "SELECT (detail->>'backup') || ' ' || (detail->>'from_user') FROM container_event WHERE event = 'restored' AND user_id = 'bs-stop' AND id > $MARK")" \
	"$backup bs-run" "a restore is a 'restored' event naming the backup and whose it was"
q -c "SELECT container_ensure_running('bs-stop')" >/dev/null
is "$(pgc_docker exec mosaic-user-bs-stop /bin/busybox cat /home/node/.openclaw/marker)" nightly "... and brings the scheduled backup's files"

q -c "SELECT count(lo_unlink(large_object)) FROM container_backup WHERE user_id LIKE 'bs-%'" \
	-c "DELETE FROM container_backup WHERE user_id LIKE 'bs-%'" >/dev/null
for u in $users; do q -c "SELECT container_remove('$u', keep_volume => false)" >/dev/null; done
q -c "SELECT container_process_removals()" >/dev/null
tap_exit
