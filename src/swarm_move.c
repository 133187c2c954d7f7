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
 * constraint and attached to the user's overlay network: one on the target
 * node mounts a fresh volume of the user's volume's name and listens; one
 * on the source node mounts the user's volume read-only, tars it and sends
 * the archive to the first by its service name.  Both print the archive's
 * MD5 and length; only when both tasks completed and the two agree is the
 * user re-pinned.  The source volume is never removed: a DBA removes it
 * once satisfied (docker volume rm on that node).
 *
 * The helper tasks run /bin/busybox (sh, tar, nc, md5sum, wc): in the
 * image named by the helper_image argument, by default pg_container.image
 * (the test gateway is busybox-based; for an image without busybox, name
 * one such as busybox:stable).  The archive sits in each helper's /tmp
 * while it is copied, so that needs room for it.  The user's row stays
 * locked throughout: an ensure of that user waits for the move.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/timestamp.h"

#include "container_store.h"
#include "docker_api.h"
#include "docker_http.h"
#include "engine.h"
#include "settings.h"
#include "swarm_api.h"

PG_FUNCTION_INFO_V1(container_move);

/* The port the receiving task listens on, on the overlay network. */
#define MOVE_PORT 9000

/* How long the copy may take, and how often its tasks are looked at. */
#define MOVE_TIMEOUT_MS (30 * 60 * 1000)
#define MOVE_POLL_MS 250

/* What both helpers print about the archive: "pgc-move-sum <md5> <bytes>". */
#define SUM_TAG "pgc-move-sum "

#define SUM_CMD "echo " SUM_TAG "$($B md5sum < /tmp/pgc-move.tar | $B cut -d' ' -f1) $($B wc -c < /tmp/pgc-move.tar)"

/* On the target: refuse a volume that is not empty, receive, check, unpack. */
#define RECEIVE_SCRIPT \
	"B=/bin/busybox; if [ -n \"$($B ls -A /to)\" ]; then echo 'the volume on the target node is not empty'; exit 3; fi; " \
	"$B nc -l -p %d > /tmp/pgc-move.tar || exit 4; " SUM_CMD "; " \
	"$B tar -x -C /to -f /tmp/pgc-move.tar"

/* On the source: pack, sum, and send until the receiver takes it. */
#define SEND_SCRIPT \
	"B=/bin/busybox; $B tar -c -C /from -f /tmp/pgc-move.tar . || exit 4; " SUM_CMD "; " \
	"i=0; until $B nc %s %d < /tmp/pgc-move.tar; do i=$((i+1)); [ $i -ge 600 ] && exit 5; $B sleep 1; done"

typedef struct MoveHelper
{
	char	   *name;
	char	   *id;				/* NULL until created */
	char	   *node;
	char	   *script;
	char	   *mount_target;
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
	appendStringInfoString(&buf, ",\"Command\":[\"/bin/busybox\",\"sh\",\"-c\",");
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
	escape_json(&buf, pgc_network);
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

/* Remove the helpers that were created; errors go to the log only. */
static void
remove_helpers(MoveHelper *helpers, int count)
{
	for (int i = 0; i < count; i++)
	{
		MemoryContext context = CurrentMemoryContext;

		if (helpers[i].id == NULL)
			continue;
		PG_TRY();
		{
			(void) swarm_remove_service(helpers[i].id, helpers[i].name);
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(context);
			edata = CopyErrorData();
			FlushErrorState();
			ereport(WARNING,
					(errmsg("could not remove the helper service \"%s\": %s",
							helpers[i].name, edata->message)));
		}
		PG_END_TRY();
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

/* Run the two helpers and check what they copied. */
static void
copy_volume(const SwarmService *s, const char *volume, const char *image,
			const char *target, const char *user_id)
{
	MoveHelper	helpers[2] = {0};
	MoveHelper *to = &helpers[0];
	MoveHelper *from = &helpers[1];
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), MOVE_TIMEOUT_MS);
	MemoryContext context = CurrentMemoryContext;

	to->name = psprintf("pgc-move-to-%s", s->id);
	to->node = pstrdup(target);
	to->script = psprintf(RECEIVE_SCRIPT, MOVE_PORT);
	to->mount_target = "/to";
	from->name = psprintf("pgc-move-from-%s", s->id);
	from->node = s->pinned_node;
	from->script = psprintf(SEND_SCRIPT, to->name, MOVE_PORT);
	from->mount_target = "/from";
	from->read_only = true;

	PG_TRY();
	{
		create_helper(to, image, volume);
		create_helper(from, image, volume);
		/* A receiver that failed (a volume not empty) ends the wait. */
		if (!wait_helper(to, deadline) ||
			(strcmp(to->task->state, "complete") == 0 && !wait_helper(from, deadline)))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("could not move the volume of user \"%s\": the copy did not finish within %d s",
							user_id, MOVE_TIMEOUT_MS / 1000)));
		check_copy(to, from, user_id);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(context);
		edata = CopyErrorData();
		FlushErrorState();
		remove_helpers(helpers, 2);
		ReThrowError(edata);
	}
	PG_END_TRY();
	remove_helpers(helpers, 2);
}

/*
 * container_move(user_id text, node text, helper_image text default null)
 *		returns void
 */
Datum
container_move(PG_FUNCTION_ARGS)
{
	char	   *user_id = text_arg(fcinfo, 0, "user id");
	char	   *target = text_arg(fcinfo, 1, "node");
	char	   *image = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	UserContainerRow row;
	SwarmService s;
	SwarmNode	node;

	if (pgc_engine_kind != PGC_ENGINE_SWARM)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("container_move() needs pg_container.engine = swarm"),
				 errdetail("On one Docker engine every volume is on the one host.")));
	store_open();
	if (!store_lock(user_id, &row) || !swarm_inspect_service(row.container_name, &s))
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
				image ? image : pgc_image, target, user_id);
	(void) swarm_update_service(s.id, s.name, -1, target);
	store_record_node(user_id, target);
	ereport(NOTICE,
			(errmsg("moved the volume of user \"%s\" to node %s", user_id, target),
			 errdetail("The volume is still on node %s: remove it there once the user is satisfied.",
					   s.pinned_node)));
	store_close();
	PG_RETURN_VOID();
}
