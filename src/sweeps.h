/*-------------------------------------------------------------------------
 *
 * sweeps.h
 *	  The timed passes over all users: idle reaping and health checks.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_SWEEPS_H
#define PGC_SWEEPS_H

#include "nodes/pg_list.h"

/* The outcome of a health check for one user. */
typedef struct HealthResult
{
	char	   *user_id;
	bool		healthy;
	bool		paused;			/* paused: neither healthy nor unhealthy */
	char	   *error;			/* NULL when healthy */
} HealthResult;

extern List *sweep_reap_idle(MemoryContext result_context);
extern List *sweep_health_check(MemoryContext result_context);

#endif							/* PGC_SWEEPS_H */
