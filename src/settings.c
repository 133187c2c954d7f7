/*-------------------------------------------------------------------------
 *
 * settings.c
 *	  Defines the pg_container.* configuration parameters and checks their
 *	  values when they are set, so that a bad value is refused by SET or by
 *	  a reload instead of failing later inside a Docker request.
 *
 * Everything that decides where the extension connects, what it runs or
 * which key it uses is PGC_SUSET or stricter: the Docker socket is root on
 * the host, so these must never be in reach of ordinary roles.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "names.h"
#include "settings.h"

char	   *pgc_docker_host = NULL;
char	   *pgc_docker_api_version = NULL;
int			pgc_docker_timeout_ms = 30000;
int			pgc_max_response_size_kb = 8192;
int			pgc_backup_max_size_mb = 256;
int			pgc_backup_keep = 7;
int			pgc_backup_interval_min = 0;
char	   *pgc_docker_cert_path = NULL;
bool		pgc_docker_tls_verify = true;

char	   *pgc_encryption_key_file = NULL;
char	   *pgc_encryption_key_file_previous = NULL;

char	   *pgc_image = NULL;
char	   *pgc_network = NULL;
char	   *pgc_api_url = NULL;
char	   *pgc_name_prefix = NULL;
int			pgc_gateway_port = 18789;
char	   *pgc_state_path = NULL;
int			pgc_port_range_start = 19000;
int			pgc_port_range_end = 19999;
char	   *pgc_publish_address = NULL;
int			pgc_stop_timeout_s = 10;
int			pgc_orphan_grace_s = 600;
int			pgc_url_mode = PGC_URL_INTERNAL;
char	   *pgc_ready_path = NULL;
int			pgc_ready_timeout_ms = 120000;
int			pgc_max_concurrent_starts = 4;
int			pgc_running_memory_budget_mb = 0;
int			pgc_memory_limit_mb = 2048;
double		pgc_cpus = 2;
int			pgc_pids_limit = 512;
int			pgc_log_max_size_mb = 10;
int			pgc_log_max_files = 3;
char	   *pgc_command = NULL;
bool		pgc_drop_capabilities = true;
bool		pgc_init = true;
int			pgc_network_mode = PGC_NETWORK_PER_USER;
char	   *pgc_network_pool = NULL;
char	   *pgc_attach_containers = NULL;
int			pgc_restart_policy = PGC_RESTART_UNLESS_STOPPED;
char	   *pgc_volume_driver = NULL;
char	   *pgc_volume_driver_options = NULL;

char	   *pgc_database = NULL;
double		pgc_reap_interval_s = 60;
double		pgc_health_check_interval_s = 30;
int			pgc_max_parallel_requests = 16;
int			pgc_default_idle_timeout_min = 30;
int			pgc_default_pause_after_min = 0;
int			pgc_paused_memory_budget_mb = 0;
int			pgc_max_lease_s = 3600;
int			pgc_dormant_after_min = 0;
int			pgc_max_age_min = 0;
int			pgc_event_retention_min = 7 * 24 * 60;
bool		pgc_event_stream = true;

/* pg_container.engine: the engine's verbs are in engine.h */
int			pgc_engine_kind = PGC_ENGINE_DOCKER;

static const struct config_enum_entry engine_options[] = {
	{"docker", PGC_ENGINE_DOCKER, false},
	{"swarm", PGC_ENGINE_SWARM, false},
	{NULL, 0, false}
};

static const struct config_enum_entry network_mode_options[] = {
	{"per_user", PGC_NETWORK_PER_USER, false},
	{"shared", PGC_NETWORK_SHARED, false},
	{NULL, 0, false}
};

static const struct config_enum_entry restart_policy_options[] = {
	{"no", PGC_RESTART_NO, false},
	{"always", PGC_RESTART_ALWAYS, false},
	{"unless-stopped", PGC_RESTART_UNLESS_STOPPED, false},
	{"on-failure", PGC_RESTART_ON_FAILURE, false},
	{NULL, 0, false}
};

const char *
pgc_restart_policy_name(int policy)
{
	for (const struct config_enum_entry *e = restart_policy_options; e->name; e++)
		if (e->val == policy)
			return e->name;
	return "no";
}

static const struct config_enum_entry url_mode_options[] = {
	{"internal", PGC_URL_INTERNAL, false},
	{"published", PGC_URL_PUBLISHED, false},
	{NULL, 0, false}
};

/*
 * The forms of DOCKER_HOST that the original service and the docker CLI accept.
 * Anything else (ftp://, file://, ssh://) is refused when set.
 */
static bool
check_docker_host(char **newval, void **extra, GucSource source)
{
	const char *value = *newval;

	if (value == NULL || value[0] == '\0' || value[0] == '/')
		return true;
	if (strncmp(value, "unix://", 7) == 0)
	{
		if (value[7] != '/')
		{
			GUC_check_errdetail("A unix:// endpoint needs an absolute socket path, as in unix:///var/run/docker.sock.");
			return false;
		}
		return true;
	}
	if (strncmp(value, "tcp://", 6) == 0 ||
		strncmp(value, "http://", 7) == 0 ||
		strncmp(value, "https://", 8) == 0)
	{
		const char *host = strstr(value, "://") + 3;

		if (*host == '\0' || *host == '/' || *host == ':')
		{
			GUC_check_errdetail("The endpoint names no host.");
			return false;
		}
		return true;
	}
	GUC_check_errdetail("Use unix:///path, an absolute socket path, tcp://host:port, http://host:port or https://host:port.");
	return false;
}

static bool
check_api_version(char **newval, void **extra, GucSource source)
{
	const char *p = *newval;
	int			major,
				minor;
	char		tail;

	if (p == NULL || p[0] == '\0')
		return true;
	if (sscanf(p, "%d.%d%c", &major, &minor, &tail) != 2 || major < 1 || minor < 0)
	{
		GUC_check_errdetail("An API version looks like 1.41; empty means negotiate it with the engine.");
		return false;
	}
	return true;
}

/* Docker's rule for container names is [a-zA-Z0-9][a-zA-Z0-9_.-]+. */
static bool
check_name_prefix(char **newval, void **extra, GucSource source)
{
	const char *p = *newval;

	if (p == NULL || p[0] == '\0')
		return true;
	if (strlen(p) > 64)
	{
		GUC_check_errdetail("The prefix may have at most 64 characters.");
		return false;
	}
	if (!pgc_name_start_char(p[0]))
	{
		GUC_check_errdetail("Container names must start with a letter or a digit.");
		return false;
	}
	for (; *p; p++)
	{
		if (!pgc_name_char(*p))
		{
			GUC_check_errdetail("Container names may hold only letters, digits, \"_\", \".\" and \"-\".");
			return false;
		}
	}
	return true;
}

/*
 * A SET that would put the range's start after its end is refused.  Values
 * from the configuration file, ALTER DATABASE or ALTER ROLE are not
 * cross-checked here, since the two are applied one at a time (and a
 * database may well have a range entirely above the session's); the range
 * is checked again at use.
 */
static bool
check_port_range_start(int *newval, void **extra, GucSource source)
{
	if (source == PGC_S_SESSION && *newval > pgc_port_range_end)
	{
		GUC_check_errdetail("The start of the port range may not exceed its end (%d).", pgc_port_range_end);
		return false;
	}
	return true;
}

static bool
check_port_range_end(int *newval, void **extra, GucSource source)
{
	if (source == PGC_S_SESSION && *newval < pgc_port_range_start)
	{
		GUC_check_errdetail("The end of the port range may not precede its start (%d).", pgc_port_range_start);
		return false;
	}
	return true;
}

/*
 * An IPv4 pool as a.b.c.d/n, n from 8 to 28: each user's network takes a
 * /28 of it.
 */
static bool
check_network_pool(char **newval, void **extra, GucSource source)
{
	unsigned int a,
				b,
				c,
				d,
				n;
	char		tail;

	if (sscanf(*newval, "%u.%u.%u.%u/%u%c", &a, &b, &c, &d, &n, &tail) != 5 ||
		a > 255 || b > 255 || c > 255 || d > 255 || n < 8 || n > 28)
	{
		GUC_check_errdetail("The pool is an IPv4 network such as 10.213.0.0/16, with a prefix length from 8 to 28.");
		return false;
	}
	return true;
}

/* Words of a command: no quoting, so no control characters or quotes. */
static bool
check_command(char **newval, void **extra, GucSource source)
{
	for (const char *p = *newval; p && *p; p++)
	{
		if (((unsigned char) *p < ' ' && *p != '\t') || *p == 0x7f || *p == '"' || *p == '\'')
		{
			GUC_check_errdetail("The command is words separated by spaces, without quotes or control characters.");
			return false;
		}
	}
	return true;
}

/* For values spliced into a Docker request where white space has no place. */
static bool
check_no_whitespace(char **newval, void **extra, GucSource source)
{
	const char *p = *newval;

	if (p == NULL || p[0] == '\0')
	{
		GUC_check_errdetail("The value must not be empty.");
		return false;
	}
	for (; *p; p++)
	{
		if ((unsigned char) *p <= ' ' || *p == 0x7f)
		{
			GUC_check_errdetail("The value must not contain white space or control characters.");
			return false;
		}
	}
	return true;
}

/* One word of pg_container.attach_containers: a container or PGC_ATTACH_API_HOST. */
static bool
attach_word_ok(const char *word, size_t len)
{
	if (len == strlen(PGC_ATTACH_API_HOST) && strncmp(word, PGC_ATTACH_API_HOST, len) == 0)
		return true;
	if (!pgc_name_start_char(word[0]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!pgc_name_char(word[i]))
			return false;
	return true;
}

/*
 * pg_container.attach_containers: container names or ids, and
 * PGC_ATTACH_API_HOST, separated by commas or spaces; empty is none.
 */
static bool
check_attach_containers(char **newval, void **extra, GucSource source)
{
	const char *p = *newval ? *newval : "";

	for (p += strspn(p, ", "); *p; p += strspn(p, ", "))
	{
		size_t		len = strcspn(p, ", ");

		if (!attach_word_ok(p, len))
		{
			GUC_check_errdetail("\"%.*s\" is neither a container name nor %s.",
								(int) len, p, PGC_ATTACH_API_HOST);
			return false;
		}
		p += len;
	}
	return true;
}

static bool
check_ready_path(char **newval, void **extra, GucSource source)
{
	const char *p = *newval;

	if (p == NULL || p[0] == '\0')
		return true;
	if (p[0] != '/')
	{
		GUC_check_errdetail("The readiness path must start with \"/\", or be empty to skip the check.");
		return false;
	}
	for (; *p; p++)
	{
		if ((unsigned char) *p <= ' ' || *p == 0x7f || *p == '#')
		{
			GUC_check_errdetail("The readiness path must not contain white space, control characters or \"#\".");
			return false;
		}
	}
	return true;
}

static bool
check_state_path(char **newval, void **extra, GucSource source)
{
	if (!check_no_whitespace(newval, extra, source))
		return false;
	if ((*newval)[0] != '/' || strchr(*newval, ':') != NULL)
	{
		GUC_check_errdetail("The state path must be an absolute path inside the container, without \":\".");
		return false;
	}
	return true;
}

/* Docker's volume driver names: plugin names such as "vieux/sshfs:latest". */
static bool
check_volume_driver(char **newval, void **extra, GucSource source)
{
	const char *p = *newval;

	if (p == NULL || p[0] == '\0')
	{
		GUC_check_errdetail("The volume driver must not be empty; \"local\" is Docker's own.");
		return false;
	}
	for (; *p; p++)
	{
		if (!pgc_name_char(*p) && *p != '/' && *p != ':')
		{
			GUC_check_errdetail("A volume driver name holds only letters, digits, \"_\", \".\", \"-\", \"/\" and \":\".");
			return false;
		}
	}
	return true;
}

/*
 * Whether a value wrongly holds further options after a comma, as in
 * "type=nfs,o=addr=x,rw" written the way docker's --mount flag takes them:
 * the keys of the local driver give it away.
 */
static bool
holds_comma_separated_options(const char *value)
{
	static const char *const keys[] = {",type=", ",o=", ",device=", ",size="};

	for (size_t i = 0; i < lengthof(keys); i++)
		if (strstr(value, keys[i]) != NULL)
			return true;
	return false;
}

/*
 * The check of one option "key=value" of pg_container.volume_driver_options
 * (len bytes at p); NULL if it is good, else what is wrong.
 */
static char *
driver_option_problem(const char *p, int len)
{
	const char *eq = memchr(p, '=', len);
	char	   *value;

	if (eq == NULL || eq == p)
		return psprintf("\"%.*s\" is not of the form key=value.", len, p);
	for (const char *k = p; k < eq; k++)
		if (!pgc_name_char(*k))
			return psprintf("The key \"%.*s\" may hold only letters, digits, \"_\", \".\" and \"-\".",
							(int) (eq - p), p);
	value = pnstrdup(eq + 1, len - (eq + 1 - p));
	if (holds_comma_separated_options(value))
		return psprintf("The value of \"%.*s\" holds another option after a comma: separate options with spaces, "
						"as in \"type=nfs o=addr=10.0.0.5,rw device=:/exports/{volume}\".",
						(int) (eq - p), p);
	for (const char *v = strchr(value, '{'); v != NULL; v = strchr(v + 1, '{'))
		if (strncmp(v, PGC_VOLUME_PLACEHOLDER, strlen(PGC_VOLUME_PLACEHOLDER)) != 0)
			return psprintf("The only placeholder is %s, the name of the user's volume.",
							PGC_VOLUME_PLACEHOLDER);
	return NULL;
}

/*
 * Parse pg_container.volume_driver_options: key=value pairs separated by
 * white space (a value may hold commas and "=", as mount options do), each
 * key at most once, with each {volume} in a value replaced by the given
 * volume name (left as it is if volume is NULL).  Returns the options as
 * "key=value" strings, or NIL with *problem set.
 */
List *
pgc_parse_volume_driver_options(const char *text, const char *volume, char **problem)
{
	List	   *options = NIL;
	List	   *keys = NIL;
	const char *p = text ? text : "";

	*problem = NULL;
	for (;;)
	{
		int			len;
		ListCell   *lc;
		char	   *key;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (*p == '\0')
			return options;
		for (len = 0; p[len] != '\0' && p[len] != ' ' && p[len] != '\t' && p[len] != '\n'; len++)
			if ((unsigned char) p[len] < ' ' || p[len] == 0x7f)
			{
				*problem = pstrdup("The options must not contain control characters.");
				return NIL;
			}
		if ((*problem = driver_option_problem(p, len)) != NULL)
			return NIL;
		key = pnstrdup(p, strchr(p, '=') - p);
		foreach(lc, keys)
			if (strcmp(lfirst(lc), key) == 0)
			{
				*problem = psprintf("The option \"%s\" is given twice.", key);
				return NIL;
			}
		keys = lappend(keys, key);
		options = lappend(options, volume ? pgc_fill_volume_placeholder(pnstrdup(p, len), volume) :
						  pnstrdup(p, len));
		p += len;
	}
}

/* text with each {volume} replaced by the volume's name. */
char *
pgc_fill_volume_placeholder(const char *text, const char *volume)
{
	StringInfoData buf;
	size_t		plen = strlen(PGC_VOLUME_PLACEHOLDER);

	initStringInfo(&buf);
	for (const char *p = text; *p;)
	{
		if (strncmp(p, PGC_VOLUME_PLACEHOLDER, plen) == 0)
		{
			appendStringInfoString(&buf, volume);
			p += plen;
		}
		else
			appendStringInfoChar(&buf, *p++);
	}
	return buf.data;
}

static bool
check_volume_driver_options(char **newval, void **extra, GucSource source)
{
	char	   *problem;

	(void) pgc_parse_volume_driver_options(*newval, NULL, &problem);
	if (problem != NULL)
	{
		GUC_check_errdetail("%s", problem);
		return false;
	}
	return true;
}

/*
 * Whether users' volumes live on storage every node reaches: a driver other
 * than Docker's "local", or options for it (NFS, a bind of a shared
 * mount).  On swarm, such users are not pinned to a node.
 */
bool
pgc_volume_is_shared(void)
{
	return (pgc_volume_driver != NULL && strcmp(pgc_volume_driver, "local") != 0) ||
		(pgc_volume_driver_options != NULL &&
		 strspn(pgc_volume_driver_options, " \t\n") != strlen(pgc_volume_driver_options));
}

/*
 * Whether new units publish the gateway port on their hosts' addresses.  A
 * swarm's host-mode port is bound on every address of its node, where
 * every tenant's task reaches it, so a swarm publishes only for url_mode
 * published; a plain engine always does, on pg_container.publish_address.
 */
bool
pgc_units_publish(void)
{
	return pgc_engine_kind != PGC_ENGINE_SWARM || pgc_url_mode == PGC_URL_PUBLISHED;
}

void
pgc_define_settings(void)
{
	/* The Docker engine */
	DefineCustomStringVariable("pg_container.docker_host",
							   "Docker engine endpoint.",
							   "unix:///path, an absolute socket path, tcp://host:port, http://host:port "
							   "or https://host:port. Empty: the server's DOCKER_HOST environment "
							   "variable, else unix:///var/run/docker.sock.",
							   &pgc_docker_host,
							   "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY,
							   check_docker_host, NULL, NULL);

	DefineCustomEnumVariable("pg_container.engine",
							 "What runs the users' gateways: docker or swarm.",
							 "docker: a container per user on the engine pg_container.docker_host names. "
							 "swarm: a replicated service per user on the Docker Swarm manager it names.",
							 &pgc_engine_kind,
							 PGC_ENGINE_DOCKER,
							 engine_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("pg_container.docker_api_version",
							   "Docker Engine API version to use, such as 1.41.",
							   "Empty: negotiated once per process from the engine's GET /_ping.",
							   &pgc_docker_api_version,
							   "",
							   PGC_SUSET,
							   0,
							   check_api_version, NULL, NULL);

	DefineCustomIntVariable("pg_container.docker_timeout",
							"Time limit of each Docker request.",
							"A stop request is allowed pg_container.stop_timeout on top of it.",
							&pgc_docker_timeout_ms,
							30000, 100, INT_MAX / 2,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_container.max_response_size",
							"Largest Docker response body accepted.",
							"A larger body fails the request instead of filling backend memory.",
							&pgc_max_response_size_kb,
							8192, 64, 1024 * 1024,
							PGC_SUSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomStringVariable("pg_container.docker_cert_path",
							   "Directory with ca.pem, cert.pem and key.pem for a TLS Docker endpoint.",
							   "Docker's own DOCKER_CERT_PATH convention. When set, tcp:// endpoints use TLS.",
							   &pgc_docker_cert_path,
							   "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);

	DefineCustomBoolVariable("pg_container.docker_tls_verify",
							 "Verify the Docker engine's TLS certificate against ca.pem.",
							 NULL,
							 &pgc_docker_tls_verify,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	/* Secrets */
	DefineCustomStringVariable("pg_container.encryption_key_file",
							   "File holding the 256-bit key (64 hex characters) that encrypts gateway tokens.",
							   NULL,
							   &pgc_encryption_key_file,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("pg_container.encryption_key_file_previous",
							   "File holding the key tokens were encrypted with before the current one.",
							   "Tokens that do not decrypt with the current key are tried with this one, "
							   "until container_reencrypt_tokens() has moved them all to the current key.",
							   &pgc_encryption_key_file_previous,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);

	/* The container */
	DefineCustomStringVariable("pg_container.image",
							   "Image of new user containers.",
							   NULL,
							   &pgc_image,
							   "alpine/openclaw:latest",
							   PGC_SUSET,
							   0,
							   check_no_whitespace, NULL, NULL);

	DefineCustomStringVariable("pg_container.network",
							   "Docker network that user containers join.",
							   NULL,
							   &pgc_network,
							   "mosaic-internal",
							   PGC_SUSET,
							   0,
							   check_no_whitespace, NULL, NULL);

	DefineCustomStringVariable("pg_container.api_url",
							   "Value of MOSAIC_API_URL in user containers.",
							   NULL,
							   &pgc_api_url,
							   "http://mosaic-api:3000/api",
							   PGC_SUSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("pg_container.name_prefix",
							   "Prefix of container names; the user id follows it.",
							   NULL,
							   &pgc_name_prefix,
							   "mosaic-user-",
							   PGC_SUSET,
							   0,
							   check_name_prefix, NULL, NULL);

	DefineCustomIntVariable("pg_container.gateway_port",
							"TCP port the gateway listens on inside the container.",
							NULL,
							&pgc_gateway_port,
							18789, 1, 65535,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("pg_container.state_path",
							   "Path inside the container where the user's volume is mounted.",
							   NULL,
							   &pgc_state_path,
							   "/home/node/.openclaw",
							   PGC_SUSET,
							   0,
							   check_state_path, NULL, NULL);

	DefineCustomStringVariable("pg_container.volume_driver",
							   "Docker volume driver of users' volumes.",
							   "Other than \"local\", or with pg_container.volume_driver_options set, volumes are "
							   "taken to be shared storage: on swarm, users are then not pinned to a node.",
							   &pgc_volume_driver,
							   "local",
							   PGC_SUSET,
							   0,
							   check_volume_driver, NULL, NULL);

	DefineCustomStringVariable("pg_container.volume_driver_options",
							   "Driver options of users' volumes, as key=value pairs separated by spaces.",
							   "A value may hold commas; {volume} in a value is the name of the user's volume, "
							   "as in \"type=nfs o=addr=10.0.0.5,rw device=:/exports/pgc/{volume}\".",
							   &pgc_volume_driver_options,
							   "",
							   PGC_SUSET,
							   /* Mount options carry credentials (CIFS password=). */
							   GUC_SUPERUSER_ONLY,
							   check_volume_driver_options, NULL, NULL);

	DefineCustomIntVariable("pg_container.port_range_start",
							"First host port handed out to user containers.",
							NULL,
							&pgc_port_range_start,
							19000, 1, 65535,
							PGC_SUSET,
							0,
							check_port_range_start, NULL, NULL);

	DefineCustomIntVariable("pg_container.port_range_end",
							"Last host port handed out to user containers.",
							NULL,
							&pgc_port_range_end,
							19999, 1, 65535,
							PGC_SUSET,
							0,
							check_port_range_end, NULL, NULL);

	DefineCustomStringVariable("pg_container.publish_address",
							   "Host address the gateway port is published on.",
							   "The default keeps gateways off every other interface.",
							   &pgc_publish_address,
							   "127.0.0.1",
							   PGC_SUSET,
							   0,
							   check_no_whitespace, NULL, NULL);

	DefineCustomIntVariable("pg_container.stop_timeout",
							"Time a container gets to exit after SIGTERM before it is killed.",
							NULL,
							&pgc_stop_timeout_s,
							10, 0, 3600,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("pg_container.url_mode",
							 "Which URL container_ensure_running returns.",
							 "internal: http://<container name>:<gateway port>, reachable on the container network; "
							 "published: http://<publish address>:<host port>, reachable from the Docker host.",
							 &pgc_url_mode,
							 PGC_URL_INTERNAL,
							 url_mode_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("pg_container.ready_path",
							   "HTTP path that must answer 2xx before a started container counts as up.",
							   "Probed through the published port. Empty: do not wait.",
							   &pgc_ready_path,
							   "/readyz",
							   PGC_SUSET,
							   0,
							   check_ready_path, NULL, NULL);

	DefineCustomIntVariable("pg_container.ready_timeout",
							"How long to wait for a started container's gateway to be ready.",
							NULL,
							&pgc_ready_timeout_ms,
							120000, 0, INT_MAX / 2,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_container.max_concurrent_starts",
							"How many containers the worker boots at once from the start queue.",
							"Starts asked for with container_start beyond this wait, first come first served, so a burst of users never boots more gateways at once than the host can bear.",
							&pgc_max_concurrent_starts,
							4, 1, 1000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_container.running_memory_budget",
							"Memory the running and paused containers may hold together, each counted at its memory limit; 0 means no budget.",
							"A queued start that would exceed it first stops idle users, longest paused and least recently active first, and otherwise waits in the queue.",
							&pgc_running_memory_budget_mb,
							0, 0, INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_MB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_container.memory_limit",
							"Memory limit of each container; 0 means none.",
							"The default, as openclaw fleet's, holds an idle OpenClaw gateway (about 830 MB) with room to work.",
							&pgc_memory_limit_mb,
							2048, 0, INT_MAX,
							PGC_SUSET,
							GUC_UNIT_MB,
							NULL, NULL, NULL);

	DefineCustomRealVariable("pg_container.cpus",
							 "CPUs each container may use, as docker run --cpus; 0 means no limit.",
							 "The default is openclaw fleet's: one user cannot take the whole host.",
							 &pgc_cpus,
							 2, 0, 1024,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pg_container.pids_limit",
							"Most processes each container may run; 0 means no limit.",
							"The default is openclaw fleet's: a fork bomb in one container stops at it.",
							&pgc_pids_limit,
							512, 0, INT_MAX,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	/* A tenant's output must not fill the engine's disk. */
	DefineCustomIntVariable("pg_container.log_max_size",
							"Size at which a container's log file is rotated; 0 leaves logging to the engine's defaults.",
							"Containers log through json-file with this max-size and pg_container.log_max_files files.",
							&pgc_log_max_size_mb,
							10, 0, 1024 * 1024,
							PGC_SUSET,
							GUC_UNIT_MB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_container.log_max_files",
							"Log files a container keeps, as json-file's max-file.",
							NULL,
							&pgc_log_max_files,
							3, 1, 100,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("pg_container.command",
							   "Command of new user containers, as words separated by spaces; empty keeps the image's own.",
							   "The official OpenClaw image needs: gateway --allow-unconfigured --bind lan --port 18789 --auth token.",
							   &pgc_command,
							   "",
							   PGC_SUSET,
							   0,
							   check_command, NULL, NULL);

	DefineCustomBoolVariable("pg_container.drop_capabilities",
							 "Drop every Linux capability in user containers.",
							 "A gateway needs none; an escape from a container without capabilities gains little.",
							 &pgc_drop_capabilities,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("pg_container.init",
							 "Run an init process as PID 1 of user containers.",
							 "It reaps zombies and forwards SIGTERM, so a gateway exits cleanly on stop.",
							 &pgc_init,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomEnumVariable("pg_container.network_mode",
							 "Which Docker network user containers join.",
							 "per_user: a bridge network of its own for each user, so tenants cannot reach each other; "
							 "shared: pg_container.network, as the original service had it.",
							 &pgc_network_mode,
							 PGC_NETWORK_PER_USER,
							 network_mode_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("pg_container.network_pool",
							   "IPv4 pool that per-user networks take a /28 each from.",
							   "A user's subnet follows from its host port; a /16 holds 4096 users' networks.",
							   &pgc_network_pool,
							   "10.213.0.0/16",
							   PGC_SUSET,
							   0,
							   check_network_pool, NULL, NULL);

	DefineCustomStringVariable("pg_container.attach_containers",
							   "Containers, separated by commas, attached to every user's network so they reach every gateway.",
							   "{api_host} stands for the host of pg_container.api_url (the application's API container) "
							   "with url_mode internal, and for nothing with url_mode published. Empty: attach nothing.",
							   &pgc_attach_containers,
							   PGC_ATTACH_API_HOST,
							   PGC_SUSET,
							   0,
							   check_attach_containers, NULL, NULL);

	DefineCustomEnumVariable("pg_container.restart_policy",
							 "Docker restart policy of new containers.",
							 "unless-stopped: a crashed gateway comes back, one pg_container stopped stays stopped.",
							 &pgc_restart_policy,
							 PGC_RESTART_UNLESS_STOPPED,
							 restart_policy_options,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	/*
	 * Reaping, health checks and the background worker.  A PGC_POSTMASTER
	 * setting can only be defined while shared_preload_libraries loads us;
	 * without preloading there is no worker for it to steer.
	 */
	if (process_shared_preload_libraries_in_progress)
		DefineCustomStringVariable("pg_container.database",
								   "Database the background worker connects to.",
								   "The extension must be installed there for the worker to do anything.",
								   &pgc_database,
								   "postgres",
								   PGC_POSTMASTER,
								   GUC_SUPERUSER_ONLY,
								   NULL, NULL, NULL);

	/* Seconds, as reals: fractions let tests drive many passes quickly. */
	DefineCustomRealVariable("pg_container.reap_interval",
							 "Time between the background worker's sweeps for idle containers; 0 turns them off.",
							 NULL,
							 &pgc_reap_interval_s,
							 60, 0, 24 * 3600,
							 PGC_SIGHUP,
							 GUC_UNIT_S,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("pg_container.health_check_interval",
							 "Time between the background worker's health checks; 0 turns them off.",
							 NULL,
							 &pgc_health_check_interval_s,
							 30, 0, 24 * 3600,
							 PGC_SIGHUP,
							 GUC_UNIT_S,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pg_container.max_parallel_requests",
							"Most Docker requests a sweep runs at once.",
							NULL,
							&pgc_max_parallel_requests,
							16, 1, 256,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_container.orphan_grace",
							"Age after which a running container of this installation that no row owns is stopped by the reaper.",
							"It spares the container of an ensure whose transaction has not committed yet; it must exceed the longest ensure.",
							&pgc_orphan_grace_s,
							600, 0, 7 * 24 * 3600,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_container.default_idle_timeout",
							"Idle time after which a new user's container is reaped.",
							"Each row's idle_timeout_min starts at this value.",
							&pgc_default_idle_timeout_min,
							30, 1, PGC_MAX_IDLE_TIMEOUT_MIN,
							PGC_SUSET,
							GUC_UNIT_MIN,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_container.pause_after",
							"Idle time after which a new user's container is paused; 0: never.",
							"Each row's pause_after_min starts at this value.  A paused container keeps its memory and resumes in milliseconds; it is still stopped at its idle timeout.",
							&pgc_default_pause_after_min,
							0, 0, PGC_MAX_IDLE_TIMEOUT_MIN,
							PGC_SUSET,
							GUC_UNIT_MIN,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_container.paused_memory_budget",
							"Memory the paused containers may hold together; past it the reaper stops the longest-paused first. 0: no budget.",
							"Each paused container counts at its memory limit (its profile's, else pg_container.memory_limit); one without a limit counts as the whole budget.",
							&pgc_paused_memory_budget_mb,
							0, 0, INT_MAX,
							PGC_SUSET,
							GUC_UNIT_MB,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("pg_container.event_stream",
							 "Keep user_container up to date from the Docker engine's event stream.",
							 "The worker follows the engine's events; while it is in sync, an ensure of a "
							 "container the table says is up asks the engine nothing.  Off: every ensure "
							 "inspects, and the table learns of changes at the next health check.",
							 &pgc_event_stream,
							 true,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	/*
	 * An hour outlasts a long agent turn with room to spare, yet bounds
	 * what an application that crashed while holding a user pins: its
	 * container, at most that long past the crash.  SUSET, so that an
	 * application role cannot lift its own bound.  At most the longest
	 * idle timeout.
	 */
	DefineCustomIntVariable("pg_container.max_lease",
							"Longest ttl container_hold accepts.",
							"A lease keeps its user from being paused, stopped or evicted until it is released or expires; hold again before it ends to keep the user longer.",
							&pgc_max_lease_s,
							3600, 1, PGC_MAX_IDLE_TIMEOUT_MIN * 60,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	/* Server-wide, like the sweeps that apply it: SIGHUP, not per session. */
	DefineCustomIntVariable("pg_container.dormant_after",
							"How long a user stays stopped before the idle sweep removes the container, keeping the volume; 0 never does.",
							"The row, token, port and volume are kept: the user's next start makes the container again.",
							&pgc_dormant_after_min,
							0, 0, 3650 * 24 * 60,
							PGC_SIGHUP,
							GUC_UNIT_MIN,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_container.max_age",
							"How long a gateway may run before the worker restarts it, once it is idle and unheld; 0 never does.",
							"Idle means no activity for 5 minutes and no live lease; the restart keeps the volume, token and port.",
							&pgc_max_age_min,
							0, 0, 3650 * 24 * 60,
							PGC_SIGHUP,
							GUC_UNIT_MIN,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_container.event_retention",
							"How long container_event keeps events; the worker prunes older ones. 0 keeps them all.",
							NULL,
							&pgc_event_retention_min,
							7 * 24 * 60, 0, INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_MIN,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_container.backup_max_size",
							"Largest volume container_backup copies into the database.",
							"The copy is held in backend memory and stored as a large object; a larger one is refused.",
							&pgc_backup_max_size_mb,
							256, 1, 1000,
							PGC_SUSET,
							GUC_UNIT_MB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_container.backup_keep",
							"Backups kept per user; container_backup drops the oldest past it.",
							NULL,
							&pgc_backup_keep,
							7, 1, 10000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	/* The worker's schedule: server-wide, like the sweeps. */
	DefineCustomIntVariable("pg_container.backup_interval",
							"How often the worker backs up each user's volume; 0 never does.",
							"One user a turn, the longest without a backup first; a held user waits for the end of its lease.",
							&pgc_backup_interval_min,
							0, 0, 3650 * 24 * 60,
							PGC_SIGHUP,
							GUC_UNIT_MIN,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("pg_container");
}
