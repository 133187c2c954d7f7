/*-------------------------------------------------------------------------
 *
 * container_store.h
 *	  Reads and writes of the user_container table.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_CONTAINER_STORE_H
#define PGC_CONTAINER_STORE_H

#include "datatype/timestamp.h"
#include "nodes/pg_list.h"

/* One user_container row, as the lifecycle code needs it. */
typedef struct UserContainerRow
{
	char	   *id;				/* the row's uuid, as text */
	char	   *user_id;
	char	   *container_id;	/* NULL when none is recorded */
	char	   *container_name;
	int			gateway_port;	/* host port; 0 when none is assigned */
	char	   *gateway_token;	/* encrypted */
	bool		running;		/* status = 'running' */
} UserContainerRow;

/* A row's identity and container, as sweeps need it. */
typedef struct ContainerRef
{
	char	   *user_id;
	char	   *container_id;	/* NULL when none is recorded */
	char	   *container_name;
} ContainerRef;

extern void store_open(Oid extension_namespace);
extern void store_close(void);

extern bool store_lock_and_touch(const char *user_id, UserContainerRow *row);
extern bool store_lock(const char *user_id, UserContainerRow *row);
extern void store_insert(const char *user_id, const char *container_name,
						 const char *encrypted_token);
extern void store_record_running(const char *user_id, const char *container_id, int port);
extern void store_record_stopped(const char *user_id, const char *container_id);
extern int	store_claim_free_port(const char *user_id, const int *refused, int nrefused);
extern bool store_claim_port(const char *user_id, int port);
extern void store_touch(const char *user_id);
extern List *store_lock_idle(void);
extern List *store_lock_running(TimestampTz unchanged_since);
extern void store_record_health(List *user_ids, const bool *healthy, List *errors, const bool *down);
extern bool store_set_idle_timeout(const char *user_id, int minutes);
extern void store_lock_all_tokens(List **user_ids, List **tokens);
extern void store_set_token(const char *user_id, const char *encrypted_token);
extern bool store_status(const char *user_id, char **status, int *port,
						 TimestampTz *last_active, bool *last_active_null);

#endif							/* PGC_CONTAINER_STORE_H */
