/*-------------------------------------------------------------------------
 *
 * docker_archive.c
 *	  Owns the Docker Engine API verbs a backup needs: the archive of a
 *	  path in a container (GET and PUT /containers/{id}/archive, a tar
 *	  stream) and the pause that holds the container still meanwhile.
 *
 * The archive is the engine's own copy of the files (docker cp): it works
 * on a running, paused or stopped container, reading a volume through the
 * container's mount.  Its size is capped by the caller, not by
 * pg_container.max_response_size, which is meant for JSON answers.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "docker_api.h"
#include "docker_archive.h"
#include "docker_http.h"

/*
 * The tar stream of path in the container, at most max_bytes long; *len
 * gets its length.  Over the cap the request fails with DOCKER_TOO_LARGE
 * and is raised as 54000 by the caller's words (backup.c knows the setting).
 */
char *
docker_archive_get(const char *id, const char *name, const char *path,
				   size_t max_bytes, size_t *len)
{
	DockerRequest *req;

	req = docker_request_new("GET",
							 psprintf("/containers/%s/archive?path=%s",
									  docker_url_segment(id), docker_url_segment(path)),
							 psprintf("copy \"%s\" from container \"%s\"", path, name));
	req->response_limit = max_bytes;
	docker_run_request(req);
	if (req->failure == DOCKER_TOO_LARGE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the volume of container \"%s\" is larger than pg_container.backup_max_size (%zu MB)",
						name, max_bytes / (1024 * 1024)),
				 errhint("Raise pg_container.backup_max_size, or make the state smaller.")));
	if (req->status != 200)
		docker_raise_failure(req);
	*len = req->response_len;
	return req->response;
}

/*
 * Unpack a tar stream into path in the container.  path must exist; the
 * stream's entries are relative to it.
 */
void
docker_archive_put(const char *id, const char *name, const char *path,
				   char *data, size_t len)
{
	DockerRequest *req;

	req = docker_request_new("PUT",
							 psprintf("/containers/%s/archive?path=%s",
									  docker_url_segment(id), docker_url_segment(path)),
							 psprintf("copy into \"%s\" of container \"%s\"", path, name));
	req->body = data;
	req->body_len = len;
	req->content_type = "application/x-tar";
	docker_run_request(req);
	if (req->status != 200)
		docker_raise_failure(req);
}

/* Freeze a running container (the cgroup freezer); 304: it was already. */
void
docker_pause_container(const char *id, const char *name)
{
	DockerRequest *req;

	req = docker_request_new("POST",
							 psprintf("/containers/%s/pause", docker_url_segment(id)),
							 psprintf("pause container \"%s\"", name));
	docker_run_request(req);
	if (req->status != 204 && req->status != 304)
		docker_raise_failure(req);
}

/*
 * An unpause, built but not run: the caller runs it where it must not
 * raise (after an error) and reads the outcome from the request.
 */
DockerRequest *
docker_unpause_request(const char *id, const char *name)
{
	return docker_request_new("POST",
							  psprintf("/containers/%s/unpause", docker_url_segment(id)),
							  psprintf("unpause container \"%s\"", name));
}
