/*-------------------------------------------------------------------------
 *
 * docker_http.c
 *	  Owns every byte that goes to the Docker engine: the endpoint named by
 *	  pg_container.docker_host, the libcurl handles and their kept-alive
 *	  connections, API version negotiation, timeouts, cancellation and the
 *	  response size cap.
 *
 * All requests, one or many, run through one curl multi handle that lives
 * as long as the process, so connections to the engine are reused between
 * calls and parallel requests need no second code path.  We drive the multi
 * handle ourselves and poll it in short slices, checking for interrupts
 * between slices: a query cancel, statement_timeout or pg_terminate_backend
 * ends a request to a hung engine within about 100 ms with PostgreSQL's own
 * error (57014 for a cancel), and the aborted connection is closed rather
 * than reused.
 *
 * libcurl's memory is its own (malloc): we never hand it palloc, and every
 * curl resource touched during a request is released in PG_FINALLY, so an
 * error or cancel leaks nothing.  Callbacks never raise errors, since a
 * longjmp through libcurl would corrupt it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include <curl/curl.h>

#include "lib/stringinfo.h"
#include "libpq/libpq.h"
#include "libpq/libpq-be.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "storage/pmsignal.h"
#include "utils/acl.h"
#include "utils/memutils.h"

#include "docker_http.h"
#include "settings.h"

/*
 * The newest API version whose request and response shapes this code was
 * written against.  Negotiation picks min(this, what the engine offers):
 * Docker 29 refuses clients below 1.44 and Docker 20.10 knows nothing past
 * 1.41, so no single pinned version serves both.
 */
#define NEWEST_KNOWN_API_MAJOR 1
#define NEWEST_KNOWN_API_MINOR 47

/* How often an in-flight request checks for cancels and SIGTERM. */
#define POLL_SLICE_MS 100

#define DEFAULT_SOCKET "unix:///var/run/docker.sock"

typedef struct Endpoint
{
	char		source[1024];	/* the DOCKER_HOST text it was resolved from */
	char		cert_path[MAXPGPATH];	/* pg_container.docker_cert_path then */
	bool		tls_verify;
	bool		resolved;

	char		socket_path[MAXPGPATH]; /* "" unless a unix socket */
	char		base_url[1024]; /* scheme://host[:port] */
	bool		tls;
	char		negotiated_prefix[32];	/* "/v1.41" once GET /_ping told us */
} Endpoint;

/* One request in flight; the malloc'd parts are freed in PG_FINALLY. */
typedef struct Transfer
{
	DockerRequest *req;
	CURL	   *easy;
	struct curl_slist *headers;
	char	   *body;			/* malloc'd response body */
	size_t		body_len;
	size_t		body_cap;
	size_t		body_limit;
	bool		too_large;
	bool		out_of_memory;
	bool		finished;
	char		api_version[32];
	char		errbuf[CURL_ERROR_SIZE];
} Transfer;

static Endpoint endpoint;
static CURLM *multi = NULL;

/* The /v<version> prefix of this batch: the setting's, or the negotiated one. */
static char api_prefix[32];

/* Idle easy handles, kept so their settings and caches are reused. */
static CURL **idle_handles = NULL;
static int	idle_count = 0;
static int	idle_capacity = 0;

/* Requests this process has sent, for the statistics (stats.c). */
static uint64 requests_started = 0;

uint64
docker_requests_started(void)
{
	return requests_started;
}

void
docker_http_init(void)
{
	CURLcode	rc = curl_global_init(CURL_GLOBAL_ALL);

	if (rc != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not initialize libcurl: %s", curl_easy_strerror(rc))));
}

static const char *
effective_docker_host(void)
{
	const char *env;

	if (pgc_docker_host != NULL && pgc_docker_host[0] != '\0')
		return pgc_docker_host;
	env = getenv("DOCKER_HOST");
	if (env != NULL && env[0] != '\0')
		return env;
	return DEFAULT_SOCKET;
}

/*
 * Docker's own convention for an endpoint taken from the environment:
 * DOCKER_TLS_VERIFY (any non-empty value) means TLS, verified, with the
 * certificates in DOCKER_CERT_PATH, else ~/.docker.  The settings win
 * whenever pg_container.docker_host is set.
 */
static bool
endpoint_from_environment(void)
{
	return (pgc_docker_host == NULL || pgc_docker_host[0] == '\0') &&
		getenv("DOCKER_HOST") != NULL && getenv("DOCKER_HOST")[0] != '\0';
}

static const char *
effective_cert_path(void)
{
	const char *env;

	if (pgc_docker_cert_path != NULL && pgc_docker_cert_path[0] != '\0')
		return pgc_docker_cert_path;
	if (!endpoint_from_environment())
		return "";
	env = getenv("DOCKER_CERT_PATH");
	if (env != NULL && env[0] != '\0')
		return env;
	env = getenv("DOCKER_TLS_VERIFY");
	if (env != NULL && env[0] != '\0' && getenv("HOME") != NULL)
		return psprintf("%s/.docker", getenv("HOME"));
	return "";
}

static bool
effective_tls_verify(void)
{
	const char *env;

	if (!endpoint_from_environment())
		return pgc_docker_tls_verify;
	env = getenv("DOCKER_TLS_VERIFY");
	return env != NULL && env[0] != '\0';
}

/*
 * The endpoint as the server log may show it, never with credentials
 * written into the URL.  Only the server log: messages reach roles the
 * setting is hidden from, also when the worker (a superuser) raised them
 * and wrote them into container_event, so they never name the endpoint,
 * its socket or its certificate folder; errdetail_log() does.
 */
const char *
docker_endpoint_name(void)
{
	const char *host = effective_docker_host();
	const char *scheme_end = strstr(host, "://");
	const char *at;

	if (scheme_end != NULL && (at = strchr(scheme_end + 3, '@')) != NULL &&
		at < scheme_end + 3 + strcspn(scheme_end + 3, "/?#"))
		return psprintf("%.*s%s", (int) (scheme_end + 3 - host), host, at + 1);
	return host;
}

/*
 * Parse host[:port] out of "rest" (after the scheme) into base_url,
 * dropping any path, with Docker's default ports: 2375 plain, 2376 TLS.
 */
static void
set_tcp_base_url(const char *scheme, const char *rest, int default_port)
{
	size_t		len = strcspn(rest, "/?#");
	const char *close_bracket;
	bool		has_port;

	if (len == 0 || len > 900)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid Docker endpoint"),
				 errdetail_log("The endpoint is \"%s\".", docker_endpoint_name())));

	/* An IPv6 literal's colons are not a port separator. */
	close_bracket = (rest[0] == '[') ? memchr(rest, ']', len) : NULL;
	if (close_bracket != NULL)
		has_port = (close_bracket + 1 < rest + len && close_bracket[1] == ':');
	else
		has_port = memchr(rest, ':', len) != NULL;

	if (has_port)
		snprintf(endpoint.base_url, sizeof(endpoint.base_url), "%s://%.*s",
				 scheme, (int) len, rest);
	else
		snprintf(endpoint.base_url, sizeof(endpoint.base_url), "%s://%.*s:%d",
				 scheme, (int) len, rest, default_port);
}

/*
 * Say what a resolved endpoint exposes.  A create request carries the
 * gateway token in its body, so a TCP endpoint without TLS sends it in
 * clear: warned of once per endpoint and process.  A certificate folder
 * without ca.pem would make libcurl trust the system's CAs for a Docker
 * engine, which is never meant: refused.
 */
static void
check_endpoint_security(void)
{
	if (endpoint.tls && endpoint.tls_verify && endpoint.cert_path[0] != '\0')
	{
		struct stat st;
		char	   *ca = psprintf("%s/ca.pem", endpoint.cert_path);

		if (stat(ca, &st) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_CONFIG_FILE_ERROR),
					 errmsg("the Docker certificate folder has no ca.pem"),
					 errdetail("Without it the engine's certificate would be checked against the system's certificate authorities."),
					 errdetail_log("The folder is \"%s\". Without it the engine's certificate would be checked against the system's certificate authorities.",
								   endpoint.cert_path),
					 errhint("Put the CA that signed the engine's certificate in ca.pem, as Docker's DOCKER_CERT_PATH layout has it.")));
	}
	if (endpoint.socket_path[0] == '\0' && !endpoint.tls)
		ereport(WARNING,
				(errmsg("the Docker endpoint is not encrypted"),
				 errdetail("Gateway tokens travel to it in clear text in every container create request."),
				 errdetail_log("The endpoint is \"%s\". Gateway tokens travel to it in clear text in every container create request.",
							   docker_endpoint_name()),
				 errhint("Use a unix socket, https://, or tcp:// with pg_container.docker_cert_path.")));
}

/*
 * Close every kept-alive connection.  libcurl 8 (Debian 13) reuses a TLS
 * connection to the same host and port for a plain http:// URL, so after a
 * change of endpoint settings the old connections must not be offered.
 * No transfer is running when this is called.
 */
static void
drop_connections(void)
{
	while (idle_count > 0)
		curl_easy_cleanup(idle_handles[--idle_count]);
	if (multi != NULL)
	{
		curl_multi_cleanup(multi);
		multi = NULL;
	}
}

/* Re-resolve the endpoint when any setting that shapes it has changed. */
static void
resolve_endpoint(void)
{
	const char *host = effective_docker_host();
	const char *cert_path = effective_cert_path();
	bool		tls_verify = effective_tls_verify();
	bool		use_tls_for_tcp;

	if (endpoint.resolved &&
		strcmp(endpoint.source, host) == 0 &&
		strcmp(endpoint.cert_path, cert_path) == 0 &&
		endpoint.tls_verify == tls_verify)
		return;

	if (endpoint.resolved)
		drop_connections();
	memset(&endpoint, 0, sizeof(endpoint));
	strlcpy(endpoint.source, host, sizeof(endpoint.source));
	strlcpy(endpoint.cert_path, cert_path, sizeof(endpoint.cert_path));
	endpoint.tls_verify = tls_verify;

	/* Docker's convention: tcp:// speaks TLS when certificates are given. */
	use_tls_for_tcp = cert_path[0] != '\0';

	if (host[0] == '/')
	{
		strlcpy(endpoint.socket_path, host, sizeof(endpoint.socket_path));
		strlcpy(endpoint.base_url, "http://docker", sizeof(endpoint.base_url));
	}
	else if (strncmp(host, "unix://", 7) == 0 && host[7] == '/')
	{
		strlcpy(endpoint.socket_path, host + 7, sizeof(endpoint.socket_path));
		strlcpy(endpoint.base_url, "http://docker", sizeof(endpoint.base_url));
	}
	else if (strncmp(host, "tcp://", 6) == 0)
	{
		endpoint.tls = use_tls_for_tcp;
		set_tcp_base_url(endpoint.tls ? "https" : "http", host + 6,
						 endpoint.tls ? 2376 : 2375);
	}
	else if (strncmp(host, "http://", 7) == 0)
		set_tcp_base_url("http", host + 7, 2375);
	else if (strncmp(host, "https://", 8) == 0)
	{
		endpoint.tls = true;
		set_tcp_base_url("https", host + 8, 2376);
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unsupported Docker endpoint"),
				 errdetail_log("The endpoint is \"%s\".", docker_endpoint_name()),
				 errhint("Use unix:///path, an absolute socket path, tcp://host:port, "
						 "http://host:port or https://host:port.")));

	check_endpoint_security();
	endpoint.resolved = true;
}

static size_t
collect_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	Transfer   *t = (Transfer *) userdata;
	size_t		n = size * nmemb;

	if (t->body_len + n > t->body_limit)
	{
		if (!t->req->keep_tail || n > t->body_limit / 2)
		{
			t->too_large = true;
			return 0;			/* makes libcurl stop with CURLE_WRITE_ERROR */
		}
		/* A progress stream: only its end matters, so drop the oldest half. */
		memmove(t->body, t->body + t->body_len / 2, t->body_len - t->body_len / 2);
		t->body_len -= t->body_len / 2;
	}
	if (t->body_len + n + 1 > t->body_cap)
	{
		size_t		new_cap = Max(t->body_cap * 2, t->body_len + n + 1);
		char	   *grown;

		new_cap = Max(new_cap, 8192);
		new_cap = Min(new_cap, t->body_limit + 1);
		grown = realloc(t->body, new_cap);
		if (grown == NULL)
		{
			t->out_of_memory = true;
			return 0;
		}
		t->body = grown;
		t->body_cap = new_cap;
	}
	memcpy(t->body + t->body_len, data, n);
	t->body_len += n;
	return n;
}

static size_t
collect_header(char *data, size_t size, size_t nmemb, void *userdata)
{
	Transfer   *t = (Transfer *) userdata;
	size_t		n = size * nmemb;
	static const char name[] = "api-version:";

	if (n > sizeof(name) - 1 && pg_strncasecmp(data, name, sizeof(name) - 1) == 0)
	{
		const char *v = data + sizeof(name) - 1;
		size_t		vlen = n - (sizeof(name) - 1);

		while (vlen > 0 && (*v == ' ' || *v == '\t'))
			v++, vlen--;
		while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
			vlen--;
		if (vlen < sizeof(t->api_version))
		{
			memcpy(t->api_version, v, vlen);
			t->api_version[vlen] = '\0';
		}
	}
	return n;
}

static CURL *
take_handle(void)
{
	CURL	   *easy;

	if (idle_count > 0)
		return idle_handles[--idle_count];
	easy = curl_easy_init();
	if (easy == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl handle")));
	return easy;
}

/* Never raises: it runs in PG_FINALLY. */
static void
return_handle(CURL *easy)
{
	if (idle_count == idle_capacity)
	{
		int			new_capacity = Max(idle_capacity * 2, 16);
		CURL	  **grown = realloc(idle_handles, new_capacity * sizeof(CURL *));

		if (grown == NULL)
		{
			curl_easy_cleanup(easy);
			return;
		}
		idle_handles = grown;
		idle_capacity = new_capacity;
	}
	curl_easy_reset(easy);
	idle_handles[idle_count++] = easy;
}

static void
ensure_multi(void)
{
	if (multi != NULL)
		return;
	multi = curl_multi_init();
	if (multi == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl multi handle")));
}

DockerRequest *
docker_request_new(const char *method, char *path, char *what)
{
	DockerRequest *req = palloc0(sizeof(DockerRequest));

	req->method = method;
	req->path = path;
	req->what = what;
	req->versioned = true;
	req->timeout_ms = pgc_docker_timeout_ms;
	return req;
}

#define SETOPT(h, opt, val) \
	do { \
		if (curl_easy_setopt((h), (opt), (val)) != CURLE_OK) \
			elog(ERROR, "could not set libcurl option %s", #opt); \
	} while (0)

/* How to reach the engine: its socket, or TLS with its certificates. */
static void
set_engine_options(CURL *easy)
{
	if (endpoint.socket_path[0] != '\0')
		SETOPT(easy, CURLOPT_UNIX_SOCKET_PATH, endpoint.socket_path);
	if (!endpoint.tls)
		return;
	if (endpoint.cert_path[0] != '\0')
	{
		char	   *cert = psprintf("%s/cert.pem", endpoint.cert_path);
		char	   *key = psprintf("%s/key.pem", endpoint.cert_path);
		struct stat st;
		char	   *ca = psprintf("%s/ca.pem", endpoint.cert_path);

		if (stat(ca, &st) == 0)
			SETOPT(easy, CURLOPT_CAINFO, ca);
		/* Without a client certificate, let the engine say no. */
		if (stat(cert, &st) == 0 && stat(key, &st) == 0)
		{
			SETOPT(easy, CURLOPT_SSLCERT, cert);
			SETOPT(easy, CURLOPT_SSLKEY, key);
		}
	}
	SETOPT(easy, CURLOPT_SSL_VERIFYPEER, endpoint.tls_verify ? 1L : 0L);
	SETOPT(easy, CURLOPT_SSL_VERIFYHOST, endpoint.tls_verify ? 2L : 0L);
}

/* The request's headers, kept in t->headers for release_transfer. */
static void
set_headers(Transfer *t, DockerRequest *req)
{
	/* An empty Expect: header spares a round trip before POST bodies. */
	t->headers = curl_slist_append(NULL, "Expect:");
	if (t->headers == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	if (req->body != NULL)
	{
		char	   *header = psprintf("Content-Type: %s",
									  req->content_type ? req->content_type : "application/json");
		struct curl_slist *more = curl_slist_append(t->headers, header);

		if (more == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory")));
		t->headers = more;
	}
}

static void
start_transfer_on(CURLM *target, Transfer *t, DockerRequest *req)
{
	CURL	   *easy;
	char	   *url;

	t->req = req;
	t->body_limit = req->response_limit > 0 ? req->response_limit :
		(size_t) pgc_max_response_size_kb * 1024;
	requests_started++;

	if (req->url != NULL)
		url = req->url;
	else
		url = psprintf("%s%s%s", endpoint.base_url,
					   req->versioned ? api_prefix : "", req->path);

	t->easy = easy = take_handle();

	SETOPT(easy, CURLOPT_URL, url);
	SETOPT(easy, CURLOPT_PRIVATE, t);
	SETOPT(easy, CURLOPT_NOSIGNAL, 1L);
	SETOPT(easy, CURLOPT_ERRORBUFFER, t->errbuf);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SETOPT(easy, CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SETOPT(easy, CURLOPT_FOLLOWLOCATION, 0L);
	/* The server's http_proxy environment must never reroute engine traffic. */
	SETOPT(easy, CURLOPT_PROXY, "");
	SETOPT(easy, CURLOPT_NOPROXY, "*");
	SETOPT(easy, CURLOPT_TIMEOUT_MS, (long) req->timeout_ms);
	/* A stream (timeout 0) has no end, but its connect still has a limit. */
	SETOPT(easy, CURLOPT_CONNECTTIMEOUT_MS,
		   (long) (req->timeout_ms > 0 ? Min(req->timeout_ms, pgc_docker_timeout_ms) : pgc_docker_timeout_ms));
	SETOPT(easy, CURLOPT_WRITEFUNCTION, collect_body);
	SETOPT(easy, CURLOPT_WRITEDATA, t);
	SETOPT(easy, CURLOPT_HEADERFUNCTION, collect_header);
	SETOPT(easy, CURLOPT_HEADERDATA, t);

	if (req->url == NULL)
		set_engine_options(easy);

	set_headers(t, req);
	SETOPT(easy, CURLOPT_HTTPHEADER, t->headers);

	if (strcmp(req->method, "GET") == 0)
		SETOPT(easy, CURLOPT_HTTPGET, 1L);
	else
	{
		SETOPT(easy, CURLOPT_CUSTOMREQUEST, req->method);
		if (strcmp(req->method, "POST") == 0 || req->body != NULL)
		{
			SETOPT(easy, CURLOPT_POSTFIELDS, req->body ? req->body : "");
			SETOPT(easy, CURLOPT_POSTFIELDSIZE_LARGE,
				   (curl_off_t) (req->body == NULL ? 0 :
								 req->body_len > 0 ? req->body_len : strlen(req->body)));
		}
	}

	if (curl_multi_add_handle(target, easy) != CURLM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not start a Docker request")));
}

static void
start_transfer(Transfer *t, DockerRequest *req)
{
	start_transfer_on(multi, t, req);
}

/* Record the outcome of a finished transfer in its request. */
static void
finish_transfer(Transfer *t, CURLcode result)
{
	DockerRequest *req = t->req;

	t->finished = true;
	req->failure = DOCKER_ANSWERED;
	req->status = 0;
	req->failure_detail = NULL;
	req->failure_log_detail = NULL;

	if (result == CURLE_OK)
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &req->status);
	else if (t->too_large)
		req->failure = DOCKER_TOO_LARGE;
	else if (t->out_of_memory)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while reading a Docker response")));
	else
	{
		switch (result)
		{
			case CURLE_COULDNT_CONNECT:
			case CURLE_COULDNT_RESOLVE_HOST:
			case CURLE_COULDNT_RESOLVE_PROXY:
			case CURLE_SSL_CONNECT_ERROR:
			case CURLE_PEER_FAILED_VERIFICATION:
			case CURLE_SSL_CERTPROBLEM:
			case CURLE_SSL_CACERT_BADFILE:
			case CURLE_SSL_CIPHER:
				req->failure = DOCKER_UNREACHABLE;
				break;
			case CURLE_OPERATION_TIMEDOUT:
				req->failure = DOCKER_TIMED_OUT;
				break;
			case CURLE_GOT_NOTHING:
			case CURLE_RECV_ERROR:
			case CURLE_SEND_ERROR:
			case CURLE_PARTIAL_FILE:
			case CURLE_WEIRD_SERVER_REPLY:
				req->failure = DOCKER_CONNECTION_LOST;
				break;
			default:
				req->failure = DOCKER_TRANSPORT_ERROR;
				break;
		}
		/*
		 * libcurl's own words name the address, the socket or a certificate
		 * file: they are for the server log.  Its code's words are not.
		 */
		req->failure_detail = pstrdup(curl_easy_strerror(result));
		req->failure_log_detail = pstrdup(t->errbuf[0] ? t->errbuf : curl_easy_strerror(result));
	}

	req->response_len = t->body_len;
	req->response = palloc_extended(t->body_len + 1, MCXT_ALLOC_HUGE);
	if (t->body_len > 0)
		memcpy(req->response, t->body, t->body_len);
	req->response[t->body_len] = '\0';
	if (t->api_version[0] != '\0')
		req->api_version_header = pstrdup(t->api_version);
}

/* Never raises: it runs in PG_FINALLY. */
static void
release_transfer(Transfer *t)
{
	if (t->easy != NULL)
	{
		/* Removing an unfinished transfer closes its connection. */
		curl_multi_remove_handle(multi, t->easy);
		if (t->finished)
			return_handle(t->easy);
		else
			curl_easy_cleanup(t->easy);
		t->easy = NULL;
	}
	if (t->headers != NULL)
	{
		curl_slist_free_all(t->headers);
		t->headers = NULL;
	}
	free(t->body);
	t->body = NULL;
}

/*
 * The wait event of a backend blocked on the Docker engine ("DockerRequest")
 * or on a container's gateway ("GatewayProbe"), as pg_stat_activity shows
 * it; plain "Extension" before PostgreSQL 17.  Registered once per process:
 * the registration takes a shared lock.
 */
uint32
docker_wait_event(bool gateway)
{
	static uint32 engine_event = 0;
	static uint32 gateway_event = 0;

	if (gateway)
	{
		if (gateway_event == 0)
			gateway_event = pgc_wait_event_new("GatewayProbe");
		return gateway_event;
	}
	if (engine_event == 0)
		engine_event = pgc_wait_event_new("DockerRequest");
	return engine_event;
}

/*
 * End the backend if its client has gone (the application gave up on the
 * call, a pool dropped the connection): otherwise it would go on waiting
 * for the engine or a gateway until its timeout, holding the user's row
 * lock all along, and every later call for that user would queue behind
 * it.  PostgreSQL's own check, client_connection_check_interval, is off by
 * default; this is the same check, made where pg_container waits, and
 * ends the backend the way that check does (FATAL, connection_failure, at
 * the next CHECK_FOR_INTERRUPTS).  Not for the worker, which has no
 * client.
 */
static void
end_if_client_gone(void)
{
	if (MyProcPort == NULL || ClientConnectionLost)
		return;
	if (!pq_check_connection())
	{
		ClientConnectionLost = true;
		InterruptPending = true;
	}
}

/*
 * Sleep between two polls of something outside PostgreSQL (a gateway's
 * readiness, a swarm task's state), showing the wait event of what is
 * polled, and honouring interrupts and postmaster death.
 */
void
docker_sleep_between_polls(int ms, bool gateway)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 ms, docker_wait_event(gateway));
	ResetLatch(MyLatch);
	end_if_client_gone();
	CHECK_FOR_INTERRUPTS();
}

/* What a batch waits on: its first request's, all come from one caller. */
static uint32
batch_wait_event(DockerRequest *first)
{
	if (first->wait_event != 0)
		return first->wait_event;
	return docker_wait_event(false);
}

/*
 * Run requests, at most max_parallel at a time, until all have an outcome
 * in their DockerRequest.  Transport failures are recorded, not raised, so
 * a caller running many requests can report each; interrupts are raised.
 */
static void
run_transfers(DockerRequest **requests, int count, int max_parallel)
{
	Transfer   *transfers = palloc0(sizeof(Transfer) * count);
	int			next = 0;
	int			active = 0;
	int			done = 0;
	uint32		wait_event = batch_wait_event(requests[0]);

	ensure_multi();
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long) Max(max_parallel, 4));

	PG_TRY();
	{
		while (done < count)
		{
			int			running;
			CURLMsg    *msg;
			int			left;
			CURLMcode	mc;

			while (active < max_parallel && next < count)
			{
				start_transfer(&transfers[next], requests[next]);
				next++;
				active++;
			}

			/* perform may block briefly too: a connect, a name lookup. */
			pgstat_report_wait_start(wait_event);
			mc = curl_multi_perform(multi, &running);
			pgstat_report_wait_end();
			if (mc != CURLM_OK)
				ereport(ERROR,
						(errcode(ERRCODE_SYSTEM_ERROR),
						 errmsg("Docker request failed: %s", curl_multi_strerror(mc))));

			while ((msg = curl_multi_info_read(multi, &left)) != NULL)
			{
				Transfer   *t;

				if (msg->msg != CURLMSG_DONE)
					continue;
				curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &t);
				finish_transfer(t, msg->data.result);
				release_transfer(t);
				active--;
				done++;
			}
			if (done == count)
				break;
			if (running > 0)
			{
				pgstat_report_wait_start(wait_event);
				curl_multi_poll(multi, NULL, 0, POLL_SLICE_MS, NULL);
				pgstat_report_wait_end();
			}

			end_if_client_gone();
			CHECK_FOR_INTERRUPTS();
			if (!PostmasterIsAlive())
				ereport(FATAL,
						(errcode(ERRCODE_ADMIN_SHUTDOWN),
						 errmsg("terminating because the postmaster died while waiting for the Docker engine")));
		}
	}
	PG_FINALLY();
	{
		/* Unstarted ones are zeroed; a half-started one has its handle set. */
		for (int i = 0; i < count; i++)
			release_transfer(&transfers[i]);
	}
	PG_END_TRY();

	pfree(transfers);
}

static bool
parse_api_version(const char *text, int *major, int *minor)
{
	char		tail;

	return text != NULL && sscanf(text, "%d.%d%c", major, minor, &tail) == 2;
}

/*
 * Settle the /v<version> prefix: the setting's when it is set, else the
 * one negotiated with GET /_ping, once per endpoint.
 */
static void
ensure_api_prefix(void)
{
	DockerRequest *ping;
	int			major,
				minor;

	if (pgc_docker_api_version != NULL && pgc_docker_api_version[0] != '\0')
	{
		snprintf(api_prefix, sizeof(api_prefix), "/v%s", pgc_docker_api_version);
		return;
	}
	if (endpoint.negotiated_prefix[0] == '\0')
	{
		ping = docker_request_new("GET", "/_ping", "negotiate the Docker API version");
		ping->versioned = false;
		run_transfers(&ping, 1, 1);
		if (ping->failure != DOCKER_ANSWERED || ping->status != 200)
			docker_raise_failure(ping);
		if (!parse_api_version(ping->api_version_header, &major, &minor))
			ereport(ERROR,
					(errcode(ERRCODE_SYSTEM_ERROR),
					 errmsg("could not negotiate the Docker API version: the engine sent no usable Api-Version header"),
					 errdetail_log("The engine is at \"%s\".", docker_endpoint_name()),
					 errhint("Set pg_container.docker_api_version.")));

		if (major > NEWEST_KNOWN_API_MAJOR ||
			(major == NEWEST_KNOWN_API_MAJOR && minor > NEWEST_KNOWN_API_MINOR))
		{
			major = NEWEST_KNOWN_API_MAJOR;
			minor = NEWEST_KNOWN_API_MINOR;
		}
		snprintf(endpoint.negotiated_prefix, sizeof(endpoint.negotiated_prefix), "/v%d.%d", major, minor);
	}
	strlcpy(api_prefix, endpoint.negotiated_prefix, sizeof(api_prefix));
}

/*
 * Run several requests in parallel.  Each request's outcome, including a
 * transport failure, is left in it; only interrupts and a failure to reach
 * the engine for version negotiation are raised.
 */
void
docker_run_requests(DockerRequest **requests, int count, int max_parallel)
{
	bool		needs_version = false;

	if (count == 0)
		return;
	resolve_endpoint();
	for (int i = 0; i < count; i++)
		needs_version |= requests[i]->versioned && requests[i]->url == NULL;
	if (needs_version)
		ensure_api_prefix();
	run_transfers(requests, count, Max(max_parallel, 1));
}

/* Run one request; a transport failure is raised, an HTTP status is not. */
void
docker_run_request(DockerRequest *req)
{
	docker_run_requests(&req, 1, 1);
	if (req->failure != DOCKER_ANSWERED)
		docker_raise_failure(req);
}

/*
 * Docker's explanation of an error response: the "message" member of its
 * JSON body, else the body itself, cut short and stripped of control
 * characters so it is safe to put in a log line.
 */
char *
docker_error_message(DockerRequest *req)
{
	const char *text = req->response ? req->response : "";
	const char *key;
	StringInfoData buf;
	int			taken = 0;

	initStringInfo(&buf);

	key = strstr(text, "\"message\"");
	if (key != NULL)
	{
		const char *p = key + strlen("\"message\"");

		while (*p == ' ' || *p == ':')
			p++;
		if (*p == '"')
		{
			for (p++; *p && *p != '"' && taken < 500; p++, taken++)
			{
				if (*p == '\\' && p[1] != '\0')
				{
					p++;
					if (*p == 'n' || *p == 't' || *p == 'r')
					{
						appendStringInfoChar(&buf, ' ');
						continue;
					}
				}
				appendStringInfoChar(&buf, ((unsigned char) *p < ' ') ? ' ' : *p);
			}
			return buf.data;
		}
	}
	for (const char *p = text; *p && taken < 200; p++, taken++)
		appendStringInfoChar(&buf, ((unsigned char) *p < ' ') ? ' ' : *p);
	while (buf.len > 0 && buf.data[buf.len - 1] == ' ')
		buf.data[--buf.len] = '\0';
	if (buf.len == 0)
		appendStringInfoString(&buf, "(no message)");
	return buf.data;
}

/*
 * What went wrong with a request, as a whole message for each kind of
 * failure (PostgreSQL's style: no sentence assembled from fragments, so
 * each can be translated), with its SQLSTATE and, where there is one, a
 * hint.  The operation is not in it: docker_operation_context adds it as a
 * CONTEXT line.  Transport failures are class 58 like everything external,
 * never 08: poolers and drivers take 08 to mean the PostgreSQL connection
 * itself is broken.  It names no address, socket or certificate file: it
 * reaches roles the endpoint is hidden from (failure_log_detail does).
 */
static char *
describe_failure(DockerRequest *req, int *sqlstate, const char **hint)
{
	const char *detail = req->failure_detail ? req->failure_detail : _("unknown error");

	*sqlstate = ERRCODE_IO_ERROR;
	*hint = NULL;
	switch (req->failure)
	{
		case DOCKER_ANSWERED:
			*sqlstate = ERRCODE_SYSTEM_ERROR;
			if (req->status < 400)
				return psprintf(_("Docker engine returned unexpected HTTP %ld"), req->status);
			return psprintf(_("Docker engine returned HTTP %ld: %s"),
							req->status, docker_error_message(req));
		case DOCKER_UNREACHABLE:
			return psprintf(_("could not connect to the Docker engine: %s"), detail);
		case DOCKER_TIMED_OUT:
			*hint = _("pg_container.docker_timeout sets the limit.");
			return psprintf(_("the Docker engine did not answer within %d ms"), req->timeout_ms);
		case DOCKER_CONNECTION_LOST:
			return psprintf(_("connection to the Docker engine was lost: %s"), detail);
		case DOCKER_TOO_LARGE:
			*sqlstate = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
			*hint = _("pg_container.max_response_size sets the limit.");
			return psprintf(_("the Docker engine's response exceeded pg_container.max_response_size (%d kB)"),
							pgc_max_response_size_kb);
		case DOCKER_TRANSPORT_ERROR:
			break;
	}
	return psprintf(_("request to the Docker engine failed: %s"), detail);
}

/*
 * For the server log only (errdetail_log): where the request went and
 * libcurl's own words, which may name the address, the socket or a
 * certificate file.  NULL for a request the engine answered.
 */
static char *
failure_log_detail(DockerRequest *req)
{
	if (req->failure == DOCKER_ANSWERED || req->failure == DOCKER_TOO_LARGE)
		return NULL;
	return psprintf("The request went to \"%s\": %s.",
					req->url ? req->url : docker_endpoint_name(),
					req->failure_log_detail ? req->failure_log_detail : "no explanation");
}

/*
 * The message for a failed request, for callers that report and go on; it
 * does not name the operation, which such a caller says itself.
 */
char *
docker_failure_message(DockerRequest *req)
{
	int			sqlstate;
	const char *hint;

	return describe_failure(req, &sqlstate, &hint);
}

/*
 * The CONTEXT line of an error about a request: which operation it was.
 * For use inside ereport(), like errcontext().
 */
int
docker_operation_context(DockerRequest *req)
{
	return errcontext("Docker operation: %s", req->what);
}

/* Raise a failed request: no answer, or an answer with an error status. */
void
docker_raise_failure(DockerRequest *req)
{
	int			sqlstate;
	const char *hint;
	char	   *message = describe_failure(req, &sqlstate, &hint);
	char	   *log_detail = failure_log_detail(req);

	/* describe_failure translated it: each kind is a whole message. */
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg_internal("%s", message),
			 log_detail ? errdetail_log("%s", log_detail) : 0,
			 hint ? errhint("%s", hint) : 0,
			 docker_operation_context(req)));
	pg_unreachable();
}

/*
 * The endpoint's identity as the settings name it: the mirror remembers
 * which engine it watches, and a session whose settings point elsewhere
 * must not trust it.
 */
const char *
docker_effective_host(void)
{
	return effective_docker_host();
}

/*
 * A long-lived streamed response (GET /events).  It has a multi handle of
 * its own, so the requests the worker makes while it is open run through
 * the shared one as always and never wait behind the stream.  The bytes
 * are handed out as they arrive; the size cap applies to what is buffered
 * and not yet taken, so one oversized line ends the stream.
 */
struct DockerStream
{
	CURLM	   *multi;
	Transfer	t;
	DockerRequest *req;
};

/* Never raises: it runs in error cleanup. */
void
docker_stream_close(DockerStream *s)
{
	if (s == NULL)
		return;
	if (s->t.easy != NULL)
	{
		curl_multi_remove_handle(s->multi, s->t.easy);
		curl_easy_cleanup(s->t.easy);
		s->t.easy = NULL;
	}
	if (s->t.headers != NULL)
	{
		curl_slist_free_all(s->t.headers);
		s->t.headers = NULL;
	}
	free(s->t.body);
	s->t.body = NULL;
	if (s->multi != NULL)
	{
		curl_multi_cleanup(s->multi);
		s->multi = NULL;
	}
}

/*
 * Start a GET whose response never ends by itself.  The stream is
 * allocated in the current memory context; close it with
 * docker_stream_close, also after an error.
 */
DockerStream *
docker_stream_open(char *path, char *what)
{
	DockerStream *s = palloc0(sizeof(DockerStream));

	resolve_endpoint();
	ensure_api_prefix();
	s->req = docker_request_new("GET", path, what);
	s->req->timeout_ms = 0;
	s->multi = curl_multi_init();
	if (s->multi == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl multi handle")));
	PG_TRY();
	{
		start_transfer_on(s->multi, &s->t, s->req);
	}
	PG_CATCH();
	{
		docker_stream_close(s);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return s;
}

/* Move what arrived into out; note the end of the transfer if it came. */
static bool
stream_collect(DockerStream *s, StringInfo out)
{
	CURLMsg    *msg;
	int			left;
	int			running;

	if (curl_multi_perform(s->multi, &running) != CURLM_OK)
		return true;
	if (s->t.body_len > 0)
	{
		appendBinaryStringInfo(out, s->t.body, (int) s->t.body_len);
		s->t.body_len = 0;
	}
	while ((msg = curl_multi_info_read(s->multi, &left)) != NULL)
	{
		if (msg->msg == CURLMSG_DONE)
		{
			finish_transfer(&s->t, msg->data.result);
			return true;
		}
	}
	return false;
}

/*
 * Wait up to timeout_ms for more of the stream, appending what came to
 * out.  Returns false once the stream has ended, for whatever reason:
 * then docker_stream_request tells how.  Never waits longer than one poll
 * slice without checking for interrupts.
 */
bool
docker_stream_wait(DockerStream *s, int timeout_ms, StringInfo out)
{
	int			before = out->len;

	if (s->t.finished)
		return false;
	if (stream_collect(s, out))
		return false;
	if (out->len > before)
		return true;
	curl_multi_poll(s->multi, NULL, 0, Min(Max(timeout_ms, 0), POLL_SLICE_MS), NULL);
	return !stream_collect(s, out);
}

/* The HTTP status once the headers are in (0 before), and, after the end, the outcome. */
long
docker_stream_status(DockerStream *s)
{
	long		status = 0;

	if (s->t.finished)
		return s->req->status;
	if (s->t.easy != NULL)
		curl_easy_getinfo(s->t.easy, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

DockerRequest *
docker_stream_request(DockerStream *s)
{
	return s->req;
}
