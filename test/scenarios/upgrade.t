#!/usr/bin/env bash
# Upgrade: install 0.1.0, fill it with users, ALTER EXTENSION pg_container
# UPDATE to the newest version; rows, tokens, containers and grants
# survive, and the new functions work on them.  The installed library
# serves every version.
source "$(dirname "$0")/../lib/tap.sh"
plan 12

export TEST_DB=pgc_upgrade
TEST_DB=postgres q -c "DROP DATABASE IF EXISTS pgc_upgrade" -c "CREATE DATABASE pgc_upgrade" \
	-c "ALTER DATABASE pgc_upgrade SET pg_container.port_range_start = 24200" \
	-c "ALTER DATABASE pgc_upgrade SET pg_container.port_range_end = 24299"
q -c "SET client_min_messages = error" -c "CREATE EXTENSION pg_container VERSION '0.1.0'"
is "$(q -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_container'")" "0.1.0" "version 0.1.0 installs"

before=$(q -c "SELECT string_agg(url || ' ' || token, ',') FROM (SELECT (container_ensure_running(u)).* FROM unnest(ARRAY['ug-1', 'ug-2']) u) t")
q -c "SELECT container_stop('ug-2')" >/dev/null
TEST_DB=postgres q -c "DROP ROLE IF EXISTS pgc_ug_app" -c "CREATE ROLE pgc_ug_app"
q -c "GRANT EXECUTE ON FUNCTION container_status(text) TO pgc_ug_app"
# The installed version picks the statements, not the columns the table
# happens to have: a column named like 0.2.0's on a 0.1.0 table changes
# nothing.
is "$(q -c "BEGIN" -c "ALTER TABLE user_container ADD COLUMN spec_hash text" \
	-c "SELECT url FROM container_ensure_running('ug-1')" -c "ROLLBACK" 2>&1)" \
	"$(echo "$before" | cut -d' ' -f1)" "on 0.1.0 the version, not a probe of the columns, decides the statements"
rows_before=$(q -c "SELECT string_agg(user_id || ' ' || container_id || ' ' || gateway_port || ' ' || status || ' ' || gateway_token, ',' ORDER BY user_id) FROM user_container")

q -c "SET client_min_messages = error" -c "ALTER EXTENSION pg_container UPDATE"
is "$(q -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_container'")" "$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$(dirname "$0")/../../pg_container.control")" \
	"ALTER EXTENSION pg_container UPDATE brings it to the newest version"
is "$(q -c "SELECT has_function_privilege('pgc_ug_app', 'container_status(text)', 'EXECUTE')")" "t" \
	"the grant on container_status survives its drop and re-creation in the update"
is "$(q -c "SELECT string_agg(user_id || ' ' || container_id || ' ' || gateway_port || ' ' || status || ' ' || gateway_token, ',' ORDER BY user_id) FROM user_container")" \
	"$rows_before" "the rows survive the update, tokens included"
after=$(q -c "SELECT string_agg(url || ' ' || token, ',') FROM (SELECT (container_ensure_running(u)).* FROM unnest(ARRAY['ug-1', 'ug-2']) u) t")
is "$after" "$before" "ensure hands out the same URLs and tokens afterwards"
is "$(pgc_docker ps -a -q --filter label=pg_container.user_id=ug-1 | wc -l)$(pgc_docker ps -a -q --filter label=pg_container.user_id=ug-2 | wc -l)" "11" \
	"... for the same containers, creating none"
# Containers made before 0.3.0 lack the installation label: outdated, so
# that a rolling container_restart labels them.
is "$(q -c "SELECT outdated FROM container_status('ug-1')")" "t" "container_status has the outdated column, true for unlabelled containers"
q -c "INSERT INTO container_profile (name, memory_limit_mb) VALUES ('ug-plan', 64)" -c "SELECT container_set_profile('ug-1', 'ug-plan')" >/dev/null
is "$(q -c "SELECT string_agg(u, ',' ORDER BY u) FROM container_outdated() u")" "ug-1,ug-2" "profiles and container_outdated work on the old rows"
q -c "SELECT container_restart('ug-1')" >/dev/null
is "$(pgc_docker inspect -f '{{.HostConfig.Memory}}' mosaic-user-ug-1)" "67108864" "a restart recreates the old container with the new profile"
is "$(pgc_docker inspect -f '{{index .Config.Labels "pg_container.installation"}}' mosaic-user-ug-1)" \
	"$(q -c "SELECT id FROM container_installation")" "... labelled with the installation"
is "$(q -c "SELECT count(*) FROM container_overview")" 2 "the overview lists both users"

unset TEST_DB
TEST_DB=postgres q -c "DROP DATABASE pgc_upgrade" -c "DROP ROLE pgc_ug_app"
tap_exit
