/*-------------------------------------------------------------------------
 *
 * views.h
 *	  The fleet views: outdated containers, orphans and the overview.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_VIEWS_H
#define PGC_VIEWS_H

#include "nodes/pg_list.h"

extern bool view_outdated_one(const char *user_id, const char *profile,
							  const char *spec_hash, const char *container_id);
extern List *view_outdated(MemoryContext result_context);
extern List *view_orphans(MemoryContext result_context);
extern List *view_overview(MemoryContext result_context);

#endif							/* PGC_VIEWS_H */
