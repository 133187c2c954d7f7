#!/usr/bin/env bash
# While the extension is not installed in pg_container.database the worker
# waits quietly, with one LOG line rather than one per poll, and picks the
# extension up once it is created; so too while it is installed at an older
# version than the library's, until ALTER EXTENSION UPDATE.  Runs the cluster with another worker
# database for a while, then restores it.
source "$(dirname "$0")/../lib/tap.sh"
plan 6

LOG="$PGC_WORK/postgres.log"
TEST_DB=postgres q -c "DROP DATABASE IF EXISTS pgc_later" -c "CREATE DATABASE pgc_later"
q -c "ALTER SYSTEM SET pg_container.database = 'pgc_later'"
mark=$(stat -c %s "$LOG")
pgc_restart_postgres
# The restart and the worker's start take what they take; then more than
# two of its 5 s polls, to see it logs the wait only once.
wait_for 60 bash -c "tail -c +$((mark + 1)) '$LOG' | grep -q 'waiting for CREATE EXTENSION pg_container in database \"pgc_later\"'"
sleep 12

waiting=$(tail -c +"$((mark + 1))" "$LOG" | grep -c 'waiting for CREATE EXTENSION pg_container in database "pgc_later"')
is "$waiting" 1 "without the extension the worker logs that it waits, once"
is "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_container worker' AND datname = 'pgc_later'")" 1 \
	"... and stays up, connected to its database"

# Installed at an older version, the library serves none of its tables:
# the worker waits for the update as quietly, and serves once it has run.
TEST_DB=pgc_later q -c "SET client_min_messages = error" -c "CREATE EXTENSION pg_container VERSION '0.6.0'"
wait_for 20 bash -c "tail -c +$((mark + 1)) '$LOG' | grep -q 'waits for ALTER EXTENSION pg_container UPDATE in database \"pgc_later\"'"
sleep 12
is "$(tail -c +"$((mark + 1))" "$LOG" | grep -c 'waits for ALTER EXTENSION pg_container UPDATE in database "pgc_later"')" 1 \
	"on an older version the worker logs that it waits for the update, once"
is "$(tail -c +"$((mark + 1))" "$LOG" | grep -c -e 'ERROR' -e 'serving database "pgc_later"')" 0 \
	"... with no error and without serving"
TEST_DB=pgc_later q -c "SET client_min_messages = error" -c "ALTER EXTENSION pg_container UPDATE"
wait_for 10 bash -c "tail -c +$((mark + 1)) '$LOG' | grep -q 'serving database \"pgc_later\"'"
like "$(tail -c +"$((mark + 1))" "$LOG")" 'pg_container worker serving database "pgc_later"' \
	"once the extension is updated, the worker picks it up"
out=$(psql -X -q -d postgres -c "CREATE EXTENSION IF NOT EXISTS pg_container" 2>&1)
like "$out" 'serves database "pgc_later", not this one' "CREATE EXTENSION elsewhere names the worker's database"
psql -X -q -d postgres -c "DROP EXTENSION pg_container" >/dev/null 2>&1

q -c "ALTER SYSTEM RESET pg_container.database"
pgc_restart_postgres
TEST_DB=postgres q -c "DROP DATABASE pgc_later"
tap_exit
