/*-------------------------------------------------------------------------
 *
 * store_ports.c
 *	  Host ports: claiming one for a user's row.
 *
 * Each user keeps its port for the life of its row, stopped or not,
 * because a stopped container still holds its binding.  A new port is the
 * lowest free one in the range that no concurrent transaction is
 * claiming: claimers take a transaction-level advisory lock on the port
 * and skip ports locked by others instead of waiting for them.  The
 * unique index on gateway_port stays the last line of defence.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "container_store.h"
#include "settings.h"
#include "store_internal.h"

/* First key of our advisory locks: "pgc" in ASCII. */
#define PGC_ADVISORY_LOCK_CLASS 0x706763

static StoreStatement stmt_next_free_port = {
	.sql = "SELECT g.p"
		"  FROM pg_catalog.generate_series($1, $2) AS g(p)"
		" WHERE NOT EXISTS (SELECT 1 FROM @extschema@.user_container c"
		"                    WHERE c.gateway_port = g.p)"
		"   AND g.p <> ALL ($3)"
		" ORDER BY g.p"
		" LIMIT 1",
	.nargs = 3, .argtypes = {INT4OID, INT4OID, INT4ARRAYOID}
};

static StoreStatement stmt_try_lock_port = {
	.sql = "SELECT pg_catalog.pg_try_advisory_xact_lock($1, $2)",
	.nargs = 2, .argtypes = {INT4OID, INT4OID}
};

static StoreStatement stmt_claim_port = {
	.sql = "UPDATE @extschema@.user_container"
		"   SET gateway_port = $2, updated_at = pg_catalog.now()"
		" WHERE user_id = $1"
		"   AND NOT EXISTS (SELECT 1 FROM @extschema@.user_container c"
		"                    WHERE c.gateway_port = $2 AND c.user_id <> $1)",
	.nargs = 2, .argtypes = {TEXTOID, INT4OID}
};

/*
 * Claim port for the user's row, unless another row holds it or another
 * transaction is claiming it right now.
 */
bool
store_claim_port(const char *user_id, int port)
{
	Datum		lock_args[2] = {Int32GetDatum(PGC_ADVISORY_LOCK_CLASS), Int32GetDatum(port)};
	Datum		claim_args[2] = {CStringGetTextDatum(user_id), Int32GetDatum(port)};
	bool		isnull;
	bool		locked;

	store_run(&stmt_try_lock_port, lock_args, NULL, 1);
	locked = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (!locked)
		return false;
	store_run(&stmt_claim_port, claim_args, NULL, 0);
	return SPI_processed == 1;
}

/*
 * Claim the lowest free port in the configured range for the user's row,
 * other than the "refused" ones that something outside pg_container binds,
 * and return it.
 */
int
store_claim_free_port(const char *user_id, const int *refused, int nrefused)
{
	int			start = pgc_port_range_start;
	int			end = pgc_port_range_end;
	int			after = start - 1;
	Datum	   *refused_datums = palloc(sizeof(Datum) * Max(nrefused, 1));
	Datum		refused_array;

	for (int i = 0; i < nrefused; i++)
		refused_datums[i] = Int32GetDatum(refused[i]);
	refused_array = PointerGetDatum(construct_array(refused_datums, nrefused, INT4OID,
													sizeof(int32), true, TYPALIGN_INT));

	if (start > end)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pg_container.port_range_start (%d) is greater than pg_container.port_range_end (%d)",
						start, end)));

	for (;;)
	{
		Datum		values[3] = {Int32GetDatum(after + 1), Int32GetDatum(end), refused_array};
		bool		isnull;
		int			port;

		if (after >= end)
			break;
		store_run(&stmt_next_free_port, values, NULL, 1);
		if (SPI_processed == 0)
			break;
		port = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (store_claim_port(user_id, port))
			return port;
		after = port;
	}

	ereport(ERROR,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("no free gateway port in the range %d to %d", start, end),
			 errdetail("Every port in pg_container.port_range_start to pg_container.port_range_end "
					   "is held by another user or is in use outside pg_container."),
			 errhint("Widen the range, or remove users that no longer need a container.")));
	pg_unreachable();
}
