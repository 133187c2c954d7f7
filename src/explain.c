/*-------------------------------------------------------------------------
 *
 * explain.c
 *	  container_explain(user_id): the idle rules that apply to a user now
 *	  (idle timeout, pause delay, the two memory budgets, leases), what
 *	  each will do and when, why not earlier, and the last activity with
 *	  its source.
 *
 * The rows come from the idle sweep's own plan (store_sweeps.c,
 * IDLE_PLAN), not from a second reading of the rules, so next_sweep is
 * what the next sweep chooses for this user.  Nothing is locked and
 * nothing asked of the engine.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"

#include "container_store.h"
#include "user_id_arg.h"

#define EXPLAIN_COLUMNS 5

PG_FUNCTION_INFO_V1(container_explain);

/*
 * container_explain(user_id text)
 *		returns table(rule text, action text, at timestamptz,
 *					  next_sweep boolean, why text)
 *
 * No row for an unknown user.
 */
Datum
container_explain(PG_FUNCTION_ARGS)
{
	char	   *user_id = user_id_arg(fcinfo, 0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	uint64		n;

	InitMaterializedSRF(fcinfo, 0);
	if (rsinfo->setDesc->natts != EXPLAIN_COLUMNS)
		elog(ERROR, "incorrect number of output arguments");

	store_open();
	n = store_explain(user_id);
	for (uint64 i = 0; i < n; i++)
	{
		Datum		values[EXPLAIN_COLUMNS];
		bool		nulls[EXPLAIN_COLUMNS];

		for (int col = 0; col < EXPLAIN_COLUMNS; col++)
			values[col] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, col + 1, &nulls[col]);
		/* The tuplestore copies the values, out of SPI's memory. */
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	store_close();
	return (Datum) 0;
}
