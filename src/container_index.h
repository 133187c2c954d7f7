/*-------------------------------------------------------------------------
 *
 * container_index.h
 *	  One list of containers, and the table's rows, indexed for the passes
 *	  over all users.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_CONTAINER_INDEX_H
#define PGC_CONTAINER_INDEX_H

#include "utils/hsearch.h"

#include "container_store.h"
#include "docker_api.h"

/* A list of containers by id and by name. */
typedef struct ContainerIndex
{
	HTAB	   *by_id;
	HTAB	   *by_name;
} ContainerIndex;

extern ContainerIndex *container_index_build(List *listed);
extern bool container_index_find_users(ContainerIndex *index, const ContainerRef *ref,
									   DockerContainer *out);
extern HTAB *row_index_build(List *rows);
extern StoreRowSummary *row_index_owner(HTAB *by_user, const DockerContainer *c);

#endif							/* PGC_CONTAINER_INDEX_H */
