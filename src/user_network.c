/*-------------------------------------------------------------------------
 *
 * user_network.c
 *	  Each user's own Docker network, when pg_container.network_mode is
 *	  per_user: one bridge per user on a /28 of pg_container.network_pool
 *	  that their host port chooses, so gateways cannot reach each other,
 *	  with the containers that must reach every gateway (the application's
 *	  API) attached to it.  Networks are labelled like volumes, and one
 *	  labelled for anyone else is never used or removed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "container_spec.h"
#include "docker_api.h"
#include "settings.h"
#include "user_network.h"

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
	owner = docker_create_network(network, spec_network_subnet(host_port), row->user_id,
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
 * The containers that must reach every gateway: pg_container.attach_containers,
 * else the host of pg_container.api_url (the application's API container).
 */
static List *
attached_containers(void)
{
	List	   *names = NIL;
	char	   *copy;
	char	   *name;
	char	   *save = NULL;

	if (pgc_attach_containers != NULL && pgc_attach_containers[0] != '\0')
	{
		copy = pstrdup(pgc_attach_containers);
		for (name = strtok_r(copy, ", ", &save); name; name = strtok_r(NULL, ", ", &save))
			names = lappend(names, name);
		return names;
	}
	if (pgc_api_url != NULL && (name = strstr(pgc_api_url, "://")) != NULL)
	{
		name += 3;
		names = lappend(names, pnstrdup(name, strcspn(name, ":/?#")));
	}
	return names;
}

/*
 * Attach the containers that must reach every gateway to the user's own
 * network, so the internal URL resolves for them.  Each start does it
 * again: a recreated API container has lost its attachments.  A missing
 * one is a WARNING: the user's gateway works, only that container cannot
 * reach it.
 */
void
user_network_attach(const char *network)
{
	ListCell   *lc;

	if (pgc_network_mode != PGC_NETWORK_PER_USER)
		return;
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

/* Detach those containers and remove the user's own network, if it is ours. */
void
user_network_remove(const UserContainerRow *row)
{
	/* Its own network's name whatever the mode is now: it may have changed. */
	char	   *network = psprintf("%s-net", row->container_name);
	VolumeOwner owner;
	ListCell   *lc;

	if (!docker_inspect_network(network, row->user_id, store_installation_id(), &owner) ||
		owner != VOLUME_OURS)
		return;
	foreach(lc, attached_containers())
		docker_disconnect_network(network, lfirst(lc));
	docker_remove_network(network);
}
