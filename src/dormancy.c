/*-------------------------------------------------------------------------
 *
 * dormancy.c
 *	  Dormant users: one stopped for pg_container.dormant_after has the
 *	  container (and the user's network) removed, and keeps the row, token,
 *	  port and volume, so that an engine does not keep thousands of dead
 *	  containers.  The user's next start makes the container again from the
 *	  row, mounting the same volume, with the same token.
 *
 * It runs in the idle sweep, so the worker's, container_reap_idle()'s and
 * pg_cron's sweeps all follow it.  A held user (a live container_hold
 * lease) is not made dormant.  A container found running is left alone:
 * its row is behind, and the health pass or the event mirror will say so.
 *
 * Docker's removal cannot be rolled back.  If the sweep's transaction fails
 * after it, the row still names the removed container, which the next
 * ensure does not find and so makes again, as after a removal by hand.
 * Each user is a subtransaction of its own: one container the engine
 * refuses to remove is a WARNING, not the end of the sweep.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "container_store.h"
#include "dormancy.h"
#include "engine.h"
#include "event_journal.h"
#include "ownership.h"
#include "settings.h"
#include "subtransaction.h"
#include "user_network.h"

/* One dormant user, and whether its container went. */
typedef struct DormantUser
{
	const ContainerRef *ref;
	bool		done;
} DormantUser;

/* Remove the container of one dormant user, keeping the rest. */
static void
make_dormant(void *arg)
{
	DormantUser *d = arg;
	const ContainerRef *ref = d->ref;
	UserContainerRow row;
	DockerContainer c;
	const char *container = ref->container_id;

	if (!store_lock(ref->user_id, &row))
		return;
	if (ownership_inspect(&row, &c, false))
	{
		if (c.running)
			return;
		pgc_engine()->remove(c.id, row.container_name);
		container = c.id;
	}
	user_network_remove(&row);
	store_forget_container(row.user_id);
	record_event(row.user_id, "dormant",
				 event_detail("rule", "dormant_after", "container", container,
							  "volume_kept", "true", NULL));
	d->done = true;
}

/*
 * Make every user stopped for longer than pg_container.dormant_after
 * dormant (nothing when it is 0, the default); returns how many were.
 */
int
dormancy_sweep(void)
{
	List	   *refs;
	ListCell   *lc;
	int			count = 0;

	if (pgc_dormant_after_min <= 0)
		return 0;
	refs = store_lock_dormant(pgc_dormant_after_min);
	foreach(lc, refs)
	{
		ContainerRef *ref = lfirst(lc);
		DormantUser d = {ref, false};
		ErrorData  *failure = pgc_in_subtransaction(make_dormant, &d);

		if (failure == NULL)
		{
			count += d.done ? 1 : 0;
			continue;
		}
		if (failure->sqlerrcode == ERRCODE_QUERY_CANCELED)
			ReThrowError(failure);
		ereport(WARNING,
				(errcode(failure->sqlerrcode),
				 errmsg("could not make user \"%s\" dormant: %s", ref->user_id, failure->message)));
	}
	return count;
}
