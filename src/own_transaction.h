/*-------------------------------------------------------------------------
 *
 * own_transaction.h
 *	  The background processes' unit of work: a transaction of its own,
 *	  the store open, errors reported and swallowed (own_transaction.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_OWN_TRANSACTION_H
#define PGC_OWN_TRANSACTION_H

typedef enum OwnTransactionResult
{
	OWN_TXN_DONE,				/* fn ran and the transaction committed */
	OWN_TXN_NOT_SERVED,			/* not installed at the library's version */
	OWN_TXN_FAILED				/* fn, or the commit, failed: reported, rolled back */
} OwnTransactionResult;

/* How the store is opened for fn. */
typedef enum OwnTransactionStore
{
	OWN_TXN_WAIT_FOR_UPDATE,	/* store_find_current_schema: an old version is waited for */
	OWN_TXN_REQUIRE				/* store_open: an absent or old version is an error */
} OwnTransactionStore;

extern OwnTransactionResult in_own_transaction(void (*fn) (void *), void *arg,
											   OwnTransactionStore store,
											   MemoryContext work_context,
											   ErrorData **failure);

#endif							/* PGC_OWN_TRANSACTION_H */
