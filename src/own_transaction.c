/*-------------------------------------------------------------------------
 *
 * own_transaction.c
 *	  Owns the one way the worker's processes do a piece of work: in a
 *	  transaction of their own, with a snapshot and the store open, an
 *	  error reported to the log and swallowed, so that the next pass
 *	  tries again and one bad pass never takes the worker down.
 *
 * The catch ends the whole transaction the work ran in, as a background
 * worker's top level does (AbortCurrentTransaction after
 * EmitErrorReport), which is why it needs no subtransaction: nothing goes
 * on inside the failed transaction.  A cancel is reported and swallowed
 * like any error: for the worker it ends what it was doing, not the
 * worker; the caller gets the ErrorData to tell it apart.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "container_store.h"
#include "own_transaction.h"

/* Open the store as asked; false if fn is not to run. */
static bool
open_store(OwnTransactionStore store)
{
	StoreSchema schema;

	if (store == OWN_TXN_REQUIRE)
	{
		store_open();
		return true;
	}
	if (!store_find_current_schema(&schema))
		return false;
	store_open_schema(&schema);
	return true;
}

/*
 * Run fn(arg) in a transaction of its own, with the store open as "store"
 * says, in work_context (NULL: the transaction's own memory, freed at its
 * end).  On an error, it is reported, the transaction rolled back, and
 * (if failure is not NULL) a copy handed back in the caller's memory
 * context.  Returns in the caller's memory context.
 */
OwnTransactionResult
in_own_transaction(void (*fn) (void *), void *arg, OwnTransactionStore store,
				   MemoryContext work_context, ErrorData **failure)
{
	MemoryContext caller = CurrentMemoryContext;
	volatile OwnTransactionResult result = OWN_TXN_DONE;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (work_context != NULL)
		MemoryContextSwitchTo(work_context);
	PG_TRY();
	{
		if (open_store(store))
		{
			fn(arg);
			store_close();
		}
		else
			result = OWN_TXN_NOT_SERVED;
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		HOLD_INTERRUPTS();
		MemoryContextSwitchTo(caller);
		if (failure != NULL)
			*failure = CopyErrorData();
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
		RESUME_INTERRUPTS();
		result = OWN_TXN_FAILED;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(caller);
	return result;
}
