/*-------------------------------------------------------------------------
 *
 * store_sweeps.c
 *	  The rows the sweeps and the event mirror lock and judge (ContainerRef),
 *	  and the health pass's one-statement write of its findings.
 *
 * Every statement here returns REF_COLUMNS (the idle sweep's with its
 * action in the last), so a column means the same whichever returned it.
 * SKIP LOCKED leaves rows that a touch or an ensure holds; FOR UPDATE
 * re-evaluates the WHERE clause on a row changed since the scan began.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "container_store.h"
#include "max_age.h"
#include "settings.h"
#include "store_internal.h"

/* What fetch_container_refs reads, in this order. */
#define REF_COLUMNS "user_id, container_id, container_name, healthy, status, NULL::text AS action"

/*
 * Rows whose container changed after the list was taken ($1) are left
 * for the next pass: the list would misjudge them.  The writes that
 * change a container's state stamp updated_at with the clock after
 * their Docker call, so this catches every change the list missed.
 */
static StoreStatement stmt_lock_running = {
	.sql = "SELECT " REF_COLUMNS
		"  FROM @extschema@.user_container"
		" WHERE status IN ('running', 'paused') AND updated_at < $1"
		" ORDER BY user_id"
		"   FOR UPDATE SKIP LOCKED",
	.nargs = 1, .argtypes = {TIMESTAMPTZOID}
};

/*
 * One statement for all rows, however many there are.  A container
 * found down leaves a row pending removal as it is: the removal is
 * committed, and 'stopped' would drop it.
 */
static StoreStatement stmt_record_health = {
	.sql = "UPDATE @extschema@.user_container AS c"
		"   SET healthy = h.healthy, health_error = h.error,"
		"       health_checked_at = pg_catalog.now(),"
		"       status = CASE WHEN h.down AND c.status <> 'removing' THEN 'stopped' ELSE c.status END,"
		"       updated_at = CASE WHEN h.down THEN pg_catalog.now() ELSE c.updated_at END"
		"  FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2),"
		"                  pg_catalog.unnest($3), pg_catalog.unnest($4)) AS h(user_id, healthy, error, down)"
		" WHERE c.user_id = h.user_id",
	.nargs = 4, .argtypes = {TEXTARRAYOID, BOOLARRAYOID, TEXTARRAYOID, BOOLARRAYOID}
};

/*
 * What the idle sweep does to each row, in one statement: 'stop' past
 * idle_timeout_min (paused or not), 'pause' past pause_after_min.  The
 * paused tier (rows paused, or about to be) is then walked newest first
 * and every row past the memory budget ($2 MB; 0: none) is stopped
 * instead, which stops the longest-paused first.  Each counts at its
 * memory limit ($1 is pg_container.memory_limit), one without a limit
 * at the whole budget.  A held row (held_until, a live lease:
 * store_leases.c) is neither paused nor stopped; a paused one still
 * holds its memory, so it is counted first and the others make room.
 * The rows acted on are locked, skipping busy ones; a row whose status or
 * last activity changed since the scan, or that a lease taken meanwhile
 * holds, fails the recheck under FOR UPDATE, so a touch or a hold racing
 * the sweep wins.
 *
 * The plan is written once, IDLE_PLAN(WITH, HELD), for two readers.  The
 * sweep runs it after its schedules pass has leased every user of a warm
 * window (schedules.c), so held_until is all it needs.  container_explain
 * runs it without that pass, so it also counts the users of the windows
 * warm now as held (EXPLAIN_WARM), and what it says the next sweep does is
 * what the sweep chooses.  The warm users are listed once, by two
 * equality joins: a join on "profile or user" is a nested loop over users
 * and schedules.
 */
#define IDLE_PLAN(with, held) \
	with " candidate AS (" \
		"  SELECT c.*, coalesce(c.held_until > pg_catalog.statement_timestamp(), false)" held " AS held" \
		"    FROM @extschema@.user_container c" \
		"   WHERE c.status IN ('running', 'paused'))," \
	" a AS (" \
		"  SELECT c.user_id, c.status, c.last_active_at, c.paused_at, c.held_until, c.held," \
		"         CASE WHEN c.held THEN 'held'" \
		"              WHEN c.last_active_at < pg_catalog.statement_timestamp()" \
		"                   - pg_catalog.make_interval(mins => c.idle_timeout_min) THEN 'stop'" \
		"              WHEN c.status = 'paused' THEN 'keep'" \
		"              WHEN c.pause_after_min > 0 AND c.last_active_at < pg_catalog.statement_timestamp()" \
		"                   - pg_catalog.make_interval(mins => c.pause_after_min) THEN 'pause'" \
		"         END AS action," \
		"         coalesce(NULLIF(coalesce(p.memory_limit_mb, $1), 0), $2)::bigint AS charge" \
		"    FROM candidate c LEFT JOIN @extschema@.container_profile p ON p.name = c.profile)," \
		" tier AS (" \
		"  SELECT user_id," \
		"         CASE WHEN held THEN action" \
		"              WHEN $2 > 0 AND pg_catalog.sum(charge) OVER (ORDER BY held DESC, paused_at DESC NULLS FIRST," \
		"                  last_active_at DESC, user_id) > $2 THEN 'stop' ELSE action END AS action" \
		"    FROM a WHERE action IN ('keep', 'pause') OR (held AND status = 'paused'))," \
		" plan AS (" \
		"  SELECT a.user_id, a.status, a.last_active_at, a.held_until, a.action AS own_action," \
		"         coalesce(tier.action, a.action) AS action" \
		"    FROM a LEFT JOIN tier ON tier.user_id = a.user_id)"

/* The users of the windows warm now, for container_explain's plan. */
#define EXPLAIN_WARM_WITH \
	"WITH warm AS MATERIALIZED (" SCHEDULE_WINDOWS("pg_catalog.statement_timestamp()", "pg_catalog.statement_timestamp()") ")," \
	" warm_users AS MATERIALIZED (" \
		"  SELECT c.user_id FROM warm JOIN @extschema@.user_container c ON c.profile = warm.profile" \
		"  UNION SELECT warm.user_id FROM warm WHERE warm.user_id IS NOT NULL),"
#define EXPLAIN_WARM_HELD " OR c.user_id IN (SELECT user_id FROM warm_users)"

static StoreStatement stmt_lock_tiers = {
	.sql = IDLE_PLAN("WITH", "")
		"SELECT c.user_id, c.container_id, c.container_name, c.healthy, c.status, plan.action"
		"  FROM @extschema@.user_container c"
		"  JOIN plan ON plan.user_id = c.user_id"
		" WHERE plan.action IN ('stop', 'pause')"
		"   AND c.status = plan.status AND c.last_active_at = plan.last_active_at"
		"   AND c.held_until IS NOT DISTINCT FROM plan.held_until"
		" ORDER BY c.user_id"
		"   FOR UPDATE OF c SKIP LOCKED",
	.nargs = 2, .argtypes = {INT4OID, INT4OID}
};

/*
 * container_explain: one row per rule that applies to user $3 now, from
 * the idle sweep's own plan (IDLE_PLAN, so next_sweep is what the next
 * sweep chooses; its lock may still find the row busy and leave it for
 * the one after), and the start queue's running_memory_budget ($4 MB),
 * by the rule of start_queue.c's Q_IDLE_BY_AGE, and the user's first
 * schedule window (current or next, within 8 days: schedules.c).  "at" is
 * when the rule acts (for the lease and a warm window: when it ends);
 * "why" says why not earlier.
 */
static StoreStatement stmt_explain = {
	.sql = IDLE_PLAN(EXPLAIN_WARM_WITH, EXPLAIN_WARM_HELD) ","
		" win AS ("
		"  SELECT w.name, w.warm_from, w.opens_at, w.closes_at,"
		"         w.warm_from <= pg_catalog.statement_timestamp() AS warm,"
		"         EXISTS (SELECT 1 FROM @extschema@.container_lease l"
		"                  WHERE l.user_id = $3 AND l.schedule = w.name AND l.expires_at >= w.closes_at) AS leased"
		"    FROM (" SCHEDULE_WINDOWS("pg_catalog.statement_timestamp()",
									  "pg_catalog.statement_timestamp() + interval '8 days'") ") w"
		"    JOIN @extschema@.user_container c ON c.profile = w.profile OR c.user_id = w.user_id"
		"   WHERE c.user_id = $3"
		"   ORDER BY w.warm_from, w.name LIMIT 1),"
		" u AS ("
		"  SELECT c.status, c.last_active_at AS last_active, c.last_activity_source AS source,"
		"         c.idle_timeout_min, c.pause_after_min, plan.action, plan.own_action,"
		"         CASE WHEN c.held_until > pg_catalog.statement_timestamp() THEN c.held_until END AS lease_until,"
		"         GREATEST(CASE WHEN c.held_until > pg_catalog.statement_timestamp() THEN c.held_until END,"
		"                  CASE WHEN win.warm THEN win.closes_at END) AS held,"
		"         win.name AS win_name, win.warm AS win_warm, win.leased AS win_leased,"
		"         win.warm_from AS win_warm_from, win.opens_at AS win_opens, win.closes_at AS win_closes,"
		"         c.last_active_at + pg_catalog.make_interval(mins => c.idle_timeout_min) AS stop_at,"
		"         c.last_active_at + pg_catalog.make_interval(mins => c.pause_after_min) AS pause_at,"
		"         GREATEST(c.updated_at, c.last_active_at) + pg_catalog.make_interval(mins => $5) AS dormant_at,"
		"         c.container_id IS NOT NULL AS has_container,"
		"         GREATEST(c.started_at + pg_catalog.make_interval(mins => $6),"
		"                  c.last_active_at + pg_catalog.make_interval(mins => $7)) AS age_out_at,"
		"         EXISTS (SELECT 1 FROM @extschema@.container_event e"
		"                  WHERE e.user_id = c.user_id AND e.event = 'aged_out'"
		"                    AND e.detail ->> 'outcome' = 'rolled back'"
		"                    AND e.at > pg_catalog.now() - pg_catalog.make_interval(mins => $6)) AS age_out_failed,"
		"         (SELECT pg_catalog.string_agg(pg_catalog.format('%s (%s)', l.id, l.reason), ', ' ORDER BY l.id)"
		"            FROM @extschema@.container_lease l"
		"           WHERE l.user_id = c.user_id AND l.expires_at > pg_catalog.statement_timestamp()) AS leases"
		"    FROM @extschema@.user_container c"
		"    LEFT JOIN plan ON plan.user_id = c.user_id"
		"    LEFT JOIN win ON true"
		"   WHERE c.user_id = $3)"
		"SELECT r.rule, r.action, r.at, r.next_sweep, r.why"
		"  FROM u, LATERAL (VALUES"
		"  (1, 'last_activity', NULL, u.last_active, false,"
		"   'source: ' || coalesce(u.source, 'none said'), true),"
		"  (2, 'lease', 'keep', u.lease_until, false,"
		"   pg_catalog.format('held by lease %s: nothing pauses, stops or evicts the user before then', u.leases),"
		"   u.lease_until IS NOT NULL),"
		"  (3, 'idle_timeout', 'stop', GREATEST(u.stop_at, u.held), u.action = 'stop' AND u.own_action = 'stop',"
		"   CASE WHEN u.action = 'stop' AND u.own_action = 'stop'"
		"        THEN pg_catalog.format('idle past its %s min timeout: the next sweep stops it', u.idle_timeout_min)"
		"        WHEN u.held IS NOT NULL AND u.stop_at <= pg_catalog.statement_timestamp()"
		"        THEN pg_catalog.format('idle past its %s min timeout, but held', u.idle_timeout_min)"
		"        ELSE pg_catalog.format('not %s min idle yet', u.idle_timeout_min) END,"
		"   u.status IN ('running', 'paused')),"
		"  (4, 'pause_after', 'pause', GREATEST(u.pause_at, u.held), u.action = 'pause',"
		"   CASE WHEN u.action = 'pause'"
		"        THEN pg_catalog.format('idle past its %s min pause delay: the next sweep pauses it', u.pause_after_min)"
		"        WHEN u.held IS NOT NULL AND u.pause_at <= pg_catalog.statement_timestamp()"
		"        THEN pg_catalog.format('idle past its %s min pause delay, but held', u.pause_after_min)"
		"        WHEN u.stop_at <= pg_catalog.statement_timestamp() THEN 'past its idle timeout: stopped instead'"
		"        ELSE pg_catalog.format('not %s min idle yet', u.pause_after_min) END,"
		"   u.status = 'running' AND u.pause_after_min > 0),"
		"  (5, 'paused_memory_budget', 'stop',"
		"   CASE WHEN u.action = 'stop' AND u.own_action <> 'stop' THEN pg_catalog.statement_timestamp() END,"
		"   u.action = 'stop' AND u.own_action <> 'stop',"
		"   CASE WHEN u.action = 'stop' AND u.own_action <> 'stop'"
		"        THEN pg_catalog.format('the paused tier is over its %s MB and this user is among the longest paused:"
		" the next sweep stops it', $2)"
		"        WHEN u.held IS NOT NULL THEN 'held: counted in the budget, never stopped for it'"
		"        ELSE pg_catalog.format('within the paused tier''s %s MB', $2) END,"
		"   $2 > 0 AND (u.status = 'paused' OR u.own_action = 'pause')),"
		"  (6, 'running_memory_budget', 'stop',"
		"   GREATEST(u.last_active + interval '1 minute', u.held), false,"
		"   CASE WHEN u.held IS NOT NULL THEN 'held: never stopped to make room for a start'"
		"        ELSE pg_catalog.format('a queued start over %s MB may stop it once it is idle', $4) END,"
		"   $4 > 0 AND u.status IN ('running', 'paused')),"
		"  (7, 'dormant_after', 'remove container',"
		"   GREATEST(u.dormant_at, u.held),"
		"   u.dormant_at < pg_catalog.now() AND u.held IS NULL,"
		"   CASE WHEN u.held IS NOT NULL THEN 'held: its container is kept until the lease ends'"
		"        WHEN u.dormant_at < pg_catalog.now()"
		"        THEN 'stopped for longer than pg_container.dormant_after: the next sweep removes the container, keeping the volume'"
		"        ELSE 'not stopped for pg_container.dormant_after yet' END,"
		"   $5 > 0 AND u.status = 'stopped' AND u.has_container),"
		"  (8, 'max_age', 'restart',"
		"   GREATEST(u.age_out_at, u.held),"
		"   u.age_out_at < pg_catalog.now() AND u.held IS NULL AND NOT u.age_out_failed,"
		"   CASE WHEN u.held IS NOT NULL THEN 'held: not restarted until the lease ends'"
		"        WHEN u.age_out_failed THEN 'its last restart for its age was rolled back: not tried again within pg_container.max_age'"
		"        WHEN u.age_out_at < pg_catalog.now()"
		"        THEN pg_catalog.format('running for longer than pg_container.max_age and %s min idle: the worker restarts it after the next sweep', $7)"
		"        ELSE pg_catalog.format('restarted once it has run for pg_container.max_age and been %s min idle', $7) END,"
		"   $6 > 0 AND u.status = 'running' AND u.age_out_at IS NOT NULL),"
		"  (9, 'schedule', CASE WHEN u.win_warm THEN 'keep' ELSE 'start' END,"
		"   CASE WHEN u.win_warm THEN u.win_closes ELSE u.win_warm_from END,"
		"   u.win_warm AND NOT u.win_leased,"
		"   CASE WHEN u.win_warm AND u.win_leased"
		"        THEN pg_catalog.format('in a window of schedule %s, open from %s: kept warm until it closes', u.win_name, u.win_opens)"
		"        WHEN u.win_warm"
		"        THEN pg_catalog.format('in a window of schedule %s, open from %s: the next sweep holds it until the window closes,"
		" and queues its start if it is not running', u.win_name, u.win_opens)"
		"        ELSE pg_catalog.format('the next window of schedule %s opens at %s: a sweep starts it %s ahead',"
		"                               u.win_name, u.win_opens, u.win_opens - u.win_warm_from) END,"
		"   u.win_name IS NOT NULL)"
		"  ) AS r(ord, rule, action, at, next_sweep, why, applies)"
		" WHERE r.applies"
		" ORDER BY r.ord",
	.nargs = 7, .argtypes = {INT4OID, INT4OID, TEXTOID, INT4OID, INT4OID, INT4OID, INT4OID}
};

/* A row an ensure holds is skipped: the mirror retries it shortly. */
/* Not if written at or after $2: the caller's reading may be older. */
static StoreStatement stmt_lock_one = {
	.sql = "SELECT " REF_COLUMNS
		"  FROM @extschema@.user_container"
		" WHERE user_id = $1 AND updated_at < $2"
		"   FOR UPDATE SKIP LOCKED",
	.nargs = 2, .argtypes = {TEXTOID, TIMESTAMPTZOID}
};

static StoreStatement stmt_exists = {
	.sql = "SELECT 1 FROM @extschema@.user_container WHERE user_id = $1",
	.nargs = 1, .argtypes = {TEXTOID}
};

/* As STMT_LOCK_RUNNING, for stopped rows that record a container. */
static StoreStatement stmt_lock_stopped = {
	.sql = "SELECT " REF_COLUMNS
		"  FROM @extschema@.user_container"
		" WHERE status = 'stopped' AND container_id IS NOT NULL AND updated_at < $1"
		" ORDER BY user_id"
		"   FOR UPDATE SKIP LOCKED",
	.nargs = 1, .argtypes = {TIMESTAMPTZOID}
};

/*
 * Users stopped for longer than $1 minutes (dormancy.c): neither their
 * last activity nor any write of the row (a stop stamps updated_at) since,
 * and no live lease.
 */
static StoreStatement stmt_lock_dormant = {
	.sql = "SELECT " REF_COLUMNS
		"  FROM @extschema@.user_container"
		" WHERE status = 'stopped' AND container_id IS NOT NULL"
		"   AND GREATEST(updated_at, last_active_at)"
		"       < pg_catalog.now() - pg_catalog.make_interval(mins => $1)"
		"   AND NOT coalesce(held_until > pg_catalog.now(), false)"
		" ORDER BY user_id"
		"   FOR UPDATE SKIP LOCKED",
	.nargs = 1, .argtypes = {INT4OID}
};

/*
 * The running user whose container started longest ago, past $1 minutes,
 * quiet for $2, unheld, and not rolled back by an age-out within $1
 * (max_age.c).
 */
static StoreStatement stmt_lock_aged = {
	.sql = "SELECT c.user_id FROM @extschema@.user_container c"
		" WHERE c.status = 'running'"
		"   AND c.started_at < pg_catalog.now() - pg_catalog.make_interval(mins => $1)"
		"   AND coalesce(c.last_active_at, c.started_at)"
		"       < pg_catalog.now() - pg_catalog.make_interval(mins => $2)"
		"   AND NOT coalesce(c.held_until > pg_catalog.now(), false)"
		"   AND NOT EXISTS (SELECT 1 FROM @extschema@.container_event e"
		"                    WHERE e.user_id = c.user_id AND e.event = 'aged_out'"
		"                      AND e.detail ->> 'outcome' = 'rolled back'"
		"                      AND e.at > pg_catalog.now() - pg_catalog.make_interval(mins => $1))"
		" ORDER BY c.started_at LIMIT 1"
		"   FOR UPDATE SKIP LOCKED",
	.nargs = 2, .argtypes = {INT4OID, INT4OID}
};

/*
 * The next user due for a scheduled backup (backup_schedule.c): one with a
 * container whose newest backup is older than $1 minutes, or who has none,
 * the longest without first; not held (a backup pauses a running gateway),
 * and not one whose scheduled backup failed within $1 minutes, so that a
 * volume that cannot be copied is not tried again at every turn.
 */
static StoreStatement stmt_lock_backup_due = {
	.sql = "SELECT c.user_id FROM @extschema@.user_container c"
		"  LEFT JOIN LATERAL (SELECT pg_catalog.max(b.taken_at) AS taken_at"
		"                       FROM @extschema@.container_backup b WHERE b.user_id = c.user_id) last ON true"
		" WHERE c.status IN ('running', 'paused', 'stopped') AND c.container_id IS NOT NULL"
		"   AND coalesce(last.taken_at < pg_catalog.now() - pg_catalog.make_interval(mins => $1), true)"
		"   AND NOT coalesce(c.held_until > pg_catalog.now(), false)"
		"   AND NOT EXISTS (SELECT 1 FROM @extschema@.container_event e"
		"                    WHERE e.user_id = c.user_id AND e.event = 'backup'"
		"                      AND e.detail ->> 'outcome' = 'failed'"
		"                      AND e.at > pg_catalog.now() - pg_catalog.make_interval(mins => $1))"
		" ORDER BY last.taken_at NULLS FIRST, c.user_id LIMIT 1"
		"   FOR UPDATE OF c SKIP LOCKED",
	.nargs = 1, .argtypes = {INT4OID}
};

/* A dormant user's row: no container, nothing made from a spec. */
static StoreStatement stmt_forget_container = {
	.sql = "UPDATE @extschema@.user_container"
		"   SET container_id = NULL, spec_hash = NULL, healthy = NULL, health_error = NULL,"
		"       updated_at = pg_catalog.clock_timestamp()"
		" WHERE user_id = $1 AND status = 'stopped'",
	.nargs = 1, .argtypes = {TEXTOID}
};

/* The rows a statement selecting REF_COLUMNS returned. */
static List *
fetch_container_refs(void)
{
	List	   *refs = NIL;

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		ContainerRef *ref = palloc(sizeof(ContainerRef));
		char	   *healthy = SPI_getvalue(tuple, desc, 4);
		char	   *status = SPI_getvalue(tuple, desc, 5);
		char	   *action = SPI_getvalue(tuple, desc, 6);

		ref->user_id = SPI_getvalue(tuple, desc, 1);
		ref->container_id = SPI_getvalue(tuple, desc, 2);
		ref->container_name = SPI_getvalue(tuple, desc, 3);
		ref->previously_healthy = healthy ? healthy[0] : 0;
		ref->paused = status != NULL && strcmp(status, "paused") == 0;
		ref->pause = action != NULL && strcmp(action, "pause") == 0;
		refs = lappend(refs, ref);
	}
	return refs;
}

/*
 * Lock and return the rows the idle sweep acts on, skipping busy ones:
 * the running rows idle past their timeout, the rows to pause
 * (ref->pause), and the paused ones past the memory budget (see
 * &stmt_lock_tiers).
 */
List *
store_lock_idle(void)
{
	Datum		values[2] = {
		Int32GetDatum(pgc_memory_limit_mb),
		Int32GetDatum(pgc_paused_memory_budget_mb)
	};

	store_run(&stmt_lock_tiers, values, NULL, 0);
	return fetch_container_refs();
}

/* Lock the rows of the users stopped for longer than minutes. */
List *
store_lock_dormant(int minutes)
{
	Datum		values[1] = {Int32GetDatum(minutes)};

	store_run(&stmt_lock_dormant, values, NULL, 0);
	return fetch_container_refs();
}

/* Lock the next user due to be restarted for its age; NULL if none. */
char *
store_lock_aged(int max_age_min, int quiet_min)
{
	Datum		values[2] = {Int32GetDatum(max_age_min), Int32GetDatum(quiet_min)};

	store_run(&stmt_lock_aged, values, NULL, 1);
	if (SPI_processed == 0)
		return NULL;
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/* Lock the next user due for a scheduled backup; NULL if none. */
char *
store_lock_backup_due(int interval_min)
{
	Datum		values[1] = {Int32GetDatum(interval_min)};

	store_run(&stmt_lock_backup_due, values, NULL, 1);
	if (SPI_processed == 0)
		return NULL;
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/* Record that the user's container was removed, the row kept. */
void
store_forget_container(const char *user_id)
{
	Datum		values[1] = {CStringGetTextDatum(user_id)};

	store_run(&stmt_forget_container, values, NULL, 0);
}

/*
 * Run container_explain's statement for the user (&stmt_explain); the
 * rows are in SPI_tuptable: rule, action, at, next_sweep, why.  None for
 * an unknown user.
 */
uint64
store_explain(const char *user_id)
{
	Datum		values[7] = {
		Int32GetDatum(pgc_memory_limit_mb),
		Int32GetDatum(pgc_paused_memory_budget_mb),
		CStringGetTextDatum(user_id),
		Int32GetDatum(pgc_running_memory_budget_mb),
		Int32GetDatum(pgc_dormant_after_min),
		Int32GetDatum(pgc_max_age_min),
		Int32GetDatum(MAX_AGE_QUIET_MIN)
	};

	store_run(&stmt_explain, values, NULL, 0);
	return SPI_processed;
}

/*
 * Lock and return the running rows not changed since "unchanged_since",
 * skipping busy ones.
 */
List *
store_lock_running(TimestampTz unchanged_since)
{
	Datum		values[1] = {TimestampTzGetDatum(unchanged_since)};

	store_run(&stmt_lock_running, values, NULL, 0);
	return fetch_container_refs();
}

/* Lock the stopped rows that record a container, not changed since "unchanged_since". */
List *
store_lock_stopped(TimestampTz unchanged_since)
{
	Datum		values[1] = {TimestampTzGetDatum(unchanged_since)};

	store_run(&stmt_lock_stopped, values, NULL, 0);
	return fetch_container_refs();
}

/*
 * Lock the user's row without waiting, if it was not written at or after
 * unchanged_since.  Returns STORE_ROW_LOCKED with ref and running filled
 * in; STORE_ROW_BUSY if another transaction holds the row or wrote it
 * since; STORE_ROW_ABSENT if there is no row.
 */
StoreRowLock
store_lock_one(const char *user_id, TimestampTz unchanged_since, ContainerRef *ref, bool *running)
{
	Datum		values[2] = {CStringGetTextDatum(user_id), TimestampTzGetDatum(unchanged_since)};
	List	   *refs;

	store_run(&stmt_lock_one, values, NULL, 1);
	/* Up: running, or paused (the container is there, frozen). */
	if (SPI_processed > 0)
		*running = strcmp(store_column_text(5), "stopped") != 0;
	refs = fetch_container_refs();
	if (refs != NIL)
	{
		*ref = *(ContainerRef *) linitial(refs);
		return STORE_ROW_LOCKED;
	}
	store_run(&stmt_exists, values, NULL, 1);
	return SPI_processed > 0 ? STORE_ROW_BUSY : STORE_ROW_ABSENT;
}

static Datum
text_array(List *strings)
{
	int			n = list_length(strings);
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(n, 1));
	int			dims[1] = {n};
	int			lbs[1] = {1};
	int			i = 0;
	ListCell   *lc;

	foreach(lc, strings)
	{
		nulls[i] = lfirst(lc) == NULL;
		elems[i] = nulls[i] ? (Datum) 0 : CStringGetTextDatum((char *) lfirst(lc));
		i++;
	}
	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs,
											  TEXTOID, -1, false, TYPALIGN_INT));
}

static Datum
bool_array(const bool *values, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		elems[i] = BoolGetDatum(values[i]);
	return PointerGetDatum(construct_array(elems, n, BOOLOID, 1, true, TYPALIGN_CHAR));
}

/*
 * Record a health check for many rows in one statement; rows whose
 * container is down become 'stopped'.
 */
void
store_record_health(List *user_ids, const bool *healthy, List *errors, const bool *down)
{
	int			n = list_length(user_ids);
	Datum		values[4];

	if (n == 0)
		return;
	values[0] = text_array(user_ids);
	values[1] = bool_array(healthy, n);
	values[2] = text_array(errors);
	values[3] = bool_array(down, n);
	store_run(&stmt_record_health, values, NULL, 0);
}
