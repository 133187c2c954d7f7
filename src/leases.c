/*-------------------------------------------------------------------------
 *
 * leases.c
 *	  Leases: container_hold and container_release, and the end of expired
 *	  leases.  While a user holds a live lease, no sweep pauses, stops or
 *	  evicts them (the statements that choose whom check held_until:
 *	  store_sweeps.c, start_queue.c), whatever their idle time.
 *
 * A lease ends by itself at its expiry: nothing has to run for that, the
 * sweeps compare held_until with the clock.  So an application that
 * crashed in the middle of a turn pins its user for at most
 * pg_container.max_lease.  The reap pass deletes expired leases and
 * records their end; each lease thus has one 'held' and one 'released'
 * event.  Both calls follow the caller's transaction and ask nothing of
 * the engine.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#if PG_VERSION_NUM >= 160000
#include "varatt.h"			/* VARDATA_ANY: no longer in postgres.h */
#endif

#include "container_store.h"
#include "event_journal.h"
#include "leases.h"
#include "removals.h"
#include "settings.h"
#include "user_id_arg.h"

/* A reason is said in the events and the log: a line, not a document. */
#define LEASE_REASON_MAX_CHARS 200

PG_FUNCTION_INFO_V1(container_hold);
PG_FUNCTION_INFO_V1(container_release);

static char *
reason_arg(FunctionCallInfo fcinfo, int argno)
{
	text	   *arg;
	int			chars;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("lease reason must not be null")));
	arg = PG_GETARG_TEXT_PP(argno);
	chars = pg_mbstrlen_with_len(VARDATA_ANY(arg), VARSIZE_ANY_EXHDR(arg));
	if (chars == 0 || chars > LEASE_REASON_MAX_CHARS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lease reason must be 1 to %d characters", LEASE_REASON_MAX_CHARS),
				 errdetail("The value given has %d.", chars)));
	return text_to_cstring(arg);
}

/* The ttl argument: positive and at most pg_container.max_lease. */
static Interval *
ttl_arg(FunctionCallInfo fcinfo, int argno)
{
	double		ms;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("lease ttl must not be null")));
	ms = interval_arg_ms(fcinfo, argno);
	if (ms <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lease ttl must be positive"),
				 errdetail("The value given is %s.",
						   DatumGetCString(DirectFunctionCall1(interval_out, PG_GETARG_DATUM(argno))))));
	if (ms > pgc_max_lease_s * 1000.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lease ttl must be at most pg_container.max_lease (%d s)", pgc_max_lease_s),
				 errdetail("The value given is %s.",
						   DatumGetCString(DirectFunctionCall1(interval_out, PG_GETARG_DATUM(argno)))),
				 errhint("Hold for a shorter time, and hold again before the lease ends to keep the user longer.")));
	return PG_GETARG_INTERVAL_P(argno);
}

static char *
lease_text(int64 lease)
{
	return psprintf(INT64_FORMAT, lease);
}

/*
 * container_hold(user_id text, reason text, ttl interval) returns bigint
 *
 * The new lease's id.  An unknown user is refused, unlike
 * container_touch, which ignores one: a caller handed a lease would
 * believe the user kept.
 */
Datum
container_hold(PG_FUNCTION_ARGS)
{
	char	   *user_id = user_id_arg(fcinfo, 0);
	char	   *reason = reason_arg(fcinfo, 1);
	Interval   *ttl = ttl_arg(fcinfo, 2);
	int64		lease;
	TimestampTz expires_at;

	store_open();
	if (!store_hold(user_id, reason, ttl, &lease, &expires_at))
	{
		removal_refuse_pending(user_id);
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("user \"%s\" has no container", user_id),
				 errhint("container_ensure_running() or container_start() makes it.")));
	}
	record_event(user_id, "held",
				 event_detail("lease", lease_text(lease), "reason", reason,
							  "until", timestamptz_to_str(expires_at), NULL));
	store_close();
	PG_RETURN_INT64(lease);
}

/*
 * container_release(lease bigint) returns boolean
 *
 * True if it ended a live lease.  A lease that expired, was released
 * already or never existed is no error: false.  An expired one not yet
 * pruned is deleted here, with the event the prune would have recorded.
 */
Datum
container_release(PG_FUNCTION_ARGS)
{
	bool		live;
	bool		found;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("lease must not be null")));

	store_open();
	found = leases_end(PG_GETARG_INT64(0), NULL, &live);
	store_close();
	PG_RETURN_BOOL(found && live);
}

/*
 * End a lease and record its 'released' event, saying what ended it
 * (NULL: its holder); store open.  False if it is unknown; else *live says
 * whether it had not expired yet.
 */
bool
leases_end(int64 lease, const char *ended_by, bool *live)
{
	StoreLease	ended;

	if (!store_release(lease, &ended))
		return false;
	record_event(ended.user_id, "released",
				 event_detail("lease", lease_text(ended.id), "reason", ended.reason,
							  "expired", ended.live ? NULL : "true",
							  "ended_by", ended_by, NULL));
	*live = ended.live;
	return true;
}

/*
 * Delete the leases past their expiry, recording the end of each; for the
 * reap pass (store open).  They held nobody since they expired, so this
 * changes no decision: it keeps the table small and the events complete.
 */
void
leases_prune_expired(void)
{
	List	   *pruned = store_prune_expired_leases();
	ListCell   *lc;

	foreach(lc, pruned)
	{
		StoreLease *l = lfirst(lc);

		record_event(l->user_id, "released",
					 event_detail("lease", lease_text(l->id), "reason", l->reason,
								  "expired", "true", NULL));
	}
}
