/*-------------------------------------------------------------------------
 *
 * leases.h
 *	  Leases (leases.c): what the reap pass calls to end expired ones.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_LEASES_H
#define PGC_LEASES_H

extern void leases_prune_expired(void);

#endif							/* PGC_LEASES_H */
