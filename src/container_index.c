/*-------------------------------------------------------------------------
 *
 * container_index.c
 *	  Hash indexes over one list of containers (by id and by name) and over
 *	  the table's rows (by user), so the passes over all users (sweeps.c,
 *	  views.c) pair each row with its container without one Docker request
 *	  per user.  The pairing follows the same rule as an inspect does
 *	  (ownership.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "container_index.h"
#include "ownership.h"

/* Hash keys: container ids, container names and user ids fit. */
#define INDEX_KEY_SIZE 256

typedef struct IndexEntry
{
	char		key[INDEX_KEY_SIZE];
	void	   *item;			/* a DockerContainer, or a StoreRowSummary */
} IndexEntry;

static HTAB *
new_index(const char *name, long size)
{
	HASHCTL		ctl;

	ctl.keysize = INDEX_KEY_SIZE;
	ctl.entrysize = sizeof(IndexEntry);
	ctl.hcxt = CurrentMemoryContext;
	return hash_create(name, Max(size, 16), &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

static void
index_add(HTAB *index, const char *key, void *item)
{
	IndexEntry *entry;
	bool		found;

	if (key == NULL || strlen(key) >= INDEX_KEY_SIZE)
		return;
	entry = hash_search(index, key, HASH_ENTER, &found);
	entry->item = item;
}

static void *
index_find(HTAB *index, const char *key)
{
	IndexEntry *entry;

	if (key == NULL || strlen(key) >= INDEX_KEY_SIZE)
		return NULL;
	entry = hash_search(index, key, HASH_FIND, NULL);
	return entry ? entry->item : NULL;
}

/* Index a container list by id and by name. */
ContainerIndex *
container_index_build(List *listed)
{
	ContainerIndex *index = palloc(sizeof(ContainerIndex));
	ListCell   *lc;

	index->by_id = new_index("pg_container containers by id", list_length(listed));
	index->by_name = new_index("pg_container containers by name", list_length(listed));
	foreach(lc, listed)
	{
		DockerContainer *c = lfirst(lc);

		index_add(index->by_id, c->id, c);
		index_add(index->by_name, c->name, c);
	}
	return index;
}

/* ContainerLookup over an index: a reference is an id or a name. */
static bool
index_lookup(void *source, const char *ref, DockerContainer *out)
{
	ContainerIndex *index = source;
	DockerContainer *c = index_find(index->by_id, ref);

	if (c == NULL)
		c = index_find(index->by_name, ref);
	if (c == NULL)
		return false;
	*out = *c;
	return true;
}

/* The row's container in the list, by the rule of ownership_find. */
bool
container_index_find_users(ContainerIndex *index, const ContainerRef *ref, DockerContainer *out)
{
	return ownership_find(ref->user_id, ref->container_id, ref->container_name,
						  index_lookup, index, out) == OWNERSHIP_FOUND;
}

/* Rows (StoreRowSummary) by user id. */
HTAB *
row_index_build(List *rows)
{
	HTAB	   *by_user = new_index("pg_container rows by user", list_length(rows));
	ListCell   *lc;

	foreach(lc, rows)
	{
		StoreRowSummary *r = lfirst(lc);

		index_add(by_user, r->user_id, r);
	}
	return by_user;
}

/*
 * The row that owns a listed container, by its user label; NULL if none.
 * A row owns the container it recorded and the one holding its name,
 * which covers a previous container set aside by a recreation.
 */
StoreRowSummary *
row_index_owner(HTAB *by_user, const DockerContainer *c)
{
	StoreRowSummary *owner = index_find(by_user, c->user_label);

	if (owner == NULL)
		return NULL;
	if ((owner->container_id != NULL && strcmp(owner->container_id, c->id) == 0) ||
		(c->name != NULL && strcmp(owner->container_name, c->name) == 0))
		return owner;
	return NULL;
}
