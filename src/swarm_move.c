/*-------------------------------------------------------------------------
 *
 * swarm_move.c
 *	  container_move(user_id, node): on pg_container.engine = 'swarm', move
 *	  a stopped user's volume to another node, deliberately, for draining a
 *	  node; then pin the user's service and row to that node.
 *
 * A `local` volume exists only on its node, and the API of a swarm manager
 * reaches the nodes only through tasks.  So the copy is two one-shot
 * services (restart condition none), each pinned with a node.id==
 * constraint and attached to the user's network (spec_network_name: their
 * own with network_mode = per_user; with a shared one, other tenants can
 * connect to the receiver, and only the secret keeps their streams out):
 * one on the target node mounts a fresh volume of the user's volume's name
 * and listens; one on the source node mounts the user's volume read-only,
 * tars it and sends this move's random secret, the archive's sum and the
 * archive to the first by its service name.  The receiver unpacks only a
 * stream with the secret whose sum agrees.  Both print the archive's MD5
 * and length; only when both tasks completed and the two agree is the
 * user re-pinned.  The source volume is never removed: a DBA removes it
 * once satisfied (docker volume rm on that node).
 *
 * The helper tasks run /bin/busybox (sh, tar, nc, md5sum, wc): in the
 * image named by the helper_image argument, by default pg_container.image
 * (the test gateway is busybox-based; for an image without busybox, name
 * one such as busybox:stable).  The archive sits in the sender's /tmp and
 * in the target volume while it is copied, so both need room for it.  The
 * copy may take the timeout argument's time at most.  The user's row stays
 * locked throughout: an ensure of that user waits for the move.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "datatype/timestamp.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/timestamp.h"

#include "container_spec.h"
#include "container_store.h"
#include "docker_api.h"
#include "docker_http.h"
#include "engine.h"
#include "settings.h"
#include "ownership.h"
#include "subtransaction.h"
#include "swarm_api.h"
#include "user_id_arg.h"

PG_FUNCTION_INFO_V1(container_move);

/* The port the receiving task listens on, on the overlay network. */
#define MOVE_PORT 9000

/*
 * How long the copy may take (the timeout argument, by default 30 minutes,
 * at least a second and at most 7 days), and how often its tasks are looked
 * at.
 */
#define MOVE_DEFAULT_TIMEOUT_MS ((int64) 30 * 60 * 1000)
#define MOVE_MAX_TIMEOUT_MS ((int64) 7 * 24 * 60 * 60 * 1000)
#define MOVE_POLL_MS 250

/* What both helpers print about the archive: "pgc-move-sum <md5> <bytes>". */
#define SUM_TAG "pgc-move-sum "

/* The environment variable that gives both helpers this move's secret. */
#define SECRET_ENV "PGC_MOVE_SECRET"
#define SECRET_BYTES 16

/* "<md5> <bytes>" of the archive in $T, into $SUM. */
#define SUM_CMD "SUM=\"$($B md5sum < $T | $B cut -d' ' -f1) $($B wc -c < $T)\"; echo " SUM_TAG "$SUM"

/*
 * On the target: refuse a volume that is not empty; take streams until one
 * starts with this move's secret (any other is dropped: on a shared network
 * anyone may connect); its second line is the sender's sum.  The archive is
 * stored aside inside the target volume and unpacked only if its sum agrees,
 * else removed, so that a short or corrupted stream leaves the volume empty.
 * The stream is read by -e's program until the sender closes: nc -l itself
 * stops reading early when its own stdin (/dev/null in a task) ends.
 */
#define RECEIVE_SCRIPT \
	"B=/bin/busybox; I=/to/.pgc-move.in; T=/to/.pgc-move.tar; " \
	"if [ -n \"$($B ls -A /to)\" ]; then echo 'the volume on the target node is not empty'; exit 3; fi; " \
	"while :; do $B nc -l -p %d -e $B sh -c \"$B cat > $I\"; " \
	"[ \"$($B head -n 1 $I)\" = \"$" SECRET_ENV "\" ] && break; " \
	"$B rm -f $I; echo 'ignored a stream without the secret'; done; " \
	"WANT=\"$($B head -n 2 $I | $B tail -n 1)\"; $B tail -n +3 $I > $T; $B rm -f $I; " SUM_CMD "; " \
	"if [ \"$SUM\" != \"$WANT\" ]; then $B rm -f $T; echo \"the archive received does not match the sum sent ($WANT)\"; exit 6; fi; " \
	"$B tar -x -C /to -f $T; R=$?; $B rm -f $T; exit $R"

/* On the source: pack, sum, and send secret, sum and archive until taken. */
#define SEND_SCRIPT \
	"B=/bin/busybox; T=/tmp/pgc-move.tar; $B tar -c -C /from -f $T . || exit 4; " SUM_CMD "; " \
	"i=0; until { echo \"$" SECRET_ENV "\"; echo \"$SUM\"; $B cat $T; } | $B nc %s %d; " \
	"do i=$((i+1)); [ $i -ge 600 ] && exit 5; $B sleep 1; done"

typedef struct MoveHelper
{
	char	   *name;
	char	   *id;				/* NULL until created */
	char	   *node;
	char	   *script;
	char	   *mount_target;
	const char *network;		/* the user's network */
	const char *secret;			/* this move's, shared by both helpers */
	bool		read_only;
	SwarmTask  *task;			/* its finished task */
	char	   *sum;			/* what it printed after SUM_TAG */
} MoveHelper;

static char *
text_arg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* The node to move to must exist, be ready and take tasks. */
static void
check_node(const char *node, const char *role, SwarmNode *out)
{
	if (!swarm_valid_id(node) || !swarm_inspect_node(node, out))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("there is no node %s in the swarm", docker_printable(node)),
				 errhint("docker node ls on a manager lists the node ids.")));
	if (strcmp(out->state, "ready") != 0 ||
		(out->availability != NULL && strcmp(out->availability, "active") != 0))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the %s node %s is %s with availability \"%s\"", role, out->id,
						docker_printable(out->state),
						out->availability ? docker_printable(out->availability) : "unknown"),
				 errdetail("The copy runs as a task on each of the two nodes: both must be ready and active."),
				 errhint("Make the node active for the move (docker node update --availability active); "
						 "the users pinned there stay stopped until started.")));
}

static char *
helper_body(const MoveHelper *h, const char *image, const char *volume)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"Name\":");
	escape_json(&buf, h->name);
	appendStringInfoString(&buf, ",\"Labels\":{\"pg_container.move\":\"true\"}"
						   ",\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":");
	escape_json(&buf, image);
	appendStringInfoString(&buf, ",\"Env\":[");
	escape_json(&buf, psprintf("%s=%s", SECRET_ENV, h->secret));
	appendStringInfoString(&buf, "],\"Command\":[\"/bin/busybox\",\"sh\",\"-c\",");
	escape_json(&buf, h->script);
	appendStringInfoString(&buf, "],\"Mounts\":[{\"Type\":\"volume\",\"Source\":");
	escape_json(&buf, volume);
	appendStringInfoString(&buf, ",\"Target\":");
	escape_json(&buf, h->mount_target);
	appendStringInfo(&buf, ",\"ReadOnly\":%s}]}", h->read_only ? "true" : "false");
	appendStringInfoString(&buf, ",\"RestartPolicy\":{\"Condition\":\"none\"}"
						   ",\"Placement\":{\"Constraints\":[");
	escape_json(&buf, psprintf("node.id==%s", h->node));
	appendStringInfoString(&buf, "]},\"Networks\":[{\"Target\":");
	escape_json(&buf, h->network);
	appendStringInfoString(&buf, "}]},\"Mode\":{\"Replicated\":{\"Replicas\":1}}"
						   ",\"EndpointSpec\":{\"Mode\":\"dnsrr\"}}");
	return buf.data;
}

/* Create a helper service, replacing one an interrupted move left. */
static void
create_helper(MoveHelper *h, const char *image, const char *volume)
{
	SwarmService old;
	DockerRequest *req;
	char	   *id;

	if (swarm_inspect_service(h->name, &old))
		(void) swarm_remove_service(old.id, old.name);
	req = docker_request_new("POST", "/services/create",
							 psprintf("create service \"%s\"", h->name));
	req->body = helper_body(h, image, volume);
	docker_run_request(req);
	if (req->status != 201)
		docker_raise_failure(req);
	/* {"ID":"<25 characters>", ...} */
	id = strstr(req->response, "\"ID\"");
	if (id == NULL || (id = strchr(id + 4, '"')) == NULL ||
		strlen(id) < SWARM_ID_LENGTH + 2 || id[SWARM_ID_LENGTH + 1] != '"')
		docker_raise_bad_shape(req, "an object with the new service's \"ID\"");
	h->id = pnstrdup(id + 1, SWARM_ID_LENGTH);
}

static bool
finished(const SwarmTask *t)
{
	static const char *const done[] = {"complete", "failed", "rejected", "shutdown", "orphaned", "remove"};

	for (int i = 0; i < (int) lengthof(done); i++)
		if (t->state != NULL && strcmp(t->state, done[i]) == 0)
			return true;
	return false;
}

/* Wait until the helper's task has finished; false at the deadline. */
static bool
wait_helper(MoveHelper *h, TimestampTz deadline)
{
	while (h->task == NULL)
	{
		ListCell   *lc;

		foreach(lc, swarm_list_all_tasks(h->id))
			if (finished(lfirst(lc)))
				h->task = lfirst(lc);
		if (h->task != NULL)
			break;
		if (GetCurrentTimestamp() >= deadline)
			return false;
		docker_sleep_between_polls(MOVE_POLL_MS, false);
	}
	return true;
}

/* Its output, on one line for a message; and the sum it printed. */
static char *
helper_output(MoveHelper *h)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, docker_service_logs(h->id, h->name, 20, 0, NULL))
	{
		char	   *line = lfirst(lc);
		char	   *tag = strstr(line, SUM_TAG);

		if (tag != NULL)
			h->sum = pstrdup(tag + strlen(SUM_TAG));
		appendStringInfo(&buf, "%s%s", buf.len > 0 ? " / " : "", line);
	}
	return buf.data;
}

typedef struct HelperRef
{
	MoveHelper *helper;
} HelperRef;

static void
remove_one_helper(void *arg)
{
	MoveHelper *h = ((HelperRef *) arg)->helper;

	(void) swarm_remove_service(h->id, h->name);
}

/*
 * Remove the helpers that were created, each in a subtransaction; errors
 * go to the log only, a cancel is re-thrown.  This is safe before commit:
 * a helper service holds no user data (its task's container goes, the
 * volumes it mounted stay), and a rolled-back move keeps no use for it.
 */
static void
remove_helpers(MoveHelper *helpers, int count)
{
	for (int i = 0; i < count; i++)
	{
		HelperRef	ref = {&helpers[i]};
		ErrorData  *failure;

		if (helpers[i].id == NULL)
			continue;
		failure = pgc_in_subtransaction(remove_one_helper, &ref);
		if (failure == NULL)
			continue;
		if (failure->sqlerrcode == ERRCODE_QUERY_CANCELED)
			ReThrowError(failure);
		ereport(WARNING,
				(errcode(failure->sqlerrcode),
				 errmsg("could not remove the helper service \"%s\": %s",
						helpers[i].name, failure->message)));
	}
}

/*
 * The helpers finished (the sender is not waited for once the receiver
 * failed): the copy counts only if both completed and printed the same
 * sum.
 */
static void
check_copy(MoveHelper *to, MoveHelper *from, const char *user_id)
{
	char	   *to_out = helper_output(to);
	char	   *from_out = from->task ? helper_output(from) : "";

	if (from->task == NULL || strcmp(to->task->state, "complete") != 0 ||
		strcmp(from->task->state, "complete") != 0 ||
		to->sum == NULL || from->sum == NULL || strcmp(to->sum, from->sum) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not move the volume of user \"%s\": the copy did not complete", user_id),
				 errdetail("The sending task ended %s (%s); the receiving task ended %s (%s).",
						   from->task ? docker_printable(from->task->state) : "(not waited for)",
						   docker_printable(from_out),
						   docker_printable(to->task->state), docker_printable(to_out)),
				 errhint("The user stays pinned to the source node, with their volume there untouched; "
						 "the target node may hold a partial copy in a volume of the same name, "
						 "which must be removed before another move there.")));
}

typedef struct MoveCopy
{
	MoveHelper *to;
	MoveHelper *from;
	const char *image;
	const char *volume;
	const char *user_id;
	int64		timeout_ms;
} MoveCopy;

/* Create the helpers, wait for them and check the copy; in a subtransaction. */
static void
run_helpers(void *arg)
{
	MoveCopy   *m = arg;
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), m->timeout_ms);

	create_helper(m->to, m->image, m->volume);
	create_helper(m->from, m->image, m->volume);
	/* A receiver that failed (a volume not empty) ends the wait. */
	if (!wait_helper(m->to, deadline) ||
		(strcmp(m->to->task->state, "complete") == 0 && !wait_helper(m->from, deadline)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not move the volume of user \"%s\": the copy did not finish within %lld s",
						m->user_id, (long long) (m->timeout_ms / 1000))));
	check_copy(m->to, m->from, m->user_id);
}

/* A fresh random secret for one move, in hex. */
static char *
move_secret(void)
{
	uint8		bytes[SECRET_BYTES];
	char	   *hex = palloc(SECRET_BYTES * 2 + 1);

	if (!pg_strong_random(bytes, sizeof(bytes)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random secret for the move")));
	hex[hex_encode((const char *) bytes, sizeof(bytes), hex)] = '\0';
	return hex;
}

/*
 * Run the two helpers, on the user's network with this move's secret, and
 * check what they copied.  The helpers are removed whatever happened, after
 * the subtransaction, then any error is re-thrown.
 */
static void
copy_volume(const SwarmService *s, const char *volume, const char *image,
			const char *target, const UserContainerRow *row, int64 timeout_ms)
{
	MoveHelper	helpers[2] = {0};
	MoveCopy	m = {&helpers[0], &helpers[1], image, volume, row->user_id, timeout_ms};
	char	   *network = spec_network_name(row->container_name);
	char	   *secret = move_secret();
	ErrorData  *failure;

	m.to->name = psprintf("pgc-move-to-%s", s->id);
	m.to->node = pstrdup(target);
	m.to->script = psprintf(RECEIVE_SCRIPT, MOVE_PORT);
	m.to->mount_target = "/to";
	m.from->name = psprintf("pgc-move-from-%s", s->id);
	m.from->node = s->pinned_node;
	m.from->script = psprintf(SEND_SCRIPT, m.to->name, MOVE_PORT);
	m.from->mount_target = "/from";
	m.from->read_only = true;
	for (int i = 0; i < 2; i++)
	{
		helpers[i].network = network;
		helpers[i].secret = secret;
	}

	failure = pgc_in_subtransaction(run_helpers, &m);
	remove_helpers(helpers, 2);
	if (failure != NULL)
		ReThrowError(failure);
}

/*
 * The timeout argument in milliseconds: at least a second and at most
 * MOVE_MAX_TIMEOUT_MS (which also keeps an infinite interval out).
 */
static int64
timeout_arg(FunctionCallInfo fcinfo, int argno)
{
	double		ms = interval_arg_ms(fcinfo, argno);

	if (!(ms >= 1000.0 && ms <= (double) MOVE_MAX_TIMEOUT_MS))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout must be between 1 second and 7 days")));
	return (int64) ms;
}

/*
 * container_move(user_id text, node text, helper_image text default null,
 *				  timeout interval default '30 min') returns void
 */
Datum
container_move(PG_FUNCTION_ARGS)
{
	char	   *user_id = user_id_arg(fcinfo, 0);
	char	   *target = text_arg(fcinfo, 1, "node");
	char	   *image = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	/* The SQL definition of an extension not yet updated has no timeout. */
	int64		timeout_ms = PG_NARGS() > 3 ? timeout_arg(fcinfo, 3) : MOVE_DEFAULT_TIMEOUT_MS;
	UserContainerRow row;
	DockerContainer unit;
	SwarmService s;
	SwarmNode	node;

	if (pgc_engine_kind != PGC_ENGINE_SWARM)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("container_move() needs pg_container.engine = swarm"),
				 errdetail("On one Docker engine every volume is on the one host.")));
	store_open();
	/* By the recorded id, else the exact name, if labelled as the user's. */
	if (!store_lock(user_id, &row) || !ownership_inspect(&row, &unit, false) ||
		!swarm_inspect_service(unit.id, &s))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("user \"%s\" has no service to move", user_id)));
	if (s.replicas > 0 || row.running)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("user \"%s\" is running", user_id),
				 errdetail("A volume in use cannot be copied consistently."),
				 errhint("Stop the user first with container_stop().")));
	if (s.pinned_node == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("user \"%s\" is not pinned to a node", user_id),
				 errdetail("Either the user never started, or their volume is shared and follows them.")));
	if (strcmp(s.pinned_node, target) == 0)
	{
		ereport(NOTICE,
				(errmsg("user \"%s\" is on node %s already: nothing to move", user_id, target)));
		store_close();
		PG_RETURN_VOID();
	}
	check_node(target, "target", &node);
	check_node(s.pinned_node, "source", &node);

	copy_volume(&s, psprintf("%s-state", row.container_name),
				image ? image : pgc_image, target, &row, timeout_ms);
	(void) swarm_update_service(s.id, s.name, -1, target);
	store_record_node(user_id, target);
	ereport(NOTICE,
			(errmsg("moved the volume of user \"%s\" to node %s", user_id, target),
			 errdetail("The volume is still on node %s: remove it there once the user is satisfied.",
					   s.pinned_node)));
	store_close();
	PG_RETURN_VOID();
}
