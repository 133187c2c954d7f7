/*-------------------------------------------------------------------------
 *
 * store_schema.c
 *	  Finding the installed extension, opening the store on it, and running
 *	  the store's prepared statements.
 *
 * The library serves one table layout: that of the version it ships
 * with (PGC_EXTENSION_VERSION, the control file's default_version).  As
 * contrib modules and Citus do, a call that finds another version
 * installed is refused with a hint to run ALTER EXTENSION pg_container
 * UPDATE, rather than the library carrying the statements of every older
 * layout; the version pg_extension records decides, never a probe of the
 * tables' columns.  The background callers (the worker's passes, the
 * event mirror, the removals look) wait instead, through
 * store_find_current_schema, so that an upgrade does not make them fail
 * every pass.
 *
 * Operators in the statements are resolved under the pg_catalog-first
 * search_path that every caller runs with.  Also here: the installation's
 * identity, which every other part reads through the open store.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "container_store.h"
#include "settings.h"
#include "store_internal.h"

static Oid	current_namespace = InvalidOid;
static Oid	current_installation_relid = InvalidOid;

/* This installation's identity, once read, and the table it was read from. */
static char installation_id[33];
static Oid	installation_relid = InvalidOid;

/* The installed version the background callers last said they wait for. */
static char waited_for_version[NAMEDATALEN];

/* The oldest row: see the 0.3.0 script for why there can be two. */
static StoreStatement stmt_get_installation = {
	.sql = "SELECT id FROM @extschema@.container_installation"
		" ORDER BY created_at, id"
		" LIMIT 1",
	.nargs = 0
};

/*
 * The installed extension's schema and version, as pg_extension records
 * them; false if pg_container is not installed in this database.  Read
 * from the catalog directly, not through SPI, so the worker polling for it
 * while it is absent leaves no trace in pg_stat_statements.  Call inside a
 * transaction.
 *
 * It is read at every store_open, in the caller's snapshot, rather than
 * cached: pg_extension has no syscache whose invalidation would tell us of
 * an ALTER EXTENSION UPDATE, and one index probe is cheap next to the
 * SPI statement that follows it.  So an update takes effect at once, also
 * later in the transaction that ran it.
 */
bool
store_find_schema(StoreSchema *schema)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	bool		found = false;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("pg_container"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		version = heap_getattr(tuple, Anum_pg_extension_extversion,
										   RelationGetDescr(rel), &isnull);

		if (isnull)
			elog(ERROR, "pg_container's extversion is null");
		schema->namespace_oid = ((Form_pg_extension) GETSTRUCT(tuple))->extnamespace;
		strlcpy(schema->version, TextDatumGetCString(version), sizeof(schema->version));
		schema->current = strcmp(schema->version, PGC_EXTENSION_VERSION) == 0;
		found = true;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/* The error for a call that meets tables this library does not serve. */
static void
refuse_outdated(const StoreSchema *schema)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("pg_container's tables are those of version %s, not %s",
					schema->version, PGC_EXTENSION_VERSION),
			 errdetail("This pg_container library serves the tables of version %s only.",
					   PGC_EXTENSION_VERSION),
			 errhint("Run ALTER EXTENSION pg_container UPDATE.")));
}

/*
 * For the background callers (the worker's passes, the event mirror, the
 * removals look), which must wait quietly across an upgrade rather than
 * fail every pass: true if pg_container is installed at the version this
 * library serves.  An older version is logged once per process and
 * version, then waited for like an absent extension.
 */
bool
store_find_current_schema(StoreSchema *schema)
{
	if (!store_find_schema(schema))
		return false;
	if (schema->current)
	{
		waited_for_version[0] = '\0';
		return true;
	}
	if (strcmp(waited_for_version, schema->version) != 0)
	{
		strlcpy(waited_for_version, schema->version, sizeof(waited_for_version));
		ereport(LOG,
				(errmsg("pg_container waits for ALTER EXTENSION pg_container UPDATE in database \"%s\"",
						get_database_name(MyDatabaseId)),
				 errdetail("The installed version is %s; this library serves %s.",
						   schema->version, PGC_EXTENSION_VERSION)));
	}
	return false;
}

/* Whether the last store_find_current_schema found an older version. */
bool
store_waiting_for_update(void)
{
	return waited_for_version[0] != '\0';
}

/*
 * Connect to SPI for statements on the installed extension.  Called from
 * the extension's own functions, so it is installed; at another version
 * than the library's, the call is refused.
 */
void
store_open(void)
{
	StoreSchema schema;

	if (!store_find_schema(&schema))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"pg_container\" is not installed in this database")));
	store_open_schema(&schema);
}

/* Connect to SPI for statements on the extension as found by store_find_schema. */
void
store_open_schema(const StoreSchema *schema)
{
	if (!schema->current)
		refuse_outdated(schema);
	current_namespace = schema->namespace_oid;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* Which table the identity was cached from: a restore makes a new one. */
	current_installation_relid = get_relname_relid("container_installation", current_namespace);
}

/*
 * This installation's identity (32 hex digits), which labels every
 * container and volume it makes, so that two databases sharing an engine
 * never take each other's.  It is read once per process and table: it
 * does not change, and the hot path must not pay a query for it.
 */
const char *
store_installation_id(void)
{
	if (installation_relid == current_installation_relid)
		return installation_id;

	store_run(&stmt_get_installation, NULL, NULL, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table container_installation is empty"),
				 errdetail("It holds the identity that labels this installation's containers and volumes."),
				 errhint("Restore its row from a backup; with a new identity, pg_container no longer adopts the containers it made before.")));
	strlcpy(installation_id, store_column_text(1), sizeof(installation_id));
	installation_relid = current_installation_relid;
	return installation_id;
}

/* The schema store_open found, for the statements of other files. */
Oid
store_namespace(void)
{
	return current_namespace;
}

void
store_close(void)
{
	SPI_finish();
}

/* sql with @extschema@ replaced by the open store's schema, quoted. */
char *
store_expand_schema(const char *sql)
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

/*
 * The statement's plan, prepared on first use and kept; remade if the
 * extension has moved to another schema since.
 */
static SPIPlanPtr
plan_for(StoreStatement *stmt)
{
	if (stmt->plan != NULL && stmt->plan_namespace != current_namespace)
	{
		SPI_freeplan(stmt->plan);
		stmt->plan = NULL;
	}
	if (stmt->plan == NULL)
	{
		SPIPlanPtr	plan;

		plan = SPI_prepare(store_expand_schema(stmt->sql), stmt->nargs, stmt->argtypes);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed for pg_container statement \"%s\": %s",
				 stmt->sql, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		stmt->plan = plan;
		stmt->plan_namespace = current_namespace;
	}
	return stmt->plan;
}

/* Run a statement of the open store; max_rows 0: all. */
int
store_run(StoreStatement *stmt, Datum *values, const char *nulls, long max_rows)
{
	int			rc = SPI_execute_plan(plan_for(stmt), values, nulls, false, max_rows);

	if (rc < 0)
		elog(ERROR, "pg_container statement \"%s\" failed: %s",
			 stmt->sql, SPI_result_code_string(rc));
	return rc;
}

char *
store_column_text(int col)
{
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col);
}

/* A text[] column of the first row as a List of strings; NIL if NULL. */
List *
store_column_text_list(int col, bool *is_set)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, &isnull);
	List	   *items = NIL;
	Datum	   *elems;
	bool	   *elem_nulls;
	int			n;

	if (is_set != NULL)
		*is_set = !isnull;
	if (isnull)
		return NIL;
	deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &elem_nulls, &n);
	for (int i = 0; i < n; i++)
		if (!elem_nulls[i])
			items = lappend(items, TextDatumGetCString(elems[i]));
	return items;
}

/* A boolean column of the first row: 1, 0, or -1 if NULL. */
int
store_column_bool(int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? -1 : (DatumGetBool(d) ? 1 : 0);
}
