/*-------------------------------------------------------------------------
 *
 * docker_archive.h
 *	  A container's files as a tar stream, and pausing it for the copy
 *	  (docker_archive.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_DOCKER_ARCHIVE_H
#define PGC_DOCKER_ARCHIVE_H

#include "docker_http.h"

extern char *docker_archive_get(const char *id, const char *name, const char *path,
								size_t max_bytes, size_t *len);
extern void docker_archive_put(const char *id, const char *name, const char *path,
							   char *data, size_t len);
extern void docker_pause_container(const char *id, const char *name);
extern DockerRequest *docker_unpause_request(const char *id, const char *name);

#endif							/* PGC_DOCKER_ARCHIVE_H */
