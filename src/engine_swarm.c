/*-------------------------------------------------------------------------
 *
 * engine_swarm.c
 *	  pg_container.engine = 'swarm': a user's unit is a replicated service
 *	  on the Docker Swarm manager pg_container.docker_host names.  Running
 *	  is 1 replica, stopped is 0: stop and idle reaping keep the service,
 *	  so the next ensure is a scale to 1, not a create.  Removing deletes
 *	  the service; the lifecycle removes the volume only as it always has.
 *
 * A `local` named volume exists only on the node that made it, and a task
 * rescheduled elsewhere would start the user on an empty one.  So once a
 * user's first task lands, the service is pinned to that node (a node.id==
 * constraint, which swarm applies without restarting a task that already
 * satisfies it), and a start on a pinned node that is down or drained
 * fails with an error naming the node instead of moving the user.  With
 * a shared volume driver configured (pg_container.volume_driver other than
 * "local", or volume_driver_options set), the volume is the same from every
 * node, so new users are not pinned and their row's node follows the task;
 * a user pinned before keeps the pin.
 *
 * Health comes from two lists per pass whatever the number of users: the
 * services, with their running and desired task counts, and the tasks
 * meant to run, with their state, error and node.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "docker_http.h"
#include "engine.h"
#include "settings.h"
#include "swarm_api.h"

/* How often a wait for a task to be placed looks again. */
#define PLACEMENT_POLL_MS 100

/* Nodes whose address this backend remembers. */
#define NODE_ADDRESS_CACHE 64

typedef struct NodeAddress
{
	char		id[SWARM_ID_LENGTH + 1];
	char	   *address;
} NodeAddress;

static NodeAddress node_addresses[NODE_ADDRESS_CACHE];
static int	node_address_count = 0;
static int	node_address_next = 0;	/* the slot replaced when full */

/* The unit the lifecycle sees for a service, and its task if one is known. */
static void
service_to_unit(const SwarmService *s, const SwarmTask *t, DockerContainer *c)
{
	memset(c, 0, sizeof(DockerContainer));
	c->id = s->id;
	c->name = s->name;
	c->host_port = s->published_port;
	c->user_label = s->user_label;
	c->spec_label = s->spec_label;
	c->installation_label = s->installation_label;
	c->created = s->created;
	c->env_token = s->env_token;
	c->node = t ? t->node_id : s->pinned_node;

	/* Wanted up is "running", as Docker says of a container it restarts. */
	c->running = s->replicas > 0;
	if (!c->running)
		c->state = "exited";
	else if (!s->has_status || s->running_tasks > 0)
		c->state = "running";
	else
	{
		/* Wanted up, nothing running: say why, in the task's words. */
		c->state = "restarting";
		c->health = "unhealthy";
		if (t == NULL)
			c->error = pstrdup("service task not scheduled");
		else
			c->error = psprintf("service task %s%s%s",
								t->state ? docker_printable(t->state) : "unknown",
								(t->error || t->message) ? ": " : "",
								t->error ? docker_printable(t->error) :
								t->message ? docker_printable(t->message) : "");
	}
}

static bool
swarm_find(const char *ref, DockerContainer *out)
{
	SwarmService s;

	if (!swarm_inspect_service(ref, &s))
		return false;
	service_to_unit(&s, NULL, out);
	return true;
}

/*
 * Every service of ours, each with the task meant to run it (the running
 * one if there are several): two requests for any number of users.
 */
static List *
swarm_list(void)
{
	List	   *services = swarm_list_services();
	List	   *tasks = services ? swarm_list_tasks(NULL) : NIL;
	List	   *units = NIL;
	ListCell   *ls;

	foreach(ls, services)
	{
		SwarmService *s = lfirst(ls);
		SwarmTask  *task = NULL;
		DockerContainer *c = palloc(sizeof(DockerContainer));
		ListCell   *lt;

		foreach(lt, tasks)
		{
			SwarmTask  *t = lfirst(lt);

			if (t->service_id == NULL || strcmp(t->service_id, s->id) != 0)
				continue;
			if (task == NULL || (t->state && strcmp(t->state, "running") == 0))
				task = t;
		}
		service_to_unit(s, task, c);
		units = lappend(units, c);
	}
	return units;
}

static List *
swarm_published_ports(void)
{
	List	   *ports = NIL;
	ListCell   *lc;

	foreach(lc, swarm_list_services())
	{
		SwarmService *s = lfirst(lc);

		if (s->replicas > 0 && s->published_port > 0)
			ports = lappend_int(ports, s->published_port);
	}
	return ports;
}

/*
 * Create the service with no replica: the lifecycle starts what it
 * creates, and the start is where placement is checked and pinned.
 */
static char *
swarm_create(const ContainerSpec *spec, bool *name_taken, const char *secret)
{
	return swarm_create_service(spec, 0, name_taken, secret);
}

/*
 * Remember a node's address (Status.Addr).  A node keeps its id only as
 * long as it stays in the swarm (one that rejoins gets a new id), and its
 * address with it, so the cache is never wrong for long: and it keeps the
 * hot path of an ensure on a running user at one request.  An address
 * that says nothing (empty, or the wildcard a manager sometimes reports)
 * is not remembered.
 */
static void
remember_node_address(const SwarmNode *node)
{
	NodeAddress *slot = NULL;

	if (node->id == NULL || strlen(node->id) > SWARM_ID_LENGTH ||
		node->address == NULL || node->address[0] == '\0' ||
		strcmp(node->address, "0.0.0.0") == 0)
		return;
	for (int i = 0; i < node_address_count; i++)
		if (strcmp(node_addresses[i].id, node->id) == 0)
			slot = &node_addresses[i];
	if (slot == NULL)
	{
		if (node_address_count < NODE_ADDRESS_CACHE)
			slot = &node_addresses[node_address_count++];
		else
		{
			slot = &node_addresses[node_address_next];
			node_address_next = (node_address_next + 1) % NODE_ADDRESS_CACHE;
		}
		strlcpy(slot->id, node->id, sizeof(slot->id));
	}
	if (slot->address == NULL || strcmp(slot->address, node->address) != 0)
		slot->address = MemoryContextStrdup(TopMemoryContext, node->address);
}

/*
 * The address a service's task on node publishes at: the node's own, read
 * from the manager once per backend; NULL if the manager does not say.
 */
static const char *
swarm_node_address(const char *node)
{
	SwarmNode	n;

	for (int i = 0; i < node_address_count; i++)
		if (strcmp(node_addresses[i].id, node) == 0)
			return node_addresses[i].address;
	if (!swarm_inspect_node(node, &n))
		return NULL;
	remember_node_address(&n);
	if (n.address == NULL || n.address[0] == '\0' || strcmp(n.address, "0.0.0.0") == 0)
		return NULL;
	return n.address;
}

/*
 * A pinned user may start only on their node: anywhere else their volume
 * is empty.  A node that is gone, down or not active gets an error that
 * names it.
 */
static void
check_pinned_node(const SwarmService *s)
{
	SwarmNode	node;
	const char *label;

	if (s->pinned_node == NULL)
		return;
	if (!swarm_inspect_node(s->pinned_node, &node))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("service \"%s\" cannot start: its node %s is no longer in the swarm",
						s->name, docker_printable(s->pinned_node)),
				 errdetail("The user's volume was on that node; started elsewhere, the user would find it empty."),
				 errhint("Move the user's volume to another node and remove the service's placement constraint.")));

	remember_node_address(&node);
	label = node.hostname ? psprintf("%s (%s)", node.id, docker_printable(node.hostname)) : node.id;
	if (strcmp(node.state, "ready") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("service \"%s\" cannot start: its node %s is %s",
						s->name, label, docker_printable(node.state)),
				 errdetail("The user's volume is on that node; started elsewhere, the user would find it empty."),
				 errhint("Bring the node back, or move the user's volume and remove the service's placement constraint.")));
	if (node.availability != NULL && strcmp(node.availability, "active") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("service \"%s\" cannot start: its node %s has availability \"%s\"",
						s->name, label, docker_printable(node.availability)),
				 errdetail("The user's volume is on that node; started elsewhere, the user would find it empty."),
				 errhint("Make the node active again, or move the user's volume and remove the service's placement constraint.")));
}

/*
 * The node the service's task was placed on, waiting for the scheduler
 * as long as readiness may take; NULL if it placed none in that time.
 */
static char *
wait_for_placement(const SwarmService *s)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), pgc_ready_timeout_ms);

	for (;;)
	{
		ListCell   *lc;

		foreach(lc, swarm_list_tasks(s->id))
		{
			SwarmTask  *t = lfirst(lc);

			if (t->node_id != NULL && t->node_id[0] != '\0')
				return t->node_id;
		}
		if (GetCurrentTimestamp() >= deadline)
			return NULL;
		docker_sleep_between_polls(PLACEMENT_POLL_MS, false);
	}
}

/*
 * Scale to 1; pin the service to the node its first task lands on, and
 * say which node that is.
 */
static DockerStartResult
swarm_start(const char *id, const char *name, char **node)
{
	SwarmService s;

	*node = NULL;
	if (!swarm_inspect_service(id, &s))
		return DOCKER_START_NOT_FOUND;
	check_pinned_node(&s);
	if (s.replicas != 1 && !swarm_update_service(s.id, name, 1, NULL))
		return DOCKER_START_NOT_FOUND;
	if (s.pinned_node != NULL)
	{
		*node = s.pinned_node;
		return DOCKER_STARTED;
	}

	*node = wait_for_placement(&s);
	if (*node == NULL)
		return DOCKER_STARTED;	/* the readiness wait reports the task */
	/* On shared storage the user may run anywhere: the row says where. */
	if (pgc_volume_is_shared())
		return DOCKER_STARTED;
	if (!swarm_update_service(s.id, name, -1, *node))
		return DOCKER_START_NOT_FOUND;
	ereport(LOG,
			(errmsg("pinned service \"%s\" to node %s, where its volume now is",
					name, docker_printable(*node))));
	return DOCKER_STARTED;
}

/* The longest a scale to 0 may take: what a container stop may. */
static int
stop_wait_ms(void)
{
	return pgc_docker_timeout_ms + pgc_stop_timeout_s * 1000;
}

/* Scale to 0 and wait until the task is down; false if there is no service. */
static bool
swarm_stop(const char *id, const char *name)
{
	if (!swarm_update_service(id, name, 0, NULL))
		return false;
	if (!swarm_wait_tasks_down(id, name, stop_wait_ms()))
		ereport(WARNING,
				(errmsg("the task of service \"%s\" was still running %d ms after it was scaled to 0",
						name, stop_wait_ms())));
	return true;
}

/*
 * Scale many services to 0, each outcome recorded in its DockerStop: the
 * updates up to max_parallel at once, as a plain engine's stops, then the
 * waits, during which all the tasks go down at once.
 */
static void
swarm_stop_many(DockerStop *stops, int count, int max_parallel)
{
	swarm_scale_many(stops, count, 0, max_parallel);
	for (int i = 0; i < count; i++)
		if (stops[i].stopped && !stops[i].gone)
			(void) swarm_wait_tasks_down(stops[i].id, stops[i].name, stop_wait_ms());
}

/* Services are never paused. */
static void
swarm_unpause(const char *id, const char *name)
{
}

static void
swarm_rename(const char *id, const char *new_name)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("a service cannot be set aside under the name \"%s\": swarm services cannot be renamed",
					new_name),
			 errdetail("A service is made from changed settings in place instead.")));
}

/*
 * Give the service the task template, labels and endpoint of a new spec,
 * in place: the same service, volume and pin, and its next task runs with
 * the new settings.
 */
static bool
swarm_update_spec(const char *id, const ContainerSpec *spec, const char *secret,
				  char **previous)
{
	SwarmChange change = {.replicas = -1,.new_spec = spec,.saved_spec = previous};

	*previous = NULL;
	return swarm_change_service(id, spec->name, &change, secret);
}

/*
 * Put back the spec swarm_update_spec replaced, keeping the replicas and
 * pin the service has now.  (Swarm's own rollback would not do: the scale
 * to 1 since then made the new spec the service's PreviousSpec.)
 */
static void
swarm_restore_spec(const char *id, const char *name, const char *previous, const char *secret)
{
	SwarmChange change = {.replicas = -1,.old_spec = previous};

	(void) swarm_change_service(id, name, &change, secret);
}

/*
 * Delete the service after scaling it to 0 and waiting for its task to
 * stop, then wait for swarm to remove its containers, so the volume is
 * free by the time the lifecycle may remove it.
 */
static void
swarm_remove(const char *id, const char *name)
{
	if (swarm_stop(id, name) && swarm_remove_service(id, name) &&
		!swarm_wait_containers_gone(id, name, stop_wait_ms()))
		ereport(WARNING,
				(errmsg("the containers of service \"%s\" were still there %d ms after it was removed",
						name, stop_wait_ms())));
}

/*
 * Wait until a task of the service runs: the readiness of a service that
 * publishes no port, which pg_container cannot probe from outside the
 * user's network.  Swarm reports a task with a HEALTHCHECK running only
 * once it is healthy, so an image's own check makes this a real one.
 */
static bool
swarm_wait_running(const char *id, const char *name, int timeout_ms)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);

	for (;;)
	{
		ListCell   *lc;

		foreach(lc, swarm_list_tasks(id))
		{
			SwarmTask  *t = lfirst(lc);

			if (t->state != NULL && strcmp(t->state, "running") == 0)
				return true;
		}
		if (GetCurrentTimestamp() >= deadline)
			return false;
		docker_sleep_between_polls(PLACEMENT_POLL_MS, true);
	}
}

const PgcEngine pgc_swarm_engine = {
	.name = "swarm",
	.can_set_aside = false,		/* services cannot be renamed */
	.can_pause = false,			/* the service API cannot pause a task */
	.network_driver = "overlay",	/* swarm-scoped, so a task on any node joins it */
	.find = swarm_find,
	.list_managed = swarm_list,
	.published_ports = swarm_published_ports,
	.create = swarm_create,
	.start = swarm_start,
	.stop = swarm_stop,
	.stop_many = swarm_stop_many,
	.unpause = swarm_unpause,
	.rename = swarm_rename,
	.update_spec = swarm_update_spec,
	.restore_spec = swarm_restore_spec,
	.remove = swarm_remove,
	.logs = docker_service_logs,
	.node_address = swarm_node_address,
	.wait_running = swarm_wait_running,
};
