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
 * after bgw_restart_time).  SIGHUP reloads the configuration at the top of
 * the loop only, between passes: a pass runs to its end with the engine,
 * docker_host and name_prefix it started with, so a sweep never lists on
 * one engine and stops on another.  Following the events, the worker
 * returns to the top of the loop for the reload at once.  A cancel
 * (pg_cancel_backend) ends what the worker is doing, never the worker.
 * It waits quietly, with a single LOG line, while the extension is not
 * installed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "backup_schedule.h"
#include "container_store.h"
#include "docker_http.h"
#include "max_age.h"
#include "own_transaction.h"
#include "removals.h"
#include "rollout.h"
#include "settings.h"
#include "start_queue.h"
#include "start_waiters.h"
#include "state_mirror.h"
#include "sweeps.h"
#include "worker.h"

/* How often to look again for the extension while it is not installed. */
#define EXTENSION_POLL_MS 5000

/* Longest sleep with both sweeps off, so a reload is never far away. */
#define IDLE_SLEEP_MS 60000

/* How soon a committed container_remove is carried out (removals.c). */
#define REMOVAL_POLL_MS 1000

/* How often booting gateways are probed (start_boot.c). */
#define BOOT_POLL_MS 100

/* How often the worker looks for a user due for a scheduled backup. */
#define BACKUP_LOOK_MS 60000

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

static void
record_failure_txn(void *arg)
{
	store_event(NULL, "error", (const char *) arg);
}

/*
 * Record a failed pass in container_event, in a transaction of its own
 * (the pass's was rolled back).  Best effort: if even this fails, the
 * server log already has the error.
 */
static void
record_pass_failure(WorkerPass pass, const char *message)
{
	StringInfoData detail;

	initStringInfo(&detail);
	appendStringInfo(&detail, "{\"pass\": \"%s\", \"message\": ", pass == PASS_REAP ? "reap" : "health");
	escape_json(&detail, message);
	appendStringInfoChar(&detail, '}');
	(void) in_own_transaction(record_failure_txn, detail.data, OWN_TXN_REQUIRE, NULL, NULL);
}

/* A pass, in the transaction in_own_transaction gives it, store open. */
static void
run_pass_txn(void *arg)
{
	WorkerPass	pass = *(WorkerPass *) arg;

	pgstat_report_activity(STATE_RUNNING,
							pass == PASS_REAP ? "pg_container: reaping idle containers"
							: "pg_container: checking container health");
	if (pass == PASS_REAP)
		(void) sweep_reap_idle(pass_context);
	else if (state_mirror_connected())
		(void) state_mirror_resync_pass();	/* the events keep health */
	else
		(void) sweep_health_check(pass_context);
	(void) store_prune_events(pgc_event_retention_min);
}

/*
 * Run one pass in its own transaction (own_transaction.c).  Returns false
 * if the extension is not installed at the library's version.  Errors are
 * reported, recorded (but for a cancel) and swallowed: the next pass
 * retries.  Each pass also prunes events past their retention.
 */
static bool
run_pass(WorkerPass pass)
{
	ErrorData  *failure = NULL;
	OwnTransactionResult result;

	MemoryContextSwitchTo(pass_context);
	result = in_own_transaction(run_pass_txn, &pass, OWN_TXN_WAIT_FOR_UPDATE, pass_context, &failure);
	/* A cancel is someone's wish, not the pass failing: the log has it. */
	if (result == OWN_TXN_FAILED && failure->sqlerrcode != ERRCODE_QUERY_CANCELED)
		record_pass_failure(pass, failure->message);

	/* Let autovacuum see what the pass wrote. */
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	MemoryContextSwitchTo(TopMemoryContext);
	MemoryContextReset(pass_context);
	return result != OWN_TXN_NOT_SERVED;
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

/* Where the worker's loop stands between passes. */
typedef struct WorkerLoop
{
	TimestampTz last_reap;
	TimestampTz last_health;
	bool		serving;		/* the extension is there and the last pass ran */
	bool		said_waiting;	/* "waiting for CREATE EXTENSION" is logged */
	bool		booting;		/* the start queue has gateways booting */
	bool		rolling;		/* a rollout job has steps left */
	bool		aging;			/* gateways past max_age may be due */
	bool		backing;		/* a scheduled backup may be due */
	TimestampTz last_backup_look;
} WorkerLoop;

/*
 * Not serving yet: try a health pass, which also corrects rows left stale
 * while no worker ran, and start serving if the extension is there.
 */
static void
try_to_serve(WorkerLoop *loop, TimestampTz now)
{
	if (run_pass(PASS_HEALTH))
	{
		loop->serving = true;
		loop->said_waiting = false;
		loop->last_health = loop->last_reap = now;
		ereport(LOG,
				(errmsg("pg_container worker serving database \"%s\"", pgc_database)));
	}
	else if (!loop->said_waiting && !store_waiting_for_update())
	{
		loop->said_waiting = true;
		ereport(LOG,
				(errmsg("pg_container worker waiting for CREATE EXTENSION pg_container in database \"%s\"",
						pgc_database)));
	}
}

/* Run the reap and the health pass if they are due. */
/*
 * Between two passes, and between two creates of the start queue's round:
 * act on the engine events the stream already holds.  The mirror reads the
 * stream mostly while the worker sleeps; a long pass (stops of many users,
 * a round of creates) would otherwise leave the table behind Docker for the
 * whole pass.
 */
static void
follow_events_between_steps(void)
{
	if (state_mirror_enabled())
		state_mirror_drain();
}

static void
run_due_passes(WorkerLoop *loop, TimestampTz now)
{
	if (pgc_reap_interval_s > 0 && now >= next_due(loop->last_reap, pgc_reap_interval_s))
	{
		loop->serving = run_pass(PASS_REAP);
		loop->last_reap = GetCurrentTimestamp();
		/* After each sweep, one restart a turn until none is due. */
		loop->aging = loop->serving;
	}
	if (loop->serving && pgc_health_check_interval_s > 0 &&
		now >= next_due(loop->last_health, pgc_health_check_interval_s))
	{
		follow_events_between_steps();
		loop->serving = run_pass(PASS_HEALTH);
		loop->last_health = GetCurrentTimestamp();
	}
}

/*
 * A scheduled backup, one a turn while some are due, else a look once a
 * BACKUP_LOOK_MS (and after each reload, which may have set the interval).
 */
static void
run_scheduled_backups(WorkerLoop *loop)
{
	if (pgc_backup_interval_min <= 0)
		return;
	if (!loop->backing &&
		GetCurrentTimestamp() < TimestampTzPlusMilliseconds(loop->last_backup_look, BACKUP_LOOK_MS))
		return;
	follow_events_between_steps();
	loop->backing = backup_worker_pass();
	loop->last_backup_look = GetCurrentTimestamp();
}

/*
 * Wait until the next pass is due, a signal, or the postmaster dies; while
 * serving with the event stream on, follow the engine's events meanwhile.
 */
static void
wait_for_next_pass(const WorkerLoop *loop)
{
	TimestampTz now = GetCurrentTimestamp();
	long		sleep_ms = IDLE_SLEEP_MS;

	if (!loop->serving)
		sleep_ms = EXTENSION_POLL_MS;
	else
	{
		sleep_ms = REMOVAL_POLL_MS;
		if (pgc_reap_interval_s > 0)
			sleep_ms = Min(sleep_ms, ms_until(next_due(loop->last_reap, pgc_reap_interval_s), now));
		if (pgc_health_check_interval_s > 0)
			sleep_ms = Min(sleep_ms, ms_until(next_due(loop->last_health, pgc_health_check_interval_s), now));
		if (loop->booting || loop->rolling || loop->aging || loop->backing)
			sleep_ms = Min(sleep_ms, BOOT_POLL_MS);
	}
	if (!loop->serving || !state_mirror_enabled())
		state_mirror_stop();
	if (sleep_ms <= 0)
		return;
	if (loop->serving && state_mirror_enabled())
		state_mirror_run(sleep_ms);
	else
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 sleep_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/*
 * The worker's top-level error recovery, as PostgresMain's sigsetjmp block
 * is a backend's: an ERROR that no pass caught (a cancel while following
 * the engine's events, say) is reported, the transaction it may have been
 * in is aborted whole, the error state flushed and memory reset, and the
 * loop starts again from its top.  This is not the forbidden PG_CATCH that
 * carries on inside the transaction that failed (which would need a
 * subtransaction): nothing of the failed work survives, the transaction
 * and all it held are released before anything else runs.  Without it, an
 * ERROR outside any PG_TRY becomes FATAL and the worker exits.  A FATAL
 * (SIGTERM) never comes here.
 */
static void
recover_at_top_level(void)
{
	/* Since not using PG_TRY, reset the error stack by hand. */
	error_context_stack = NULL;
	HOLD_INTERRUPTS();
	EmitErrorReport();
	AbortOutOfAnyTransaction();
	/* The event stream may have been half read: list again. */
	state_mirror_after_error();
	MemoryContextSwitchTo(TopMemoryContext);
	FlushErrorState();
	MemoryContextReset(pass_context);
	pgstat_report_activity(STATE_IDLE, NULL);
	RESUME_INTERRUPTS();
}

void
pgc_worker_main(Datum main_arg)
{
	/* static: kept as it is across the longjmp of an error */
	static WorkerLoop loop;
	sigjmp_buf	local_sigjmp_buf;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnection(pgc_database, NULL, 0);
	pgstat_report_appname("pg_container worker");
	/* container_start queues only once a worker is there to wake */
	start_waiters_worker_attach();
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);

	pass_context = AllocSetContextCreate(TopMemoryContext, "pg_container worker pass",
										 ALLOCSET_DEFAULT_SIZES);
	state_mirror_init();

	ereport(LOG,
			(errmsg("pg_container worker started in database \"%s\"", pgc_database)));

	if (sigsetjmp(local_sigjmp_buf, 1) != 0)
		recover_at_top_level();
	PG_exception_stack = &local_sigjmp_buf;

	for (;;)
	{
		/* What set the latch is seen to below: a start queued, say. */
		ResetLatch(MyLatch);
		/* A cancel between passes has nothing to cancel (one during a pass ends it). */
		QueryCancelPending = false;
		CHECK_FOR_INTERRUPTS();
		/* The only place the configuration changes: between passes. */
		if (ConfigReloadPending)
		{
			reload_configuration();
			loop.backing = true;
		}

		if (!loop.serving)
			try_to_serve(&loop, GetCurrentTimestamp());
		else
			run_due_passes(&loop, GetCurrentTimestamp());
		if (loop.serving)
		{
			follow_events_between_steps();
			removals_worker_pass();
			follow_events_between_steps();
			loop.booting = start_boot_pass(follow_events_between_steps);
			follow_events_between_steps();
			loop.rolling = rollout_worker_pass();
			if (loop.aging)
			{
				follow_events_between_steps();
				loop.aging = max_age_worker_pass();
			}
			run_scheduled_backups(&loop);
		}
		wait_for_next_pass(&loop);
	}
}
