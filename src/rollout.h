/*-------------------------------------------------------------------------
 *
 * rollout.h
 *	  Rollout jobs: container_rollout and container_rollout_cancel record
 *	  them (rollout.c), the worker carries them out (rollout_run.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_ROLLOUT_H
#define PGC_ROLLOUT_H

extern bool rollout_worker_pass(void);

#endif							/* PGC_ROLLOUT_H */
