#!/usr/bin/env bash
# How pg_container talks to the engine, after the security review: clear
# text is warned of, a certificate folder without a CA is refused, no
# message, event or view names the endpoint, its socket or its certificate
# files (the server log does, without credentials), and an endpoint from
# the environment follows Docker's DOCKER_TLS_VERIFY and DOCKER_CERT_PATH.
source "$(dirname "$0")/../lib/tap.sh"
plan 12
LOG="$PGC_WORK/postgres.log"
mark=$(stat -c %s "$LOG")

# Clear text over TCP: a WARNING, since create bodies carry tokens.
out=$(q -c "SET pg_container.docker_host = 'tcp://127.0.0.1:$PGC_FAULT_TCP_PORT'" \
	-c "SELECT count(*) FROM container_ensure_running('tr-user')" 2>&1)
like "$out" 'WARNING:  the Docker endpoint is not encrypted' "a tcp:// endpoint without TLS is warned of"
out=$(q -c "SELECT count(*) FROM container_ensure_running('tr-user')" 2>&1)
is "$out" "1" "... and the unix socket is not"

# TLS with a certificate folder that has no ca.pem.
mkdir -p "$PGC_WORK/tls/no-ca" && cp "$PGC_WORK/tls/client/cert.pem" "$PGC_WORK/tls/client/key.pem" "$PGC_WORK/tls/no-ca/"
chown -R postgres:postgres "$PGC_WORK/tls/no-ca"
out=$(q -c "SET pg_container.docker_host = 'tcp://127.0.0.1:$PGC_DOCKER_TLS_PORT'" \
	-c "SET pg_container.docker_cert_path = '$PGC_WORK/tls/no-ca'" \
	-c "SELECT container_ensure_running('tr-user')" 2>&1)
like "$out" "the Docker certificate folder has no ca.pem" \
	"a certificate folder without ca.pem is refused instead of trusting the system's CAs"

# What a caller who is not a superuser learns of the endpoint: nothing.
TEST_DB=postgres q -c "DROP ROLE IF EXISTS pgc_tr_app" -c "CREATE ROLE pgc_tr_app LOGIN"
q -c "GRANT USAGE ON SCHEMA public TO pgc_tr_app" -c "GRANT EXECUTE ON FUNCTION container_ensure_running(text) TO pgc_tr_app" \
	-c "ALTER ROLE pgc_tr_app IN DATABASE pgc_test SET pg_container.docker_host = 'unix:///nonexistent/secret-engine.sock'"
out=$(psql -X -qAt -U pgc_tr_app -d pgc_test -c "SELECT container_ensure_running('tr-user')" 2>&1)
like "$out" 'could not connect to the Docker engine: ' "an application role's error with the engine down says so"
ok "$(case "$out" in *secret-engine*) echo 1 ;; *) echo 0 ;; esac)" "... without naming the endpoint"
# A client certificate that cannot be loaded: libcurl names its file.
mkdir -p "$PGC_WORK/tls/bad-cert" && cp "$PGC_WORK/tls/client/ca.pem" "$PGC_WORK/tls/bad-cert/"
echo garbage >"$PGC_WORK/tls/bad-cert/cert.pem" && echo garbage >"$PGC_WORK/tls/bad-cert/key.pem"
chown -R postgres:postgres "$PGC_WORK/tls/bad-cert"
q -c "ALTER ROLE pgc_tr_app IN DATABASE pgc_test SET pg_container.docker_host = 'tcp://127.0.0.1:$PGC_DOCKER_TLS_PORT'" \
	-c "ALTER ROLE pgc_tr_app IN DATABASE pgc_test SET pg_container.docker_cert_path = '$PGC_WORK/tls/bad-cert'"
out=$(psql -X -qAt -U pgc_tr_app -d pgc_test -c "SELECT container_ensure_running('tr-user')" 2>&1)
like "$out" 'ERROR:  .*Docker engine' "an application role's error with a client certificate that cannot be loaded says so"
ok "$(case "$out" in *"$PGC_WORK"*|*127.0.0.1*) echo 1 ;; *) echo 0 ;; esac)" "... naming neither the certificate's file nor the engine's address"
# What the worker and the sweeps write, which other roles read: a superuser's
# reap whose stop the engine drops records an error for the user.
q -c "SELECT container_set_idle_timeout('tr-user', 1)" \
	-c "UPDATE user_container SET last_active_at = now() - interval '1 hour' WHERE user_id = 'tr-user'" >/dev/null
q -c "SELECT test_helpers.use_fault_engine()" \
	-c "SELECT test_helpers.fault_rules('[{\"method\": \"POST\", \"path\": \"/stop\", \"action\": \"drop\"}]')" \
	-c "SET client_min_messages = error" -c "SELECT count(*) FROM container_reap_idle()" >/dev/null 2>&1
q -c "SELECT test_helpers.fault_rules('[]')" >/dev/null
# (the README's operator grants)
q -c "GRANT SELECT ON container_overview, container_event TO pgc_tr_app" -c "GRANT EXECUTE ON FUNCTION container_overview_rows() TO pgc_tr_app"
seen=$(psql -X -qAt -U pgc_tr_app -d pgc_test -c "SELECT last_error FROM container_overview WHERE user_id = 'tr-user'" \
	-c "SELECT string_agg(detail::text, ' ') FROM container_event WHERE user_id = 'tr-user' AND event = 'error'" 2>&1)
like "$seen" 'connection to the Docker engine was lost' "a dropped stop is an error event and the overview's last_error"
ok "$(case "$seen" in *.sock*|*"$PGC_WORK"*) echo 1 ;; *) echo 0 ;; esac)" "... which name no engine address, to a role that reads them"
q -c "REVOKE SELECT ON container_overview, container_event FROM pgc_tr_app" -c "REVOKE EXECUTE ON FUNCTION container_overview_rows() FROM pgc_tr_app"
# The server log keeps where the requests went, without credentials.
out=$(q -c "SET pg_container.docker_host = 'tcp://admin:s3cret@127.0.0.1:1'" -c "SET client_min_messages = error" \
	-c "SELECT container_ensure_running('tr-user')" 2>&1)
log=$(tail -c +"$((mark + 1))" "$LOG")
ok "$(case "$log" in *s3cret*) echo 1 ;; *secret-engine.sock*'"tcp://127.0.0.1:1"'*|*'"tcp://127.0.0.1:1"'*secret-engine.sock*) echo 0 ;; *) echo 1 ;; esac)" \
	"the server log says where the requests went, never with credentials written into the endpoint"
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
