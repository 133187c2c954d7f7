/*-------------------------------------------------------------------------
 *
 * sweeps.c
 *	  The passes over all of an installation's users that the worker runs
 *	  on a timer, and that container_reap_idle() and
 *	  container_health_check() run on demand: stopping idle containers and
 *	  orphans, and checking that the rows that say 'running' are (each row
 *	  judged by reconcile.c, as the event mirror judges it).
 *
 * Each pass takes one list of our containers before it locks any row, so
 * a slow or hung engine never holds a lock that container_touch, the
 * application's hot path, would wait for; rows are then locked skipping
 * those an ensure or a touch holds, so activity racing a sweep wins.
 * Docker's failures are recorded per container rather than raised, and
 * the table writes are by key on rows we hold, so no per-container
 * subtransaction is needed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "container_index.h"
#include "container_store.h"
#include "docker_api.h"
#include "dormancy.h"
#include "engine.h"
#include "event_journal.h"
#include "leases.h"
#include "pause.h"
#include "reconcile.h"
#include "schedules.h"
#include "settings.h"
#include "sweeps.h"

/* The candidates of a reap, each with its container, if listed. */
typedef struct ReapCandidate
{
	ContainerRef *ref;
	bool		listed;
	DockerContainer container;
	DockerStop *stop;			/* NULL when there was nothing to stop */
} ReapCandidate;

/*
 * Record the outcome of reaping a user's container: stopped, gone (no stop
 * was sent, or it was gone), or not stopped; false in that last case.
 */
static bool
record_reaped(const ReapCandidate *cand)
{
	const char *user_id = cand->ref->user_id;
	const DockerStop *stop = cand->stop;

	if (stop != NULL && !stop->stopped)
	{
		ereport(WARNING,
				(errmsg("could not stop the idle container of user \"%s\"", user_id),
				 errdetail_internal("%s", stop->error)));
		store_event(user_id, "error", event_detail("operation", "reap", "message", stop->error, NULL));
		return false;
	}
	store_record_stopped(user_id, (stop == NULL || stop->gone) ? NULL : cand->container.id);
	ereport(LOG,
			(errmsg("stopped the idle container of user \"%s\"", user_id)));
	store_event(user_id, "reaped",
				event_detail("container", cand->listed ? cand->container.id : NULL, NULL));
	return true;
}

/* An orphan was stopped, or could not be. */
static void
record_orphan_stopped(const DockerContainer *c, const DockerStop *stop)
{
	if (!stop->stopped)
	{
		ereport(WARNING,
				(errmsg("could not stop container %.12s, which no row owns", c->id),
				 errdetail_internal("%s", stop->error)));
		return;
	}
	ereport(LOG,
			(errmsg("stopped container %.12s labelled for user \"%s\", which no row owns", c->id,
					c->user_label ? docker_printable(c->user_label) : "")));
	store_event(c->user_label, "reaped", event_detail("container", c->id, "orphan", "true", NULL));
}

/*
 * Running containers labelled as this installation's that no row owns,
 * made longer than pg_container.orphan_grace ago: left by a transaction
 * that created a container and rolled back, or by a deleted row.  Their
 * restart policy would keep them up for good.  The grace period spares
 * the container of an ensure whose transaction has not committed yet.
 */
static List *
running_orphans(List *listed)
{
	const char *installation = store_installation_id();
	int64		cutoff = (int64) time(NULL) - pgc_orphan_grace_s;
	HTAB	   *by_user;
	List	   *orphans = NIL;
	ListCell   *lc;

	if (installation == NULL)
		return NIL;
	by_user = row_index_build(store_all_rows());
	foreach(lc, listed)
	{
		DockerContainer *c = lfirst(lc);

		if (c->running && c->created > 0 && c->created <= cutoff &&
			c->installation_label != NULL && strcmp(c->installation_label, installation) == 0 &&
			row_index_owner(by_user, c) == NULL)
			orphans = lappend(orphans, c);
	}
	return orphans;
}

/*
 * Pair each idle row with its listed container, and fill stops with one
 * stop per container found, then one per orphan; returns the stop count.
 * Rows to pause get no stop (pause.c pauses them); was_paused says which
 * stops are of a paused container, for engines that refuse those.
 */
static int
plan_stops(ReapCandidate *cands, List *candidates, List *orphans, ContainerIndex *index,
		   DockerStop *stops, bool *was_paused)
{
	int			nstops = 0;
	int			i = 0;
	ListCell   *lc;

	foreach(lc, candidates)
	{
		ReapCandidate *cand = &cands[i++];

		cand->ref = lfirst(lc);
		cand->listed = container_index_find_users(index, cand->ref, &cand->container);
		if (!cand->listed || cand->ref->pause)
			continue;
		was_paused[nstops] = cand->container.paused;
		cand->stop = &stops[nstops++];
		cand->stop->id = cand->container.id;
		cand->stop->name = cand->ref->container_name;
	}
	foreach(lc, orphans)
	{
		DockerContainer *c = lfirst(lc);

		was_paused[nstops] = c->paused;
		stops[nstops].id = c->id;
		stops[nstops].name = c->name ? c->name : c->id;
		nstops++;
	}
	return nstops;
}

/* Pause the rows the sweep chose to pause (pause.c), each with its container. */
static void
pause_candidates(ReapCandidate *cands, List *candidates)
{
	int			n = list_length(candidates);
	DockerContainer **found = palloc0(sizeof(DockerContainer *) * Max(n, 1));

	for (int i = 0; i < n; i++)
		found[i] = cands[i].listed ? &cands[i].container : NULL;
	(void) pause_idle_containers(candidates, found);
}

/*
 * Pause every running container idle past its row's pause_after_min, and
 * stop every running or paused one idle past its row's timeout or past the
 * paused tier's memory budget (store_lock_idle decides which), and every
 * orphan (running_orphans), all at once (at most
 * pg_container.max_parallel_requests in flight), the pauses first since
 * they take milliseconds; return the user ids of the rows it stopped, as
 * a list built in result_context.  A row's
 * container must be in the list, labelled as the user's, to be stopped,
 * so a row pointed at another container stops nothing.  A container that
 * fails to stop gets a WARNING and keeps its row as it is.  Users stopped
 * for longer than pg_container.dormant_after lose their container first
 * (dormancy.c).
 */
List *
sweep_reap_idle(MemoryContext result_context)
{
	List	   *listed;
	List	   *candidates;
	List	   *orphans;
	int			count;
	ReapCandidate *cands;
	DockerStop *stops;
	bool	   *was_paused;
	List	   *stopped = NIL;
	int			nstops;
	int			i;
	ListCell   *lc;

	/* Expired leases hold nobody already: this only records their end. */
	leases_prune_expired();
	/* Before the plan, so that a window opening now holds its users. */
	(void) schedules_sweep();
	(void) dormancy_sweep();
	listed = pgc_engine()->list_managed();
	candidates = store_lock_idle();
	orphans = running_orphans(listed);
	count = list_length(candidates) + list_length(orphans);

	if (count == 0)
		return NIL;

	cands = palloc0(sizeof(ReapCandidate) * Max(list_length(candidates), 1));
	stops = palloc0(sizeof(DockerStop) * count);
	was_paused = palloc0(sizeof(bool) * count);
	nstops = plan_stops(cands, candidates, orphans, container_index_build(listed), stops, was_paused);
	/* A swarm task cannot be paused: there, idle users are only stopped. */
	if (pgc_engine()->can_pause)
		pause_candidates(cands, candidates);
	pgc_engine()->stop_many(stops, nstops, pgc_max_parallel_requests);
	pause_retry_stops(stops, was_paused, nstops);

	for (i = 0; i < list_length(candidates); i++)
	{
		if (cands[i].ref->pause)
			continue;
		if (record_reaped(&cands[i]))
		{
			/* The caller reads the list after SPI_finish: build it in its context. */
			MemoryContext old_context = MemoryContextSwitchTo(result_context);

			stopped = lappend(stopped, pstrdup(cands[i].ref->user_id));
			MemoryContextSwitchTo(old_context);
		}
	}
	nstops -= list_length(orphans);
	foreach(lc, orphans)
		record_orphan_stopped(lfirst(lc), &stops[nstops++]);
	return stopped;
}

/*
 * Append a HealthResult to results, both in the caller's context: the
 * caller reads them after SPI_finish.
 */
static List *
append_health_result(List *results, MemoryContext result_context, const char *user_id,
					 const char *error)
{
	MemoryContext old_context = MemoryContextSwitchTo(result_context);
	HealthResult *result = palloc0(sizeof(HealthResult));

	result->user_id = pstrdup(user_id);
	result->healthy = error == NULL;
	result->error = error ? pstrdup(error) : NULL;
	results = lappend(results, result);
	MemoryContextSwitchTo(old_context);
	return results;
}

/*
 * Check every running or paused row against one list of the containers we manage,
 * record the outcome in the rows, and return it (a list of HealthResult in
 * result_context).  A row whose container has exited or vanished becomes
 * 'stopped', so the table never says 'running' for longer than one health
 * interval after the fact.  Rows that changed after the list was taken
 * are skipped; the next pass sees them.
 */
List *
sweep_health_check(MemoryContext result_context)
{
	TimestampTz listed_at = GetCurrentTimestamp();
	List	   *listed = pgc_engine()->list_managed();
	List	   *rows = store_lock_running(listed_at);
	int			count = list_length(rows);
	ContainerIndex *index;
	List	   *user_ids = NIL;
	List	   *errors = NIL;
	bool	   *healthy;
	bool	   *down;
	List	   *results = NIL;
	int			i = 0;
	ListCell   *lc;

	if (count == 0)
		return NIL;

	index = container_index_build(listed);
	healthy = palloc(sizeof(bool) * count);
	down = palloc(sizeof(bool) * count);
	foreach(lc, rows)
	{
		ContainerRef *ref = lfirst(lc);
		DockerContainer c;
		const DockerContainer *report = container_index_find_users(index, ref, &c) ? &c : NULL;
		Reconciliation r;

		reconcile_judge(ref, report, REPORT_LIST, &r);
		reconcile_record_events(ref, report, &r);
		/* Frozen: neither healthy nor unhealthy, and nothing to write. */
		if (r.outcome == RECONCILE_PAUSED)
		{
			results = append_health_result(results, result_context, ref->user_id, "container paused");
			((HealthResult *) llast(results))->paused = true;
			continue;
		}
		healthy[i] = r.outcome == RECONCILE_HEALTHY;
		down[i] = r.outcome == RECONCILE_DOWN;
		user_ids = lappend(user_ids, ref->user_id);
		errors = lappend(errors, (char *) r.error);
		results = append_health_result(results, result_context, ref->user_id, r.error);
		i++;
	}
	store_record_health(user_ids, healthy, errors, down);
	return results;
}
