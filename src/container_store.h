/*-------------------------------------------------------------------------
 *
 * container_store.h
 *	  Every statement pg_container runs on its tables, by concern:
 *	  store_schema.c (finding and opening the installed extension),
 *	  store_rows.c (a user's row), store_sweeps.c (the rows sweeps lock),
 *	  store_ports.c (host ports), store_profiles.c (profiles and specs),
 *	  store_events.c (the event log), store_leases.c (leases),
 *	  store_rollouts.c (rollout jobs).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGC_CONTAINER_STORE_H
#define PGC_CONTAINER_STORE_H

#include "datatype/timestamp.h"
#include "nodes/pg_list.h"

/* One user_container row, as the lifecycle code needs it. */
typedef struct UserContainerRow
{
	char	   *id;				/* the row's uuid, as text */
	char	   *user_id;
	char	   *container_id;	/* NULL when none is recorded */
	char	   *container_name;
	int			gateway_port;	/* host port; 0 when none is assigned */
	char	   *gateway_token;	/* encrypted */
	bool		running;		/* status = 'running' */
	bool		paused;			/* status = 'paused' */
	char	   *profile;		/* NULL: the settings alone */
	char	   *spec_hash;		/* recorded at create; NULL if unknown */
} UserContainerRow;

/* A row as the fleet-wide functions need it. */
typedef struct StoreRowSummary
{
	char	   *user_id;
	char	   *container_id;
	char	   *container_name;
	char	   *profile;
	char	   *spec_hash;
	char	   *status;
} StoreRowSummary;

/* A row of the container_overview view. */
typedef struct OverviewRow
{
	char	   *user_id;
	char	   *status;
	int			port;			/* 0: none */
	int			idle_minutes_left;	/* -1: not running */
	int			healthy;		/* 1, 0, or -1 when never checked */
	char	   *profile;
	char	   *spec_hash;
	char	   *container_id;
	bool		outdated;
	char	   *last_error;
	TimestampTz last_error_at;	/* 0: none */
} OverviewRow;

/* A container_profile row; unset columns fall back to the settings. */
typedef struct ContainerProfile
{
	char	   *name;
	char	   *image;			/* NULL: pg_container.image */
	int			memory_limit_mb;	/* -1: pg_container.memory_limit */
	double		cpus;			/* -1: pg_container.cpus */
	int			pids_limit;		/* -1: pg_container.pids_limit */
	int			idle_timeout_min;	/* -1: the row keeps its own */
	List	   *extra_env;		/* "KEY=VALUE" templates, may be NIL */
	List	   *command;		/* words; used only if has_command */
	bool		has_command;	/* false: pg_container.command */
	int			init;			/* 1, 0, or -1: pg_container.init */
	int			drop_capabilities;	/* 1, 0, or -1: pg_container.drop_capabilities */
	int			log_max_size_mb;	/* -1: pg_container.log_max_size */
	int			log_max_files;	/* -1: pg_container.log_max_files */
} ContainerProfile;

/* A row's identity and container, as sweeps need it. */
typedef struct ContainerRef
{
	char	   *user_id;
	char	   *container_id;	/* NULL when none is recorded */
	char	   *container_name;
	char		previously_healthy;	/* 't', 'f', or 0 if never checked */
	bool		paused;			/* its row says 'paused' */
	bool		pause;			/* the idle sweep pauses it rather than stops it */
} ContainerRef;

/* The installed extension, as pg_extension records it. */
typedef struct StoreSchema
{
	Oid			namespace_oid;
	char		version[NAMEDATALEN];	/* extversion */
	bool		current;		/* the version this library serves */
} StoreSchema;

extern bool store_find_schema(StoreSchema *schema);
extern void store_open(void);
extern bool store_find_current_schema(StoreSchema *schema);
extern bool store_waiting_for_update(void);
extern void store_open_schema(const StoreSchema *schema);
extern Oid	store_namespace(void);
extern char *store_expand_schema(const char *sql);

/* What store_lock_one found. */
typedef enum StoreRowLock
{
	STORE_ROW_LOCKED,
	STORE_ROW_BUSY,
	STORE_ROW_ABSENT
} StoreRowLock;

extern void store_close(void);

extern bool store_lock_and_touch(const char *user_id, UserContainerRow *row);
extern bool store_lock(const char *user_id, UserContainerRow *row);
extern char *store_insert(const char *user_id, const char *container_name,
						  const char *encrypted_token);
extern void store_mark_removing(const char *user_id, bool remove_volume);
extern bool store_lock_committed_removal(const char *user_id, bool *remove_volume, bool *marked_here);
extern List *store_pending_removals(void);
extern void store_record_paused(const char *user_id, const char *container_id);
extern void store_record_unpaused(const char *user_id);
extern bool store_set_pause_after(const char *user_id, int minutes, bool is_null);
extern const char *store_installation_id(void);
extern void store_record_running(const char *user_id, const char *container_id, int port,
								 const char *spec_hash, bool started);
extern void store_record_stopped(const char *user_id, const char *container_id);
extern void store_record_node(const char *user_id, const char *node);
extern char *store_recorded_node(const char *user_id);
extern int	store_claim_free_port(const char *user_id, const int *refused, int nrefused);
extern bool store_claim_port(const char *user_id, int port);
extern bool store_touch(const char *user_id, const char *source);
extern List *store_lock_idle(void);
extern List *store_lock_dormant(int minutes);
extern void store_forget_container(const char *user_id);
extern char *store_lock_aged(int max_age_min, int quiet_min);
extern uint64 store_explain(const char *user_id);
extern List *store_lock_running(TimestampTz unchanged_since);
extern void store_record_health(List *user_ids, const bool *healthy, List *errors, const bool *down);
extern bool store_set_idle_timeout(const char *user_id, int minutes);
extern void store_lock_all_tokens(List **user_ids, List **tokens);
extern void store_set_token(const char *user_id, const char *encrypted_token);
extern bool store_recorded_spec(const char *user_id, char **profile, char **spec_hash,
								char **container_id);
extern bool store_get_profile(const char *name, ContainerProfile *profile);
extern bool store_set_profile(const char *user_id, const char *profile);
extern void store_event(const char *user_id, const char *event, const char *detail_json);
extern uint64 store_prune_events(int retention_min);
extern void store_delete_row(const char *user_id);
extern List *store_all_rows(void);
extern List *store_overview_rows(MemoryContext result_context);
extern bool store_status(const char *user_id, char **status, int *port,
						 TimestampTz *last_active, bool *last_active_null,
						 TimestampTz *held_until);
extern bool store_hot_touch(const char *user_id, char **container_name, int *port,
							char **encrypted_token);
extern StoreRowLock store_lock_one(const char *user_id, TimestampTz unchanged_since,
								   ContainerRef *ref, bool *running);
extern char *store_container_id(const char *user_id);
extern List *store_lock_stopped(TimestampTz unchanged_since);
extern bool store_mark_running(const char *user_id, const char *container_id);
extern List *store_running_changed_since(TimestampTz since);

/* A lease store_release ended or store_prune_expired_leases deleted. */
typedef struct StoreLease
{
	int64		id;
	char	   *user_id;
	char	   *reason;
	bool		live;			/* it had not expired yet */
} StoreLease;

extern bool store_hold(const char *user_id, const char *reason, Interval *ttl, int64 *lease,
					   TimestampTz *expires_at);
extern bool store_release(int64 lease, StoreLease *ended);
extern List *store_prune_expired_leases(void);

/* A user a schedule's window keeps warm now, and has no lease for it yet. */
typedef struct StoreWarmUser
{
	char	   *user_id;
	char	   *schedule;
	TimestampTz opens_at;
	TimestampTz closes_at;
} StoreWarmUser;

extern List *store_warm_users_unheld(void);
extern bool store_hold_window(const StoreWarmUser *w, int64 *lease);
extern List *store_closed_window_leases(void);
extern uint64 store_schedule_windows(TimestampTz from, TimestampTz until);

/* The unfinished rollout job, as the worker carries it out. */
typedef struct RolloutJob
{
	int64		job;
	char	   *image;
	int			batch_size;
	int			max_failures;
	List	   *canaries;		/* of char * */
	char	   *phase;
	bool		cancel_requested;
	int			done;
	int			failed;
	int			batches_done;
	List	   *current_users;	/* of char *: the batch in flight, left to do */
} RolloutJob;

extern char *store_rollout_image(void);
extern bool store_rollout_insert(const char *image, int batch_size, int max_failures,
								 List *canaries, int64 *job);
extern bool store_rollout_unfinished(RolloutJob *job);
extern int	store_rollout_cancel(int64 job);
extern List *store_rollout_users_missing(List *user_ids);
extern List *store_rollout_stepped(int64 job);
extern List *store_rollout_held_users(void);
extern void store_rollout_defer(int64 job, const char *user_id);
extern void store_rollout_begin_batch(int64 job, const char *phase, int left, List *batch);
extern int	store_rollout_record_step(int64 job, const char *user_id, const char *outcome,
									  const char *error);
extern void store_rollout_finish(int64 job, const char *phase);

#endif							/* PGC_CONTAINER_STORE_H */
