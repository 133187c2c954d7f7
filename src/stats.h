/*-------------------------------------------------------------------------
 *
 * stats.h
 *	  Per-operation statistics in shared memory: container_stat_operations.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_STATS_H
#define PGC_STATS_H

#include "fmgr.h"

/* What a measured call did; the order is the view's. */
typedef enum PgcOperation
{
	PGC_OP_HOT_ENSURE,			/* ensure on a container already running */
	PGC_OP_COLD_START,			/* ensure that created or started one */
	PGC_OP_RESUME,				/* ensure that unpaused one */
	PGC_OP_STOP,
	PGC_OP_RESTART,
	PGC_OP_REAP,
	PGC_OP_HEALTH,
	PGC_OP_TOUCH,
	PGC_OP_BACKUP,				/* reserved for container_backup */
	PGC_OP_COUNT
} PgcOperation;

extern void stats_request_shmem(void);

/*
 * Run body(fcinfo) as one call of the operation: counted, timed, its
 * engine requests added up, an error counted by SQLSTATE and re-thrown.
 */
extern Datum stats_measure(PgcOperation op, PGFunction body, FunctionCallInfo fcinfo);

/*
 * The ensure being measured turned out to start (or unpause) a container:
 * it is counted as that.  Nothing outside a measured hot ensure.
 */
extern void stats_classify(PgcOperation op);

#endif							/* PGC_STATS_H */
