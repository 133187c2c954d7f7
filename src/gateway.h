/*-------------------------------------------------------------------------
 *
 * gateway.h
 *	  Talking to a user's gateway: its URLs and its readiness.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_GATEWAY_H
#define PGC_GATEWAY_H

extern char *gateway_url(const char *container_name, int host_port);
extern char *gateway_node_url(const char *container_name, int host_port, const char *node);
extern void gateway_wait_until_ready(const char *container_id, const char *container_name,
									 int host_port, const char *node, const char *token);

#endif							/* PGC_GATEWAY_H */
