/*-------------------------------------------------------------------------
 *
 * lifecycle.h
 *	  One user's operations: bringing their container up and down, keeping
 *	  table and Docker in agreement.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_LIFECYCLE_H
#define PGC_LIFECYCLE_H

#include "nodes/pg_list.h"

/* What lifecycle_start_unready started, for the readiness wait after it. */
typedef struct LifecycleBoot
{
	char	   *container_id;
	char	   *container_name;
	int			port;
	const char *node;			/* NULL: the engine does not place units */
	char	   *token;			/* plaintext */
	bool		started;		/* started now, not found running */
	bool		must_wait;		/* its gateway is not known to answer yet */
} LifecycleBoot;

extern void lifecycle_ensure_running(const char *user_id, char **url, char **token);
extern bool lifecycle_ensure_if_up(const char *user_id, char **url, char **token);
extern void lifecycle_start_unready(const char *user_id, LifecycleBoot *boot);
extern void lifecycle_stop(const char *user_id);
extern void lifecycle_restart(const char *user_id, char **url, char **token);
extern void lifecycle_set_profile(const char *user_id, const char *profile);
extern void lifecycle_set_idle_timeout(const char *user_id, int minutes);
extern void lifecycle_set_pause_after(const char *user_id, int minutes, bool is_null);
extern List *lifecycle_logs(const char *user_id, int tail, int64 since, MemoryContext result_context);

#endif							/* PGC_LIFECYCLE_H */
