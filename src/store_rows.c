/*-------------------------------------------------------------------------
 *
 * store_rows.c
 *	  The user_container rows one user's calls read and write: locking,
 *	  inserting, recording what the engine did, touching, tokens, the
 *	  pending removal, and the fleet-wide reads (all rows, the overview).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "container_store.h"
#include "settings.h"
#include "store_internal.h"

#define ROW_COLUMNS "id::text, user_id, container_id, container_name, gateway_port, gateway_token, status, profile, spec_hash"

static StoreStatement stmt_record_stopped = {
	.sql = "UPDATE @extschema@.user_container"
		"   SET container_id = $2, updated_at = pg_catalog.clock_timestamp(),"
		"       status = CASE status WHEN 'removing' THEN status ELSE 'stopped' END"
		" WHERE user_id = $1",
	.nargs = 2, .argtypes = {TEXTOID, TEXTOID}
};

/*
 * The source ($2) describes the last activity, so a touch without one
 * clears it rather than leaving an older activity's.
 */
static StoreStatement stmt_touch = {
	.sql = "UPDATE @extschema@.user_container"
		"   SET last_active_at = pg_catalog.now(), updated_at = pg_catalog.now(),"
		"       last_activity_source = $2"
		" WHERE user_id = $1 AND status OPERATOR(pg_catalog.<>) 'removing'",
	.nargs = 2, .argtypes = {TEXTOID, TEXTOID}
};

static StoreStatement stmt_status = {
	.sql = "SELECT status, gateway_port, last_active_at,"
		"       CASE WHEN held_until > pg_catalog.now() THEN held_until END"
		"  FROM @extschema@.user_container"
		" WHERE user_id = $1",
	.nargs = 1, .argtypes = {TEXTOID}
};

static StoreStatement stmt_lock_all_tokens = {
	.sql = "SELECT user_id, gateway_token"
		"  FROM @extschema@.user_container"
		" ORDER BY user_id"
		"   FOR UPDATE",
	.nargs = 0
};

static StoreStatement stmt_set_idle_timeout = {
	.sql = "UPDATE @extschema@.user_container"
		"   SET idle_timeout_min = $2, updated_at = pg_catalog.now()"
		" WHERE user_id = $1",
	.nargs = 2, .argtypes = {TEXTOID, INT4OID}
};

static StoreStatement stmt_lock_and_touch = {
	.sql = "UPDATE @extschema@.user_container"
		"   SET last_active_at = pg_catalog.now(), updated_at = pg_catalog.now(),"
		"       last_activity_source = NULL"
		" WHERE user_id = $1"
		" RETURNING " ROW_COLUMNS,
	.nargs = 1, .argtypes = {TEXTOID}
};

static StoreStatement stmt_lock = {
	.sql = "SELECT " ROW_COLUMNS
		"  FROM @extschema@.user_container"
		" WHERE user_id = $1"
		"   FOR UPDATE",
	.nargs = 1, .argtypes = {TEXTOID}
};

static StoreStatement stmt_record_running = {
	.sql = "UPDATE @extschema@.user_container"
		"   SET container_id = $2, gateway_port = $3, status = 'running', spec_hash = $4,"
		"       started_at = CASE WHEN $5 OR started_at IS NULL THEN pg_catalog.clock_timestamp()"
		"                         ELSE started_at END,"
		"       updated_at = pg_catalog.clock_timestamp()"
		" WHERE user_id = $1",
	.nargs = 5, .argtypes = {TEXTOID, TEXTOID, INT4OID, TEXTOID, BOOLOID}
};

static StoreStatement stmt_delete_row = {
	.sql = "DELETE FROM @extschema@.user_container WHERE user_id = $1",
	.nargs = 1, .argtypes = {TEXTOID}
};

static StoreStatement stmt_all_rows = {
	.sql = "SELECT user_id, container_id, container_name, profile, spec_hash, status"
		"  FROM @extschema@.user_container"
		" ORDER BY user_id",
	.nargs = 0
};

/* Last error: the newest error event, else the last health check's. */
static StoreStatement stmt_overview = {
	.sql = "SELECT c.user_id, c.status, c.gateway_port,"
		"       CASE WHEN c.status IN ('running', 'paused') AND c.last_active_at IS NOT NULL"
		/* In bigint, clamped: a last activity far in the past must not overflow. */
		"            THEN GREATEST(0, LEAST(c.idle_timeout_min::bigint, c.idle_timeout_min - pg_catalog.floor("
		"                 pg_catalog.date_part('epoch', pg_catalog.now() - c.last_active_at) / 60)::bigint))::integer"
		"       END,"
		"       c.healthy, c.profile, c.spec_hash, c.container_id,"
		"       coalesce(e.detail ->> 'message', c.health_error),"
		"       CASE WHEN e.at IS NOT NULL THEN e.at WHEN c.health_error IS NOT NULL THEN c.health_checked_at END"
		"  FROM @extschema@.user_container c"
		"  LEFT JOIN LATERAL (SELECT ev.detail, ev.at FROM @extschema@.container_event ev"
		"                      WHERE ev.user_id = c.user_id AND ev.event = 'error'"
		"                      ORDER BY ev.at DESC LIMIT 1) e ON true"
		" ORDER BY c.user_id",
	.nargs = 0
};

static StoreStatement stmt_insert = {
	.sql = "INSERT INTO @extschema@.user_container"
		"       (user_id, container_name, gateway_token, status, idle_timeout_min, pause_after_min)"
		"VALUES ($1, $2, $3, 'stopped', $4, $5)"
		"    ON CONFLICT DO NOTHING",
	.nargs = 5, .argtypes = {TEXTOID, TEXTOID, TEXTOID, INT4OID, INT4OID}
};

/* Paused is neither healthy nor unhealthy: the health columns are cleared. */
static StoreStatement stmt_record_paused = {
	.sql = "UPDATE @extschema@.user_container"
		"   SET container_id = coalesce($2, container_id), status = 'paused',"
		"       paused_at = pg_catalog.clock_timestamp(),"
		"       healthy = NULL, health_error = NULL, health_checked_at = NULL,"
		"       updated_at = pg_catalog.clock_timestamp()"
		" WHERE user_id = $1",
	.nargs = 2, .argtypes = {TEXTOID, TEXTOID}
};

static StoreStatement stmt_record_unpaused = {
	.sql = "UPDATE @extschema@.user_container"
		"   SET status = 'running', updated_at = pg_catalog.clock_timestamp()"
		" WHERE user_id = $1 AND status = 'paused'",
	.nargs = 1, .argtypes = {TEXTOID}
};

static StoreStatement stmt_set_pause_after = {
	.sql = "UPDATE @extschema@.user_container"
		"   SET pause_after_min = $2, updated_at = pg_catalog.now()"
		" WHERE user_id = $1",
	.nargs = 2, .argtypes = {TEXTOID, INT4OID}
};

/*
 * The hot path of an ensure while the mirror is in sync: lock and touch
 * the row only if it says the container is up and not unhealthy.  No
 * row: the caller takes the inspecting path.
 */
static StoreStatement stmt_hot_touch = {
	.sql = "UPDATE @extschema@.user_container"
		"   SET last_active_at = pg_catalog.now(), updated_at = pg_catalog.now(),"
		"       last_activity_source = NULL"
		" WHERE user_id = $1 AND status = 'running' AND healthy IS DISTINCT FROM false"
		"   AND container_id IS NOT NULL AND gateway_port IS NOT NULL"
		" RETURNING container_name, gateway_port, gateway_token",
	.nargs = 1, .argtypes = {TEXTOID}
};

static StoreStatement stmt_container_id = {
	.sql = "SELECT container_id FROM @extschema@.user_container WHERE user_id = $1",
	.nargs = 1, .argtypes = {TEXTOID}
};

/* The recorded container runs again: the row says so, port unchanged. */
static StoreStatement stmt_mark_running = {
	.sql = "UPDATE @extschema@.user_container"
		"   SET status = 'running', started_at = pg_catalog.clock_timestamp(),"
		"       updated_at = pg_catalog.clock_timestamp()"
		" WHERE user_id = $1 AND container_id = $2 AND gateway_port IS NOT NULL"
		"   AND status <> 'removing'",
	.nargs = 2, .argtypes = {TEXTOID, TEXTOID}
};

/* 0.6.0: container_remove marks; removals.c carries it out after commit */
static StoreStatement stmt_mark_removing = {
	.sql = "UPDATE @extschema@.user_container"
		"   SET status = 'removing', remove_volume = $2, updated_at = pg_catalog.clock_timestamp()"
		" WHERE user_id = $1",
	.nargs = 2, .argtypes = {TEXTOID, BOOLOID}
};

/* xmin: a removal marked by this very transaction is not committed */
static StoreStatement stmt_lock_removing = {
	.sql = "SELECT remove_volume, xmin FROM @extschema@.user_container"
		" WHERE user_id = $1 AND status = 'removing'"
		"   FOR UPDATE",
	.nargs = 1, .argtypes = {TEXTOID}
};

static StoreStatement stmt_pending_removals = {
	.sql = "SELECT user_id FROM @extschema@.user_container"
		" WHERE status = 'removing'"
		" ORDER BY user_id",
	.nargs = 0
};

static StoreStatement stmt_running_changed_since = {
	.sql = "SELECT user_id FROM @extschema@.user_container"
		" WHERE status = 'running' AND updated_at >= $1",
	.nargs = 1, .argtypes = {TIMESTAMPTZOID}
};

static StoreStatement stmt_set_token = {
	.sql = "UPDATE @extschema@.user_container"
		"   SET gateway_token = $2, updated_at = pg_catalog.now()"
		" WHERE user_id = $1",
	.nargs = 2, .argtypes = {TEXTOID, TEXTOID}
};

/* 0.4.0: the node a swarm user's service is pinned to */
static StoreStatement stmt_record_node = {
	.sql = "UPDATE @extschema@.user_container SET node = $2"
		" WHERE user_id = $1 AND node IS DISTINCT FROM $2",
	.nargs = 2, .argtypes = {TEXTOID, TEXTOID}
};

static StoreStatement stmt_recorded_node = {
	.sql = "SELECT node FROM @extschema@.user_container WHERE user_id = $1",
	.nargs = 1, .argtypes = {TEXTOID}
};

/*
 * Another user whose id or container name is this one's but for ASCII
 * case (Docker's DNS does not tell them apart).  COLLATE "C" folds
 * ASCII only, as the unique indexes of 0.6.0 do.
 */
static StoreStatement stmt_name_holder = {
	.sql = "SELECT user_id FROM @extschema@.user_container"
		" WHERE user_id OPERATOR(pg_catalog.<>) $1"
		"   AND (pg_catalog.lower(user_id COLLATE \"C\") OPERATOR(pg_catalog.=) pg_catalog.lower($1 COLLATE \"C\")"
		"        OR pg_catalog.lower(container_name COLLATE \"C\") OPERATOR(pg_catalog.=) pg_catalog.lower($2 COLLATE \"C\"))"
		" ORDER BY user_id COLLATE \"C\""
		" LIMIT 1",
	.nargs = 2, .argtypes = {TEXTOID, TEXTOID}
};

static bool
fetch_row(UserContainerRow *row)
{
	char	   *port;
	char	   *status;

	if (SPI_processed == 0)
		return false;
	row->id = store_column_text(1);
	row->user_id = store_column_text(2);
	row->container_id = store_column_text(3);
	row->container_name = store_column_text(4);
	port = store_column_text(5);
	row->gateway_port = port ? atoi(port) : 0;
	row->gateway_token = store_column_text(6);
	status = store_column_text(7);
	row->running = status != NULL && strcmp(status, "running") == 0;
	row->paused = status != NULL && strcmp(status, "paused") == 0;
	row->profile = store_column_text(8);
	row->spec_hash = store_column_text(9);
	return true;
}

/*
 * Lock the user's row and record activity in one statement: on the hot
 * path of container_ensure_running this is the only write.
 */
bool
store_lock_and_touch(const char *user_id, UserContainerRow *row)
{
	Datum		values[1] = {CStringGetTextDatum(user_id)};

	store_run(&stmt_lock_and_touch, values, NULL, 0);
	return fetch_row(row);
}

bool
store_lock(const char *user_id, UserContainerRow *row)
{
	Datum		values[1] = {CStringGetTextDatum(user_id)};

	store_run(&stmt_lock, values, NULL, 0);
	return fetch_row(row);
}

/*
 * Insert the user's row unless one exists.  A concurrent insert of the same
 * row wins quietly, whichever of its unique keys (user id, container name,
 * and from 0.6.0 both folded to lower case) meets it first: arbitrating on
 * the user id alone let another key raise a unique violation.  Returns the
 * other user whose id, or whose container name, is this one's but for
 * ASCII case (or exactly the name: a changed name_prefix can make two
 * users' names meet), else NULL.
 */
char *
store_insert(const char *user_id, const char *container_name, const char *encrypted_token)
{
	Datum		values[5] = {
		CStringGetTextDatum(user_id),
		CStringGetTextDatum(container_name),
		CStringGetTextDatum(encrypted_token),
		Int32GetDatum(pgc_default_idle_timeout_min),
		Int32GetDatum(pgc_default_pause_after_min)
	};
	char	   *holder;

	store_run(&stmt_insert, values, NULL, 0);
	if (SPI_processed > 0)
		return NULL;
	store_run(&stmt_name_holder, values, NULL, 1);
	holder = SPI_processed > 0 ? store_column_text(1) : NULL;
	return holder;
}

/* Record a running container; spec_hash may be NULL (unknown). */
void
store_record_running(const char *user_id, const char *container_id, int port,
					 const char *spec_hash, bool started)
{
	Datum		values[5] = {
		CStringGetTextDatum(user_id),
		CStringGetTextDatum(container_id),
		Int32GetDatum(port),
		spec_hash ? CStringGetTextDatum(spec_hash) : (Datum) 0,
		BoolGetDatum(started)
	};
	char		nulls[5] = {' ', ' ', ' ', spec_hash ? ' ' : 'n', ' '};

	store_run(&stmt_record_running, values, nulls, 0);
}

void
store_record_stopped(const char *user_id, const char *container_id)
{
	Datum		values[2] = {
		CStringGetTextDatum(user_id),
		container_id ? CStringGetTextDatum(container_id) : (Datum) 0
	};
	char		nulls[2] = {' ', container_id ? ' ' : 'n'};

	store_run(&stmt_record_stopped, values, nulls, 0);
}

/* Record that the user's container is paused (container_id NULL: keep the recorded one). */
void
store_record_paused(const char *user_id, const char *container_id)
{
	Datum		values[2] = {
		CStringGetTextDatum(user_id),
		container_id ? CStringGetTextDatum(container_id) : (Datum) 0
	};
	char		nulls[2] = {' ', container_id ? ' ' : 'n'};

	store_run(&stmt_record_paused, values, nulls, 0);
}

/* Record that a paused row's container runs again (unpaused by hand). */
void
store_record_unpaused(const char *user_id)
{
	Datum		values[1] = {CStringGetTextDatum(user_id)};

	store_run(&stmt_record_unpaused, values, NULL, 0);
}

/* The row's recorded container runs again; false if the row records another. */
bool
store_mark_running(const char *user_id, const char *container_id)
{
	Datum		values[2] = {CStringGetTextDatum(user_id), CStringGetTextDatum(container_id)};

	store_run(&stmt_mark_running, values, NULL, 0);
	return SPI_processed > 0;
}

/* Record the swarm node the user's service was placed on, where their volume now is. */
void
store_record_node(const char *user_id, const char *node)
{
	Datum		values[2] = {CStringGetTextDatum(user_id), CStringGetTextDatum(node)};

	store_run(&stmt_record_node, values, NULL, 0);
}

/* The node store_record_node recorded for the user; NULL if none. */
char *
store_recorded_node(const char *user_id)
{
	Datum		values[1] = {CStringGetTextDatum(user_id)};

	store_run(&stmt_recorded_node, values, NULL, 1);
	return SPI_processed > 0 ? store_column_text(1) : NULL;
}

/*
 * Touch the user's row, recording the kind of activity (source, NULL:
 * none said); false if there is no row, or one pending removal.
 */
bool
store_touch(const char *user_id, const char *source)
{
	Datum		values[2] = {CStringGetTextDatum(user_id),
	source ? CStringGetTextDatum(source) : (Datum) 0};
	char		nulls[2] = {' ', source ? ' ' : 'n'};

	store_run(&stmt_touch, values, nulls, 0);
	return SPI_processed > 0;
}

/*
 * The mirror's hot path: touch the row if it says running and not
 * unhealthy, returning what the URL and token are made from.  False: the
 * row is missing or not known to be up, and nothing was written.
 */
bool
store_hot_touch(const char *user_id, char **container_name, int *port,
				char **encrypted_token)
{
	Datum		values[1] = {CStringGetTextDatum(user_id)};

	store_run(&stmt_hot_touch, values, NULL, 1);
	if (SPI_processed == 0)
		return false;
	*container_name = store_column_text(1);
	*port = atoi(store_column_text(2));
	*encrypted_token = store_column_text(3);
	return true;
}

/* Returns false if the user has no row. */
bool
store_set_idle_timeout(const char *user_id, int minutes)
{
	Datum		values[2] = {CStringGetTextDatum(user_id), Int32GetDatum(minutes)};

	store_run(&stmt_set_idle_timeout, values, NULL, 0);
	return SPI_processed > 0;
}

/* Set pause_after_min (is_null: NULL); returns false if the user has no row. */
bool
store_set_pause_after(const char *user_id, int minutes, bool is_null)
{
	Datum		values[2] = {CStringGetTextDatum(user_id), Int32GetDatum(minutes)};
	char		nulls[2] = {' ', is_null ? 'n' : ' '};

	store_run(&stmt_set_pause_after, values, nulls, 0);
	return SPI_processed > 0;
}

/*
 * Lock every row, in user id order so concurrent callers cannot deadlock,
 * and return their user ids and stored tokens.
 */
void
store_lock_all_tokens(List **user_ids, List **tokens)
{
	store_run(&stmt_lock_all_tokens, NULL, NULL, 0);
	*user_ids = NIL;
	*tokens = NIL;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];

		*user_ids = lappend(*user_ids, SPI_getvalue(tuple, SPI_tuptable->tupdesc, 1));
		*tokens = lappend(*tokens, SPI_getvalue(tuple, SPI_tuptable->tupdesc, 2));
	}
}

void
store_set_token(const char *user_id, const char *encrypted_token)
{
	Datum		values[2] = {
		CStringGetTextDatum(user_id),
		CStringGetTextDatum(encrypted_token)
	};

	store_run(&stmt_set_token, values, NULL, 0);
}

bool
store_status(const char *user_id, char **status, int *port,
			 TimestampTz *last_active, bool *last_active_null, TimestampTz *held_until)
{
	Datum		values[1] = {CStringGetTextDatum(user_id)};
	HeapTuple	tuple;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;

	store_run(&stmt_status, values, NULL, 1);
	if (SPI_processed == 0)
		return false;
	tuple = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	*status = SPI_getvalue(tuple, desc, 1);
	d = SPI_getbinval(tuple, desc, 2, &isnull);
	*port = isnull ? 0 : DatumGetInt32(d);
	d = SPI_getbinval(tuple, desc, 3, &isnull);
	*last_active_null = isnull;
	*last_active = isnull ? 0 : DatumGetTimestampTz(d);
	d = SPI_getbinval(tuple, desc, 4, &isnull);
	*held_until = isnull ? 0 : DatumGetTimestampTz(d);
	return true;
}

/* The container the user's row records, read without a lock; NULL if none. */
char *
store_container_id(const char *user_id)
{
	Datum		values[1] = {CStringGetTextDatum(user_id)};

	store_run(&stmt_container_id, values, NULL, 1);
	return SPI_processed > 0 ? store_column_text(1) : NULL;
}

/* User ids of running rows written at or after "since". */
List *
store_running_changed_since(TimestampTz since)
{
	Datum		values[1] = {TimestampTzGetDatum(since)};
	List	   *user_ids = NIL;

	store_run(&stmt_running_changed_since, values, NULL, 0);
	for (uint64 i = 0; i < SPI_processed; i++)
		user_ids = lappend(user_ids, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
	return user_ids;
}

/* Every row, as StoreRowSummary, ordered by user id. */
List *
store_all_rows(void)
{
	List	   *rows = NIL;

	store_run(&stmt_all_rows, NULL, NULL, 0);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		StoreRowSummary *r = palloc(sizeof(StoreRowSummary));

		r->user_id = SPI_getvalue(tuple, desc, 1);
		r->container_id = SPI_getvalue(tuple, desc, 2);
		r->container_name = SPI_getvalue(tuple, desc, 3);
		r->profile = SPI_getvalue(tuple, desc, 4);
		r->spec_hash = SPI_getvalue(tuple, desc, 5);
		r->status = SPI_getvalue(tuple, desc, 6);
		rows = lappend(rows, r);
	}
	return rows;
}

/* The container_overview rows, in result_context; outdated is left false. */
List *
store_overview_rows(MemoryContext result_context)
{
	List	   *rows = NIL;

	store_run(&stmt_overview, NULL, NULL, 0);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		MemoryContext old_context = MemoryContextSwitchTo(result_context);
		OverviewRow *o = palloc0(sizeof(OverviewRow));
		bool		isnull;
		Datum		d;

		o->user_id = SPI_getvalue(tuple, desc, 1);
		o->status = SPI_getvalue(tuple, desc, 2);
		d = SPI_getbinval(tuple, desc, 3, &isnull);
		o->port = isnull ? 0 : DatumGetInt32(d);
		d = SPI_getbinval(tuple, desc, 4, &isnull);
		o->idle_minutes_left = isnull ? -1 : DatumGetInt32(d);
		d = SPI_getbinval(tuple, desc, 5, &isnull);
		o->healthy = isnull ? -1 : (DatumGetBool(d) ? 1 : 0);
		o->profile = SPI_getvalue(tuple, desc, 6);
		o->spec_hash = SPI_getvalue(tuple, desc, 7);
		o->container_id = SPI_getvalue(tuple, desc, 8);
		o->last_error = SPI_getvalue(tuple, desc, 9);
		d = SPI_getbinval(tuple, desc, 10, &isnull);
		o->last_error_at = isnull ? 0 : DatumGetTimestampTz(d);
		rows = lappend(rows, o);
		MemoryContextSwitchTo(old_context);
	}
	return rows;
}

void
store_delete_row(const char *user_id)
{
	Datum		values[1] = {CStringGetTextDatum(user_id)};

	store_run(&stmt_delete_row, values, NULL, 0);
}

/* Mark the user's row as removed once this transaction commits. */
void
store_mark_removing(const char *user_id, bool remove_volume)
{
	Datum		values[2] = {CStringGetTextDatum(user_id), BoolGetDatum(remove_volume)};

	store_run(&stmt_mark_removing, values, NULL, 0);
}

/*
 * Lock the user's row if it is pending removal, waiting for the marking
 * transaction.  marked_here: the mark is this transaction's own (or one
 * of its subtransactions'), so not yet committed.
 */
bool
store_lock_committed_removal(const char *user_id, bool *remove_volume, bool *marked_here)
{
	Datum		values[1] = {CStringGetTextDatum(user_id)};
	bool		isnull;
	Datum		xmin;

	store_run(&stmt_lock_removing, values, NULL, 0);
	if (SPI_processed == 0)
		return false;
	*remove_volume = store_column_bool(1);
	xmin = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	*marked_here = TransactionIdIsCurrentTransactionId(DatumGetTransactionId(xmin));
	return true;
}

/* The users pending removal, ordered by user id. */
List *
store_pending_removals(void)
{
	List	   *user_ids = NIL;

	store_run(&stmt_pending_removals, NULL, NULL, 0);
	for (uint64 i = 0; i < SPI_processed; i++)
		user_ids = lappend(user_ids, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
	return user_ids;
}
