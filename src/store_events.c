/*-------------------------------------------------------------------------
 *
 * store_events.c
 *	  The event log (container_event): appending an event with its NOTIFY,
 *	  and pruning events past their retention.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "container_store.h"
#include "settings.h"
#include "store_internal.h"

/*
 * The event, its NOTIFY (sent at commit), in one round trip.  Any role
 * that can connect may LISTEN, so the payload is the event's id alone:
 * who may read what happened is decided by the grants on
 * container_event.
 */
static StoreStatement stmt_event = {
	.sql = "WITH e AS (INSERT INTO @extschema@.container_event (user_id, event, detail)"
		"           VALUES ($1, $2, $3) RETURNING id)"
		"SELECT pg_catalog.pg_notify('pg_container', e.id::pg_catalog.text)"
		"  FROM e",
	.nargs = 3, .argtypes = {TEXTOID, TEXTOID, JSONBOID}
};

static StoreStatement stmt_prune_events = {
	.sql = "DELETE FROM @extschema@.container_event"
		" WHERE at < pg_catalog.now() - pg_catalog.make_interval(mins => $1)",
	.nargs = 1, .argtypes = {INT4OID}
};

/* Append an event and queue its NOTIFY. */
void
store_event(const char *user_id, const char *event, const char *detail_json)
{
	Datum		values[3] = {
		user_id ? CStringGetTextDatum(user_id) : (Datum) 0,
		CStringGetTextDatum(event),
		DirectFunctionCall1(jsonb_in, CStringGetDatum(detail_json ? detail_json : "{}"))
	};
	char		nulls[3] = {user_id ? ' ' : 'n', ' ', ' '};

	store_run(&stmt_event, values, nulls, 0);
}

/* Delete events older than the retention; returns how many. */
uint64
store_prune_events(int retention_min)
{
	Datum		values[1] = {Int32GetDatum(retention_min)};

	if (retention_min <= 0)
		return 0;
	store_run(&stmt_prune_events, values, NULL, 0);
	return SPI_processed;
}
