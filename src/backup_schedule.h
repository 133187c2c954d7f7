/*-------------------------------------------------------------------------
 *
 * backup_schedule.h
 *	  The worker's scheduled backups (backup_schedule.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_BACKUP_SCHEDULE_H
#define PGC_BACKUP_SCHEDULE_H

extern bool backup_worker_pass(void);

#endif							/* PGC_BACKUP_SCHEDULE_H */
