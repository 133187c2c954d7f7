/*-------------------------------------------------------------------------
 *
 * state_mirror.c
 *	  Owns the worker's subscription to the Docker engine's event stream,
 *	  the set of users whose containers must be read again, and the flag in
 *	  shared memory that says user_container is in sync with the engine.
 *
 * The mirror follows Kubernetes' informers: subscribe first (with "since"
 * a little in the past), then list and reconcile the table in one
 * transaction, and only then say "in sync".  An event is never applied as
 * a state: it only names a user whose container is read again; the reading
 * is written only to a row nobody wrote since the reading began, so a write
 * never rests on a reading older than one already committed and the table
 * never goes backwards.  Duplicates and reordering, which Docker's stream
 * has, then do no harm.  No row is locked while the engine is asked.
 *
 * Any end of the stream, unreadable line, or failed ping clears the flag
 * before anything else, then the worker reconnects with back-off and
 * lists again: Docker keeps only 256 events, forgets them on restart, and
 * marks containers that died while it was down stopped without an event.
 * The health pass stays as a periodic full list while in sync; the rows it
 * had to correct are counted (container_mirror; expected 0).  How a row
 * is judged against a reading, and the events that records, is the health
 * pass's own judgement (reconcile.c); only the write differs.
 *
 * While the flag is set, the hot path of container_ensure_running trusts
 * a row that says running and not unhealthy, and asks Docker nothing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "common/hashfn.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/pmsignal.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "container_index.h"
#include "container_store.h"
#include "docker_api.h"
#include "docker_http.h"
#include "event_journal.h"
#include "gateway.h"
#include "json_walk.h"
#include "own_transaction.h"
#include "ownership.h"
#include "reconcile.h"
#include "settings.h"
#include "state_mirror.h"
#include "token_crypto.h"

/* "since" this far back on subscribe: events between it and the list replay. */
#define SUBSCRIBE_REPLAY_S 5

/* Without events for this long, ping: the stream has no heartbeat. */
#define PING_INTERVAL_MS 10000

#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 5000

/* More dirty users than this: list everything instead. */
#define MAX_DIRTY 10000

#define USER_ID_KEY_LEN 64

typedef struct MirrorShared
{
	slock_t		mutex;
	bool		in_sync;
	TimestampTz in_sync_since;
	Oid			database;
	uint32		host_hash;		/* of the docker_host the worker watches */
	int64		events;			/* events read */
	int64		resyncs;		/* full lists taken */
	int64		corrections;	/* rows a list corrected while in sync */
	TimestampTz last_resync_at;
} MirrorShared;

typedef struct DirtyEntry
{
	char		user_id[USER_ID_KEY_LEN];
} DirtyEntry;

static MirrorShared *mirror_shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* The worker's side, in mirror_context. */
static MemoryContext mirror_context = NULL;
static MemoryContext stream_context = NULL;	/* the stream's, reset on each loss */
static DockerStream *stream = NULL;
static StringInfoData line_buffer;
static HTAB *dirty = NULL;
static bool dirty_overflow = false;
static int	backoff_ms = 0;
static TimestampTz next_attempt = 0;
static TimestampTz last_heard = 0;
static char *installation_filter = NULL;

PG_FUNCTION_INFO_V1(container_mirror_status);

static void
mirror_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(MirrorShared)));
}

static void
mirror_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	mirror_shared = ShmemInitStruct("pg_container state mirror", sizeof(MirrorShared), &found);
	if (!found)
	{
		memset(mirror_shared, 0, sizeof(MirrorShared));
		SpinLockInit(&mirror_shared->mutex);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* From _PG_init, while shared_preload_libraries loads. */
void
state_mirror_request_shmem(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = mirror_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = mirror_shmem_startup;
}

static uint32
host_hash(void)
{
	const char *host = docker_effective_host();

	return hash_bytes((const unsigned char *) host, strlen(host));
}

/*
 * Whether the mirror should run: pg_container.event_stream is on and the
 * engine is one Docker engine.  A swarm's containers live on many nodes,
 * and one engine's events do not cover them.
 */
bool
state_mirror_enabled(void)
{
	return pgc_event_stream && pgc_engine_kind == PGC_ENGINE_DOCKER;
}

/*
 * Whether this session may trust the table as the mirror keeps it: the
 * worker is in sync, serves this database, and watches the engine this
 * session's settings name.
 */
bool
state_mirror_in_sync(void)
{
	bool		in_sync;
	Oid			database;
	uint32		hash;

	if (mirror_shared == NULL)
		return false;
	SpinLockAcquire(&mirror_shared->mutex);
	in_sync = mirror_shared->in_sync;
	database = mirror_shared->database;
	hash = mirror_shared->host_hash;
	SpinLockRelease(&mirror_shared->mutex);
	return in_sync && database == MyDatabaseId && hash == host_hash() &&
		pgc_engine_kind == PGC_ENGINE_DOCKER;
}

static void
set_in_sync(bool in_sync)
{
	if (mirror_shared == NULL)
		return;
	SpinLockAcquire(&mirror_shared->mutex);
	if (in_sync && !mirror_shared->in_sync)
		mirror_shared->in_sync_since = GetCurrentTimestamp();
	mirror_shared->in_sync = in_sync;
	mirror_shared->database = MyDatabaseId;
	mirror_shared->host_hash = in_sync ? host_hash() : 0;
	SpinLockRelease(&mirror_shared->mutex);
}

static void
count(int64 *counter, int64 n)
{
	if (mirror_shared == NULL)
		return;
	SpinLockAcquire(&mirror_shared->mutex);
	*counter += n;
	SpinLockRelease(&mirror_shared->mutex);
}

/* The worker is going away, however: nobody keeps the table in sync. */
static void
mirror_on_exit(int code, Datum arg)
{
	set_in_sync(false);
	docker_stream_close(stream);
	stream = NULL;
}

void
state_mirror_init(void)
{
	HASHCTL		ctl;

	mirror_context = AllocSetContextCreate(TopMemoryContext, "pg_container state mirror",
										   ALLOCSET_DEFAULT_SIZES);
	stream_context = AllocSetContextCreate(mirror_context, "pg_container event stream",
										   ALLOCSET_SMALL_SIZES);
	{
		MemoryContext old = MemoryContextSwitchTo(mirror_context);

		initStringInfo(&line_buffer);
		MemoryContextSwitchTo(old);
	}
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = USER_ID_KEY_LEN;
	ctl.entrysize = sizeof(DirtyEntry);
	ctl.hcxt = mirror_context;
	dirty = hash_create("pg_container dirty users", 256, &ctl,
						HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	on_shmem_exit(mirror_on_exit, (Datum) 0);
}

static void
mark_dirty(const char *user_id)
{
	if (user_id == NULL || strlen(user_id) >= USER_ID_KEY_LEN)
		return;
	if (hash_get_num_entries(dirty) >= MAX_DIRTY)
	{
		dirty_overflow = true;
		return;
	}
	(void) hash_search(dirty, user_id, HASH_ENTER, NULL);
}

/*
 * Out of sync, for the reason given: the flag goes first, so no ensure
 * trusts the table from here on, then the stream, then a reconnect is
 * scheduled with back-off.
 */
static void
lose_sync(const char *why)
{
	set_in_sync(false);
	docker_stream_close(stream);
	stream = NULL;
	MemoryContextReset(stream_context);
	resetStringInfo(&line_buffer);
	backoff_ms = backoff_ms == 0 ? BACKOFF_MIN_MS : Min(backoff_ms * 2, BACKOFF_MAX_MS);
	next_attempt = GetCurrentTimestamp() + (TimestampTz) backoff_ms * 1000;
	ereport(LOG,
			(errmsg("pg_container worker: the container state mirror is out of sync: %s", why),
			 errdetail("It subscribes and lists again in %d ms; until then every ensure inspects.",
					   backoff_ms)));
}

/* Stop following events (the setting was turned off, or the worker idles). */
void
state_mirror_stop(void)
{
	set_in_sync(false);
	docker_stream_close(stream);
	stream = NULL;
	MemoryContextReset(stream_context);
	resetStringInfo(&line_buffer);
	backoff_ms = 0;
	next_attempt = 0;
}

bool
state_mirror_connected(void)
{
	return stream != NULL;
}

/*
 * Run fn in a transaction of its own with the store open, in the caller's
 * memory context (own_transaction.c).  Returns false after an error, or if
 * the extension is not installed at the library's version.
 */
static bool
in_transaction(void (*fn) (void *), void *arg)
{
	bool		ok = in_own_transaction(fn, arg, OWN_TXN_WAIT_FOR_UPDATE,
										CurrentMemoryContext, NULL) == OWN_TXN_DONE;

	pgstat_report_stat(false);
	return ok;
}

static bool
state_is(const DockerContainer *c, const char *state)
{
	return c->state != NULL && strcmp(c->state, state) == 0;
}

/*
 * A stopped row whose recorded container runs again (Docker's restart
 * policy after a daemon restart, a docker start by hand): the row says
 * running, so the reaper sees it and an ensure may trust it.  Only the
 * very container the row records, and only if it is labelled the user's.
 */
static bool
apply_started(const ContainerRef *ref, const DockerContainer *c, const char *source)
{
	const char *error = NULL;
	bool		down = false;
	bool		healthy;

	if (c == NULL || !c->running || !state_is(c, "running") || ref->container_id == NULL ||
		strcmp(c->id, ref->container_id) != 0 ||
		!ownership_is_users(c, ref->user_id, ref->container_id))
		return false;
	if (!store_mark_running(ref->user_id, c->id))
		return false;
	if (c->health != NULL && strcmp(c->health, "unhealthy") == 0)
		error = "container healthcheck failed";
	healthy = (error == NULL);
	store_record_health(list_make1(ref->user_id), &healthy, list_make1((char *) error), &down);

	record_event(ref->user_id, "started", event_detail("container", c->id, "source", source, NULL));
	return true;
}

/*
 * The row's container in the list, by the rule every lookup follows
 * (ownership.c); NULL if it has none there.
 */
static DockerContainer *
find_listed(ContainerIndex *index, const ContainerRef *ref)
{
	DockerContainer *c = palloc(sizeof(DockerContainer));

	return container_index_find_users(index, ref, c) ? c : NULL;
}

/*
 * One full list, in the caller's transaction: judge every running row not
 * changed since the list was taken, and mark the others dirty, since the
 * list may be older than what they record.  Returns the rows corrected.
 */
static int
resync(void)
{
	TimestampTz listed_at = GetCurrentTimestamp();
	List	   *listed = docker_list_managed_containers();
	List	   *rows = store_lock_running(listed_at);
	ContainerIndex *index = container_index_build(listed);
	HTAB	   *judged;
	HASHCTL		ctl;
	int			corrected = 0;
	ListCell   *lc;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = USER_ID_KEY_LEN;
	ctl.entrysize = sizeof(DirtyEntry);
	ctl.hcxt = CurrentMemoryContext;
	judged = hash_create("pg_container judged users", Max(list_length(rows), 16), &ctl,
						 HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	foreach(lc, rows)
	{
		ContainerRef *ref = lfirst(lc);

		if (strlen(ref->user_id) < USER_ID_KEY_LEN)
			(void) hash_search(judged, ref->user_id, HASH_ENTER, NULL);
		if (reconcile_apply(ref, find_listed(index, ref), REPORT_LIST))
			corrected++;
	}
	foreach(lc, store_lock_stopped(listed_at))
	{
		ContainerRef *ref = lfirst(lc);

		if (apply_started(ref, find_listed(index, ref), "list"))
			corrected++;
	}
	/* Busy or changed since the list: read each again, row locked. */
	foreach(lc, store_running_changed_since(DT_NOBEGIN))
	{
		char	   *user_id = lfirst(lc);

		if (strlen(user_id) >= USER_ID_KEY_LEN ||
			hash_search(judged, user_id, HASH_FIND, NULL) == NULL)
			mark_dirty(user_id);
	}

	if (mirror_shared != NULL)
	{
		SpinLockAcquire(&mirror_shared->mutex);
		mirror_shared->resyncs++;
		mirror_shared->last_resync_at = GetCurrentTimestamp();
		SpinLockRelease(&mirror_shared->mutex);
	}
	return corrected;
}

/*
 * The health pass while the mirror follows the engine: a full list that
 * should find nothing to correct.  What it does correct, the stream
 * missed (dropped on the daemon's side, or not sent at all), and is
 * counted.  Runs in the caller's transaction, store open.
 */
int
state_mirror_resync_pass(void)
{
	bool		was_in_sync = state_mirror_in_sync();
	int			corrected = resync();

	if (was_in_sync && corrected > 0)
	{
		count(&mirror_shared->corrections, corrected);
		ereport(LOG,
				(errmsg("pg_container worker: the container list corrected %d rows the event stream had missed",
						corrected)));
	}
	return corrected;
}

static void
resync_txn(void *arg)
{
	(void) resync();
}

/* Take the dirty set as a List of user ids, leaving it empty. */
static List *
take_dirty(void)
{
	HASH_SEQ_STATUS seq;
	DirtyEntry *e;
	List	   *users = NIL;
	ListCell   *lc;

	hash_seq_init(&seq, dirty);
	while ((e = hash_seq_search(&seq)) != NULL)
		users = lappend(users, pstrdup(e->user_id));
	foreach(lc, users)
		(void) hash_search(dirty, lfirst(lc), HASH_REMOVE, NULL);
	return users;
}

/* A dirty user's container, read over HTTP before its row is locked. */
typedef struct DirtyReading
{
	const char *user_id;
	char	   *container_id;	/* as the row recorded it, read unlocked */
	TimestampTz inspected_at;	/* taken before the inspect */
	bool		found;
	DockerContainer c;
} DirtyReading;

/*
 * Bring the row in line with what was read of its container, if that
 * reading still applies: the row, locked now, still records that container
 * and nobody wrote it since the inspect began (writes that change a
 * container stamp updated_at after their Docker call).  Otherwise, or if
 * an ensure holds the row, the user stays dirty and is read again shortly.
 */
static void
apply_reading(const DirtyReading *r)
{
	ContainerRef ref;
	bool		running;

	switch (store_lock_one(r->user_id, r->inspected_at, &ref, &running))
	{
		case STORE_ROW_LOCKED:
			if (ref.container_id == NULL || strcmp(ref.container_id, r->container_id) != 0)
				mark_dirty(r->user_id);
			else if (running)
				(void) reconcile_apply(&ref, r->found ? &r->c : NULL, REPORT_EVENT);
			else
				(void) apply_started(&ref, r->found ? &r->c : NULL, "event");
			break;
		case STORE_ROW_BUSY:
			mark_dirty(r->user_id);
			break;
		case STORE_ROW_ABSENT:
			break;
	}
}

/*
 * Read again the container of each dirty user: first every inspect, with
 * no row locked, so a touch or an ensure never waits for the engine on
 * another user's behalf; then each row is locked, without waiting, and
 * judged against its reading, so a write never rests on a reading older
 * than one already committed.
 */
static void
process_dirty_txn(void *arg)
{
	List	   *users = (List *) arg;
	DirtyReading *readings = palloc0(sizeof(DirtyReading) * Max(list_length(users), 1));
	int			n = 0;
	ListCell   *lc;

	foreach(lc, users)
	{
		DirtyReading *r = &readings[n];

		r->user_id = lfirst(lc);
		r->container_id = store_container_id(r->user_id);
		if (r->container_id == NULL)
			continue;			/* nothing to read: its next write brings an event */
		r->inspected_at = GetCurrentTimestamp();
		r->found = docker_inspect_container(r->container_id, &r->c);
		n++;
	}
	for (int i = 0; i < n; i++)
		apply_reading(&readings[i]);
}

typedef struct EventWalk
{
	char	   *action;
	char	   *status;			/* the action's older name */
	char	   *type;
	char	   *user_id;
} EventWalk;

static void
event_scalar(JsonWalker *w, char *value, JsonTokenType type)
{
	EventWalk  *ew = w->state;

	if (type != JSON_TOKEN_STRING)
		return;
	if (json_walk_at(w, 1, "Action"))
		ew->action = value;
	else if (json_walk_at(w, 1, "status"))
		ew->status = value;
	else if (json_walk_at(w, 1, "Type"))
		ew->type = value;
	else if (json_walk_at(w, 3, "Actor", "Attributes", PGC_LABEL_USER_ID))
		ew->user_id = value;
}

/*
 * One line of the stream: mark its user dirty.  The action hardly matters,
 * since the container is read again whatever happened (which also makes
 * Podman's "died" for "die" and its health on every check harmless); only
 * exec_* events, which every health check run makes, are ignored.
 * Returns false if the line is not JSON.
 */
static bool
handle_event_line(char *line, size_t len)
{
	JsonWalker	w = {0};
	EventWalk	ew = {0};
	char	   *error_detail = NULL;
	const char *action;

	w.on_scalar = event_scalar;
	w.state = &ew;
	if (json_walk(&w, line, len, &error_detail) != JSON_SUCCESS)
		return false;
	action = ew.action ? ew.action : ew.status;
	if (ew.type != NULL && strcmp(ew.type, "container") != 0)
		return true;
	if (action != NULL && strncmp(action, "exec_", 5) == 0)
		return true;
	mark_dirty(ew.user_id);
	return true;
}

/* Handle the complete lines in line_buffer, keeping a partial last one. */
static bool
handle_lines(void)
{
	char	   *start = line_buffer.data;
	char	   *newline;
	int			handled = 0;
	int			events = 0;

	while ((newline = memchr(start, '\n', line_buffer.len - (start - line_buffer.data))) != NULL)
	{
		size_t		len = newline - start;

		*newline = '\0';
		if (len > 0 && !(len == 1 && start[0] == '\r'))
		{
			if (!handle_event_line(start, len))
				return false;
			events++;
		}
		start = newline + 1;
	}
	handled = start - line_buffer.data;
	if (handled > 0)
	{
		memmove(line_buffer.data, start, line_buffer.len - handled);
		line_buffer.len -= handled;
		line_buffer.data[line_buffer.len] = '\0';
	}
	if (events > 0)
		count(&mirror_shared->events, events);
	/* A line longer than any answer may be: the stream is not Docker's. */
	return line_buffer.len <= pgc_max_response_size_kb * 1024;
}

static void
append_url_encoded(StringInfo buf, const char *s)
{
	for (; *s; s++)
	{
		unsigned char ch = (unsigned char) *s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			ch == '-' || ch == '_' || ch == '.' || ch == '~')
			appendStringInfoChar(buf, ch);
		else
			appendStringInfo(buf, "%%%02X", ch);
	}
}

/*
 * GET /events for this installation's containers and the actions that
 * change their state, from a few seconds back: what happens between this
 * subscription and the list that follows it is replayed, not lost.
 *
 * "died" is Podman's: its compatible API says "die", but its filter knows
 * only its own name, and with "die" alone it never sends a death.  Docker
 * does not check the names, and no Docker event has that one.
 */
static char *
events_path(void)
{
	StringInfoData filters;
	StringInfoData path;

	initStringInfo(&filters);
	appendStringInfoString(&filters, "{\"type\":[\"container\"],\"label\":[");
	escape_json(&filters, installation_filter);
	appendStringInfoString(&filters,
						   "],\"event\":[\"start\",\"restart\",\"die\",\"died\",\"oom\",\"kill\",\"stop\","
						   "\"pause\",\"unpause\",\"destroy\",\"health_status\"]}");
	initStringInfo(&path);
	appendStringInfo(&path, "/events?since=%ld&filters=", (long) time(NULL) - SUBSCRIBE_REPLAY_S);
	append_url_encoded(&path, filters.data);
	return path.data;
}

/* In a transaction: the catalog may be read while resolving the endpoint. */
static void
subscribe_txn(void *arg)
{
	const char *installation = store_installation_id();
	MemoryContext old = MemoryContextSwitchTo(stream_context);

	/* Before 0.3.0 there is no installation label: all managed containers. */
	installation_filter = installation
		? psprintf("%s=%s", PGC_LABEL_INSTALLATION, installation)
		: psprintf("%s=true", PGC_LABEL_MANAGED);
	stream = docker_stream_open(events_path(), "follow the Docker engine's events");
	MemoryContextSwitchTo(old);
}

static void
ping_txn(void *arg)
{
	DockerRequest *ping = docker_request_new("GET", "/_ping", "ping the Docker engine");

	ping->versioned = false;
	docker_run_request(ping);
	if (ping->status != 200)
		docker_raise_failure(ping);
}

/* Why the stream ended, in words for the log. */
static char *
stream_end_reason(void)
{
	DockerRequest *req = docker_stream_request(stream);

	if (req->failure != DOCKER_ANSWERED)
		return psprintf("the event stream broke: %s",
						req->failure_detail ? req->failure_detail : "unknown error");
	if (req->status != 200)
		return psprintf("the engine answered the event subscription with HTTP %ld: %s",
						req->status, docker_error_message(req));
	return pstrdup("the engine ended the event stream");
}

static uint32 watched_host_hash = 0;
static MemoryContext step_context = NULL;

static long
ms_between(TimestampTz from, TimestampTz to)
{
	return to <= from ? 0 : (long) ((to - from) / 1000);
}

/* Wait for the subscription's answer: false (sync lost) if it is not a 200. */
static bool
await_subscription(void)
{
	TimestampTz deadline = GetCurrentTimestamp() + (TimestampTz) pgc_docker_timeout_ms * 1000;

	while (docker_stream_status(stream) != 200)
	{
		CHECK_FOR_INTERRUPTS();
		if (!docker_stream_wait(stream, 100, &line_buffer))
		{
			DockerRequest *req = docker_stream_request(stream);

			/* An error's body went to the line buffer, not to the request. */
			req->response = pstrdup(line_buffer.data);
			req->response_len = line_buffer.len;
			lose_sync(stream_end_reason());
			return false;
		}
		if (GetCurrentTimestamp() > deadline)
		{
			lose_sync(psprintf("the engine did not answer the event subscription within %d ms",
							   pgc_docker_timeout_ms));
			return false;
		}
	}
	return true;
}

/*
 * Subscribe, then list and reconcile, then read again the rows the list
 * could not judge; only then is the table in sync.
 */
static void
connect_and_sync(void)
{
	List	   *users;

	pgstat_report_activity(STATE_RUNNING, "pg_container: subscribing to the Docker engine's events");
	if (!in_transaction(subscribe_txn, NULL))
	{
		lose_sync("could not subscribe to the engine's events");
		return;
	}
	watched_host_hash = host_hash();
	if (!await_subscription())
		return;
	if (!in_transaction(resync_txn, NULL))
	{
		lose_sync("could not list the containers");
		return;
	}
	users = take_dirty();
	if (users != NIL && !in_transaction(process_dirty_txn, users))
	{
		lose_sync("could not read a container again");
		return;
	}
	set_in_sync(true);
	backoff_ms = 0;
	last_heard = GetCurrentTimestamp();
	pgstat_report_activity(STATE_IDLE, NULL);
	ereport(LOG,
			(errmsg("pg_container worker: the container state mirror is in sync")));
}

/*
 * Read what the stream has, up to timeout_ms, and act on it: read again
 * the containers it names; when it has been quiet for a while, ping.
 */
static void
follow(int timeout_ms)
{
	int			before = line_buffer.len;
	bool		open = docker_stream_wait(stream, timeout_ms, &line_buffer);

	if (line_buffer.len != before)
		last_heard = GetCurrentTimestamp();
	if (!handle_lines())
	{
		lose_sync("the engine sent an event that could not be read");
		return;
	}
	if (!open)
	{
		lose_sync(stream_end_reason());
		return;
	}
	if (dirty_overflow)
	{
		dirty_overflow = false;
		(void) take_dirty();
		if (!in_transaction(resync_txn, NULL))
		{
			lose_sync("could not list the containers");
			return;
		}
	}
	if (hash_get_num_entries(dirty) > 0 && !in_transaction(process_dirty_txn, take_dirty()))
	{
		lose_sync("could not read a container again after its event");
		return;
	}
	if (ms_between(last_heard, GetCurrentTimestamp()) >= PING_INTERVAL_MS)
	{
		if (!in_transaction(ping_txn, NULL))
		{
			lose_sync("the engine did not answer a ping");
			return;
		}
		last_heard = GetCurrentTimestamp();
	}
}

/*
 * Follow the engine for up to budget_ms, in the worker's place of sleep:
 * (re)connect when due, read events, act on them.  Returns early for a
 * configuration reload or a set latch; interrupts are checked at least
 * every 100 ms.
 */
void
state_mirror_run(long budget_ms)
{
	TimestampTz until = GetCurrentTimestamp() + (TimestampTz) budget_ms * 1000;

	if (step_context == NULL)
		step_context = AllocSetContextCreate(mirror_context, "pg_container state mirror step",
											 ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		TimestampTz now = GetCurrentTimestamp();
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		/* A set latch is work for the loop: a start queued (start_waiters.c) */
		if (ConfigReloadPending || now >= until || MyLatch->is_set)
			return;
		if (!PostmasterIsAlive())
			proc_exit(1);

		old = MemoryContextSwitchTo(step_context);
		if (stream != NULL && watched_host_hash != host_hash())
			lose_sync("pg_container.docker_host changed");
		if (stream == NULL && now < next_attempt)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 Min(ms_between(now, next_attempt), ms_between(now, until)),
							 PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
		else if (stream == NULL)
			connect_and_sync();
		else
			follow((int) Min(ms_between(now, until), 100));
		MemoryContextSwitchTo(old);
		MemoryContextReset(step_context);
	}
}

/*
 * Act on what the stream already holds, before a periodic list: what the
 * events say is not then counted as the list's correction.
 */
void
state_mirror_drain(void)
{
	if (stream != NULL && step_context != NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(step_context);

		follow(0);
		MemoryContextSwitchTo(old);
		MemoryContextReset(step_context);
	}
}

/*
 * After an error the worker's top level caught (a cancel while following
 * the stream, say): the stream may have been left half read, and the step's
 * memory is the error's.  Out of sync, to subscribe and list again.
 */
void
state_mirror_after_error(void)
{
	if (stream != NULL)
		lose_sync("the worker's step ended in an error");
	if (step_context != NULL)
		MemoryContextReset(step_context);
}

/*
 * The hot path of container_ensure_running: with the mirror in sync and
 * the row saying running and not unhealthy, one UPDATE and no request to
 * Docker.  False: take the inspecting path (nothing was written).
 */
bool
state_mirror_hot_ensure(const char *user_id, char **url, char **token)
{
	char	   *container_name;
	char	   *encrypted_token;
	int			port;

	if (!state_mirror_in_sync())
		return false;
	if (!store_hot_touch(user_id, &container_name, &port, &encrypted_token))
		return false;

	/*
	 * A name edited in the table to another service's would send the token
	 * there: the inspecting path refuses it, with its error.
	 */
	if (strncmp(container_name, pgc_name_prefix, strlen(pgc_name_prefix)) != 0)
		return false;
	*token = pgc_token_decrypt(encrypted_token, user_id);
	*url = gateway_url(container_name, port);
	return true;
}

/* container_mirror_status(): what the view container_mirror shows. */
Datum
container_mirror_status(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[7];
	bool		nulls[7] = {0};
	MirrorShared snapshot = {0};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (mirror_shared != NULL)
	{
		SpinLockAcquire(&mirror_shared->mutex);
		snapshot = *mirror_shared;
		SpinLockRelease(&mirror_shared->mutex);
	}
	values[0] = BoolGetDatum(state_mirror_enabled() && mirror_shared != NULL);
	values[1] = BoolGetDatum(state_mirror_in_sync());
	values[2] = TimestampTzGetDatum(snapshot.in_sync_since);
	nulls[2] = !snapshot.in_sync;
	values[3] = Int64GetDatum(snapshot.events);
	values[4] = Int64GetDatum(snapshot.resyncs);
	values[5] = Int64GetDatum(snapshot.corrections);
	values[6] = TimestampTzGetDatum(snapshot.last_resync_at);
	nulls[6] = snapshot.last_resync_at == 0;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
