/*-------------------------------------------------------------------------
 *
 * container_store.c
 *	  Owns every statement pg_container runs against its user_container
 *	  table, and the allocation of host ports.
 *
 * Statements are prepared once per process and kept (SPI_keepplan), since
 * container_touch and container_ensure_running sit on the application's
 * hot path.  They name the table through the extension's schema, whatever
 * schema CREATE EXTENSION chose; if the extension moves to another schema
 * the plans are rebuilt.  Operators in them are resolved under the
 * pg_catalog-first search_path that every caller runs with.
 *
 * Host ports: each user keeps its port for the life of its row, stopped or
 * not, because a stopped container still holds its binding.  A new port is
 * the lowest free one in the range that no concurrent transaction is
 * claiming: claimers take a transaction-level advisory lock on the port
 * and skip ports locked by others instead of waiting for them.  The unique
 * index on gateway_port stays the last line of defence.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "container_store.h"
#include "settings.h"

/* First key of our advisory locks: "pgc" in ASCII. */
#define PGC_ADVISORY_LOCK_CLASS 0x706763

typedef enum StoreStatement
{
	STMT_LOCK_AND_TOUCH,
	STMT_LOCK,
	STMT_INSERT,
	STMT_RECORD_RUNNING,
	STMT_RECORD_STOPPED,
	STMT_NEXT_FREE_PORT,
	STMT_TRY_LOCK_PORT,
	STMT_CLAIM_PORT,
	STMT_TOUCH,
	STMT_STATUS,
	STMT_LOCK_ALL_TOKENS,
	STMT_SET_TOKEN,
	STMT_COUNT
} StoreStatement;

typedef struct StatementDef
{
	const char *sql;			/* "@extschema@" stands for the schema */
	int			nargs;
	Oid			argtypes[4];
} StatementDef;

#define ROW_COLUMNS "id::text, user_id, container_id, container_name, gateway_port, gateway_token, status"

static const StatementDef statement_defs[STMT_COUNT] = {
	[STMT_LOCK_AND_TOUCH] = {
		"UPDATE @extschema@.user_container"
		"   SET last_active_at = pg_catalog.now(), updated_at = pg_catalog.now()"
		" WHERE user_id = $1"
		" RETURNING " ROW_COLUMNS,
		1, {TEXTOID}
	},
	[STMT_LOCK] = {
		"SELECT " ROW_COLUMNS
		"  FROM @extschema@.user_container"
		" WHERE user_id = $1"
		"   FOR UPDATE",
		1, {TEXTOID}
	},
	[STMT_INSERT] = {
		"INSERT INTO @extschema@.user_container"
		"       (user_id, container_name, gateway_token, status)"
		"VALUES ($1, $2, $3, 'stopped')"
		"    ON CONFLICT (user_id) DO NOTHING",
		3, {TEXTOID, TEXTOID, TEXTOID}
	},
	[STMT_RECORD_RUNNING] = {
		"UPDATE @extschema@.user_container"
		"   SET container_id = $2, gateway_port = $3, status = 'running',"
		"       updated_at = pg_catalog.now()"
		" WHERE user_id = $1",
		3, {TEXTOID, TEXTOID, INT4OID}
	},
	[STMT_RECORD_STOPPED] = {
		"UPDATE @extschema@.user_container"
		"   SET container_id = $2, status = 'stopped', updated_at = pg_catalog.now()"
		" WHERE user_id = $1",
		2, {TEXTOID, TEXTOID}
	},
	[STMT_NEXT_FREE_PORT] = {
		"SELECT g.p"
		"  FROM pg_catalog.generate_series($1, $2) AS g(p)"
		" WHERE NOT EXISTS (SELECT 1 FROM @extschema@.user_container c"
		"                    WHERE c.gateway_port = g.p)"
		"   AND g.p <> ALL ($3)"
		" ORDER BY g.p"
		" LIMIT 1",
		3, {INT4OID, INT4OID, INT4ARRAYOID}
	},
	[STMT_TRY_LOCK_PORT] = {
		"SELECT pg_catalog.pg_try_advisory_xact_lock($1, $2)",
		2, {INT4OID, INT4OID}
	},
	[STMT_CLAIM_PORT] = {
		"UPDATE @extschema@.user_container"
		"   SET gateway_port = $2, updated_at = pg_catalog.now()"
		" WHERE user_id = $1"
		"   AND NOT EXISTS (SELECT 1 FROM @extschema@.user_container c"
		"                    WHERE c.gateway_port = $2 AND c.user_id <> $1)",
		2, {TEXTOID, INT4OID}
	},
	[STMT_TOUCH] = {
		"UPDATE @extschema@.user_container"
		"   SET last_active_at = pg_catalog.now(), updated_at = pg_catalog.now()"
		" WHERE user_id = $1",
		1, {TEXTOID}
	},
	[STMT_STATUS] = {
		"SELECT status, gateway_port, last_active_at"
		"  FROM @extschema@.user_container"
		" WHERE user_id = $1",
		1, {TEXTOID}
	},
	[STMT_LOCK_ALL_TOKENS] = {
		"SELECT user_id, gateway_token"
		"  FROM @extschema@.user_container"
		" ORDER BY user_id"
		"   FOR UPDATE",
		0, {}
	},
	[STMT_SET_TOKEN] = {
		"UPDATE @extschema@.user_container"
		"   SET gateway_token = $2, updated_at = pg_catalog.now()"
		" WHERE user_id = $1",
		2, {TEXTOID, TEXTOID}
	},
};

static SPIPlanPtr plans[STMT_COUNT];
static Oid	plans_namespace = InvalidOid;
static Oid	current_namespace = InvalidOid;

/* Connect to SPI for statements on the extension in the given schema. */
void
store_open(Oid extension_namespace)
{
	if (extension_namespace != plans_namespace)
	{
		for (int i = 0; i < STMT_COUNT; i++)
		{
			if (plans[i] != NULL)
				SPI_freeplan(plans[i]);
			plans[i] = NULL;
		}
		plans_namespace = extension_namespace;
	}
	current_namespace = extension_namespace;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
}

void
store_close(void)
{
	SPI_finish();
}

static char *
expand_schema(const char *sql)
{
	const char *schema = quote_identifier(get_namespace_name(current_namespace));
	const char *marker = "@extschema@";
	StringInfoData buf;
	const char *p;
	const char *hit;

	initStringInfo(&buf);
	for (p = sql; (hit = strstr(p, marker)) != NULL; p = hit + strlen(marker))
	{
		appendBinaryStringInfo(&buf, p, hit - p);
		appendStringInfoString(&buf, schema);
	}
	appendStringInfoString(&buf, p);
	return buf.data;
}

static SPIPlanPtr
plan_for(StoreStatement stmt)
{
	if (plans[stmt] == NULL)
	{
		const StatementDef *def = &statement_defs[stmt];
		SPIPlanPtr	plan;

		plan = SPI_prepare(expand_schema(def->sql), def->nargs, (Oid *) def->argtypes);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed for pg_container statement %d: %s",
				 (int) stmt, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		plans[stmt] = plan;
	}
	return plans[stmt];
}

static int
run(StoreStatement stmt, Datum *values, const char *nulls, long max_rows)
{
	int			rc = SPI_execute_plan(plan_for(stmt), values, nulls, false, max_rows);

	if (rc < 0)
		elog(ERROR, "pg_container statement %d failed: %s",
			 (int) stmt, SPI_result_code_string(rc));
	return rc;
}

static char *
column_text(int col)
{
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col);
}

static bool
fetch_row(UserContainerRow *row)
{
	char	   *port;
	char	   *status;

	if (SPI_processed == 0)
		return false;
	row->id = column_text(1);
	row->user_id = column_text(2);
	row->container_id = column_text(3);
	row->container_name = column_text(4);
	port = column_text(5);
	row->gateway_port = port ? atoi(port) : 0;
	row->gateway_token = column_text(6);
	status = column_text(7);
	row->running = status != NULL && strcmp(status, "running") == 0;
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

	run(STMT_LOCK_AND_TOUCH, values, NULL, 0);
	return fetch_row(row);
}

bool
store_lock(const char *user_id, UserContainerRow *row)
{
	Datum		values[1] = {CStringGetTextDatum(user_id)};

	run(STMT_LOCK, values, NULL, 0);
	return fetch_row(row);
}

/* Insert a row unless one exists; a concurrent insert wins quietly. */
void
store_insert(const char *user_id, const char *container_name, const char *encrypted_token)
{
	Datum		values[3] = {
		CStringGetTextDatum(user_id),
		CStringGetTextDatum(container_name),
		CStringGetTextDatum(encrypted_token)
	};

	run(STMT_INSERT, values, NULL, 0);
}

void
store_record_running(const char *user_id, const char *container_id, int port)
{
	Datum		values[3] = {
		CStringGetTextDatum(user_id),
		CStringGetTextDatum(container_id),
		Int32GetDatum(port)
	};

	run(STMT_RECORD_RUNNING, values, NULL, 0);
}

void
store_record_stopped(const char *user_id, const char *container_id)
{
	Datum		values[2] = {
		CStringGetTextDatum(user_id),
		container_id ? CStringGetTextDatum(container_id) : (Datum) 0
	};
	char		nulls[2] = {' ', container_id ? ' ' : 'n'};

	run(STMT_RECORD_STOPPED, values, nulls, 0);
}

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

	run(STMT_TRY_LOCK_PORT, lock_args, NULL, 1);
	locked = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (!locked)
		return false;
	run(STMT_CLAIM_PORT, claim_args, NULL, 0);
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
		run(STMT_NEXT_FREE_PORT, values, NULL, 1);
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

void
store_touch(const char *user_id)
{
	Datum		values[1] = {CStringGetTextDatum(user_id)};

	run(STMT_TOUCH, values, NULL, 0);
}

/*
 * Lock every row, in user id order so concurrent callers cannot deadlock,
 * and return their user ids and stored tokens.
 */
void
store_lock_all_tokens(List **user_ids, List **tokens)
{
	run(STMT_LOCK_ALL_TOKENS, NULL, NULL, 0);
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

	run(STMT_SET_TOKEN, values, NULL, 0);
}

bool
store_status(const char *user_id, char **status, int *port,
			 TimestampTz *last_active, bool *last_active_null)
{
	Datum		values[1] = {CStringGetTextDatum(user_id)};
	HeapTuple	tuple;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;

	run(STMT_STATUS, values, NULL, 1);
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
	return true;
}
