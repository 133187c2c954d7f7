/*-------------------------------------------------------------------------
 *
 * dormancy.h
 *	  Removing the containers of users stopped for a long time, keeping
 *	  their rows and volumes (dormancy.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_DORMANCY_H
#define PGC_DORMANCY_H

extern int	dormancy_sweep(void);

#endif							/* PGC_DORMANCY_H */
