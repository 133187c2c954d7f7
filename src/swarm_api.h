/*-------------------------------------------------------------------------
 *
 * swarm_api.h
 *	  Docker Swarm services, tasks and nodes, through the Engine API of a
 *	  swarm manager (pg_container.engine = 'swarm').
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_SWARM_API_H
#define PGC_SWARM_API_H

#include "nodes/pg_list.h"

#include "container_spec.h"
#include "docker_api.h"
#include "docker_http.h"

/* Swarm's object ids: 25 lower-case letters and digits. */
#define SWARM_ID_LENGTH 25

/* Bound on re-reads of a service whose update lost a race. */
#define SWARM_UPDATE_ATTEMPTS 5

/* What we read back about a service. */
typedef struct SwarmService
{
	char	   *id;
	char	   *name;
	uint64		version;		/* Version.Index, for the next update */
	int			replicas;		/* Spec.Mode.Replicated.Replicas */
	int			running_tasks;	/* ServiceStatus (lists with status=true) */
	int			desired_tasks;
	bool		has_status;		/* the two counts above were given */
	int			published_port; /* the gateway's PublishedPort, else
								 * PGC_LABEL_HOST_PORT; 0: none */
	char	   *pinned_node;	/* the node of a "node.id==" constraint, or NULL */
	char	   *user_label;
	char	   *spec_label;
	char	   *installation_label;
	char	   *env_token;		/* its AGENT_TOKEN, or NULL */
	int64		created;		/* seconds since the epoch; 0 if not known */
} SwarmService;

/* A task: one try at running a service's container on a node. */
typedef struct SwarmTask
{
	char	   *id;
	char	   *service_id;
	char	   *node_id;		/* NULL until scheduled */
	char	   *state;			/* Status.State: "pending", "running", ... */
	char	   *desired_state;
	char	   *error;			/* Status.Err, or NULL */
	char	   *message;		/* Status.Message */
	char	   *container_id;	/* NULL until the node made it */
	int			exit_code;
} SwarmTask;

/* A node, as far as placing a pinned user on it goes. */
typedef struct SwarmNode
{
	char	   *id;
	char	   *hostname;
	char	   *state;			/* Status.State: "ready", "down", ... */
	char	   *availability;	/* Spec.Availability: "active", "drain", "pause" */
	char	   *address;		/* Status.Addr */
} SwarmNode;

/* What an update changes in a service's spec. */
typedef struct SwarmChange
{
	int			replicas;		/* -1: leave them */
	const char *pin_node;		/* NULL: leave the placement */
	const ContainerSpec *new_spec;	/* NULL: leave the rest */
	const char *old_spec;		/* a saved Spec to put back, or NULL */
	char	  **saved_spec;		/* if not NULL: set to the Spec as read */
} SwarmChange;

typedef enum SwarmUpdateOutcome
{
	SWARM_UPDATED,
	SWARM_GONE,					/* no such service */
	SWARM_STALE					/* "update out of sequence": read again */
} SwarmUpdateOutcome;

extern bool swarm_valid_id(const char *id);
extern bool swarm_inspect_service(const char *ref, SwarmService *out);
extern List *swarm_list_services(void);
extern List *swarm_list_tasks(const char *service_id);
extern List *swarm_list_all_tasks(const char *service_id);
extern char *swarm_create_service(const ContainerSpec *spec, int replicas,
								  bool *name_taken, const char *secret);
extern bool swarm_update_service(const char *id, const char *name, int replicas,
								 const char *pin_node);
extern bool swarm_change_service(const char *id, const char *name,
								 const SwarmChange *change, const char *secret);
extern DockerRequest *swarm_prepare_update(const char *id, const char *name,
										   const SwarmChange *change);
extern DockerRequest *swarm_update_request(DockerRequest *inspected, const SwarmService *s,
										   const char *name, const SwarmChange *change);
extern SwarmUpdateOutcome swarm_finish_update(DockerRequest *req, const char *secret);
extern void swarm_scale_many(DockerStop *stops, int count, int replicas, int max_parallel);
extern bool swarm_remove_service(const char *id, const char *name);
extern bool swarm_wait_tasks_down(const char *id, const char *name, int timeout_ms);
extern bool swarm_wait_containers_gone(const char *id, const char *name, int timeout_ms);
extern bool swarm_inspect_node(const char *id, SwarmNode *out);

#endif							/* PGC_SWARM_API_H */
