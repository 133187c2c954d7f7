/*-------------------------------------------------------------------------
 *
 * removals.c
 *	  Removing a user: container_remove's mark in the caller's transaction,
 *	  and carrying the removal out once that transaction has committed.
 *
 * Docker's side is not transactional, and a volume once removed cannot be
 * brought back, so container_remove only checks who owns the volume
 * (refusing in the caller's transaction, before anything changes) and
 * marks the row 'removing'.  A rollback undoes the mark and nothing else
 * happened.  Once committed, the removal is carried out by whoever comes
 * first: the worker (it looks every REMOVAL_POLL_MS), container_reap_idle
 * and container_health_check_all (what pg_cron runs where no worker
 * serves the database), container_process_removals, or the user's own
 * next ensure, stop or restart, which must not adopt a container that is
 * about to go.  Carrying out is idempotent: a failure leaves the row
 * pending and the next pass tries again.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"

#include "container_store.h"
#include "docker_api.h"
#include "own_transaction.h"
#include "engine.h"
#include "event_journal.h"
#include "ownership.h"
#include "removals.h"
#include "user_network.h"

/* The user's named volume. */
static char *
volume_name(const UserContainerRow *row)
{
	return psprintf("%s-state", row->container_name);
}

/*
 * Whether the user's volume is to be kept after all: one without labels is
 * kept with a warning; another user's or installation's is refused.
 */
static bool
keep_volume_after_check(const UserContainerRow *row, const char *volume)
{
	VolumeOwner owner;

	if (!docker_inspect_volume(volume, row->user_id, store_installation_id(), &owner))
		return false;
	if (owner == VOLUME_FOREIGN)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("volume \"%s\" of user \"%s\" belongs to another user or pg_container installation",
						volume, row->user_id),
				 errdetail("Nothing was removed.")));
	if (owner == VOLUME_UNLABELLED)
	{
		ereport(WARNING,
				(errmsg("volume \"%s\" of user \"%s\" carries no pg_container labels, so it was kept",
						volume, row->user_id),
				 errdetail("Volumes made before pg_container 0.3.0 cannot be told from another installation's."),
				 errhint("Remove it by hand once you are sure it is this user's.")));
		return true;
	}
	return false;
}

/* Remove container, network, volume (unless kept) and row of a locked user. */
static void
remove_now(const UserContainerRow *row, bool keep_volume)
{
	DockerContainer c;
	char	   *volume = volume_name(row);

	ownership_check_name(row);
	if (!keep_volume)
		keep_volume = keep_volume_after_check(row, volume);
	if (ownership_inspect(row, &c, false))
		pgc_engine()->remove(c.id, row->container_name);
	user_network_remove(row);
	if (!keep_volume)
		docker_remove_volume(volume);

	store_delete_row(row->user_id);
	record_event(row->user_id, "removed",
				 event_detail("volume", volume, "volume_kept", keep_volume ? "true" : "false", NULL));
}

/*
 * Deprovision a user, with keep_volume false also deleting the named
 * volume: the only path in the extension that ever deletes what a user
 * stored.  It takes effect after commit.  An unknown user, or one already
 * pending removal, is no error.
 */
void
lifecycle_remove(const char *user_id, bool keep_volume)
{
	UserContainerRow row;

	if (!store_lock(user_id, &row))
		return;
	if (store_lock_committed_removal(user_id, &(bool) {false}, &(bool) {false}))
		return;
	ownership_check_name(&row);
	/* Refused here, in the caller's transaction, before anything changes. */
	if (!keep_volume)
		keep_volume = keep_volume_after_check(&row, volume_name(&row));
	store_mark_removing(user_id, !keep_volume);
}

/*
 * Carry out the user's committed removal, if one is pending; true if the
 * user was removed.  A removal marked by the calling transaction itself is
 * not committed: it is left alone, or with own_is_error the caller is told
 * so rather than given the container that is to go.
 */
static bool
carry_out(const char *user_id, bool own_is_error)
{
	UserContainerRow row;
	bool		remove_volume;
	bool		marked_here;

	if (!store_lock_committed_removal(user_id, &remove_volume, &marked_here))
		return false;
	if (marked_here && !own_is_error)
		return false;
	if (marked_here)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("user \"%s\" is being removed by this transaction", user_id),
				 errdetail("The removal is carried out when the transaction commits.")));
	if (!store_lock(user_id, &row))
		return false;
	remove_now(&row, !remove_volume);
	return true;
}

/* Before any other lifecycle call of the user: their committed removal. */
bool
removal_carry_out(const char *user_id)
{
	return carry_out(user_id, true);
}

/*
 * Refuse to act on a user whose removal is pending, marked by this
 * transaction or committed and not yet carried out: a setting or a touch
 * would go with the row, and logs would come from a container that is to
 * go.  Waits, as the lock does, for a transaction that is marking it.
 */
void
removal_refuse_pending(const char *user_id)
{
	bool		remove_volume;
	bool		marked_here;

	if (!store_lock_committed_removal(user_id, &remove_volume, &marked_here))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("user \"%s\" is being removed", user_id),
			 marked_here ?
			 errdetail("This transaction removes the user; the removal is carried out when it commits.") :
			 errdetail("The removal is carried out shortly; then the user id may be used again.")));
}

/*
 * Carry out every committed removal, each in a subtransaction of its own
 * so that one that fails (Docker down) is reported and kept pending while
 * the others go ahead.  A cancel stays a cancel.  Returns how many users
 * were removed.
 */
int
removals_process(void)
{
	MemoryContext caller_context = CurrentMemoryContext;
	ResourceOwner caller_owner = CurrentResourceOwner;
	List	   *user_ids = store_pending_removals();
	ListCell   *lc;
	int			removed = 0;

	foreach(lc, user_ids)
	{
		const char *user_id = lfirst(lc);

		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(caller_context);
		PG_TRY();
		{
			if (carry_out(user_id, false))
				removed++;
			ReleaseCurrentSubTransaction();
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(caller_context);
			edata = CopyErrorData();
			if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
				PG_RE_THROW();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			ereport(WARNING,
					(errmsg("removal of user \"%s\" failed, it stays pending: %s", user_id, edata->message)));
			record_event(user_id, "error",
						 event_detail("operation", "remove", "message", edata->message, NULL));
		}
		PG_END_TRY();
		MemoryContextSwitchTo(caller_context);
		CurrentResourceOwner = caller_owner;
	}
	return removed;
}

/*
 * The worker's look for committed removals, in a short transaction of its
 * own (own_transaction.c).  It runs whether or not the sweeps are on.  A
 * failure is reported and swallowed: the rows stay pending and the next
 * look tries again.
 */
static void
process_removals_txn(void *arg)
{
	(void) removals_process();
}

void
removals_worker_pass(void)
{
	(void) in_own_transaction(process_removals_txn, NULL, OWN_TXN_WAIT_FOR_UPDATE, NULL, NULL);
}
