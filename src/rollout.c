/*-------------------------------------------------------------------------
 *
 * rollout.c
 *	  container_rollout and container_rollout_cancel: the SQL side of
 *	  rollout jobs.  Both only write the job's row; the worker carries the
 *	  job out (rollout_run.c) once the caller's transaction has committed,
 *	  and a rollback leaves nothing of them.
 *
 * The arguments are checked before anything is written, so bad input is
 * an error that records nothing: a NULL is 22004, a batch below 1, a
 * negative max_failures, an image the engine could not name or a canary
 * with no row is 22023.  A second job while one is unfinished is 55000,
 * its hint naming the one to wait for or cancel.  Without a worker to run
 * it, a job would wait for ever: that is 55000 too.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "fmgr.h"
#include "nodes/value.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "container_store.h"
#include "rollout.h"
#include "start_waiters.h"

PG_FUNCTION_INFO_V1(container_rollout);
PG_FUNCTION_INFO_V1(container_rollout_cancel);

static void
require_not_null(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name)));
}

/* An image reference as pg_container.image accepts it: not empty, no whitespace. */
static char *
image_arg(FunctionCallInfo fcinfo, int argno)
{
	char	   *image;

	require_not_null(fcinfo, argno, "image");
	image = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (image[0] == '\0' || strpbrk(image, " \t\r\n\f\v") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid image \"%s\"", image),
				 errdetail("An image reference is not empty and has no whitespace.")));
	return image;
}

/* The canaries, in the order given, each once; NIL for a NULL array. */
static List *
canaries_arg(FunctionCallInfo fcinfo, int argno)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *canaries = NIL;

	if (PG_ARGISNULL(argno))
		return NIL;
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(argno), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		char	   *user_id;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("canary user id must not be null")));
		user_id = TextDatumGetCString(elems[i]);
		if (!list_member(canaries, makeString(user_id)))
			canaries = lappend(canaries, makeString(user_id));
	}
	return canaries;
}

/* A canary must be a user with a row: a typo must not pass unnoticed. */
static void
check_canaries_exist(List *canaries)
{
	List	   *names = NIL;
	List	   *missing;
	ListCell   *lc;

	foreach(lc, canaries)
		names = lappend(names, strVal(lfirst(lc)));
	missing = store_rollout_users_missing(names);
	if (missing != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("canary user \"%s\" has no container", (char *) linitial(missing)),
				 errdetail_plural("Canaries are users in user_container; %d of those given is not.",
								  "Canaries are users in user_container; %d of those given are not.",
								  list_length(missing), list_length(missing))));
}

/* Refuse a job where no worker would ever run it. */
static void
require_worker(void)
{
	if (start_waiters_worker_serves())
		return;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("container_rollout needs the pg_container background worker, and none serves database \"%s\"",
					get_database_name(MyDatabaseId)),
			 errdetail("A rollout is carried out by the worker; without it the job would never start."),
			 errhint("Add pg_container to shared_preload_libraries and set pg_container.database to this database, or restart the users one by one with container_restart.")));
}

/*
 * container_rollout(image text, batch integer, max_failures integer,
 *					 canaries text[] DEFAULT NULL) returns bigint
 */
Datum
container_rollout(PG_FUNCTION_ARGS)
{
	char	   *image = image_arg(fcinfo, 0);
	int			batch;
	int			max_failures;
	List	   *canaries;
	List	   *canary_names = NIL;
	ListCell   *lc;
	int64		job;
	RolloutJob	unfinished;

	require_not_null(fcinfo, 1, "batch");
	require_not_null(fcinfo, 2, "max_failures");
	batch = PG_GETARG_INT32(1);
	max_failures = PG_GETARG_INT32(2);
	if (batch < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch must be at least 1, not %d", batch)));
	if (max_failures < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_failures must not be negative, not %d", max_failures)));
	canaries = canaries_arg(fcinfo, 3);

	store_open();
	check_canaries_exist(canaries);
	require_worker();
	foreach(lc, canaries)
		canary_names = lappend(canary_names, strVal(lfirst(lc)));
	if (!store_rollout_insert(image, batch, max_failures, canary_names, &job))
	{
		int64		other = store_rollout_unfinished(&unfinished) ? unfinished.job : 0;

		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("rollout job " INT64_FORMAT " is still running", other),
				 errdetail("One rollout runs at a time."),
				 errhint("Wait for it to end (container_rollout_progress), or stop it with container_rollout_cancel(" INT64_FORMAT ").",
						 other)));
	}
	store_close();
	/* The worker looks for jobs on each turn of its loop; a wake-up is not needed. */
	PG_RETURN_INT64(job);
}

/* container_rollout_cancel(job bigint) returns boolean */
Datum
container_rollout_cancel(PG_FUNCTION_ARGS)
{
	int64		job;
	int			asked;

	require_not_null(fcinfo, 0, "job");
	job = PG_GETARG_INT64(0);
	store_open();
	asked = store_rollout_cancel(job);
	store_close();
	if (asked < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rollout job " INT64_FORMAT " does not exist", job)));
	PG_RETURN_BOOL(asked == 1);
}
