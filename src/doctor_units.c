/*-------------------------------------------------------------------------
 *
 * doctor_units.c
 *	  container_doctor()'s checks of each user's unit on the docker
 *	  engine: that the container holding the user's name carries their
 *	  labels and the hardening their spec gives (what spec_build and the
 *	  create body would make of today's settings and profile), and which
 *	  volumes and networks labelled as this installation's no row owns.
 *
 * The containers are inspected in parallel, one request each, by the name
 * the row gives them: that is the container the user's next ensure would
 * find.  A user with no container has nothing to check.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/hsearch.h"

#include "container_spec.h"
#include "container_store.h"
#include "docker_api.h"
#include "docker_http.h"
#include "doctor.h"
#include "json_walk.h"
#include "settings.h"

#define DOCTOR_MAX_MOUNTS 16

/* What an inspect says of a container's labels and hardening. */
typedef struct UnitFacts
{
	char	   *user_label;
	char	   *installation_label;
	bool		cap_drop_all;
	StringInfoData cap_add;		/* the added capabilities, ", " between */
	bool		no_new_privileges;
	bool		privileged;
	bool		init;
	int64		memory;
	int64		nano_cpus;
	int64		pids_limit;
	char	   *mount_names[DOCTOR_MAX_MOUNTS];
	char	   *mount_destinations[DOCTOR_MAX_MOUNTS];
	char	   *log_type;
	char	   *log_max_size;
} UnitFacts;

static int64
number_value(const char *value, JsonTokenType type)
{
	return type == JSON_TOKEN_NUMBER ? strtoll(value, NULL, 10) : 0;
}

static void
hardening_scalar(UnitFacts *u, JsonWalker *w, char *value, JsonTokenType type)
{
	if (json_walk_at(w, 3, "HostConfig", "CapDrop", "[*]"))
		u->cap_drop_all |= (pg_strcasecmp(value, "ALL") == 0 || pg_strcasecmp(value, "CAP_ALL") == 0);
	else if (json_walk_at(w, 3, "HostConfig", "CapAdd", "[*]"))
		appendStringInfo(&u->cap_add, "%s%s", u->cap_add.len > 0 ? ", " : "", value);
	else if (json_walk_at(w, 3, "HostConfig", "SecurityOpt", "[*]"))
		u->no_new_privileges |= (strcmp(value, "no-new-privileges") == 0 ||
								 strcmp(value, "no-new-privileges:true") == 0);
	else if (json_walk_at(w, 2, "HostConfig", "Privileged"))
		u->privileged = (type == JSON_TOKEN_TRUE);
	else if (json_walk_at(w, 2, "HostConfig", "Init"))
		u->init = (type == JSON_TOKEN_TRUE);
	else if (json_walk_at(w, 2, "HostConfig", "Memory"))
		u->memory = number_value(value, type);
	else if (json_walk_at(w, 2, "HostConfig", "NanoCpus"))
		u->nano_cpus = number_value(value, type);
	else if (json_walk_at(w, 2, "HostConfig", "PidsLimit"))
		u->pids_limit = Max(number_value(value, type), 0);
	else if (json_walk_at(w, 3, "HostConfig", "LogConfig", "Type"))
		u->log_type = value;
	else if (json_walk_at(w, 4, "HostConfig", "LogConfig", "Config", "max-size"))
		u->log_max_size = value;
}

static void
unit_scalar(JsonWalker *w, char *value, JsonTokenType type)
{
	UnitFacts  *u = w->state;
	int			i;

	if (w->depth < 2 || w->path[0].field == NULL)
		return;
	if (strcmp(w->path[0].field, "HostConfig") == 0)
		hardening_scalar(u, w, value, type);
	else if (json_walk_at(w, 3, "Config", "Labels", PGC_LABEL_USER_ID) && type == JSON_TOKEN_STRING)
		u->user_label = value;
	else if (json_walk_at(w, 3, "Config", "Labels", PGC_LABEL_INSTALLATION) && type == JSON_TOKEN_STRING)
		u->installation_label = value;
	else if (w->depth == 3 && strcmp(w->path[0].field, "Mounts") == 0 &&
			 (i = w->path[1].index) < DOCTOR_MAX_MOUNTS && w->path[2].field != NULL &&
			 type == JSON_TOKEN_STRING)
	{
		if (strcmp(w->path[2].field, "Name") == 0)
			u->mount_names[i] = value;
		else if (strcmp(w->path[2].field, "Destination") == 0)
			u->mount_destinations[i] = value;
	}
}

/* Whether the volume is mounted at the path. */
static bool
mounted_at(const UnitFacts *u, const char *volume, const char *path)
{
	for (int i = 0; i < DOCTOR_MAX_MOUNTS; i++)
		if (u->mount_names[i] && u->mount_destinations[i] &&
			strcmp(u->mount_names[i], volume) == 0 && strcmp(u->mount_destinations[i], path) == 0)
			return true;
	return false;
}

static char *
limit_text(int64 limit)
{
	return limit > 0 ? psprintf(INT64_FORMAT, limit) : "none";
}

static void
compare_limit(StringInfo diffs, const char *what, int64 actual, int64 wanted)
{
	if (actual != wanted)
		appendStringInfo(diffs, "; %s is %s, the spec says %s", what, limit_text(actual), limit_text(wanted));
}

/* The differences between a container's hardening and its spec's, or "". */
static char *
hardening_differences(const UnitFacts *u, const ContainerSpec *spec)
{
	StringInfoData diffs;

	initStringInfo(&diffs);
	if (spec->drop_capabilities && !u->cap_drop_all)
		appendStringInfoString(&diffs, "; its capabilities are not dropped (CapDrop lacks ALL)");
	if (u->cap_add.len > 0)
		appendStringInfo(&diffs, "; it adds capabilities (%s)", u->cap_add.data);
	if (!u->no_new_privileges)
		appendStringInfoString(&diffs, "; no-new-privileges is not set");
	if (u->privileged)
		appendStringInfoString(&diffs, "; it is privileged");
	if (spec->init && !u->init)
		appendStringInfoString(&diffs, "; it runs without an init process");
	compare_limit(&diffs, "its memory limit", u->memory, spec->memory_bytes);
	compare_limit(&diffs, "its CPU limit (NanoCpus)", u->nano_cpus, spec->nano_cpus);
	compare_limit(&diffs, "its process limit", u->pids_limit, spec->pids_limit);
	if (!mounted_at(u, spec->volume, spec->state_path))
		appendStringInfo(&diffs, "; volume %s is not mounted at %s", spec->volume, spec->state_path);
	if (spec->log_max_size_mb > 0 &&
		(u->log_type == NULL || strcmp(u->log_type, "json-file") != 0 || u->log_max_size == NULL ||
		 strcmp(u->log_max_size, psprintf("%dm", spec->log_max_size_mb)) != 0))
		appendStringInfo(&diffs, "; its log is not a json-file of at most %d MB", spec->log_max_size_mb);
	return diffs.len > 2 ? diffs.data + 2 : "";
}

/* The spec today's settings and the row's profile give the user. */
static void
spec_of(const StoreRowSummary *r, ContainerSpec *spec)
{
	UserContainerRow row = {0};

	row.id = "";
	row.user_id = r->user_id;
	row.container_name = r->container_name;
	row.profile = r->profile;
	spec_build(spec, &row, spec_load_profile(r->user_id, r->profile), "", 0);
}

/* Labels first: a container that is not the user's is not judged further. */
static void
check_unit(const StoreRowSummary *r, const UnitFacts *u)
{
	const char *installation = store_installation_id();
	ContainerSpec spec;
	char	   *diffs;

	if (u->user_label == NULL || strcmp(u->user_label, r->user_id) != 0 ||
		(installation != NULL && u->installation_label != NULL &&
		 strcmp(u->installation_label, installation) != 0))
	{
		doctor_report("error", r->user_id, "labels",
					  psprintf("Container %s holds the user's name, but its labels name user \"%s\" of installation \"%s\".",
							   r->container_name,
							   u->user_label ? docker_printable(u->user_label) : "(none)",
							   u->installation_label ? docker_printable(u->installation_label) : "(none)"),
					  "Give each database that shares the engine its own pg_container.name_prefix, "
					  "or remove the container by hand once you know whose it is.");
		return;
	}
	spec_of(r, &spec);
	diffs = hardening_differences(u, &spec);
	if (diffs[0] != '\0')
		doctor_report("error", r->user_id, "hardening",
					  psprintf("Container %s differs from its spec: %s.", r->container_name, diffs),
					  psprintf("Remove it (docker rm -f %s) and call container_ensure_running: it is made again from its spec, with its volume.",
							   r->container_name));
}

/* One inspect per row, in parallel; each container checked against its row. */
void
doctor_check_containers(List *rows)
{
	int			count = list_length(rows);
	DockerRequest **reqs = palloc(sizeof(DockerRequest *) * Max(count, 1));
	ListCell   *lc;

	foreach(lc, rows)
	{
		StoreRowSummary *r = lfirst(lc);

		reqs[foreach_current_index(lc)] =
			docker_request_new("GET", psprintf("/containers/%s/json", docker_url_segment(r->container_name)),
							   psprintf("inspect container \"%s\"", r->container_name));
	}
	docker_run_requests(reqs, count, pgc_max_parallel_requests);

	foreach(lc, rows)
	{
		StoreRowSummary *r = lfirst(lc);
		DockerRequest *req = reqs[foreach_current_index(lc)];
		JsonWalker	w = {0};
		UnitFacts	u = {0};

		if (req->failure == DOCKER_ANSWERED && req->status == 404)
			continue;
		if (req->failure != DOCKER_ANSWERED || req->status != 200)
		{
			doctor_report("warning", r->user_id, "engine", docker_failure_message(req), NULL);
			continue;
		}
		initStringInfo(&u.cap_add);
		w.on_scalar = unit_scalar;
		w.state = &u;
		docker_walk_response(req, &w);
		check_unit(r, &u);
	}
}

/* A volume or network of a list, by its labels. */
typedef struct LabelledItem
{
	char	   *name;
	char	   *user_label;
	char	   *installation_label;
} LabelledItem;

/* A walk over a list of them: the array is at depth base (0 or 1). */
typedef struct LabelledList
{
	int			base;
	List	   *items;
} LabelledList;

static void
labelled_scalar(JsonWalker *w, char *value, JsonTokenType type)
{
	LabelledList *ll = w->state;
	int			b = ll->base;
	LabelledItem *item;
	const char *field;

	if (type != JSON_TOKEN_STRING || w->depth < b + 2 || w->path[b].field != NULL ||
		(b == 1 && strcmp(w->path[0].field, "Volumes") != 0))
		return;
	while (list_length(ll->items) <= w->path[b].index)
		ll->items = lappend(ll->items, palloc0(sizeof(LabelledItem)));
	item = list_nth(ll->items, w->path[b].index);
	field = w->path[b + 1].field;
	if (w->depth == b + 2 && strcmp(field, "Name") == 0)
		item->name = value;
	else if (w->depth == b + 3 && strcmp(field, "Labels") == 0 &&
			 strcmp(w->path[b + 2].field, PGC_LABEL_USER_ID) == 0)
		item->user_label = value;
	else if (w->depth == b + 3 && strcmp(field, "Labels") == 0 &&
			 strcmp(w->path[b + 2].field, PGC_LABEL_INSTALLATION) == 0)
		item->installation_label = value;
}

/* The items of kind ("volumes", "networks") labelled as ours. */
static List *
list_labelled(const char *kind, int base)
{
	/* filters={"label":["pg_container.managed=true"]}, percent-encoded */
	DockerRequest *req = docker_request_new("GET",
											psprintf("/%s?filters=%%7B%%22label%%22%%3A%%5B%%22"
													 PGC_LABEL_MANAGED "%%3Dtrue%%22%%5D%%7D", kind),
											psprintf("list %s", kind));
	JsonWalker	w = {0};
	LabelledList ll = {base, NIL};

	docker_run_request(req);
	if (req->failure != DOCKER_ANSWERED || req->status != 200)
		docker_raise_failure(req);
	w.on_scalar = labelled_scalar;
	w.state = &ll;
	docker_walk_response(req, &w);
	return ll.items;
}

/* Users that have a row. */
static HTAB *
users_with_rows(List *rows)
{
	HASHCTL		ctl = {0};
	HTAB	   *users;
	ListCell   *lc;

	ctl.keysize = NAMEDATALEN;
	ctl.entrysize = NAMEDATALEN;
	ctl.hcxt = CurrentMemoryContext;
	users = hash_create("pg_container doctor users", Max(list_length(rows), 16), &ctl,
						HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	foreach(lc, rows)
		(void) hash_search(users, ((StoreRowSummary *) lfirst(lc))->user_id, HASH_ENTER, NULL);
	return users;
}

static void
report_rowless(const char *kind, int base, HTAB *users, const char *hint)
{
	const char *installation = store_installation_id();
	ListCell   *lc;

	foreach(lc, list_labelled(kind, base))
	{
		LabelledItem *item = lfirst(lc);

		if (item->name == NULL || item->user_label == NULL ||
			strlen(item->user_label) >= NAMEDATALEN ||
			(installation != NULL && (item->installation_label == NULL ||
									  strcmp(item->installation_label, installation) != 0)))
			continue;
		if (hash_search(users, item->user_label, HASH_FIND, NULL) != NULL)
			continue;
		doctor_report("info", item->user_label, kind[0] == 'v' ? "volume" : "network",
					  psprintf("%s %s is labelled for user \"%s\" of this installation, who has no row.",
							   kind[0] == 'v' ? "Volume" : "Network", docker_printable(item->name),
							   docker_printable(item->user_label)),
					  psprintf(hint, docker_printable(item->name)));
	}
}

/* Volumes and networks of this installation's users that no row owns. */
void
doctor_check_volumes_and_networks(List *rows)
{
	HTAB	   *users = users_with_rows(rows);

	report_rowless("volumes", 1, users,
				   "container_remove keeps a volume unless keep_volume => false: remove it (docker volume rm %s) "
				   "if the user's state is no longer wanted; container_ensure_running would adopt it.");
	report_rowless("networks", 0, users,
				   "Remove it (docker network rm %s) if the user is gone for good.");
}
