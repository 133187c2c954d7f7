/*-------------------------------------------------------------------------
 *
 * container_spec.c
 *	  Builds the spec a user's container is created from: the pg_container.*
 *	  settings, overlaid by the user's profile (container_profile), with the
 *	  {token}, {user_id} and {container_name} placeholders of the profile's
 *	  extra environment filled in.
 *
 * The spec hash covers everything an operator configures (image, network,
 * ports, mounts, limits, restart policy, environment templates), and the
 * installation's identity, and nothing
 * that is the user's own (name, token, host port).  It is stored as a label
 * on the container and in the user's row at create, so a settings or
 * profile change shows as "outdated" until a restart recreates the
 * container; ensure never recreates on its own.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/evp.h>

#include "lib/stringinfo.h"

#include "container_spec.h"
#include "settings.h"

static const char hex_digits[] = "0123456789abcdef";

/*
 * The profile's image if it names one, else the image of the newest
 * rollout that did not fail (container_rollout), else the setting: once a
 * rollout is recorded, every new container, a stopped user's at its next
 * start included, is made from its image, and the spec hash of every
 * running container made from another shows it as outdated.
 */
const char *
spec_image(const ContainerProfile *profile)
{
	char	   *rollout_image;

	if (profile && profile->image)
		return profile->image;
	rollout_image = store_rollout_image();
	return rollout_image ? rollout_image : pgc_image;
}

static int64
effective_memory_bytes(const ContainerProfile *profile)
{
	int			mb = (profile && profile->memory_limit_mb >= 0) ? profile->memory_limit_mb : pgc_memory_limit_mb;

	return (int64) mb * 1024 * 1024;
}

static int64
effective_nano_cpus(const ContainerProfile *profile)
{
	double		cpus = (profile && profile->cpus >= 0) ? profile->cpus : pgc_cpus;

	return (int64) (cpus * 1e9);
}

static int64
effective_pids_limit(const ContainerProfile *profile)
{
	return (profile && profile->pids_limit >= 0) ? profile->pids_limit : pgc_pids_limit;
}

static bool
effective_init(const ContainerProfile *profile)
{
	return (profile && profile->init >= 0) ? profile->init == 1 : pgc_init;
}

static bool
effective_drop_capabilities(const ContainerProfile *profile)
{
	return (profile && profile->drop_capabilities >= 0) ? profile->drop_capabilities == 1 : pgc_drop_capabilities;
}

static int
effective_log_max_size_mb(const ContainerProfile *profile)
{
	return (profile && profile->log_max_size_mb >= 0) ? profile->log_max_size_mb : pgc_log_max_size_mb;
}

static int
effective_log_max_files(const ContainerProfile *profile)
{
	return (profile && profile->log_max_files >= 0) ? profile->log_max_files : pgc_log_max_files;
}

/* The command as words: the profile's if it has one, else the setting's. */
static List *
effective_command(const ContainerProfile *profile)
{
	List	   *words = NIL;
	char	   *copy;
	char	   *word;
	char	   *save = NULL;

	if (profile && profile->has_command)
		return profile->command;
	copy = pstrdup(pgc_command ? pgc_command : "");
	for (word = strtok_r(copy, " \t", &save); word; word = strtok_r(NULL, " \t", &save))
		words = lappend(words, word);
	return words;
}

/*
 * The /28 of pg_container.network_pool that a user's network gets: the
 * pool's (port mod its size)-th.  Ports are unique and kept for the row's
 * life, so subnets are too, with no state of their own; when another
 * network holds it already (another database's range wrapping onto this
 * one), the caller moves the user to another port.
 */
char *
spec_network_subnet(int host_port)
{
	unsigned int a,
				b,
				c,
				d,
				bits;
	uint32		base;
	uint32		subnets;
	uint32		subnet;

	if (sscanf(pgc_network_pool, "%u.%u.%u.%u/%u", &a, &b, &c, &d, &bits) != 5 || bits < 8 || bits > 28)
		elog(ERROR, "pg_container.network_pool \"%s\" is not a network", pgc_network_pool);
	base = ((a << 24) | (b << 16) | (c << 8) | d) & ~(uint32) ((UINT64CONST(1) << (32 - bits)) - 1);
	subnets = (uint32) (UINT64CONST(1) << (28 - bits));
	subnet = base + ((uint32) host_port % subnets) * 16;
	return psprintf("%u.%u.%u.%u/28", subnet >> 24, (subnet >> 16) & 0xff, (subnet >> 8) & 0xff, subnet & 0xff);
}

/*
 * The network a user's container joins: one of its own (per_user), named
 * after the container, or the shared pg_container.network.
 */
char *
spec_network_name(const char *container_name)
{
	if (pgc_network_mode == PGC_NETWORK_PER_USER)
		return psprintf("%s-net", container_name);
	return pstrdup(pgc_network);
}

/*
 * HOME for the gateway: the folder that holds the state path, as OpenClaw's
 * container docs have it (HOME=/home/node, state in /home/node/.openclaw).
 */
static char *
state_home(const char *state_path)
{
	const char *slash = strrchr(state_path, '/');

	if (slash == NULL || slash == state_path)
		return pstrdup("/");
	return pnstrdup(state_path, slash - state_path);
}

/* Replace each occurrence of a placeholder in a template. */
static char *
fill_placeholders(const char *template, const UserContainerRow *row, const char *token)
{
	static const char *const names[] = {"{token}", "{user_id}", "{container_name}"};
	const char *values[] = {token, row->user_id, row->container_name};
	StringInfoData buf;
	const char *p = template;

	initStringInfo(&buf);
	while (*p)
	{
		bool		replaced = false;

		for (size_t i = 0; i < lengthof(names); i++)
		{
			size_t		len = strlen(names[i]);

			if (strncmp(p, names[i], len) == 0)
			{
				appendStringInfoString(&buf, values[i]);
				p += len;
				replaced = true;
				break;
			}
		}
		if (!replaced)
			appendStringInfoChar(&buf, *p++);
	}
	return buf.data;
}

/*
 * The hash of everything configurable in a user's spec, as the first
 * PGC_SPEC_HASH_LENGTH hex digits of SHA-256 over a canonical text.
 */
char *
spec_current_hash(const ContainerProfile *profile)
{
	StringInfoData canon;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len;
	char	   *hash;
	ListCell   *lc;

	initStringInfo(&canon);
	appendStringInfo(&canon, "image=%s\nnetwork=%s\ngateway_port=%d\nstate_path=%s\n",
					 spec_image(profile), pgc_network, pgc_gateway_port, pgc_state_path);
	appendStringInfo(&canon, "publish_address=%s\nrestart=%s\nmemory=" INT64_FORMAT "\n",
					 pgc_publish_address, pgc_restart_policy_name(pgc_restart_policy),
					 effective_memory_bytes(profile));
	appendStringInfo(&canon, "nano_cpus=" INT64_FORMAT "\npids=" INT64_FORMAT "\napi_url=%s\n",
					 effective_nano_cpus(profile), effective_pids_limit(profile), pgc_api_url);
	if (profile != NULL)
		foreach(lc, profile->extra_env)
			appendStringInfo(&canon, "env=%s\n", (char *) lfirst(lc));
	foreach(lc, effective_command(profile))
		appendStringInfo(&canon, "cmd=%s\n", (char *) lfirst(lc));
	appendStringInfo(&canon, "init=%d\ncap_drop=%d\nnetwork_mode=%d\nnetwork_pool=%s\n",
					 effective_init(profile), effective_drop_capabilities(profile),
					 pgc_network_mode, pgc_network_pool);
	/* Where url_mode decides whether the port is published (a swarm). */
	if (pgc_engine_kind == PGC_ENGINE_SWARM)
		appendStringInfo(&canon, "publish=%d\n", pgc_units_publish());
	/* Containers made before 0.6.0 have no log limit: they show as outdated. */
	appendStringInfo(&canon, "log_max_size=%d\nlog_max_files=%d\n",
					 effective_log_max_size_mb(profile), effective_log_max_files(profile));
	/* Containers made before they were labelled with it show as outdated. */
	if (store_installation_id() != NULL)
		appendStringInfo(&canon, "installation=%s\n", store_installation_id());

	if (EVP_Digest(canon.data, canon.len, digest, &digest_len, EVP_sha256(), NULL) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not compute the container spec hash")));

	hash = palloc(PGC_SPEC_HASH_LENGTH + 1);
	for (int i = 0; i < PGC_SPEC_HASH_LENGTH / 2; i++)
	{
		hash[i * 2] = hex_digits[digest[i] >> 4];
		hash[i * 2 + 1] = hex_digits[digest[i] & 0x0f];
	}
	hash[PGC_SPEC_HASH_LENGTH] = '\0';
	return hash;
}

/* Fill in the spec of the user's container; profile may be NULL. */
void
spec_build(ContainerSpec *spec, const UserContainerRow *row,
		   const ContainerProfile *profile, const char *token, int host_port)
{
	ListCell   *lc;

	memset(spec, 0, sizeof(ContainerSpec));
	spec->name = row->container_name;
	spec->user_id = row->user_id;
	spec->image = spec_image(profile);
	/*
	 * The profile's variables first: of two entries with one name, the
	 * container gets the last, and a profile stored before its check knew
	 * a name must not replace the token or the state paths below.
	 */
	spec->env = NIL;
	if (profile != NULL)
		foreach(lc, profile->extra_env)
			spec->env = lappend(spec->env, fill_placeholders(lfirst(lc), row, token));

	/*
	 * The original service's variables, then what OpenClaw reads: the token
	 * its gateway checks, and the paths its container docs pin, so that the
	 * gateway's whole state lands in the user's volume.
	 */
	spec->env = lappend(spec->env, psprintf("MOSAIC_API_URL=%s", pgc_api_url));
	spec->env = lappend(spec->env, psprintf("AGENT_TOKEN=%s", token));
	spec->env = lappend(spec->env, psprintf("AGENT_ID=%s", row->id));
	spec->env = lappend(spec->env, psprintf("OPENCLAW_GATEWAY_TOKEN=%s", token));
	spec->env = lappend(spec->env, psprintf("HOME=%s", state_home(pgc_state_path)));
	spec->env = lappend(spec->env, psprintf("OPENCLAW_HOME=%s", state_home(pgc_state_path)));
	spec->env = lappend(spec->env, psprintf("OPENCLAW_STATE_DIR=%s", pgc_state_path));
	spec->env = lappend(spec->env, psprintf("OPENCLAW_CONFIG_PATH=%s/openclaw.json", pgc_state_path));
	spec->env = lappend(spec->env, psprintf("OPENCLAW_WORKSPACE_DIR=%s/workspace", pgc_state_path));
	spec->env = lappend(spec->env, psprintf("XDG_CACHE_HOME=%s/cache", pgc_state_path));
	spec->volume = psprintf("%s-state", row->container_name);
	spec->volume_driver = pgc_volume_driver;
	spec->volume_options = spec_volume_options(spec->volume);
	spec->volume_shared = pgc_volume_is_shared();
	spec->state_path = pgc_state_path;
	spec->network = spec_network_name(row->container_name);
	spec->command = effective_command(profile);
	spec->init = effective_init(profile);
	spec->drop_capabilities = effective_drop_capabilities(profile);
	spec->gateway_port = pgc_gateway_port;
	spec->publish_address = pgc_publish_address;
	spec->host_port = host_port;
	spec->publish = pgc_units_publish();
	spec->memory_bytes = effective_memory_bytes(profile);

	/*
	 * With a running memory budget, each gateway counts at its limit; on a
	 * swarm the scheduler is told the same, so no node is given more than
	 * its memory holds (start_admission.c keeps the fleet's sum).  Not part
	 * of the spec hash: a new budget does not make every service outdated.
	 */
	spec->memory_reserved_bytes = pgc_running_memory_budget_mb > 0 ? spec->memory_bytes : 0;
	spec->nano_cpus = effective_nano_cpus(profile);
	spec->pids_limit = effective_pids_limit(profile);
	spec->log_max_size_mb = effective_log_max_size_mb(profile);
	spec->log_max_files = effective_log_max_files(profile);
	spec->restart_policy = pgc_restart_policy_name(pgc_restart_policy);
	spec->spec_hash = spec_current_hash(profile);
	spec->installation = store_installation_id();
}

/*
 * pg_container.volume_driver_options for the named volume, as "key=value"
 * strings with {volume} filled in.  The check hook refused bad input; a
 * value that got past it anyway (set before an upgrade) is refused here.
 */
List *
spec_volume_options(const char *volume)
{
	char	   *problem;
	List	   *options = pgc_parse_volume_driver_options(pgc_volume_driver_options, volume, &problem);

	if (problem != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for parameter \"pg_container.volume_driver_options\": \"%s\"",
						pgc_volume_driver_options),
				 errdetail("%s", problem)));
	return options;
}

/* A user's profile by name, or NULL for the settings alone. */
ContainerProfile *
spec_load_profile(const char *user_id, const char *profile_name)
{
	ContainerProfile *profile;

	if (profile_name == NULL)
		return NULL;
	profile = palloc(sizeof(ContainerProfile));
	if (!store_get_profile(profile_name, profile))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("container profile \"%s\" of user \"%s\" does not exist", profile_name, user_id)));
	return profile;
}
