/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The background worker that reaps idle containers and checks health.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_WORKER_H
#define PGC_WORKER_H

extern void pgc_register_worker(void);
extern Oid	worker_extension_namespace(void);

#endif							/* PGC_WORKER_H */
