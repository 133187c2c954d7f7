/*-------------------------------------------------------------------------
 *
 * store_internal.h
 *	  What the store_*.c files share and nothing else includes: the
 *	  prepared statement, running it on the open store, and reading the
 *	  first row of its result.  Callers use container_store.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_STORE_INTERNAL_H
#define PGC_STORE_INTERNAL_H

#include "executor/spi.h"
#include "nodes/pg_list.h"

/*
 * One statement on the extension's tables.  The SQL names them through
 * "@extschema@", which stands for the extension's schema, whatever schema
 * CREATE EXTENSION chose.  Prepared on first use and kept (SPI_keepplan),
 * since container_touch and container_ensure_running sit on the
 * application's hot path; remade if the extension moves to another
 * schema.
 */
typedef struct StoreStatement
{
	const char *sql;
	int			nargs;
	Oid			argtypes[7];
	SPIPlanPtr	plan;			/* NULL until first run */
	Oid			plan_namespace; /* the schema plan was made for */
} StoreStatement;

/*
 * The schedules' windows that are warm at some time between FROM and UNTIL
 * (SQL expressions of type timestamptz), as the rows (name, profile,
 * user_id, warm_from, opens_at, closes_at).  A window may open on each
 * local day in the schedule's time zone from the day before FROM's (a
 * window that closes before it opens ends the next day) to the day after
 * UNTIL's (start_before, at most a day, may warm it before UNTIL); the
 * local times become timestamptz through the zone, so a window follows
 * its zone's daylight saving time.  For container_schedule_windows, the
 * schedules sweep (store_schedules.c) and the idle plan (store_sweeps.c).
 */
#define SCHEDULE_WINDOWS(from, until) \
	"SELECT s.name, s.profile, s.user_id, w.opens_at - s.start_before AS warm_from," \
	"       w.opens_at, w.closes_at" \
	"  FROM @extschema@.container_schedule s," \
	"       LATERAL pg_catalog.generate_series(" \
	"           (pg_catalog.timezone(s.time_zone, " from ")::date - 1)::timestamp," \
	"           (pg_catalog.timezone(s.time_zone, " until ")::date + 1)::timestamp," \
	"           interval '1 day') AS d(day)," \
	"       LATERAL (SELECT pg_catalog.timezone(s.time_zone, d.day::date + s.opens) AS opens_at," \
	"                       pg_catalog.timezone(s.time_zone, d.day::date + s.closes" \
	"                           + CASE WHEN s.closes < s.opens THEN interval '1 day'" \
	"                                  ELSE interval '0' END) AS closes_at) w" \
	" WHERE pg_catalog.date_part('isodow', d.day)::integer = ANY (s.days)" \
	"   AND w.closes_at > " from " AND w.opens_at - s.start_before <= " until

extern int	store_run(StoreStatement *stmt, Datum *values, const char *nulls, long max_rows);

/* Columns of the first row of the last result. */
extern char *store_column_text(int col);
extern List *store_column_text_list(int col, bool *is_set);
extern int	store_column_bool(int col);

#endif							/* PGC_STORE_INTERNAL_H */
