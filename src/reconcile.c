/*-------------------------------------------------------------------------
 *
 * reconcile.c
 *	  Owns the one judgement of a row that says its container is up
 *	  ('running' or 'paused') against what the engine reports of that
 *	  container, and the events that judgement records.
 *
 * Three paths ask: the health pass (sweeps.c, from one list), the event
 * mirror's resync (state_mirror.c, from one list) and its dirty pass (from
 * an inspect after an engine event); all judge a paused tier row as
 * pause.c would record it.  They differ only in how they write: the
 * health pass writes every row it checked in one statement, the mirror
 * only the rows whose state changed.  So a container is judged the same,
 * with the same event details and log lines, whichever path saw it.
 *
 * Every event detail has one schema:
 *		"source": "list" or "event", where the report came from;
 *		"reason" (stopped) or "error" (unhealthy): why, if not healthy;
 *		"exit_code", "oom_killed": how it ended, for a stop or a restart an
 *			inspect saw (a list does not tell);
 *		"container", "by": for a pause or unpause done outside pg_container.
 *
 * A restarting container (Docker restarting it under its restart policy,
 * or a swarm service wanted up with no task running) is up and unhealthy,
 * not down: nobody stopped it and the engine brings it back by itself, so
 * 'stopped' would misstate the row and make its container an orphan for
 * the reaper to stop once it runs again.  Unhealthy is enough to keep the
 * hot path of an ensure off it (STMT_HOT_TOUCH wants healthy not false),
 * so an ensure inspects and waits for it, and the engine's explanation
 * (a swarm task's error) reaches the overview.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/json.h"

#include "container_store.h"
#include "docker_api.h"
#include "event_journal.h"
#include "reconcile.h"

static const char *
source_name(ReportSource source)
{
	return source == REPORT_LIST ? "list" : "event";
}

static bool
state_is(const DockerContainer *c, const char *state)
{
	return c->state != NULL && strcmp(c->state, state) == 0;
}

/* The outcome and the error, from the report alone (c NULL: gone). */
static void
judge_report(const DockerContainer *c, Reconciliation *r)
{
	r->error = NULL;
	if (c == NULL)
	{
		r->outcome = RECONCILE_DOWN;
		r->error = "container not found";
	}
	else if (state_is(c, "restarting"))
	{
		r->outcome = RECONCILE_UNHEALTHY;
		if (c->error)
			r->error = c->error;
		else
			r->error = c->oom_killed ? "container ran out of memory" : "container restarting";
	}
	else if (!c->running || !(c->state == NULL || state_is(c, "running") || state_is(c, "paused")))
	{
		r->outcome = RECONCILE_DOWN;
		r->error = c->oom_killed ? "container ran out of memory" : "container not running";
	}
	else if (c->paused)
		r->outcome = RECONCILE_PAUSED;
	else if (c->health != NULL && strcmp(c->health, "unhealthy") == 0)
	{
		r->outcome = RECONCILE_UNHEALTHY;
		/* The engine's own explanation, if it has one (a swarm task's state). */
		r->error = c->error ? c->error : "container healthcheck failed";
	}
	else
		r->outcome = RECONCILE_HEALTHY;
}

/* The event detail, in the one schema above. */
static char *
reconcile_detail(const Reconciliation *r, const DockerContainer *c, ReportSource source)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"source\": ");
	escape_json(&buf, source_name(source));
	if (r->error != NULL)
	{
		appendStringInfoString(&buf, r->outcome == RECONCILE_DOWN ? ", \"reason\": " : ", \"error\": ");
		escape_json(&buf, r->error);
	}
	/* How it ended, for a stop or a restart (an OOM kill the policy undoes). */
	if (c != NULL && source == REPORT_EVENT &&
		(r->outcome == RECONCILE_DOWN || state_is(c, "restarting")))
		appendStringInfo(&buf, ", \"exit_code\": %d, \"oom_killed\": %s",
						 c->exit_code, c->oom_killed ? "true" : "false");
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * Judge the row's container (c NULL: not there) as reported from source:
 * the outcome, the error, whether its paused state changed outside
 * pg_container, and the health change to record, with its detail.
 * Writes nothing.
 */
void
reconcile_judge(const ContainerRef *ref, const DockerContainer *c, ReportSource source,
				Reconciliation *r)
{
	bool		was_unhealthy = ref->previously_healthy == 'f';

	judge_report(c, r);
	r->pause_event = NULL;
	if (r->outcome == RECONCILE_PAUSED && !ref->paused)
		r->pause_event = "paused";
	else if (ref->paused && c != NULL && c->running && !c->paused)
		r->pause_event = "unpaused";

	r->event = NULL;
	if (r->outcome == RECONCILE_DOWN)
		r->event = "stopped";
	else if (r->outcome == RECONCILE_UNHEALTHY && !was_unhealthy)
		r->event = "unhealthy";
	else if (r->outcome == RECONCILE_HEALTHY && was_unhealthy)
		r->event = "recovered";
	r->detail = r->event ? reconcile_detail(r, c, source) : NULL;
}

/*
 * Record what reconcile_judge found: the paused state's change (on the
 * row, as pause.c records its own) and the health change, each with its
 * LOG line (record_event).  The health columns are the caller's.
 */
void
reconcile_record_events(const ContainerRef *ref, const DockerContainer *c,
						const Reconciliation *r)
{
	if (r->pause_event != NULL)
	{
		if (strcmp(r->pause_event, "paused") == 0)
			store_record_paused(ref->user_id, c->id);
		else
			store_record_unpaused(ref->user_id);
		record_event(ref->user_id, r->pause_event,
					 event_detail("container", c->id, "by", "outside pg_container", NULL));
	}
	if (r->event != NULL)
		record_event(ref->user_id, r->event, r->detail);
}

/*
 * Judge one locked row and write it only if its state changed: the
 * mirror's way.  Returns whether anything was written.
 */
bool
reconcile_apply(const ContainerRef *ref, const DockerContainer *c, ReportSource source)
{
	Reconciliation r;
	bool		healthy;
	bool		down;

	reconcile_judge(ref, c, source, &r);
	reconcile_record_events(ref, c, &r);
	if (r.outcome == RECONCILE_PAUSED || r.event == NULL)
		return r.pause_event != NULL;
	healthy = r.outcome == RECONCILE_HEALTHY;
	down = r.outcome == RECONCILE_DOWN;
	store_record_health(list_make1(ref->user_id), &healthy, list_make1((char *) r.error), &down);
	return true;
}
