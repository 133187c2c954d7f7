/*-------------------------------------------------------------------------
 *
 * pause.h
 *	  The first idle step: pausing idle containers (pause.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_PAUSE_H
#define PGC_PAUSE_H

#include "nodes/pg_list.h"

#include "container_store.h"
#include "docker_api.h"

extern int	pause_idle_containers(List *candidates, DockerContainer **found);
extern void pause_retry_stops(DockerStop *stops, const bool *was_paused, int count);

#endif							/* PGC_PAUSE_H */
