/*-------------------------------------------------------------------------
 *
 * engine_docker.c
 *	  pg_container.engine = 'docker': a user's unit is a container on one
 *	  Docker engine (or Podman's compatible API).  The verbs are
 *	  docker_api.c's operations as they are; nothing changes for the
 *	  engine every installation used before there was a choice.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "engine.h"

/* One engine: nothing to place. */
static DockerStartResult
start_container(const char *id, const char *name, char **node)
{
	*node = NULL;
	return docker_start_container(id, name);
}

const PgcEngine pgc_docker_engine = {
	.name = "docker",
	.can_set_aside = true,
	.can_pause = true,
	.network_driver = "bridge",
	.find = docker_inspect_container,
	.list_managed = docker_list_managed_containers,
	.published_ports = docker_published_host_ports,
	.create = docker_create_container,
	.start = start_container,
	.stop = docker_stop_container,
	.stop_many = docker_stop_containers,
	.unpause = docker_unpause_container,
	.rename = docker_rename_container,
	.remove = docker_remove_container,
	.logs = docker_container_logs,
};
