/*-------------------------------------------------------------------------
 *
 * store_leases.c
 *	  The container_lease rows, and user_container.held_until, which the
 *	  sweeps read instead of them: taking a lease, ending one, and deleting
 *	  those past their expiry.
 *
 * held_until is the latest expires_at of the user's leases (a past value
 * means not held).  It sits on the row so that every sweep's statement
 * sees a hold as a condition on the row it locks: a hold that commits
 * while a sweep waits for the row is seen by the recheck of FOR UPDATE,
 * where a subquery on container_lease would still read the sweep's older
 * snapshot.  Taking and ending a lease both write the row first, so they
 * queue on its lock and held_until is never computed from a stale set of
 * leases.
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

/*
 * Lock the row and raise held_until, then add the lease; nothing for an
 * unknown user or one being removed.  The lease runs from the caller's
 * statement_timestamp(), so held_until and expires_at are one value.
 */
static StoreStatement stmt_hold = {
	.sql = "WITH u AS (UPDATE @extschema@.user_container"
		"              SET held_until = GREATEST(held_until, pg_catalog.statement_timestamp() + $3)"
		"            WHERE user_id = $1 AND status <> 'removing'"
		"           RETURNING user_id)"
		"INSERT INTO @extschema@.container_lease (user_id, reason, expires_at)"
		"SELECT u.user_id, $2, pg_catalog.statement_timestamp() + $3 FROM u"
		" RETURNING id, expires_at",
	.nargs = 3, .argtypes = {TEXTOID, TEXTOID, INTERVALOID}
};

/* The row of the lease's user, locked; nothing if the lease is unknown. */
static StoreStatement stmt_lock_lease_user = {
	.sql = "SELECT c.user_id"
		"  FROM @extschema@.user_container c"
		"  JOIN @extschema@.container_lease l ON l.user_id = c.user_id"
		" WHERE l.id = $1"
		"   FOR NO KEY UPDATE OF c",
	.nargs = 1, .argtypes = {INT8OID}
};

/*
 * With the user's row locked (a new statement, so every hold that
 * committed before the lock is seen): delete the lease and bring
 * held_until down to the latest of the others.  The subquery does not
 * see the delete of its own statement, hence the id <> $1.
 */
static StoreStatement stmt_release = {
	.sql = "WITH l AS (DELETE FROM @extschema@.container_lease WHERE id = $1"
		"           RETURNING user_id, reason, expires_at)"
		"UPDATE @extschema@.user_container c"
		"   SET held_until = (SELECT pg_catalog.max(o.expires_at) FROM @extschema@.container_lease o"
		"                      WHERE o.user_id = c.user_id AND o.id <> $1)"
		"  FROM l"
		" WHERE c.user_id = l.user_id"
		" RETURNING l.user_id, l.reason, l.expires_at > pg_catalog.statement_timestamp()",
	.nargs = 1, .argtypes = {INT8OID}
};

/*
 * Expired leases go without touching the rows: held_until is the latest
 * expiry, so it stays at or after every lease that is still live.
 */
static StoreStatement stmt_prune_leases = {
	.sql = "DELETE FROM @extschema@.container_lease"
		" WHERE expires_at <= pg_catalog.statement_timestamp()"
		" RETURNING id, user_id, reason",
	.nargs = 0
};

/*
 * Take a lease on the user; false (nothing written) if there is no row or
 * its removal is pending.
 */
bool
store_hold(const char *user_id, const char *reason, Interval *ttl, int64 *lease,
		   TimestampTz *expires_at)
{
	Datum		values[3] = {
		CStringGetTextDatum(user_id), CStringGetTextDatum(reason), IntervalPGetDatum(ttl)
	};
	bool		isnull;

	store_run(&stmt_hold, values, NULL, 0);
	if (SPI_processed == 0)
		return false;
	*lease = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	*expires_at = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
													SPI_tuptable->tupdesc, 2, &isnull));
	return true;
}

/*
 * End a lease.  False if it is unknown (never taken, released, pruned);
 * else the lease is gone and *ended says whose it was and whether it was
 * still live.
 */
bool
store_release(int64 lease, StoreLease *ended)
{
	Datum		values[1] = {Int64GetDatum(lease)};

	store_run(&stmt_lock_lease_user, values, NULL, 1);
	if (SPI_processed == 0)
		return false;
	store_run(&stmt_release, values, NULL, 0);
	if (SPI_processed == 0)
		return false;			/* released by another session meanwhile */
	ended->id = lease;
	ended->user_id = store_column_text(1);
	ended->reason = store_column_text(2);
	ended->live = store_column_bool(3) == 1;
	return true;
}

/* Delete the expired leases; returns them, as StoreLease. */
List *
store_prune_expired_leases(void)
{
	List	   *pruned = NIL;

	store_run(&stmt_prune_leases, NULL, NULL, 0);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		StoreLease *l = palloc(sizeof(StoreLease));
		bool		isnull;

		l->id = DatumGetInt64(SPI_getbinval(tuple, desc, 1, &isnull));
		l->user_id = SPI_getvalue(tuple, desc, 2);
		l->reason = SPI_getvalue(tuple, desc, 3);
		l->live = false;
		pruned = lappend(pruned, l);
	}
	return pruned;
}
