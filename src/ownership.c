/*-------------------------------------------------------------------------
 *
 * ownership.c
 *	  Which Docker objects are a user's.  A container or volume is a
 *	  user's when its labels name this installation and that user, never
 *	  because a row points at it: a role that can write user_container must
 *	  not be able to get another service's container stopped or removed.
 *	  The one rule for finding the user's container, by the id the row
 *	  recorded, else by the exact name, lives here, for inspects and for
 *	  lists alike.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "engine.h"
#include "ownership.h"
#include "settings.h"

/*
 * Whether a container is this installation's container of this user: its
 * labels must say both.  A container made before 0.3.0 has no installation
 * label; it is taken only if it is the very one the row recorded.  While
 * the tables themselves predate 0.3.0 there is no identity to compare.
 */
bool
ownership_is_users(const DockerContainer *c, const char *user_id, const char *recorded_id)
{
	const char *installation = store_installation_id();

	if (c->user_label == NULL || strcmp(c->user_label, user_id) != 0)
		return false;
	if (installation == NULL)
		return true;
	if (c->installation_label != NULL)
		return strcmp(c->installation_label, installation) == 0;
	return recorded_id != NULL && strcmp(recorded_id, c->id) == 0;
}

/*
 * The user's container: the one the row recorded, if its labels say it is
 * theirs and it still holds their name (under another name it is a
 * previous container set aside by a recreation), else the one holding
 * their name, if it is theirs.
 */
OwnershipFound
ownership_find(const char *user_id, const char *recorded_id, const char *name,
			   ContainerLookup lookup, void *source, DockerContainer *out)
{
	if (recorded_id != NULL && lookup(source, recorded_id, out))
	{
		if (!ownership_is_users(out, user_id, recorded_id))
			ereport(WARNING,
					(errmsg("the recorded container of user \"%s\" is not labelled as theirs; leaving it alone",
							user_id),
					 errdetail("Container %.12s lacks this installation's labels for this user.", out->id)));
		else if (out->name != NULL && strcmp(out->name, name) == 0)
			return OWNERSHIP_FOUND;
	}
	if (!lookup(source, name, out))
		return OWNERSHIP_NONE;
	if (ownership_is_users(out, user_id, recorded_id))
		return OWNERSHIP_FOUND;
	return OWNERSHIP_NAME_TAKEN;
}

static bool
inspect_lookup(void *source, const char *ref, DockerContainer *out)
{
	return pgc_engine()->find(ref, out);
}

/*
 * ownership_find by inspecting.  A container holding the name that is not
 * labelled as this user's is someone else's: ensure refuses to adopt it
 * (strict), stop and remove leave it alone.
 */
bool
ownership_inspect(const UserContainerRow *row, DockerContainer *c, bool strict)
{
	OwnershipFound found = ownership_find(row->user_id, row->container_id, row->container_name,
										  inspect_lookup, NULL, c);

	if (found == OWNERSHIP_FOUND)
		return true;
	if (found == OWNERSHIP_NONE || !strict)
		return false;
	ereport(ERROR,
			(errcode(ERRCODE_DUPLICATE_OBJECT),
			 errmsg("container name \"%s\" is taken by a container pg_container does not manage for user \"%s\"",
					row->container_name, row->user_id),
			 errdetail("Container %.12s is not labelled as this installation's container of this user.", c->id),
			 errhint("Remove or rename that container, or give each database that shares the engine its own pg_container.name_prefix.")));
	pg_unreachable();
}

/* The container holding exactly this name, if it is the user's. */
bool
ownership_inspect_name(const char *user_id, const char *name, DockerContainer *c)
{
	return pgc_engine()->find(name, c) && ownership_is_users(c, user_id, NULL);
}

/*
 * The row's container name must be under pg_container.name_prefix: the
 * name also names the user's volume, and a row changed to name something
 * else must not reach another service's container or volume.
 */
void
ownership_check_name(const UserContainerRow *row)
{
	if (strncmp(row->container_name, pgc_name_prefix, strlen(pgc_name_prefix)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("container name \"%s\" of user \"%s\" does not start with pg_container.name_prefix \"%s\"",
						row->container_name, row->user_id, pgc_name_prefix),
				 errhint("Correct user_container.container_name, or set pg_container.name_prefix to the prefix the names were made with.")));
}

/*
 * Make sure the user's volume is theirs before a container mounts it: one
 * labelled for another user or installation is refused, and an unlabelled
 * one (made before 0.3.0, or by hand) is taken only by a user whose
 * container this installation made before.
 */
void
ownership_claim_volume(const UserContainerRow *row, const char *volume)
{
	VolumeOwner owner = docker_create_volume(volume, row->user_id, store_installation_id());

	if (owner == VOLUME_OURS ||
		(owner == VOLUME_UNLABELLED && row->container_id != NULL))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_DUPLICATE_OBJECT),
			 errmsg("volume \"%s\" of user \"%s\" belongs to another user or pg_container installation",
					volume, row->user_id),
			 errdetail("Its labels do not name this installation's user \"%s\".", row->user_id),
			 errhint("Give each database that shares the engine its own pg_container.name_prefix.")));
}
