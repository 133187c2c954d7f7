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

extern void lifecycle_ensure_running(const char *user_id, char **url, char **token);
extern void lifecycle_stop(const char *user_id);

#endif							/* PGC_LIFECYCLE_H */
