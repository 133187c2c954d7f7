/*-------------------------------------------------------------------------
 *
 * leases.h
 *	  Leases (leases.c): ending one and recording it, and what the reap
 *	  pass calls to end expired ones.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_LEASES_H
#define PGC_LEASES_H

extern bool leases_end(int64 lease, const char *ended_by, bool *live);
extern void leases_prune_expired(void);

#endif							/* PGC_LEASES_H */
