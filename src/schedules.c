/*-------------------------------------------------------------------------
 *
 * schedules.c
 *	  Keep-warm schedules: windows (container_schedule) in which the users
 *	  of a profile, or one user, are started ahead of time and never
 *	  paused, stopped, evicted or restarted, and container_schedule_windows,
 *	  which lists the windows of a time range.
 *
 * A warm window is a lease: the pass gives each of its users a
 * container_lease row that expires when the window closes (a 'kept_warm'
 * event), so every rule that respects leases respects windows, and when
 * the window closes the idle rules apply again, from the user's last real
 * activity.  Users not running are queued for the worker to boot, within
 * the start queue's limits, once per window: a user stopped by hand
 * during a window stays stopped.  Leases of windows that no longer hold
 * (the schedule was changed or deleted, the user changed profile) end at
 * the next pass.
 *
 * The pass runs at the head of the idle sweep, so the worker's,
 * container_reap_idle()'s and pg_cron's sweeps all keep windows; only the
 * worker boots what it queues, so without one serving the database the
 * pass takes the leases and queues nothing.  It asks nothing of the engine
 * and follows the sweep's transaction.  Each user is a subtransaction of
 * its own, so one failure is a WARNING, not the end of the sweep.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "container_store.h"
#include "event_journal.h"
#include "leases.h"
#include "schedules.h"
#include "start_queue.h"
#include "start_waiters.h"
#include "subtransaction.h"

/* container_schedule_windows looks at most this far. */
#define SCHEDULE_WINDOWS_MAX_DAYS 400
#define SCHEDULE_WINDOWS_COLUMNS 6

PG_FUNCTION_INFO_V1(container_schedule_windows);

/* One user to keep warm, and whether the pass could. */
typedef struct WarmStep
{
	const StoreWarmUser *warm;
	bool		boot;			/* queue a start if it is not running */
	bool		held;
} WarmStep;

/* Lease one user for its window and queue its start. */
static void
keep_warm(void *arg)
{
	WarmStep   *step = arg;
	const StoreWarmUser *w = step->warm;
	ContainerRef ref;
	bool		running;
	int64		lease;
	bool		queued = false;

	/*
	 * A sweep never waits for a user: a row another session holds (an
	 * ensure booting the user, say) is left for the next sweep, which finds
	 * it still without its window's lease.
	 */
	if (store_lock_one(w->user_id, GetCurrentTimestamp(), &ref, &running) != STORE_ROW_LOCKED)
		return;
	if (!store_hold_window(w, &lease))
		return;
	if (step->boot)
		queued = start_queue_request(w->user_id);
	record_event(w->user_id, "kept_warm",
				 event_detail("rule", "schedule", "schedule", w->schedule,
							  "lease", psprintf(INT64_FORMAT, lease),
							  "opens_at", timestamptz_to_str(w->opens_at),
							  "closes_at", timestamptz_to_str(w->closes_at),
							  "start", queued ? "queued" : NULL, NULL));
	step->held = true;
}

/* End the leases of windows that no longer hold. */
static void
end_closed_windows(void)
{
	List	   *ids = store_closed_window_leases();
	ListCell   *lc;

	foreach(lc, ids)
	{
		bool		live;

		(void) leases_end(*(int64 *) lfirst(lc), "schedule", &live);
	}
}

/*
 * Keep the users of every window warm now; returns how many were leased.
 * The store is open.
 */
int
schedules_sweep(void)
{
	List	   *users;
	ListCell   *lc;
	bool		boot = start_waiters_worker_serves();
	int			count = 0;

	end_closed_windows();
	users = store_warm_users_unheld();
	foreach(lc, users)
	{
		StoreWarmUser *w = lfirst(lc);
		WarmStep	step = {w, boot, false};
		ErrorData  *failure = pgc_in_subtransaction(keep_warm, &step);

		if (failure == NULL)
		{
			count += step.held ? 1 : 0;
			continue;
		}
		if (failure->sqlerrcode == ERRCODE_QUERY_CANCELED)
			ReThrowError(failure);
		ereport(WARNING,
				(errcode(failure->sqlerrcode),
				 errmsg("could not keep user \"%s\" warm for schedule \"%s\": %s",
						w->user_id, w->schedule, failure->message)));
	}
	return count;
}

static TimestampTz
time_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name)));
	return PG_GETARG_TIMESTAMPTZ(argno);
}

/*
 * container_schedule_windows(from_time timestamptz, until_time timestamptz)
 *		returns table(schedule text, profile text, user_id text,
 *					  warm_from timestamptz, opens_at timestamptz,
 *					  closes_at timestamptz)
 */
Datum
container_schedule_windows(PG_FUNCTION_ARGS)
{
	TimestampTz from = time_arg(fcinfo, 0, "from_time");
	TimestampTz until = time_arg(fcinfo, 1, "until_time");
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	uint64		n;

	if (until < from)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("until_time must not be before from_time")));
	if (until - from > (TimestampTz) SCHEDULE_WINDOWS_MAX_DAYS * USECS_PER_DAY)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("container_schedule_windows looks at most %d days ahead",
						SCHEDULE_WINDOWS_MAX_DAYS)));

	InitMaterializedSRF(fcinfo, 0);
	if (rsinfo->setDesc->natts != SCHEDULE_WINDOWS_COLUMNS)
		elog(ERROR, "incorrect number of output arguments");
	store_open();
	n = store_schedule_windows(from, until);
	for (uint64 i = 0; i < n; i++)
	{
		Datum		values[SCHEDULE_WINDOWS_COLUMNS];
		bool		nulls[SCHEDULE_WINDOWS_COLUMNS];

		for (int col = 0; col < SCHEDULE_WINDOWS_COLUMNS; col++)
			values[col] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, col + 1, &nulls[col]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	store_close();
	return (Datum) 0;
}
