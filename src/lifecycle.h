/*-------------------------------------------------------------------------
 *
 * lifecycle.h
 *	  Bringing one user's container up and down, keeping table and Docker
 *	  in agreement.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_LIFECYCLE_H
#define PGC_LIFECYCLE_H

#include "nodes/pg_list.h"

/* The outcome of a health check for one user. */
typedef struct HealthResult
{
	char	   *user_id;
	bool		healthy;
	char	   *error;			/* NULL when healthy */
} HealthResult;

extern void lifecycle_ensure_running(const char *user_id, char **url, char **token);
extern void lifecycle_stop(const char *user_id);
extern void lifecycle_restart(const char *user_id, char **url, char **token);
extern void lifecycle_remove(const char *user_id, bool keep_volume);
extern void lifecycle_set_profile(const char *user_id, const char *profile);
extern bool lifecycle_outdated_one(const char *user_id, const char *profile,
								   const char *spec_hash, const char *container_id);
extern List *lifecycle_outdated(MemoryContext result_context);
extern List *lifecycle_orphans(MemoryContext result_context);
extern List *lifecycle_overview(MemoryContext result_context);
extern void lifecycle_set_idle_timeout(const char *user_id, int minutes);
extern List *lifecycle_logs(const char *user_id, int tail, int64 since, MemoryContext result_context);
extern List *lifecycle_reap_idle(MemoryContext result_context);
extern List *lifecycle_health_check(MemoryContext result_context);

#endif							/* PGC_LIFECYCLE_H */
