/*-------------------------------------------------------------------------
 *
 * lifecycle.c
 *	  Brings one user's container up and down.  Callers hold an SPI
 *	  connection (store_open) and run inside the caller's transaction.
 *
 * The user's row is locked first and stays locked until the transaction
 * ends, so concurrent calls for one user queue up behind each other and
 * create at most one container.  Docker's side is not transactional: if
 * our transaction rolls back after a create, the container exists but the
 * table does not say so.  Every path therefore finds containers by the
 * recorded id, then by exact name, adopts what it finds when the labels
 * say it is this user's, and reconciles the table with it.  Nothing here
 * removes a volume: a container is only ever removed when it must be
 * recreated, and its named volume carries the user's state across.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "lib/stringinfo.h"
#include "utils/json.h"

#include "container_spec.h"
#include "docker_api.h"
#include "docker_http.h"
#include "container_store.h"
#include "lifecycle.h"
#include "settings.h"
#include "token_crypto.h"

/* Hash entry for looking containers of a list up by id or by name. */
#define CONTAINER_KEY_SIZE 256

typedef struct ListedContainer
{
	char		key[CONTAINER_KEY_SIZE];
	void	   *item;			/* a DockerContainer, or a StoreRowSummary */
} ListedContainer;

/* Lines of output an unready container's error shows. */
#define UNREADY_LOG_LINES 10

/* Bound on create/start rounds, each of which fixes one conflict. */
#define MAX_ENSURE_ROUNDS 16

/* Add a port to those an ensure must not use again. */
static void
refuse_port(int **refused, int *nrefused, int port)
{
	*refused = *refused ? repalloc(*refused, sizeof(int) * (*nrefused + 1)) : palloc(sizeof(int));
	(*refused)[(*nrefused)++] = port;
}

/* A new row, with a fresh token; a concurrent insert for the user wins. */
static void
create_row(const char *user_id)
{
	char	   *fresh = pgc_token_generate();

	store_insert(user_id, psprintf("%s%s", pgc_name_prefix, user_id),
				 pgc_token_encrypt(fresh, user_id));
}

static void
raise_row_vanished(const char *user_id)
{
	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 errmsg("row of user \"%s\" was deleted concurrently", user_id)));
}

/*
 * Whether a container is this installation's container of this user: its
 * labels must say both.  A container made before 0.3.0 has no installation
 * label; it is taken only if it is the very one the row recorded.  While
 * the tables themselves predate 0.3.0 there is no identity to compare.
 */
static bool
container_is_users(const DockerContainer *c, const char *user_id, const char *recorded_id)
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
 * Look the container up by its exact name.  A container holding the name
 * that is not labelled as this user's is someone else's: ensure refuses to
 * adopt it (strict), stop leaves it alone.
 */
static bool
find_by_name(const UserContainerRow *row, DockerContainer *c, bool strict)
{
	if (!docker_inspect_container(row->container_name, c))
		return false;
	if (container_is_users(c, row->user_id, row->container_id))
		return true;
	if (!strict)
		return false;
	ereport(ERROR,
			(errcode(ERRCODE_DUPLICATE_OBJECT),
			 errmsg("container name \"%s\" is taken by a container pg_container does not manage for user \"%s\"",
					row->container_name, row->user_id),
			 errdetail("Container %.12s is not labelled as this installation's container of this user.", c->id),
			 errhint("Remove or rename that container, or give each database that shares the engine its own pg_container.name_prefix.")));
	pg_unreachable();
}

/*
 * The user's container: the one the row recorded, if its labels say it is
 * theirs, else the one holding their name.  A recorded id is trusted no
 * more than a name: a row pointed at another service's container (by a role
 * that can write the table) must not get that container stopped or removed.
 */
static bool
find_users_container(const UserContainerRow *row, DockerContainer *c, bool strict)
{
	if (row->container_id != NULL && docker_inspect_container(row->container_id, c))
	{
		/* Under another name it is a previous container set aside. */
		if (container_is_users(c, row->user_id, row->container_id) &&
			c->name != NULL && strcmp(c->name, row->container_name) == 0)
			return true;
		if (container_is_users(c, row->user_id, row->container_id))
			return find_by_name(row, c, strict);
		ereport(WARNING,
				(errmsg("the recorded container of user \"%s\" is not labelled as theirs; leaving it alone",
						row->user_id),
				 errdetail("Container %.12s lacks this installation's labels for this user.", c->id)));
	}
	return find_by_name(row, c, strict);
}

/*
 * The row's container name must be under pg_container.name_prefix: the
 * name also names the user's volume, and a row changed to name something
 * else must not reach another service's container or volume.
 */
static void
check_container_name(const UserContainerRow *row)
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
static void
claim_volume(const UserContainerRow *row, const char *volume)
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

/*
 * Make the user's own network (pg_container.network_mode = per_user), on
 * the subnet their port gives them; false if another network holds that
 * subnet, which the caller treats as a taken port.  One labelled for
 * anyone else is refused.
 */
static bool
claim_network(const UserContainerRow *row, const char *network, int host_port)
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
static void
attach_to_network(const char *network)
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
static void
remove_network(const UserContainerRow *row)
{
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

/* A user's profile by name, or NULL for the settings alone. */
static ContainerProfile *
load_profile(const char *user_id, const char *profile_name)
{
	ContainerProfile *profile;

	if (profile_name == NULL)
		return NULL;
	profile = palloc(sizeof(ContainerProfile));
	if (!store_get_profile(profile_name, profile))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("container profile \"%s\" of user \"%s\" does not exist", profile_name, user_id)));
	return profile;
}

/* {"k1": "v1", ...} from NULL-terminated key/value pairs; NULL values are skipped. */
static char *
json_detail(const char *key, ...)
{
	StringInfoData buf;
	va_list		args;
	bool		first = true;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	va_start(args, key);
	for (; key != NULL; key = va_arg(args, const char *))
	{
		const char *value = va_arg(args, const char *);

		if (value == NULL)
			continue;
		if (!first)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, key);
		appendStringInfoString(&buf, ": ");
		escape_json(&buf, value);
		first = false;
	}
	va_end(args);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * A state change: a LOG line naming the user, and (on 0.2.0's tables) a
 * row in container_event with a NOTIFY on channel pg_container, both of
 * which take effect only if the caller's transaction commits.
 */
static void
note(const char *user_id, const char *event, const char *detail_json)
{
	ereport(LOG,
			(errmsg("pg_container: user \"%s\": %s %s", user_id, event, detail_json ? detail_json : "{}")));
	store_event(user_id, event, detail_json);
}

/* http://<publish address>:<port>, with a wildcard address made dialable. */
static char *
published_url(int host_port)
{
	const char *host = pgc_publish_address;

	if (strcmp(host, "0.0.0.0") == 0)
		host = "127.0.0.1";
	else if (strcmp(host, "::") == 0)
		host = "::1";
	if (strchr(host, ':') != NULL)
		return psprintf("http://[%s]:%d", host, host_port);
	return psprintf("http://%s:%d", host, host_port);
}

static char *
gateway_url(const char *container_name, int host_port)
{
	if (pgc_url_mode == PGC_URL_INTERNAL)
		return psprintf("http://%s:%d", container_name, pgc_gateway_port);
	return published_url(host_port);
}

/*
 * Wait until the gateway of a container we just started answers 2xx on
 * pg_container.ready_path through its published port, so callers never get
 * a URL that refuses connections.  A 404 is not ready: it may be a web
 * server that is up before the application behind it.  On timeout the
 * container is left running; the next call finds it and waits again.
 */
/*
 * What a container that did not become ready is doing: its state, restarts
 * and last exit code, and its last lines of output with the token
 * redacted, so the DBA reads the gateway's own complaint in psql.
 */
static char *
describe_unready(const char *container_id, const char *container_name, const char *token)
{
	DockerContainer c;
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	if (!docker_inspect_container(container_id, &c))
		return pstrdup("The container no longer exists.");
	/* Docker resets the exit code when it restarts a container. */
	if (c.running && c.restart_count > 0)
		appendStringInfo(&buf, "The container keeps exiting: Docker has restarted it %d times.",
						 c.restart_count);
	else if (!c.running)
		appendStringInfo(&buf, "The container is %s; its last exit code was %d.",
						 c.state ? docker_printable(c.state) : "not running", c.exit_code);
	else
		appendStringInfoString(&buf, "The container is running.");
	foreach(lc, docker_container_logs(container_id, container_name, UNREADY_LOG_LINES, 0, token))
		appendStringInfo(&buf, "\n%s", (char *) lfirst(lc));
	return buf.data;
}

static void
wait_until_ready(const char *container_id, const char *container_name, int host_port,
				 const char *token)
{
	char	   *url;
	TimestampTz deadline;
	DockerRequest *probe = NULL;

	if (pgc_ready_path == NULL || pgc_ready_path[0] == '\0')
		return;

	url = psprintf("%s%s", published_url(host_port), pgc_ready_path);
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), pgc_ready_timeout_ms);
	for (;;)
	{
		long		remaining_ms;

		remaining_ms = (deadline - GetCurrentTimestamp()) / 1000;
		probe = docker_request_new("GET", NULL,
								   psprintf("check readiness of container \"%s\"", container_name));
		probe->url = url;
		probe->timeout_ms = (int) Max(Min(remaining_ms, 1000), 100);
		docker_run_requests(&probe, 1, 1);
		if (probe->failure == DOCKER_ANSWERED && probe->status >= 200 && probe->status < 300)
			return;
		if (GetCurrentTimestamp() >= deadline)
			break;

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 50, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}

	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("container \"%s\" did not become ready within %d ms", container_name, pgc_ready_timeout_ms),
			 probe->failure == DOCKER_ANSWERED ?
			 errdetail("The last GET %s answered HTTP %ld. %s", url, probe->status,
					   describe_unready(container_id, container_name, token)) :
			 errdetail("The last GET %s failed: %s. %s", url,
					   probe->failure_detail ? probe->failure_detail : "no answer",
					   describe_unready(container_id, container_name, token)),
			 errhint("pg_container.ready_path and pg_container.ready_timeout set the check; container_logs() shows more of its output.")));
}

/*
 * Make the user's container exist and run, and return its URL and the
 * plaintext token.  On a running container this costs one UPDATE and one
 * Docker request; a stopped one adds a start; only a missing one pays for
 * the lookup by name, a port and a create.
 */
void
lifecycle_ensure_running(const char *user_id, char **url, char **token)
{
	UserContainerRow row;
	DockerContainer c;
	bool		have_container = false;
	bool		created_here = false;
	bool		started_here = false;
	bool		unpaused = false;
	int			port;
	int		   *refused_ports = NULL;
	int			nrefused = 0;
	bool		asked_docker_for_ports = false;
	int			round;
	ContainerProfile *profile = NULL;
	bool		profile_loaded = false;
	const char *spec_hash = NULL;

	if (!store_lock_and_touch(user_id, &row))
	{
		create_row(user_id);
		if (!store_lock_and_touch(user_id, &row))
			raise_row_vanished(user_id);
	}
	*token = pgc_token_decrypt(row.gateway_token, user_id);
	check_container_name(&row);

	have_container = find_users_container(&row, &c, true);

	port = row.gateway_port;
	for (round = 0;; round++)
	{
		if (round == MAX_ENSURE_ROUNDS)
			ereport(ERROR,
					(errcode(ERRCODE_SYSTEM_ERROR),
					 errmsg("could not start container \"%s\" after %d attempts",
							row.container_name, MAX_ENSURE_ROUNDS),
					 errdetail("Each attempt met a taken host port or a container that vanished."),
					 errhint("Check what else binds ports in pg_container.port_range_start to pg_container.port_range_end.")));

		if (!have_container)
		{
			ContainerSpec spec;
			bool		name_taken;
			char	   *id;

			if (port == 0)
				port = store_claim_free_port(user_id, refused_ports, nrefused);
			/* Only a create needs the profile: not the running-container path. */
			if (!profile_loaded)
			{
				profile = load_profile(user_id, row.profile);
				profile_loaded = true;
			}
			spec_build(&spec, &row, profile, *token, port);
			claim_volume(&row, spec.volume);
			if (!claim_network(&row, spec.network, port))
			{
				refuse_port(&refused_ports, &nrefused, port);
				port = 0;
				continue;
			}
			id = docker_create_container(&spec, &name_taken, *token);
			if (name_taken)
			{
				/* Created by a call whose transaction rolled back: adopt it. */
				have_container = find_by_name(&row, &c, true);
				continue;
			}
			memset(&c, 0, sizeof(c));
			c.id = id;
			c.name = row.container_name;
			c.host_port = port;
			c.spec_label = (char *) spec.spec_hash;
			have_container = true;
			created_here = true;
			note(user_id, "created", json_detail("container", id, "image", spec.image, "spec_hash", spec.spec_hash, NULL));
		}

		/*
		 * A container made by a call whose transaction rolled back carries
		 * the token of a row that was never committed: the gateway would
		 * refuse the one we hand out.  Make it again with the row's token.
		 */
		if (!created_here && c.env_token != NULL && strcmp(c.env_token, *token) != 0)
		{
			ereport(LOG,
					(errmsg("container of user \"%s\" has another token than the user's row; making it again",
							user_id)));
			docker_remove_container(c.id, row.container_name);
			have_container = false;
			continue;
		}

		/*
		 * A container that was created but never started was left by a call
		 * that failed halfway (a bad setting, a rollback): it holds nothing,
		 * so make it again from the current settings.  A dead one cannot be
		 * started again at all.  The volume carries the user's state across.
		 */
		if (!created_here && c.state != NULL &&
			(strcmp(c.state, "created") == 0 || strcmp(c.state, "dead") == 0))
		{
			docker_remove_container(c.id, row.container_name);
			have_container = false;
			continue;
		}

		/*
		 * The table is the authority on ports.  A container bound elsewhere
		 * (adopted, or created under an older range) is recreated on the
		 * user's port; one whose port another row holds gets a new one.
		 */
		if (c.host_port == 0 || (port != 0 && c.host_port != port) ||
			(port == 0 && !store_claim_port(user_id, c.host_port)))
		{
			docker_remove_container(c.id, row.container_name);
			have_container = false;
			continue;
		}
		port = c.host_port;

		if (c.paused)
		{
			docker_unpause_container(c.id, row.container_name);
			unpaused = true;
		}
		if (!c.running)
		{
			DockerStartResult started = docker_start_container(c.id, row.container_name);

			if (started == DOCKER_START_NOT_FOUND)
			{
				have_container = false;
				continue;
			}
			if (started == DOCKER_START_PORT_TAKEN)
			{
				List	   *published = NIL;
				ListCell   *lp;

				/*
				 * Something outside this table binds it: move on.  Ask Docker
				 * once which ports running containers publish (another
				 * database's users, a manual run) and skip those too.
				 */
				ereport(LOG,
						(errmsg("host port %d of user \"%s\" is in use outside pg_container; choosing another",
								port, user_id)));
				docker_remove_container(c.id, row.container_name);
				if (!asked_docker_for_ports)
				{
					published = docker_published_host_ports();
					asked_docker_for_ports = true;
				}
				refused_ports = refused_ports ?
					repalloc(refused_ports, sizeof(int) * (nrefused + 1 + list_length(published))) :
					palloc(sizeof(int) * (nrefused + 1 + list_length(published)));
				refused_ports[nrefused++] = port;
				foreach(lp, published)
					refused_ports[nrefused++] = lfirst_int(lp);
				have_container = false;
				port = 0;
				continue;
			}
			started_here = true;
		}
		break;
	}

	/*
	 * A container Docker is restarting (its gateway crashed) is running by
	 * Docker's word but answers nothing: it is waited for like a new one,
	 * and reported if it never gets ready.
	 */
	if (!started_here && c.state != NULL && strcmp(c.state, "restarting") == 0)
		wait_until_ready(c.id, row.container_name, port, *token);
	if (started_here)
	{
		attach_to_network(spec_network_name(row.container_name));
		wait_until_ready(c.id, row.container_name, port, *token);
		note(user_id, "started", json_detail("container", c.id, NULL));
	}

	/*
	 * The hash of what the container was made from: its label says.  A row
	 * is written whenever this call changed the container, even if the row
	 * looked right already: the write stamps updated_at after the change,
	 * which is how a concurrent health pass knows its list is older.
	 */
	spec_hash = c.spec_label;
	if (created_here || started_here || unpaused || !row.running || row.gateway_port != port ||
		row.container_id == NULL || strcmp(row.container_id, c.id) != 0 ||
		(spec_hash != NULL && (row.spec_hash == NULL || strcmp(row.spec_hash, spec_hash) != 0)))
		store_record_running(user_id, c.id, port, spec_hash);

	*url = gateway_url(row.container_name, port);
}

/*
 * Stop the user's container, never removing it or its volume.  An unknown
 * user, a missing container or one already stopped is not an error.
 */
void
lifecycle_stop(const char *user_id)
{
	UserContainerRow row;
	DockerContainer c;
	const char *container_id = NULL;

	if (!store_lock(user_id, &row))
		return;
	check_container_name(&row);

	if (find_users_container(&row, &c, false) &&
		docker_stop_container(c.id, row.container_name))
		container_id = c.id;

	store_record_stopped(user_id, container_id);
	if (row.running)
		note(user_id, "stopped", json_detail("container", container_id, NULL));
}

/* The name the previous container has while its replacement is tried. */
static char *
previous_name(const char *container_name)
{
	return psprintf("%s-previous", container_name);
}

/*
 * Put the user's stopped, outdated container aside under previous_name,
 * after removing one a crashed recreation may have left there; returns
 * its id.
 */
static char *
set_previous_aside(const UserContainerRow *row, const DockerContainer *c)
{
	DockerContainer stale;

	if (docker_inspect_container(previous_name(row->container_name), &stale) &&
		container_is_users(&stale, row->user_id, NULL))
		docker_remove_container(stale.id, previous_name(row->container_name));
	docker_rename_container(c->id, previous_name(row->container_name));
	return pstrdup(c->id);
}

/*
 * The replacement did not become ready: remove it and bring the previous
 * container back, with its volume, token and port, and wait for it.
 */
static void
restore_previous(const UserContainerRow *row, const char *previous_id)
{
	DockerContainer c;
	char	   *token = pgc_token_decrypt(row->gateway_token, row->user_id);

	if (docker_inspect_container(row->container_name, &c) &&
		container_is_users(&c, row->user_id, NULL) && strcmp(c.id, previous_id) != 0)
		docker_remove_container(c.id, row->container_name);
	docker_rename_container(previous_id, row->container_name);
	if (docker_start_container(previous_id, row->container_name) == DOCKER_STARTED)
		wait_until_ready(previous_id, row->container_name, row->gateway_port, token);
	explicit_bzero(token, strlen(token));
}

/*
 * Ensure the user's container runs after its previous one was set aside,
 * in a subtransaction: if the replacement fails (never ready, a bad image),
 * the table is as before and the previous container is back running.
 */
static void
ensure_replacement(const UserContainerRow *row, const char *previous_id, const char *image,
				   char **url, char **token)
{
	MemoryContext caller_context = CurrentMemoryContext;
	ResourceOwner caller_owner = CurrentResourceOwner;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(caller_context);
	PG_TRY();
	{
		lifecycle_ensure_running(row->user_id, url, token);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(caller_context);
		CurrentResourceOwner = caller_owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(caller_context);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(caller_context);
		CurrentResourceOwner = caller_owner;

		restore_previous(row, previous_id);
		ereport(ERROR,
				(errcode(edata->sqlerrcode),
				 errmsg("the new container of user \"%s\" from image \"%s\" failed, so the previous container is back",
						row->user_id, image),
				 errdetail("%s", edata->message),
				 errhint("The user keeps the previous container, volume, token and port; fix the image or the settings and restart again.")));
	}
	PG_END_TRY();
}

/*
 * Stop, then start again; recreate the container first, keeping its
 * volume, token and port, if the settings or the user's profile have
 * changed since it was made (its spec hash differs).  Only here does a
 * container get recreated for a configuration change, and a recreation
 * cannot take a working user down: the previous container is stopped and
 * set aside, not removed, until its replacement is ready, and comes back
 * if the replacement never is.  (Two gateways never run on one volume:
 * OpenClaw holds a lease on its state folder.)
 */
void
lifecycle_restart(const char *user_id, char **url, char **token)
{
	UserContainerRow row;
	char	   *previous_id = NULL;
	ContainerProfile *profile = NULL;
	char	   *current = NULL;

	lifecycle_stop(user_id);

	if (store_is_v2() && store_lock(user_id, &row))
	{
		DockerContainer c;

		profile = load_profile(user_id, row.profile);
		current = spec_current_hash(profile);
		if ((row.spec_hash == NULL || strcmp(row.spec_hash, current) != 0) &&
			find_users_container(&row, &c, false))
		{
			previous_id = set_previous_aside(&row, &c);
			note(user_id, "recreated",
				 json_detail("old_spec_hash", row.spec_hash, "spec_hash", current, NULL));
		}
	}

	if (previous_id == NULL)
		lifecycle_ensure_running(user_id, url, token);
	else
	{
		ensure_replacement(&row, previous_id, (profile && profile->image) ? profile->image : pgc_image,
						   url, token);
		docker_remove_container(previous_id, previous_name(row.container_name));
	}
	note(user_id, "restarted", json_detail("recreated", previous_id ? "true" : "false", NULL));
}

/*
 * Deprovision a user: remove the container and the row, and with
 * keep_volume false also the named volume.  This is the only path in the
 * extension that ever deletes what a user stored.  An unknown user is not
 * an error.
 */
void
lifecycle_remove(const char *user_id, bool keep_volume)
{
	UserContainerRow row;
	DockerContainer c;
	char	   *volume;
	VolumeOwner owner;

	if (!store_lock(user_id, &row))
		return;
	check_container_name(&row);

	/* Whose the volume is, before anything is removed. */
	volume = psprintf("%s-state", row.container_name);
	if (!keep_volume && docker_inspect_volume(volume, user_id, store_installation_id(), &owner))
	{
		if (owner == VOLUME_FOREIGN)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("volume \"%s\" of user \"%s\" belongs to another user or pg_container installation",
							volume, user_id),
					 errdetail("Nothing was removed.")));
		if (owner == VOLUME_UNLABELLED)
		{
			ereport(WARNING,
					(errmsg("volume \"%s\" of user \"%s\" carries no pg_container labels, so it was kept",
							volume, user_id),
					 errdetail("Volumes made before pg_container 0.3.0 cannot be told from another installation's."),
					 errhint("Remove it by hand once you are sure it is this user's.")));
			keep_volume = true;
		}
	}

	if (find_users_container(&row, &c, false))
		docker_remove_container(c.id, row.container_name);
	remove_network(&row);
	if (!keep_volume)
		docker_remove_volume(volume);

	store_delete_row(user_id);
	note(user_id, "removed", json_detail("volume", volume, "volume_kept", keep_volume ? "true" : "false", NULL));
}

/*
 * The last lines of the user's container's output (at most tail, since
 * the given time in seconds since the epoch, 0 for all), with their token
 * redacted, as a list built in result_context.  No container of the
 * user's, by its labels: no lines.
 */
List *
lifecycle_logs(const char *user_id, int tail, int64 since, MemoryContext result_context)
{
	UserContainerRow row;
	DockerContainer c;
	char	   *token;
	List	   *lines;
	List	   *copied = NIL;
	ListCell   *lc;
	MemoryContext old_context;

	if (!store_lock(user_id, &row))
		return NIL;
	check_container_name(&row);
	if (!find_users_container(&row, &c, false))
		return NIL;
	token = pgc_token_decrypt(row.gateway_token, user_id);
	lines = docker_container_logs(c.id, row.container_name, tail, since, token);
	explicit_bzero(token, strlen(token));

	old_context = MemoryContextSwitchTo(result_context);
	foreach(lc, lines)
		copied = lappend(copied, pstrdup(lfirst(lc)));
	MemoryContextSwitchTo(old_context);
	return copied;
}

/*
 * Set the user's idle timeout, making the row (with a fresh token, and no
 * container yet) if it is missing, so a timeout set at sign-up is there
 * when the first session starts.
 */
void
lifecycle_set_idle_timeout(const char *user_id, int minutes)
{
	if (store_set_idle_timeout(user_id, minutes))
		return;
	create_row(user_id);
	if (!store_set_idle_timeout(user_id, minutes))
		raise_row_vanished(user_id);
}

/* A container by id, then by exact name if it is labelled as the user's. */
static DockerContainer *
find_listed(HTAB *by_id, HTAB *by_name, const ContainerRef *ref)
{
	ListedContainer *entry;
	bool		found;

	if (ref->container_id != NULL)
	{
		entry = hash_search(by_id, ref->container_id, HASH_FIND, &found);
		if (found && container_is_users(entry->item, ref->user_id, ref->container_id))
			return (DockerContainer *) entry->item;
	}
	entry = hash_search(by_name, ref->container_name, HASH_FIND, &found);
	if (found && container_is_users(entry->item, ref->user_id, ref->container_id))
		return (DockerContainer *) entry->item;
	return NULL;
}

static HTAB *
container_index(const char *name, long size)
{
	HASHCTL		ctl;

	ctl.keysize = CONTAINER_KEY_SIZE;
	ctl.entrysize = sizeof(ListedContainer);
	ctl.hcxt = CurrentMemoryContext;
	return hash_create(name, Max(size, 16), &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

/*
 * Record the outcome of reaping a user's container c (NULL: it is gone, and
 * no stop was sent); false if it could not be stopped.
 */
static bool
record_reaped(const char *user_id, const DockerContainer *c, const DockerStop *stop)
{
	if (stop != NULL && !stop->stopped)
	{
		ereport(WARNING,
				(errmsg("could not stop the idle container of user \"%s\"", user_id),
				 errdetail_internal("%s", stop->error)));
		store_event(user_id, "error", json_detail("operation", "reap", "message", stop->error, NULL));
		return false;
	}
	store_record_stopped(user_id, (c == NULL || stop->gone) ? NULL : c->id);
	ereport(LOG,
			(errmsg("stopped the idle container of user \"%s\"", user_id)));
	store_event(user_id, "reaped", json_detail("container", c ? c->id : NULL, NULL));
	return true;
}

/* An orphan was stopped, or could not be. */
static void
record_orphan_stopped(const DockerContainer *c, const DockerStop *stop)
{
	if (!stop->stopped)
	{
		ereport(WARNING,
				(errmsg("could not stop container %.12s, which no row owns", c->id),
				 errdetail_internal("%s", stop->error)));
		return;
	}
	ereport(LOG,
			(errmsg("stopped container %.12s labelled for user \"%s\", which no row owns", c->id,
					c->user_label ? docker_printable(c->user_label) : "")));
	store_event(c->user_label, "reaped", json_detail("container", c->id, "orphan", "true", NULL));
}

/* Rows (StoreRowSummary) by user id. */
static HTAB *
rows_by_user(List *rows)
{
	HTAB	   *by_user = container_index("pg_container rows by user", list_length(rows));
	ListCell   *lc;

	foreach(lc, rows)
	{
		StoreRowSummary *r = lfirst(lc);
		ListedContainer *entry;
		bool		found;

		entry = hash_search(by_user, r->user_id, HASH_ENTER, &found);
		entry->item = r;
	}
	return by_user;
}

/* The row that owns a listed container, by its user label; NULL if none. */
static StoreRowSummary *
owning_row(HTAB *by_user, const DockerContainer *c)
{
	ListedContainer *entry;
	StoreRowSummary *owner;
	bool		found;

	if (c->user_label == NULL || strlen(c->user_label) >= CONTAINER_KEY_SIZE)
		return NULL;
	entry = hash_search(by_user, c->user_label, HASH_FIND, &found);
	if (!found)
		return NULL;
	owner = (StoreRowSummary *) entry->item;
	if ((owner->container_id != NULL && strcmp(owner->container_id, c->id) == 0) ||
		(c->name != NULL && strcmp(owner->container_name, c->name) == 0))
		return owner;
	return NULL;
}

/* Index a container list by id and by name. */
static void
index_listed(List *listed, HTAB **by_id, HTAB **by_name)
{
	ListCell   *lc;

	*by_id = container_index("pg_container containers by id", list_length(listed));
	*by_name = container_index("pg_container containers by name", list_length(listed));
	foreach(lc, listed)
	{
		DockerContainer *c = lfirst(lc);
		ListedContainer *entry;
		bool		found;

		/* docker_valid_id holds for every listed id: it fits the key. */
		entry = hash_search(*by_id, c->id, HASH_ENTER, &found);
		entry->item = c;
		if (c->name != NULL && strlen(c->name) < CONTAINER_KEY_SIZE)
		{
			entry = hash_search(*by_name, c->name, HASH_ENTER, &found);
			entry->item = c;
		}
	}
}

/*
 * Running containers labelled as this installation's that no row owns,
 * made longer than pg_container.orphan_grace ago: left by a transaction
 * that created a container and rolled back, or by a deleted row.  Their
 * restart policy would keep them up for good.  The grace period spares
 * the container of an ensure whose transaction has not committed yet.
 */
static List *
running_orphans(List *listed)
{
	const char *installation = store_installation_id();
	int64		cutoff = (int64) time(NULL) - pgc_orphan_grace_s;
	HTAB	   *by_user;
	List	   *orphans = NIL;
	ListCell   *lc;

	if (installation == NULL)
		return NIL;
	by_user = rows_by_user(store_all_rows());
	foreach(lc, listed)
	{
		DockerContainer *c = lfirst(lc);

		if (c->running && c->created > 0 && c->created <= cutoff &&
			c->installation_label != NULL && strcmp(c->installation_label, installation) == 0 &&
			owning_row(by_user, c) == NULL)
			orphans = lappend(orphans, c);
	}
	return orphans;
}

/*
 * Stop every running container idle past its row's timeout, and every
 * orphan (running_orphans), all at once (at most
 * pg_container.max_parallel_requests in flight), and return the user ids
 * of the rows it stopped, as a list built in result_context.
 *
 * One list of our containers comes first, before any row is locked, so a
 * hung engine holds no lock: each row's container must be in it, labelled
 * as the user's, to be stopped, so a row pointed at another container
 * stops nothing.  The candidate rows are locked for the whole sweep,
 * skipping any that a touch or an ensure holds right now, so activity
 * racing the sweep wins.  A container that fails to stop gets a WARNING
 * and keeps its row as it is; the others are recorded.  Docker's failures
 * are recorded per container rather than raised, and the table writes are
 * by key on rows we hold, so no per-container subtransaction is needed.
 */
List *
lifecycle_reap_idle(MemoryContext result_context)
{
	List	   *listed = docker_list_managed_containers();
	List	   *candidates = store_lock_idle();
	List	   *orphans = running_orphans(listed);
	int			count = list_length(candidates) + list_length(orphans);
	DockerStop *stops;
	DockerContainer **found;
	HTAB	   *by_id;
	HTAB	   *by_name;
	List	   *stopped = NIL;
	ListCell   *lc;
	int			nstops = 0;
	int			i;

	if (count == 0)
		return NIL;

	index_listed(listed, &by_id, &by_name);
	stops = palloc0(sizeof(DockerStop) * count);
	found = palloc0(sizeof(DockerContainer *) * (list_length(candidates) + 1));
	i = 0;
	foreach(lc, candidates)
	{
		ContainerRef *ref = lfirst(lc);
		DockerContainer *c = find_listed(by_id, by_name, ref);

		found[i++] = c;
		if (c == NULL)
			continue;
		stops[nstops].id = c->id;
		stops[nstops].name = ref->container_name;
		nstops++;
	}
	foreach(lc, orphans)
	{
		DockerContainer *c = lfirst(lc);

		stops[nstops].id = c->id;
		stops[nstops].name = c->name ? c->name : c->id;
		nstops++;
	}
	docker_stop_containers(stops, nstops, pgc_max_parallel_requests);

	nstops = 0;
	i = 0;
	foreach(lc, candidates)
	{
		ContainerRef *ref = lfirst(lc);
		DockerContainer *c = found[i++];

		if (record_reaped(ref->user_id, c, c ? &stops[nstops++] : NULL))
		{
			/* The caller reads the list after SPI_finish: build it in its context. */
			MemoryContext old_context = MemoryContextSwitchTo(result_context);

			stopped = lappend(stopped, pstrdup(ref->user_id));
			MemoryContextSwitchTo(old_context);
		}
	}
	foreach(lc, orphans)
		record_orphan_stopped(lfirst(lc), &stops[nstops++]);
	return stopped;
}

/*
 * Check every running row against one list of the containers we manage,
 * record the outcome in the rows, and return it (a list of HealthResult in
 * result_context).  A row whose container has exited or vanished becomes
 * 'stopped', so the table never says 'running' for longer than one health
 * interval after the fact.
 *
 * The list is taken before any row is locked: a slow or hung engine must
 * never hold up container_touch, the application's hot path.  Rows that an
 * ensure or a touch holds right now, or that changed after the list was
 * taken, are skipped; the next pass sees them.
 */
List *
lifecycle_health_check(MemoryContext result_context)
{
	TimestampTz listed_at = GetCurrentTimestamp();
	List	   *listed = docker_list_managed_containers();
	List	   *rows = store_lock_running(listed_at);
	int			count = list_length(rows);
	HTAB	   *by_id;
	HTAB	   *by_name;
	List	   *user_ids = NIL;
	List	   *errors = NIL;
	bool	   *healthy;
	bool	   *down;
	List	   *results = NIL;
	ListCell   *lc;
	MemoryContext old_context;
	int			i;

	if (count == 0)
		return NIL;

	index_listed(listed, &by_id, &by_name);

	healthy = palloc(sizeof(bool) * count);
	down = palloc(sizeof(bool) * count);
	i = 0;
	foreach(lc, rows)
	{
		ContainerRef *ref = lfirst(lc);
		DockerContainer *c = find_listed(by_id, by_name, ref);
		const char *error = NULL;
		HealthResult *result;

		down[i] = false;
		if (c == NULL)
		{
			error = "container not found";
			down[i] = true;
			ereport(LOG,
					(errmsg("the container of user \"%s\" no longer exists; marking it stopped",
							ref->user_id)));
		}
		else if (!c->running)
		{
			error = "container not running";
			down[i] = true;
			ereport(LOG,
					(errmsg("the container of user \"%s\" is %s; marking it stopped",
							ref->user_id, c->state ? docker_printable(c->state) : "not running")));
		}
		else if (c->paused)
			error = "container not running";	/* up, frozen: ensure unpauses it */
		else if (c->health != NULL && strcmp(c->health, "unhealthy") == 0)
			error = "container healthcheck failed";
		healthy[i] = error == NULL;

		/* Events mark changes: going unhealthy, recovering, going down. */
		if (down[i])
			store_event(ref->user_id, "stopped", json_detail("reason", error, NULL));
		else if (!healthy[i] && ref->previously_healthy != 'f')
			note(ref->user_id, "unhealthy", json_detail("error", error, NULL));
		else if (healthy[i] && ref->previously_healthy == 'f')
			note(ref->user_id, "recovered", NULL);

		user_ids = lappend(user_ids, ref->user_id);
		errors = lappend(errors, (char *) error);

		/* The caller reads these after SPI_finish: build them in its context. */
		old_context = MemoryContextSwitchTo(result_context);
		result = palloc(sizeof(HealthResult));
		result->user_id = pstrdup(ref->user_id);
		result->healthy = healthy[i];
		result->error = error ? pstrdup(error) : NULL;
		results = lappend(results, result);
		MemoryContextSwitchTo(old_context);
		i++;
	}
	store_record_health(user_ids, healthy, errors, down);
	return results;
}

/*
 * Assign a profile to the user (NULL: the settings alone), making the row
 * if it is missing.  It takes effect at the next create or fresh-config
 * restart; the profile's idle timeout, if it has one, at once.
 */
void
lifecycle_set_profile(const char *user_id, const char *profile)
{
	if (store_set_profile(user_id, profile))
	{
		note(user_id, "profile", json_detail("profile", profile, NULL));
		return;
	}
	create_row(user_id);
	if (!store_set_profile(user_id, profile))
		raise_row_vanished(user_id);
	note(user_id, "profile", json_detail("profile", profile, NULL));
}

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
	hash = spec_current_hash(load_profile(user_id, profile));
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

bool
lifecycle_outdated_one(const char *user_id, const char *profile, const char *spec_hash,
					   const char *container_id)
{
	HashByProfile cache = {NIL, NIL};

	return spec_outdated(&cache, user_id, profile, spec_hash, container_id);
}

/* The users whose container is out of date, as a list in result_context. */
List *
lifecycle_outdated(MemoryContext result_context)
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
lifecycle_orphans(MemoryContext result_context)
{
	List	   *listed = docker_list_managed_containers();
	HTAB	   *by_user = rows_by_user(store_all_rows());
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
		if (owning_row(by_user, c) != NULL)
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
lifecycle_overview(MemoryContext result_context)
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
