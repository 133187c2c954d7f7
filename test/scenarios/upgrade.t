#!/usr/bin/env bash
# Upgrade: install 0.1.0, fill it with users, ALTER EXTENSION pg_container
# UPDATE to the newest version; rows, tokens and grants survive, and the
# functions work on them.  The library serves the newest version's tables
# only: against 0.1.0's, a function answers 55000 and asks for the update.
#
# The library cannot make 0.1.0's rows any more, so they are made by the
# newest version in a database of its own and copied, tokens and ports
# included, into the 0.1.0 table (a token is sealed to its user id, not to
# the database); their containers are removed first, so the update starts
# from rows whose containers are gone, as after a dockerd wipe.
source "$(dirname "$0")/../lib/tap.sh"
plan 15

ROW_COLUMNS="user_id, container_name, gateway_port, gateway_token, idle_timeout_min"
export TEST_DB=pgc_upgrade
TEST_DB=postgres q -c "DROP DATABASE IF EXISTS pgc_upgrade" -c "CREATE DATABASE pgc_upgrade" \
	-c "ALTER DATABASE pgc_upgrade SET pg_container.port_range_start = 24200" \
	-c "ALTER DATABASE pgc_upgrade SET pg_container.port_range_end = 24299" \
	-c "DROP DATABASE IF EXISTS pgc_upgrade_src" -c "CREATE DATABASE pgc_upgrade_src" \
	-c "ALTER DATABASE pgc_upgrade_src SET pg_container.port_range_start = 24200" \
	-c "ALTER DATABASE pgc_upgrade_src SET pg_container.port_range_end = 24299"
q -c "SET client_min_messages = error" -c "CREATE EXTENSION pg_container VERSION '0.1.0'"
is "$(q -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_container'")" "0.1.0" "version 0.1.0 installs"

newest=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$(dirname "$0")/../../pg_container.control")
refused=$(q -v VERBOSITY=verbose -c "SELECT container_ensure_running('ug-1')" 2>&1)
like "$refused" "ERROR:  55000: pg_container's tables are those of version 0.1.0, not $newest" \
	"on 0.1.0 a function answers 55000 naming both versions"
like "$refused" "HINT:  Run ALTER EXTENSION pg_container UPDATE." "... with a hint to run the update"
is "$(pgc_docker ps -a -q --filter label=pg_container.user_id=ug-1 | wc -l)" "0" "... and makes no container"
# The installed version decides, not a probe of the columns: a column
# named like a newer version's on a 0.1.0 table changes nothing.
like "$(q -c "BEGIN" -c "ALTER TABLE user_container ADD COLUMN spec_hash text" \
	-c "SELECT * FROM container_status('ug-1')" -c "ROLLBACK" 2>&1)" \
	"pg_container's tables are those of version 0.1.0" "on 0.1.0 the version, not a probe of the columns, decides"

# The rows, made by the newest version and copied into 0.1.0's table.
TEST_DB=pgc_upgrade_src q -c "SET client_min_messages = error" -c "CREATE EXTENSION pg_container" >/dev/null
before=$(TEST_DB=pgc_upgrade_src q -c "SELECT string_agg(url || ' ' || token, ',') FROM (SELECT (container_ensure_running(u)).* FROM unnest(ARRAY['ug-1', 'ug-2']) u) t")
like "$before" '^http://mosaic-user-ug-1:[0-9]+ [0-9a-f]+,http://mosaic-user-ug-2:[0-9]+ [0-9a-f]+$' \
	"the newest version makes the rows to copy, in a database of its own"
TEST_DB=pgc_upgrade_src q -c "COPY (SELECT $ROW_COLUMNS FROM user_container ORDER BY user_id) TO STDOUT" >"$PGC_WORK/upgrade_rows"
TEST_DB=pgc_upgrade_src q -c "SELECT container_remove(u, keep_volume => false) FROM unnest(ARRAY['ug-1', 'ug-2']) u" \
	-c "SELECT container_process_removals()" >/dev/null
q -c "COPY user_container ($ROW_COLUMNS) FROM STDIN" <"$PGC_WORK/upgrade_rows"
TEST_DB=postgres q -c "DROP DATABASE pgc_upgrade_src"

TEST_DB=postgres q -c "DROP ROLE IF EXISTS pgc_ug_app" -c "CREATE ROLE pgc_ug_app"
q -c "GRANT EXECUTE ON FUNCTION container_status(text), container_touch(text) TO pgc_ug_app"
rows_before=$(q -c "SELECT string_agg(user_id || ' ' || gateway_port || ' ' || status || ' ' || gateway_token, ',' ORDER BY user_id) FROM user_container")

q -c "SET client_min_messages = error" -c "ALTER EXTENSION pg_container UPDATE"
is "$(q -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_container'")" "$newest" \
	"ALTER EXTENSION pg_container UPDATE brings it to the newest version"
is "$(q -c "SELECT has_function_privilege('pgc_ug_app', 'container_status(text)', 'EXECUTE')")" "t" \
	"the grant on container_status survives its drop and re-creation in the update"
is "$(q -c "SELECT string_agg(has_function_privilege('pgc_ug_app', f, 'EXECUTE')::text, ' ') FROM unnest(ARRAY['container_hold(text, text, interval)', 'container_release(bigint)', 'container_touch(text, text)']) f")" \
	"true true true" "whoever could touch may hold, release and touch with a source after the update"
is "$(q -c "SELECT string_agg(user_id || ' ' || gateway_port || ' ' || status || ' ' || gateway_token, ',' ORDER BY user_id) FROM user_container")" \
	"$rows_before" "the rows survive the update, tokens included"
after=$(q -c "SELECT string_agg(url || ' ' || token, ',') FROM (SELECT (container_ensure_running(u)).* FROM unnest(ARRAY['ug-1', 'ug-2']) u) t")
is "$after" "$before" "ensure hands out the same URLs and tokens afterwards"
is "$(q -c "SELECT outdated FROM container_status('ug-1')")" "f" "container_status has the outdated column"
q -c "INSERT INTO container_profile (name, memory_limit_mb) VALUES ('ug-plan', 64)" -c "SELECT container_set_profile('ug-1', 'ug-plan')" >/dev/null
is "$(q -c "SELECT string_agg(u, ',' ORDER BY u) FROM container_outdated() u")" "ug-1" "profiles and container_outdated work on the old rows"
q -c "SELECT container_restart('ug-1')" >/dev/null
is "$(pgc_docker inspect -f '{{.HostConfig.Memory}}' mosaic-user-ug-1)" "67108864" "a restart recreates the container with the new profile"
is "$(q -c "SELECT count(*) FROM container_overview")" 2 "the overview lists both users"

q -c "SELECT container_remove(u, keep_volume => false) FROM unnest(ARRAY['ug-1', 'ug-2']) u" \
	-c "SELECT container_process_removals()" >/dev/null
unset TEST_DB
TEST_DB=postgres q -c "DROP DATABASE pgc_upgrade" -c "DROP ROLE pgc_ug_app"
tap_exit
