/*-------------------------------------------------------------------------
 *
 * gateway.c
 *	  Talking to a user's gateway rather than to Docker: the URL an ensure
 *	  hands out, and the readiness probe that makes sure the gateway
 *	  answers before anyone gets that URL.  The probe is plain HTTP to the
 *	  port the container publishes; it rides on the transport in
 *	  docker_http.c for its libcurl handling, interrupts and time limits.
 *	  A unit that publishes no port (a swarm service with url_mode
 *	  internal) is ready when the engine says it runs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/timestamp.h"

#include "lib/stringinfo.h"

#include "docker_api.h"
#include "engine.h"
#include "docker_http.h"
#include "gateway.h"
#include "settings.h"

/* Lines of output an unready container's error shows. */
#define UNREADY_LOG_LINES 10

/*
 * http://<address>:<port>: the address of the node the unit runs on, if the
 * engine places units on nodes and knows it (a swarm service publishes on
 * its node's own addresses), else the publish address, with a wildcard
 * address made dialable.
 */
static char *
published_url(int host_port, const char *node)
{
	const char *host = NULL;

	if (node != NULL && pgc_engine()->node_address != NULL)
		host = pgc_engine()->node_address(node);
	if (host == NULL)
		host = pgc_publish_address;
	if (strcmp(host, "0.0.0.0") == 0)
		host = "127.0.0.1";
	else if (strcmp(host, "::") == 0)
		host = "::1";
	if (strchr(host, ':') != NULL)
		return psprintf("http://[%s]:%d", host, host_port);
	return psprintf("http://%s:%d", host, host_port);
}

/* The URL a caller reaches the gateway at, per pg_container.url_mode. */
char *
gateway_url(const char *container_name, int host_port)
{
	return gateway_node_url(container_name, host_port, NULL);
}

/* The same, for a unit the engine placed on node (NULL: not placed). */
char *
gateway_node_url(const char *container_name, int host_port, const char *node)
{
	if (pgc_url_mode == PGC_URL_INTERNAL)
		return psprintf("http://%s:%d", container_name, pgc_gateway_port);
	return published_url(host_port, node);
}

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
	if (!pgc_engine()->find(container_id, &c))
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
	foreach(lc, pgc_engine()->logs(container_id, container_name, UNREADY_LOG_LINES, 0, token))
		appendStringInfo(&buf, "\n%s", (char *) lfirst(lc));
	return buf.data;
}

/*
 * The readiness of a unit that publishes no port: its task running, as
 * the engine reports it (with the image's HEALTHCHECK, once healthy).
 */
static void
wait_until_running(const char *container_id, const char *container_name, const char *token)
{
	char	   *state;

	if (pgc_engine()->wait_running(container_id, container_name, pgc_ready_timeout_ms))
		return;
	state = describe_unready(container_id, container_name, token);
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("container \"%s\" did not become ready within %d ms", container_name, pgc_ready_timeout_ms),
			 errdetail("Its task was not running. %s", state),
			 errhint("It publishes no port, so it is ready once it runs; pg_container.ready_timeout sets the wait, container_logs() shows its output.")));
}

/*
 * A readiness probe of the gateway on host_port: a GET of
 * pg_container.ready_path with a limit of timeout_ms, for
 * docker_run_requests.  Callers that poll many gateways at once (the start
 * queue) build one each and run them together.
 */
DockerRequest *
gateway_ready_probe(const char *container_name, int host_port, const char *node, int timeout_ms)
{
	DockerRequest *probe;

	probe = docker_request_new("GET", NULL,
							   psprintf("check readiness of container \"%s\"", container_name));
	probe->url = psprintf("%s%s", published_url(host_port, node), pgc_ready_path);
	probe->wait_event = docker_wait_event(true);
	probe->timeout_ms = timeout_ms;
	return probe;
}

/* Whether a probe that ran found the gateway ready: 2xx, not even a 404. */
bool
gateway_probe_ready(const DockerRequest *probe)
{
	return probe->failure == DOCKER_ANSWERED && probe->status >= 200 && probe->status < 300;
}

/*
 * The error of a gateway that did not become ready within
 * pg_container.ready_timeout, or that is gone (gateway_container_gone)
 * before it did, after its last probe.  The container's state
 * and output take an inspect and a log fetch, which can fail themselves:
 * they are read before the error is raised.
 */
void
gateway_raise_unready(const char *container_id, const char *container_name,
					  const DockerRequest *probe, const char *token, bool gone)
{
	char	   *last_words = describe_unready(container_id, container_name, token);

	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 gone ?
			 errmsg("container \"%s\" stopped before it became ready", container_name) :
			 errmsg("container \"%s\" did not become ready within %d ms", container_name, pgc_ready_timeout_ms),
			 probe->failure == DOCKER_ANSWERED ?
			 errdetail("The last GET %s answered HTTP %ld. %s", probe->url, probe->status, last_words) :
			 errdetail("The last GET %s failed: %s. %s", probe->url,
					   probe->failure_detail ? probe->failure_detail : "no answer", last_words),
			 errhint("pg_container.ready_path and pg_container.ready_timeout set the check; container_logs() shows more of its output.")));
	pg_unreachable();
}

/*
 * Whether a container whose gateway does not answer yet is gone for good:
 * removed, or stopped (killed, exited) with no restart coming, as Docker
 * says "restarting" while its restart policy brings it back.  Only one
 * Docker engine's containers are asked: a swarm's task is replaced, not
 * restarted in place.
 */
bool
gateway_container_gone(const char *container_id)
{
	DockerContainer c;

	if (pgc_engine_kind != PGC_ENGINE_DOCKER)
		return false;
	if (!pgc_engine()->find(container_id, &c))
		return true;
	return !c.running && (c.state == NULL || strcmp(c.state, "restarting") != 0);
}

/*
 * Wait until the gateway of a container we just started answers 2xx on
 * pg_container.ready_path through its published port, so callers never get
 * a URL that refuses connections.  A 404 is not ready: it may be a web
 * server that is up before the application behind it.  On timeout the
 * container is left running; the next call finds it and waits again.
 * A container that dies meanwhile (a docker kill, an exit its restart
 * policy does not undo) will never answer: about once a second an
 * unanswered probe asks Docker, and a dead container ends the wait at once
 * rather than at ready_timeout, with the user's row locked all along.
 */
void
gateway_wait_until_ready(const char *container_id, const char *container_name, int host_port,
						 const char *node, const char *token)
{
	TimestampTz deadline;
	TimestampTz next_look;
	DockerRequest *probe = NULL;
	bool		gone = false;

	if (pgc_ready_path == NULL || pgc_ready_path[0] == '\0')
		return;
	if (!pgc_units_publish())
	{
		wait_until_running(container_id, container_name, token);
		return;
	}

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), pgc_ready_timeout_ms);
	next_look = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 1000);
	for (;;)
	{
		long		remaining_ms;

		remaining_ms = (deadline - GetCurrentTimestamp()) / 1000;
		probe = gateway_ready_probe(container_name, host_port, node,
									(int) Max(Min(remaining_ms, 1000), 100));
		docker_run_requests(&probe, 1, 1);
		if (gateway_probe_ready(probe))
			return;
		if (GetCurrentTimestamp() >= deadline)
			break;
		if (GetCurrentTimestamp() >= next_look)
		{
			gone = gateway_container_gone(container_id);
			if (gone)
				break;
			next_look = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 1000);
		}

		docker_sleep_between_polls(50, true);
	}
	gateway_raise_unready(container_id, container_name, probe, token, gone);
}
