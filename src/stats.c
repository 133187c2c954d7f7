/*-------------------------------------------------------------------------
 *
 * stats.c
 *	  Per-operation statistics, kept in shared memory like
 *	  pg_stat_statements' counters: calls, time, engine requests and errors
 *	  by SQLSTATE for each lifecycle operation, read through the view
 *	  container_stat_operations and cleared by container_stat_reset().
 *
 * The SQL entry points wrap their body in stats_measure(), the one place a
 * call is counted.  An ensure starts as a hot ensure and is reclassified by
 * lifecycle.c (stats_classify) when it has to start or unpause a container,
 * so a cold start's time never inflates the hot path's mean.
 *
 * Every call is counted, a failed one too (its time included), so errors
 * divided by calls is the failure rate.  One spinlock guards all counters:
 * an update is a few additions after a call that took milliseconds of
 * Docker round trips, so there is nothing to contend for.  Without
 * shared_preload_libraries there is no shared memory: the calls run
 * unmeasured and the view raises an error saying so.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "docker_http.h"
#include "stats.h"

/* SQLSTATEs kept apart per operation; more are added up under "other". */
#define STATS_SQLSTATE_SLOTS 16

typedef struct OperationCounters
{
	int64		calls;
	double		total_ms;
	double		max_ms;
	int64		engine_requests;
	int			sqlstate_count; /* slots in use */
	int			sqlstates[STATS_SQLSTATE_SLOTS];
	int64		errors[STATS_SQLSTATE_SLOTS];
	int64		other_errors;	/* SQLSTATEs past the slots */
} OperationCounters;

typedef struct StatsShared
{
	slock_t		mutex;
	OperationCounters ops[PGC_OP_COUNT];
} StatsShared;

/* The view's names, in PgcOperation's order. */
static const char *const operation_names[PGC_OP_COUNT] = {
	"hot ensure", "cold start", "resume", "stop", "restart",
	"reap", "health", "touch", "backup"
};

/* One call being measured in this backend. */
typedef struct MeasuredCall
{
	PgcOperation op;
	instr_time	started;
	uint64		requests_before;
} MeasuredCall;

static StatsShared *stats_shared = NULL;
static MeasuredCall *current_call = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
stats_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(StatsShared)));
}

static void
stats_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	stats_shared = ShmemInitStruct("pg_container statistics", sizeof(StatsShared), &found);
	if (!found)
	{
		memset(stats_shared, 0, sizeof(StatsShared));
		SpinLockInit(&stats_shared->mutex);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* From _PG_init, while shared_preload_libraries is processed. */
void
stats_request_shmem(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = stats_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = stats_shmem_startup;
}

/* Count one error of the given SQLSTATE; the caller holds the mutex. */
static void
count_error(OperationCounters *c, int sqlerrcode)
{
	for (int i = 0; i < c->sqlstate_count; i++)
	{
		if (c->sqlstates[i] == sqlerrcode)
		{
			c->errors[i]++;
			return;
		}
	}
	if (c->sqlstate_count == STATS_SQLSTATE_SLOTS)
	{
		c->other_errors++;
		return;
	}
	c->sqlstates[c->sqlstate_count] = sqlerrcode;
	c->errors[c->sqlstate_count++] = 1;
}

/*
 * Add a finished call to the shared counters.  sqlerrcode is 0 for a call
 * that succeeded.  No error can be raised here: it runs in a PG_CATCH.
 */
static void
record_call(const MeasuredCall *call, int sqlerrcode)
{
	instr_time	elapsed;
	double		ms;
	OperationCounters *c;

	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, call->started);
	ms = INSTR_TIME_GET_MILLISEC(elapsed);

	SpinLockAcquire(&stats_shared->mutex);
	c = &stats_shared->ops[call->op];
	c->calls++;
	c->total_ms += ms;
	c->max_ms = Max(c->max_ms, ms);
	c->engine_requests += (int64) (docker_requests_started() - call->requests_before);
	if (sqlerrcode != 0)
		count_error(c, sqlerrcode);
	SpinLockRelease(&stats_shared->mutex);
}

Datum
stats_measure(PgcOperation op, PGFunction body, FunctionCallInfo fcinfo)
{
	MeasuredCall call;
	MeasuredCall *outer = current_call;
	Datum		result;

	if (stats_shared == NULL)
		return body(fcinfo);

	call.op = op;
	call.requests_before = docker_requests_started();
	INSTR_TIME_SET_CURRENT(call.started);
	current_call = &call;
	PG_TRY();
	{
		result = body(fcinfo);
	}
	PG_CATCH();
	{
		current_call = outer;
		record_call(&call, geterrcode());
		PG_RE_THROW();
	}
	PG_END_TRY();
	current_call = outer;
	record_call(&call, 0);
	return result;
}

void
stats_classify(PgcOperation op)
{
	if (current_call != NULL && current_call->op == PGC_OP_HOT_ENSURE)
		current_call->op = op;
}

static void
require_shared_memory(void)
{
	if (stats_shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_container must be loaded via \"shared_preload_libraries\" to keep statistics"),
				 errhint("Add pg_container to shared_preload_libraries and restart the server.")));
}

/* {"SQLSTATE": count, ...} of one operation's errors, as jsonb. */
static Datum
errors_jsonb(const OperationCounters *c)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < c->sqlstate_count; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, unpack_sql_state(c->sqlstates[i]));
		appendStringInfo(&buf, ": " INT64_FORMAT, c->errors[i]);
	}
	if (c->other_errors > 0)
		appendStringInfo(&buf, "%s\"other\": " INT64_FORMAT,
						 c->sqlstate_count > 0 ? ", " : "", c->other_errors);
	appendStringInfoChar(&buf, '}');
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
}

/*
 * container_stat_operations_rows()
 *		returns table(operation text, calls bigint, total_ms double precision,
 *					  mean_ms double precision, max_ms double precision,
 *					  engine_requests bigint, errors jsonb)
 */
PG_FUNCTION_INFO_V1(container_stat_operations_rows);
Datum
container_stat_operations_rows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	OperationCounters copy[PGC_OP_COUNT];

	require_shared_memory();
	InitMaterializedSRF(fcinfo, 0);

	SpinLockAcquire(&stats_shared->mutex);
	memcpy(copy, stats_shared->ops, sizeof(copy));
	SpinLockRelease(&stats_shared->mutex);

	for (int op = 0; op < PGC_OP_COUNT; op++)
	{
		const OperationCounters *c = &copy[op];
		Datum		values[7];
		bool		nulls[7] = {false, false, false, c->calls == 0, false, false, false};

		values[0] = CStringGetTextDatum(operation_names[op]);
		values[1] = Int64GetDatum(c->calls);
		values[2] = Float8GetDatum(c->total_ms);
		values[3] = c->calls > 0 ? Float8GetDatum(c->total_ms / c->calls) : (Datum) 0;
		values[4] = Float8GetDatum(c->max_ms);
		values[5] = Int64GetDatum(c->engine_requests);
		values[6] = errors_jsonb(c);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* container_stat_reset() returns void */
PG_FUNCTION_INFO_V1(container_stat_reset);
Datum
container_stat_reset(PG_FUNCTION_ARGS)
{
	require_shared_memory();
	SpinLockAcquire(&stats_shared->mutex);
	memset(stats_shared->ops, 0, sizeof(stats_shared->ops));
	SpinLockRelease(&stats_shared->mutex);
	PG_RETURN_VOID();
}
