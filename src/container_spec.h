/*-------------------------------------------------------------------------
 *
 * container_spec.h
 *	  What a user's container is made of: the settings, overlaid by the
 *	  user's profile, and the hash that says whether a container is current.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_CONTAINER_SPEC_H
#define PGC_CONTAINER_SPEC_H

#include "nodes/pg_list.h"

#include "container_store.h"
#include "docker_api.h"

/* Hex digits of SHA-256 kept in the spec hash label. */
#define PGC_SPEC_HASH_LENGTH 16

/* A container_profile row; unset columns fall back to the settings. */
typedef struct ContainerProfile
{
	char	   *name;
	char	   *image;			/* NULL: pg_container.image */
	int			memory_limit_mb;	/* -1: pg_container.memory_limit */
	double		cpus;			/* -1: pg_container.cpus */
	int			pids_limit;		/* -1: pg_container.pids_limit */
	int			idle_timeout_min;	/* -1: the row keeps its own */
	List	   *extra_env;		/* "KEY=VALUE" templates, may be NIL */
	List	   *command;		/* words; used only if has_command */
	bool		has_command;	/* false: pg_container.command */
	int			init;			/* 1, 0, or -1: pg_container.init */
	int			drop_capabilities;	/* 1, 0, or -1: pg_container.drop_capabilities */
} ContainerProfile;

extern void spec_build(ContainerSpec *spec, const UserContainerRow *row,
					   const ContainerProfile *profile, const char *token, int host_port);
extern char *spec_current_hash(const ContainerProfile *profile);
extern char *spec_network_name(const char *container_name);
extern char *spec_network_subnet(int host_port);

#endif							/* PGC_CONTAINER_SPEC_H */
