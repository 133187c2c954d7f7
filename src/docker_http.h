/*-------------------------------------------------------------------------
 *
 * docker_http.h
 *	  HTTP transport to the Docker engine (libcurl).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_DOCKER_HTTP_H
#define PGC_DOCKER_HTTP_H

#include "lib/stringinfo.h"
#include "pg_compat.h"

/* Why a request got no usable HTTP answer. */
typedef enum DockerFailure
{
	DOCKER_ANSWERED = 0,		/* an HTTP status arrived; see status */
	DOCKER_UNREACHABLE,			/* could not connect, or TLS refused */
	DOCKER_TIMED_OUT,			/* no complete answer in time */
	DOCKER_CONNECTION_LOST,		/* connection broke during the exchange */
	DOCKER_TOO_LARGE,			/* body over pg_container.max_response_size */
	DOCKER_TRANSPORT_ERROR		/* anything else libcurl reports */
} DockerFailure;

typedef struct DockerRequest
{
	/* Set by the caller (docker_request_new gives the defaults) */
	const char *method;			/* "GET", "POST" or "DELETE" */
	char	   *path;			/* API path below the version prefix */
	char	   *body;			/* JSON request body, or NULL */
	size_t		body_len;		/* its length if binary (content_type); 0: strlen */
	const char *content_type;	/* of body; NULL: application/json */
	size_t		response_limit; /* bytes; 0: pg_container.max_response_size */
	char	   *what;			/* operation, for messages: "start container \"x\"" */
	char	   *url;			/* absolute URL instead of the engine, or NULL */
	bool		versioned;		/* prefix path with /v<api version> */
	bool		keep_tail;		/* over the size cap, keep the end, don't fail */
	int			timeout_ms;		/* whole-request limit */
	uint32		wait_event;		/* shown in pg_stat_activity while it runs
								 * (docker_wait_event); 0: the engine's */

	/* Set by docker_run_request(s) */
	long		status;			/* HTTP status; 0 without an answer */
	DockerFailure failure;
	char	   *failure_detail; /* libcurl's explanation of a failure, naming
								 * no address or path */
	char	   *failure_log_detail; /* libcurl's own words, for the server log */
	char	   *response;		/* NUL-terminated body ("" when empty) */
	size_t		response_len;
	char	   *api_version_header; /* the Api-Version response header */
} DockerRequest;

extern void docker_http_init(void);

extern DockerRequest *docker_request_new(const char *method, char *path, char *what);
extern void docker_run_request(DockerRequest *req);
extern void docker_run_requests(DockerRequest **requests, int count, int max_parallel);
extern uint64 docker_requests_started(void);

pg_noreturn extern void docker_raise_failure(DockerRequest *req);
extern char *docker_failure_message(DockerRequest *req);
extern char *docker_error_message(DockerRequest *req);
extern int	docker_operation_context(DockerRequest *req);
extern const char *docker_endpoint_name(void);
extern uint32 docker_wait_event(bool gateway);
extern void docker_sleep_between_polls(int ms, bool gateway);

/* A long-lived streamed response, read as it arrives. */
typedef struct DockerStream DockerStream;

extern DockerStream *docker_stream_open(char *path, char *what);
extern bool docker_stream_wait(DockerStream *s, int timeout_ms, StringInfo out);
extern long docker_stream_status(DockerStream *s);
extern DockerRequest *docker_stream_request(DockerStream *s);
extern void docker_stream_close(DockerStream *s);
extern const char *docker_effective_host(void);

#endif							/* PGC_DOCKER_HTTP_H */
