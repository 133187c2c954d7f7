/*-------------------------------------------------------------------------
 *
 * schedules.h
 *	  Keep-warm schedules (schedules.c): the pass the idle sweep runs
 *	  before it chooses whom to pause or stop.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_SCHEDULES_H
#define PGC_SCHEDULES_H

extern int	schedules_sweep(void);

#endif							/* PGC_SCHEDULES_H */
