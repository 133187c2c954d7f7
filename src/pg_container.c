/*-------------------------------------------------------------------------
 *
 * pg_container.c
 *	  Module entry point: defines the settings, sets up libcurl, and, when
 *	  loaded through shared_preload_libraries, registers the background
 *	  worker and the shared memory of the event mirror and the statistics.
 *	  Without preloading, every SQL function still works; only the
 *	  scheduled reaping, health checks and statistics are missing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "docker_http.h"
#include "settings.h"
#include "start_waiters.h"
#include "state_mirror.h"
#include "stats.h"
#include "worker.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	pgc_define_settings();

	/* Once per process, before any handle exists (libcurl is not re-entrant here). */
	docker_http_init();

	if (process_shared_preload_libraries_in_progress && !IsBinaryUpgrade)
	{
		state_mirror_request_shmem();
		stats_request_shmem();
		start_waiters_request_shmem();
		pgc_register_worker();
	}
}
