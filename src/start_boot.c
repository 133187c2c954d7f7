/*-------------------------------------------------------------------------
 *
 * start_boot.c
 *	  The worker's side of the start queue: booting the starts that
 *	  container_start queued, at most pg_container.max_concurrent_starts at
 *	  once, in the order they were asked for.
 *
 * Each boot is two steps.  Creating and starting the container is one
 * short transaction per user (the request marked 'starting', the ensure
 * without its readiness wait, committed), so the user's row is locked for
 * the Docker calls only.  Then every booting gateway is probed together,
 * each probe with a short limit, each pass of the worker's loop, until it
 * answers ('started', the request deleted) or pg_container.ready_timeout
 * passes (the error today's synchronous ensure raises, recorded on the
 * request and as a 'failed' event), and between two creates of a round, so
 * that a gateway that answers is not kept waiting for the round to end.
 * One slow or failing boot therefore holds up nobody else's.  Waiters are woken after each end commits.
 *
 * A worker that dies mid-boot loses nothing: its 'starting' requests are
 * queued again when the next one begins, at their place, and booting
 * again adopts the container the first boot made (its name is the
 * user's, its token the row's), so nobody is started twice.  A user
 * removed meanwhile is not booted: the request goes with the row, or is
 * dropped when the row is marked for removal.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "container_store.h"
#include "docker_http.h"
#include "event_journal.h"
#include "gateway.h"
#include "lifecycle.h"
#include "own_transaction.h"
#include "settings.h"
#include "start_queue.h"
#include "start_waiters.h"

/* The limit of one readiness probe: all booting gateways share a round. */
#define PROBE_TIMEOUT_MS 500

/*
 * While an admission round creates containers one after another (each a
 * second or more of Docker calls), the gateways booted earlier in it are
 * probed between two creates, at most this often: a gateway that answers
 * is marked started, and frees its place, without waiting for the round.
 */
#define PROBE_BETWEEN_BOOTS_MS 250

/* A start between its container's start and its gateway's answer. */
typedef struct Booting
{
	char	   *user_id;
	LifecycleBoot boot;
	TimestampTz deadline;
	TimestampTz next_look;		/* when an unanswered gateway is inspected */
} Booting;

static MemoryContext boot_context = NULL;	/* the Booting entries */
static List *booting = NIL;
static bool requeued = false;	/* 'starting' left by a previous worker */
static TimestampTz last_probe = 0;	/* the last round of probe_booting */

static void probe_booting(void);

/*
 * Run fn in a transaction of its own (own_transaction.c), in the caller's
 * memory context; the error, if any, copied there.
 */
static ErrorData *
boot_transaction(void (*fn) (void *), void *arg)
{
	ErrorData  *failure = NULL;

	(void) in_own_transaction(fn, arg, OWN_TXN_WAIT_FOR_UPDATE, CurrentMemoryContext, &failure);
	return failure;
}

static void
requeue_starting(void *arg)
{
	(void) start_queue_run(Q_RESET_STARTING, NULL, NULL);
}

typedef struct QueuedList
{
	int			limit;
	MemoryContext result_context;
	List	   *user_ids;
} QueuedList;

static void
list_queued(void *arg)
{
	QueuedList *l = arg;
	Datum		values[1] = {Int32GetDatum(l->limit)};
	uint64		n = start_queue_run(Q_NEXT_QUEUED, values, NULL);
	MemoryContext spi_context = MemoryContextSwitchTo(l->result_context);

	for (uint64 i = 0; i < n; i++)
		l->user_ids = lappend(l->user_ids,
							  SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
	MemoryContextSwitchTo(spi_context);
}

/* What a transaction of a boot hands back. */
typedef struct BootStep
{
	const char *user_id;
	Booting    *b;				/* in boot_context */
	bool		claimed;
	bool		held_back;		/* no room within the memory budget */
	ErrorData  *failure;		/* for record_failure */
	bool		ended;			/* Q_DONE or Q_FAILED found the request */
} BootStep;

static char *
copy_in_boot_context(const char *s)
{
	return s ? MemoryContextStrdup(boot_context, s) : NULL;
}

/* Mark the request 'starting' and start the container; drop a removed user's. */
static void
claim_and_start(void *arg)
{
	BootStep   *step = arg;
	Datum		values[1] = {CStringGetTextDatum(step->user_id)};
	LifecycleBoot boot;

	if (!start_admission_make_room(step->user_id))
	{
		step->held_back = true;
		return;
	}
	if (start_queue_run(Q_CLAIM, values, NULL) == 0)
	{
		(void) start_queue_run(Q_DROP_QUEUED, values, NULL);
		return;
	}
	step->claimed = true;
	lifecycle_start_unready(step->user_id, &boot);
	step->b->boot.container_id = copy_in_boot_context(boot.container_id);
	step->b->boot.container_name = copy_in_boot_context(boot.container_name);
	step->b->boot.port = boot.port;
	step->b->boot.node = copy_in_boot_context(boot.node);
	step->b->boot.token = copy_in_boot_context(boot.token);
	step->b->boot.must_wait = boot.must_wait;
	explicit_bzero(boot.token, strlen(boot.token));
}

static void
record_started(void *arg)
{
	BootStep   *step = arg;
	Datum		values[1] = {CStringGetTextDatum(step->user_id)};

	step->ended = start_queue_run(Q_DONE, values, NULL) > 0;
	if (step->ended)
		record_event(step->user_id, "started",
					 event_detail("container", step->b->boot.container_id, NULL));
}

/* The failure on the request and as an event, with what the error said. */
static void
record_failure(void *arg)
{
	BootStep   *step = arg;
	ErrorData  *e = step->failure;
	char	   *sqlstate = unpack_sql_state(e->sqlerrcode);
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', e->detail ? ' ' : 'n', e->hint ? ' ' : 'n'};

	values[0] = CStringGetTextDatum(step->user_id);
	values[1] = CStringGetTextDatum(sqlstate);
	values[2] = CStringGetTextDatum(e->message ? e->message : "");
	values[3] = e->detail ? CStringGetTextDatum(e->detail) : (Datum) 0;
	values[4] = e->hint ? CStringGetTextDatum(e->hint) : (Datum) 0;
	step->ended = start_queue_run(Q_FAILED, values, nulls) > 0;
	if (step->ended)
		record_event(step->user_id, "failed",
					 event_detail("message", e->message, "detail", e->detail,
								  "sqlstate", sqlstate, NULL));
}

/* End a start, either way, and wake whoever waits for it. */
static void
end_start(BootStep *step, ErrorData *failure)
{
	step->failure = failure;
	if (boot_transaction(failure ? record_failure : record_started, step) != NULL)
		return;					/* logged; the next worker requeues it */
	start_waiters_broadcast();
}

/*
 * Boot one queued user up to its readiness wait; false if the starts
 * behind it must wait: the worker was cancelled meanwhile (the request
 * stays queued, its claim rolled back), or it does not fit the memory
 * budget yet.
 */
static bool
boot_one(const char *user_id)
{
	BootStep	step = {user_id, NULL, false, false, NULL, false};
	ErrorData  *failure;

	step.b = MemoryContextAllocZero(boot_context, sizeof(Booting));
	step.b->user_id = copy_in_boot_context(user_id);
	failure = boot_transaction(claim_and_start, &step);
	if ((failure != NULL && failure->sqlerrcode == ERRCODE_QUERY_CANCELED) || step.held_back)
		return false;
	if (failure != NULL)
		end_start(&step, failure);
	else if (step.claimed && !step.b->boot.must_wait)
		end_start(&step, NULL);
	else if (step.claimed)
	{
		MemoryContext old = MemoryContextSwitchTo(boot_context);

		step.b->deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), pgc_ready_timeout_ms);
		step.b->next_look = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 1000);
		booting = lappend(booting, step.b);
		MemoryContextSwitchTo(old);
	}
	return true;
}

/*
 * Take the oldest queued starts while fewer than the limit boot; between
 * two boots, probe the gateways booting (at most every
 * PROBE_BETWEEN_BOOTS_MS) and call between_boots, the worker's.
 */
static void
admit_queued(void (*between_boots) (void))
{
	QueuedList	l = {pgc_max_concurrent_starts - list_length(booting), CurrentMemoryContext, NIL};
	ListCell   *lc;

	if (l.limit <= 0 || boot_transaction(list_queued, &l) != NULL)
		return;
	foreach(lc, l.user_ids)
	{
		if (!boot_one(lfirst(lc)))
			return;
		if (booting != NIL &&
			TimestampDifferenceExceeds(last_probe, GetCurrentTimestamp(), PROBE_BETWEEN_BOOTS_MS))
			probe_booting();
		between_boots();
	}
}

/* One probe of every booting gateway, all at once. */
typedef struct ProbeRound
{
	DockerRequest **probes;
	int			count;
	MemoryContext context;		/* the probes outlive the transaction */
} ProbeRound;

static void
probe_all(void *arg)
{
	ProbeRound *r = arg;
	ListCell   *lc;
	int			i = 0;

	MemoryContextSwitchTo(r->context);

	foreach(lc, booting)
	{
		Booting    *b = lfirst(lc);

		r->probes[i++] = gateway_ready_probe(b->boot.container_name, b->boot.port,
											 b->boot.node, PROBE_TIMEOUT_MS);
	}
	docker_run_requests(r->probes, r->count, r->count);
}

/* The error of a gateway that never answered, as the synchronous wait raises it. */
typedef struct Unready
{
	Booting    *b;
	DockerRequest *last_probe;
	bool		gone;
} Unready;

static void
raise_unready(void *arg)
{
	Unready    *u = arg;

	gateway_raise_unready(u->b->boot.container_id, u->b->boot.container_name,
						  u->last_probe, u->b->boot.token, u->gone);
}

static void
inspect_gone(void *arg)
{
	Unready    *u = arg;

	u->gone = gateway_container_gone(u->b->boot.container_id);
}

/*
 * Whether an unanswered gateway's container died (a kill, an exit its
 * restart policy does not undo): it will never answer, so its start fails
 * now rather than at ready_timeout.  Asked about once a second, as the
 * synchronous wait asks.
 */
static bool
booting_gateway_gone(Unready *u)
{
	TimestampTz now = GetCurrentTimestamp();

	if (now < u->b->next_look)
		return false;
	u->b->next_look = TimestampTzPlusMilliseconds(now, 1000);
	return boot_transaction(inspect_gone, u) == NULL && u->gone;
}

/*
 * Probe every booting gateway once; end the starts whose gateway answered
 * or whose time is up, and keep the others booting.
 */
static void
probe_booting(void)
{
	ProbeRound	r = {palloc0(sizeof(DockerRequest *) * list_length(booting)), list_length(booting),
	CurrentMemoryContext};
	List	   *still = NIL;
	ListCell   *lc;
	int			i = 0;

	last_probe = GetCurrentTimestamp();
	if (boot_transaction(probe_all, &r) != NULL)
		return;					/* cancelled, say: probe again next time */
	foreach(lc, booting)
	{
		Booting    *b = lfirst(lc);
		BootStep	step = {b->user_id, b, true, false, NULL, false};
		DockerRequest *probe = r.probes[i++];
		Unready		u = {b, probe, false};

		if (gateway_probe_ready(probe))
			end_start(&step, NULL);
		else if (GetCurrentTimestamp() >= b->deadline || booting_gateway_gone(&u))
			end_start(&step, boot_transaction(raise_unready, &u));
		else
		{
			MemoryContext old = MemoryContextSwitchTo(boot_context);

			still = lappend(still, b);
			MemoryContextSwitchTo(old);
		}
	}
	booting = still;
	if (booting == NIL)
		MemoryContextReset(boot_context);
}

/*
 * The worker's turn at the queue, each time round its loop: requeue what
 * a previous worker left booting, admit what fits, probe what boots.
 * Returns whether something is booting, for the loop to come back soon.
 * between_boots runs between two boots of a round (the worker follows the
 * engine's events there).
 */
bool
start_boot_pass(void (*between_boots) (void))
{
	static MemoryContext pass_context = NULL;
	MemoryContext old;

	if (boot_context == NULL)
	{
		boot_context = AllocSetContextCreate(TopMemoryContext, "pg_container start queue",
											 ALLOCSET_DEFAULT_SIZES);
		pass_context = AllocSetContextCreate(TopMemoryContext, "pg_container start queue pass",
											 ALLOCSET_DEFAULT_SIZES);
	}
	old = MemoryContextSwitchTo(pass_context);
	if (!requeued)
		requeued = boot_transaction(requeue_starting, NULL) == NULL;
	if (requeued)
	{
		admit_queued(between_boots);
		if (booting != NIL)
			probe_booting();
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(pass_context);
	return booting != NIL;
}
