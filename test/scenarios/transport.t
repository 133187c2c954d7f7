#!/usr/bin/env bash
# How pg_container talks to the engine, after the security review: clear
# text is warned of, a certificate folder without a CA is refused, the
# endpoint is hidden from callers who are not superusers and never shows
# credentials, and an endpoint from the environment follows Docker's
# DOCKER_TLS_VERIFY and DOCKER_CERT_PATH.
source "$(dirname "$0")/../lib/tap.sh"
plan 8

# Clear text over TCP: a WARNING, since create bodies carry tokens.
out=$(q -c "SET pg_container.docker_host = 'tcp://127.0.0.1:$PGC_FAULT_TCP_PORT'" \
	-c "SELECT count(*) FROM container_ensure_running('tr-user')" 2>&1)
like "$out" 'WARNING:  the Docker endpoint "tcp://127.0.0.1:[0-9]+" is not encrypted' "a tcp:// endpoint without TLS is warned of"
out=$(q -c "SELECT count(*) FROM container_ensure_running('tr-user')" 2>&1)
is "$out" "1" "... and the unix socket is not"

# TLS with a certificate folder that has no ca.pem.
mkdir -p "$PGC_WORK/tls/no-ca" && cp "$PGC_WORK/tls/client/cert.pem" "$PGC_WORK/tls/client/key.pem" "$PGC_WORK/tls/no-ca/"
chown -R postgres:postgres "$PGC_WORK/tls/no-ca"
out=$(q -c "SET pg_container.docker_host = 'tcp://127.0.0.1:$PGC_DOCKER_TLS_PORT'" \
	-c "SET pg_container.docker_cert_path = '$PGC_WORK/tls/no-ca'" \
	-c "SELECT container_ensure_running('tr-user')" 2>&1)
like "$out" "Docker certificate folder \"$PGC_WORK/tls/no-ca\" has no ca.pem" \
	"a certificate folder without ca.pem is refused instead of trusting the system's CAs"

# What a caller who is not a superuser learns of the endpoint: nothing.
TEST_DB=postgres q -c "DROP ROLE IF EXISTS pgc_tr_app" -c "CREATE ROLE pgc_tr_app LOGIN"
q -c "GRANT USAGE ON SCHEMA public TO pgc_tr_app" -c "GRANT EXECUTE ON FUNCTION container_ensure_running(text) TO pgc_tr_app" \
	-c "ALTER ROLE pgc_tr_app IN DATABASE pgc_test SET pg_container.docker_host = 'unix:///nonexistent/secret-engine.sock'"
out=$(psql -X -qAt -U pgc_tr_app -d pgc_test -c "SELECT container_ensure_running('tr-user')" 2>&1)
like "$out" 'could not connect to the Docker engine at "\(hidden\)"' "an application role's error does not name the hidden endpoint"
out=$(q -c "SET pg_container.docker_host = 'unix:///nonexistent/secret-engine.sock'" -c "SELECT container_ensure_running('tr-user')" 2>&1)
like "$out" 'secret-engine.sock' "... while a superuser's does"
out=$(q -c "SET pg_container.docker_host = 'tcp://admin:s3cret@127.0.0.1:1'" -c "SET client_min_messages = error" \
	-c "SELECT container_ensure_running('tr-user')" 2>&1)
like "$out" '"tcp://127.0.0.1:1"' "credentials written into the endpoint never appear in a message"
q -c "ALTER ROLE pgc_tr_app IN DATABASE pgc_test RESET ALL" -c "REVOKE ALL ON FUNCTION container_ensure_running(text) FROM pgc_tr_app" \
	-c "REVOKE USAGE ON SCHEMA public FROM pgc_tr_app"
TEST_DB=postgres q -c "DROP ROLE pgc_tr_app"

# DOCKER_HOST from the environment with Docker's TLS variables.
q -c "ALTER SYSTEM SET pg_container.docker_host = ''"
pgc_restart_postgres DOCKER_HOST="tcp://127.0.0.1:$PGC_DOCKER_TLS_PORT" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$PGC_WORK/tls/client"
out=$(q -c "SELECT count(*) FROM container_ensure_running('tr-user')" 2>&1)
is "$out" "1" "DOCKER_HOST with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH speaks verified TLS with the client certificate"
pgc_restart_postgres DOCKER_HOST="tcp://127.0.0.1:$PGC_DOCKER_TLS_PORT" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$PGC_WORK/tls/other-ca"
out=$(q -c "SELECT count(*) FROM container_ensure_running('tr-user')" 2>&1)
like "$out" 'could not connect to the Docker engine' "... and refuses an engine whose certificate another CA signed"
q -c "ALTER SYSTEM RESET pg_container.docker_host"
pgc_restart_postgres
tap_exit
