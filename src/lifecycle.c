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
 * recorded id, then by exact name (ownership.c), adopts what it finds when
 * the labels say it is this user's, and reconciles the table with it.
 * Nothing here removes a volume (removals.c does, for container_remove): a container is only
 * ever removed when it must be recreated, and its named volume carries
 * the user's state across.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "container_spec.h"
#include "container_store.h"
#include "docker_api.h"
#include "engine.h"
#include "event_journal.h"
#include "gateway.h"
#include "lifecycle.h"
#include "ownership.h"
#include "removals.h"
#include "settings.h"
#include "stats.h"
#include "subtransaction.h"
#include "token_crypto.h"
#include "user_network.h"

/* Bound on create/start rounds, each of which fixes one conflict. */
#define MAX_ENSURE_ROUNDS 16

/* What an ensure knows about the user's container as it brings it up. */
typedef struct EnsureState
{
	UserContainerRow row;		/* locked for the rest of the transaction */
	const char *token;			/* plaintext */
	DockerContainer c;			/* valid while have_container */
	bool		have_container;
	bool		created_here;	/* c was created by this call */
	bool		started_here;
	bool		unpaused;
	int			port;			/* the host port it runs on; 0: to be chosen */
	int		   *refused_ports;	/* ports found taken outside the table */
	int			nrefused;
	bool		asked_docker_for_ports;
	int			taken_subnets;	/* rounds that met each kind of conflict */
	int			taken_ports;
	int			vanished;
	ContainerProfile *profile;	/* loaded at the first create */
	bool		profile_loaded;
} EnsureState;

/* Whether a round of the ensure left the container running. */
typedef enum EnsureRound
{
	ROUND_RUNNING,
	ROUND_AGAIN
} EnsureRound;

/* A new row, with a fresh token; a concurrent insert for the user wins. */
static void
create_row(const char *user_id)
{
	char	   *fresh = pgc_token_generate();
	char	   *name = psprintf("%s%s", pgc_name_prefix, user_id);
	char	   *holder;

	holder = store_insert(user_id, name, pgc_token_encrypt(fresh, user_id));
	if (holder != NULL && pg_strcasecmp(holder, user_id) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("user id \"%s\" differs only in case from user \"%s\"", user_id, holder),
				 errdetail("Docker's embedded DNS does not tell names apart by case, so the two users' gateways would answer for each other."),
				 errhint("User ids are compared without regard to ASCII case: spell each user's id one way.")));
	if (holder != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("container name \"%s\" of user \"%s\" is already the name of user \"%s\"",
						name, user_id, holder),
				 errdetail("A container's name is pg_container.name_prefix followed by the user id, and the prefix has changed since that user's row was made."),
				 errhint("Remove the other user with container_remove, or go back to the prefix it was made with.")));
}

/*
 * Run a write on the user's row; if the row is missing, make it (with a
 * fresh token and no container yet) and run the write once more.
 */
static void
write_making_row(const char *user_id, bool (*write) (const char *user_id, void *arg), void *arg)
{
	if (write(user_id, arg))
		return;
	create_row(user_id);
	if (!write(user_id, arg))
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("row of user \"%s\" was deleted concurrently", user_id)));
}

static bool
lock_and_touch(const char *user_id, void *row)
{
	return store_lock_and_touch(user_id, (UserContainerRow *) row);
}

/* Add ports to those an ensure must not use again. */
static void
refuse_ports(EnsureState *st, int port, List *more)
{
	int			needed = st->nrefused + 1 + list_length(more);
	ListCell   *lc;

	st->refused_ports = st->refused_ports ?
		repalloc(st->refused_ports, sizeof(int) * needed) : palloc(sizeof(int) * needed);
	st->refused_ports[st->nrefused++] = port;
	foreach(lc, more)
		st->refused_ports[st->nrefused++] = lfirst_int(lc);
}

/* Forget the container: the next round finds or creates another. */
static EnsureRound
drop_container(EnsureState *st, bool remove)
{
	if (remove)
		pgc_engine()->remove(st->c.id, st->row.container_name);
	st->have_container = false;
	st->created_here = false;
	return ROUND_AGAIN;
}

/*
 * Place the user on a port and create their container there, with their
 * volume and network.  A subnet or a name that turns out to be taken
 * sends the ensure round again: on another port, or to adopt the
 * container that holds the name.
 */
static EnsureRound
create_container(EnsureState *st)
{
	ContainerSpec spec;
	bool		name_taken;
	char	   *id;

	if (st->port == 0)
		st->port = store_claim_free_port(st->row.user_id, st->refused_ports, st->nrefused);
	/* Only a create needs the profile: not the running-container path. */
	if (!st->profile_loaded)
	{
		st->profile = spec_load_profile(st->row.user_id, st->row.profile);
		st->profile_loaded = true;
	}
	spec_build(&spec, &st->row, st->profile, st->token, st->port);
	ownership_claim_volume(&st->row, spec.volume);
	if (!user_network_claim(&st->row, spec.network, st->port))
	{
		st->taken_subnets++;
		refuse_ports(st, st->port, NIL);
		st->port = 0;
		return ROUND_AGAIN;
	}
	id = pgc_engine()->create(&spec, &name_taken, st->token);
	if (name_taken)
	{
		/* Created by a call whose transaction rolled back: adopt it. */
		st->have_container = ownership_inspect(&st->row, &st->c, true);
		st->created_here = false;
		return ROUND_AGAIN;
	}
	memset(&st->c, 0, sizeof(st->c));
	st->c.id = id;
	st->c.name = st->row.container_name;
	st->c.host_port = st->port;
	st->c.spec_label = (char *) spec.spec_hash;
	st->have_container = true;
	st->created_here = true;
	record_event(st->row.user_id, "created",
				 event_detail("container", id, "image", spec.image, "spec_hash", spec.spec_hash, NULL));
	return ROUND_RUNNING;
}

/*
 * Whether the found container is stopped and out of date while a rollout's
 * image is in effect (container_rollout): it is then made again from the
 * current spec before its start, so that a stopped user gets the
 * rollout's image at its next start without the job booting it.  Its
 * volume, token and port carry over, as for any container made again.
 * Without a rollout an ensure never recreates an outdated container (only
 * container_restart does, with its rollback); nor on an engine whose units
 * cannot be set aside (swarm), where a unit is updated in place instead.
 */
static bool
stopped_behind_rollout(EnsureState *st)
{
	if (st->c.running || st->c.paused || !pgc_engine()->can_set_aside ||
		store_rollout_image() == NULL)
		return false;
	if (!st->profile_loaded)
	{
		st->profile = spec_load_profile(st->row.user_id, st->row.profile);
		st->profile_loaded = true;
	}
	return st->c.spec_label == NULL ||
		strcmp(st->c.spec_label, spec_current_hash(st->profile)) != 0;
}

/*
 * Whether a container this call found (not created) can be used as it
 * is; if not, it is removed and the ensure goes round again.
 */
static EnsureRound
check_found_container(EnsureState *st)
{
	const DockerContainer *c = &st->c;

	/*
	 * A container made by a call whose transaction rolled back carries the
	 * token of a row that was never committed: the gateway would refuse the
	 * one we hand out.  Make it again with the row's token.
	 */
	if (c->env_token != NULL && strcmp(c->env_token, st->token) != 0)
	{
		ereport(LOG,
				(errmsg("container of user \"%s\" has another token than the user's row; making it again",
						st->row.user_id)));
		return drop_container(st, true);
	}

	/*
	 * A container that was created but never started was left by a call
	 * that failed halfway (a bad setting, a rollback): it holds nothing, so
	 * make it again from the current settings.  A dead one cannot be
	 * started again at all.  The volume carries the user's state across.
	 */
	if (c->state != NULL && (strcmp(c->state, "created") == 0 || strcmp(c->state, "dead") == 0))
		return drop_container(st, true);

	if (stopped_behind_rollout(st))
		return drop_container(st, true);

	/*
	 * The table is the authority on ports.  A container bound elsewhere
	 * (adopted, or created under an older range) is recreated on the user's
	 * port; one whose port another row holds gets a new one.
	 */
	if (c->host_port == 0 || (st->port != 0 && c->host_port != st->port) ||
		(st->port == 0 && !store_claim_port(st->row.user_id, c->host_port)))
		return drop_container(st, true);
	st->port = c->host_port;
	return ROUND_RUNNING;
}

/*
 * Something outside this table binds the user's port: move on.  Ask Docker
 * once which ports running containers publish (another database's users,
 * a manual run) and skip those too.
 */
static EnsureRound
move_off_taken_port(EnsureState *st)
{
	List	   *published = NIL;

	ereport(LOG,
			(errmsg("host port %d of user \"%s\" is in use outside pg_container; choosing another",
					st->port, st->row.user_id)));
	st->taken_ports++;
	if (!st->asked_docker_for_ports)
	{
		published = pgc_engine()->published_ports();
		st->asked_docker_for_ports = true;
	}
	refuse_ports(st, st->port, published);
	st->port = 0;
	return drop_container(st, true);
}

/* Unpause or start the container, if it is not running already. */
static EnsureRound
start_container(EnsureState *st)
{
	DockerStartResult started;

	if (st->c.paused)
	{
		stats_classify(PGC_OP_RESUME);
		pgc_engine()->unpause(st->c.id, st->row.container_name);
		st->unpaused = true;
	}
	if (st->c.running)
		return ROUND_RUNNING;
	stats_classify(PGC_OP_COLD_START);
	started = pgc_engine()->start(st->c.id, st->row.container_name, &st->c.node);
	if (started == DOCKER_START_NOT_FOUND)
	{
		st->vanished++;
		return drop_container(st, false);
	}
	if (started == DOCKER_START_PORT_TAKEN)
		return move_off_taken_port(st);
	st->started_here = true;
	return ROUND_RUNNING;
}

/* One round: find or create a usable container, and start it. */
static EnsureRound
ensure_round(EnsureState *st)
{
	if (!st->have_container)
	{
		stats_classify(PGC_OP_COLD_START);
		if (create_container(st) == ROUND_AGAIN)
			return ROUND_AGAIN;
	}
	else if (!st->created_here && check_found_container(st) == ROUND_AGAIN)
		return ROUND_AGAIN;
	return start_container(st);
}

/* What the rounds of an ensure that never got its container running met. */
static char *
describe_rounds(const EnsureState *st)
{
	StringInfoData buf;
	int			other = MAX_ENSURE_ROUNDS - st->taken_subnets - st->taken_ports - st->vanished;

	initStringInfo(&buf);
	appendStringInfo(&buf, "Of %d attempts, %d met a subnet of pg_container.network_pool held by another network, "
					 "%d a host port taken outside pg_container, %d a container that vanished",
					 MAX_ENSURE_ROUNDS, st->taken_subnets, st->taken_ports, st->vanished);
	if (other > 0)
		appendStringInfo(&buf, ", and %d a container that had to be made again", other);
	appendStringInfoChar(&buf, '.');
	return buf.data;
}

/* Go round until the container runs; each round fixes one conflict. */
static void
bring_up(EnsureState *st)
{
	char	   *detail;

	for (int round = 0; round < MAX_ENSURE_ROUNDS; round++)
		if (ensure_round(st) == ROUND_RUNNING)
			return;
	detail = describe_rounds(st);
	ereport(ERROR,
			(errcode(ERRCODE_SYSTEM_ERROR),
			 errmsg("could not start container \"%s\" after %d attempts",
					st->row.container_name, MAX_ENSURE_ROUNDS),
			 errdetail_internal("%s", detail),
			 st->taken_subnets >= st->taken_ports ?
			 errhint("Check which networks hold subnets of pg_container.network_pool (docker network inspect), or choose another pool.") :
			 errhint("Check what else binds ports in pg_container.port_range_start to pg_container.port_range_end.")));
}

/*
 * Write the row if this call changed the container, even if the row looked
 * right already: the write stamps updated_at after the change, which is how
 * a concurrent health pass knows its list is older.  The hash of what the
 * container was made from is its label's.
 */
static void
record_running(const EnsureState *st)
{
	const UserContainerRow *row = &st->row;
	const char *spec_hash = st->c.spec_label;

	if (st->created_here || st->started_here || st->unpaused || !row->running ||
		row->gateway_port != st->port ||
		row->container_id == NULL || strcmp(row->container_id, st->c.id) != 0 ||
		(spec_hash != NULL && (row->spec_hash == NULL || strcmp(row->spec_hash, spec_hash) != 0)))
		store_record_running(row->user_id, st->c.id, st->port, spec_hash,
							 st->created_here || st->started_here);
	/* An engine that places units (swarm) said where: the volume is there. */
	if (st->started_here && st->c.node != NULL)
		store_record_node(row->user_id, st->c.node);
}

/*
 * The node the user's unit runs on, for its published URL: what the engine
 * said of it, else, on an engine that places units, the node its last
 * start recorded (a service with no pin, on shared storage, names none
 * without a read of its tasks).  NULL on an engine that does not place.
 */
static const char *
running_node(const EnsureState *st)
{
	if (st->c.node != NULL || pgc_engine()->node_address == NULL)
		return st->c.node;
	return store_recorded_node(st->row.user_id);
}

/*
 * The start of every ensure: a committed removal carried out first (never
 * adopt what is about to go), the user's row locked and touched (made if
 * missing), their container looked up.
 */
static void
open_ensure(const char *user_id, EnsureState *st, char **token)
{
	memset(st, 0, sizeof(*st));
	(void) removal_carry_out(user_id);
	write_making_row(user_id, lock_and_touch, &st->row);
	*token = pgc_token_decrypt(st->row.gateway_token, user_id);
	st->token = *token;
	ownership_check_name(&st->row);
	st->have_container = ownership_inspect(&st->row, &st->c, true);
	st->port = st->row.gateway_port;
}

/*
 * The end of an ensure whose container runs: wait for its gateway if it
 * was just started, thawed or is being restarted, say so, and record it.
 */
static void
finish_ensure(EnsureState *st, char **url)
{
	const char *user_id = st->row.user_id;

	/*
	 * A container Docker is restarting (its gateway crashed) is running by
	 * Docker's word but answers nothing: it is waited for like a new one,
	 * and reported if it never gets ready.
	 */
	if (st->started_here)
	{
		user_network_attach(spec_network_name(st->row.container_name));
		gateway_wait_until_ready(st->c.id, st->row.container_name, st->port, st->c.node, st->token);
		record_event(user_id, "started", event_detail("container", st->c.id, NULL));
	}
	else if (st->unpaused)
	{
		/*
		 * A thawed gateway answers at once: the readiness check is one GET,
		 * and it proves the URL we hand out works before we hand it out.
		 */
		gateway_wait_until_ready(st->c.id, st->row.container_name, st->port, st->c.node, st->token);
		record_event(user_id, "unpaused", event_detail("container", st->c.id, NULL));
	}
	else if (st->c.state != NULL && strcmp(st->c.state, "restarting") == 0)
		gateway_wait_until_ready(st->c.id, st->row.container_name, st->port, st->c.node, st->token);

	record_running(st);
	*url = gateway_node_url(st->row.container_name, st->port, running_node(st));
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
	EnsureState st;

	open_ensure(user_id, &st, token);
	bring_up(&st);
	finish_ensure(&st, url);
}

/*
 * The ensure of container_start: only for a container that is up already
 * (running, or paused and thawed at once).  False, with the row locked
 * and touched (made if missing) and nothing else done, for one that would
 * have to be created or started: that is the start queue's to boot.
 */
bool
lifecycle_ensure_if_up(const char *user_id, char **url, char **token)
{
	EnsureState st;

	open_ensure(user_id, &st, token);
	if (!st.have_container || !(st.c.running || st.c.paused) ||
		(st.c.state != NULL && strcmp(st.c.state, "restarting") == 0))
		return false;
	bring_up(&st);
	finish_ensure(&st, url);
	return true;
}

/*
 * The ensure of the start queue's worker: create and start the user's
 * container and record it, but leave the wait for its gateway, and the
 * "started" event after it, to the caller, which polls many at once.
 * A unit that publishes no port is waited for here (the engine's wait).
 */
void
lifecycle_start_unready(const char *user_id, LifecycleBoot *boot)
{
	EnsureState st;
	char	   *token;

	open_ensure(user_id, &st, &token);
	bring_up(&st);
	boot->must_wait = st.started_here || st.unpaused ||
		(st.c.state != NULL && strcmp(st.c.state, "restarting") == 0);
	if (st.started_here)
		user_network_attach(spec_network_name(st.row.container_name));
	if (st.unpaused)
		record_event(user_id, "unpaused", event_detail("container", st.c.id, NULL));
	if (boot->must_wait && !pgc_units_publish())
	{
		gateway_wait_until_ready(st.c.id, st.row.container_name, st.port, st.c.node, st.token);
		boot->must_wait = false;
	}
	record_running(&st);
	boot->started = st.started_here;
	boot->container_id = st.c.id;
	boot->container_name = st.row.container_name;
	boot->port = st.port;
	boot->node = running_node(&st);
	boot->token = token;
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

	if (removal_carry_out(user_id) || !store_lock(user_id, &row))
		return;
	ownership_check_name(&row);

	if (ownership_inspect(&row, &c, false))
	{
		/* Podman refuses to stop a paused container; Docker does not mind. */
		if (c.paused)
			pgc_engine()->unpause(c.id, row.container_name);
		if (pgc_engine()->stop(c.id, row.container_name))
			container_id = c.id;
	}

	store_record_stopped(user_id, container_id);
	if (row.running || row.paused)
		record_event(user_id, "stopped", event_detail("container", container_id, NULL));
}

/* The name the previous container has while its replacement is tried. */
static char *
previous_name(const char *container_name)
{
	return psprintf("%s-previous", container_name);
}

/*
 * A container a recreation set aside and could not bring back (the engine
 * failed then, or a second cancel cut the restore short): if nothing holds
 * the user's name, it is the user's last container and takes the name
 * back; otherwise it is removed (its volume is not).  Every restart starts
 * with this, so nothing stays set aside past the next one.
 */
static void
settle_previous(const UserContainerRow *row)
{
	char	   *aside_name = previous_name(row->container_name);
	DockerContainer aside;
	DockerContainer holder;
	bool		name_held;

	if (!pgc_engine()->can_set_aside || !ownership_inspect_name(row->user_id, aside_name, &aside))
		return;
	name_held = pgc_engine()->find(row->container_name, &holder);
	if (name_held)
		pgc_engine()->remove(aside.id, aside_name);
	else
		pgc_engine()->rename(aside.id, row->container_name);
	ereport(LOG,
			(errmsg("container \"%s\" of user \"%s\" was left set aside by a recreation; %s",
					aside_name, row->user_id,
					name_held ? "removing it" : "giving it the user's name back")));
}

/*
 * Put the user's stopped, outdated container aside under previous_name
 * (settle_previous has cleared that name); returns its id.
 */
static char *
set_previous_aside(const UserContainerRow *row, const DockerContainer *c)
{
	pgc_engine()->rename(c->id, previous_name(row->container_name));
	return pstrdup(c->id);
}

/*
 * The replacement failed: remove it and give the previous container its
 * name back, with its volume, token and port; with start_it, also start it
 * and wait for it.  A unit updated in place (previous_spec not NULL) gets
 * its previous spec back instead.  The name goes back before anything else
 * is tried, so an error in the start or the wait leaves nothing aside.
 */
static void
restore_previous(const UserContainerRow *row, const char *previous_id, const char *previous_spec,
				 bool start_it)
{
	DockerContainer c;
	char	   *token = pgc_token_decrypt(row->gateway_token, row->user_id);
	char	   *node;

	if (previous_spec != NULL)
		pgc_engine()->restore_spec(previous_id, row->container_name, previous_spec, token);
	else
	{
		if (ownership_inspect_name(row->user_id, row->container_name, &c) &&
			strcmp(c.id, previous_id) != 0)
			pgc_engine()->remove(c.id, row->container_name);
		pgc_engine()->rename(previous_id, row->container_name);
	}
	if (start_it &&
		pgc_engine()->start(previous_id, row->container_name, &node) == DOCKER_STARTED)
		gateway_wait_until_ready(previous_id, row->container_name, row->gateway_port, node, token);
	explicit_bzero(token, strlen(token));
}

/* What ensure_replacement hands to its subtransactions. */
typedef struct Replacement
{
	const UserContainerRow *row;
	const char *previous_id;
	const char *previous_spec;
	bool		start_previous;
	char	  **url;
	char	  **token;
} Replacement;

static void
ensure_new(void *arg)
{
	Replacement *r = arg;

	lifecycle_ensure_running(r->row->user_id, r->url, r->token);
}

static void
restore_old(void *arg)
{
	Replacement *r = arg;

	restore_previous(r->row, r->previous_id, r->previous_spec, r->start_previous);
}

/* The CONTEXT line of the replacement's errors: see ensure_replacement. */
static void
replacement_context(void *arg)
{
	errcontext("%s", (const char *) arg);
}

/*
 * Say how a failed replacement ended in its error's CONTEXT line, which
 * replacement_context put in place, between the lines of the calls inside
 * and those of the callers outside.
 */
static void
amend_context(ErrorData *edata, const char *line, const char *outcome)
{
	char	   *at = edata->context ? strstr(edata->context, line) : NULL;

	if (at == NULL)
		edata->context = edata->context ? psprintf("%s\n%s: %s", edata->context, line, outcome)
			: psprintf("%s: %s", line, outcome);
	else
		edata->context = psprintf("%.*s%s: %s%s", (int) (at - edata->context), edata->context,
								  line, outcome, at + strlen(line));
}

/*
 * Ensure the user's container runs after its previous one was set aside,
 * in a subtransaction: if the replacement fails (never ready, a bad image),
 * the table is as before and the previous container is back running, and
 * the replacement's own error is raised, SQLSTATE, detail and hint intact,
 * its CONTEXT saying what became of the previous container.  A cancel
 * stays a cancel: after it only the Docker calls that give the previous
 * container its name back are made (no start, no readiness wait); its row
 * says what it said before the restart, and the next ensure starts it.  If
 * bringing it back fails, that error's message is in the context, and
 * whatever is left as <name>-previous the next container_restart settles.
 */
static void
ensure_replacement(const UserContainerRow *row, const char *previous_id,
				   const char *previous_spec, const char *image, char **url, char **token)
{
	Replacement r = {row, previous_id, previous_spec, true, url, token};
	char	   *what = psprintf("restarting the container of user \"%s\" from image \"%s\"",
								row->user_id, image);
	ErrorContextCallback context = {error_context_stack, replacement_context, what};
	ErrorData  *failure;
	ErrorData  *restore_failure;

	error_context_stack = &context;
	failure = pgc_in_subtransaction(ensure_new, &r);
	error_context_stack = context.previous;
	if (failure == NULL)
		return;

	r.start_previous = failure->sqlerrcode != ERRCODE_QUERY_CANCELED;
	restore_failure = pgc_in_subtransaction(restore_old, &r);
	if (restore_failure != NULL)
	{
		char	   *outcome = psprintf("the new container failed, and bringing the previous container back failed too: %s",
									   restore_failure->message);

		/* Cancelled while bringing it back: that cancel is the error now. */
		if (restore_failure->sqlerrcode == ERRCODE_QUERY_CANCELED)
			failure = restore_failure;
		amend_context(failure, what, outcome);
	}
	else if (!r.start_previous)
		amend_context(failure, what, "cancelled; the new container was removed and the previous container has its name back, stopped");
	else
	{
		amend_context(failure, what, "the new container failed, so the previous container is back");
		if (failure->hint == NULL)
			failure->hint = pstrdup("The user keeps the previous container, volume, token and port; fix the image or the settings and restart again.");
	}
	ReThrowError(failure);
}

/*
 * Make the user's stopped unit from the current settings in place, on an
 * engine that can (swarm's services): the same unit, volume, token, port
 * and node, and the next start runs the new spec.  Returns what the unit
 * was made from before, to put back if the new spec fails; NULL if the
 * unit is gone.
 */
static char *
update_in_place(const UserContainerRow *row, const DockerContainer *c,
				const ContainerProfile *profile)
{
	ContainerSpec spec;
	char	   *token = pgc_token_decrypt(row->gateway_token, row->user_id);
	char	   *previous;

	spec_build(&spec, row, profile, token, c->host_port);
	if (!pgc_engine()->update_spec(c->id, &spec, token, &previous))
		previous = NULL;		/* gone: the ensure makes it anew */
	explicit_bzero(token, strlen(token));
	return previous;
}

/*
 * Stop, then start again; recreate the container first, keeping its
 * volume, token and port, if the settings or the user's profile have
 * changed since it was made (its spec hash differs).  Only here does a
 * container get recreated for a configuration change, and a recreation
 * cannot take a working user down: the previous container is stopped and
 * set aside, not removed, until its replacement is ready, and comes back
 * if the replacement never is.  (Two gateways never run on one volume:
 * OpenClaw holds a lease on its state folder.)  An engine whose units
 * cannot be set aside (swarm) makes the stopped unit from the new spec in
 * place instead, keeping its volume and node.
 */
void
lifecycle_restart(const char *user_id, char **url, char **token)
{
	UserContainerRow row;
	char	   *previous_id = NULL;
	ContainerProfile *profile = NULL;
	char	   *current = NULL;
	char	   *previous_spec = NULL;

	if (store_lock(user_id, &row))
	{
		ownership_check_name(&row);
		settle_previous(&row);
	}
	lifecycle_stop(user_id);

	if (store_lock(user_id, &row))
	{
		DockerContainer c;

		profile = spec_load_profile(user_id, row.profile);
		current = spec_current_hash(profile);
		if ((row.spec_hash == NULL || strcmp(row.spec_hash, current) != 0) &&
			pgc_engine()->update_spec != NULL && ownership_inspect(&row, &c, false))
		{
			previous_spec = update_in_place(&row, &c, profile);
			previous_id = previous_spec ? pstrdup(c.id) : NULL;
			record_event(user_id, "recreated",
				 event_detail("old_spec_hash", row.spec_hash, "spec_hash", current, "in_place", "true", NULL));
		}
		else if ((row.spec_hash == NULL || strcmp(row.spec_hash, current) != 0) &&
				 pgc_engine()->can_set_aside && ownership_inspect(&row, &c, false))
		{
			previous_id = set_previous_aside(&row, &c);
			record_event(user_id, "recreated",
				 event_detail("old_spec_hash", row.spec_hash, "spec_hash", current, NULL));
		}
	}

	if (previous_id == NULL)
		lifecycle_ensure_running(user_id, url, token);
	else
	{
		ensure_replacement(&row, previous_id, previous_spec, spec_image(profile), url, token);
		if (previous_spec != NULL)
			explicit_bzero(previous_spec, strlen(previous_spec));
		else
			pgc_engine()->remove(previous_id, previous_name(row.container_name));
	}
	record_event(user_id, "restarted", event_detail("recreated", previous_id ? "true" : "false", NULL));
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
	ownership_check_name(&row);
	if (!ownership_inspect(&row, &c, false))
		return NIL;
	token = pgc_token_decrypt(row.gateway_token, user_id);
	lines = pgc_engine()->logs(c.id, row.container_name, tail, since, token);
	explicit_bzero(token, strlen(token));

	old_context = MemoryContextSwitchTo(result_context);
	foreach(lc, lines)
		copied = lappend(copied, pstrdup(lfirst(lc)));
	MemoryContextSwitchTo(old_context);
	return copied;
}

static bool
set_idle_timeout(const char *user_id, void *minutes)
{
	return store_set_idle_timeout(user_id, *(int *) minutes);
}

/*
 * Set the user's idle timeout, making the row (with a fresh token, and no
 * container yet) if it is missing, so a timeout set at sign-up is there
 * when the first session starts.
 */
void
lifecycle_set_idle_timeout(const char *user_id, int minutes)
{
	write_making_row(user_id, set_idle_timeout, &minutes);
}

/* NULL minutes, passed as a negative number: never paused. */
static bool
set_pause_after(const char *user_id, void *minutes)
{
	int			m = *(int *) minutes;

	return store_set_pause_after(user_id, m < 0 ? 0 : m, m < 0);
}

/*
 * Set the minutes idle before the user's container is paused (is_null:
 * NULL, never), making the row if it is missing, as for the idle timeout.
 */
void
lifecycle_set_pause_after(const char *user_id, int minutes, bool is_null)
{
	int			m = is_null ? -1 : minutes;

	write_making_row(user_id, set_pause_after, &m);
}

static bool
set_profile(const char *user_id, void *profile)
{
	return store_set_profile(user_id, (const char *) profile);
}

/*
 * Assign a profile to the user (NULL: the settings alone), making the row
 * if it is missing.  It takes effect at the next create or fresh-config
 * restart; the profile's idle timeout, if it has one, at once.
 */
void
lifecycle_set_profile(const char *user_id, const char *profile)
{
	write_making_row(user_id, set_profile, (void *) profile);
	record_event(user_id, "profile", event_detail("profile", profile, NULL));
}
