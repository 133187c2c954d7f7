/*-------------------------------------------------------------------------
 *
 * gateway.h
 *	  Talking to a user's gateway: its URLs and its readiness.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_GATEWAY_H
#define PGC_GATEWAY_H

#include "docker_http.h"

extern char *gateway_url(const char *container_name, int host_port);
extern char *gateway_node_url(const char *container_name, int host_port, const char *node);
extern void gateway_wait_until_ready(const char *container_id, const char *container_name,
									 int host_port, const char *node, const char *token);
extern DockerRequest *gateway_ready_probe(const char *container_name, int host_port,
										  const char *node, int timeout_ms);
extern bool gateway_probe_ready(const DockerRequest *probe);
pg_noreturn extern void gateway_raise_unready(const char *container_id, const char *container_name,
											  const DockerRequest *probe, const char *token, bool gone);
extern bool gateway_container_gone(const char *container_id);

#endif							/* PGC_GATEWAY_H */
