/*-------------------------------------------------------------------------
 *
 * removals.h
 *	  container_remove's mark, and carrying it out after commit.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_REMOVALS_H
#define PGC_REMOVALS_H

extern void lifecycle_remove(const char *user_id, bool keep_volume);
extern bool removal_carry_out(const char *user_id);
extern void removal_refuse_pending(const char *user_id);
extern int	removals_process(void);
extern void removals_worker_pass(void);

#endif							/* PGC_REMOVALS_H */
