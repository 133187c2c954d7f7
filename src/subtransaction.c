/*-------------------------------------------------------------------------
 *
 * subtransaction.c
 *	  Owns the one way pg_container catches an error to turn it into
 *	  something else: the work runs in an internal subtransaction, which
 *	  is rolled back on an error, so whatever the work held (locks,
 *	  buffers, SPI, memory) is released before the caller goes on.  The
 *	  caller gets the error as an ErrorData; a cancel (57014) or a
 *	  shutdown must be re-thrown, never swallowed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "subtransaction.h"

/*
 * Run fn(arg) in an internal subtransaction of the current transaction.
 * Returns NULL if it succeeded; else its error, copied into the caller's
 * memory context, with the subtransaction rolled back and the error state
 * flushed.
 */
ErrorData *
pgc_in_subtransaction(void (*fn) (void *), void *arg)
{
	MemoryContext caller_context = CurrentMemoryContext;
	ResourceOwner caller_owner = CurrentResourceOwner;
	ErrorData  *volatile failure = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(caller_context);
	PG_TRY();
	{
		fn(arg);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(caller_context);
		failure = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(caller_context);
	CurrentResourceOwner = caller_owner;
	return failure;
}
