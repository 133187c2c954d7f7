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

extern void lifecycle_ensure_running(const char *user_id, char **url, char **token);
extern void lifecycle_stop(const char *user_id);
extern void lifecycle_restart(const char *user_id, char **url, char **token);
extern void lifecycle_set_profile(const char *user_id, const char *profile);
extern void lifecycle_set_idle_timeout(const char *user_id, int minutes);
extern void lifecycle_set_pause_after(const char *user_id, int minutes, bool is_null);
extern List *lifecycle_logs(const char *user_id, int tail, int64 since, MemoryContext result_context);

#endif							/* PGC_LIFECYCLE_H */
