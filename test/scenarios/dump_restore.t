#!/usr/bin/env bash
# Backups: pg_dump of a database with the extension and live rows restores
# into a fresh cluster where container_ensure_running finds the same
# containers and hands out the same tokens (same key file).
source "$(dirname "$0")/../lib/tap.sh"
plan 6

T=$(mktemp -d)
chmod 0755 "$T"
trap 'runuser -u postgres -- "$PGC_PG_BIN/pg_ctl" -D "$T/pgdata" -m immediate stop >/dev/null 2>&1; rm -rf "$T"' EXIT

# Its own port range: the test database's users hold the default one.
TEST_DB=postgres q -c "DROP DATABASE IF EXISTS pgc_dump" -c "CREATE DATABASE pgc_dump" \
	-c "ALTER DATABASE pgc_dump SET pg_container.port_range_start = 24100" \
	-c "ALTER DATABASE pgc_dump SET pg_container.port_range_end = 24199"
TEST_DB=pgc_dump q -c "SET client_min_messages = error" -c "CREATE EXTENSION pg_container"
before=$(TEST_DB=pgc_dump q -c "SELECT string_agg(url || ' ' || token, ',') FROM (SELECT (container_ensure_running(u)).* FROM unnest(ARRAY['bk-1', 'bk-2']) u) t")
TEST_DB=pgc_dump q -c "SELECT container_stop('bk-2')" >/dev/null
ids_before=$(TEST_DB=pgc_dump q -c "SELECT string_agg(container_id, ',' ORDER BY user_id) FROM user_container")
pg_dump -Fc -d pgc_dump -f "$T/pgc_dump.dump"

# A fresh cluster, configured like the first for pg_container, without the
# worker: the library is loaded by CREATE EXTENSION, not preloaded.
port=$(pgc_free_port $((PGPORT + 100)))
mkdir "$T/pgdata" && chown postgres:postgres "$T" "$T/pgdata"
runuser -u postgres -- "$PGC_PG_BIN/initdb" -D "$T/pgdata" --auth=trust --username=postgres >/dev/null 2>&1
{
	echo "port = $port"
	echo "listen_addresses = ''"
	echo "unix_socket_directories = '$T'"
	grep '^pg_container\.' "$PGC_PGDATA/postgresql.conf" | grep -v '^pg_container.database'
} >>"$T/pgdata/postgresql.conf"
runuser -u postgres -- "$PGC_PG_BIN/pg_ctl" -D "$T/pgdata" -l "$T/log" -w start >/dev/null
psql -X -q -h "$T" -p "$port" -d postgres -c "CREATE DATABASE pgc_dump"
pg_restore -h "$T" -p "$port" -d pgc_dump "$T/pgc_dump.dump" 2>"$T/restore.err"
r() { psql -X -qAt -v ON_ERROR_STOP=1 -h "$T" -p "$port" -d pgc_dump "$@"; }

is "$(r -c "SELECT count(*) FROM user_container")" 2 "the rows come back with the restore"
after=$(r -c "SELECT string_agg(url || ' ' || token, ',') FROM (SELECT (container_ensure_running(u)).* FROM unnest(ARRAY['bk-1', 'bk-2']) u) t")
is "$after" "$before" "container_ensure_running in the restored database hands out the same URLs and tokens"
is "$(r -c "SELECT string_agg(container_id, ',' ORDER BY user_id) FROM user_container")" "$ids_before" "... for the same containers"
is "$(pgc_docker ps -a -q --filter label=pg_container.user_id=bk-1 | wc -l)$(pgc_docker ps -a -q --filter label=pg_container.user_id=bk-2 | wc -l)" "11" \
	"... creating none"
is "$(pgc_docker inspect -f '{{.State.Status}}' mosaic-user-bk-2)" "running" "... and the stopped one is started again"
is "$(grep -ci 'error' "$T/restore.err")" 0 "pg_restore reports no error, also without the library preloaded"

runuser -u postgres -- "$PGC_PG_BIN/pg_ctl" -D "$T/pgdata" -m fast -w stop >/dev/null
TEST_DB=postgres q -c "DROP DATABASE pgc_dump"
tap_exit
