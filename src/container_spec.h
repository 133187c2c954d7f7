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

/* Hex digits of SHA-256 kept in the spec hash label. */
#define PGC_SPEC_HASH_LENGTH 16

/* Everything a user's container is created from. */
typedef struct ContainerSpec
{
	const char *name;
	const char *user_id;
	const char *image;
	List	   *env;			/* of char *, "KEY=VALUE" */
	const char *volume;
	const char *volume_driver;	/* pg_container.volume_driver */
	List	   *volume_options; /* of char *, "key=value", {volume} filled */
	bool		volume_shared;	/* on storage every node reaches: no pin */
	const char *state_path;
	const char *network;
	int			gateway_port;	/* inside the container */
	const char *publish_address;
	int			host_port;
	bool		publish;		/* host_port published, else only labelled */
	int64		memory_bytes;	/* 0: no limit */
	int64		memory_reserved_bytes;	/* a swarm node must have it free; 0: none */
	int64		nano_cpus;		/* 0: no limit */
	int64		pids_limit;		/* 0: no limit */
	int			log_max_size_mb;	/* json-file's max-size; 0: the engine's logging */
	int			log_max_files;	/* json-file's max-file */
	const char *restart_policy;
	const char *spec_hash;		/* recorded as PGC_LABEL_SPEC_HASH */
	const char *installation;	/* PGC_LABEL_INSTALLATION; NULL before 0.3.0 */
	List	   *command;		/* of char *; NIL: the image's own */
	bool		drop_capabilities;	/* CapDrop ALL */
	bool		init;			/* an init process as PID 1 */
} ContainerSpec;

extern void spec_build(ContainerSpec *spec, const UserContainerRow *row,
					   const ContainerProfile *profile, const char *token, int host_port);
extern ContainerProfile *spec_load_profile(const char *user_id, const char *profile_name);
extern char *spec_current_hash(const ContainerProfile *profile);
extern const char *spec_image(const ContainerProfile *profile);
extern char *spec_network_name(const char *container_name);
extern char *spec_network_subnet(int host_port);
extern List *spec_volume_options(const char *volume);

#endif							/* PGC_CONTAINER_SPEC_H */
