/*-------------------------------------------------------------------------
 *
 * start_waiters.h
 *	  What backends and the worker share about background starts: whether
 *	  a worker serves this database, its wake-up, and the waits for a start
 *	  to end.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_START_WAITERS_H
#define PGC_START_WAITERS_H

extern void start_waiters_request_shmem(void);
extern void start_waiters_worker_attach(void);
extern bool start_waiters_worker_serves(void);
extern void start_waiters_wake_worker_at_commit(void);
extern void start_waiters_broadcast(void);
extern void start_waiters_prepare(void);
extern bool start_waiters_sleep(long timeout_ms);
extern void start_waiters_cancel(void);

#endif							/* PGC_START_WAITERS_H */
