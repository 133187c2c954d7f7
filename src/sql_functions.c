/*-------------------------------------------------------------------------
 *
 * sql_functions.c
 *	  The SQL-callable functions: argument checks, result shapes, and the
 *	  SPI connection around each call.
 *
 * Every function checks its user id before anything else, so bad input
 * reaches neither the table nor Docker.  The functions run as SECURITY
 * DEFINER with search_path pinned to pg_catalog, pg_temp (see the install
 * script); they find their table through the schema pg_extension records
 * for pg_container (store_open).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "container_store.h"
#include "docker_api.h"
#include "lifecycle.h"
#include "removals.h"
#include "names.h"
#include "settings.h"
#include "start_queue.h"
#include "state_mirror.h"
#include "stats.h"
#include "sweeps.h"
#include "token_crypto.h"
#include "user_id_arg.h"
#include "views.h"

#define USER_ID_MAX_LENGTH 63
#define USER_ID_RULE "^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"

PG_FUNCTION_INFO_V1(container_ensure_running);
PG_FUNCTION_INFO_V1(container_ensure_running_checked);
PG_FUNCTION_INFO_V1(container_stop);
PG_FUNCTION_INFO_V1(container_restart);
PG_FUNCTION_INFO_V1(container_touch);
PG_FUNCTION_INFO_V1(container_status);
PG_FUNCTION_INFO_V1(container_reencrypt_tokens);
PG_FUNCTION_INFO_V1(container_reap_idle);
PG_FUNCTION_INFO_V1(container_logs);
PG_FUNCTION_INFO_V1(container_health_check_all);
PG_FUNCTION_INFO_V1(container_set_idle_timeout);
PG_FUNCTION_INFO_V1(container_set_pause_after);
PG_FUNCTION_INFO_V1(container_set_profile);
PG_FUNCTION_INFO_V1(container_remove);
PG_FUNCTION_INFO_V1(container_process_removals);

static int	process_removals(void);
PG_FUNCTION_INFO_V1(container_outdated);
PG_FUNCTION_INFO_V1(container_orphans);
PG_FUNCTION_INFO_V1(container_overview_rows);

static void
raise_invalid_user_id(const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("user id must match %s", USER_ID_RULE),
			 errdetail("A user id is 1 to 63 letters, digits, \"_\", \".\" or \"-\", "
					   "starting with a letter or digit; the value given %s.", why)));
}

/*
 * A timeout interval argument in milliseconds (a month as 30 days); not
 * null.  Each caller checks the range it accepts.
 */
double
interval_arg_ms(FunctionCallInfo fcinfo, int argno)
{
	Interval   *timeout;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("timeout must not be null")));
	timeout = PG_GETARG_INTERVAL_P(argno);
	return timeout->time / 1000.0 +
		((double) timeout->month * DAYS_PER_MONTH + timeout->day) * SECS_PER_DAY * 1000.0;
}

/*
 * The user id argument, checked against USER_ID_RULE.  The value itself
 * never goes into the message: it may be huge or hold control characters.
 * An oversized value is refused from its header, before it is detoasted.
 */
char *
user_id_arg(FunctionCallInfo fcinfo, int argno)
{
	text	   *arg;
	const char *p;
	int			len;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("user id must not be null")));

	if (toast_raw_datum_size(PG_GETARG_DATUM(argno)) - VARHDRSZ > USER_ID_MAX_LENGTH)
		raise_invalid_user_id("is longer than 63 bytes");

	arg = PG_GETARG_TEXT_PP(argno);
	p = VARDATA_ANY(arg);
	len = VARSIZE_ANY_EXHDR(arg);

	if (len == 0)
		raise_invalid_user_id("is empty");
	if (!pgc_name_start_char(p[0]))
		raise_invalid_user_id("does not start with a letter or digit");
	for (int i = 1; i < len; i++)
	{
		if (!pgc_name_char(p[i]))
			raise_invalid_user_id(psprintf("has a character that is not allowed at position %d", i + 1));
	}
	return text_to_cstring(arg);
}

/* Build the (url, token) record the OUT parameters describe. */
static Datum
url_token_result(FunctionCallInfo fcinfo, const char *url, const char *token)
{
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = CStringGetTextDatum(url);
	values[1] = CStringGetTextDatum(token);
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}

/*
 * Ensure (or restart).  Unless "checked" (or restarting), a row the event
 * mirror vouches for is trusted without asking Docker.
 */
static Datum
ensure_running(FunctionCallInfo fcinfo, bool restart, bool checked)
{
	char	   *user_id = user_id_arg(fcinfo, 0);
	MemoryContext caller_context = CurrentMemoryContext;
	char	   *url;
	char	   *token;
	char	   *plain;
	Datum		result;

	/* Without a usable key, fail before touching the table or Docker. */
	pgc_require_encryption_key();

	store_open();
	if (restart)
		lifecycle_restart(user_id, &url, &token);
	else if (start_queue_wait_if_pending(user_id, &url, &token))
		;						/* the worker booted it: no second boot here */
	else if (checked || !state_mirror_hot_ensure(user_id, &url, &token))
		lifecycle_ensure_running(user_id, &url, &token);
	url = MemoryContextStrdup(caller_context, url);
	plain = MemoryContextStrdup(caller_context, token);
	/* The plaintext token is wiped from every buffer we had it in. */
	explicit_bzero(token, strlen(token));
	store_close();

	result = url_token_result(fcinfo, url, plain);
	explicit_bzero(plain, strlen(plain));
	return result;
}

/*
 * The lifecycle entry points below run their body (*_call) through
 * stats_measure, the one place a call is counted in
 * container_stat_operations (stats.c).
 */

/*
 * container_ensure_running(user_id text, OUT url text, OUT token text)
 */
static Datum
ensure_call(PG_FUNCTION_ARGS)
{
	return ensure_running(fcinfo, false, false);
}

Datum
container_ensure_running(PG_FUNCTION_ARGS)
{
	return stats_measure(PGC_OP_HOT_ENSURE, ensure_call, fcinfo);
}

/*
 * container_ensure_running_checked(user_id text, OUT url text, OUT token text)
 *
 * Always asks Docker: for a caller that just failed to reach the gateway
 * the table said was up.
 */
static Datum
ensure_checked_call(PG_FUNCTION_ARGS)
{
	return ensure_running(fcinfo, false, true);
}

Datum
container_ensure_running_checked(PG_FUNCTION_ARGS)
{
	return stats_measure(PGC_OP_HOT_ENSURE, ensure_checked_call, fcinfo);
}

/*
 * container_restart(user_id text, OUT url text, OUT token text)
 *
 * Stop and start; recreate first if the settings or profile changed.
 */
static Datum
restart_call(PG_FUNCTION_ARGS)
{
	return ensure_running(fcinfo, true, true);
}

Datum
container_restart(PG_FUNCTION_ARGS)
{
	return stats_measure(PGC_OP_RESTART, restart_call, fcinfo);
}

/*
 * container_stop(user_id text) returns void
 */
static Datum
stop_call(PG_FUNCTION_ARGS)
{
	char	   *user_id = user_id_arg(fcinfo, 0);

	store_open();
	lifecycle_stop(user_id);
	store_close();
	PG_RETURN_VOID();
}

Datum
container_stop(PG_FUNCTION_ARGS)
{
	return stats_measure(PGC_OP_STOP, stop_call, fcinfo);
}

/*
 * The kind of activity a touch reports: NULL (none said), or 1 to
 * ACTIVITY_SOURCE_MAX_LENGTH of [a-z0-9_.-], so that the overview can
 * group by it and no free text reaches the row.  The table's CHECK says
 * the same.
 */
#define ACTIVITY_SOURCE_MAX_LENGTH 32

static char *
activity_source_arg(FunctionCallInfo fcinfo, int argno)
{
	text	   *arg;
	const char *p;
	int			len;
	bool		ok;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return NULL;
	/* Refused from its header, before a huge value is detoasted. */
	ok = toast_raw_datum_size(PG_GETARG_DATUM(argno)) - VARHDRSZ <= ACTIVITY_SOURCE_MAX_LENGTH;
	if (ok)
	{
		arg = PG_GETARG_TEXT_PP(argno);
		p = VARDATA_ANY(arg);
		len = VARSIZE_ANY_EXHDR(arg);
		ok = len > 0;
		for (int i = 0; ok && i < len; i++)
			ok = (p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') ||
				p[i] == '_' || p[i] == '.' || p[i] == '-';
	}
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("activity source must match ^[a-z0-9_.-]{1,%d}$", ACTIVITY_SOURCE_MAX_LENGTH),
				 errdetail("A source names a kind of activity, such as \"message\" or \"tool_call\"; NULL says none.")));
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/*
 * container_touch(user_id text) returns void
 * container_touch(user_id text, source text) returns void
 *
 * One UPDATE and no Docker request: applications call this on every
 * message.  The row keeps the source of the last touch; one without a
 * source clears it, so what the overview shows is always the source of
 * the last activity.
 */
static Datum
touch_call(PG_FUNCTION_ARGS)
{
	char	   *user_id = user_id_arg(fcinfo, 0);
	char	   *source = activity_source_arg(fcinfo, 1);

	store_open();
	/* Only when no row was touched: a touch stays one UPDATE. */
	if (!store_touch(user_id, source))
		removal_refuse_pending(user_id);
	store_close();
	PG_RETURN_VOID();
}

Datum
container_touch(PG_FUNCTION_ARGS)
{
	return stats_measure(PGC_OP_TOUCH, touch_call, fcinfo);
}

/*
 * container_status(user_id text)
 *		returns table(status text, port integer, last_active timestamptz,
 *					  outdated boolean, held_until timestamptz)
 *
 * What the table says, whether the container was made from other
 * settings than the current ones (no Docker request either way), and
 * until when a live lease holds the user (NULL: none); zero rows for an
 * unknown user.  Older scripts bind this symbol to shorter shapes:
 * store_open refuses those versions before the shape is checked.
 */
Datum
container_status(PG_FUNCTION_ARGS)
{
	char	   *user_id = user_id_arg(fcinfo, 0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *status;
	int			port;
	TimestampTz last_active;
	bool		last_active_null;
	TimestampTz held_until;
	char	   *profile;
	char	   *spec_hash;
	char	   *container_id;

	InitMaterializedSRF(fcinfo, 0);

	store_open();
	if (rsinfo->setDesc->natts != 5)
		elog(ERROR, "incorrect number of output arguments");
	if (store_status(user_id, &status, &port, &last_active, &last_active_null, &held_until))
	{
		Datum		values[5];
		bool		nulls[5] = {false, port == 0, last_active_null, false, held_until == 0};

		values[0] = CStringGetTextDatum(status);
		values[1] = Int32GetDatum(port);
		values[2] = TimestampTzGetDatum(last_active);
		values[4] = TimestampTzGetDatum(held_until);
		if (store_recorded_spec(user_id, &profile, &spec_hash, &container_id))
			values[3] = BoolGetDatum(view_outdated_one(user_id, profile, spec_hash, container_id));
		else
			nulls[3] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	store_close();

	return (Datum) 0;
}

/*
 * container_reencrypt_tokens() returns bigint
 *
 * Rewrites every stored token under the current key, each with a fresh IV,
 * in the caller's transaction; returns how many it rewrote.  Run it after
 * pointing pg_container.encryption_key_file at a new key and
 * pg_container.encryption_key_file_previous at the old one.  Any token that
 * decrypts with neither key fails the whole call and changes nothing.
 */
Datum
container_reencrypt_tokens(PG_FUNCTION_ARGS)
{
	List	   *user_ids;
	List	   *tokens;
	ListCell   *lc_user;
	ListCell   *lc_token;
	int64		rewritten = 0;

	pgc_require_encryption_key();

	store_open();
	store_lock_all_tokens(&user_ids, &tokens);
	forboth(lc_user, user_ids, lc_token, tokens)
	{
		const char *user_id = lfirst(lc_user);
		char	   *token = pgc_token_decrypt(lfirst(lc_token), user_id);

		store_set_token(user_id, pgc_token_encrypt(token, user_id));
		explicit_bzero(token, strlen(token));
		rewritten++;
	}
	store_close();

	PG_RETURN_INT64(rewritten);
}

/* Return a list of C strings as the rows of a SETOF text function. */
static void
return_strings(FunctionCallInfo fcinfo, List *strings)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ListCell   *lc;

	foreach(lc, strings)
	{
		Datum		value = CStringGetTextDatum((char *) lfirst(lc));
		bool		isnull = false;

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
	}
}

/*
 * Run one fleet-wide pass or view with the store open, its result list
 * built in the caller's memory context.
 */
static List *
collect_from_store(List *(*collect) (MemoryContext result_context))
{
	MemoryContext caller_context = CurrentMemoryContext;
	List	   *result;

	store_open();
	result = collect(caller_context);
	store_close();
	return result;
}

/*
 * container_reap_idle() returns setof text
 *
 * Stops every running container idle past its timeout, in parallel, and
 * returns the user ids it stopped.
 */
static Datum
reap_call(PG_FUNCTION_ARGS)
{
	List	   *stopped;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);

	process_removals();
	stopped = collect_from_store(sweep_reap_idle);

	return_strings(fcinfo, stopped);
	return (Datum) 0;
}

Datum
container_reap_idle(PG_FUNCTION_ARGS)
{
	return stats_measure(PGC_OP_REAP, reap_call, fcinfo);
}

/*
 * container_health_check_all()
 *		returns table(user_id text, healthy boolean, error text)
 *
 * One row per running user, from one Docker request; the outcome is also
 * recorded in the rows, and rows whose container is down become 'stopped'.
 */
static Datum
health_call(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *results;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);

	process_removals();
	results = collect_from_store(sweep_health_check);

	foreach(lc, results)
	{
		HealthResult *r = lfirst(lc);
		Datum		values[3];
		bool		nulls[3] = {false, r->paused, r->error == NULL};

		values[0] = CStringGetTextDatum(r->user_id);
		values[1] = BoolGetDatum(r->healthy);
		values[2] = r->error ? CStringGetTextDatum(r->error) : (Datum) 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

Datum
container_health_check_all(PG_FUNCTION_ARGS)
{
	return stats_measure(PGC_OP_HEALTH, health_call, fcinfo);
}

/*
 * container_set_idle_timeout(user_id text, minutes integer) returns void
 *
 * Lets an application role set a user's idle timeout without table rights.
 */
Datum
container_set_idle_timeout(PG_FUNCTION_ARGS)
{
	char	   *user_id = user_id_arg(fcinfo, 0);
	int32		minutes;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("idle timeout must not be null")));
	minutes = PG_GETARG_INT32(1);
	if (minutes <= 0 || minutes > PGC_MAX_IDLE_TIMEOUT_MIN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("idle timeout must be between 1 and %d minutes", PGC_MAX_IDLE_TIMEOUT_MIN),
				 errdetail("The value given is %d.", minutes)));

	store_open();
	removal_refuse_pending(user_id);
	lifecycle_set_idle_timeout(user_id, minutes);
	store_close();
	PG_RETURN_VOID();
}

/*
 * container_set_pause_after(user_id text, minutes integer) returns void
 *
 * Lets an application role choose when a user's idle container is paused;
 * NULL or 0 never pauses it.
 */
Datum
container_set_pause_after(PG_FUNCTION_ARGS)
{
	char	   *user_id = user_id_arg(fcinfo, 0);
	int32		minutes = PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1);

	if (minutes < 0 || minutes > PGC_MAX_IDLE_TIMEOUT_MIN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pause_after must be between 0 and %d minutes", PGC_MAX_IDLE_TIMEOUT_MIN),
				 errdetail("The value given is %d.", minutes)));

	store_open();
	removal_refuse_pending(user_id);
	lifecycle_set_pause_after(user_id, minutes, PG_ARGISNULL(1));
	store_close();
	PG_RETURN_VOID();
}

/*
 * container_set_profile(user_id text, profile text) returns void
 *
 * NULL profile: back to the settings alone.  Takes effect at the next
 * create or fresh-config restart.
 */
Datum
container_set_profile(PG_FUNCTION_ARGS)
{
	char	   *user_id = user_id_arg(fcinfo, 0);
	char	   *profile = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));

	store_open();
	removal_refuse_pending(user_id);
	lifecycle_set_profile(user_id, profile);
	store_close();
	PG_RETURN_VOID();
}

/*
 * container_remove(user_id text, keep_volume boolean default true) returns void
 *
 * The only way the extension ever deletes a user's data: keep_volume => false.
 */
Datum
container_remove(PG_FUNCTION_ARGS)
{
	char	   *user_id = user_id_arg(fcinfo, 0);
	bool		keep_volume;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("keep_volume must not be null")));
	keep_volume = PG_GETARG_BOOL(1);

	store_open();
	lifecycle_remove(user_id, keep_volume);
	store_close();
	PG_RETURN_VOID();
}

/*
 * Carry out the committed removals; what pg_cron's reap and health calls
 * do first, for databases no worker serves.
 */
static int
process_removals(void)
{
	int			removed;

	store_open();
	removed = removals_process();
	store_close();
	return removed;
}

/*
 * container_process_removals() returns integer
 *
 * For operators: carry out committed container_remove calls now rather
 * than at the worker's next look; returns how many users were removed.
 */
Datum
container_process_removals(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(process_removals());
}

/* The most lines container_logs returns. */
#define MAX_LOG_LINES 10000

/*
 * container_logs(user_id text, tail integer default 100, since interval default null)
 *		returns setof text
 *
 * The last lines of the user's container's output, stdout and stderr, with
 * the user's token replaced by <redacted>.
 */
Datum
container_logs(PG_FUNCTION_ARGS)
{
	MemoryContext caller_context = CurrentMemoryContext;
	char	   *user_id = user_id_arg(fcinfo, 0);
	int32		tail;
	int64		since = 0;
	List	   *lines;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("tail must not be null")));
	tail = PG_GETARG_INT32(1);
	if (tail < 1 || tail > MAX_LOG_LINES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("tail must be between 1 and %d lines", MAX_LOG_LINES),
				 errdetail("The value given is %d.", tail)));
	if (!PG_ARGISNULL(2))
	{
		Interval   *ago = PG_GETARG_INTERVAL_P(2);
		TimestampTz from = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval,
																	TimestampTzGetDatum(GetCurrentTimestamp()),
																	IntervalPGetDatum(ago)));

		since = (int64) timestamptz_to_time_t(from);
		if (since < 0)
			since = 0;
	}

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	pgc_require_encryption_key();
	store_open();
	removal_refuse_pending(user_id);
	lines = lifecycle_logs(user_id, tail, since, caller_context);
	store_close();
	return_strings(fcinfo, lines);
	return (Datum) 0;
}

/*
 * container_outdated() returns setof text
 *
 * Users whose container was made from other settings or another profile
 * than the current ones: SELECT container_restart(u) FROM container_outdated() u
 * rolls them.
 */
Datum
container_outdated(PG_FUNCTION_ARGS)
{
	List	   *outdated;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	outdated = collect_from_store(view_outdated);
	return_strings(fcinfo, outdated);
	return (Datum) 0;
}

/*
 * container_orphans()
 *		returns table(container_id text, name text, user_id text, state text)
 *
 * Containers carrying our label that no row owns; never removed for you.
 */
Datum
container_orphans(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *orphans;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	orphans = collect_from_store(view_orphans);

	foreach(lc, orphans)
	{
		DockerContainer *c = lfirst(lc);
		Datum		values[4];
		bool		nulls[4] = {false, c->name == NULL, c->user_label == NULL, c->state == NULL};

		values[0] = CStringGetTextDatum(c->id);
		values[1] = c->name ? CStringGetTextDatum(c->name) : (Datum) 0;
		values[2] = c->user_label ? CStringGetTextDatum(c->user_label) : (Datum) 0;
		values[3] = c->state ? CStringGetTextDatum(c->state) : (Datum) 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * container_overview_rows(), behind the container_overview view: one row
 * per user with status, port, idle minutes left, health, profile, whether
 * its spec is out of date, and the last error.
 */
Datum
container_overview_rows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *rows;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	rows = collect_from_store(view_overview);

	foreach(lc, rows)
	{
		OverviewRow *o = lfirst(lc);
		Datum		values[9];
		bool		nulls[9] = {false};

		values[0] = CStringGetTextDatum(o->user_id);
		values[1] = CStringGetTextDatum(o->status);
		values[2] = Int32GetDatum(o->port);
		nulls[2] = o->port == 0;
		values[3] = Int32GetDatum(o->idle_minutes_left);
		nulls[3] = o->idle_minutes_left < 0;
		values[4] = BoolGetDatum(o->healthy == 1);
		nulls[4] = o->healthy < 0;
		values[5] = o->profile ? CStringGetTextDatum(o->profile) : (Datum) 0;
		nulls[5] = o->profile == NULL;
		values[6] = BoolGetDatum(o->outdated);
		values[7] = o->last_error ? CStringGetTextDatum(o->last_error) : (Datum) 0;
		nulls[7] = o->last_error == NULL;
		values[8] = TimestampTzGetDatum(o->last_error_at);
		nulls[8] = o->last_error_at == 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
