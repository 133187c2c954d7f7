/*-------------------------------------------------------------------------
 *
 * max_age.h
 *	  Restarting gateways past pg_container.max_age while idle (max_age.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_MAX_AGE_H
#define PGC_MAX_AGE_H

/* How long a gateway past max_age must have been idle to be restarted. */
#define MAX_AGE_QUIET_MIN 5

extern bool max_age_worker_pass(void);

#endif							/* PGC_MAX_AGE_H */
