/*-------------------------------------------------------------------------
 *
 * pause.c
 *	  Owns the first of the two idle steps: pausing idle containers, and
 *	  what a paused container needs from the engine (parallel pauses, and a
 *	  stop that works on engines that refuse to stop a frozen container).
 *
 * A paused container keeps its memory and frees its CPU (the cgroup
 * freezer); unpausing it takes milliseconds where a start of the real
 * gateway takes about ten seconds.  The idle sweep pauses rows past
 * pause_after_min and stops rows past idle_timeout_min, paused or not; the
 * rows and the one container list come from the sweep (sweeps.c), so a
 * pass costs one list and one request per container acted on.
 *
 * Docker stops a paused container directly (it thaws it after the
 * signal); Podman refuses ("container state improper"), so a failed stop
 * of a container we know is paused is retried after an unpause.
 *
 * Every outcome is written on rows the sweep holds locked, in the sweep's
 * transaction: a crash before commit leaves the rows as they were, and the
 * next sweep finds the containers already paused (recorded without a
 * request) or stopped (a stop of a stopped container is a no-op).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "container_store.h"
#include "docker_api.h"
#include "docker_http.h"
#include "event_journal.h"
#include "pause.h"
#include "settings.h"

/* A state change (record_event), with the container and one more detail. */
static void
pause_event(const char *user_id, const char *event, const char *container_id,
			const char *extra_key, const char *extra_value)
{
	record_event(user_id, event, event_detail("container", container_id, extra_key, extra_value, NULL));
}

/*
 * POST <action> to each container at once, at most max_parallel in flight,
 * and return the requests with their outcomes.  Ids come from the engine's
 * own list (64 hex digits), so they need no escaping in the path.
 */
static DockerRequest **
run_container_posts(const char *action, const char **ids, const char **names, int count)
{
	DockerRequest **reqs = palloc(sizeof(DockerRequest *) * Max(count, 1));

	for (int i = 0; i < count; i++)
		reqs[i] = docker_request_new("POST",
									 psprintf("/containers/%s/%s", ids[i], action),
									 psprintf("%s container \"%s\"", action, names[i]));
	docker_run_requests(reqs, count, pgc_max_parallel_requests);
	return reqs;
}

/* Record the outcome of pausing one user's container. */
static bool
record_pause(const ContainerRef *ref, const DockerContainer *c, DockerRequest *req)
{
	if (req != NULL && req->failure == DOCKER_ANSWERED && req->status == 404)
		c = NULL;
	if (c == NULL || !c->running)
	{
		/* Nothing to pause: the table must stop saying it runs. */
		store_record_stopped(ref->user_id, c ? c->id : NULL);
		pause_event(ref->user_id, "stopped", c ? c->id : NULL, "reason",
					c ? "container not running" : "container not found");
		return false;
	}
	if (req != NULL && !(req->failure == DOCKER_ANSWERED && req->status == 204))
	{
		char	   *error = docker_failure_message(req);

		ereport(WARNING,
				(errmsg("could not pause the idle container of user \"%s\"", ref->user_id),
				 errdetail_internal("%s", error),
				 errhint("It stays running and is stopped at its idle timeout.")));
		store_event(ref->user_id, "error", event_detail("operation", "pause", "message", error, NULL));
		return false;
	}
	store_record_paused(ref->user_id, c->id);
	/* Paused already: by hand, or by a sweep that crashed before commit. */
	pause_event(ref->user_id, "paused", c->id, "already", req == NULL ? "true" : "false");
	return true;
}

/*
 * Pause the containers of the rows the sweep chose to pause (ref->pause),
 * found[i] being the listed container of the i-th candidate (NULL: none),
 * and record each outcome.  Returns how many were paused.
 */
int
pause_idle_containers(List *candidates, DockerContainer **found)
{
	int			n = list_length(candidates);
	const char **ids = palloc(sizeof(char *) * Max(n, 1));
	const char **names = palloc(sizeof(char *) * Max(n, 1));
	int		   *slot = palloc(sizeof(int) * Max(n, 1));
	DockerRequest **reqs;
	int			nposts = 0;
	int			paused = 0;
	ListCell   *lc;
	int			i = 0;

	foreach(lc, candidates)
	{
		ContainerRef *ref = lfirst(lc);
		DockerContainer *c = found[i];

		slot[i] = -1;
		if (ref->pause && c != NULL && c->running && !c->paused)
		{
			ids[nposts] = c->id;
			names[nposts] = ref->container_name;
			slot[i] = nposts++;
		}
		i++;
	}
	reqs = run_container_posts("pause", ids, names, nposts);

	i = 0;
	foreach(lc, candidates)
	{
		ContainerRef *ref = lfirst(lc);

		if (ref->pause &&
			record_pause(ref, found[i], slot[i] >= 0 ? reqs[slot[i]] : NULL))
			paused++;
		i++;
	}
	return paused;
}

/*
 * Stops that failed on containers known to be paused: unpause those, then
 * stop them again, all in parallel.  Docker never gets here (it stops a
 * paused container itself); Podman refuses to stop a paused one.
 */
void
pause_retry_stops(DockerStop *stops, const bool *was_paused, int count)
{
	const char **ids = palloc(sizeof(char *) * Max(count, 1));
	const char **names = palloc(sizeof(char *) * Max(count, 1));
	DockerStop *retry = palloc0(sizeof(DockerStop) * Max(count, 1));
	int		   *slot = palloc(sizeof(int) * Max(count, 1));
	int			n = 0;

	for (int i = 0; i < count; i++)
	{
		if (stops[i].stopped || !was_paused[i])
			continue;
		ids[n] = stops[i].id;
		names[n] = stops[i].name;
		retry[n].id = stops[i].id;
		retry[n].name = stops[i].name;
		slot[n++] = i;
	}
	if (n == 0)
		return;
	(void) run_container_posts("unpause", ids, names, n);
	docker_stop_containers(retry, n, pgc_max_parallel_requests);
	for (int k = 0; k < n; k++)
		stops[slot[k]] = retry[k];
}
