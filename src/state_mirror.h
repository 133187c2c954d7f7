/*-------------------------------------------------------------------------
 *
 * state_mirror.h
 *	  user_container kept in sync from the Docker engine's event stream.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_STATE_MIRROR_H
#define PGC_STATE_MIRROR_H

/* Any process */
extern void state_mirror_request_shmem(void);
extern bool state_mirror_enabled(void);
extern bool state_mirror_in_sync(void);
extern bool state_mirror_hot_ensure(const char *user_id, char **url, char **token);

/* The worker */
extern void state_mirror_init(void);
extern void state_mirror_run(long budget_ms);
extern void state_mirror_stop(void);
extern bool state_mirror_connected(void);
extern void state_mirror_drain(void);
extern void state_mirror_after_error(void);
extern int	state_mirror_resync_pass(void);

#endif							/* PGC_STATE_MIRROR_H */
