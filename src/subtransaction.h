/*-------------------------------------------------------------------------
 *
 * subtransaction.h
 *	  Catching an error the PostgreSQL way: in an internal subtransaction.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_SUBTRANSACTION_H
#define PGC_SUBTRANSACTION_H

extern ErrorData *pgc_in_subtransaction(void (*fn) (void *), void *arg);

#endif							/* PGC_SUBTRANSACTION_H */
