#!/usr/bin/env bash
# The 0.3.0 -> 0.4.0 update, issue 16's part: container_ensure_running_checked
# is executable by exactly those who may run container_ensure_running, the
# view container_mirror by no one but its owner, and both work (the checked
# ensure once the update has reached the library's version).
source "$(dirname "$0")/../lib/tap.sh"
plan 6

export TEST_DB=pgc_upgrade_mirror
TEST_DB=postgres q -c "DROP DATABASE IF EXISTS $TEST_DB" -c "CREATE DATABASE $TEST_DB" \
	-c "ALTER DATABASE $TEST_DB SET pg_container.port_range_start = 24300" \
	-c "ALTER DATABASE $TEST_DB SET pg_container.port_range_end = 24399" \
	-c "DROP ROLE IF EXISTS pgc_um_app" -c "CREATE ROLE pgc_um_app" \
	-c "DROP ROLE IF EXISTS pgc_um_other" -c "CREATE ROLE pgc_um_other" 2>/dev/null
q -c "SET client_min_messages = error" -c "CREATE EXTENSION pg_container VERSION '0.3.0'"
q -c "GRANT EXECUTE ON FUNCTION container_ensure_running(text) TO pgc_um_app"
q -c "SET client_min_messages = error" -c "ALTER EXTENSION pg_container UPDATE TO '0.4.0'"

is "$(q -c "SELECT has_function_privilege('pgc_um_app', 'container_ensure_running_checked(text)', 'EXECUTE')")" t \
	"a role that may ensure may ensure checked after the update"
is "$(q -c "SELECT has_function_privilege('pgc_um_other', 'container_ensure_running_checked(text)', 'EXECUTE')")" f \
	"... and one that may not, may not"
is "$(q -c "SELECT has_table_privilege('pgc_um_app', 'container_mirror', 'SELECT')")" f \
	"container_mirror is not readable by the application"
# The worker serves another database: here the mirror is never in sync.
# container_mirror reads the worker's shared memory only, so it answers on
# 0.4.0's tables too; a function that reads the tables asks for the update.
is "$(q -c "SELECT in_sync FROM container_mirror")" f "container_mirror says out of sync in a database the worker does not serve"
like "$(q -v VERBOSITY=verbose -c "SELECT url FROM container_ensure_running_checked('um-1')" 2>&1)" \
	"ERROR:  55000: pg_container's tables are those of version 0.4.0" "on 0.4.0's tables the checked ensure answers 55000"
q -c "SET client_min_messages = error" -c "ALTER EXTENSION pg_container UPDATE"
like "$(q -c "SELECT url FROM container_ensure_running_checked('um-1')")" '^http://mosaic-user-um-1:' "the checked ensure works after the update"
q -c "SELECT container_remove('um-1', keep_volume => false)" -c "SELECT container_process_removals()" >/dev/null
TEST_DB=postgres q -c "DROP DATABASE $TEST_DB WITH (FORCE)" -c "DROP ROLE pgc_um_app" -c "DROP ROLE pgc_um_other"
tap_exit
