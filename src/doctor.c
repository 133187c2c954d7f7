/*-------------------------------------------------------------------------
 *
 * doctor.c
 *	  container_doctor(): one row per finding (severity, user_id, check,
 *	  detail, hint), so that an operator can audit an installation from
 *	  SQL.  This file holds the function and the checks of the installation
 *	  as a whole: the key files, the event mirror, the engine's version,
 *	  API and clock, orphans and outdated specs; doctor_units.c checks each
 *	  user's container, volume and network against their row and spec.
 *
 * A clean installation reports nothing: every finding is something to act
 * on, and says how in its hint.  The doctor only reads; it changes neither
 * a row nor a container.  An engine it cannot reach is itself a finding,
 * and the checks that need the engine are then skipped.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "commands/dbcommands.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "container_store.h"
#include "docker_api.h"
#include "docker_http.h"
#include "doctor.h"
#include "engine.h"
#include "json_walk.h"
#include "settings.h"
#include "state_mirror.h"
#include "views.h"

/* The oldest Engine API pg_container speaks: Docker 20.10's. */
#define DOCTOR_OLDEST_API_MAJOR 1
#define DOCTOR_OLDEST_API_MINOR 41

/*
 * Clock skew past which the engine's timestamps (log "since", events)
 * and the database's (last activity, container_usage) disagree enough to
 * matter.
 */
#define DOCTOR_MAX_CLOCK_SKEW_S 5

static List *findings = NIL;
static MemoryContext findings_context = NULL;

void
doctor_report(const char *severity, const char *user_id, const char *check,
			  const char *detail, const char *hint)
{
	MemoryContext old_context = MemoryContextSwitchTo(findings_context);
	DoctorFinding *f = palloc(sizeof(DoctorFinding));

	f->severity = pstrdup(severity);
	f->user_id = user_id ? pstrdup(user_id) : NULL;
	f->check = pstrdup(check);
	f->detail = pstrdup(detail);
	f->hint = hint ? pstrdup(hint) : NULL;
	findings = lappend(findings, f);
	MemoryContextSwitchTo(old_context);
}

/* A key file must exist, belong to the server's user, and be 0600 or less. */
static void
check_key_file(const char *path, const char *setting)
{
	struct stat st;

	if (path == NULL || path[0] == '\0')
		return;
	if (stat(path, &st) != 0)
		doctor_report("error", NULL, "key file",
					  psprintf("%s names \"%s\", which cannot be read: %m.", setting, path),
					  "Restore the file, or point the setting at the key the tokens were encrypted with.");
	else if (st.st_uid != geteuid())
		doctor_report("error", NULL, "key file",
					  psprintf("%s \"%s\" is owned by user ID %u; the server runs as user ID %u.",
							   setting, path, (unsigned int) st.st_uid, (unsigned int) geteuid()),
					  "Run chown on the file to give it to the user the server runs as.");
	else if (st.st_mode & (S_IRWXG | S_IRWXO))
		doctor_report("error", NULL, "key file",
					  psprintf("%s \"%s\" has mode %04o: its group or other users may read it.",
							   setting, path, (unsigned int) (st.st_mode & 07777)),
					  "Run chmod 0600 on the file.");
}

/* The worker's mirror, where it should run for this database. */
static void
check_mirror(void)
{
	const char *database = get_database_name(MyDatabaseId);

	if (!process_shared_preload_libraries_done || !state_mirror_enabled() ||
		database == NULL || strcmp(database, pgc_database) != 0)
		return;
	if (!state_mirror_in_sync())
		doctor_report("warning", NULL, "mirror",
					  "pg_container.event_stream is on, but the worker's mirror of the engine's events is not in sync: "
					  "the table is checked against the engine on every call instead.",
					  "See container_mirror and the server log for why the worker lost the event stream.");
}

/* "1.41" into its parts; false if it is not that shape. */
static bool
parse_api(const char *text, int *major, int *minor)
{
	return text != NULL && sscanf(text, "%d.%d", major, minor) == 2;
}

static bool
api_older(int major, int minor, int than_major, int than_minor)
{
	return major < than_major || (major == than_major && minor < than_minor);
}

/* What GET /version and GET /info tell the doctor. */
typedef struct EngineFacts
{
	char	   *version;
	char	   *api_version;
	char	   *min_api_version;
	char	   *system_time;
} EngineFacts;

static void
engine_facts_scalar(JsonWalker *w, char *value, JsonTokenType type)
{
	EngineFacts *facts = w->state;

	if (type != JSON_TOKEN_STRING)
		return;
	if (json_walk_at(w, 1, "Version"))
		facts->version = value;
	else if (json_walk_at(w, 1, "ApiVersion"))
		facts->api_version = value;
	else if (json_walk_at(w, 1, "MinAPIVersion"))
		facts->min_api_version = value;
	else if (json_walk_at(w, 1, "SystemTime"))
		facts->system_time = value;
}

/*
 * GET path and walk its answer into facts; an engine that does not answer
 * is reported, and false returned.
 */
static bool
read_engine_facts(const char *path, EngineFacts *facts)
{
	DockerRequest *req = docker_request_new("GET", pstrdup(path), psprintf("read %s", path));
	JsonWalker	w = {0};

	docker_run_request(req);
	if (req->failure != DOCKER_ANSWERED || req->status != 200)
	{
		doctor_report("error", NULL, "engine", docker_failure_message(req),
					  req->failure == DOCKER_ANSWERED ?
					  "Check pg_container.docker_api_version (empty: negotiate it with the engine)." :
					  "Check pg_container.docker_host and that the engine runs.");
		return false;
	}
	w.on_scalar = engine_facts_scalar;
	w.state = facts;
	docker_walk_response(req, &w);
	return true;
}

/* The engine's API against the oldest we speak and the version pinned. */
static void
check_engine_version(const EngineFacts *facts)
{
	int			major,
				minor,
				min_major,
				min_minor,
				pin_major,
				pin_minor;

	if (!parse_api(facts->api_version, &major, &minor))
	{
		doctor_report("warning", NULL, "engine",
					  "The engine's GET /version names no ApiVersion.",
					  "Check that pg_container.docker_host names a Docker Engine API.");
		return;
	}
	if (api_older(major, minor, DOCTOR_OLDEST_API_MAJOR, DOCTOR_OLDEST_API_MINOR))
		doctor_report("error", NULL, "engine",
					  psprintf("The engine (Docker %s) serves API %s; pg_container needs %d.%d or later.",
							   facts->version ? facts->version : "of unknown version", facts->api_version,
							   DOCTOR_OLDEST_API_MAJOR, DOCTOR_OLDEST_API_MINOR),
					  "Upgrade the engine to Docker 20.10 or later.");
	if (!parse_api(pgc_docker_api_version, &pin_major, &pin_minor))
		return;
	if (api_older(major, minor, pin_major, pin_minor) ||
		(parse_api(facts->min_api_version, &min_major, &min_minor) &&
		 api_older(pin_major, pin_minor, min_major, min_minor)))
		doctor_report("error", NULL, "engine",
					  psprintf("pg_container.docker_api_version is %s, but the engine serves API %s to %s.",
							   pgc_docker_api_version,
							   facts->min_api_version ? facts->min_api_version : "?", facts->api_version),
					  "Set pg_container.docker_api_version to '' to negotiate the version with the engine.");
}

/* The engine's clock against the database server's. */
static void
check_clock(const EngineFacts *facts)
{
	const char *t = facts->system_time;
	TimestampTz engine_now;
	long		secs;
	int			usecs;

	/* RFC 3339, as Docker writes it: 2006-01-02T15:04:05.999999999Z07:00 */
	if (t == NULL || strlen(t) < 20 || t[4] != '-' || t[10] != 'T' || t[13] != ':')
		return;
	engine_now = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in, CStringGetDatum(t),
														 ObjectIdGetDatum(InvalidOid),
														 Int32GetDatum(-1)));
	TimestampDifference(Min(engine_now, GetCurrentTimestamp()), Max(engine_now, GetCurrentTimestamp()),
						&secs, &usecs);
	if (secs >= DOCTOR_MAX_CLOCK_SKEW_S)
		doctor_report("warning", NULL, "clock",
					  psprintf("The engine's clock is %ld s %s the database server's (engine: %s).",
							   secs, engine_now > GetCurrentTimestamp() ? "ahead of" : "behind", t),
					  "Synchronize both hosts' clocks (NTP).");
}

/* Containers with our labels that no row owns. */
static void
check_orphans(void)
{
	ListCell   *lc;

	foreach(lc, view_orphans(CurrentMemoryContext))
	{
		DockerContainer *c = lfirst(lc);

		doctor_report("warning", c->user_label, "orphan",
					  psprintf("Container %s (%.12s, %s) carries this installation's labels, but no row owns it.",
							   c->name ? c->name : "?", c->id, c->state ? c->state : "state unknown"),
					  "Remove it (docker rm -f) once you know why it was left; container_orphans() lists them all.");
	}
}

/* Containers made from other settings or another profile than today's. */
static void
check_outdated(void)
{
	ListCell   *lc;

	foreach(lc, view_outdated(CurrentMemoryContext))
		doctor_report("info", lfirst(lc), "outdated",
					  "The container was made from other settings or another profile than the current ones.",
					  "Roll it with container_restart; container_outdated() lists them all.");
}

static void
run_checks(void)
{
	EngineFacts facts = {0};
	List	   *rows;

	check_key_file(pgc_encryption_key_file, "pg_container.encryption_key_file");
	check_key_file(pgc_encryption_key_file_previous, "pg_container.encryption_key_file_previous");
	check_mirror();
	if (!read_engine_facts("/version", &facts) || !read_engine_facts("/info", &facts))
		return;
	check_engine_version(&facts);
	check_clock(&facts);
	check_orphans();
	check_outdated();
	if (pgc_engine_kind != PGC_ENGINE_DOCKER)
		return;
	rows = store_all_rows();
	doctor_check_containers(rows);
	doctor_check_volumes_and_networks(rows);
}

/*
 * container_doctor()
 *		returns table(severity text, user_id text, "check" text, detail text,
 *					  hint text)
 */
PG_FUNCTION_INFO_V1(container_doctor);
Datum
container_doctor(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	findings = NIL;
	findings_context = CurrentMemoryContext;

	store_open();
	run_checks();
	store_close();

	foreach(lc, findings)
	{
		DoctorFinding *f = lfirst(lc);
		Datum		values[5];
		bool		nulls[5] = {false, f->user_id == NULL, false, false, f->hint == NULL};

		values[0] = CStringGetTextDatum(f->severity);
		values[1] = f->user_id ? CStringGetTextDatum(f->user_id) : (Datum) 0;
		values[2] = CStringGetTextDatum(f->check);
		values[3] = CStringGetTextDatum(f->detail);
		values[4] = f->hint ? CStringGetTextDatum(f->hint) : (Datum) 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	findings = NIL;
	return (Datum) 0;
}
