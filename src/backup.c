/*-------------------------------------------------------------------------
 *
 * backup.c
 *	  Owns the backups of users' volumes: container_backup,
 *	  container_restore and the retention of container_backup rows.
 *
 * A backup is the engine's tar stream of the state path in the user's
 * container (docker_archive.c), checksummed with SHA-256 and stored as a
 * large object with a container_backup row, both in the caller's
 * transaction: a rollback leaves no backup, and pg_dump, replicas and
 * point-in-time recovery carry the bytes with the rows.  A running
 * container is paused for the copy and unpaused before the function
 * returns, on every path (an error or a cancel included): the only effect
 * outside the transaction is that pause.  Storing and pruning happen
 * after the unpause, so the pause lasts only as long as the copy.
 *
 * Each backup and each restore is an event ('backup', 'restored').
 *
 * A restore unpacks the stored stream into the stopped container's state
 * path after checking its checksum.  It adds and overwrites files; files
 * made after the backup stay (see docs/backups.md).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/evp.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "backup.h"
#include "container_store.h"
#include "docker_archive.h"
#include "docker_http.h"
#include "engine.h"
#include "event_journal.h"
#include "ownership.h"
#include "settings.h"
#include "stats.h"
#include "user_id_arg.h"

PG_FUNCTION_INFO_V1(container_backup);
PG_FUNCTION_INFO_V1(container_restore);

#define SHA256_HEX_LENGTH 64

/* SHA-256 of data, as 64 lower-case hex digits. */
static char *
sha256_hex(const char *data, size_t len)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;
	char	   *hex = palloc(SHA256_HEX_LENGTH + 1);

	if (EVP_Digest(data, len, digest, &digest_len, EVP_sha256(), NULL) != 1 ||
		digest_len * 2 != SHA256_HEX_LENGTH)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not compute a SHA-256 checksum")));
	hex_encode((const char *) digest, digest_len, hex);
	hex[SHA256_HEX_LENGTH] = '\0';
	return hex;
}

/* The extension's schema, quoted, for the statements below. */
static const char *
backup_schema(void)
{
	StoreSchema schema;

	if (!store_find_schema(&schema))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"pg_container\" is not installed in this database")));
	return quote_identifier(get_namespace_name(schema.namespace_oid));
}

/*
 * The user's container, locked by its row, for a backup or a restore.
 * Raises for an unknown user or one whose container is gone.
 */
static void
lock_users_container(const char *user_id, UserContainerRow *row, DockerContainer *c)
{
	if (pgc_engine_kind == PGC_ENGINE_SWARM)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("backups are not supported on pg_container.engine 'swarm' yet")));
	if (!store_lock(user_id, row))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("user \"%s\" has no container", user_id)));
	ownership_check_name(row);
	if (!ownership_inspect(row, c, false))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the container of user \"%s\" does not exist", user_id),
				 errhint("container_ensure_running() makes it again; container_stop() then stops it.")));
}

/*
 * Unpause after an error: never raises (interrupts are held, so a second
 * cancel cannot cut it short) and says in the log if the container stays
 * paused.  The message is built before ereport.
 */
static void
unpause_after_error(const char *id, const char *name)
{
	DockerRequest *req = docker_unpause_request(id, name);
	char	   *why = NULL;

	HOLD_INTERRUPTS();
	docker_run_request(req);
	RESUME_INTERRUPTS();
	if (req->failure != DOCKER_ANSWERED || (req->status != 204 && req->status != 304))
		why = docker_failure_message(req);
	if (why != NULL)
		ereport(WARNING,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("container \"%s\" stays paused after a failed backup", name),
				 errdetail_internal("%s", why),
				 errhint("The idle sweep or the next container_ensure_running() unpauses it.")));
}

/*
 * The tar stream of the state path, the container paused meanwhile if it
 * runs.  A container paused before (by the idle sweep) stays paused.
 */
static char *
copy_volume(const DockerContainer *c, const char *name, size_t *len)
{
	bool		pause = c->running && !c->paused;
	volatile size_t max_bytes = (size_t) pgc_backup_max_size_mb * 1024 * 1024;
	MemoryContext volatile context = CurrentMemoryContext;
	char	   *volatile tar = NULL;

	if (pause)
		docker_pause_container(c->id, name);
	PG_TRY();
	{
		tar = docker_archive_get(c->id, name, pgc_state_path, max_bytes, len);
	}
	PG_CATCH();
	{
		if (pause)
		{
			MemoryContextSwitchTo(context);
			unpause_after_error(c->id, name);
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (pause)
		docker_unpause_container(c->id, name);
	return tar;
}

/* Drop the user's backups past the newest pg_container.backup_keep. */
static void
prune_backups(const char *schema, const char *user_id)
{
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		values[2] = {CStringGetTextDatum(user_id), Int32GetDatum(pgc_backup_keep)};
	char	   *sql = psprintf("WITH doomed AS ("
							   " SELECT id FROM %s.container_backup WHERE user_id OPERATOR(pg_catalog.=) $1"
							   " ORDER BY id DESC OFFSET $2),"
							   " gone AS (DELETE FROM %s.container_backup b USING doomed d"
							   " WHERE b.id OPERATOR(pg_catalog.=) d.id RETURNING b.large_object)"
							   " SELECT pg_catalog.lo_unlink(large_object) FROM gone",
							   schema, schema);

	if (SPI_execute_with_args(sql, 2, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not drop old backups of user \"%s\"", user_id);
}

/* Store a copy as a large object and a row; returns the row's id. */
static int64
store_backup(const char *user_id, const char *tar, size_t len)
{
	const char *schema = backup_schema();
	bytea	   *bytes = palloc_extended(len + VARHDRSZ, MCXT_ALLOC_HUGE);
	Oid			types[4] = {TEXTOID, INT8OID, TEXTOID, BYTEAOID};
	Datum		values[4];
	char	   *sql;
	bool		isnull;
	int64		id;

	SET_VARSIZE(bytes, len + VARHDRSZ);
	memcpy(VARDATA(bytes), tar, len);
	values[0] = CStringGetTextDatum(user_id);
	values[1] = Int64GetDatum((int64) len);
	values[2] = CStringGetTextDatum(sha256_hex(tar, len));
	values[3] = PointerGetDatum(bytes);
	sql = psprintf("INSERT INTO %s.container_backup (user_id, size_bytes, sha256, storage, large_object)"
				   " VALUES ($1, $2, $3, 'database', pg_catalog.lo_from_bytea(0, $4)) RETURNING id",
				   schema);
	if (SPI_execute_with_args(sql, 4, types, values, NULL, false, 1) != SPI_OK_INSERT_RETURNING ||
		SPI_processed != 1)
		elog(ERROR, "could not record a backup of user \"%s\"", user_id);
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	prune_backups(schema, user_id);
	return id;
}

/*
 * Back up the user's volume (store open); returns the backup's id.  A
 * 'backup' event records it.
 */
int64
backup_user(const char *user_id, const char *taken_by)
{
	UserContainerRow row;
	DockerContainer c;
	char	   *tar;
	size_t		len;
	int64		id;

	lock_users_container(user_id, &row, &c);
	tar = copy_volume(&c, row.container_name, &len);
	id = store_backup(user_id, tar, len);
	record_event(user_id, "backup",
				 event_detail("outcome", "taken", "backup", psprintf(INT64_FORMAT, id),
							  "bytes", psprintf("%zu", len), "by", taken_by, NULL));
	return id;
}

static Datum
backup_call(PG_FUNCTION_ARGS)
{
	char	   *user_id = user_id_arg(fcinfo, 0);
	int64		id;

	store_open();
	id = backup_user(user_id, NULL);
	store_close();
	PG_RETURN_INT64(id);
}

/*
 * container_backup(user_id text) returns bigint
 */
Datum
container_backup(PG_FUNCTION_ARGS)
{
	return stats_measure(PGC_OP_BACKUP, backup_call, fcinfo);
}

/*
 * The stored bytes of a backup, checked against its checksum.  A mismatch
 * is XX001 (data_corrupted): the bytes were stored by us and have changed
 * since, which is what PostgreSQL says of its own pages; 22000 would blame
 * the caller's input.
 */
static bytea *
load_backup(int64 backup_id, char **owner)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(backup_id)};
	char	   *sql = psprintf("SELECT user_id, sha256, pg_catalog.lo_get(large_object)"
							   " FROM %s.container_backup WHERE id OPERATOR(pg_catalog.=) $1",
							   backup_schema());
	bool		isnull;
	char	   *recorded;
	bytea	   *bytes;
	char	   *actual;

	if (SPI_execute_with_args(sql, 1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read backup " INT64_FORMAT, backup_id);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("backup " INT64_FORMAT " does not exist", backup_id)));
	*owner = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	recorded = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	bytes = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	actual = sha256_hex(VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes));
	if (strcmp(actual, recorded) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("backup " INT64_FORMAT " does not match its checksum", backup_id),
				 errdetail("Its SHA-256 was %s when it was taken and is %s now.", recorded, actual),
				 errhint("Restore another backup; container_backups() lists them.")));
	return bytes;
}

/* The folder that holds the state path: the tar's entries start with its last name. */
static char *
state_parent(const char *state_path)
{
	const char *slash = strrchr(state_path, '/');

	if (slash == NULL || slash == state_path)
		return pstrdup("/");
	return pnstrdup(state_path, slash - state_path);
}

/*
 * container_restore(user_id text, backup bigint) returns void
 */
Datum
container_restore(PG_FUNCTION_ARGS)
{
	char	   *user_id = user_id_arg(fcinfo, 0);
	int64		backup_id;
	UserContainerRow row;
	DockerContainer c;
	bytea	   *bytes;
	char	   *owner;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("backup must not be NULL")));
	backup_id = PG_GETARG_INT64(1);

	store_open();
	lock_users_container(user_id, &row, &c);
	if (c.running || c.paused)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the container of user \"%s\" is %s", user_id, c.paused ? "paused" : "running"),
				 errdetail("A restore writes into the volume, which must not change under it."),
				 errhint("Stop it first with container_stop('%s').", user_id)));
	bytes = load_backup(backup_id, &owner);
	/* Another user's backup clones that user's state: allowed, and logged. */
	if (strcmp(owner, user_id) != 0)
		ereport(LOG,
				(errmsg("pg_container: user \"%s\": restoring backup " INT64_FORMAT " of user \"%s\"",
						user_id, backup_id, owner)));
	docker_archive_put(c.id, row.container_name, state_parent(pgc_state_path),
					   VARDATA_ANY(bytes), VARSIZE_ANY_EXHDR(bytes));
	record_event(user_id, "restored",
				 event_detail("backup", psprintf(INT64_FORMAT, backup_id), "from_user", owner, NULL));
	store_close();
	PG_RETURN_VOID();
}
