/*-------------------------------------------------------------------------
 *
 * store_schedules.c
 *	  The statements of keep-warm schedules (container_schedule): the
 *	  windows warm at a time, the users a warm window has no lease on yet,
 *	  the lease a window gives, and the leases of windows that no longer
 *	  hold (their schedule was changed or deleted, or the user left its
 *	  profile).
 *
 * A window's lease is a container_lease row like container_hold's, with
 * the schedule's name in its schedule column and the window's closing as
 * its expiry, so that every rule that respects a lease (store_leases.c)
 * respects a window without knowing about schedules.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "container_store.h"
#include "store_internal.h"

#define NOW "pg_catalog.statement_timestamp()"

/* The users of the windows warm now with no lease from that window. */
static StoreStatement stmt_warm_users_unheld = {
	.sql = "WITH w AS (" SCHEDULE_WINDOWS(NOW, NOW) ")"
		"SELECT c.user_id, w.name, w.opens_at, w.closes_at"
		"  FROM w JOIN @extschema@.user_container c"
		"    ON c.profile = w.profile OR c.user_id = w.user_id"
		" WHERE c.status <> 'removing'"
		"   AND NOT EXISTS (SELECT 1 FROM @extschema@.container_lease l"
		"                    WHERE l.user_id = c.user_id AND l.schedule = w.name"
		"                      AND l.expires_at >= w.closes_at)"
		" ORDER BY c.user_id, w.name",
	.nargs = 0
};

/*
 * Lease user $1 for schedule $2's window until $3, unless it has one
 * already (another sweep was first: the row lock orders them, and the
 * NOT EXISTS of the second is evaluated after it).  As store_hold: the
 * row first, then the lease.
 */
static StoreStatement stmt_hold_window = {
	.sql = "WITH u AS (UPDATE @extschema@.user_container c"
		"              SET held_until = GREATEST(c.held_until, $3)"
		"            WHERE c.user_id = $1 AND c.status <> 'removing'"
		"              AND NOT EXISTS (SELECT 1 FROM @extschema@.container_lease l"
		"                               WHERE l.user_id = c.user_id AND l.schedule = $2"
		"                                 AND l.expires_at >= $3)"
		"           RETURNING c.user_id)"
		"INSERT INTO @extschema@.container_lease (user_id, reason, expires_at, schedule)"
		"SELECT u.user_id, 'schedule ' || $2, $3, $2 FROM u"
		" RETURNING id",
	.nargs = 3, .argtypes = {TEXTOID, TEXTOID, TIMESTAMPTZOID}
};

/* Live window leases that no window warm now accounts for. */
static StoreStatement stmt_closed_window_leases = {
	.sql = "WITH w AS (" SCHEDULE_WINDOWS(NOW, NOW) ")"
		"SELECT l.id"
		"  FROM @extschema@.container_lease l"
		"  JOIN @extschema@.user_container c ON c.user_id = l.user_id"
		" WHERE l.schedule IS NOT NULL AND l.expires_at > " NOW
		"   AND NOT EXISTS (SELECT 1 FROM w"
		"                    WHERE w.name = l.schedule AND w.closes_at = l.expires_at"
		"                      AND (w.profile = c.profile OR w.user_id = c.user_id))"
		" ORDER BY l.id",
	.nargs = 0
};

static StoreStatement stmt_schedule_windows = {
	.sql = "SELECT * FROM (" SCHEDULE_WINDOWS("$1", "$2") ") w"
		" ORDER BY w.warm_from, w.name",
	.nargs = 2, .argtypes = {TIMESTAMPTZOID, TIMESTAMPTZOID}
};

static TimestampTz
column_timestamptz(HeapTuple tuple, TupleDesc desc, int col)
{
	bool		isnull;

	return DatumGetTimestampTz(SPI_getbinval(tuple, desc, col, &isnull));
}

/* The users to keep warm now that have no lease for it, as StoreWarmUser. */
List *
store_warm_users_unheld(void)
{
	List	   *users = NIL;

	store_run(&stmt_warm_users_unheld, NULL, NULL, 0);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		StoreWarmUser *w = palloc(sizeof(StoreWarmUser));

		w->user_id = SPI_getvalue(tuple, desc, 1);
		w->schedule = SPI_getvalue(tuple, desc, 2);
		w->opens_at = column_timestamptz(tuple, desc, 3);
		w->closes_at = column_timestamptz(tuple, desc, 4);
		users = lappend(users, w);
	}
	return users;
}

/* Take the window's lease; false if the user had one or is gone. */
bool
store_hold_window(const StoreWarmUser *w, int64 *lease)
{
	Datum		values[3] = {
		CStringGetTextDatum(w->user_id), CStringGetTextDatum(w->schedule),
		TimestampTzGetDatum(w->closes_at)
	};
	bool		isnull;

	store_run(&stmt_hold_window, values, NULL, 0);
	if (SPI_processed == 0)
		return false;
	*lease = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return true;
}

/* The ids (int64 in a List of palloc'd values) of leases to end. */
List *
store_closed_window_leases(void)
{
	List	   *ids = NIL;

	store_run(&stmt_closed_window_leases, NULL, NULL, 0);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int64	   *id = palloc(sizeof(int64));

		*id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		ids = lappend(ids, id);
	}
	return ids;
}

/* Run the windows query; the rows are in SPI_tuptable. */
uint64
store_schedule_windows(TimestampTz from, TimestampTz until)
{
	Datum		values[2] = {TimestampTzGetDatum(from), TimestampTzGetDatum(until)};

	store_run(&stmt_schedule_windows, values, NULL, 0);
	return SPI_processed;
}
