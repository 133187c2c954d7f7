/*-------------------------------------------------------------------------
 *
 * store_rollouts.c
 *	  Rollout jobs (container_rollout) and their steps
 *	  (container_rollout_step): recording a job, reading the one that is
 *	  not finished, its progress as the worker writes it, and the image of
 *	  the newest job that did not fail, which new containers are made from.
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

/* A failed job's image was rolled back everywhere it was tried: not it. */
static StoreStatement stmt_rollout_image = {
	.sql = "SELECT image, setting_image FROM @extschema@.container_rollout"
		" WHERE phase <> 'failed' ORDER BY job DESC LIMIT 1",
	.nargs = 0
};

/*
 * The unique index on unfinished jobs makes a second one conflict: a
 * concurrent caller waits for the first to commit or roll back, then
 * inserts nothing.
 */
static StoreStatement stmt_rollout_insert = {
	.sql = "INSERT INTO @extschema@.container_rollout"
		"            (image, batch_size, max_failures, canaries, setting_image)"
		" VALUES ($1, $2, $3, $4, $5)"
		" ON CONFLICT ((finished_at IS NULL)) WHERE finished_at IS NULL DO NOTHING"
		" RETURNING job",
	.nargs = 5, .argtypes = {TEXTOID, INT4OID, INT4OID, TEXTARRAYOID, TEXTOID}
};

static StoreStatement stmt_rollout_unfinished = {
	.sql = "SELECT job, image, batch_size, max_failures, canaries, phase, cancel_requested,"
		"       users_done, users_failed, batches_done, current_users"
		"  FROM @extschema@.container_rollout WHERE finished_at IS NULL",
	.nargs = 0
};

static StoreStatement stmt_rollout_cancel = {
	.sql = "UPDATE @extschema@.container_rollout SET cancel_requested = true"
		" WHERE job = $1 RETURNING finished_at IS NULL",
	.nargs = 1, .argtypes = {INT8OID}
};

static StoreStatement stmt_rollout_users_missing = {
	.sql = "SELECT c FROM pg_catalog.unnest($1::pg_catalog.text[]) c"
		" WHERE NOT EXISTS (SELECT 1 FROM @extschema@.user_container u WHERE u.user_id = c)",
	.nargs = 1, .argtypes = {TEXTARRAYOID}
};

static StoreStatement stmt_rollout_stepped = {
	.sql = "SELECT user_id FROM @extschema@.container_rollout_step WHERE job = $1",
	.nargs = 1, .argtypes = {INT8OID}
};

/*
 * Users a live container_hold lease holds (leases.c): a rollout does not
 * restart them until it ends.
 */
static StoreStatement stmt_rollout_held = {
	.sql = "SELECT user_id FROM @extschema@.user_container WHERE held_until > pg_catalog.now()",
	.nargs = 0
};

/* A user of the batch in flight put back for a later batch, with no step. */
static StoreStatement stmt_rollout_defer = {
	.sql = "UPDATE @extschema@.container_rollout"
		"   SET current_users = pg_catalog.array_remove(current_users, $2)"
		" WHERE job = $1",
	.nargs = 2, .argtypes = {INT8OID, TEXTOID}
};

/* A new batch (or none, $4 empty): the phase, and the total as it stands now. */
static StoreStatement stmt_rollout_begin_batch = {
	.sql = "UPDATE @extschema@.container_rollout"
		"   SET phase = $2, users_total = users_done + $3, current_users = $4,"
		"       started_at = coalesce(started_at, pg_catalog.clock_timestamp())"
		" WHERE job = $1",
	.nargs = 4, .argtypes = {INT8OID, TEXTOID, INT4OID, TEXTARRAYOID}
};

static StoreStatement stmt_rollout_record_step = {
	.sql = "WITH step AS ("
		"  INSERT INTO @extschema@.container_rollout_step (job, user_id, batch, outcome, error)"
		"  SELECT $1, $2, r.batches_done + 1, $3, $4"
		"    FROM @extschema@.container_rollout r WHERE r.job = $1)"
		" UPDATE @extschema@.container_rollout"
		"    SET users_done = users_done + 1,"
		"        users_failed = users_failed + CASE WHEN $3 = 'rolled back' THEN 1 ELSE 0 END,"
		"        current_users = pg_catalog.array_remove(current_users, $2),"
		"        batches_done = batches_done"
		"          + CASE WHEN current_users = ARRAY[$2] THEN 1 ELSE 0 END"
		"  WHERE job = $1"
		" RETURNING users_failed",
	.nargs = 4, .argtypes = {INT8OID, TEXTOID, TEXTOID, TEXTOID}
};

static StoreStatement stmt_rollout_finish = {
	.sql = "UPDATE @extschema@.container_rollout"
		"   SET phase = $2, current_users = '{}', finished_at = pg_catalog.clock_timestamp(),"
		"       users_total = CASE WHEN $2 = 'completed' THEN users_done ELSE users_total END,"
		"       started_at = coalesce(started_at, pg_catalog.clock_timestamp())"
		" WHERE job = $1",
	.nargs = 2, .argtypes = {INT8OID, TEXTOID}
};

/* A List of C strings as a text[] datum. */
static Datum
text_array(List *items)
{
	int			n = list_length(items);
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	int			i = 0;
	ListCell   *lc;

	foreach(lc, items)
		elems[i++] = CStringGetTextDatum((const char *) lfirst(lc));
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

static List *
column_text_rows(int col)
{
	List	   *values = NIL;

	for (uint64 i = 0; i < SPI_processed; i++)
		values = lappend(values, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, col));
	return values;
}

/*
 * The image of the newest rollout that did not fail, or NULL if there is
 * none or pg_container.image has been changed since it was recorded: new
 * containers are made from it in place of the setting.
 */
char *
store_rollout_image(void)
{
	char	   *setting_image;

	store_run(&stmt_rollout_image, NULL, NULL, 1);
	if (SPI_processed == 0)
		return NULL;
	setting_image = store_column_text(2);
	if (pgc_image == NULL || strcmp(setting_image, pgc_image) != 0)
		return NULL;
	return store_column_text(1);
}

/*
 * Record a job; false (and nothing recorded) if another is unfinished, or
 * was recorded by a transaction that committed while this one waited.
 */
bool
store_rollout_insert(const char *image, int batch_size, int max_failures, List *canaries,
					 int64 *job)
{
	Datum		values[5] = {CStringGetTextDatum(image), Int32GetDatum(batch_size),
	Int32GetDatum(max_failures), text_array(canaries), CStringGetTextDatum(pgc_image)};
	bool		isnull;

	store_run(&stmt_rollout_insert, values, NULL, 1);
	if (SPI_processed == 0)
		return false;
	*job = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return true;
}

/* The unfinished job, if there is one. */
bool
store_rollout_unfinished(RolloutJob *job)
{
	bool		isnull;
	HeapTuple	tuple;
	TupleDesc	desc;

	store_run(&stmt_rollout_unfinished, NULL, NULL, 1);
	if (SPI_processed == 0)
		return false;
	tuple = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	job->job = DatumGetInt64(SPI_getbinval(tuple, desc, 1, &isnull));
	job->image = SPI_getvalue(tuple, desc, 2);
	job->batch_size = DatumGetInt32(SPI_getbinval(tuple, desc, 3, &isnull));
	job->max_failures = DatumGetInt32(SPI_getbinval(tuple, desc, 4, &isnull));
	job->canaries = store_column_text_list(5, NULL);
	job->phase = SPI_getvalue(tuple, desc, 6);
	job->cancel_requested = store_column_bool(7) == 1;
	job->done = DatumGetInt32(SPI_getbinval(tuple, desc, 8, &isnull));
	job->failed = DatumGetInt32(SPI_getbinval(tuple, desc, 9, &isnull));
	job->batches_done = DatumGetInt32(SPI_getbinval(tuple, desc, 10, &isnull));
	job->current_users = store_column_text_list(11, NULL);
	return true;
}

/* Ask the job to stop: -1 if there is no such job, 0 if it has finished, 1 if asked. */
int
store_rollout_cancel(int64 job)
{
	Datum		values[1] = {Int64GetDatum(job)};

	store_run(&stmt_rollout_cancel, values, NULL, 1);
	if (SPI_processed == 0)
		return -1;
	return store_column_bool(1) == 1 ? 1 : 0;
}

/* Those of user_ids that have no row. */
List *
store_rollout_users_missing(List *user_ids)
{
	Datum		values[1] = {text_array(user_ids)};

	store_run(&stmt_rollout_users_missing, values, NULL, 0);
	return column_text_rows(1);
}

/* The users the job has dealt with. */
List *
store_rollout_stepped(int64 job)
{
	Datum		values[1] = {Int64GetDatum(job)};

	store_run(&stmt_rollout_stepped, values, NULL, 0);
	return column_text_rows(1);
}

/* The users a lease holds now. */
List *
store_rollout_held_users(void)
{
	store_run(&stmt_rollout_held, NULL, NULL, 0);
	return column_text_rows(1);
}

/* Take user_id out of the job's batch in flight without a step. */
void
store_rollout_defer(int64 job, const char *user_id)
{
	Datum		values[2] = {Int64GetDatum(job), CStringGetTextDatum(user_id)};

	store_run(&stmt_rollout_defer, values, NULL, 0);
}

/* The job's next batch, in phase, with left users still to deal with after it. */
void
store_rollout_begin_batch(int64 job, const char *phase, int left, List *batch)
{
	Datum		values[4] = {Int64GetDatum(job), CStringGetTextDatum(phase), Int32GetDatum(left),
	text_array(batch)};

	store_run(&stmt_rollout_begin_batch, values, NULL, 0);
}

/*
 * What the job did to the user (outcome, and the error if rolled back):
 * its step row, and the job's counts; returns the job's rollbacks so far.
 */
int
store_rollout_record_step(int64 job, const char *user_id, const char *outcome, const char *error)
{
	Datum		values[4] = {Int64GetDatum(job), CStringGetTextDatum(user_id),
	CStringGetTextDatum(outcome), error ? CStringGetTextDatum(error) : (Datum) 0};
	char		nulls[4] = {' ', ' ', ' ', error ? ' ' : 'n'};
	bool		isnull;

	store_run(&stmt_rollout_record_step, values, nulls, 0);
	if (SPI_processed == 0)
		elog(ERROR, "rollout job " INT64_FORMAT " vanished", job);
	return DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* End the job in phase ('completed', 'failed' or 'cancelled'). */
void
store_rollout_finish(int64 job, const char *phase)
{
	Datum		values[2] = {Int64GetDatum(job), CStringGetTextDatum(phase)};

	store_run(&stmt_rollout_finish, values, NULL, 0);
}
