/*-------------------------------------------------------------------------
 *
 * store_profiles.c
 *	  Container profiles: reading one, assigning one to a user's row, and
 *	  what a row records of the spec its container was made from.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "container_store.h"
#include "settings.h"
#include "store_internal.h"

static StoreStatement stmt_recorded_spec = {
	.sql = "SELECT profile, spec_hash, container_id"
		"  FROM @extschema@.user_container"
		" WHERE user_id = $1",
	.nargs = 1, .argtypes = {TEXTOID}
};

static StoreStatement stmt_profile_exists = {
	.sql = "SELECT 1 FROM @extschema@.container_profile WHERE name = $1 FOR KEY SHARE",
	.nargs = 1, .argtypes = {TEXTOID}
};

static StoreStatement stmt_get_profile = {
	.sql = "SELECT image, memory_limit_mb, cpus, pids_limit, idle_timeout_min, extra_env,"
		"       command, init, drop_capabilities, log_max_size_mb, log_max_files"
		"  FROM @extschema@.container_profile"
		" WHERE name = $1",
	.nargs = 1, .argtypes = {TEXTOID}
};

static StoreStatement stmt_set_profile = {
	.sql = "UPDATE @extschema@.user_container AS c"
		"   SET profile = $2, updated_at = pg_catalog.now(),"
		"       idle_timeout_min = coalesce((SELECT p.idle_timeout_min"
		"                                      FROM @extschema@.container_profile p"
		"                                     WHERE p.name = $2), c.idle_timeout_min),"
		"       pause_after_min = coalesce((SELECT p.pause_after_min"
		"                                     FROM @extschema@.container_profile p"
		"                                    WHERE p.name = $2), c.pause_after_min)"
		" WHERE c.user_id = $1",
	.nargs = 2, .argtypes = {TEXTOID, TEXTOID}
};

/*
 * What the user's row records of how its container was made, which decides
 * whether the container is out of date: its profile, spec hash and
 * container id.  False for an unknown user.
 */
bool
store_recorded_spec(const char *user_id, char **profile, char **spec_hash, char **container_id)
{
	Datum		values[1] = {CStringGetTextDatum(user_id)};

	*profile = *spec_hash = *container_id = NULL;
	store_run(&stmt_recorded_spec, values, NULL, 1);
	if (SPI_processed == 0)
		return false;
	*profile = store_column_text(1);
	*spec_hash = store_column_text(2);
	*container_id = store_column_text(3);
	return true;
}

static bool
column_int(int col, int *value)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, &isnull);

	if (!isnull)
		*value = DatumGetInt32(d);
	return !isnull;
}

/* Load a profile; false if there is none by that name. */
bool
store_get_profile(const char *name, ContainerProfile *profile)
{
	Datum		values[1] = {CStringGetTextDatum(name)};
	bool		isnull;
	Datum		d;

	store_run(&stmt_get_profile, values, NULL, 1);
	if (SPI_processed == 0)
		return false;

	memset(profile, 0, sizeof(ContainerProfile));
	profile->name = pstrdup(name);
	profile->image = store_column_text(1);
	if (!column_int(2, &profile->memory_limit_mb))
		profile->memory_limit_mb = -1;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
	profile->cpus = isnull ? -1 : DatumGetFloat4(d);
	if (!column_int(4, &profile->pids_limit))
		profile->pids_limit = -1;
	if (!column_int(5, &profile->idle_timeout_min))
		profile->idle_timeout_min = -1;
	profile->extra_env = store_column_text_list(6, NULL);
	profile->command = store_column_text_list(7, &profile->has_command);
	profile->init = store_column_bool(8);
	profile->drop_capabilities = store_column_bool(9);
	if (!column_int(10, &profile->log_max_size_mb))
		profile->log_max_size_mb = -1;
	if (!column_int(11, &profile->log_max_files))
		profile->log_max_files = -1;
	return true;
}

/*
 * Assign a profile (NULL: the settings alone) to the user's row, taking the
 * profile's idle timeout if it has one.  The profile row is share-locked so
 * it cannot vanish before we commit.  Returns false if the user has no row.
 */
bool
store_set_profile(const char *user_id, const char *profile)
{
	Datum		values[2] = {CStringGetTextDatum(user_id), profile ? CStringGetTextDatum(profile) : (Datum) 0};
	char		nulls[2] = {' ', profile ? ' ' : 'n'};

	if (profile != NULL)
	{
		store_run(&stmt_profile_exists, &values[1], NULL, 1);
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("container profile \"%s\" does not exist", profile),
					 errhint("Insert it into container_profile first.")));
	}
	store_run(&stmt_set_profile, values, nulls, 0);
	return SPI_processed > 0;
}
