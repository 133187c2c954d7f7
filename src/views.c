/*-------------------------------------------------------------------------
 *
 * views.c
 *	  What the fleet looks like, for the functions and views a DBA reads:
 *	  which containers are out of date with the settings and profiles
 *	  (container_outdated), which carry our labels but belong to no row
 *	  (container_orphans), and one row per user (container_overview).
 *	  Nothing here changes a container.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "container_index.h"
#include "container_spec.h"
#include "container_store.h"
#include "docker_api.h"
#include "engine.h"
#include "views.h"

/* Current spec hashes by profile name ("" for none), computed once each. */
typedef struct HashByProfile
{
	List	   *names;
	List	   *hashes;
} HashByProfile;

static const char *
hash_for_profile(HashByProfile *cache, const char *user_id, const char *profile)
{
	const char *key = profile ? profile : "";
	ListCell   *ln;
	ListCell   *lh;
	char	   *hash;

	forboth(ln, cache->names, lh, cache->hashes)
		if (strcmp(lfirst(ln), key) == 0)
			return lfirst(lh);
	hash = spec_current_hash(spec_load_profile(user_id, profile));
	cache->names = lappend(cache->names, pstrdup(key));
	cache->hashes = lappend(cache->hashes, hash);
	return hash;
}

/*
 * Whether a container was made from another spec than the current settings
 * and the user's profile would give.  No container: nothing is outdated.
 * A container made before spec hashes were recorded counts as outdated.
 */
static bool
spec_outdated(HashByProfile *cache, const char *user_id, const char *profile,
			  const char *spec_hash, const char *container_id)
{
	if (container_id == NULL)
		return false;
	return spec_hash == NULL ||
		strcmp(spec_hash, hash_for_profile(cache, user_id, profile)) != 0;
}

/* Whether one user's container is out of date. */
bool
view_outdated_one(const char *user_id, const char *profile, const char *spec_hash,
				  const char *container_id)
{
	HashByProfile cache = {NIL, NIL};

	return spec_outdated(&cache, user_id, profile, spec_hash, container_id);
}

/* The users whose container is out of date, as a list in result_context. */
List *
view_outdated(MemoryContext result_context)
{
	List	   *rows = store_all_rows();
	HashByProfile cache = {NIL, NIL};
	List	   *outdated = NIL;
	ListCell   *lc;

	foreach(lc, rows)
	{
		StoreRowSummary *r = lfirst(lc);

		if (spec_outdated(&cache, r->user_id, r->profile, r->spec_hash, r->container_id))
		{
			MemoryContext old_context = MemoryContextSwitchTo(result_context);

			outdated = lappend(outdated, pstrdup(r->user_id));
			MemoryContextSwitchTo(old_context);
		}
	}
	return outdated;
}

/*
 * Containers that carry our label but belong to no row: left by a deleted
 * row, a restore of an older backup, or a manual run.  Listed, never
 * removed: deciding about them is the operator's call.
 */
List *
view_orphans(MemoryContext result_context)
{
	List	   *listed = pgc_engine()->list_managed();
	HTAB	   *by_user = row_index_build(store_all_rows());
	const char *installation = store_installation_id();
	List	   *orphans = NIL;
	ListCell   *lc;

	foreach(lc, listed)
	{
		DockerContainer *c = lfirst(lc);
		MemoryContext old_context;
		DockerContainer *copy;

		/* Another installation's containers are not ours to report. */
		if (installation != NULL && c->installation_label != NULL &&
			strcmp(c->installation_label, installation) != 0)
			continue;
		if (row_index_owner(by_user, c) != NULL)
			continue;

		old_context = MemoryContextSwitchTo(result_context);
		copy = palloc0(sizeof(DockerContainer));
		copy->id = pstrdup(c->id);
		copy->name = c->name ? pstrdup(c->name) : NULL;
		copy->user_label = c->user_label ? pstrdup(c->user_label) : NULL;
		copy->state = c->state ? pstrdup(c->state) : NULL;
		orphans = lappend(orphans, copy);
		MemoryContextSwitchTo(old_context);
	}
	return orphans;
}

/*
 * One OverviewRow per user, for the container_overview view, in
 * result_context; "outdated" is computed here, once per profile.
 */
List *
view_overview(MemoryContext result_context)
{
	List	   *rows = store_overview_rows(result_context);
	HashByProfile cache = {NIL, NIL};
	ListCell   *lc;

	foreach(lc, rows)
	{
		OverviewRow *o = lfirst(lc);

		o->outdated = spec_outdated(&cache, o->user_id, o->profile, o->spec_hash, o->container_id);
	}
	return rows;
}
