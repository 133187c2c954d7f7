/*-------------------------------------------------------------------------
 *
 * backup_schedule.c
 *	  The worker's scheduled backups: with pg_container.backup_interval
 *	  set, every user with a container is backed up that often, one user a
 *	  loop turn, the longest without a backup first.
 *
 * Each backup is a transaction of its own, as container_backup in a
 * session of its own would be: a running gateway is paused for the copy
 * only.  A held user (a live lease, maybe a turn in progress) is passed
 * over until the lease ends.  A backup that fails is a 'backup' event with
 * "outcome": "failed" and the error, and that user is not tried again
 * within the interval; the others go on.  pg_cron can call
 * container_backup instead (docs/backups.md); both may run together, since
 * a recent backup of either kind makes a user not due.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "pgstat.h"

#include "backup.h"
#include "backup_schedule.h"
#include "container_store.h"
#include "event_journal.h"
#include "own_transaction.h"
#include "settings.h"
#include "subtransaction.h"

static void
back_up(void *arg)
{
	(void) backup_user((const char *) arg, "schedule");
}

/* Back up the next due user, if there is one; *found says whether. */
static void
back_up_one(void *arg)
{
	bool	   *found = arg;
	char	   *user_id = store_lock_backup_due(pgc_backup_interval_min);
	ErrorData  *failure;

	*found = user_id != NULL;
	if (user_id == NULL)
		return;
	pgstat_report_activity(STATE_RUNNING, "pg_container: a scheduled backup");
	failure = pgc_in_subtransaction(back_up, user_id);
	if (failure == NULL)
		return;
	if (failure->sqlerrcode == ERRCODE_QUERY_CANCELED)
		ReThrowError(failure);
	record_event(user_id, "backup",
				 event_detail("outcome", "failed", "by", "schedule",
							  "error", failure->message, NULL));
}

/*
 * One scheduled backup, if one is due; returns whether one was (the worker
 * then comes back soon for the next).  Off when backup_interval is 0, the
 * default.  A failed backup is recorded and swallowed.
 */
bool
backup_worker_pass(void)
{
	bool		found = false;

	if (pgc_backup_interval_min <= 0)
		return false;
	if (in_own_transaction(back_up_one, &found, OWN_TXN_WAIT_FOR_UPDATE, NULL, NULL) != OWN_TXN_DONE)
		found = false;
	pgstat_report_activity(STATE_IDLE, NULL);
	return found;
}
