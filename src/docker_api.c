/*-------------------------------------------------------------------------
 *
 * docker_api.c
 *	  The Docker Engine API operations pg_container uses, with their
 *	  request bodies and the decoding of their answers.
 *
 * Each operation turns the statuses that are part of normal life (404 for a
 * container that is gone, 304 for one already in the wanted state, 409 for
 * a name already taken) into return values, and every other status into an
 * ERROR naming the operation, the HTTP status and Docker's own message.
 *
 * Responses are checked with PostgreSQL's JSON parser before they are
 * turned into jsonb, so an engine that sends garbage gets an error that
 * says so instead of a generic jsonb syntax error.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/jsonapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "docker_api.h"
#include "docker_http.h"
#include "settings.h"

/*
 * Percent-encode a path segment.  Our names and ids are plain already;
 * this keeps a damaged container_id from steering a request elsewhere.
 */
static char *
url_segment(const char *s)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.')
			appendStringInfoChar(&buf, (char) *p);
		else
			appendStringInfo(&buf, "%%%02X", *p);
	}
	return buf.data;
}

/* Parse a response body as JSON, with an error that names the operation. */
static Jsonb *
parse_response(DockerRequest *req)
{
	JsonLexContext *lex;
	JsonParseErrorType rc;

	lex = makeJsonLexContextCstringLen(req->response, (int) req->response_len,
									   GetDatabaseEncoding(), true);
	rc = pg_parse_json(lex, &nullSemAction);
	if (rc != JSON_SUCCESS)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not %s: the Docker engine returned invalid JSON", req->what),
				 errdetail("%s", json_errdetail(rc, lex))));
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(req->response)));
}

static void
raise_bad_shape(DockerRequest *req, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_SYSTEM_ERROR),
			 errmsg("could not %s: unexpected response from the Docker engine", req->what),
			 errdetail("Expected %s.", expected)));
}

static JsonbValue *
json_member(JsonbContainer *obj, const char *key)
{
	if (obj == NULL || !JsonContainerIsObject(obj))
		return NULL;
	return getKeyJsonValueFromContainer(obj, key, strlen(key), NULL);
}

static char *
json_string(JsonbContainer *obj, const char *key)
{
	JsonbValue *v = json_member(obj, key);

	if (v == NULL || v->type != jbvString)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

static bool
json_bool(JsonbContainer *obj, const char *key, bool missing)
{
	JsonbValue *v = json_member(obj, key);

	if (v == NULL || v->type != jbvBool)
		return missing;
	return v->val.boolean;
}

/* A nested object or array, or NULL. */
static JsonbContainer *
json_container(JsonbContainer *obj, const char *key)
{
	JsonbValue *v = json_member(obj, key);

	if (v == NULL || v->type != jbvBinary)
		return NULL;
	return v->val.binary.data;
}

/* First HostPort of ports["<port>/tcp"], as an integer; 0 if absent. */
static int
published_host_port(JsonbContainer *ports, int container_port)
{
	char		key[32];
	JsonbContainer *bindings;
	JsonbValue *first;
	char	   *text;
	int			port;

	snprintf(key, sizeof(key), "%d/tcp", container_port);
	bindings = json_container(ports, key);
	if (bindings == NULL || !JsonContainerIsArray(bindings) || JsonContainerSize(bindings) == 0)
		return 0;
	first = getIthJsonbValueFromContainer(bindings, 0);
	if (first == NULL || first->type != jbvBinary)
		return 0;
	text = json_string(first->val.binary.data, "HostPort");
	if (text == NULL)
		return 0;
	port = atoi(text);
	return (port > 0 && port <= 65535) ? port : 0;
}

static void
decode_inspect(DockerRequest *req, DockerContainer *out)
{
	Jsonb	   *doc = parse_response(req);
	JsonbContainer *root = &doc->root;
	JsonbContainer *state;
	JsonbContainer *health;
	JsonbContainer *config;
	JsonbContainer *labels;
	char	   *name;

	if (!JsonContainerIsObject(root))
		raise_bad_shape(req, "a JSON object");

	memset(out, 0, sizeof(DockerContainer));
	out->id = json_string(root, "Id");
	if (out->id == NULL || out->id[0] == '\0')
		raise_bad_shape(req, "a container with a string \"Id\"");

	name = json_string(root, "Name");
	out->name = (name != NULL && name[0] == '/') ? name + 1 : name;

	state = json_container(root, "State");
	if (state == NULL || !JsonContainerIsObject(state))
		raise_bad_shape(req, "a container with a \"State\" object");
	out->state = json_string(state, "Status");
	out->running = json_bool(state, "Running", false);
	out->paused = json_bool(state, "Paused", false);
	health = json_container(state, "Health");
	out->health = health ? json_string(health, "Status") : NULL;

	/* Live bindings of a running container, else the configured ones. */
	out->host_port = published_host_port(json_container(json_container(root, "NetworkSettings"), "Ports"),
										  pgc_gateway_port);
	if (out->host_port == 0)
		out->host_port = published_host_port(json_container(json_container(root, "HostConfig"), "PortBindings"),
											  pgc_gateway_port);

	config = json_container(root, "Config");
	labels = json_container(config, "Labels");
	out->user_label = json_string(labels, PGC_LABEL_USER_ID);
	out->spec_label = json_string(labels, PGC_LABEL_SPEC_HASH);
}

/*
 * Inspect a container by id or name.  Returns false if it does not exist.
 *
 * Docker resolves a reference as full id, then exact name, then id prefix;
 * a name lookup that lands on an id prefix is not the container we asked
 * for, so a reference that is not an id must match the name exactly.
 */
bool
docker_inspect_container(const char *ref, DockerContainer *out)
{
	DockerRequest *req;

	req = docker_request_new("GET",
							 psprintf("/containers/%s/json", url_segment(ref)),
							 psprintf("inspect container \"%s\"", ref));
	docker_run_request(req);
	if (req->status == 404)
		return false;
	if (req->status != 200)
		docker_raise_failure(req);
	decode_inspect(req, out);

	if (strcmp(out->id, ref) != 0 &&
		(out->name == NULL || strcmp(out->name, ref) != 0))
		return false;
	return true;
}

/*
 * The health shown in a container list's Status text, as "Up 5 minutes
 * (unhealthy)": the list API has no structured health field before 1.52.
 */
static char *
health_from_status_text(const char *status)
{
	if (status == NULL)
		return NULL;
	if (strstr(status, "(unhealthy)") != NULL)
		return "unhealthy";
	if (strstr(status, "(healthy)") != NULL)
		return "healthy";
	if (strstr(status, "(health: starting)") != NULL)
		return "starting";
	return NULL;
}

/*
 * Every container carrying our label, running or not, in one request: a
 * health check costs the same for 10 users as for 10,000.
 */
List *
docker_list_managed_containers(void)
{
	DockerRequest *req;
	Jsonb	   *doc;
	JsonbContainer *array;
	List	   *result = NIL;
	int			count;

	/* filters={"label":["pg_container.managed=true"]}, percent-encoded */
	req = docker_request_new("GET",
							 "/containers/json?all=1&filters=%7B%22label%22%3A%5B%22"
							 PGC_LABEL_MANAGED "%3Dtrue%22%5D%7D",
							 "list containers");
	docker_run_request(req);
	if (req->status != 200)
		docker_raise_failure(req);

	doc = parse_response(req);
	array = &doc->root;
	if (!JsonContainerIsArray(array) || JsonContainerIsScalar(array))
		raise_bad_shape(req, "a JSON array of containers");

	count = JsonContainerSize(array);
	for (int i = 0; i < count; i++)
	{
		JsonbValue *item = getIthJsonbValueFromContainer(array, i);
		JsonbContainer *obj;
		JsonbContainer *names;
		DockerContainer *c;

		if (item == NULL || item->type != jbvBinary || !JsonContainerIsObject(item->val.binary.data))
			raise_bad_shape(req, "a JSON array of container objects");
		obj = item->val.binary.data;

		c = palloc0(sizeof(DockerContainer));
		c->id = json_string(obj, "Id");
		if (c->id == NULL)
			raise_bad_shape(req, "containers with a string \"Id\"");
		names = json_container(obj, "Names");
		if (names != NULL && JsonContainerIsArray(names) && JsonContainerSize(names) > 0)
		{
			JsonbValue *first = getIthJsonbValueFromContainer(names, 0);

			if (first != NULL && first->type == jbvString)
			{
				c->name = pnstrdup(first->val.string.val, first->val.string.len);
				if (c->name[0] == '/')
					c->name++;
			}
		}
		c->state = json_string(obj, "State");
		/* As inspect says: a paused container is running, and paused. */
		c->paused = c->state != NULL && strcmp(c->state, "paused") == 0;
		c->running = c->paused || (c->state != NULL && strcmp(c->state, "running") == 0);
		c->health = health_from_status_text(json_string(obj, "Status"));
		c->user_label = json_string(json_container(obj, "Labels"), PGC_LABEL_USER_ID);
		c->spec_label = json_string(json_container(obj, "Labels"), PGC_LABEL_SPEC_HASH);
		result = lappend(result, c);
	}
	return result;
}

/*
 * The host ports that running containers publish, ours or not (an integer
 * List): when one port turns out to be taken, the rest can be skipped
 * without a create and a failed start each.
 */
List *
docker_published_host_ports(void)
{
	DockerRequest *req;
	Jsonb	   *doc;
	JsonbContainer *array;
	List	   *ports = NIL;

	req = docker_request_new("GET", "/containers/json", "list published ports");
	docker_run_request(req);
	if (req->status != 200)
		docker_raise_failure(req);
	doc = parse_response(req);
	array = &doc->root;
	if (!JsonContainerIsArray(array) || JsonContainerIsScalar(array))
		raise_bad_shape(req, "a JSON array of containers");

	for (int i = 0; i < (int) JsonContainerSize(array); i++)
	{
		JsonbValue *item = getIthJsonbValueFromContainer(array, i);
		JsonbContainer *bindings;

		if (item == NULL || item->type != jbvBinary)
			continue;
		bindings = json_container(item->val.binary.data, "Ports");
		if (bindings == NULL || !JsonContainerIsArray(bindings))
			continue;
		for (int j = 0; j < (int) JsonContainerSize(bindings); j++)
		{
			JsonbValue *b = getIthJsonbValueFromContainer(bindings, j);
			JsonbValue *public_port;

			if (b == NULL || b->type != jbvBinary)
				continue;
			public_port = json_member(b->val.binary.data, "PublicPort");
			if (public_port != NULL && public_port->type == jbvNumeric)
				ports = lappend_int(ports, DatumGetInt32(DirectFunctionCall1(numeric_int4,
																			 NumericGetDatum(public_port->val.numeric))));
		}
	}
	return ports;
}

static void
append_json_string(StringInfo buf, const char *s)
{
	escape_json(buf, s ? s : "");
}

static char *
build_create_body(const ContainerSpec *spec)
{
	StringInfoData buf;
	ListCell   *lc;
	bool		first = true;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"Image\":");
	append_json_string(&buf, spec->image);

	appendStringInfoString(&buf, ",\"Env\":[");
	foreach(lc, spec->env)
	{
		if (!first)
			appendStringInfoChar(&buf, ',');
		append_json_string(&buf, (const char *) lfirst(lc));
		first = false;
	}
	appendStringInfoChar(&buf, ']');

	appendStringInfo(&buf, ",\"Labels\":{\"%s\":\"true\",\"%s\":", PGC_LABEL_MANAGED, PGC_LABEL_USER_ID);
	append_json_string(&buf, spec->user_id);
	if (spec->spec_hash != NULL)
	{
		appendStringInfo(&buf, ",\"%s\":", PGC_LABEL_SPEC_HASH);
		append_json_string(&buf, spec->spec_hash);
	}
	appendStringInfoChar(&buf, '}');

	appendStringInfo(&buf, ",\"ExposedPorts\":{\"%d/tcp\":{}}", spec->gateway_port);

	appendStringInfoString(&buf, ",\"HostConfig\":{\"Binds\":[");
	append_json_string(&buf, psprintf("%s:%s", spec->volume, spec->state_path));
	appendStringInfo(&buf, "],\"PortBindings\":{\"%d/tcp\":[{\"HostIp\":", spec->gateway_port);
	append_json_string(&buf, spec->publish_address);
	appendStringInfo(&buf, ",\"HostPort\":\"%d\"}]}", spec->host_port);
	appendStringInfoString(&buf, ",\"NetworkMode\":");
	append_json_string(&buf, spec->network);

	/* Never privileged, never gaining privileges through setuid binaries. */
	appendStringInfoString(&buf, ",\"Privileged\":false,\"SecurityOpt\":[\"no-new-privileges\"]");
	appendStringInfoString(&buf, ",\"RestartPolicy\":{\"Name\":");
	append_json_string(&buf, spec->restart_policy);
	appendStringInfoChar(&buf, '}');
	if (spec->memory_bytes > 0)
		appendStringInfo(&buf, ",\"Memory\":" INT64_FORMAT, spec->memory_bytes);
	if (spec->nano_cpus > 0)
		appendStringInfo(&buf, ",\"NanoCpus\":" INT64_FORMAT, spec->nano_cpus);
	if (spec->pids_limit > 0)
		appendStringInfo(&buf, ",\"PidsLimit\":" INT64_FORMAT, spec->pids_limit);
	appendStringInfoString(&buf, "}}");
	return buf.data;
}

/* "repo[:tag]" or "repo@digest" into the fromImage and tag of a pull. */
static void
split_image_reference(const char *image, char **from_image, char **tag)
{
	const char *at = strchr(image, '@');
	const char *slash = strrchr(image, '/');
	const char *colon = strrchr(image, ':');

	if (at != NULL)
	{
		*from_image = pnstrdup(image, at - image);
		*tag = pstrdup(at + 1);
	}
	else if (colon != NULL && (slash == NULL || colon > slash))
	{
		*from_image = pnstrdup(image, colon - image);
		*tag = pstrdup(colon + 1);
	}
	else
	{
		*from_image = pstrdup(image);
		*tag = pstrdup("latest");
	}
}

/*
 * Pull an image.  The engine streams progress as JSON lines and reports a
 * failure that happens midway inside that stream, with status 200.
 */
static void
docker_pull_image(const char *image)
{
	DockerRequest *req;
	char	   *from_image;
	char	   *tag;
	const char *error_key;

	split_image_reference(image, &from_image, &tag);
	req = docker_request_new("POST",
							 psprintf("/images/create?fromImage=%s&tag=%s",
									  url_segment(from_image), url_segment(tag)),
							 psprintf("pull image \"%s\"", image));
	/* A pull moves layers; give it far longer than an API call. */
	req->timeout_ms = Max(pgc_docker_timeout_ms, 10 * 60 * 1000);
	/* Its progress stream can be long; a failure is reported at its end. */
	req->keep_tail = true;
	docker_run_request(req);
	if (req->status != 200)
		docker_raise_failure(req);

	error_key = strstr(req->response, "\"error\"");
	if (error_key != NULL)
	{
		DockerRequest detail = *req;

		detail.response = pstrdup(error_key);
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not pull image \"%s\": %s", image,
						docker_error_message(&detail))));
	}
}

/* Replace every occurrence of secret in text, so errors cannot leak it. */
static char *
redact(const char *text, const char *secret)
{
	StringInfoData buf;
	size_t		slen;
	const char *p;
	const char *hit;

	if (secret == NULL || secret[0] == '\0' || strstr(text, secret) == NULL)
		return (char *) text;
	slen = strlen(secret);
	initStringInfo(&buf);
	for (p = text; (hit = strstr(p, secret)) != NULL; p = hit + slen)
	{
		appendBinaryStringInfo(&buf, p, hit - p);
		appendStringInfoString(&buf, "[redacted]");
	}
	appendStringInfoString(&buf, p);
	return buf.data;
}

/*
 * Create a container from spec; returns its id.  An image missing locally
 * is pulled once.  If the name is taken, *name_taken is set and NULL is
 * returned: the caller adopts the container that holds it.  Docker's
 * messages are redacted of secret, which the request body carries.
 */
char *
docker_create_container(const ContainerSpec *spec, bool *name_taken, const char *secret)
{
	char	   *body = build_create_body(spec);
	bool		pulled = false;

	*name_taken = false;
	for (;;)
	{
		DockerRequest *req;
		Jsonb	   *doc;
		char	   *id;

		req = docker_request_new("POST",
								 psprintf("/containers/create?name=%s", url_segment(spec->name)),
								 psprintf("create container \"%s\"", spec->name));
		req->body = body;
		docker_run_request(req);

		if (req->status == 201)
		{
			doc = parse_response(req);
			id = json_string(&doc->root, "Id");
			if (id == NULL || id[0] == '\0')
				raise_bad_shape(req, "a created container's \"Id\"");
			return id;
		}
		if (req->status == 409)
		{
			*name_taken = true;
			return NULL;
		}
		/* Redact before the message is cut short, or a cut token could leak. */
		req->response = redact(req->response, secret);
		if (req->status == 404 && !pulled &&
			strstr(docker_error_message(req), "No such image") != NULL)
		{
			docker_pull_image(spec->image);
			pulled = true;
			continue;
		}
		docker_raise_failure(req);
	}
}

DockerStartResult
docker_start_container(const char *id, const char *name)
{
	DockerRequest *req;
	char	   *message;

	req = docker_request_new("POST",
							 psprintf("/containers/%s/start", url_segment(id)),
							 psprintf("start container \"%s\"", name));
	docker_run_request(req);
	if (req->status == 204 || req->status == 304)
		return DOCKER_STARTED;

	message = docker_error_message(req);
	if (req->status == 404 && strstr(message, "No such container") != NULL)
		return DOCKER_START_NOT_FOUND;
	/* Docker's two ways of saying the host port is bound elsewhere. */
	if (req->status == 500 &&
		(strstr(message, "port is already allocated") != NULL ||
		 strstr(message, "address already in use") != NULL))
		return DOCKER_START_PORT_TAKEN;
	docker_raise_failure(req);
}

/* Stop a container; false if it does not exist.  Never removes it. */
bool
docker_stop_container(const char *id, const char *name)
{
	DockerRequest *req;

	req = docker_request_new("POST",
							 psprintf("/containers/%s/stop?t=%d", url_segment(id), pgc_stop_timeout_s),
							 psprintf("stop container \"%s\"", name));
	/* The engine answers only once the container is down. */
	req->timeout_ms = pgc_docker_timeout_ms + pgc_stop_timeout_s * 1000;
	docker_run_request(req);
	if (req->status == 204 || req->status == 304)
		return true;
	if (req->status == 404)
		return false;
	docker_raise_failure(req);
}

/*
 * Stop many containers at once, at most max_parallel at a time, each
 * waiting up to pg_container.stop_timeout.  Each outcome is recorded in
 * its DockerStop instead of raised, so one failure stops nothing else.
 */
void
docker_stop_containers(DockerStop *stops, int count, int max_parallel)
{
	DockerRequest **reqs = palloc(sizeof(DockerRequest *) * Max(count, 1));

	for (int i = 0; i < count; i++)
	{
		reqs[i] = docker_request_new("POST",
									 psprintf("/containers/%s/stop?t=%d", url_segment(stops[i].id), pgc_stop_timeout_s),
									 psprintf("stop container \"%s\"", stops[i].name));
		reqs[i]->timeout_ms = pgc_docker_timeout_ms + pgc_stop_timeout_s * 1000;
	}
	docker_run_requests(reqs, count, max_parallel);

	for (int i = 0; i < count; i++)
	{
		DockerRequest *req = reqs[i];

		stops[i].gone = req->failure == DOCKER_ANSWERED && req->status == 404;
		stops[i].stopped = stops[i].gone ||
			(req->failure == DOCKER_ANSWERED && (req->status == 204 || req->status == 304));
		stops[i].error = stops[i].stopped ? NULL : docker_failure_message(req);
	}
}

void
docker_unpause_container(const char *id, const char *name)
{
	DockerRequest *req;

	req = docker_request_new("POST",
							 psprintf("/containers/%s/unpause", url_segment(id)),
							 psprintf("unpause container \"%s\"", name));
	docker_run_request(req);
	if (req->status != 204 && req->status != 304)
		docker_raise_failure(req);
}

/*
 * Remove a container, never its named volume: Docker's v=1 only removes
 * anonymous volumes, and we do not even ask for that.
 */
void
docker_remove_container(const char *id, const char *name)
{
	DockerRequest *req;

	req = docker_request_new("DELETE",
							 psprintf("/containers/%s?force=1", url_segment(id)),
							 psprintf("remove container \"%s\"", name));
	docker_run_request(req);
	if (req->status != 204 && req->status != 404)
		docker_raise_failure(req);
}

/*
 * Remove a named volume: the user's data.  Only container_remove with
 * keep_volume => false calls this.  A volume that is already gone is fine.
 */
void
docker_remove_volume(const char *volume)
{
	DockerRequest *req;

	req = docker_request_new("DELETE",
							 psprintf("/volumes/%s", url_segment(volume)),
							 psprintf("remove volume \"%s\"", volume));
	docker_run_request(req);
	if (req->status != 204 && req->status != 404)
		docker_raise_failure(req);
}
