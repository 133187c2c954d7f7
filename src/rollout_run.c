/*-------------------------------------------------------------------------
 *
 * rollout_run.c
 *	  The worker's side of rollout jobs: one step of the unfinished job on
 *	  each turn of its loop, each step a transaction of its own, so that
 *	  container_rollout_progress shows every user as it is done and the
 *	  worker's other passes run between steps.
 *
 * A step is either the choice of the next batch or one user's restart.
 * The batch is chosen from the running users whose container is out of
 * date (container_outdated: made from another image or spec than new
 * containers now get, the job's image among them, store_rollout_image),
 * that the job has not dealt with yet: the job's canaries first, in
 * batches of their own, then the others by user id.  A user a
 * container_hold lease holds (a turn in progress, leases.c) is left for a
 * later batch, and a job with nothing else left waits in phase 'waiting
 * for held users' until the leases end.  A cancel asked for is
 * honoured here, between batches, so the batch in flight is finished.  A
 * user's restart is container_restart's: the replacement must get ready,
 * or the previous container comes back with its volume, token and port,
 * and that rollback is the restart's error, caught here in a
 * subtransaction and counted.  At max_failures rollbacks (the first, for 0
 * or 1) the job ends as 'failed' at once, mid-batch.  A cancel of the
 * worker stays a cancel: the step is rolled back and done again on the
 * next turn (the user's restart is safe to repeat).
 *
 * The restart's Docker calls are not undone by a rollback of the step's
 * transaction (a failure to record it, say): the user then runs the new
 * image, is no longer outdated, and the step done again records it as
 * 'skipped'.  Users that are stopped or paused are not restarted: a stopped
 * one gets the job's image at its next start, since new containers are
 * made from it and a stopped out-of-date container is made again then
 * (lifecycle.c, stopped_behind_rollout).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "utils/memutils.h"

#include "container_store.h"
#include "event_journal.h"
#include "lifecycle.h"
#include "own_transaction.h"
#include "rollout.h"
#include "subtransaction.h"
#include "views.h"

#define PHASE_INITIALIZING "initializing"
#define PHASE_CANARIES "restarting canaries"
#define PHASE_USERS "restarting users"
#define PHASE_HELD "waiting for held users"

static bool
contains(List *strings, const char *s)
{
	ListCell   *lc;

	foreach(lc, strings)
		if (strcmp(lfirst(lc), s) == 0)
			return true;
	return false;
}

static char *
job_text(const RolloutJob *job)
{
	return psprintf(INT64_FORMAT, job->job);
}

/* The job's start or end: a LOG line and a 'rollout' event with no user. */
static void
record_job_event(const RolloutJob *job, const char *what, int total)
{
	char	   *detail = event_detail("job", job_text(job), "phase", what, "image", job->image,
									  "total", psprintf("%d", total), "done", psprintf("%d", job->done),
									  "failed", psprintf("%d", job->failed), NULL);

	ereport(LOG,
			(errmsg("pg_container: rollout job " INT64_FORMAT " of image \"%s\": %s %s",
					job->job, job->image, what, detail)));
	store_event(NULL, "rollout", detail);
}

static void
finish_job(RolloutJob *job, const char *phase)
{
	store_rollout_finish(job->job, phase);
	record_job_event(job, phase, job->done);
}

/*
 * The users left for the job: running, outdated, not dealt with yet;
 * canaries and the others apart, each by user id, and how many of them a
 * container_hold lease holds back for now (leases.c: a rollout must not
 * restart a user in the middle of a turn).
 */
static void
users_left(const RolloutJob *job, List **canaries, List **others, int *held)
{
	List	   *outdated = view_outdated(CurrentMemoryContext);
	List	   *stepped = store_rollout_stepped(job->job);
	List	   *holding = store_rollout_held_users();
	ListCell   *lc;

	*canaries = *others = NIL;
	*held = 0;
	foreach(lc, store_all_rows())
	{
		StoreRowSummary *r = lfirst(lc);

		if (r->status == NULL || strcmp(r->status, "running") != 0 ||
			contains(stepped, r->user_id) || !contains(outdated, r->user_id))
			continue;
		if (contains(holding, r->user_id))
			(*held)++;
		else if (contains(job->canaries, r->user_id))
			*canaries = lappend(*canaries, r->user_id);
		else
			*others = lappend(*others, r->user_id);
	}
}

/*
 * Between batches: stop if asked, else choose the next batch, or wait for
 * the held users when they are all that is left, or end.
 */
static void
next_batch(RolloutJob *job)
{
	List	   *canaries;
	List	   *others;
	List	   *pool;
	List	   *batch;
	const char *phase;
	int			held;
	int			left;
	ListCell   *lc;

	if (job->cancel_requested)
	{
		finish_job(job, "cancelled");
		return;
	}
	users_left(job, &canaries, &others, &held);
	left = list_length(canaries) + list_length(others) + held;
	if (strcmp(job->phase, PHASE_INITIALIZING) == 0)
		record_job_event(job, "started", left);
	pool = canaries != NIL ? canaries : others;
	phase = canaries != NIL ? PHASE_CANARIES : PHASE_USERS;
	if (pool == NIL && held > 0)
	{
		store_rollout_begin_batch(job->job, PHASE_HELD, left, NIL);
		return;
	}
	if (pool == NIL)
	{
		finish_job(job, "completed");
		return;
	}
	batch = NIL;
	foreach(lc, pool)
	{
		if (list_length(batch) >= job->batch_size)
			break;
		batch = lappend(batch, lfirst(lc));
	}
	store_rollout_begin_batch(job->job, phase, left, batch);
}

/* Whether the user still runs an outdated container. */
static bool
still_due(const char *user_id)
{
	char	   *status;
	int			port;
	TimestampTz last_active;
	bool		last_active_null;
	TimestampTz held_until;
	char	   *profile;
	char	   *spec_hash;
	char	   *container_id;

	if (!store_status(user_id, &status, &port, &last_active, &last_active_null, &held_until) ||
		strcmp(status, "running") != 0 ||
		!store_recorded_spec(user_id, &profile, &spec_hash, &container_id))
		return false;
	return view_outdated_one(user_id, profile, spec_hash, container_id);
}

static void
restart_user(void *arg)
{
	char	   *url;
	char	   *token;

	lifecycle_restart((const char *) arg, &url, &token);
	explicit_bzero(token, strlen(token));
}

/* Restart the first user of the batch in flight, and record what came of it. */
static void
step_user(RolloutJob *job)
{
	char	   *user_id = linitial(job->current_users);
	ErrorData  *failure = NULL;
	const char *outcome = "skipped";
	int			failed;

	pgstat_report_activity(STATE_RUNNING, "pg_container: rolling out an image");

	/* Held since its batch was chosen: back to the pool, for a later batch. */
	if (contains(store_rollout_held_users(), user_id))
	{
		store_rollout_defer(job->job, user_id);
		return;
	}
	if (still_due(user_id))
	{
		failure = pgc_in_subtransaction(restart_user, user_id);
		if (failure != NULL && failure->sqlerrcode == ERRCODE_QUERY_CANCELED)
			ReThrowError(failure);
		outcome = failure ? "rolled back" : "updated";
	}
	failed = store_rollout_record_step(job->job, user_id, outcome, failure ? failure->message : NULL);
	record_event(user_id, "rollout",
				 event_detail("job", job_text(job), "image", job->image, "outcome", outcome,
							  "error", failure ? failure->message : NULL, NULL));
	job->done++;
	job->failed = failed;
	if (failure != NULL && failed >= Max(job->max_failures, 1))
		finish_job(job, "failed");
}

static void
rollout_step_txn(void *arg)
{
	bool	   *active = arg;
	RolloutJob	job;

	*active = store_rollout_unfinished(&job);
	if (!*active)
		return;
	if (job.current_users != NIL)
		step_user(&job);
	else
		next_batch(&job);
}

/*
 * One step of the unfinished rollout job, if there is one, in a
 * transaction of its own; returns whether a job was there (the worker then
 * comes back soon for the next step).  A failed step is reported and
 * swallowed: the next turn tries it again.
 */
bool
rollout_worker_pass(void)
{
	bool		active = false;

	/* Failed: back at the worker's usual pace, not at once again. */
	if (in_own_transaction(rollout_step_txn, &active, OWN_TXN_WAIT_FOR_UPDATE, NULL, NULL) != OWN_TXN_DONE)
		active = false;
	pgstat_report_activity(STATE_IDLE, NULL);
	return active;
}
