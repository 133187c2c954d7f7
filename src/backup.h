/*-------------------------------------------------------------------------
 *
 * backup.h
 *	  Backups of users' volumes (backup.c): one user's backup, for the
 *	  worker's schedule (backup_schedule.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_BACKUP_H
#define PGC_BACKUP_H

extern int64 backup_user(const char *user_id, const char *taken_by);

#endif							/* PGC_BACKUP_H */
