/*-------------------------------------------------------------------------
 *
 * container_store.c
 *	  Owns every statement pg_container runs against its user_container
 *	  table, and the allocation of host ports.
 *
 * Statements are prepared once per process and kept (SPI_keepplan), since
 * container_touch and container_ensure_running sit on the application's
 * hot path.  They name the table through the extension's schema, whatever
 * schema CREATE EXTENSION chose; if the extension moves to another schema
 * the plans are rebuilt.  Operators in them are resolved under the
 * pg_catalog-first search_path that every caller runs with.
 *
 * The library serves every table layout a released SQL script leaves:
 * 0.1.0's, until ALTER EXTENSION UPDATE has run; 0.2.0's, which adds
 * profiles, the spec hash and the event log; 0.3.0's, which adds the
 * installation's identity and profile commands.  As pg_stat_statements
 * does with its API versions, the version the schema declares decides
 * which statements run, not a probe of the tables' columns: store_open
 * reads the installed version from pg_extension at every call, in the
 * caller's snapshot, so an update takes effect at once and a half-updated
 * schema cannot be mistaken for another version.
 *
 * Host ports: each user keeps its port for the life of its row, stopped or
 * not, because a stopped container still holds its binding.  A new port is
 * the lowest free one in the range that no concurrent transaction is
 * claiming: claimers take a transaction-level advisory lock on the port
 * and skip ports locked by others instead of waiting for them.  The unique
 * index on gateway_port stays the last line of defence.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/jsonb.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "container_store.h"
#include "settings.h"

/* First key of our advisory locks: "pgc" in ASCII. */
#define PGC_ADVISORY_LOCK_CLASS 0x706763

typedef enum StoreStatement
{
	STMT_LOCK_AND_TOUCH,
	STMT_LOCK,
	STMT_INSERT,
	STMT_RECORD_RUNNING,
	STMT_RECORD_STOPPED,
	STMT_NEXT_FREE_PORT,
	STMT_TRY_LOCK_PORT,
	STMT_CLAIM_PORT,
	STMT_TOUCH,
	STMT_STATUS,
	STMT_LOCK_ALL_TOKENS,
	STMT_SET_TOKEN,
	STMT_LOCK_IDLE,
	STMT_LOCK_RUNNING,
	STMT_RECORD_HEALTH,
	STMT_SET_IDLE_TIMEOUT,
	/* 0.2.0 */
	STMT_LOCK_AND_TOUCH_V2,
	STMT_LOCK_V2,
	STMT_RECORD_RUNNING_V2,
	STMT_RECORDED_SPEC,
	STMT_GET_PROFILE,
	STMT_PROFILE_EXISTS,
	STMT_SET_PROFILE,
	STMT_EVENT,
	STMT_PRUNE_EVENTS,
	STMT_DELETE_ROW,
	STMT_ALL_ROWS,
	STMT_OVERVIEW,
	/* 0.3.0 */
	STMT_GET_INSTALLATION,
	STMT_GET_PROFILE_V3,
	STMT_GET_PROFILE_V6,
	/* 0.4.0: pause, then stop */
	STMT_INSERT_V4,
	STMT_LOCK_TIERS,
	STMT_RECORD_PAUSED,
	STMT_SET_PAUSE_AFTER,
	STMT_SET_PROFILE_V4,
	STMT_RECORD_UNPAUSED,
	STMT_RECORD_NODE,
	STMT_RECORDED_NODE,
	STMT_NAME_HOLDER,
	/* the event mirror (state_mirror.c) */
	STMT_HOT_TOUCH,
	STMT_LOCK_ONE,
	STMT_CONTAINER_ID,
	STMT_MARK_REMOVING,
	STMT_LOCK_REMOVING,
	STMT_PENDING_REMOVALS,
	STMT_EXISTS,
	STMT_LOCK_STOPPED,
	STMT_MARK_RUNNING,
	STMT_RUNNING_CHANGED_SINCE,
	STMT_COUNT
} StoreStatement;

typedef struct StatementDef
{
	const char *sql;			/* "@extschema@" stands for the schema */
	int			nargs;
	Oid			argtypes[5];
} StatementDef;

#define ROW_COLUMNS "id::text, user_id, container_id, container_name, gateway_port, gateway_token, status"
#define ROW_COLUMNS_V2 ROW_COLUMNS ", profile, spec_hash"

static const StatementDef statement_defs[STMT_COUNT] = {
	[STMT_LOCK_AND_TOUCH] = {
		"UPDATE @extschema@.user_container"
		"   SET last_active_at = pg_catalog.now(), updated_at = pg_catalog.now()"
		" WHERE user_id = $1"
		" RETURNING " ROW_COLUMNS,
		1, {TEXTOID}
	},
	[STMT_LOCK] = {
		"SELECT " ROW_COLUMNS
		"  FROM @extschema@.user_container"
		" WHERE user_id = $1"
		"   FOR UPDATE",
		1, {TEXTOID}
	},
	[STMT_INSERT] = {
		"INSERT INTO @extschema@.user_container"
		"       (user_id, container_name, gateway_token, status, idle_timeout_min)"
		"VALUES ($1, $2, $3, 'stopped', $4)"
		"    ON CONFLICT DO NOTHING",
		4, {TEXTOID, TEXTOID, TEXTOID, INT4OID}
	},
	[STMT_RECORD_RUNNING] = {
		"UPDATE @extschema@.user_container"
		"   SET container_id = $2, gateway_port = $3, status = 'running',"
		"       updated_at = pg_catalog.clock_timestamp()"
		" WHERE user_id = $1",
		3, {TEXTOID, TEXTOID, INT4OID}
	},
	[STMT_RECORD_STOPPED] = {
		"UPDATE @extschema@.user_container"
		"   SET container_id = $2, updated_at = pg_catalog.clock_timestamp(),"
		"       status = CASE status WHEN 'removing' THEN status ELSE 'stopped' END"
		" WHERE user_id = $1",
		2, {TEXTOID, TEXTOID}
	},
	[STMT_NEXT_FREE_PORT] = {
		"SELECT g.p"
		"  FROM pg_catalog.generate_series($1, $2) AS g(p)"
		" WHERE NOT EXISTS (SELECT 1 FROM @extschema@.user_container c"
		"                    WHERE c.gateway_port = g.p)"
		"   AND g.p <> ALL ($3)"
		" ORDER BY g.p"
		" LIMIT 1",
		3, {INT4OID, INT4OID, INT4ARRAYOID}
	},
	[STMT_TRY_LOCK_PORT] = {
		"SELECT pg_catalog.pg_try_advisory_xact_lock($1, $2)",
		2, {INT4OID, INT4OID}
	},
	[STMT_CLAIM_PORT] = {
		"UPDATE @extschema@.user_container"
		"   SET gateway_port = $2, updated_at = pg_catalog.now()"
		" WHERE user_id = $1"
		"   AND NOT EXISTS (SELECT 1 FROM @extschema@.user_container c"
		"                    WHERE c.gateway_port = $2 AND c.user_id <> $1)",
		2, {TEXTOID, INT4OID}
	},
	[STMT_TOUCH] = {
		"UPDATE @extschema@.user_container"
		"   SET last_active_at = pg_catalog.now(), updated_at = pg_catalog.now()"
		" WHERE user_id = $1",
		1, {TEXTOID}
	},
	[STMT_STATUS] = {
		"SELECT status, gateway_port, last_active_at"
		"  FROM @extschema@.user_container"
		" WHERE user_id = $1",
		1, {TEXTOID}
	},
	[STMT_LOCK_ALL_TOKENS] = {
		"SELECT user_id, gateway_token"
		"  FROM @extschema@.user_container"
		" ORDER BY user_id"
		"   FOR UPDATE",
		0, {}
	},
	/*
	 * SKIP LOCKED leaves rows that a touch or an ensure holds; FOR UPDATE
	 * re-evaluates the WHERE clause on a row changed since the scan began,
	 * so a touch that committed in between takes the row out.
	 */
	[STMT_LOCK_IDLE] = {
		"SELECT user_id, container_id, container_name"
		"  FROM @extschema@.user_container"
		" WHERE status = 'running'"
		"   AND last_active_at < pg_catalog.statement_timestamp()"
		"                        - pg_catalog.make_interval(mins => idle_timeout_min)"
		" ORDER BY user_id"
		"   FOR UPDATE SKIP LOCKED",
		0, {}
	},
	/*
	 * Rows whose container changed after the list was taken ($1) are left
	 * for the next pass: the list would misjudge them.  The writes that
	 * change a container's state stamp updated_at with the clock after
	 * their Docker call, so this catches every change the list missed.
	 */
	[STMT_LOCK_RUNNING] = {
		"SELECT user_id, container_id, container_name, healthy, status"
		"  FROM @extschema@.user_container"
		" WHERE status IN ('running', 'paused') AND updated_at < $1"
		" ORDER BY user_id"
		"   FOR UPDATE SKIP LOCKED",
		1, {TIMESTAMPTZOID}
	},
	/*
	 * One statement for all rows, however many there are.  A container
	 * found down leaves a row pending removal as it is: the removal is
	 * committed, and 'stopped' would drop it.
	 */
	[STMT_RECORD_HEALTH] = {
		"UPDATE @extschema@.user_container AS c"
		"   SET healthy = h.healthy, health_error = h.error,"
		"       health_checked_at = pg_catalog.now(),"
		"       status = CASE WHEN h.down AND c.status <> 'removing' THEN 'stopped' ELSE c.status END,"
		"       updated_at = CASE WHEN h.down THEN pg_catalog.now() ELSE c.updated_at END"
		"  FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2),"
		"                  pg_catalog.unnest($3), pg_catalog.unnest($4)) AS h(user_id, healthy, error, down)"
		" WHERE c.user_id = h.user_id",
		4, {TEXTARRAYOID, BOOLARRAYOID, TEXTARRAYOID, BOOLARRAYOID}
	},
	[STMT_SET_IDLE_TIMEOUT] = {
		"UPDATE @extschema@.user_container"
		"   SET idle_timeout_min = $2, updated_at = pg_catalog.now()"
		" WHERE user_id = $1",
		2, {TEXTOID, INT4OID}
	},
	[STMT_LOCK_AND_TOUCH_V2] = {
		"UPDATE @extschema@.user_container"
		"   SET last_active_at = pg_catalog.now(), updated_at = pg_catalog.now()"
		" WHERE user_id = $1"
		" RETURNING " ROW_COLUMNS_V2,
		1, {TEXTOID}
	},
	[STMT_LOCK_V2] = {
		"SELECT " ROW_COLUMNS_V2
		"  FROM @extschema@.user_container"
		" WHERE user_id = $1"
		"   FOR UPDATE",
		1, {TEXTOID}
	},
	[STMT_RECORD_RUNNING_V2] = {
		"UPDATE @extschema@.user_container"
		"   SET container_id = $2, gateway_port = $3, status = 'running', spec_hash = $4,"
		"       updated_at = pg_catalog.clock_timestamp()"
		" WHERE user_id = $1",
		4, {TEXTOID, TEXTOID, INT4OID, TEXTOID}
	},
	[STMT_RECORDED_SPEC] = {
		"SELECT profile, spec_hash, container_id"
		"  FROM @extschema@.user_container"
		" WHERE user_id = $1",
		1, {TEXTOID}
	},
	[STMT_GET_PROFILE] = {
		"SELECT image, memory_limit_mb, cpus, pids_limit, idle_timeout_min, extra_env"
		"  FROM @extschema@.container_profile"
		" WHERE name = $1",
		1, {TEXTOID}
	},
	[STMT_PROFILE_EXISTS] = {
		"SELECT 1 FROM @extschema@.container_profile WHERE name = $1 FOR KEY SHARE",
		1, {TEXTOID}
	},
	[STMT_SET_PROFILE] = {
		"UPDATE @extschema@.user_container AS c"
		"   SET profile = $2, updated_at = pg_catalog.now(),"
		"       idle_timeout_min = coalesce((SELECT p.idle_timeout_min"
		"                                      FROM @extschema@.container_profile p"
		"                                     WHERE p.name = $2), c.idle_timeout_min)"
		" WHERE c.user_id = $1",
		2, {TEXTOID, TEXTOID}
	},
	/*
	 * The event, its NOTIFY (sent at commit), in one round trip.  Any role
	 * that can connect may LISTEN, so the payload is the event's id alone:
	 * who may read what happened is decided by the grants on
	 * container_event.
	 */
	[STMT_EVENT] = {
		"WITH e AS (INSERT INTO @extschema@.container_event (user_id, event, detail)"
		"           VALUES ($1, $2, $3) RETURNING id)"
		"SELECT pg_catalog.pg_notify('pg_container', e.id::pg_catalog.text)"
		"  FROM e",
		3, {TEXTOID, TEXTOID, JSONBOID}
	},
	[STMT_PRUNE_EVENTS] = {
		"DELETE FROM @extschema@.container_event"
		" WHERE at < pg_catalog.now() - pg_catalog.make_interval(mins => $1)",
		1, {INT4OID}
	},
	[STMT_DELETE_ROW] = {
		"DELETE FROM @extschema@.user_container WHERE user_id = $1",
		1, {TEXTOID}
	},
	[STMT_ALL_ROWS] = {
		"SELECT user_id, container_id, container_name, profile, spec_hash, status"
		"  FROM @extschema@.user_container"
		" ORDER BY user_id",
		0, {}
	},
	/* Last error: the newest error event, else the last health check's. */
	[STMT_OVERVIEW] = {
		"SELECT c.user_id, c.status, c.gateway_port,"
		"       CASE WHEN c.status IN ('running', 'paused') AND c.last_active_at IS NOT NULL"
		/* In bigint, clamped: a last activity far in the past must not overflow. */
		"            THEN GREATEST(0, LEAST(c.idle_timeout_min::bigint, c.idle_timeout_min - pg_catalog.floor("
		"                 pg_catalog.date_part('epoch', pg_catalog.now() - c.last_active_at) / 60)::bigint))::integer"
		"       END,"
		"       c.healthy, c.profile, c.spec_hash, c.container_id,"
		"       coalesce(e.detail ->> 'message', c.health_error),"
		"       CASE WHEN e.at IS NOT NULL THEN e.at WHEN c.health_error IS NOT NULL THEN c.health_checked_at END"
		"  FROM @extschema@.user_container c"
		"  LEFT JOIN LATERAL (SELECT ev.detail, ev.at FROM @extschema@.container_event ev"
		"                      WHERE ev.user_id = c.user_id AND ev.event = 'error'"
		"                      ORDER BY ev.at DESC LIMIT 1) e ON true"
		" ORDER BY c.user_id",
		0, {}
	},
	[STMT_GET_PROFILE_V3] = {
		"SELECT image, memory_limit_mb, cpus, pids_limit, idle_timeout_min, extra_env,"
		"       command, init, drop_capabilities"
		"  FROM @extschema@.container_profile"
		" WHERE name = $1",
		1, {TEXTOID}
	},
	[STMT_GET_PROFILE_V6] = {
		"SELECT image, memory_limit_mb, cpus, pids_limit, idle_timeout_min, extra_env,"
		"       command, init, drop_capabilities, log_max_size_mb, log_max_files"
		"  FROM @extschema@.container_profile"
		" WHERE name = $1",
		1, {TEXTOID}
	},
	/* The oldest row: see the 0.3.0 script for why there can be two. */
	[STMT_GET_INSTALLATION] = {
		"SELECT id FROM @extschema@.container_installation"
		" ORDER BY created_at, id"
		" LIMIT 1",
		0, {}
	},
	[STMT_INSERT_V4] = {
		"INSERT INTO @extschema@.user_container"
		"       (user_id, container_name, gateway_token, status, idle_timeout_min, pause_after_min)"
		"VALUES ($1, $2, $3, 'stopped', $4, $5)"
		"    ON CONFLICT DO NOTHING",
		5, {TEXTOID, TEXTOID, TEXTOID, INT4OID, INT4OID}
	},

	/*
	 * What the idle sweep does to each row, in one statement: 'stop' past
	 * idle_timeout_min (paused or not), 'pause' past pause_after_min.  The
	 * paused tier (rows paused, or about to be) is then walked newest first
	 * and every row past the memory budget ($2 MB; 0: none) is stopped
	 * instead, which stops the longest-paused first.  Each counts at its
	 * memory limit ($1 is pg_container.memory_limit), one without a limit
	 * at the whole budget.  The rows acted on are locked, skipping busy
	 * ones; a row whose status or last activity changed since the scan
	 * fails the recheck under FOR UPDATE, so a touch racing the sweep wins.
	 */
	[STMT_LOCK_TIERS] = {
		"WITH a AS ("
		"  SELECT c.user_id, c.status, c.last_active_at, c.paused_at,"
		"         CASE WHEN c.last_active_at < pg_catalog.statement_timestamp()"
		"                   - pg_catalog.make_interval(mins => c.idle_timeout_min) THEN 'stop'"
		"              WHEN c.status = 'paused' THEN 'keep'"
		"              WHEN c.pause_after_min > 0 AND c.last_active_at < pg_catalog.statement_timestamp()"
		"                   - pg_catalog.make_interval(mins => c.pause_after_min) THEN 'pause'"
		"         END AS action,"
		"         coalesce(NULLIF(coalesce(p.memory_limit_mb, $1), 0), $2)::bigint AS charge"
		"    FROM @extschema@.user_container c"
		"    LEFT JOIN @extschema@.container_profile p ON p.name = c.profile"
		"   WHERE c.status IN ('running', 'paused')),"
		" tier AS ("
		"  SELECT user_id,"
		"         CASE WHEN $2 > 0 AND pg_catalog.sum(charge) OVER (ORDER BY paused_at DESC NULLS FIRST,"
		"                  last_active_at DESC, user_id) > $2 THEN 'stop' ELSE action END AS action"
		"    FROM a WHERE action IN ('keep', 'pause')),"
		" plan AS ("
		"  SELECT a.user_id, a.status, a.last_active_at, coalesce(tier.action, a.action) AS action"
		"    FROM a LEFT JOIN tier ON tier.user_id = a.user_id)"
		"SELECT c.user_id, c.container_id, c.container_name, c.healthy, c.status, plan.action"
		"  FROM @extschema@.user_container c"
		"  JOIN plan ON plan.user_id = c.user_id"
		" WHERE plan.action IN ('stop', 'pause')"
		"   AND c.status = plan.status AND c.last_active_at = plan.last_active_at"
		" ORDER BY c.user_id"
		"   FOR UPDATE OF c SKIP LOCKED",
		2, {INT4OID, INT4OID}
	},
	/* Paused is neither healthy nor unhealthy: the health columns are cleared. */
	[STMT_RECORD_PAUSED] = {
		"UPDATE @extschema@.user_container"
		"   SET container_id = coalesce($2, container_id), status = 'paused',"
		"       paused_at = pg_catalog.clock_timestamp(),"
		"       healthy = NULL, health_error = NULL, health_checked_at = NULL,"
		"       updated_at = pg_catalog.clock_timestamp()"
		" WHERE user_id = $1",
		2, {TEXTOID, TEXTOID}
	},
	[STMT_RECORD_UNPAUSED] = {
		"UPDATE @extschema@.user_container"
		"   SET status = 'running', updated_at = pg_catalog.clock_timestamp()"
		" WHERE user_id = $1 AND status = 'paused'",
		1, {TEXTOID}
	},
	[STMT_SET_PAUSE_AFTER] = {
		"UPDATE @extschema@.user_container"
		"   SET pause_after_min = $2, updated_at = pg_catalog.now()"
		" WHERE user_id = $1",
		2, {TEXTOID, INT4OID}
	},
	[STMT_SET_PROFILE_V4] = {
		"UPDATE @extschema@.user_container AS c"
		"   SET profile = $2, updated_at = pg_catalog.now(),"
		"       idle_timeout_min = coalesce((SELECT p.idle_timeout_min"
		"                                      FROM @extschema@.container_profile p"
		"                                     WHERE p.name = $2), c.idle_timeout_min),"
		"       pause_after_min = coalesce((SELECT p.pause_after_min"
		"                                     FROM @extschema@.container_profile p"
		"                                    WHERE p.name = $2), c.pause_after_min)"
		" WHERE c.user_id = $1",
		2, {TEXTOID, TEXTOID}
	},
	/*
	 * The hot path of an ensure while the mirror is in sync: lock and touch
	 * the row only if it says the container is up and not unhealthy.  No
	 * row: the caller takes the inspecting path.
	 */
	[STMT_HOT_TOUCH] = {
		"UPDATE @extschema@.user_container"
		"   SET last_active_at = pg_catalog.now(), updated_at = pg_catalog.now()"
		" WHERE user_id = $1 AND status = 'running' AND healthy IS DISTINCT FROM false"
		"   AND container_id IS NOT NULL AND gateway_port IS NOT NULL"
		" RETURNING container_name, gateway_port, gateway_token",
		1, {TEXTOID}
	},
	/* A row an ensure holds is skipped: the mirror retries it shortly. */
	/* Not if written at or after $2: the caller's reading may be older. */
	[STMT_LOCK_ONE] = {
		"SELECT user_id, container_id, container_name, healthy, status"
		"  FROM @extschema@.user_container"
		" WHERE user_id = $1 AND updated_at < $2"
		"   FOR UPDATE SKIP LOCKED",
		2, {TEXTOID, TIMESTAMPTZOID}
	},
	[STMT_CONTAINER_ID] = {
		"SELECT container_id FROM @extschema@.user_container WHERE user_id = $1",
		1, {TEXTOID}
	},
	/* The recorded container runs again: the row says so, port unchanged. */
	[STMT_MARK_RUNNING] = {
		"UPDATE @extschema@.user_container"
		"   SET status = 'running', updated_at = pg_catalog.clock_timestamp()"
		" WHERE user_id = $1 AND container_id = $2 AND gateway_port IS NOT NULL"
		"   AND status <> 'removing'",
		2, {TEXTOID, TEXTOID}
	},
	/* 0.6.0: container_remove marks; removals.c carries it out after commit */
	[STMT_MARK_REMOVING] = {
		"UPDATE @extschema@.user_container"
		"   SET status = 'removing', remove_volume = $2, updated_at = pg_catalog.clock_timestamp()"
		" WHERE user_id = $1",
		2, {TEXTOID, BOOLOID}
	},
	/* xmin: a removal marked by this very transaction is not committed */
	[STMT_LOCK_REMOVING] = {
		"SELECT remove_volume, xmin FROM @extschema@.user_container"
		" WHERE user_id = $1 AND status = 'removing'"
		"   FOR UPDATE",
		1, {TEXTOID}
	},
	[STMT_PENDING_REMOVALS] = {
		"SELECT user_id FROM @extschema@.user_container"
		" WHERE status = 'removing'"
		" ORDER BY user_id",
		0, {}
	},
	[STMT_EXISTS] = {
		"SELECT 1 FROM @extschema@.user_container WHERE user_id = $1",
		1, {TEXTOID}
	},
	/* As STMT_LOCK_RUNNING, for stopped rows that record a container. */
	[STMT_LOCK_STOPPED] = {
		"SELECT user_id, container_id, container_name, healthy"
		"  FROM @extschema@.user_container"
		" WHERE status = 'stopped' AND container_id IS NOT NULL AND updated_at < $1"
		" ORDER BY user_id"
		"   FOR UPDATE SKIP LOCKED",
		1, {TIMESTAMPTZOID}
	},
	[STMT_RUNNING_CHANGED_SINCE] = {
		"SELECT user_id FROM @extschema@.user_container"
		" WHERE status = 'running' AND updated_at >= $1",
		1, {TIMESTAMPTZOID}
	},
	[STMT_SET_TOKEN] = {
		"UPDATE @extschema@.user_container"
		"   SET gateway_token = $2, updated_at = pg_catalog.now()"
		" WHERE user_id = $1",
		2, {TEXTOID, TEXTOID}
	},
	/* 0.4.0: the node a swarm user's service is pinned to */
	[STMT_RECORD_NODE] = {
		"UPDATE @extschema@.user_container SET node = $2"
		" WHERE user_id = $1 AND node IS DISTINCT FROM $2",
		2, {TEXTOID, TEXTOID}
	},
	[STMT_RECORDED_NODE] = {
		"SELECT node FROM @extschema@.user_container WHERE user_id = $1",
		1, {TEXTOID}
	},
	/*
	 * Another user whose id or container name is this one's but for ASCII
	 * case (Docker's DNS does not tell them apart).  COLLATE "C" folds
	 * ASCII only, as the unique indexes of 0.6.0 do.
	 */
	[STMT_NAME_HOLDER] = {
		"SELECT user_id FROM @extschema@.user_container"
		" WHERE user_id OPERATOR(pg_catalog.<>) $1"
		"   AND (pg_catalog.lower(user_id COLLATE \"C\") OPERATOR(pg_catalog.=) pg_catalog.lower($1 COLLATE \"C\")"
		"        OR pg_catalog.lower(container_name COLLATE \"C\") OPERATOR(pg_catalog.=) pg_catalog.lower($2 COLLATE \"C\"))"
		" ORDER BY user_id COLLATE \"C\""
		" LIMIT 1",
		2, {TEXTOID, TEXTOID}
	},
};

static SPIPlanPtr plans[STMT_COUNT];
static Oid	plans_namespace = InvalidOid;
static Oid	current_namespace = InvalidOid;
static StoreLayout current_layout = STORE_LAYOUT_0_1;
static Oid	current_installation_relid = InvalidOid;

/* This installation's identity, once read, and the table it was read from. */
static char installation_id[33];
static Oid	installation_relid = InvalidOid;

/*
 * The table layout a version's scripts leave.  Every version this library
 * ships a script for is named; one it does not know cannot be installed
 * with it.
 */
static StoreLayout
layout_of_version(const char *version)
{
	if (strcmp(version, "0.1.0") == 0)
		return STORE_LAYOUT_0_1;
	if (strcmp(version, "0.2.0") == 0)
		return STORE_LAYOUT_0_2;
	if (strcmp(version, "0.3.0") == 0)
		return STORE_LAYOUT_0_3;
	if (strcmp(version, "0.4.0") == 0)
		return STORE_LAYOUT_0_4;
	/* 0.5.0 adds functions (container_move), no table */
	if (strcmp(version, "0.5.0") == 0)
		return STORE_LAYOUT_0_4;
	/* 0.6.0: profile log limits, removals pending until commit */
	if (strcmp(version, "0.6.0") == 0)
		return STORE_LAYOUT_0_6;
	/* 0.7.0: so far the same tables */
	if (strcmp(version, "0.7.0") == 0)
		return STORE_LAYOUT_0_6;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("pg_container version \"%s\" is not known to this library", version),
			 errhint("Install the pg_container library that shipped with that version.")));
	pg_unreachable();
}

/*
 * The installed extension's schema and table layout, as pg_extension
 * records them; false if pg_container is not installed in this database.
 * Read from the catalog directly, not through SPI, so the worker polling
 * for it while it is absent leaves no trace in pg_stat_statements.  Call
 * inside a transaction.
 */
bool
store_find_schema(StoreSchema *schema)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	bool		found = false;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("pg_container"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		version = heap_getattr(tuple, Anum_pg_extension_extversion,
										   RelationGetDescr(rel), &isnull);

		if (isnull)
			elog(ERROR, "pg_container's extversion is null");
		schema->namespace_oid = ((Form_pg_extension) GETSTRUCT(tuple))->extnamespace;
		schema->layout = layout_of_version(TextDatumGetCString(version));
		found = true;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * Connect to SPI for statements on the installed extension.  Called from
 * the extension's own functions, so it is installed.
 */
void
store_open(void)
{
	StoreSchema schema;

	if (!store_find_schema(&schema))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"pg_container\" is not installed in this database")));
	store_open_schema(&schema);
}

/* Connect to SPI for statements on the extension as found by store_find_schema. */
void
store_open_schema(const StoreSchema *schema)
{
	if (schema->namespace_oid != plans_namespace)
	{
		for (int i = 0; i < STMT_COUNT; i++)
		{
			if (plans[i] != NULL)
				SPI_freeplan(plans[i]);
			plans[i] = NULL;
		}
		plans_namespace = schema->namespace_oid;
	}
	current_namespace = schema->namespace_oid;
	current_layout = schema->layout;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* Which table the identity was cached from: a restore makes a new one. */
	current_installation_relid = (current_layout >= STORE_LAYOUT_0_3) ?
		get_relname_relid("container_installation", current_namespace) : InvalidOid;
}

/* The layout of the tables the open store works on. */
StoreLayout
store_layout(void)
{
	return current_layout;
}

/* Whether the tables have 0.2.0's profiles, spec hashes and events. */
bool
store_is_v2(void)
{
	return current_layout >= STORE_LAYOUT_0_2;
}

/* Whether the tables are 0.4.0's: containers are paused before stopped. */
bool
store_is_v4(void)
{
	return current_layout >= STORE_LAYOUT_0_4;
}

static void
require_v2(void)
{
	if (!store_is_v2())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_container's tables are still those of version 0.1.0"),
				 errhint("Run ALTER EXTENSION pg_container UPDATE.")));
}

static int	run(StoreStatement stmt, Datum *values, const char *nulls, long max_rows);
static char *column_text(int col);

/*
 * This installation's identity (32 hex digits), which labels every
 * container and volume it makes, so that two databases sharing an engine
 * never take each other's; NULL while the tables predate 0.3.0.  It is
 * read once per process and table: it does not change, and the hot path
 * must not pay a query for it.
 */
const char *
store_installation_id(void)
{
	if (!OidIsValid(current_installation_relid))
		return NULL;
	if (installation_relid == current_installation_relid)
		return installation_id;

	run(STMT_GET_INSTALLATION, NULL, NULL, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table container_installation is empty"),
				 errdetail("It holds the identity that labels this installation's containers and volumes."),
				 errhint("Restore its row from a backup; with a new identity, pg_container no longer adopts the containers it made before.")));
	strlcpy(installation_id, column_text(1), sizeof(installation_id));
	installation_relid = current_installation_relid;
	return installation_id;
}

/* The schema store_open found, for the statements of other files. */
Oid
store_namespace(void)
{
	return current_namespace;
}

void
store_close(void)
{
	SPI_finish();
}

static char *
expand_schema(const char *sql)
{
	const char *schema = quote_identifier(get_namespace_name(current_namespace));
	const char *marker = "@extschema@";
	StringInfoData buf;
	const char *p;
	const char *hit;

	initStringInfo(&buf);
	for (p = sql; (hit = strstr(p, marker)) != NULL; p = hit + strlen(marker))
	{
		appendBinaryStringInfo(&buf, p, hit - p);
		appendStringInfoString(&buf, schema);
	}
	appendStringInfoString(&buf, p);
	return buf.data;
}

static SPIPlanPtr
plan_for(StoreStatement stmt)
{
	if (plans[stmt] == NULL)
	{
		const StatementDef *def = &statement_defs[stmt];
		SPIPlanPtr	plan;

		plan = SPI_prepare(expand_schema(def->sql), def->nargs, (Oid *) def->argtypes);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed for pg_container statement %d: %s",
				 (int) stmt, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		plans[stmt] = plan;
	}
	return plans[stmt];
}

static int
run(StoreStatement stmt, Datum *values, const char *nulls, long max_rows)
{
	int			rc = SPI_execute_plan(plan_for(stmt), values, nulls, false, max_rows);

	if (rc < 0)
		elog(ERROR, "pg_container statement %d failed: %s",
			 (int) stmt, SPI_result_code_string(rc));
	return rc;
}

static char *
column_text(int col)
{
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col);
}

/* A text[] column of the first row as a List of strings; NIL if NULL. */
static List *
column_text_list(int col, bool *is_set)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, &isnull);
	List	   *items = NIL;
	Datum	   *elems;
	bool	   *elem_nulls;
	int			n;

	if (is_set != NULL)
		*is_set = !isnull;
	if (isnull)
		return NIL;
	deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &elem_nulls, &n);
	for (int i = 0; i < n; i++)
		if (!elem_nulls[i])
			items = lappend(items, TextDatumGetCString(elems[i]));
	return items;
}

/* A boolean column of the first row: 1, 0, or -1 if NULL. */
static int
column_bool(int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? -1 : (DatumGetBool(d) ? 1 : 0);
}

static bool
fetch_row(UserContainerRow *row)
{
	char	   *port;
	char	   *status;

	if (SPI_processed == 0)
		return false;
	row->id = column_text(1);
	row->user_id = column_text(2);
	row->container_id = column_text(3);
	row->container_name = column_text(4);
	port = column_text(5);
	row->gateway_port = port ? atoi(port) : 0;
	row->gateway_token = column_text(6);
	status = column_text(7);
	row->running = status != NULL && strcmp(status, "running") == 0;
	row->paused = status != NULL && strcmp(status, "paused") == 0;
	row->profile = NULL;
	row->spec_hash = NULL;
	if (store_is_v2())
	{
		row->profile = column_text(8);
		row->spec_hash = column_text(9);
	}
	return true;
}

/*
 * Lock the user's row and record activity in one statement: on the hot
 * path of container_ensure_running this is the only write.
 */
bool
store_lock_and_touch(const char *user_id, UserContainerRow *row)
{
	Datum		values[1] = {CStringGetTextDatum(user_id)};

	run(store_is_v2() ? STMT_LOCK_AND_TOUCH_V2 : STMT_LOCK_AND_TOUCH, values, NULL, 0);
	return fetch_row(row);
}

bool
store_lock(const char *user_id, UserContainerRow *row)
{
	Datum		values[1] = {CStringGetTextDatum(user_id)};

	run(store_is_v2() ? STMT_LOCK_V2 : STMT_LOCK, values, NULL, 0);
	return fetch_row(row);
}

/*
 * Insert the user's row unless one exists.  A concurrent insert of the same
 * row wins quietly, whichever of its unique keys (user id, container name,
 * and from 0.6.0 both folded to lower case) meets it first: arbitrating on
 * the user id alone let another key raise a unique violation.  Returns the
 * other user whose id, or whose container name, is this one's but for
 * ASCII case (or exactly the name: a changed name_prefix can make two
 * users' names meet), else NULL.
 */
char *
store_insert(const char *user_id, const char *container_name, const char *encrypted_token)
{
	Datum		values[5] = {
		CStringGetTextDatum(user_id),
		CStringGetTextDatum(container_name),
		CStringGetTextDatum(encrypted_token),
		Int32GetDatum(pgc_default_idle_timeout_min),
		Int32GetDatum(pgc_default_pause_after_min)
	};
	char	   *holder;

	run(store_is_v4() ? STMT_INSERT_V4 : STMT_INSERT, values, NULL, 0);
	if (SPI_processed > 0)
		return NULL;
	run(STMT_NAME_HOLDER, values, NULL, 1);
	holder = SPI_processed > 0 ? column_text(1) : NULL;
	return holder;
}

/* Record a running container; spec_hash may be NULL (unknown). */
void
store_record_running(const char *user_id, const char *container_id, int port,
					 const char *spec_hash)
{
	Datum		values[4] = {
		CStringGetTextDatum(user_id),
		CStringGetTextDatum(container_id),
		Int32GetDatum(port),
		spec_hash ? CStringGetTextDatum(spec_hash) : (Datum) 0
	};
	char		nulls[4] = {' ', ' ', ' ', spec_hash ? ' ' : 'n'};

	if (store_is_v2())
		run(STMT_RECORD_RUNNING_V2, values, nulls, 0);
	else
		run(STMT_RECORD_RUNNING, values, NULL, 0);
}

void
store_record_stopped(const char *user_id, const char *container_id)
{
	Datum		values[2] = {
		CStringGetTextDatum(user_id),
		container_id ? CStringGetTextDatum(container_id) : (Datum) 0
	};
	char		nulls[2] = {' ', container_id ? ' ' : 'n'};

	run(STMT_RECORD_STOPPED, values, nulls, 0);
}

/*
 * Record the swarm node the user's service was placed on, where their
 * volume now is.  Tables older than 0.4.0 have no place for it.
 */
void
store_record_node(const char *user_id, const char *node)
{
	Datum		values[2] = {CStringGetTextDatum(user_id), CStringGetTextDatum(node)};

	if (store_is_v4())
		run(STMT_RECORD_NODE, values, NULL, 0);
}

/* The node store_record_node recorded for the user; NULL if none. */
char *
store_recorded_node(const char *user_id)
{
	Datum		values[1] = {CStringGetTextDatum(user_id)};

	if (!store_is_v4())
		return NULL;
	run(STMT_RECORDED_NODE, values, NULL, 1);
	return SPI_processed > 0 ? column_text(1) : NULL;
}

/*
 * Claim port for the user's row, unless another row holds it or another
 * transaction is claiming it right now.
 */
bool
store_claim_port(const char *user_id, int port)
{
	Datum		lock_args[2] = {Int32GetDatum(PGC_ADVISORY_LOCK_CLASS), Int32GetDatum(port)};
	Datum		claim_args[2] = {CStringGetTextDatum(user_id), Int32GetDatum(port)};
	bool		isnull;
	bool		locked;

	run(STMT_TRY_LOCK_PORT, lock_args, NULL, 1);
	locked = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (!locked)
		return false;
	run(STMT_CLAIM_PORT, claim_args, NULL, 0);
	return SPI_processed == 1;
}

/*
 * Claim the lowest free port in the configured range for the user's row,
 * other than the "refused" ones that something outside pg_container binds,
 * and return it.
 */
int
store_claim_free_port(const char *user_id, const int *refused, int nrefused)
{
	int			start = pgc_port_range_start;
	int			end = pgc_port_range_end;
	int			after = start - 1;
	Datum	   *refused_datums = palloc(sizeof(Datum) * Max(nrefused, 1));
	Datum		refused_array;

	for (int i = 0; i < nrefused; i++)
		refused_datums[i] = Int32GetDatum(refused[i]);
	refused_array = PointerGetDatum(construct_array(refused_datums, nrefused, INT4OID,
													sizeof(int32), true, TYPALIGN_INT));

	if (start > end)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pg_container.port_range_start (%d) is greater than pg_container.port_range_end (%d)",
						start, end)));

	for (;;)
	{
		Datum		values[3] = {Int32GetDatum(after + 1), Int32GetDatum(end), refused_array};
		bool		isnull;
		int			port;

		if (after >= end)
			break;
		run(STMT_NEXT_FREE_PORT, values, NULL, 1);
		if (SPI_processed == 0)
			break;
		port = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (store_claim_port(user_id, port))
			return port;
		after = port;
	}

	ereport(ERROR,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("no free gateway port in the range %d to %d", start, end),
			 errdetail("Every port in pg_container.port_range_start to pg_container.port_range_end "
					   "is held by another user or is in use outside pg_container."),
			 errhint("Widen the range, or remove users that no longer need a container.")));
	pg_unreachable();
}

void
store_touch(const char *user_id)
{
	Datum		values[1] = {CStringGetTextDatum(user_id)};

	run(STMT_TOUCH, values, NULL, 0);
}

/*
 * Lock every row, in user id order so concurrent callers cannot deadlock,
 * and return their user ids and stored tokens.
 */
void
store_lock_all_tokens(List **user_ids, List **tokens)
{
	run(STMT_LOCK_ALL_TOKENS, NULL, NULL, 0);
	*user_ids = NIL;
	*tokens = NIL;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];

		*user_ids = lappend(*user_ids, SPI_getvalue(tuple, SPI_tuptable->tupdesc, 1));
		*tokens = lappend(*tokens, SPI_getvalue(tuple, SPI_tuptable->tupdesc, 2));
	}
}

/* Rows the statement returned, as (user_id, container_id, container_name). */
static List *
fetch_container_refs(void)
{
	List	   *refs = NIL;

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		ContainerRef *ref = palloc(sizeof(ContainerRef));

		ref->user_id = SPI_getvalue(tuple, SPI_tuptable->tupdesc, 1);
		ref->container_id = SPI_getvalue(tuple, SPI_tuptable->tupdesc, 2);
		ref->container_name = SPI_getvalue(tuple, SPI_tuptable->tupdesc, 3);
		ref->previously_healthy = 0;
		if (SPI_tuptable->tupdesc->natts >= 4)
		{
			char	   *h = SPI_getvalue(tuple, SPI_tuptable->tupdesc, 4);

			ref->previously_healthy = h ? h[0] : 0;
		}
		ref->paused = false;
		ref->pause = false;
		if (SPI_tuptable->tupdesc->natts >= 6)
		{
			char	   *status = SPI_getvalue(tuple, SPI_tuptable->tupdesc, 5);
			char	   *action = SPI_getvalue(tuple, SPI_tuptable->tupdesc, 6);

			ref->paused = status != NULL && strcmp(status, "paused") == 0;
			ref->pause = action != NULL && strcmp(action, "pause") == 0;
		}
		else if (SPI_tuptable->tupdesc->natts >= 5)
		{
			char	   *status = SPI_getvalue(tuple, SPI_tuptable->tupdesc, 5);

			ref->paused = status != NULL && strcmp(status, "paused") == 0;
		}
		refs = lappend(refs, ref);
	}
	return refs;
}

/*
 * Lock and return the rows the idle sweep acts on, skipping busy ones:
 * before 0.4.0 the running rows idle past their timeout; from 0.4.0 on
 * also the rows to pause (ref->pause), and the paused ones past the
 * memory budget (see STMT_LOCK_TIERS).
 */
List *
store_lock_idle(void)
{
	Datum		values[2] = {
		Int32GetDatum(pgc_memory_limit_mb),
		Int32GetDatum(pgc_paused_memory_budget_mb)
	};

	if (store_is_v4())
		run(STMT_LOCK_TIERS, values, NULL, 0);
	else
		run(STMT_LOCK_IDLE, NULL, NULL, 0);
	return fetch_container_refs();
}

/*
 * Record that the user's container is paused (container_id NULL: keep the
 * recorded one).  Only on 0.4.0's tables, the only ones that know the state.
 */
void
store_record_paused(const char *user_id, const char *container_id)
{
	Datum		values[2] = {
		CStringGetTextDatum(user_id),
		container_id ? CStringGetTextDatum(container_id) : (Datum) 0
	};
	char		nulls[2] = {' ', container_id ? ' ' : 'n'};

	if (store_is_v4())
		run(STMT_RECORD_PAUSED, values, nulls, 0);
}

/* Record that a paused row's container runs again (unpaused by hand). */
void
store_record_unpaused(const char *user_id)
{
	Datum		values[1] = {CStringGetTextDatum(user_id)};

	run(STMT_RECORD_UNPAUSED, values, NULL, 0);
}

/* Set pause_after_min (is_null: NULL); returns false if the user has no row. */
bool
store_set_pause_after(const char *user_id, int minutes, bool is_null)
{
	Datum		values[2] = {CStringGetTextDatum(user_id), Int32GetDatum(minutes)};
	char		nulls[2] = {' ', is_null ? 'n' : ' '};

	if (!store_is_v4())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_container's tables predate version 0.4.0, which added pausing"),
				 errhint("Run ALTER EXTENSION pg_container UPDATE.")));
	run(STMT_SET_PAUSE_AFTER, values, nulls, 0);
	return SPI_processed > 0;
}

/*
 * Lock and return the running rows not changed since "unchanged_since",
 * skipping busy ones.
 */
List *
store_lock_running(TimestampTz unchanged_since)
{
	Datum		values[1] = {TimestampTzGetDatum(unchanged_since)};

	run(STMT_LOCK_RUNNING, values, NULL, 0);
	return fetch_container_refs();
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
	run(STMT_RECORD_HEALTH, values, NULL, 0);
}

/* Returns false if the user has no row. */
bool
store_set_idle_timeout(const char *user_id, int minutes)
{
	Datum		values[2] = {CStringGetTextDatum(user_id), Int32GetDatum(minutes)};

	run(STMT_SET_IDLE_TIMEOUT, values, NULL, 0);
	return SPI_processed > 0;
}

void
store_set_token(const char *user_id, const char *encrypted_token)
{
	Datum		values[2] = {
		CStringGetTextDatum(user_id),
		CStringGetTextDatum(encrypted_token)
	};

	run(STMT_SET_TOKEN, values, NULL, 0);
}

bool
store_status(const char *user_id, char **status, int *port,
			 TimestampTz *last_active, bool *last_active_null)
{
	Datum		values[1] = {CStringGetTextDatum(user_id)};
	HeapTuple	tuple;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;

	run(STMT_STATUS, values, NULL, 1);
	if (SPI_processed == 0)
		return false;
	tuple = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	*status = SPI_getvalue(tuple, desc, 1);
	d = SPI_getbinval(tuple, desc, 2, &isnull);
	*port = isnull ? 0 : DatumGetInt32(d);
	d = SPI_getbinval(tuple, desc, 3, &isnull);
	*last_active_null = isnull;
	*last_active = isnull ? 0 : DatumGetTimestampTz(d);
	return true;
}

/*
 * What the user's row records of how its container was made, which decides
 * whether the container is out of date: its profile, spec hash and
 * container id.  False for an unknown user, and before 0.2.0.
 */
bool
store_recorded_spec(const char *user_id, char **profile, char **spec_hash, char **container_id)
{
	Datum		values[1] = {CStringGetTextDatum(user_id)};

	*profile = *spec_hash = *container_id = NULL;
	if (!store_is_v2())
		return false;
	run(STMT_RECORDED_SPEC, values, NULL, 1);
	if (SPI_processed == 0)
		return false;
	*profile = column_text(1);
	*spec_hash = column_text(2);
	*container_id = column_text(3);
	return true;
}

static bool
column_int(int col, int *value)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, &isnull);

	if (!isnull)
		*value = DatumGetInt32(d);
	return !isnull;
}

/* Load a profile; false if there is none by that name. */
bool
store_get_profile(const char *name, ContainerProfile *profile)
{
	Datum		values[1] = {CStringGetTextDatum(name)};
	bool		isnull;
	Datum		d;

	require_v2();
	/* 0.3.0's tables, which have the installation, have these columns too. */
	if (current_layout >= STORE_LAYOUT_0_6)
		run(STMT_GET_PROFILE_V6, values, NULL, 1);
	else if (current_layout >= STORE_LAYOUT_0_3)
		run(STMT_GET_PROFILE_V3, values, NULL, 1);
	else
		run(STMT_GET_PROFILE, values, NULL, 1);
	if (SPI_processed == 0)
		return false;

	memset(profile, 0, sizeof(ContainerProfile));
	profile->name = pstrdup(name);
	profile->image = column_text(1);
	if (!column_int(2, &profile->memory_limit_mb))
		profile->memory_limit_mb = -1;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
	profile->cpus = isnull ? -1 : DatumGetFloat4(d);
	if (!column_int(4, &profile->pids_limit))
		profile->pids_limit = -1;
	if (!column_int(5, &profile->idle_timeout_min))
		profile->idle_timeout_min = -1;
	profile->extra_env = column_text_list(6, NULL);
	profile->command = NIL;
	profile->has_command = false;
	profile->init = -1;
	profile->drop_capabilities = -1;
	if (current_layout >= STORE_LAYOUT_0_3)
	{
		profile->command = column_text_list(7, &profile->has_command);
		profile->init = column_bool(8);
		profile->drop_capabilities = column_bool(9);
	}
	profile->log_max_size_mb = -1;
	profile->log_max_files = -1;
	if (current_layout >= STORE_LAYOUT_0_6)
	{
		column_int(10, &profile->log_max_size_mb);
		column_int(11, &profile->log_max_files);
	}
	return true;
}

/*
 * Assign a profile (NULL: the settings alone) to the user's row, taking the
 * profile's idle timeout if it has one.  The profile row is share-locked so
 * it cannot vanish before we commit.  Returns false if the user has no row.
 */
bool
store_set_profile(const char *user_id, const char *profile)
{
	Datum		values[2] = {CStringGetTextDatum(user_id), profile ? CStringGetTextDatum(profile) : (Datum) 0};
	char		nulls[2] = {' ', profile ? ' ' : 'n'};

	require_v2();
	if (profile != NULL)
	{
		run(STMT_PROFILE_EXISTS, &values[1], NULL, 1);
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("container profile \"%s\" does not exist", profile),
					 errhint("Insert it into container_profile first.")));
	}
	run(store_is_v4() ? STMT_SET_PROFILE_V4 : STMT_SET_PROFILE, values, nulls, 0);
	return SPI_processed > 0;
}

/* Append an event and queue its NOTIFY; a no-op on 0.1.0's tables. */
void
store_event(const char *user_id, const char *event, const char *detail_json)
{
	Datum		values[3] = {
		user_id ? CStringGetTextDatum(user_id) : (Datum) 0,
		CStringGetTextDatum(event),
		DirectFunctionCall1(jsonb_in, CStringGetDatum(detail_json ? detail_json : "{}"))
	};
	char		nulls[3] = {user_id ? ' ' : 'n', ' ', ' '};

	if (!store_is_v2())
		return;
	run(STMT_EVENT, values, nulls, 0);
}

/* Delete events older than the retention; returns how many. */
uint64
store_prune_events(int retention_min)
{
	Datum		values[1] = {Int32GetDatum(retention_min)};

	if (!store_is_v2() || retention_min <= 0)
		return 0;
	run(STMT_PRUNE_EVENTS, values, NULL, 0);
	return SPI_processed;
}

void
store_delete_row(const char *user_id)
{
	Datum		values[1] = {CStringGetTextDatum(user_id)};

	run(STMT_DELETE_ROW, values, NULL, 0);
}

/* Whether the tables have 0.6.0's pending removals. */
bool
store_is_v6(void)
{
	return current_layout >= STORE_LAYOUT_0_6;
}

/* Mark the user's row as removed once this transaction commits. */
void
store_mark_removing(const char *user_id, bool remove_volume)
{
	Datum		values[2] = {CStringGetTextDatum(user_id), BoolGetDatum(remove_volume)};

	run(STMT_MARK_REMOVING, values, NULL, 0);
}

/*
 * Lock the user's row if it is pending removal, waiting for the marking
 * transaction.  marked_here: the mark is this transaction's own (or one
 * of its subtransactions'), so not yet committed.
 */
bool
store_lock_committed_removal(const char *user_id, bool *remove_volume, bool *marked_here)
{
	Datum		values[1] = {CStringGetTextDatum(user_id)};
	bool		isnull;
	Datum		xmin;

	if (!store_is_v6())
		return false;
	run(STMT_LOCK_REMOVING, values, NULL, 0);
	if (SPI_processed == 0)
		return false;
	*remove_volume = column_bool(1);
	xmin = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	*marked_here = TransactionIdIsCurrentTransactionId(DatumGetTransactionId(xmin));
	return true;
}

/* The users pending removal, ordered by user id; none before 0.6.0. */
List *
store_pending_removals(void)
{
	List	   *user_ids = NIL;

	if (!store_is_v6())
		return NIL;
	run(STMT_PENDING_REMOVALS, NULL, NULL, 0);
	for (uint64 i = 0; i < SPI_processed; i++)
		user_ids = lappend(user_ids, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
	return user_ids;
}

/* Every row, as StoreRowSummary, ordered by user id. */
List *
store_all_rows(void)
{
	List	   *rows = NIL;

	require_v2();
	run(STMT_ALL_ROWS, NULL, NULL, 0);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		StoreRowSummary *r = palloc(sizeof(StoreRowSummary));

		r->user_id = SPI_getvalue(tuple, desc, 1);
		r->container_id = SPI_getvalue(tuple, desc, 2);
		r->container_name = SPI_getvalue(tuple, desc, 3);
		r->profile = SPI_getvalue(tuple, desc, 4);
		r->spec_hash = SPI_getvalue(tuple, desc, 5);
		r->status = SPI_getvalue(tuple, desc, 6);
		rows = lappend(rows, r);
	}
	return rows;
}

/* The container_overview rows, in result_context; outdated is left false. */
List *
store_overview_rows(MemoryContext result_context)
{
	List	   *rows = NIL;

	require_v2();
	run(STMT_OVERVIEW, NULL, NULL, 0);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		MemoryContext old_context = MemoryContextSwitchTo(result_context);
		OverviewRow *o = palloc0(sizeof(OverviewRow));
		bool		isnull;
		Datum		d;

		o->user_id = SPI_getvalue(tuple, desc, 1);
		o->status = SPI_getvalue(tuple, desc, 2);
		d = SPI_getbinval(tuple, desc, 3, &isnull);
		o->port = isnull ? 0 : DatumGetInt32(d);
		d = SPI_getbinval(tuple, desc, 4, &isnull);
		o->idle_minutes_left = isnull ? -1 : DatumGetInt32(d);
		d = SPI_getbinval(tuple, desc, 5, &isnull);
		o->healthy = isnull ? -1 : (DatumGetBool(d) ? 1 : 0);
		o->profile = SPI_getvalue(tuple, desc, 6);
		o->spec_hash = SPI_getvalue(tuple, desc, 7);
		o->container_id = SPI_getvalue(tuple, desc, 8);
		o->last_error = SPI_getvalue(tuple, desc, 9);
		d = SPI_getbinval(tuple, desc, 10, &isnull);
		o->last_error_at = isnull ? 0 : DatumGetTimestampTz(d);
		rows = lappend(rows, o);
		MemoryContextSwitchTo(old_context);
	}
	return rows;
}

/*
 * The mirror's hot path: touch the row if it says running and not
 * unhealthy, returning what the URL and token are made from.  False: the
 * row is missing or not known to be up, and nothing was written.
 */
bool
store_hot_touch(const char *user_id, char **container_name, int *port,
				char **encrypted_token)
{
	Datum		values[1] = {CStringGetTextDatum(user_id)};

	run(STMT_HOT_TOUCH, values, NULL, 1);
	if (SPI_processed == 0)
		return false;
	*container_name = column_text(1);
	*port = atoi(column_text(2));
	*encrypted_token = column_text(3);
	return true;
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

	run(STMT_LOCK_ONE, values, NULL, 1);
	/* Up: running, or paused (the container is there, frozen). */
	if (SPI_processed > 0)
		*running = strcmp(column_text(5), "stopped") != 0;
	refs = fetch_container_refs();
	if (refs != NIL)
	{
		*ref = *(ContainerRef *) linitial(refs);
		return STORE_ROW_LOCKED;
	}
	run(STMT_EXISTS, values, NULL, 1);
	return SPI_processed > 0 ? STORE_ROW_BUSY : STORE_ROW_ABSENT;
}

/* The container the user's row records, read without a lock; NULL if none. */
char *
store_container_id(const char *user_id)
{
	Datum		values[1] = {CStringGetTextDatum(user_id)};

	run(STMT_CONTAINER_ID, values, NULL, 1);
	return SPI_processed > 0 ? column_text(1) : NULL;
}

/* Lock the stopped rows that record a container, not changed since "unchanged_since". */
List *
store_lock_stopped(TimestampTz unchanged_since)
{
	Datum		values[1] = {TimestampTzGetDatum(unchanged_since)};

	run(STMT_LOCK_STOPPED, values, NULL, 0);
	return fetch_container_refs();
}

/* User ids of running rows written at or after "since". */
List *
store_running_changed_since(TimestampTz since)
{
	Datum		values[1] = {TimestampTzGetDatum(since)};
	List	   *user_ids = NIL;

	run(STMT_RUNNING_CHANGED_SINCE, values, NULL, 0);
	for (uint64 i = 0; i < SPI_processed; i++)
		user_ids = lappend(user_ids, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
	return user_ids;
}

/* The row's recorded container runs again; false if the row records another. */
bool
store_mark_running(const char *user_id, const char *container_id)
{
	Datum		values[2] = {CStringGetTextDatum(user_id), CStringGetTextDatum(container_id)};

	run(STMT_MARK_RUNNING, values, NULL, 0);
	return SPI_processed > 0;
}
