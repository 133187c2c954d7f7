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
 * Responses are read in one streaming pass of PostgreSQL's JSON parser
 * (json_walk.c), picking out just the fields we use; invalid JSON and a
 * document of the wrong shape each get an error that says so.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/json.h"

#include "docker_api.h"
#include "docker_http.h"
#include "json_walk.h"
#include "names.h"
#include "settings.h"

/* Creates of one network that may meet a 409 (made meanwhile) in a row. */
#define NETWORK_CREATE_ATTEMPTS 3

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
		if (pgc_name_char((char) *p))
			appendStringInfoChar(&buf, (char) *p);
		else
			appendStringInfo(&buf, "%%%02X", *p);
	}
	return buf.data;
}

/*
 * Whether an id is a full Docker container id.  Anything else the engine
 * calls an id is refused before it is stored, logged or used in a path.
 */
bool
docker_valid_id(const char *id)
{
	if (id == NULL || strlen(id) != DOCKER_ID_LENGTH)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/*
 * A string from the engine made safe for a log line or a message: control
 * characters (a newline would forge a log line) become '?'.
 */
char *
docker_printable(const char *s)
{
	char	   *out;

	if (s == NULL)
		return NULL;
	out = pstrdup(s);
	for (char *p = out; *p; p++)
		if ((unsigned char) *p < ' ' || *p == 0x7f)
			*p = '?';
	return out;
}

/* Walk a response body, with an error that names the operation if it is not JSON. */
static void
walk_response(DockerRequest *req, JsonWalker *w)
{
	char	   *detail;

	/*
	 * What the engine says ends up in the table, in log lines and in error
	 * messages: it must be valid in the database's encoding first.
	 */
	if (!pg_verify_mbstr(GetDatabaseEncoding(), req->response, (int) req->response_len, true))
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("the Docker engine's response is not valid in the database encoding"),
				 docker_operation_context(req)));
	if (json_walk(w, req->response, req->response_len, &detail) != JSON_SUCCESS)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("the Docker engine returned invalid JSON"),
				 errdetail("%s", detail),
				 docker_operation_context(req)));
}

static void
raise_bad_shape(DockerRequest *req, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_SYSTEM_ERROR),
			 errmsg("unexpected response from the Docker engine"),
			 errdetail("Expected %s.", expected),
			 docker_operation_context(req)));
}

/* A port number from a JSON string or number; 0 if it is not one. */
static int
port_value(const char *text)
{
	int			port = text ? atoi(text) : 0;

	return (port > 0 && port <= 65535) ? port : 0;
}

/* What decode_inspect collects in its walk. */
typedef struct InspectWalk
{
	DockerContainer *out;
	const char *port_key;		/* "<gateway port>/tcp" */
	bool		root_is_object;
	bool		state_is_object;
	bool		id_is_string;
	int			live_port;		/* NetworkSettings.Ports */
	int			configured_port;	/* HostConfig.PortBindings */
} InspectWalk;

static void
inspect_container_start(JsonWalker *w, bool is_object)
{
	InspectWalk *iw = w->state;

	if (w->depth == 0)
		iw->root_is_object = is_object;
	else if (is_object && json_walk_at(w, 1, "State"))
		iw->state_is_object = true;
}

static void
inspect_scalar(JsonWalker *w, char *value, JsonTokenType type)
{
	InspectWalk *iw = w->state;
	DockerContainer *out = iw->out;
	bool		is_string = (type == JSON_TOKEN_STRING);
	const char *top;

	/* Most of an inspect is of no interest: drop it after one comparison. */
	if (w->depth == 0 || w->depth > 5 || (top = w->path[0].field) == NULL)
		return;
	if (top[0] != 'I' && top[0] != 'N' && top[0] != 'S' && top[0] != 'H' && top[0] != 'C' &&
		top[0] != 'R')
		return;

	if (json_walk_at(w, 1, "Id"))
	{
		iw->id_is_string = is_string;
		out->id = value;
	}
	else if (json_walk_at(w, 1, "Name") && is_string)
		out->name = (value[0] == '/') ? value + 1 : value;
	else if (json_walk_at(w, 2, "State", "Status") && is_string)
		out->state = value;
	else if (json_walk_at(w, 2, "State", "Running"))
		out->running = (type == JSON_TOKEN_TRUE);
	else if (json_walk_at(w, 2, "State", "Paused"))
		out->paused = (type == JSON_TOKEN_TRUE);
	else if (json_walk_at(w, 3, "State", "Health", "Status") && is_string)
		out->health = value;
	else if (json_walk_at(w, 2, "State", "OOMKilled"))
		out->oom_killed = (type == JSON_TOKEN_TRUE);
	else if (json_walk_at(w, 2, "State", "ExitCode") && type == JSON_TOKEN_NUMBER)
		out->exit_code = atoi(value);
	else if (json_walk_at(w, 1, "RestartCount") && type == JSON_TOKEN_NUMBER)
		out->restart_count = atoi(value);
	else if (json_walk_at(w, 3, "Config", "Env", "[*]") && is_string &&
			 strncmp(value, "AGENT_TOKEN=", 12) == 0)
		out->env_token = value + 12;
	else if (json_walk_at(w, 5, "NetworkSettings", "Ports", iw->port_key, "[0]", "HostPort"))
		iw->live_port = port_value(value);
	else if (json_walk_at(w, 5, "HostConfig", "PortBindings", iw->port_key, "[0]", "HostPort"))
		iw->configured_port = port_value(value);
	else if (json_walk_at(w, 3, "Config", "Labels", PGC_LABEL_USER_ID) && is_string)
		out->user_label = value;
	else if (json_walk_at(w, 3, "Config", "Labels", PGC_LABEL_SPEC_HASH) && is_string)
		out->spec_label = value;
	else if (json_walk_at(w, 3, "Config", "Labels", PGC_LABEL_INSTALLATION) && is_string)
		out->installation_label = value;
}

static void
decode_inspect(DockerRequest *req, DockerContainer *out)
{
	JsonWalker	w = {0};
	InspectWalk iw = {0};

	memset(out, 0, sizeof(DockerContainer));
	iw.out = out;
	iw.port_key = psprintf("%d/tcp", pgc_gateway_port);
	w.on_scalar = inspect_scalar;
	w.on_container_start = inspect_container_start;
	w.state = &iw;
	walk_response(req, &w);

	if (!iw.root_is_object)
		raise_bad_shape(req, "a JSON object");
	if (!iw.id_is_string || !docker_valid_id(out->id))
		raise_bad_shape(req, "a container with an \"Id\" of 64 hexadecimal digits");
	if (!iw.state_is_object)
		raise_bad_shape(req, "a container with a \"State\" object");

	/* Live bindings of a running container, else the configured ones. */
	out->host_port = iw.live_port ? iw.live_port : iw.configured_port;
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

/* What a list walk collects: one DockerContainer per array element. */
typedef struct ListWalk
{
	JsonItems	containers;		/* first: json_items_* use it */
	List	   *ports;			/* published host ports, for the port list */
} ListWalk;

static void
list_scalar(JsonWalker *w, char *value, JsonTokenType type)
{
	ListWalk   *lw = w->state;
	DockerContainer *c = json_items_current(w);

	if (c == NULL)
		return;
	if (type == JSON_TOKEN_STRING)
	{
		if (json_walk_at(w, 2, "[*]", "Id"))
			c->id = value;
		else if (json_walk_at(w, 3, "[*]", "Names", "[0]"))
			c->name = (value[0] == '/') ? value + 1 : value;
		else if (json_walk_at(w, 2, "[*]", "State"))
		{
			/* As inspect says: a paused container is running, and paused. */
			c->state = value;
			c->paused = strcmp(value, "paused") == 0;
			c->running = c->paused || strcmp(value, "running") == 0;
		}
		else if (json_walk_at(w, 2, "[*]", "Status"))
			c->health = health_from_status_text(value);
		else if (json_walk_at(w, 3, "[*]", "Labels", PGC_LABEL_USER_ID))
			c->user_label = value;
		else if (json_walk_at(w, 3, "[*]", "Labels", PGC_LABEL_SPEC_HASH))
			c->spec_label = value;
		else if (json_walk_at(w, 3, "[*]", "Labels", PGC_LABEL_INSTALLATION))
			c->installation_label = value;
	}
	else if (type == JSON_TOKEN_NUMBER && json_walk_at(w, 2, "[*]", "Created"))
		c->created = strtoi64(value, NULL, 10);
	else if (type == JSON_TOKEN_NUMBER && json_walk_at(w, 4, "[*]", "Ports", "[*]", "PublicPort"))
	{
		int			port = port_value(value);

		if (port != 0)
			lw->ports = lappend_int(lw->ports, port);
	}
}

/* GET a container list and walk it. */
static void
walk_container_list(DockerRequest *req, ListWalk *lw)
{
	JsonWalker	w = {0};
	ListCell   *lc;

	docker_run_request(req);
	if (req->status != 200)
		docker_raise_failure(req);

	w.on_scalar = list_scalar;
	w.on_container_start = json_items_start;
	w.state = lw;
	lw->containers.item_size = sizeof(DockerContainer);
	walk_response(req, &w);
	if (!json_items_ok(&lw->containers))
		raise_bad_shape(req, "a JSON array of container objects");
	foreach(lc, lw->containers.items)
		if (!docker_valid_id(((DockerContainer *) lfirst(lc))->id))
			raise_bad_shape(req, "containers with an \"Id\" of 64 hexadecimal digits");
}

/*
 * Every container carrying our label, running or not, in one request: a
 * health check costs the same for 10 users as for 10,000.
 */
List *
docker_list_managed_containers(void)
{
	ListWalk	lw = {0};

	/* filters={"label":["pg_container.managed=true"]}, percent-encoded */
	walk_container_list(docker_request_new("GET",
										   "/containers/json?all=1&filters=%7B%22label%22%3A%5B%22"
										   PGC_LABEL_MANAGED "%3Dtrue%22%5D%7D",
										   "list containers"),
						&lw);
	return lw.containers.items;
}

/*
 * The host ports that running containers publish, ours or not (an integer
 * List): when one port turns out to be taken, the rest can be skipped
 * without a create and a failed start each.
 */
List *
docker_published_host_ports(void)
{
	ListWalk	lw = {0};

	walk_container_list(docker_request_new("GET", "/containers/json", "list published ports"), &lw);
	return lw.ports;
}

static void
append_json_string(StringInfo buf, const char *s)
{
	escape_json(buf, s ? s : "");
}

/* ,"key":["a","b",...]: also for the Swarm engine's service specs. */
void
docker_append_string_array(StringInfo buf, const char *key, List *values)
{
	ListCell   *lc;

	appendStringInfo(buf, ",\"%s\":[", key);
	foreach(lc, values)
	{
		if (lc != list_head(values))
			appendStringInfoChar(buf, ',');
		append_json_string(buf, (const char *) lfirst(lc));
	}
	appendStringInfoChar(buf, ']');
}

/*
 * "Labels":{...}: what says a container (or a Swarm service) is ours,
 * whose, and from what spec.
 */
void
docker_append_spec_labels(StringInfo buf, const ContainerSpec *spec)
{
	appendStringInfo(buf, "\"Labels\":{\"%s\":\"true\",\"%s\":", PGC_LABEL_MANAGED, PGC_LABEL_USER_ID);
	append_json_string(buf, spec->user_id);
	if (spec->installation != NULL)
	{
		appendStringInfo(buf, ",\"%s\":", PGC_LABEL_INSTALLATION);
		append_json_string(buf, spec->installation);
	}
	if (spec->spec_hash != NULL)
	{
		appendStringInfo(buf, ",\"%s\":", PGC_LABEL_SPEC_HASH);
		append_json_string(buf, spec->spec_hash);
	}
	if (!spec->publish)
		appendStringInfo(buf, ",\"%s\":\"%d\"", PGC_LABEL_HOST_PORT, spec->host_port);
	appendStringInfoChar(buf, '}');
}

/* ,"HostConfig":{...}: volume, published port, network, hardening, limits. */
static void
append_host_config(StringInfo buf, const ContainerSpec *spec)
{
	appendStringInfoString(buf, ",\"HostConfig\":{\"Binds\":[");
	append_json_string(buf, psprintf("%s:%s", spec->volume, spec->state_path));
	appendStringInfo(buf, "],\"PortBindings\":{\"%d/tcp\":[{\"HostIp\":", spec->gateway_port);
	append_json_string(buf, spec->publish_address);
	appendStringInfo(buf, ",\"HostPort\":\"%d\"}]}", spec->host_port);
	appendStringInfoString(buf, ",\"NetworkMode\":");
	append_json_string(buf, spec->network);

	/* Never privileged, never gaining privileges through setuid binaries. */
	appendStringInfoString(buf, ",\"Privileged\":false,\"SecurityOpt\":[\"no-new-privileges\"]");
	if (spec->drop_capabilities)
		appendStringInfoString(buf, ",\"CapDrop\":[\"ALL\"]");
	if (spec->init)
		appendStringInfoString(buf, ",\"Init\":true");
	appendStringInfoString(buf, ",\"RestartPolicy\":{\"Name\":");
	append_json_string(buf, spec->restart_policy);
	appendStringInfoChar(buf, '}');
	if (spec->memory_bytes > 0)
		appendStringInfo(buf, ",\"Memory\":" INT64_FORMAT, spec->memory_bytes);
	if (spec->nano_cpus > 0)
		appendStringInfo(buf, ",\"NanoCpus\":" INT64_FORMAT, spec->nano_cpus);
	if (spec->pids_limit > 0)
		appendStringInfo(buf, ",\"PidsLimit\":" INT64_FORMAT, spec->pids_limit);
	if (spec->log_max_size_mb > 0)
		appendStringInfo(buf, ",\"LogConfig\":{\"Type\":\"json-file\",\"Config\":{%s}}",
						 docker_log_options(spec));
	appendStringInfoChar(buf, '}');
}

/*
 * The options of a bounded json-file log, as JSON members: a tenant's
 * output must not fill the engine's disk.
 */
char *
docker_log_options(const ContainerSpec *spec)
{
	return psprintf("\"max-size\":\"%dm\",\"max-file\":\"%d\"",
					spec->log_max_size_mb, spec->log_max_files);
}


static char *
build_create_body(const ContainerSpec *spec)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"Image\":");
	append_json_string(&buf, spec->image);

	/*
	 * The host name stays the same across recreations: OpenClaw leaves an
	 * owner lease on its state folder naming the host, and a gateway killed
	 * before releasing it blocks a successor on another host name for five
	 * minutes.
	 */
	appendStringInfoString(&buf, ",\"Hostname\":");
	append_json_string(&buf, psprintf("%.63s", spec->name));	/* HOST_NAME_MAX */
	docker_append_string_array(&buf, "Env", spec->env);
	appendStringInfoChar(&buf, ',');
	docker_append_spec_labels(&buf, spec);
	if (spec->command != NIL)
		docker_append_string_array(&buf, "Cmd", spec->command);
	appendStringInfo(&buf, ",\"ExposedPorts\":{\"%d/tcp\":{}}", spec->gateway_port);
	append_host_config(&buf, spec);
	appendStringInfoChar(&buf, '}');
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
redact_as(const char *text, const char *secret, const char *replacement)
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
		appendStringInfoString(&buf, replacement);
	}
	appendStringInfoString(&buf, p);
	return buf.data;
}

static char *
redact(const char *text, const char *secret)
{
	return redact_as(text, secret, "[redacted]");
}

/* Shortest piece of a secret that is redacted where a line begins or ends. */
#define SECRET_EDGE_MIN 8

/*
 * A line of output with the secret redacted, also a piece of it that
 * begins or ends the line: a tail or since can start inside a line that
 * Docker split into frames, and a line still being written ends inside it.
 */
static char *
redact_log_line(const char *line, const char *secret)
{
	char	   *out = redact_as(line, secret, "<redacted>");
	size_t		slen = secret ? strlen(secret) : 0;
	size_t		len = strlen(out);

	for (size_t n = Min(slen - 1, len); slen > 0 && n >= SECRET_EDGE_MIN; n--)
		if (memcmp(out, secret + slen - n, n) == 0)
		{
			out = psprintf("<redacted>%s", out + n);
			len = strlen(out);
			break;
		}
	for (size_t n = Min(slen - 1, len); slen > 0 && n >= SECRET_EDGE_MIN; n--)
		if (memcmp(out + len - n, secret, n) == 0)
		{
			out = psprintf("%.*s<redacted>", (int) (len - n), out);
			break;
		}
	return out;
}

/*
 * Add the lines of one chunk of log output, each made safe to show: valid
 * text, control characters replaced, and then (so that what is shown is
 * what was searched) the secret redacted.
 */
static List *
append_log_lines(List *lines, const char *data, size_t len, const char *secret)
{
	const char *end = data + len;

	while (data < end)
	{
		const char *nl = memchr(data, '\n', end - data);
		size_t		n = (nl ? nl : end) - data;
		char	   *line = palloc(n + 1);

		/* A NUL byte would end the string early: it is a control byte too. */
		for (size_t i = 0; i < n; i++)
			line[i] = data[i] ? data[i] : '?';
		line[n] = '\0';
		if (n > 0 && line[n - 1] == '\r')
			line[n - 1] = '\0';
		/* Log output is the gateway's bytes: make it valid text first. */
		if (!pg_verify_mbstr(GetDatabaseEncoding(), line, strlen(line), true))
			for (char *p = line; *p; p++)
				if ((unsigned char) *p >= 0x80)
					*p = '?';
		lines = lappend(lines, redact_log_line(docker_printable(line), secret));
		data = nl ? nl + 1 : end;
	}
	return lines;
}

/*
 * The lines of multiplexed output: frames of an 8-byte header (stream, 0,
 * 0, 0, big-endian length) and the payload.  Docker splits a line longer
 * than 16 KiB into several frames, and the other stream's frames may come
 * between them, so each stream's bytes are joined into whole lines before
 * a line is redacted: a secret cut at a frame boundary is found whole.
 */
static List *
append_framed_lines(List *lines, const unsigned char *p, const unsigned char *end,
					const char *secret)
{
	StringInfoData pending[3];

	for (int i = 0; i < 3; i++)
		initStringInfo(&pending[i]);
	while (end - p >= 8)
	{
		StringInfo	buf = &pending[p[0] <= 2 ? p[0] : 0];
		size_t		n = ((size_t) p[4] << 24) | ((size_t) p[5] << 16) | ((size_t) p[6] << 8) | p[7];
		int			done = buf->len;

		p += 8;
		n = Min(n, (size_t) (end - p));
		appendBinaryStringInfo(buf, (const char *) p, (int) n);
		p += n;
		/* Hand on the stream's whole lines; keep its unfinished one. */
		while (done > 0 && buf->data[done - 1] != '\n')
			done--;
		if (done > 0)
		{
			lines = append_log_lines(lines, buf->data, done, secret);
			memmove(buf->data, buf->data + done, buf->len - done + 1);
			buf->len -= done;
		}
	}
	for (int i = 0; i < 3; i++)
		if (pending[i].len > 0)
			lines = append_log_lines(lines, pending[i].data, pending[i].len, secret);
	return lines;
}

/*
 * The last lines of a container's output, stdout and stderr, in order,
 * with every occurrence of secret (the user's token) replaced by
 * "<redacted>".  Docker multiplexes the two streams in frames, unless the
 * container has a TTY, when the output comes raw.  The answer is bounded
 * by pg_container.max_response_size.
 */
static List *
read_logs(char *path, char *what, int tail, int64 since, const char *secret)
{
	DockerRequest *req;
	const unsigned char *p;

	req = docker_request_new("GET",
							 psprintf("%s?stdout=1&stderr=1&tail=%d&since=" INT64_FORMAT, path, tail, since),
							 what);
	docker_run_request(req);
	if (req->status != 200)
		docker_raise_failure(req);

	p = (const unsigned char *) req->response;
	if (req->response_len >= 8 && p[0] <= 2 && p[1] == 0 && p[2] == 0 && p[3] == 0)
		return append_framed_lines(NIL, p, p + req->response_len, secret);
	return append_log_lines(NIL, req->response, req->response_len, secret);
}

List *
docker_container_logs(const char *id, const char *name, int tail, int64 since, const char *secret)
{
	return read_logs(psprintf("/containers/%s/logs", url_segment(id)),
					 psprintf("read the logs of container \"%s\"", name), tail, since, secret);
}

/*
 * The same for a swarm service: its tasks' output, gathered by the
 * manager from whichever nodes ran them, in the same framing.
 */
List *
docker_service_logs(const char *id, const char *name, int tail, int64 since, const char *secret)
{
	return read_logs(psprintf("/services/%s/logs", url_segment(id)),
					 psprintf("read the logs of service \"%s\"", name), tail, since, secret);
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
		char	   *id;

		req = docker_request_new("POST",
								 psprintf("/containers/create?name=%s", url_segment(spec->name)),
								 psprintf("create container \"%s\"", spec->name));
		req->body = body;
		docker_run_request(req);

		if (req->status == 201)
		{
			DockerContainer created;
			JsonWalker	w = {0};
			InspectWalk iw = {0};

			/* {"Id": ..., "Warnings": [...]}: the inspect walk reads the Id. */
			memset(&created, 0, sizeof(created));
			iw.out = &created;
			iw.port_key = "";
			w.on_scalar = inspect_scalar;
			w.on_container_start = inspect_container_start;
			w.state = &iw;
			walk_response(req, &w);
			/* The body carried the token: wipe it. */
			explicit_bzero(body, strlen(body));
			id = created.id;
			if (!iw.id_is_string || !docker_valid_id(id))
				raise_bad_shape(req, "a created container's \"Id\" of 64 hexadecimal digits");
			return id;
		}
		if (req->status == 409)
		{
			explicit_bzero(body, strlen(body));
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
		explicit_bzero(body, strlen(body));
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

/*
 * A request to stop a container, waiting up to pg_container.stop_timeout:
 * the engine answers only once the container is down.
 */
static DockerRequest *
stop_request(const char *id, const char *name)
{
	DockerRequest *req = docker_request_new("POST",
											psprintf("/containers/%s/stop?t=%d", url_segment(id), pgc_stop_timeout_s),
											psprintf("stop container \"%s\"", name));

	req->timeout_ms = pgc_docker_timeout_ms + pgc_stop_timeout_s * 1000;
	return req;
}

/* Stop a container; false if it does not exist.  Never removes it. */
bool
docker_stop_container(const char *id, const char *name)
{
	DockerRequest *req = stop_request(id, name);

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
		reqs[i] = stop_request(stops[i].id, stops[i].name);
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

/* Give a container another name; it keeps everything else. */
void
docker_rename_container(const char *id, const char *new_name)
{
	DockerRequest *req;

	req = docker_request_new("POST",
							 psprintf("/containers/%s/rename?name=%s", url_segment(id), url_segment(new_name)),
							 psprintf("rename container %.12s to \"%s\"", id, new_name));
	docker_run_request(req);
	if (req->status != 204 && req->status != 200)
		docker_raise_failure(req);
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
 * The labels of a volume that say whose it is; of a network also the names
 * of the containers attached to it ("Containers": {"<id>": {"Name": ...}}):
 * by name, as an endpoint whose container went can be detached only so.
 */
typedef struct VolumeWalk
{
	bool		root_is_object;
	char	   *user_label;
	char	   *installation_label;
	List	   *members;
} VolumeWalk;

static void
volume_container_start(JsonWalker *w, bool is_object)
{
	if (w->depth == 0)
		((VolumeWalk *) w->state)->root_is_object = is_object;
}

static void
volume_scalar(JsonWalker *w, char *value, JsonTokenType type)
{
	VolumeWalk *vw = w->state;

	if (w->depth == 3 && w->path[0].field != NULL && strcmp(w->path[0].field, "Containers") == 0 &&
		w->path[2].field != NULL && strcmp(w->path[2].field, "Name") == 0 && type == JSON_TOKEN_STRING)
		vw->members = lappend(vw->members, pstrdup(value));
	if (w->depth != 2 || w->path[0].field == NULL || strcmp(w->path[0].field, "Labels") != 0)
		return;
	if (type != JSON_TOKEN_STRING)
		return;
	if (json_walk_at(w, 2, "Labels", PGC_LABEL_USER_ID))
		vw->user_label = value;
	else if (json_walk_at(w, 2, "Labels", PGC_LABEL_INSTALLATION))
		vw->installation_label = value;
}

/* Whose the volume (or network) a response describes is, by its labels. */
static VolumeOwner
decode_volume_owner(DockerRequest *req, const char *user_id, const char *installation,
					List **members)
{
	JsonWalker	w = {0};
	VolumeWalk	vw = {0};

	w.on_scalar = volume_scalar;
	w.on_container_start = volume_container_start;
	w.state = &vw;
	walk_response(req, &w);
	if (!vw.root_is_object)
		raise_bad_shape(req, "a volume object");
	if (members != NULL)
		*members = vw.members;
	if (vw.user_label != NULL && strcmp(vw.user_label, user_id) != 0)
		return VOLUME_FOREIGN;
	if (installation == NULL)
		return VOLUME_OURS;		/* the tables predate installation labels */
	if (vw.installation_label == NULL)
		return VOLUME_UNLABELLED;	/* made before 0.3.0, or by hand */
	return strcmp(vw.installation_label, installation) == 0 ? VOLUME_OURS : VOLUME_FOREIGN;
}

/*
 * Whose a volume or network (collection "volumes" or "networks") is, by
 * its labels; false if it does not exist.
 */
static bool
inspect_owner(const char *collection, const char *kind, const char *name, const char *user_id,
			  const char *installation, VolumeOwner *owner, List **members)
{
	DockerRequest *req;

	req = docker_request_new("GET", psprintf("/%s/%s", collection, url_segment(name)),
							 psprintf("inspect %s \"%s\"", kind, name));
	docker_run_request(req);
	if (req->status == 404)
		return false;
	if (req->status != 200)
		docker_raise_failure(req);
	*owner = decode_volume_owner(req, user_id, installation, members);
	return true;
}

/*
 * {"key":"value",...} of volume driver options given as "key=value"
 * strings: the key ends at the first "=", the value may hold more.
 */
void
docker_append_driver_options(StringInfo buf, List *options)
{
	ListCell   *lc;

	appendStringInfoChar(buf, '{');
	foreach(lc, options)
	{
		const char *option = lfirst(lc);
		const char *eq = strchr(option, '=');

		if (lc != list_head(options))
			appendStringInfoChar(buf, ',');
		append_json_string(buf, pnstrdup(option, eq - option));
		appendStringInfoChar(buf, ':');
		append_json_string(buf, eq + 1);
	}
	appendStringInfoChar(buf, '}');
}

/* ,"Labels":{...} saying whose a volume or network is. */
static void
append_owner_labels(StringInfo buf, const char *user_id, const char *installation)
{
	appendStringInfo(buf, ",\"Labels\":{\"%s\":\"true\",\"%s\":", PGC_LABEL_MANAGED, PGC_LABEL_USER_ID);
	append_json_string(buf, user_id);
	if (installation != NULL)
	{
		appendStringInfo(buf, ",\"%s\":", PGC_LABEL_INSTALLATION);
		append_json_string(buf, installation);
	}
	appendStringInfoChar(buf, '}');
}

/*
 * Make the user's named volume, labelled for the user and this
 * installation, before the container that mounts it: otherwise Docker makes
 * it unlabelled, and nothing would tell it from another installation's.
 * Docker answers a create of an existing volume with that volume, so what
 * it answers says whose the volume is.
 */
VolumeOwner
docker_create_volume(const char *volume, const char *user_id, const char *installation)
{
	DockerRequest *req;
	StringInfoData body;
	VolumeOwner owner;

	initStringInfo(&body);
	appendStringInfoString(&body, "{\"Name\":");
	append_json_string(&body, volume);
	append_owner_labels(&body, user_id, installation);
	if (pgc_volume_is_shared())
	{
		appendStringInfoString(&body, ",\"Driver\":");
		append_json_string(&body, pgc_volume_driver);
		appendStringInfoString(&body, ",\"DriverOpts\":");
		docker_append_driver_options(&body, spec_volume_options(volume));
	}
	appendStringInfoChar(&body, '}');

	req = docker_request_new("POST", "/volumes/create", psprintf("create volume \"%s\"", volume));
	req->body = body.data;
	docker_run_request(req);
	if (req->status == 409)
	{
		/* Podman's answer for a volume that exists: look at it instead. */
		if (docker_inspect_volume(volume, user_id, installation, &owner))
			return owner;
		docker_raise_failure(req);
	}
	if (req->status != 200 && req->status != 201)
		docker_raise_failure(req);
	owner = decode_volume_owner(req, user_id, installation, NULL);

	/*
	 * After a daemon restart, Docker answers a create of an existing volume
	 * without its labels ("Labels": null); its inspect still has them.
	 */
	if (owner == VOLUME_UNLABELLED &&
		docker_inspect_volume(volume, user_id, installation, &owner))
		return owner;
	return owner;
}

/* The body of a create of a user's own network: see docker_create_network. */
static char *
network_create_body(const char *network, const char *driver, const char *subnet,
					const char *user_id, const char *installation)
{
	StringInfoData body;

	initStringInfo(&body);
	appendStringInfoString(&body, "{\"Name\":");
	append_json_string(&body, network);
	appendStringInfoString(&body, ",\"CheckDuplicate\":true,\"Driver\":");
	append_json_string(&body, driver);
	if (strcmp(driver, "overlay") == 0)
		appendStringInfoString(&body, ",\"Attachable\":true");
	appendStringInfoString(&body, ",\"IPAM\":{\"Config\":[{\"Subnet\":");
	append_json_string(&body, subnet);
	appendStringInfoString(&body, "}]}");
	append_owner_labels(&body, user_id, installation);
	appendStringInfoChar(&body, '}');
	return body.data;
}

/*
 * Make a user's own network with the given driver ("bridge" on one engine,
 * "overlay" on a swarm), labelled like the volume, unless it exists; say
 * whose the network of that name is.  Docker allows two networks of one
 * name, so the name is looked up first and the create asks Docker to
 * refuse a duplicate.  An overlay network is made attachable, so that
 * plain containers (the application's API) can join it too.  A 409 means
 * another call made it between our look and our create: look again, a
 * bounded number of times, for an engine that keeps answering 409 for a
 * network it then does not show would send us round for ever.
 */
VolumeOwner
docker_create_network(const char *network, const char *driver, const char *subnet,
					  const char *user_id, const char *installation, bool *subnet_taken)
{
	DockerRequest *req = NULL;
	VolumeOwner owner;

	*subnet_taken = false;
	for (int attempt = 0; attempt < NETWORK_CREATE_ATTEMPTS; attempt++)
	{
		if (docker_inspect_network(network, user_id, installation, &owner, NULL))
			return owner;
		req = docker_request_new("POST", "/networks/create", psprintf("create network \"%s\"", network));
		req->body = network_create_body(network, driver, subnet, user_id, installation);
		docker_run_request(req);
		if (req->status != 409)
			break;
	}
	if (req->status == 409)
	{
		char	   *said = docker_error_message(req);

		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not create network \"%s\": the engine answered HTTP 409 to each of %d attempts",
						network, NETWORK_CREATE_ATTEMPTS),
				 errdetail("The engine said \"%s\", yet showed no network of that name.", said)));
	}
	if ((req->status == 403 || req->status == 500) && strstr(docker_error_message(req), "overlaps") != NULL)
	{
		*subnet_taken = true;
		return VOLUME_FOREIGN;
	}
	if (req->status != 201)
		docker_raise_failure(req);
	return VOLUME_OURS;
}

/*
 * Whose a network is, and (members not NULL) the names of the containers
 * attached to it on this engine; false if it does not exist.
 */
bool
docker_inspect_network(const char *network, const char *user_id, const char *installation,
					   VolumeOwner *owner, List **members)
{
	return inspect_owner("networks", "network", network, user_id, installation, owner, members);
}

/* POST /networks/{network}/{connect|disconnect} for one container. */
static DockerRequest *
network_membership(const char *network, const char *container, bool attach)
{
	DockerRequest *req;
	StringInfoData body;

	initStringInfo(&body);
	appendStringInfoString(&body, attach ? "{\"Container\":" : "{\"Force\":true,\"Container\":");
	append_json_string(&body, container);
	appendStringInfoChar(&body, '}');
	req = docker_request_new("POST",
							 psprintf("/networks/%s/%s", url_segment(network), attach ? "connect" : "disconnect"),
							 attach ?
							 psprintf("attach container \"%s\" to network \"%s\"", container, network) :
							 psprintf("detach container \"%s\" from network \"%s\"", container, network));
	req->body = body.data;
	docker_run_request(req);
	return req;
}

/* Detach a container from a network, if it is attached. */
void
docker_disconnect_network(const char *network, const char *container)
{
	DockerRequest *req = network_membership(network, container, false);

	/* Not attached, or no such container: either way it is detached. */
	if (req->status != 200 && req->status != 404 && req->status != 403 && req->status != 500)
		docker_raise_failure(req);
}

/*
 * Attach a container to a network; false if there is no such container.
 * One that is attached already is fine.
 */
bool
docker_connect_network(const char *network, const char *container)
{
	DockerRequest *req = network_membership(network, container, true);
	const char *message;

	if (req->status == 200)
		return true;
	message = docker_error_message(req);
	if (req->status == 404 && strstr(message, "network") == NULL)
		return false;

	/*
	 * Docker's ways of saying it is attached already: a bridge answers 403
	 * or 409 "endpoint with name ... already exists in network ...", an
	 * overlay on a swarm 409 "... is already attached to network ...".
	 */
	if ((req->status == 403 || req->status == 409 || req->status == 500) &&
		(strstr(message, "already exists") != NULL ||
		 strstr(message, "already attached") != NULL))
		return true;
	docker_raise_failure(req);
}

/*
 * Remove a network; one that is gone already is fine.  False if the engine
 * says something still uses it, or answers 500 "error marking network ...
 * for deletion" (its store did not take the mark, as while an endpoint is
 * going away): both pass, and the caller tries again, a bounded number of
 * times.
 */
bool
docker_remove_network(const char *network)
{
	DockerRequest *req;

	req = docker_request_new("DELETE", psprintf("/networks/%s", url_segment(network)),
							 psprintf("remove network \"%s\"", network));
	docker_run_request(req);
	if (req->status == 204 || req->status == 200 || req->status == 404)
		return true;
	/* A swarm keeps a removed service's tasks, and their claim, a while. */
	if ((req->status == 400 || req->status == 403 || req->status == 409) &&
		(strstr(docker_error_message(req), "in use") != NULL ||
		 strstr(docker_error_message(req), "active endpoints") != NULL))
		return false;
	if (req->status == 500 && strstr(docker_error_message(req), "error marking network") != NULL)
		return false;
	docker_raise_failure(req);
	pg_unreachable();
}

/* Whose a volume is; false if it does not exist. */
bool
docker_inspect_volume(const char *volume, const char *user_id, const char *installation,
					  VolumeOwner *owner)
{
	return inspect_owner("volumes", "volume", volume, user_id, installation, owner, NULL);
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

/*
 * The helpers above, for swarm_api.c: a swarm manager is the same engine,
 * and its answers are read and reported by the same rules.
 */
char *
docker_url_segment(const char *s)
{
	return url_segment(s);
}

void
docker_walk_response(DockerRequest *req, JsonWalker *w)
{
	walk_response(req, w);
}

void
docker_raise_bad_shape(DockerRequest *req, const char *expected)
{
	raise_bad_shape(req, expected);
}

char *
docker_redact(const char *text, const char *secret)
{
	return redact(text, secret);
}
