/*-------------------------------------------------------------------------
 *
 * engine.h
 *	  The seam between a user's lifecycle and what runs their gateway: a
 *	  table of verbs, one implementation per pg_container.engine.
 *
 * The lifecycle speaks of one "unit" per user, described by a
 * DockerContainer: on 'docker' a container, on 'swarm' a replicated service
 * whose one replica is the running gateway.  Each verb keeps the meaning the
 * lifecycle relies on: find answers false for nothing of that name, start
 * and stop answer for a unit that is gone rather than raise, and stop_many
 * records each outcome instead of raising.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_ENGINE_H
#define PGC_ENGINE_H

#include "nodes/pg_list.h"

#include "container_spec.h"
#include "docker_api.h"
#include "settings.h"

typedef struct PgcEngine
{
	const char *name;
	bool		can_set_aside;	/* rename works: restart can recreate safely */
	bool		can_pause;		/* the idle sweep may pause before it stops */
	const char *network_driver; /* of a user's own network (network_mode per_user) */
	bool		(*find) (const char *ref, DockerContainer *out);
	List	   *(*list_managed) (void);
	List	   *(*published_ports) (void);
	char	   *(*create) (const ContainerSpec *spec, bool *name_taken, const char *secret);
	/* *node: where it was placed, if the engine places units; else NULL */
	DockerStartResult (*start) (const char *id, const char *name, char **node);
	bool		(*stop) (const char *id, const char *name);
	void		(*stop_many) (DockerStop *stops, int count, int max_parallel);
	void		(*unpause) (const char *id, const char *name);
	void		(*rename) (const char *id, const char *new_name);
	/*
	 * Make an existing, stopped unit from a new spec in place, keeping its
	 * volume and placement; false if it is gone.  NULL for an engine that
	 * recreates by setting the unit aside instead (can_set_aside).  What
	 * the unit was made from before is given in *previous, with secrets.
	 */
	bool		(*update_spec) (const char *id, const ContainerSpec *spec, const char *secret,
								char **previous);
	/* Put back the spec update_spec replaced (its *previous). */
	void		(*restore_spec) (const char *id, const char *name, const char *previous,
								 const char *secret);
	void		(*remove) (const char *id, const char *name);
	List	   *(*logs) (const char *id, const char *name, int tail, int64 since,
						 const char *secret);
	/* the address a unit on node publishes at; NULL verb or answer: none */
	const char *(*node_address) (const char *node);
	/* wait for a unit that publishes nothing (pgc_units_publish) to run */
	bool		(*wait_running) (const char *id, const char *name, int timeout_ms);
} PgcEngine;

extern const PgcEngine pgc_docker_engine;
extern const PgcEngine pgc_swarm_engine;

/* The engine pg_container.engine names. */
static inline const PgcEngine *
pgc_engine(void)
{
	return pgc_engine_kind == PGC_ENGINE_SWARM ? &pgc_swarm_engine : &pgc_docker_engine;
}

#endif							/* PGC_ENGINE_H */
