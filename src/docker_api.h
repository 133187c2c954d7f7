/*-------------------------------------------------------------------------
 *
 * docker_api.h
 *	  Docker Engine API operations on containers and images.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_DOCKER_API_H
#define PGC_DOCKER_API_H

#include "lib/stringinfo.h"
#include "nodes/pg_list.h"

#include "container_spec.h"

/* Labels that mark what pg_container manages. */
#define PGC_LABEL_MANAGED "pg_container.managed"
#define PGC_LABEL_USER_ID "pg_container.user_id"
#define PGC_LABEL_SPEC_HASH "pg_container.spec_hash"
#define PGC_LABEL_INSTALLATION "pg_container.installation"
/* The user's host port, on a unit that publishes none (pgc_units_publish) */
#define PGC_LABEL_HOST_PORT "pg_container.host_port"

/* Docker's full container ids: 64 lower-case hex digits. */
#define DOCKER_ID_LENGTH 64

/* What we read back about a container. */
typedef struct DockerContainer
{
	char	   *id;
	char	   *name;			/* without Docker's leading "/" */
	char	   *state;			/* "running", "exited", "created", ... */
	bool		running;
	bool		paused;
	char	   *health;			/* "healthy", "unhealthy", "starting" or NULL */
	int			host_port;		/* host port published for the gateway; 0: none */
	char	   *user_label;		/* value of PGC_LABEL_USER_ID, or NULL */
	char	   *spec_label;		/* value of PGC_LABEL_SPEC_HASH, or NULL */
	char	   *installation_label; /* value of PGC_LABEL_INSTALLATION, or NULL */
	int64		created;		/* seconds since the epoch; 0 if not known */
	int			exit_code;		/* State.ExitCode of the last run */
	bool		oom_killed;		/* State.OOMKilled: the kernel killed it (inspect only) */
	int			restart_count;	/* times Docker restarted it */
	char	   *env_token;		/* its AGENT_TOKEN (inspect only), or NULL */
	char	   *node;			/* swarm: the node its task runs on, or NULL */
	char	   *error;			/* swarm: why its task is not running, or NULL */
} DockerContainer;

/* Whose a named volume is, by its labels. */
typedef enum VolumeOwner
{
	VOLUME_OURS,				/* labelled for this user and installation */
	VOLUME_UNLABELLED,			/* no installation label: made before 0.3.0, or by hand */
	VOLUME_FOREIGN				/* labelled for another user or installation */
} VolumeOwner;

typedef enum DockerStartResult
{
	DOCKER_STARTED,				/* started, or was running already */
	DOCKER_START_NOT_FOUND,		/* no such container */
	DOCKER_START_PORT_TAKEN		/* its host port is bound by someone else */
} DockerStartResult;

/* One stop of a parallel batch, and its outcome. */
typedef struct DockerStop
{
	const char *id;				/* container id or name */
	const char *name;			/* for messages */
	bool		stopped;		/* it is down: stopped now, before, or gone */
	bool		gone;			/* it does not exist */
	char	   *error;			/* why it could not be stopped, or NULL */
} DockerStop;

extern bool docker_inspect_container(const char *ref, DockerContainer *out);
extern List *docker_list_managed_containers(void);
extern List *docker_published_host_ports(void);
extern void docker_stop_containers(DockerStop *stops, int count, int max_parallel);
extern char *docker_create_container(const ContainerSpec *spec, bool *name_taken,
									 const char *secret);
extern DockerStartResult docker_start_container(const char *id, const char *name);
extern bool docker_stop_container(const char *id, const char *name);
extern void docker_unpause_container(const char *id, const char *name);
extern void docker_rename_container(const char *id, const char *new_name);
extern void docker_remove_container(const char *id, const char *name);
extern VolumeOwner docker_create_network(const char *network, const char *driver,
										 const char *subnet, const char *user_id,
										 const char *installation, bool *subnet_taken);
extern bool docker_inspect_network(const char *network, const char *user_id,
								   const char *installation, VolumeOwner *owner,
								   List **members);
extern bool docker_connect_network(const char *network, const char *container);
extern void docker_disconnect_network(const char *network, const char *container);
extern bool docker_remove_network(const char *network);
extern void docker_append_driver_options(StringInfo buf, List *options);
extern char *docker_log_options(const ContainerSpec *spec);
extern VolumeOwner docker_create_volume(const char *volume, const char *user_id,
										const char *installation);
extern bool docker_inspect_volume(const char *volume, const char *user_id,
								  const char *installation, VolumeOwner *owner);
extern void docker_remove_volume(const char *volume);
extern bool docker_valid_id(const char *id);
extern List *docker_container_logs(const char *id, const char *name, int tail, int64 since,
								   const char *secret);
extern List *docker_service_logs(const char *id, const char *name, int tail, int64 since,
								 const char *secret);
extern char *docker_printable(const char *s);
extern void docker_append_string_array(StringInfo buf, const char *key, List *values);
extern void docker_append_spec_labels(StringInfo buf, const ContainerSpec *spec);

/* For swarm_api.c, which talks to the same engine (docker_http.h, json_walk.h). */
struct DockerRequest;
struct JsonWalker;
extern char *docker_url_segment(const char *s);
extern void docker_walk_response(struct DockerRequest *req, struct JsonWalker *w);
extern void docker_raise_bad_shape(struct DockerRequest *req, const char *expected);
extern char *docker_redact(const char *text, const char *secret);

#endif							/* PGC_DOCKER_API_H */
