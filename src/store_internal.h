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

extern int	store_run(StoreStatement *stmt, Datum *values, const char *nulls, long max_rows);

/* Columns of the first row of the last result. */
extern char *store_column_text(int col);
extern List *store_column_text_list(int col, bool *is_set);
extern int	store_column_bool(int col);

#endif							/* PGC_STORE_INTERNAL_H */
