/*-------------------------------------------------------------------------
 *
 * settings.h
 *	  The pg_container.* configuration parameters.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_SETTINGS_H
#define PGC_SETTINGS_H

#include "nodes/pg_list.h"

/* Docker restart policies, as pg_container.restart_policy spells them. */
typedef enum PgcRestartPolicy
{
	PGC_RESTART_NO,
	PGC_RESTART_ALWAYS,
	PGC_RESTART_UNLESS_STOPPED,
	PGC_RESTART_ON_FAILURE
} PgcRestartPolicy;

/* What runs the users' gateways (pg_container.engine; engine.h). */
typedef enum PgcEngineKind
{
	PGC_ENGINE_DOCKER,			/* containers on one Docker engine */
	PGC_ENGINE_SWARM			/* services on a Docker Swarm manager */
} PgcEngineKind;

/* Which network a user's container joins. */
typedef enum PgcNetworkMode
{
	PGC_NETWORK_PER_USER,		/* "<container name>-net", its own bridge */
	PGC_NETWORK_SHARED			/* pg_container.network */
} PgcNetworkMode;

/* How container_ensure_running builds the URL it returns. */
typedef enum PgcUrlMode
{
	PGC_URL_INTERNAL,			/* http://<container name>:<gateway port> */
	PGC_URL_PUBLISHED			/* http://<publish address>:<host port> */
} PgcUrlMode;

/* Docker engine */
extern char *pgc_docker_host;
extern char *pgc_docker_api_version;
extern int	pgc_docker_timeout_ms;
extern int	pgc_max_response_size_kb;

/* Backups (backup.c) */
extern int	pgc_backup_max_size_mb;
extern int	pgc_backup_keep;
extern int	pgc_backup_interval_min;
extern char *pgc_docker_cert_path;
extern bool pgc_docker_tls_verify;

/* Secrets */
extern char *pgc_encryption_key_file;
extern char *pgc_encryption_key_file_previous;

/* The container */
extern char *pgc_image;
extern char *pgc_network;
extern char *pgc_api_url;
extern char *pgc_name_prefix;
extern int	pgc_gateway_port;
extern char *pgc_state_path;
extern int	pgc_port_range_start;
extern int	pgc_port_range_end;
extern char *pgc_publish_address;
extern int	pgc_stop_timeout_s;
extern int	pgc_url_mode;
extern char *pgc_ready_path;
extern int	pgc_memory_limit_mb;
extern double pgc_cpus;
extern int	pgc_pids_limit;
extern int	pgc_log_max_size_mb;
extern int	pgc_log_max_files;
extern int	pgc_restart_policy;
extern char *pgc_command;
extern bool pgc_drop_capabilities;
extern bool pgc_init;
extern int	pgc_network_mode;
extern int	pgc_engine_kind;
extern char *pgc_network_pool;
extern char *pgc_attach_containers;
extern char *pgc_volume_driver;
extern char *pgc_volume_driver_options;

/* In pg_container.attach_containers: the host of pg_container.api_url. */
#define PGC_ATTACH_API_HOST "{api_host}"

/* In a volume driver option, the name of the user's volume. */
#define PGC_VOLUME_PLACEHOLDER "{volume}"

/* Reaping, health checks and the background worker */
extern char *pgc_database;
extern double pgc_reap_interval_s;
extern double pgc_health_check_interval_s;
extern int	pgc_max_parallel_requests;
extern int	pgc_orphan_grace_s;
extern int	pgc_default_idle_timeout_min;
extern int	pgc_default_pause_after_min;
extern int	pgc_paused_memory_budget_mb;
extern int	pgc_max_lease_s;
extern int	pgc_dormant_after_min;
extern int	pgc_max_age_min;

/*
 * The longest idle timeout, in minutes: a week.  The tables' CHECKs say the
 * same; without a bound an application role could keep a container up for
 * good.
 */
#define PGC_MAX_IDLE_TIMEOUT_MIN (7 * 24 * 60)
extern int	pgc_event_retention_min;
extern bool pgc_event_stream;

extern const char *pgc_restart_policy_name(int policy);
extern int	pgc_ready_timeout_ms;
extern int	pgc_max_concurrent_starts;
extern int	pgc_running_memory_budget_mb;

extern List *pgc_parse_volume_driver_options(const char *text, const char *volume,
											 char **problem);
extern char *pgc_fill_volume_placeholder(const char *text, const char *volume);
extern bool pgc_volume_is_shared(void);
extern bool pgc_units_publish(void);

extern void pgc_define_settings(void);

#endif							/* PGC_SETTINGS_H */
