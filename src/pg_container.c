/*-------------------------------------------------------------------------
 *
 * pg_container.c
 *	  Module entry point: defines the settings and sets up libcurl when the
 *	  library is loaded.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "docker_http.h"
#include "settings.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	pgc_define_settings();

	/* Once per process, before any handle exists (libcurl is not re-entrant here). */
	docker_http_init();
}
