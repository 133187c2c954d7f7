/*-------------------------------------------------------------------------
 *
 * ownership.h
 *	  Which Docker objects are a user's, by their labels.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_OWNERSHIP_H
#define PGC_OWNERSHIP_H

#include "container_store.h"
#include "docker_api.h"

/*
 * A way to look a container up by id or by name: an inspect, or a search
 * of a list taken earlier.  Fills *out and returns true if there is one.
 */
typedef bool (*ContainerLookup) (void *source, const char *ref, DockerContainer *out);

/* What ownership_find saw. */
typedef enum OwnershipFound
{
	OWNERSHIP_FOUND,			/* the user's container, in *out */
	OWNERSHIP_NONE,				/* no container holds the user's name */
	OWNERSHIP_NAME_TAKEN		/* one holds it that is not theirs, in *out */
} OwnershipFound;

extern bool ownership_is_users(const DockerContainer *c, const char *user_id,
							   const char *recorded_id);
extern OwnershipFound ownership_find(const char *user_id, const char *recorded_id,
									 const char *name, ContainerLookup lookup, void *source,
									 DockerContainer *out);
extern bool ownership_inspect(const UserContainerRow *row, DockerContainer *c, bool strict);
extern bool ownership_inspect_name(const char *user_id, const char *name, DockerContainer *c);
extern void ownership_check_name(const UserContainerRow *row);
extern void ownership_claim_volume(const UserContainerRow *row, const char *volume);

#endif							/* PGC_OWNERSHIP_H */
