/*-------------------------------------------------------------------------
 *
 * start_queue.h
 *	  The start queue, container_start_request: its statements, shared by
 *	  the SQL functions that fill it and the worker that drains it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_START_QUEUE_H
#define PGC_START_QUEUE_H

#include "datatype/timestamp.h"

typedef enum QueueStatement
{
	Q_LOOKUP,
	Q_ENQUEUE,
	Q_FORGET_FAILED,
	Q_RESET_STARTING,
	Q_NEXT_QUEUED,
	Q_CLAIM,
	Q_DROP_QUEUED,
	Q_DONE,
	Q_FAILED,
	Q_MEMORY_IN_USE,
	Q_IDLE_BY_AGE,
	Q_COUNT
} QueueStatement;

/* A user's row and start request, as Q_LOOKUP reads them. */
typedef struct QueuedStart
{
	char	   *state;			/* queued, starting, failed; NULL: none */
	char	   *container_name;
	int			port;			/* 0: none yet */
	char	   *encrypted_token;
	char	   *status;			/* user_container.status */
	char	   *error_sqlstate;
	char	   *error_message;
	char	   *error_detail;
	char	   *error_hint;
	int			position;		/* 1 for the oldest queued; 0 if not queued */
	TimestampTz requested_at;
} QueuedStart;

extern uint64 start_queue_run(QueueStatement stmt, Datum *values, const char *nulls);
extern bool start_queue_lookup(const char *user_id, QueuedStart *q);
extern void start_queue_require_worker(const char *function_name);
extern bool start_queue_request(const char *user_id);
extern bool start_queue_wait_if_pending(const char *user_id, char **url, char **token);

/* The worker's side (start_boot.c, start_admission.c) */
extern bool start_boot_pass(void (*between_boots) (void));
extern bool start_admission_make_room(const char *user_id);

#endif							/* PGC_START_QUEUE_H */
