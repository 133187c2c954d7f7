/*-------------------------------------------------------------------------
 *
 * swarm_api.c
 *	  Docker Swarm services, tasks and nodes: the Engine API operations
 *	  pg_container.engine = 'swarm' uses, with their request bodies and the
 *	  decoding of their answers.
 *
 * A user is one replicated service: 1 replica while running, 0 while
 * stopped, so a stop keeps the service and the next ensure is a scale, not
 * a create.  Every update sends the whole spec with the Version.Index it was
 * read at; a manager that has seen a newer version answers HTTP 500 "update
 * out of sequence", and the update is re-read and tried again, a bounded
 * number of times (Sablier gives up at the first).  The spec is changed as
 * jsonb, so whatever else the service carries (set by an operator, or by a
 * newer Docker) goes back untouched.
 *
 * Ports are published in host mode with EndpointSpec.Mode dnsrr (the
 * routing mesh needs IPVS, which the kernels we run on lack), and only
 * with url_mode published: host mode binds every address of the node,
 * where every tenant's task reaches it.  A service that publishes nothing
 * carries the user's port in a label, for the lifecycle and the subnet.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "docker_http.h"
#include "json_walk.h"
#include "settings.h"
#include "subtransaction.h"
#include "swarm_api.h"

/* filters={"label":["pg_container.managed=true"]}, percent-encoded */
#define MANAGED_FILTER "%22label%22%3A%5B%22" PGC_LABEL_MANAGED "%3Dtrue%22%5D"

/* How often a wait for a service's tasks looks again. */
#define TASK_POLL_MS 100

/*
 * Whether an id is a swarm object id.  Anything else is refused before it
 * is stored or used in a path.
 */
bool
swarm_valid_id(const char *id)
{
	if (id == NULL || strlen(id) != SWARM_ID_LENGTH)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z')))
			return false;
	return true;
}

/* Seconds since the epoch of an RFC 3339 time ("2026-11-29T15:28:16.27Z"). */
static int64
epoch_seconds(const char *text)
{
	struct tm	tm = {0};

	if (text == NULL ||
		sscanf(text, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			   &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64) timegm(&tm);
}

/*
 * Whether the walk stands at base + the given steps: base is 0 for a
 * service inspected alone, 1 for one element of a list.
 */
static bool
walk_at(const JsonWalker *w, int base, int n, const char *const *steps)
{
	if (w->depth != base + n || (base == 1 && w->path[0].field != NULL))
		return false;
	for (int i = 0; i < n; i++)
	{
		const JsonPathStep *at = &w->path[base + i];

		if (steps[i][0] == '[')
		{
			if (at->field != NULL)
				return false;
		}
		else if (at->field == NULL || strcmp(at->field, steps[i]) != 0)
			return false;
	}
	return true;
}

#define AT(...) \
	walk_at(w, sw->base, lengthof(((const char *const[]) {__VA_ARGS__})), \
			(const char *const[]) {__VA_ARGS__})

/* What a walk over one service, or a list of them, collects. */
typedef struct ServiceWalk
{
	int			base;			/* 0: one service; 1: a list */
	bool		root_ok;
	bool		bad_item;
	SwarmService *one;			/* the service of an inspect */
	List	   *items;			/* of SwarmService, for a list */
	char	   *port_text;		/* "<gateway port>" as a JSON number */
	bool		port_matches;	/* the current Ports element is the gateway's */
} ServiceWalk;

static SwarmService *
current_service(ServiceWalk *sw)
{
	if (sw->base == 0)
		return sw->one;
	return sw->items ? llast(sw->items) : NULL;
}

static void
service_container_start(JsonWalker *w, bool is_object)
{
	ServiceWalk *sw = w->state;

	if (w->depth == 0)
		sw->root_ok = (sw->base == 0) == is_object;
	else if (w->depth == 1 && sw->base == 1)
	{
		if (is_object)
			sw->items = lappend(sw->items, palloc0(sizeof(SwarmService)));
		else
			sw->bad_item = true;
	}
}

static void
service_scalar(JsonWalker *w, char *value, JsonTokenType type)
{
	ServiceWalk *sw = w->state;
	SwarmService *s = current_service(sw);
	bool		is_string = (type == JSON_TOKEN_STRING);
	bool		is_number = (type == JSON_TOKEN_NUMBER);

	if (w->depth == sw->base && sw->base == 1)
		sw->bad_item = true;	/* a scalar where a service belongs */
	if (s == NULL || w->depth <= sw->base)
		return;

	if (AT("ID") && is_string)
		s->id = value;
	else if (AT("Version", "Index") && is_number)
		s->version = strtou64(value, NULL, 10);
	else if (AT("CreatedAt") && is_string)
		s->created = epoch_seconds(value);
	else if (AT("Spec", "Name") && is_string)
		s->name = value;
	else if (AT("Spec", "Mode", "Replicated", "Replicas") && is_number)
		s->replicas = atoi(value);
	else if (AT("Spec", "Labels", PGC_LABEL_USER_ID) && is_string)
		s->user_label = value;
	else if (AT("Spec", "Labels", PGC_LABEL_SPEC_HASH) && is_string)
		s->spec_label = value;
	else if (AT("Spec", "Labels", PGC_LABEL_INSTALLATION) && is_string)
		s->installation_label = value;
	else if (AT("Spec", "Labels", PGC_LABEL_HOST_PORT) && is_string && s->published_port == 0)
		s->published_port = atoi(value);	/* a service that publishes none */
	else if (AT("Spec", "TaskTemplate", "ContainerSpec", "Env", "[*]") && is_string &&
			 strncmp(value, "AGENT_TOKEN=", 12) == 0)
		s->env_token = value + 12;
	else if (AT("Spec", "TaskTemplate", "Placement", "Constraints", "[*]") && is_string &&
			 strncmp(value, "node.id==", 9) == 0)
		s->pinned_node = value + 9;
	else if (AT("Spec", "EndpointSpec", "Ports", "[*]", "TargetPort"))
		sw->port_matches = strcmp(value, sw->port_text) == 0;
	else if (AT("Spec", "EndpointSpec", "Ports", "[*]", "PublishedPort") && is_number &&
			 (sw->port_matches || s->published_port == 0))
		s->published_port = atoi(value);
	else if (AT("ServiceStatus", "RunningTasks") && is_number)
	{
		s->running_tasks = atoi(value);
		s->has_status = true;
	}
	else if (AT("ServiceStatus", "DesiredTasks") && is_number)
		s->desired_tasks = atoi(value);
}

/* Walk one service (base 0) or a list of them (base 1), and check the shape. */
static void
walk_services(DockerRequest *req, ServiceWalk *sw)
{
	JsonWalker	w = {0};
	ListCell   *lc;

	sw->port_text = psprintf("%d", pgc_gateway_port);
	w.on_scalar = service_scalar;
	w.on_container_start = service_container_start;
	w.state = sw;
	docker_walk_response(req, &w);
	if (!sw->root_ok || sw->bad_item)
		docker_raise_bad_shape(req, sw->base ? "a JSON array of service objects" : "a service object");
	if (sw->base == 0 && !swarm_valid_id(sw->one->id))
		docker_raise_bad_shape(req, "a service with an \"ID\" of 25 letters and digits");
	foreach(lc, sw->items)
		if (!swarm_valid_id(((SwarmService *) lfirst(lc))->id))
			docker_raise_bad_shape(req, "services with an \"ID\" of 25 letters and digits");
}

/* GET one object of the swarm; NULL if there is none (HTTP 404). */
static DockerRequest *
get_object(char *path, char *what)
{
	DockerRequest *req = docker_request_new("GET", path, what);

	docker_run_request(req);
	if (req->status == 404)
		return NULL;
	if (req->status != 200)
		docker_raise_failure(req);
	return req;
}

/* The request of an inspect of a service by id or name, not yet run. */
static DockerRequest *
inspect_request_new(const char *ref)
{
	return docker_request_new("GET", psprintf("/services/%s", docker_url_segment(ref)),
							  psprintf("inspect service \"%s\"", ref));
}

/*
 * The service an inspect that has run answered; NULL if there is none.
 * Swarm, like Docker, also resolves an id prefix: only an exact match
 * counts.
 */
static DockerRequest *
inspect_decode(DockerRequest *req, const char *ref, SwarmService *out)
{
	ServiceWalk sw = {0};

	memset(out, 0, sizeof(SwarmService));
	if (req->failure == DOCKER_ANSWERED && req->status == 404)
		return NULL;
	if (req->failure != DOCKER_ANSWERED || req->status != 200)
		docker_raise_failure(req);
	sw.one = out;
	walk_services(req, &sw);
	if (strcmp(out->id, ref) != 0 && (out->name == NULL || strcmp(out->name, ref) != 0))
		return NULL;
	return req;
}

/* Inspect a service by id or exact name; NULL if there is none. */
static DockerRequest *
inspect_request(const char *ref, SwarmService *out)
{
	DockerRequest *req = inspect_request_new(ref);

	docker_run_request(req);
	return inspect_decode(req, ref, out);
}

bool
swarm_inspect_service(const char *ref, SwarmService *out)
{
	return inspect_request(ref, out) != NULL;
}

/*
 * Every service carrying our label, with its running and desired task
 * counts, in one request, whatever the number of users.
 */
List *
swarm_list_services(void)
{
	DockerRequest *req;
	ServiceWalk sw = {0};

	req = docker_request_new("GET", "/services?status=true&filters=%7B" MANAGED_FILTER "%7D",
							 "list services");
	docker_run_request(req);
	if (req->status != 200)
		docker_raise_failure(req);
	sw.base = 1;
	walk_services(req, &sw);
	return sw.items;
}

static void
task_scalar(JsonWalker *w, char *value, JsonTokenType type)
{
	SwarmTask  *t = json_items_current(w);

	if (t == NULL)
		return;
	if (type == JSON_TOKEN_NUMBER && json_walk_at(w, 4, "[*]", "Status", "ContainerStatus", "ExitCode"))
		t->exit_code = atoi(value);
	if (type != JSON_TOKEN_STRING)
		return;
	if (json_walk_at(w, 2, "[*]", "ID"))
		t->id = value;
	else if (json_walk_at(w, 2, "[*]", "ServiceID"))
		t->service_id = value;
	else if (json_walk_at(w, 2, "[*]", "NodeID"))
		t->node_id = value;
	else if (json_walk_at(w, 2, "[*]", "DesiredState"))
		t->desired_state = value;
	else if (json_walk_at(w, 3, "[*]", "Status", "State"))
		t->state = value;
	else if (json_walk_at(w, 3, "[*]", "Status", "Err"))
		t->error = value;
	else if (json_walk_at(w, 3, "[*]", "Status", "Message"))
		t->message = value;
	else if (json_walk_at(w, 4, "[*]", "Status", "ContainerStatus", "ContainerID"))
		t->container_id = value;
}

static List *list_tasks(const char *service_id, bool meant_to_run);

/*
 * The tasks meant to be running: of one service (by id), or of all of ours
 * (service_id NULL; the tasks' label filter matches their service's
 * labels).  Always filtered by desired state: every scale to 0 leaves a
 * shut-down task in the history, which would otherwise grow every answer.
 */
List *
swarm_list_tasks(const char *service_id)
{
	return list_tasks(service_id, true);
}

/*
 * Every task of one service, whatever its desired state: for one-shot
 * services (container_move's), whose finished task is what is wanted.
 */
List *
swarm_list_all_tasks(const char *service_id)
{
	return list_tasks(service_id, false);
}

static List *
list_tasks(const char *service_id, bool meant_to_run)
{
	DockerRequest *req;
	JsonWalker	w = {0};
	JsonItems	tasks = {.item_size = sizeof(SwarmTask)};
	char	   *filter;
	ListCell   *lc;

	if (service_id != NULL)
		filter = psprintf("%%22service%%22%%3A%%5B%%22%s%%22%%5D", docker_url_segment(service_id));
	else
		filter = MANAGED_FILTER;
	if (meant_to_run)
		filter = psprintf("%%22desired-state%%22%%3A%%5B%%22running%%22%%5D%%2C%s", filter);
	req = docker_request_new("GET",
							 psprintf("/tasks?filters=%%7B%s%%7D", filter),
							 service_id ? psprintf("list the tasks of service \"%s\"", service_id) :
							 pstrdup("list tasks"));
	docker_run_request(req);
	if (req->status != 200)
		docker_raise_failure(req);
	w.on_scalar = task_scalar;
	w.on_container_start = json_items_start;
	w.state = &tasks;
	docker_walk_response(req, &w);
	if (!json_items_ok(&tasks))
		docker_raise_bad_shape(req, "a JSON array of task objects");
	foreach(lc, tasks.items)
		if (!swarm_valid_id(((SwarmTask *) lfirst(lc))->id))
			docker_raise_bad_shape(req, "tasks with an \"ID\" of 25 letters and digits");
	return tasks.items;
}

static void
append_json_string(StringInfo buf, const char *s)
{
	escape_json(buf, s ? s : "");
}

/* Swarm's restart conditions for Docker's restart policies. */
static const char *
restart_condition(const char *policy)
{
	if (strcmp(policy, "no") == 0)
		return "none";
	if (strcmp(policy, "on-failure") == 0)
		return "on-failure";
	return "any";
}

/*
 * TaskTemplate.ContainerSpec: the container as docker_api.c makes it, as
 * far as services can say it.  The containers carry no labels of ours:
 * the service is what pg_container manages, and a labelled task container
 * would look like an orphan to a plain engine's sweeps.
 */
static void
append_container_spec(StringInfo buf, const ContainerSpec *spec)
{
	appendStringInfoString(buf, "\"ContainerSpec\":{\"Image\":");
	append_json_string(buf, spec->image);
	appendStringInfoString(buf, ",\"Hostname\":");
	append_json_string(buf, psprintf("%.63s", spec->name));
	docker_append_string_array(buf, "Env", spec->env);
	if (spec->command != NIL)
		docker_append_string_array(buf, "Args", spec->command);
	appendStringInfoString(buf, ",\"Mounts\":[{\"Type\":\"volume\",\"Source\":");
	append_json_string(buf, spec->volume);
	appendStringInfoString(buf, ",\"Target\":");
	append_json_string(buf, spec->state_path);
	if (spec->volume_shared)
	{
		/* Whichever node runs the task makes the volume the same way. */
		appendStringInfoString(buf, ",\"VolumeOptions\":{\"DriverConfig\":{\"Name\":");
		append_json_string(buf, spec->volume_driver);
		appendStringInfoString(buf, ",\"Options\":");
		docker_append_driver_options(buf, spec->volume_options);
		appendStringInfoString(buf, "}}");
	}
	appendStringInfoString(buf, "}]");
	if (spec->drop_capabilities)
		appendStringInfoString(buf, ",\"CapabilityDrop\":[\"ALL\"]");
	if (spec->init)
		appendStringInfoString(buf, ",\"Init\":true");
	appendStringInfo(buf, ",\"StopGracePeriod\":" INT64_FORMAT,
					 (int64) pgc_stop_timeout_s * INT64CONST(1000000000));
	appendStringInfoChar(buf, '}');
}

static char *
build_service_body(const ContainerSpec *spec, int replicas)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"Name\":");
	append_json_string(&buf, spec->name);
	appendStringInfoChar(&buf, ',');
	docker_append_spec_labels(&buf, spec);
	appendStringInfoString(&buf, ",\"TaskTemplate\":{");
	append_container_spec(&buf, spec);
	appendStringInfoString(&buf, ",\"Resources\":{\"Limits\":{");
	appendStringInfo(&buf, "\"MemoryBytes\":" INT64_FORMAT ",\"NanoCPUs\":" INT64_FORMAT
					 ",\"Pids\":" INT64_FORMAT "}",
					 Max(spec->memory_bytes, 0), Max(spec->nano_cpus, 0), Max(spec->pids_limit, 0));
	if (spec->memory_reserved_bytes > 0)
		appendStringInfo(&buf, ",\"Reservations\":{\"MemoryBytes\":" INT64_FORMAT "}",
						 spec->memory_reserved_bytes);
	appendStringInfoChar(&buf, '}');
	appendStringInfoString(&buf, ",\"RestartPolicy\":{\"Condition\":");
	append_json_string(&buf, restart_condition(spec->restart_policy));
	appendStringInfoChar(&buf, '}');
	if (spec->log_max_size_mb > 0)
		appendStringInfo(&buf, ",\"LogDriver\":{\"Name\":\"json-file\",\"Options\":{%s}}",
						 docker_log_options(spec));
	appendStringInfoString(&buf, ",\"Placement\":{},\"Networks\":[{\"Target\":");
	append_json_string(&buf, spec->network);
	appendStringInfoString(&buf, "}]}");
	appendStringInfo(&buf, ",\"Mode\":{\"Replicated\":{\"Replicas\":%d}}", replicas);
	appendStringInfoString(&buf, ",\"EndpointSpec\":{\"Mode\":\"dnsrr\"");
	if (spec->publish)
		appendStringInfo(&buf, ",\"Ports\":[{\"Protocol\":\"tcp\",\"TargetPort\":%d,"
						 "\"PublishedPort\":%d,\"PublishMode\":\"host\"}]",
						 spec->gateway_port, spec->host_port);
	appendStringInfoString(&buf, "}}");
	return buf.data;
}

/*
 * Create the user's service with the given replicas; returns its id.  If
 * the name is taken, *name_taken is set and NULL is returned: the caller
 * adopts the service that holds it.  The body carries the token: errors
 * are redacted of secret, and the body is wiped.
 */
char *
swarm_create_service(const ContainerSpec *spec, int replicas, bool *name_taken,
					 const char *secret)
{
	DockerRequest *req;
	char	   *body = build_service_body(spec, replicas);
	SwarmService created = {0};
	ServiceWalk sw = {0};

	*name_taken = false;
	req = docker_request_new("POST", "/services/create",
							 psprintf("create service \"%s\"", spec->name));
	req->body = body;
	docker_run_request(req);
	explicit_bzero(body, strlen(body));
	if (req->status == 409)
	{
		*name_taken = true;
		return NULL;
	}
	if (req->status != 201)
	{
		req->response = docker_redact(req->response, secret);
		docker_raise_failure(req);
	}
	/* {"ID": ..., "Warnings": [...]}: the service walk reads the ID. */
	sw.one = &created;
	walk_services(req, &sw);
	return created.id;
}

/* spec with the value at path (text[] as C strings) replaced by a jsonb. */
static Datum
jsonb_replace_datum(Datum spec, int npath, const char *const *path, Datum value)
{
	Datum	   *elems = palloc(sizeof(Datum) * npath);
	ArrayType  *array;

	for (int i = 0; i < npath; i++)
		elems[i] = CStringGetTextDatum(path[i]);
	array = construct_array(elems, npath, TEXTOID, -1, false, TYPALIGN_INT);
	return DirectFunctionCall4(jsonb_set, spec, PointerGetDatum(array), value,
							   BoolGetDatum(true));
}

/* spec with the value at path replaced by one given as JSON text. */
static Datum
jsonb_replace(Datum spec, int npath, const char *const *path, const char *value)
{
	return jsonb_replace_datum(spec, npath, path,
							   DirectFunctionCall1(jsonb_in, CStringGetDatum(value)));
}

/* A field of a jsonb object, or (Datum) 0 if it has none. */
static Datum
jsonb_field(Datum object, const char *key)
{
	FunctionCallInfo fcinfo = palloc0(SizeForFunctionCallInfo(2));
	Datum		result;

	InitFunctionCallInfoData(*fcinfo, NULL, 2, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = object;
	fcinfo->args[1].value = CStringGetTextDatum(key);
	result = jsonb_object_field(fcinfo);
	return fcinfo->isnull ? (Datum) 0 : result;
}

/*
 * The service's Spec made from a new ContainerSpec: its labels (merged
 * over the service's own), task template and endpoint are the new spec's;
 * its mode (the replicas) and the task template's placement (the pin to
 * the node holding the user's volume) stay as they are, as does anything
 * else the service carries.
 */
static Datum
respec(Datum spec, const ContainerSpec *new_spec)
{
	char	   *body = build_service_body(new_spec, 0);
	Datum		fresh = DirectFunctionCall1(jsonb_in, CStringGetDatum(body));
	Datum		old_template = jsonb_field(spec, "TaskTemplate");
	Datum		old_labels = jsonb_field(spec, "Labels");
	Datum		placement = old_template ? jsonb_field(old_template, "Placement") : (Datum) 0;
	Datum		labels = jsonb_field(fresh, "Labels");

	explicit_bzero(body, strlen(body));
	if (old_labels)
		labels = DirectFunctionCall2(jsonb_concat, old_labels, labels);
	spec = jsonb_replace_datum(spec, 1, (const char *const[]) {"Labels"}, labels);
	spec = jsonb_replace_datum(spec, 1, (const char *const[]) {"TaskTemplate"},
							   jsonb_field(fresh, "TaskTemplate"));
	spec = jsonb_replace_datum(spec, 1, (const char *const[]) {"EndpointSpec"},
							   jsonb_field(fresh, "EndpointSpec"));
	if (placement)
		spec = jsonb_replace_datum(spec, 2, (const char *const[]) {"TaskTemplate", "Placement"},
								   placement);
	return spec;
}

/*
 * A Spec saved before an update, to put back: as it was but for its mode
 * (the replicas) and placement (a pin made since), which stay as they are.
 */
static Datum
restore_spec(Datum spec, const char *old_spec)
{
	Datum		old = DirectFunctionCall1(jsonb_in, CStringGetDatum(old_spec));
	Datum		mode = jsonb_field(spec, "Mode");
	Datum		template = jsonb_field(spec, "TaskTemplate");
	Datum		placement = template ? jsonb_field(template, "Placement") : (Datum) 0;

	if (mode)
		old = jsonb_replace_datum(old, 1, (const char *const[]) {"Mode"}, mode);
	if (placement && jsonb_field(old, "TaskTemplate"))
		old = jsonb_replace_datum(old, 2, (const char *const[]) {"TaskTemplate", "Placement"},
								  placement);
	return old;
}

/*
 * The body of an update: the service's Spec as read, with Replicas set
 * (replicas >= 0), the placement pinned to a node (pin_node not NULL),
 * made from a new ContainerSpec (new_spec not NULL) or put back as it was
 * saved (old_spec not NULL); the Spec as read is saved in *saved_spec if
 * that is not NULL.
 */
static char *
build_update_body(DockerRequest *inspected, const SwarmChange *change)
{
	Datum		whole = DirectFunctionCall1(jsonb_in, CStringGetDatum(inspected->response));
	Datum		spec = DirectFunctionCall2(jsonb_object_field, whole, CStringGetTextDatum("Spec"));

	if (change->saved_spec != NULL)
		*change->saved_spec = DatumGetCString(DirectFunctionCall1(jsonb_out, spec));
	if (change->new_spec != NULL)
		spec = respec(spec, change->new_spec);
	if (change->old_spec != NULL)
		spec = restore_spec(spec, change->old_spec);
	if (change->replicas >= 0)
		spec = jsonb_replace(spec, 1, (const char *const[]) {"Mode"},
							 psprintf("{\"Replicated\":{\"Replicas\":%d}}", change->replicas));
	if (change->pin_node != NULL)
	{
		StringInfoData placement;

		initStringInfo(&placement);
		appendStringInfoString(&placement, "{\"Constraints\":[");
		append_json_string(&placement, psprintf("node.id==%s", change->pin_node));
		appendStringInfoString(&placement, "]}");
		spec = jsonb_replace(spec, 2, (const char *const[]) {"TaskTemplate", "Placement"},
							 placement.data);
	}
	return DatumGetCString(DirectFunctionCall1(jsonb_out, spec));
}

/* Swarm's answer to an update carrying a version that is not the latest. */
static bool
out_of_sequence(DockerRequest *req)
{
	return req->status == 500 && strstr(docker_error_message(req), "update out of sequence") != NULL;
}

/*
 * The update request of a change to a service, as inspected; NULL if the
 * inspect shows no service.  The body may carry the token: it is wiped
 * once the request has run (swarm_finish_update).
 */
DockerRequest *
swarm_prepare_update(const char *id, const char *name, const SwarmChange *change)
{
	SwarmService s;
	DockerRequest *inspected = inspect_request(id, &s);

	if (inspected == NULL)
		return NULL;
	return swarm_update_request(inspected, &s, name, change);
}

/* The update request for a service whose inspect answer is given. */
DockerRequest *
swarm_update_request(DockerRequest *inspected, const SwarmService *s, const char *name,
					 const SwarmChange *change)
{
	DockerRequest *req;

	if (s->name == NULL)
		docker_raise_bad_shape(inspected, "a service with a \"Spec\"");
	req = docker_request_new("POST",
							 psprintf("/services/%s/update?version=" UINT64_FORMAT,
									  docker_url_segment(s->id), s->version),
							 psprintf("update service \"%s\"", name));
	req->body = build_update_body(inspected, change);
	explicit_bzero(inspected->response, inspected->response_len);
	return req;
}

/*
 * What an update that has run came to: SWARM_UPDATED, SWARM_GONE (no such
 * service), or SWARM_STALE (its version lost a race: read it again).  Any
 * other failure is raised, with the secret redacted.
 */
SwarmUpdateOutcome
swarm_finish_update(DockerRequest *req, const char *secret)
{
	explicit_bzero(req->body, strlen(req->body));
	if (req->failure == DOCKER_ANSWERED && req->status == 200)
		return SWARM_UPDATED;
	if (req->failure == DOCKER_ANSWERED && req->status == 404)
		return SWARM_GONE;
	if (req->failure == DOCKER_ANSWERED && out_of_sequence(req))
		return SWARM_STALE;
	if (secret != NULL)
		req->response = docker_redact(req->response, secret);
	docker_raise_failure(req);
}

/*
 * Apply a change to a service.  Returns false if there is no such
 * service.  A version that went stale between our read and our write is
 * read again and retried, up to SWARM_UPDATE_ATTEMPTS times.
 */
bool
swarm_change_service(const char *id, const char *name, const SwarmChange *change,
					 const char *secret)
{
	for (int attempt = 1; attempt <= SWARM_UPDATE_ATTEMPTS; attempt++)
	{
		DockerRequest *req = swarm_prepare_update(id, name, change);

		if (req == NULL)
			return false;
		docker_run_request(req);
		switch (swarm_finish_update(req, secret))
		{
			case SWARM_UPDATED:
				return true;
			case SWARM_GONE:
				return false;
			case SWARM_STALE:
				break;
		}
		ereport(LOG,
				(errmsg("service \"%s\" changed while it was being updated; reading it again",
						name)));
	}
	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 errmsg("could not update service \"%s\": it changed under every one of %d attempts",
					name, SWARM_UPDATE_ATTEMPTS),
			 errdetail("The swarm manager answered \"update out of sequence\" each time."),
			 errhint("Something else keeps updating the service; try again once it stops.")));
	pg_unreachable();
}

/*
 * Update a service: set its replicas (-1: leave them) and pin it to a node
 * (NULL: leave its placement).  Returns false if there is no such service.
 */
bool
swarm_update_service(const char *id, const char *name, int replicas, const char *pin_node)
{
	SwarmChange change = {.replicas = replicas,.pin_node = pin_node};

	return swarm_change_service(id, name, &change, NULL);
}

/* What scale_request decodes, in a subtransaction of its own. */
typedef struct ScaleDecode
{
	DockerStop *stop;
	DockerRequest *inspected;
	int			replicas;
	DockerRequest *update;
} ScaleDecode;

static void
scale_decode(void *arg)
{
	ScaleDecode *d = arg;
	SwarmService s;
	SwarmChange change = {.replicas = d->replicas};

	if (inspect_decode(d->inspected, d->stop->id, &s) == NULL)
		d->stop->gone = d->stop->stopped = true;
	else if (s.replicas == d->replicas)
		d->stop->stopped = true;
	else
		d->update = swarm_update_request(d->inspected, &s, d->stop->name, &change);
}

/*
 * From the inspect of one service of a scale_many, the update that scales
 * it, or NULL once its outcome is known: gone, already at the replicas, or
 * an error (recorded in stop, not raised: only decoding happens inside, in
 * a subtransaction, so what the decoding held is released).  A cancel or
 * a shutdown is raised all the same.
 */
static DockerRequest *
scale_request(DockerStop *stop, DockerRequest *inspected, int replicas)
{
	ScaleDecode d = {stop, inspected, replicas, NULL};
	ErrorData  *edata = pgc_in_subtransaction(scale_decode, &d);

	if (edata == NULL)
		return d.update;
	if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED || edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
		ReThrowError(edata);
	stop->error = edata->message;
	return NULL;
}

/* Record what an update of a scale_many came to; false if it was stale. */
static bool
settle_update(DockerStop *stop, DockerRequest *req)
{
	explicit_bzero(req->body, strlen(req->body));
	if (req->failure == DOCKER_ANSWERED && (req->status == 200 || req->status == 404))
	{
		stop->stopped = true;
		stop->gone = req->status == 404;
		return true;
	}
	if (req->failure == DOCKER_ANSWERED && out_of_sequence(req))
		return false;
	stop->error = docker_failure_message(req);
	return true;
}

/*
 * Scale many services (DockerStop: id and name) to the given replicas,
 * at most max_parallel requests at once: the inspects together, then the
 * updates together, each with the version its inspect read.  The ones
 * whose version went stale go round again, up to SWARM_UPDATE_ATTEMPTS
 * times.  Each outcome is recorded in its DockerStop, never raised.
 */
void
swarm_scale_many(DockerStop *stops, int count, int replicas, int max_parallel)
{
	DockerStop **pending = palloc(sizeof(DockerStop *) * Max(count, 1));
	DockerRequest **reqs = palloc(sizeof(DockerRequest *) * Max(count, 1));
	int			npending = count;

	for (int i = 0; i < count; i++)
	{
		stops[i].stopped = stops[i].gone = false;
		stops[i].error = NULL;
		pending[i] = &stops[i];
	}
	for (int attempt = 1; attempt <= SWARM_UPDATE_ATTEMPTS && npending > 0; attempt++)
	{
		int			nupdates = 0;

		for (int i = 0; i < npending; i++)
			reqs[i] = inspect_request_new(pending[i]->id);
		docker_run_requests(reqs, npending, max_parallel);
		for (int i = 0; i < npending; i++)
		{
			DockerRequest *update = scale_request(pending[i], reqs[i], replicas);

			if (update == NULL)
				continue;
			pending[nupdates] = pending[i];
			reqs[nupdates++] = update;
		}
		docker_run_requests(reqs, nupdates, max_parallel);
		npending = 0;
		for (int i = 0; i < nupdates; i++)
			if (!settle_update(pending[i], reqs[i]))
				pending[npending++] = pending[i];
	}
	for (int i = 0; i < npending; i++)
		pending[i]->error = psprintf("service \"%s\" changed under every one of %d attempts to update it",
									 pending[i]->name, SWARM_UPDATE_ATTEMPTS);
}

/* Remove a service; false if it was gone already.  Volumes stay. */
bool
swarm_remove_service(const char *id, const char *name)
{
	DockerRequest *req;

	req = docker_request_new("DELETE", psprintf("/services/%s", docker_url_segment(id)),
							 psprintf("remove service \"%s\"", name));
	docker_run_request(req);
	if (req->status == 200 || req->status == 204)
		return true;
	if (req->status == 404)
		return false;
	docker_raise_failure(req);
}

/*
 * Wait until no task of the service (by id) runs any more, or timeout_ms
 * passes; true if none does.  A scale to 0 returns before the containers
 * have stopped, and a stop must not return while the gateway still holds
 * its port and its volume.
 */
bool
swarm_wait_tasks_down(const char *id, const char *name, int timeout_ms)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);

	for (;;)
	{
		DockerRequest *req;
		JsonWalker	w = {0};
		JsonItems	tasks = {.item_size = sizeof(SwarmTask)};
		ListCell   *lc;
		bool		any_up = false;

		req = docker_request_new("GET",
								 psprintf("/tasks?filters=%%7B%%22service%%22%%3A%%5B%%22%s%%22%%5D%%7D",
										  docker_url_segment(id)),
								 psprintf("list the tasks of service \"%s\"", name));
		docker_run_request(req);
		if (req->status != 200)
			docker_raise_failure(req);
		w.on_scalar = task_scalar;
		w.on_container_start = json_items_start;
		w.state = &tasks;
		docker_walk_response(req, &w);
		foreach(lc, tasks.items)
		{
			SwarmTask  *t = lfirst(lc);

			/* Swarm's states up to "running" are a task on its way up or up. */
			if (t->state != NULL &&
				strcmp(t->state, "complete") != 0 && strcmp(t->state, "shutdown") != 0 &&
				strcmp(t->state, "failed") != 0 && strcmp(t->state, "rejected") != 0 &&
				strcmp(t->state, "orphaned") != 0 && strcmp(t->state, "remove") != 0)
				any_up = true;
		}
		if (!any_up)
			return true;
		if (GetCurrentTimestamp() >= deadline)
			return false;
		docker_sleep_between_polls(TASK_POLL_MS, false);
	}
}

/*
 * Wait until the manager holds no container of the service (by id), or
 * timeout_ms passes; true if none is left.  Swarm removes a deleted
 * service's containers in the background, and until it has, their volume
 * is in use.  Only the manager's own containers are seen: on other nodes,
 * volumes are not removed through this engine at all.
 */
bool
swarm_wait_containers_gone(const char *id, const char *name, int timeout_ms)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);

	for (;;)
	{
		DockerRequest *req;

		/* filters={"label":["com.docker.swarm.service.id=<id>"]} */
		req = docker_request_new("GET",
								 psprintf("/containers/json?all=1&filters=%%7B%%22label%%22%%3A%%5B%%22"
										  "com.docker.swarm.service.id%%3D%s%%22%%5D%%7D",
										  docker_url_segment(id)),
								 psprintf("list the containers of service \"%s\"", name));
		docker_run_request(req);
		if (req->status != 200)
			docker_raise_failure(req);
		if (strspn(req->response, " \t\r\n[]") == req->response_len)
			return true;
		if (GetCurrentTimestamp() >= deadline)
			return false;
		docker_sleep_between_polls(TASK_POLL_MS, false);
	}
}

static void
node_scalar(JsonWalker *w, char *value, JsonTokenType type)
{
	SwarmNode  *n = w->state;

	if (type != JSON_TOKEN_STRING)
		return;
	if (json_walk_at(w, 1, "ID"))
		n->id = value;
	else if (json_walk_at(w, 2, "Description", "Hostname"))
		n->hostname = value;
	else if (json_walk_at(w, 2, "Status", "State"))
		n->state = value;
	else if (json_walk_at(w, 2, "Status", "Addr"))
		n->address = value;
	else if (json_walk_at(w, 2, "Spec", "Availability"))
		n->availability = value;
}

/* A node by id; false if the swarm does not know it. */
bool
swarm_inspect_node(const char *id, SwarmNode *out)
{
	DockerRequest *req;
	JsonWalker	w = {0};

	memset(out, 0, sizeof(SwarmNode));
	req = get_object(psprintf("/nodes/%s", docker_url_segment(id)),
					 psprintf("inspect node \"%s\"", id));
	if (req == NULL)
		return false;
	w.on_scalar = node_scalar;
	w.state = out;
	docker_walk_response(req, &w);
	if (!swarm_valid_id(out->id) || out->state == NULL)
		docker_raise_bad_shape(req, "a node with an \"ID\" and a \"Status\"");
	return true;
}
