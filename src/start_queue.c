/*-------------------------------------------------------------------------
 *
 * start_queue.c
 *	  Cold starts that never hold the database: container_start, which
 *	  asks for a start and returns at once, container_wait, which waits for
 *	  one to end holding nothing, and the statements on the queue table
 *	  container_start_request that they and the worker (start_boot.c) run.
 *
 * container_start answers a user whose container is up as the hot ensure
 * does (a paused one is thawed, which takes milliseconds); any other is
 * queued: a row in container_start_request, committed with the caller's
 * transaction, after which the worker's latch is set.  The user's token
 * and port are the row's, decided now, so the caller can hand out the URL
 * at once; the worker boots the container on them.  container_wait reads
 * the table, never Docker, and sleeps on the condition variable the worker
 * broadcasts on after each start ends (start_waiters.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "container_store.h"
#include "event_journal.h"
#include "gateway.h"
#include "lifecycle.h"
#include "settings.h"
#include "start_queue.h"
#include "start_waiters.h"
#include "state_mirror.h"
#include "token_crypto.h"
#include "user_id_arg.h"

/* Longest sleep of container_wait between reads of the table. */
#define WAIT_RECHECK_MS 5000

PG_FUNCTION_INFO_V1(container_start);
PG_FUNCTION_INFO_V1(container_wait);

typedef struct QueueStatementDef
{
	const char *sql;			/* "@extschema@" stands for the schema */
	int			nargs;
	Oid			argtypes[5];
} QueueStatementDef;

#define REQ "@extschema@.container_start_request"

static const QueueStatementDef queue_statements[Q_COUNT] = {
	/* The position counts the queued requests ahead, first come first served. */
	[Q_LOOKUP] = {
		"SELECT r.state, u.container_name, u.gateway_port, u.gateway_token, u.status,"
		"       r.error_sqlstate, r.error_message, r.error_detail, r.error_hint,"
		"       CASE WHEN r.state = 'queued' THEN"
		"         (SELECT pg_catalog.count(*) FROM " REQ " q"
		"           WHERE q.state = 'queued'"
		"             AND (q.requested_at, q.user_id) <= (r.requested_at, r.user_id)) END,"
		"       r.requested_at"
		"  FROM @extschema@.user_container u LEFT JOIN " REQ " r ON r.user_id = u.user_id"
		" WHERE u.user_id = $1",
		1, {TEXTOID}
	},
	/* A failed request is asked for again; a pending one stays as it is. */
	[Q_ENQUEUE] = {
		"INSERT INTO " REQ " AS r (user_id) VALUES ($1)"
		" ON CONFLICT (user_id) DO UPDATE"
		"   SET state = 'queued', requested_at = pg_catalog.clock_timestamp(),"
		"       booting_since = NULL, failed_at = NULL, error_sqlstate = NULL,"
		"       error_message = NULL, error_detail = NULL, error_hint = NULL"
		" WHERE r.state = 'failed'",
		1, {TEXTOID}
	},
	[Q_FORGET_FAILED] = {
		"DELETE FROM " REQ " WHERE user_id = $1 AND state = 'failed'",
		1, {TEXTOID}
	},
	/* After a worker's restart: what it was booting is booted again. */
	[Q_RESET_STARTING] = {
		"UPDATE " REQ " SET state = 'queued', booting_since = NULL"
		" WHERE state = 'starting'",
		0, {InvalidOid}
	},
	[Q_NEXT_QUEUED] = {
		"SELECT user_id FROM " REQ
		" WHERE state = 'queued' ORDER BY requested_at, user_id LIMIT $1",
		1, {INT4OID}
	},
	/* Not for a user being removed: Q_DROP_QUEUED drops that request. */
	[Q_CLAIM] = {
		"UPDATE " REQ " r SET state = 'starting', booting_since = pg_catalog.now()"
		"  FROM @extschema@.user_container u"
		" WHERE r.user_id = $1 AND r.state = 'queued' AND u.user_id = r.user_id"
		"   AND u.status <> 'removing'",
		1, {TEXTOID}
	},
	[Q_DROP_QUEUED] = {
		"DELETE FROM " REQ " WHERE user_id = $1 AND state = 'queued'",
		1, {TEXTOID}
	},
	[Q_DONE] = {
		"DELETE FROM " REQ " WHERE user_id = $1 AND state = 'starting'",
		1, {TEXTOID}
	},
	[Q_FAILED] = {
		"UPDATE " REQ
		"   SET state = 'failed', failed_at = pg_catalog.now(), error_sqlstate = $2,"
		"       error_message = $3, error_detail = $4, error_hint = $5"
		" WHERE user_id = $1 AND state <> 'failed'",
		5, {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID}
	},
	/*
	 * Memory of the running and paused containers, each at its limit ($1:
	 * pg_container.memory_limit where its profile sets none), and of the
	 * user $2 about to be started.
	 */
	[Q_MEMORY_IN_USE] = {
		"SELECT COALESCE(pg_catalog.sum(COALESCE(p.memory_limit_mb, $1))"
		"         FILTER (WHERE u.status IN ('running', 'paused') AND u.user_id <> $2), 0),"
		"       COALESCE(pg_catalog.max(COALESCE(p.memory_limit_mb, $1)) FILTER (WHERE u.user_id = $2), $1)"
		"  FROM @extschema@.user_container u"
		"  LEFT JOIN @extschema@.container_profile p ON p.name = u.profile",
		2, {INT4OID, TEXTOID}
	},
	/*
	 * Idle users whose stop frees memory, first to go first: the paused,
	 * longest paused first, then the running not active for a minute,
	 * least recently active first.  None with a start pending, none a
	 * live lease holds (held_until is on the row, so a hold that commits
	 * while this waits for the row fails the recheck), none locked.
	 */
	[Q_IDLE_BY_AGE] = {
		"SELECT u.user_id, COALESCE(p.memory_limit_mb, $1)"
		"  FROM @extschema@.user_container u"
		"  LEFT JOIN @extschema@.container_profile p ON p.name = u.profile"
		" WHERE (u.status = 'paused' OR (u.status = 'running'"
		"        AND u.last_active_at < pg_catalog.now() - interval '1 minute'))"
		"   AND NOT coalesce(u.held_until > pg_catalog.now(), false)"
		"   AND NOT EXISTS (SELECT 1 FROM " REQ " r WHERE r.user_id = u.user_id)"
		" ORDER BY u.status = 'paused' DESC, u.paused_at, u.last_active_at NULLS FIRST"
		" FOR UPDATE OF u SKIP LOCKED",
		1, {INT4OID}
	},
};

static SPIPlanPtr queue_plans[Q_COUNT];
static Oid	queue_plans_namespace = InvalidOid;

/* Run a queue statement (the store open); returns the rows it processed. */
uint64
start_queue_run(QueueStatement stmt, Datum *values, const char *nulls)
{
	int			rc;

	if (queue_plans_namespace != store_namespace())
	{
		for (int i = 0; i < Q_COUNT; i++)
		{
			if (queue_plans[i] != NULL)
				SPI_freeplan(queue_plans[i]);
			queue_plans[i] = NULL;
		}
		queue_plans_namespace = store_namespace();
	}
	if (queue_plans[stmt] == NULL)
	{
		const QueueStatementDef *def = &queue_statements[stmt];
		SPIPlanPtr	plan = SPI_prepare(store_expand_schema(def->sql), def->nargs, (Oid *) def->argtypes);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_prepare failed for pg_container queue statement %d: %s",
				 (int) stmt, SPI_result_code_string(SPI_result));
		queue_plans[stmt] = plan;
	}
	rc = SPI_execute_plan(queue_plans[stmt], values, nulls, false, 0);
	if (rc < 0)
		elog(ERROR, "pg_container queue statement %d failed: %s",
			 (int) stmt, SPI_result_code_string(rc));
	return SPI_processed;
}

static char *
column(int col)
{
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col);
}

/* The user's row and start request; false if the user has no row. */
bool
start_queue_lookup(const char *user_id, QueuedStart *q)
{
	Datum		values[1] = {CStringGetTextDatum(user_id)};
	char	   *port;
	char	   *position;
	bool		isnull;

	memset(q, 0, sizeof(*q));
	if (start_queue_run(Q_LOOKUP, values, NULL) == 0)
		return false;
	q->state = column(1);
	q->container_name = column(2);
	port = column(3);
	q->port = port ? atoi(port) : 0;
	q->encrypted_token = column(4);
	q->status = column(5);
	q->error_sqlstate = column(6);
	q->error_message = column(7);
	q->error_detail = column(8);
	q->error_hint = column(9);
	position = column(10);
	q->position = position ? atoi(position) : 0;
	q->requested_at = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
														SPI_tuptable->tupdesc, 11, &isnull));
	if (isnull)
		q->requested_at = 0;
	return true;
}

/*
 * Refuse to queue where nobody drains the queue: without the worker (the
 * library not preloaded, say, with pg_cron running the sweeps) a request
 * would wait for ever.
 */
void
start_queue_require_worker(const char *function_name)
{
	char	   *database;

	if (start_waiters_worker_serves())
		return;
	database = get_database_name(MyDatabaseId);
	ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s needs the pg_container background worker, and none serves database \"%s\"",
						function_name, database),
				 errdetail("Starts are queued for the worker to boot; without it nobody would start them."),
				 errhint("Add pg_container to shared_preload_libraries and set pg_container.database to this database, or call container_ensure_running, which starts the container itself.")));
}

/* The (url, token, status) record of container_start and container_wait. */
static Datum
start_result(FunctionCallInfo fcinfo, const char *url, char *token, const char *status)
{
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	Datum		result;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = CStringGetTextDatum(url);
	values[1] = CStringGetTextDatum(token);
	values[2] = CStringGetTextDatum(status);
	result = HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
	explicit_bzero(token, strlen(token));
	return result;
}

/* What a pending request hands out: the row's URL and token, now. */
static void
pending_url_token(const char *user_id, const QueuedStart *q, char **url, char **token)
{
	*token = pgc_token_decrypt(q->encrypted_token, user_id);
	*url = gateway_url(q->container_name, q->port);
}

/*
 * Queue the start of a user whose row is locked (made if missing): give
 * the row its port now, so the URL handed out is the one it will serve.
 */
static void
enqueue(const char *user_id, char **url)
{
	Datum		values[1] = {CStringGetTextDatum(user_id)};
	QueuedStart q;
	int			port;

	(void) start_queue_run(Q_ENQUEUE, values, NULL);
	if (!start_queue_lookup(user_id, &q))
		elog(ERROR, "row of user \"%s\" vanished while its start was queued", user_id);
	port = q.port != 0 ? q.port : store_claim_free_port(user_id, NULL, 0);
	*url = gateway_url(q.container_name, port);
	record_event(user_id, "queued", NULL);
	start_waiters_wake_worker_at_commit();
}

/*
 * A start the worker asks of itself (a schedule's window opening): queue
 * the user's start unless one is pending or the container is running; a
 * paused one is queued too, and the boot thaws it.  The row is locked.
 * Touches nothing: being kept warm is not activity.  Returns whether it
 * queued one.
 */
bool
start_queue_request(const char *user_id)
{
	QueuedStart q;
	char	   *url;

	if (!start_queue_lookup(user_id, &q))
		return false;
	if (q.state != NULL && strcmp(q.state, "failed") != 0)
		return false;
	if (strcmp(q.status, "running") == 0)
		return false;
	enqueue(user_id, &url);
	return true;
}

/*
 * container_start's work: the status it reports, with the URL and the
 * plaintext token.  A pending request is touched and reported as it is.
 */
static const char *
start_or_queue(const char *user_id, char **url, char **token)
{
	QueuedStart q;
	Datum		values[1] = {CStringGetTextDatum(user_id)};

	if (start_queue_lookup(user_id, &q) && q.state != NULL &&
		strcmp(q.state, "failed") != 0)
	{
		store_touch(user_id, NULL);
		pending_url_token(user_id, &q, url, token);
		return q.state;
	}
	if (state_mirror_hot_ensure(user_id, url, token) ||
		lifecycle_ensure_if_up(user_id, url, token))
	{
		/* Up after all (started by hand, say): an old failure is moot. */
		if (q.state != NULL)
			(void) start_queue_run(Q_FORGET_FAILED, values, NULL);
		return "running";
	}
	enqueue(user_id, url);
	return "queued";
}

/*
 * container_start(user_id text, OUT url text, OUT token text, OUT status text)
 *
 * Returns at once: 'running' for a container that is up (a paused one is
 * thawed), else 'queued' or 'starting' for the worker's boot.
 */
Datum
container_start(PG_FUNCTION_ARGS)
{
	char	   *user_id = user_id_arg(fcinfo, 0);
	MemoryContext caller_context = CurrentMemoryContext;
	const char *status;
	char	   *url;
	char	   *token;
	char	   *plain;

	start_queue_require_worker("container_start");
	pgc_require_encryption_key();
	store_open();
	status = MemoryContextStrdup(caller_context, start_or_queue(user_id, &url, &token));
	url = MemoryContextStrdup(caller_context, url);
	plain = MemoryContextStrdup(caller_context, token);
	explicit_bzero(token, strlen(token));
	store_close();
	return start_result(fcinfo, url, plain, status);
}

/* The error a failed start recorded, raised again as it was raised then. */
static void
raise_recorded_failure(const QueuedStart *q)
{
	const char *s = q->error_sqlstate;
	int			sqlstate = ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE;

	if (s != NULL && strlen(s) == 5)
		sqlstate = MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4]);
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg_internal("%s", q->error_message ? q->error_message : "container start failed"),
			 q->error_detail ? errdetail_internal("%s", q->error_detail) : 0,
			 q->error_hint ? errhint("%s", q->error_hint) : 0));
}

/*
 * A wait that ran out.  03000 (SQL statement not yet complete): the start
 * goes on and may well succeed, so this is neither the start's failure
 * (which has its own SQLSTATE) nor a cancel (57014, which drivers take for
 * the caller's own wish); a caller that sees it waits again.
 */
static void
raise_wait_timeout(const char *user_id, const QueuedStart *q, long timeout_ms)
{
	ereport(ERROR,
			(errcode(ERRCODE_SQL_STATEMENT_NOT_YET_COMPLETE),
			 errmsg("start of the container of user \"%s\" did not end within %ld ms", user_id, timeout_ms),
			 strcmp(q->state, "queued") == 0 ?
			 errdetail("It is queued, at position %d, behind starts asked for earlier.", q->position) :
			 errdetail("The worker is booting it and waits for its gateway to answer."),
			 errhint("The start goes on in the background: call container_wait again, or LISTEN pg_container for its \"started\" or \"failed\" event.")));
}

/*
 * One look at the user's start: true, with the status to report, once it
 * has ended well; raises its error if it failed, or if nothing is pending
 * for a user whose container is not running.
 */
static bool
start_has_ended(const char *user_id, QueuedStart *q)
{
	if (!start_queue_lookup(user_id, q))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("user \"%s\" has no container", user_id),
				 errhint("Call container_start first.")));
	if (q->state != NULL && strcmp(q->state, "failed") == 0)
		raise_recorded_failure(q);
	if (q->state != NULL)
		return false;
	if (strcmp(q->status, "running") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no start of the container of user \"%s\" is pending", user_id),
				 errdetail("Its container is %s.", q->status),
				 errhint("Call container_start first.")));
	return true;
}

/*
 * Wait until the user's start ends, reading only the table, sleeping on
 * the worker's broadcast between reads and holding no lock meanwhile.
 */
static void
wait_for_start(const char *user_id, long timeout_ms, QueuedStart *q)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);

	start_waiters_prepare();
	for (;;)
	{
		long		remaining_ms;

		CHECK_FOR_INTERRUPTS();
		if (start_has_ended(user_id, q))
			break;
		remaining_ms = (long) ((deadline - GetCurrentTimestamp()) / 1000);
		if (remaining_ms <= 0)
			raise_wait_timeout(user_id, q, timeout_ms);
		(void) start_waiters_sleep(Min(remaining_ms, WAIT_RECHECK_MS));
	}
	start_waiters_cancel();
}

/* The timeout argument in milliseconds: not null, not negative. */
static long
timeout_arg_ms(FunctionCallInfo fcinfo, int argno)
{
	double		ms = interval_arg_ms(fcinfo, argno);

	if (ms < 0 || ms > (double) INT_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout must be between 0 and %d milliseconds", INT_MAX)));
	return (long) ms;
}

/*
 * container_wait(user_id text, timeout interval default '60 s',
 *				  OUT url text, OUT token text, OUT status text)
 *
 * Blocks until the user's background start ends: its URL and token with
 * status 'running' once the gateway answers, or the start's own error.
 */
Datum
container_wait(PG_FUNCTION_ARGS)
{
	char	   *user_id = user_id_arg(fcinfo, 0);
	long		timeout_ms = timeout_arg_ms(fcinfo, 1);
	MemoryContext caller_context = CurrentMemoryContext;
	QueuedStart q;
	char	   *url;
	char	   *token;
	char	   *plain;

	start_queue_require_worker("container_wait");
	pgc_require_encryption_key();
	/* Its reads must see the worker's commits: a snapshot per statement. */
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
				 errmsg("container_wait cannot run in a transaction of isolation level repeatable read or serializable"),
				 errdetail("Its snapshot would never see the worker end the start."),
				 errhint("Call it in a read committed transaction.")));
	store_open();
	wait_for_start(user_id, timeout_ms, &q);
	pending_url_token(user_id, &q, &url, &token);
	url = MemoryContextStrdup(caller_context, url);
	plain = MemoryContextStrdup(caller_context, token);
	explicit_bzero(token, strlen(token));
	store_close();
	return start_result(fcinfo, url, plain, "running");
}

/*
 * container_ensure_running's way round a start the queue has in hand:
 * wait for it (holding no lock, booting nothing twice) rather than boot
 * the container a second time in the caller's backend.  False, having
 * done nothing, if no worker serves this database or no start of the
 * user's is pending; then the caller ensures as ever.  The wait is bounded
 * by the boot's own limit with ten minutes in the queue before it.
 */
bool
start_queue_wait_if_pending(const char *user_id, char **url, char **token)
{
	QueuedStart q;

	if (!start_waiters_worker_serves() || IsolationUsesXactSnapshot())
		return false;
	if (!start_queue_lookup(user_id, &q) || q.state == NULL || strcmp(q.state, "failed") == 0)
		return false;
	wait_for_start(user_id, (long) pgc_ready_timeout_ms + 10 * 60 * 1000L, &q);
	store_touch(user_id, NULL);
	pending_url_token(user_id, &q, url, token);
	return true;
}
