/*-------------------------------------------------------------------------
 *
 * user_network.h
 *	  Each user's own Docker network (pg_container.network_mode = per_user).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_USER_NETWORK_H
#define PGC_USER_NETWORK_H

#include "container_store.h"

extern bool user_network_claim(const UserContainerRow *row, const char *network, int host_port);
extern void user_network_attach(const char *network);
extern void user_network_remove(const UserContainerRow *row);

#endif							/* PGC_USER_NETWORK_H */
