/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The background worker: reaps idle containers and checks health on a
 *	  schedule, in the database named by pg_container.database.
 *
 * Each pass is its own short transaction, never one held across the sleep,
 * so the worker holds no snapshot or lock between passes.  A pass that
 * fails (Docker down, say) is logged and the next one tries again; one bad
 * pass never takes the worker down.  On start, and whenever the extension
 * appears in its database, it runs a health pass first, so rows left
 * 'running' by a crash or a dockerd restart are corrected at once.
 *
 * SIGTERM ends it (with a non-zero exit, so the postmaster brings it back
 * after bgw_restart_time); SIGHUP reloads the configuration, also while it
 * waits on a slow engine, through the transport's wait hook.  It waits
 * quietly, with a single LOG line, while the extension is not installed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "lib/stringinfo.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "container_store.h"
#include "docker_http.h"
#include "settings.h"
#include "state_mirror.h"
#include "sweeps.h"
#include "worker.h"

/* How often to look again for the extension while it is not installed. */
#define EXTENSION_POLL_MS 5000

/* Longest sleep with both sweeps off, so a reload is never far away. */
#define IDLE_SLEEP_MS 60000

typedef enum WorkerPass
{
	PASS_REAP,
	PASS_HEALTH
} WorkerPass;

PGDLLEXPORT void pgc_worker_main(Datum main_arg);

static MemoryContext pass_context = NULL;

void
pgc_register_worker(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 1;
	strlcpy(worker.bgw_library_name, "pg_container", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "pgc_worker_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "pg_container worker", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "pg_container worker", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

static void
reload_configuration(void)
{
	double		old_reap = pgc_reap_interval_s;
	double		old_health = pgc_health_check_interval_s;

	ConfigReloadPending = false;
	ProcessConfigFile(PGC_SIGHUP);
	if (old_reap != pgc_reap_interval_s || old_health != pgc_health_check_interval_s)
		ereport(LOG,
				(errmsg("pg_container worker: reap_interval is now %g s, health_check_interval %g s",
						pgc_reap_interval_s, pgc_health_check_interval_s)));
}

/*
 * Called between polls while a Docker request is in flight: act on a
 * reload now rather than after a slow engine answers.
 */
static void
worker_wait_hook(void)
{
	if (ConfigReloadPending)
		reload_configuration();
}

/*
 * The schema the extension is installed in, or InvalidOid.  Read from the
 * catalog directly, not through SPI, so polling for it while it is absent
 * leaves no trace in pg_stat_statements.  Call inside a transaction.
 */
Oid
worker_extension_namespace(void)
{
	Oid			extension_oid = get_extension_oid("pg_container", true);
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			namespace_oid = InvalidOid;

	if (!OidIsValid(extension_oid))
		return InvalidOid;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(extension_oid));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		namespace_oid = ((Form_pg_extension) GETSTRUCT(tuple))->extnamespace;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return namespace_oid;
}

/*
 * Record a failed pass in container_event, in a transaction of its own
 * (the pass's was rolled back).  Best effort: if even this fails, the
 * server log already has the error.
 */
static void
record_pass_failure(Oid namespace_oid, WorkerPass pass, const char *message)
{
	StringInfoData detail;

	initStringInfo(&detail);
	appendStringInfo(&detail, "{\"pass\": \"%s\", \"message\": ", pass == PASS_REAP ? "reap" : "health");
	escape_json(&detail, message);
	appendStringInfoChar(&detail, '}');

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	PG_TRY();
	{
		store_open(namespace_oid);
		store_event(NULL, "error", detail.data);
		store_close();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		HOLD_INTERRUPTS();
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
		RESUME_INTERRUPTS();
	}
	PG_END_TRY();
}

/*
 * Run one pass in its own transaction.  Returns false if the extension is
 * not installed.  Errors are reported, recorded and swallowed: the next
 * pass retries.  Each pass also prunes events past their retention.
 */
static bool
run_pass(WorkerPass pass)
{
	volatile bool installed = true;
	volatile Oid namespace_oid = InvalidOid;
	char	   *volatile failure = NULL;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	MemoryContextSwitchTo(pass_context);

	PG_TRY();
	{
		namespace_oid = worker_extension_namespace();
		if (!OidIsValid(namespace_oid))
			installed = false;
		else
		{
			pgstat_report_activity(STATE_RUNNING,
									pass == PASS_REAP ? "pg_container: reaping idle containers"
									: "pg_container: checking container health");
			store_open(namespace_oid);
			if (pass == PASS_REAP)
				(void) sweep_reap_idle(pass_context);
			else if (state_mirror_connected())
				(void) state_mirror_resync_pass();	/* the events keep health */
			else
				(void) sweep_health_check(pass_context);
			(void) store_prune_events(pgc_event_retention_min);
			store_close();
		}
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		HOLD_INTERRUPTS();
		MemoryContextSwitchTo(pass_context);
		edata = CopyErrorData();
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
		RESUME_INTERRUPTS();
		failure = edata->message;
	}
	PG_END_TRY();

	if (failure != NULL && OidIsValid(namespace_oid))
		record_pass_failure(namespace_oid, pass, failure);

	/* Let autovacuum see what the pass wrote. */
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	MemoryContextSwitchTo(TopMemoryContext);
	MemoryContextReset(pass_context);
	return installed;
}

static long
ms_until(TimestampTz when, TimestampTz now)
{
	return when <= now ? 0 : (long) ((when - now) / 1000);
}

/* When a sweep with the given interval (seconds) is next due. */
static TimestampTz
next_due(TimestampTz last, double interval_s)
{
	return last + (TimestampTz) (interval_s * USECS_PER_SEC);
}

void
pgc_worker_main(Datum main_arg)
{
	TimestampTz last_reap = 0;
	TimestampTz last_health = 0;
	bool		serving = false;
	bool		said_waiting = false;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnection(pgc_database, NULL, 0);
	pgstat_report_appname("pg_container worker");
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);

	pass_context = AllocSetContextCreate(TopMemoryContext, "pg_container worker pass",
										 ALLOCSET_DEFAULT_SIZES);
	docker_wait_hook = worker_wait_hook;
	state_mirror_init();

	ereport(LOG,
			(errmsg("pg_container worker started in database \"%s\"", pgc_database)));

	for (;;)
	{
		TimestampTz now;
		long		sleep_ms;

		/* A cancel between passes has nothing to cancel (one during a pass ends it). */
		QueryCancelPending = false;
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
			reload_configuration();

		now = GetCurrentTimestamp();
		if (!serving)
		{
			/* On start or when the extension appears: correct stale rows first. */
			if (run_pass(PASS_HEALTH))
			{
				serving = true;
				said_waiting = false;
				last_health = last_reap = now;
				ereport(LOG,
						(errmsg("pg_container worker serving database \"%s\"", pgc_database)));
			}
			else if (!said_waiting)
			{
				said_waiting = true;
				ereport(LOG,
						(errmsg("pg_container worker waiting for CREATE EXTENSION pg_container in database \"%s\"",
								pgc_database)));
			}
		}
		else
		{
			if (pgc_reap_interval_s > 0 && now >= next_due(last_reap, pgc_reap_interval_s))
			{
				serving = run_pass(PASS_REAP);
				last_reap = GetCurrentTimestamp();
			}
			if (serving && pgc_health_check_interval_s > 0 &&
				now >= next_due(last_health, pgc_health_check_interval_s))
			{
				state_mirror_drain();
				serving = run_pass(PASS_HEALTH);
				last_health = GetCurrentTimestamp();
			}
		}

		/* Sleep until the next pass is due, a signal, or the postmaster dies. */
		now = GetCurrentTimestamp();
		if (!serving)
			sleep_ms = EXTENSION_POLL_MS;
		else
		{
			sleep_ms = IDLE_SLEEP_MS;
			if (pgc_reap_interval_s > 0)
				sleep_ms = Min(sleep_ms, ms_until(next_due(last_reap, pgc_reap_interval_s), now));
			if (pgc_health_check_interval_s > 0)
				sleep_ms = Min(sleep_ms, ms_until(next_due(last_health, pgc_health_check_interval_s), now));
		}
		if (!serving || !pgc_event_stream)
			state_mirror_stop();
		if (sleep_ms > 0 && serving && pgc_event_stream)
			state_mirror_run(sleep_ms); /* follows the engine meanwhile */
		else if (sleep_ms > 0)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 sleep_ms, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
	}
}
