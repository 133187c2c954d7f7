/*-------------------------------------------------------------------------
 *
 * user_network.c
 *	  Each user's own Docker network, when pg_container.network_mode is
 *	  per_user: one per user on a /28 of pg_container.network_pool that
 *	  their host port chooses (a bridge on one engine, an attachable
 *	  overlay on a swarm), so gateways cannot reach each other,
 *	  with the containers that must reach every gateway (the application's
 *	  API) attached to it.  Networks are labelled like volumes, and one
 *	  labelled for anyone else is never used or removed.  Published ports
 *	  that tenants reach past these networks are warned of here.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "container_spec.h"
#include "docker_api.h"
#include "docker_http.h"
#include "engine.h"
#include "settings.h"
#include "user_network.h"

/* How long a remove waits for the engine to let go of a user's network. */
#define NETWORK_RELEASE_WAIT_MS 30000
#define NETWORK_RELEASE_POLL_MS 200

/*
 * Make the user's own network, on the subnet their port gives them; false
 * if another network holds that subnet, which the caller treats as a taken
 * port.  One labelled for anyone else is refused.  With network_mode
 * shared there is nothing to make.
 */
bool
user_network_claim(const UserContainerRow *row, const char *network, int host_port)
{
	bool		subnet_taken;
	VolumeOwner owner;

	if (pgc_network_mode != PGC_NETWORK_PER_USER)
		return true;
	owner = docker_create_network(network, pgc_engine()->network_driver,
								  spec_network_subnet(host_port), row->user_id,
								  store_installation_id(), &subnet_taken);
	/* As with volumes: one made while the tables predated 0.3.0. */
	if (owner == VOLUME_OURS || (owner == VOLUME_UNLABELLED && row->container_id != NULL))
		return true;
	if (subnet_taken)
	{
		ereport(LOG,
				(errmsg("subnet %s of host port %d is held by another network; choosing another port for user \"%s\"",
						spec_network_subnet(host_port), host_port, row->user_id)));
		return false;
	}
	ereport(ERROR,
			(errcode(ERRCODE_DUPLICATE_OBJECT),
			 errmsg("network \"%s\" of user \"%s\" belongs to another user or pg_container installation",
					network, row->user_id),
			 errhint("Give each database that shares the engine its own pg_container.name_prefix.")));
	pg_unreachable();
}

/*
 * The host of pg_container.api_url, the application's API container, if
 * the application reaches gateways by their internal URL: one that uses
 * the published URLs (url_mode published) runs outside these networks and
 * needs to join none.
 */
static char *
api_container(void)
{
	const char *host;

	if (pgc_url_mode == PGC_URL_PUBLISHED ||
		pgc_api_url == NULL || (host = strstr(pgc_api_url, "://")) == NULL)
		return NULL;
	host += 3;
	if (strcspn(host, ":/?#") == 0)
		return NULL;
	return pnstrdup(host, strcspn(host, ":/?#"));
}

/*
 * The containers that must reach every gateway: pg_container.attach_containers,
 * with PGC_ATTACH_API_HOST standing for api_container(); empty is none.
 */
static List *
attached_containers(void)
{
	List	   *names = NIL;
	char	   *copy = pstrdup(pgc_attach_containers ? pgc_attach_containers : "");
	char	   *name;
	char	   *save = NULL;

	for (name = strtok_r(copy, ", ", &save); name; name = strtok_r(NULL, ", ", &save))
	{
		if (strcmp(name, PGC_ATTACH_API_HOST) == 0)
			name = api_container();
		if (name != NULL)
			names = lappend(names, name);
	}
	return names;
}

/* Whether the publish address is one that only the host itself reaches. */
static bool
publish_address_is_loopback(void)
{
	return strncmp(pgc_publish_address, "127.", 4) == 0 ||
		strcmp(pgc_publish_address, "::1") == 0 ||
		strcmp(pgc_publish_address, "localhost") == 0;
}

/*
 * Say, once per session, that per-user networks do not keep tenants apart
 * while gateway ports are published where containers reach them: a swarm
 * binds every address of the node, a plain engine publish_address, and
 * from a tenant's container the host's address (or its network's gateway)
 * with another user's port reaches that user's gateway, whose token check
 * is all that is left.  A plain engine honours publish_address, a swarm
 * does not.
 */
static void
warn_unisolated_ports(void)
{
	static bool warned = false;
	bool		swarm = pgc_engine_kind == PGC_ENGINE_SWARM;

	if (warned || !pgc_units_publish() || (!swarm && publish_address_is_loopback()))
		return;
	warned = true;
	ereport(WARNING,
			(errmsg("per-user networks do not keep tenants apart while gateway ports are published on %s",
					swarm ? "every address of a swarm node" :
					psprintf("\"%s\"", pgc_publish_address)),
			 errdetail("From a user's container, the host's address with another user's port reaches that user's gateway; only its token check stands in the way."),
			 swarm ?
			 errhint("With url_mode internal a swarm publishes nothing, and the application reaches gateways on their networks.") :
			 errhint("Publish on 127.0.0.1, or keep the containers' networks from the port range with a firewall.")));
}

/*
 * Attach the containers that must reach every gateway to the user's own
 * network, so the internal URL resolves for them.  Each start does it
 * again: a recreated API container has lost its attachments.  A missing
 * one is a WARNING: the user's gateway works, only that container cannot
 * reach it.  Published ports that undo the networks' isolation are
 * warned of here too, once per session.
 */
void
user_network_attach(const char *network)
{
	ListCell   *lc;

	if (pgc_network_mode != PGC_NETWORK_PER_USER)
		return;
	warn_unisolated_ports();
	foreach(lc, attached_containers())
	{
		const char *name = lfirst(lc);

		if (!docker_connect_network(network, name))
			ereport(WARNING,
					(errmsg("container \"%s\" could not be attached to network \"%s\": it does not exist",
							name, network),
					 errdetail("It cannot reach the gateway on that network."),
					 errhint("Set pg_container.attach_containers to the containers that must reach every gateway.")));
	}
}

/*
 * Detach every container attached to the user's own network, if it is
 * ours, and remove it.  What the network says is attached, not what the
 * settings name: the removal may be carried out by another session (the
 * worker) whose attach_containers and api_url are not those of the user's
 * starts.  A swarm lets go of a removed service's network only once its
 * tasks are deleted, a little after their containers, and an engine may
 * fail to mark it for deletion while an endpoint goes: wait for that, then
 * leave the network with a WARNING rather than fail the remove (the
 * network is the user's, and their next ensure uses it again).
 */
void
user_network_remove(const UserContainerRow *row)
{
	/* Its own network's name whatever the mode is now: it may have changed. */
	char	   *network = psprintf("%s-net", row->container_name);
	VolumeOwner owner;
	List	   *members;
	ListCell   *lc;
	int			waited_ms;

	if (!docker_inspect_network(network, row->user_id, store_installation_id(), &owner, &members) ||
		owner != VOLUME_OURS)
		return;
	foreach(lc, members)
		docker_disconnect_network(network, lfirst(lc));
	for (waited_ms = 0; !docker_remove_network(network); waited_ms += NETWORK_RELEASE_POLL_MS)
	{
		if (waited_ms >= NETWORK_RELEASE_WAIT_MS)
		{
			ereport(WARNING,
					(errmsg("network \"%s\" of user \"%s\" could not be removed and was left in place",
							network, row->user_id),
					 errdetail("For %d ms the engine said it was in use or could not mark it for deletion.",
							   NETWORK_RELEASE_WAIT_MS)));
			return;
		}
		docker_sleep_between_polls(NETWORK_RELEASE_POLL_MS, false);
	}
}
