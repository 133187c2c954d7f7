/*-------------------------------------------------------------------------
 *
 * start_waiters.c
 *	  The shared memory of background starts: which process is the worker
 *	  and in which database, so container_start queues only where someone
 *	  drains the queue and can wake it; and the condition variable on which
 *	  container_wait sleeps until the worker says a start ended.
 *
 * Nothing here is the queue itself: that is the table
 * container_start_request (start_queue.c), which outlives the worker and
 * the server.  Shared memory only saves polling: a backend that queued a
 * start sets the worker's latch once its transaction commits (before, the
 * worker could not see the request), and the worker broadcasts on the
 * condition variable after each start's end has committed, so waiters
 * read the table again.  A waiter that misses a broadcast only reads the
 * table at its next wake; none of this carries any state of its own.
 * The memory exists only when the library is preloaded, as the worker does.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"

#include "pg_compat.h"
#include "settings.h"
#include "start_waiters.h"

typedef struct StartShared
{
	slock_t		mutex;			/* guards the two fields below */
	Oid			worker_database;	/* InvalidOid while no worker runs */
	int			worker_procno;	/* its PGPROC number, for its latch */
	ConditionVariable start_ended;	/* broadcast after a start ends */
} StartShared;

static StartShared *start_shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* This backend queued a start in the open transaction: wake at commit. */
static bool wake_at_commit = false;
static bool xact_callback_registered = false;

static void
start_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(StartShared)));
}

static void
start_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	start_shared = ShmemInitStruct("pg_container start queue", sizeof(StartShared), &found);
	if (!found)
	{
		SpinLockInit(&start_shared->mutex);
		start_shared->worker_database = InvalidOid;
		start_shared->worker_procno = -1;
		ConditionVariableInit(&start_shared->start_ended);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* From _PG_init, while shared_preload_libraries is loaded. */
void
start_waiters_request_shmem(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = start_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = start_shmem_startup;
}

static void
worker_detach(int code, Datum arg)
{
	SpinLockAcquire(&start_shared->mutex);
	if (start_shared->worker_procno == pgc_procno_of(MyProc))
	{
		start_shared->worker_database = InvalidOid;
		start_shared->worker_procno = -1;
	}
	SpinLockRelease(&start_shared->mutex);
}

/* The worker, connected to its database: backends may queue from now on. */
void
start_waiters_worker_attach(void)
{
	SpinLockAcquire(&start_shared->mutex);
	start_shared->worker_database = MyDatabaseId;
	start_shared->worker_procno = pgc_procno_of(MyProc);
	SpinLockRelease(&start_shared->mutex);
	before_shmem_exit(worker_detach, (Datum) 0);
}

/*
 * Whether a worker serves this database to boot what is queued: the
 * library is preloaded (the worker runs) and pg_container.database names
 * this database.  Not whether the worker is up at this instant: one that
 * is restarting (bgw_restart_time is 1 s) comes back and drains the queue.
 */
bool
start_waiters_worker_serves(void)
{
	char	   *database;

	if (start_shared == NULL || pgc_database == NULL)
		return false;
	database = get_database_name(MyDatabaseId);
	return database != NULL && strcmp(database, pgc_database) == 0;
}

static void
wake_worker(void)
{
	int			procno;

	SpinLockAcquire(&start_shared->mutex);
	procno = start_shared->worker_procno;
	SpinLockRelease(&start_shared->mutex);
	if (procno >= 0)
		SetLatch(&GetPGProcByNumber(procno)->procLatch);
}

static void
wake_at_end_of_xact(XactEvent event, void *arg)
{
	if (!wake_at_commit)
		return;
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT)
		wake_worker();
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		wake_at_commit = false;
}

/*
 * Wake the worker once the open transaction commits, when the request it
 * wrote becomes visible; a rollback wakes nobody.
 */
void
start_waiters_wake_worker_at_commit(void)
{
	if (start_shared == NULL)
		return;
	if (!xact_callback_registered)
	{
		RegisterXactCallback(wake_at_end_of_xact, NULL);
		xact_callback_registered = true;
	}
	wake_at_commit = true;
}

/* The worker, after a start's end has committed: waiters look again. */
void
start_waiters_broadcast(void)
{
	if (start_shared != NULL)
		ConditionVariableBroadcast(&start_shared->start_ended);
}

/* Before the waiter's first look at the table, so no broadcast is lost. */
void
start_waiters_prepare(void)
{
	ConditionVariablePrepareToSleep(&start_shared->start_ended);
}

/*
 * Sleep until a start ends or timeout_ms pass (true: they passed).
 * Interrupts are served inside: a cancel ends the wait.
 */
bool
start_waiters_sleep(long timeout_ms)
{
	return ConditionVariableTimedSleep(&start_shared->start_ended, timeout_ms,
									   PG_WAIT_EXTENSION);
}

void
start_waiters_cancel(void)
{
	ConditionVariableCancelSleep();
}
