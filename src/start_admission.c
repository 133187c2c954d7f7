/*-------------------------------------------------------------------------
 *
 * start_admission.c
 *	  Admission by the host's memory: the start queue boots a gateway only
 *	  if, with every running or paused container counted at its memory
 *	  limit, it fits pg_container.running_memory_budget.
 *
 * Room is made first by stopping idle users: the paused ones, longest
 * paused first, then the running ones not active for a minute, least
 * recently active first; never a user a lease holds (container_hold).
 * Stopping keeps the container and its volume (a
 * paused container still holds its memory, so pausing frees nothing).
 * If that does not free enough, nothing is stopped and the start waits,
 * queued, at the head of the queue, and the worker tries again each time
 * round its loop; starts behind it wait too, first come first served.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "utils/builtins.h"

#include "lifecycle.h"
#include "settings.h"
#include "start_queue.h"

/* An idle user and the memory its stop frees. */
typedef struct IdleUser
{
	char	   *user_id;
	int			memory_mb;
} IdleUser;

static int
column_int(int row, int col)
{
	char	   *value = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);

	return value ? atoi(value) : 0;
}

/* The idle users, locked, first to be stopped first. */
static List *
idle_users(void)
{
	Datum		values[1] = {Int32GetDatum(pgc_memory_limit_mb)};
	uint64		n = start_queue_run(Q_IDLE_BY_AGE, values, NULL);
	List	   *idle = NIL;

	for (uint64 i = 0; i < n; i++)
	{
		IdleUser   *u = palloc(sizeof(IdleUser));

		u->user_id = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		u->memory_mb = column_int(i, 2);
		idle = lappend(idle, u);
	}
	return idle;
}

/*
 * Whether user_id may be booted now, in the worker's transaction that
 * boots it: true with no budget, or when it fits, after stopping as many
 * idle users as that takes; false, having stopped nobody, if even
 * stopping every idle user would not make room.
 */
bool
start_admission_make_room(const char *user_id)
{
	Datum		values[2] = {Int32GetDatum(pgc_memory_limit_mb), CStringGetTextDatum(user_id)};
	int64		in_use;
	int64		needed;
	int64		freeable = 0;
	List	   *idle;
	List	   *to_stop = NIL;
	ListCell   *lc;

	if (pgc_running_memory_budget_mb <= 0)
		return true;
	(void) start_queue_run(Q_MEMORY_IN_USE, values, NULL);
	in_use = column_int(0, 1);
	needed = column_int(0, 2);
	if (in_use + needed <= pgc_running_memory_budget_mb)
		return true;

	idle = idle_users();
	foreach(lc, idle)
	{
		IdleUser   *u = lfirst(lc);

		if (in_use - freeable + needed <= pgc_running_memory_budget_mb)
			break;
		freeable += u->memory_mb;
		to_stop = lappend(to_stop, u);
	}
	if (in_use - freeable + needed > pgc_running_memory_budget_mb)
		return false;
	foreach(lc, to_stop)
	{
		IdleUser   *u = lfirst(lc);

		ereport(LOG,
				(errmsg("pg_container: stopping idle user \"%s\" to make room for user \"%s\" within pg_container.running_memory_budget",
						u->user_id, user_id)));
		lifecycle_stop(u->user_id);
	}
	return true;
}
