/*-------------------------------------------------------------------------
 *
 * max_age.c
 *	  Restarting gateways that have run for longer than
 *	  pg_container.max_age, at a moment they are idle and unheld, so that
 *	  memory a gateway leaks does not live for ever.
 *
 * The worker does it after each idle sweep, one user per turn of its loop,
 * each in a transaction of its own, as a rollout does its steps: a restart
 * takes as long as a gateway takes to get ready, and the worker's other
 * passes run between two.  A user is due when its container was started
 * more than max_age ago (user_container.started_at, stamped by each start
 * of a container), nothing was active for MAX_AGE_QUIET_MIN minutes, no
 * lease holds it (a turn in progress, leases.c), and its last try did not
 * fail within max_age.  The restart is container_restart's: the same
 * volume, token and port, and if the new container never gets ready the
 * previous one comes back; an 'aged_out' event records either outcome.
 * Only the worker does it: pg_cron's sweeps do not restart gateways.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "pgstat.h"

#include "container_store.h"
#include "event_journal.h"
#include "lifecycle.h"
#include "max_age.h"
#include "own_transaction.h"
#include "settings.h"
#include "subtransaction.h"

static void
restart_user(void *arg)
{
	char	   *url;
	char	   *token;

	lifecycle_restart((const char *) arg, &url, &token);
	explicit_bzero(token, strlen(token));
}

/* Restart the next due user, if there is one; *found says whether. */
static void
age_out_one(void *arg)
{
	bool	   *found = arg;
	char	   *user_id = store_lock_aged(pgc_max_age_min, MAX_AGE_QUIET_MIN);
	ErrorData  *failure;

	*found = user_id != NULL;
	if (user_id == NULL)
		return;
	pgstat_report_activity(STATE_RUNNING, "pg_container: restarting a gateway past max_age");
	failure = pgc_in_subtransaction(restart_user, user_id);
	if (failure != NULL && failure->sqlerrcode == ERRCODE_QUERY_CANCELED)
		ReThrowError(failure);
	record_event(user_id, "aged_out",
				 event_detail("rule", "max_age",
							  "outcome", failure ? "rolled back" : "restarted",
							  "error", failure ? failure->message : NULL, NULL));
}

/*
 * One restart of a gateway past max_age, if one is due; returns whether one
 * was (the worker then comes back soon for the next).  Off when max_age is
 * 0, the default.  A failed step is reported and swallowed.
 */
bool
max_age_worker_pass(void)
{
	bool		found = false;

	if (pgc_max_age_min <= 0)
		return false;
	if (in_own_transaction(age_out_one, &found, OWN_TXN_WAIT_FOR_UPDATE, NULL, NULL) != OWN_TXN_DONE)
		found = false;
	pgstat_report_activity(STATE_IDLE, NULL);
	return found;
}
