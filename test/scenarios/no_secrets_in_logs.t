#!/usr/bin/env bash
# No plaintext token and no key material in any log line, error message or
# pg_stat_activity.query, with the server logging everything it can: every
# statement with its parameters, durations and debug messages.
source "$(dirname "$0")/../lib/tap.sh"
plan 10

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
LOG="$PGC_WORK/postgres.log"

reload() { reload_conf; }
q -c "ALTER SYSTEM SET log_statement = 'all'" \
  -c "ALTER SYSTEM SET log_min_duration_statement = 0" \
  -c "ALTER SYSTEM SET log_parameter_max_length = -1" \
  -c "ALTER SYSTEM SET log_parameter_max_length_on_error = -1" \
  -c "ALTER SYSTEM SET log_min_messages = 'debug1'"
reload
mark=$(stat -c %s "$LOG")

# Watch pg_stat_activity while the calls run: from before the first until
# the last has returned ($T/done), however long they take.  (A fixed 150
# looks took longer than the calls on a quiet machine, and could end
# before them on a loaded one.)
(
	until [ -e "$T/done" ]; do
		q -c "SELECT query FROM pg_stat_activity WHERE backend_type = 'client backend'" >>"$T/activity" 2>/dev/null
		sleep 0.05
	done
) &
watcher=$!

# pgc-slowready:test keeps each ensure in flight for two seconds.
t1=$(q -c "SET pg_container.image = 'pgc-slowready:test'" -c "SELECT token FROM container_ensure_running('sec-1')")
t2=$(q -c "SET pg_container.image = 'pgc-slowready:test'" -c "SELECT token FROM container_ensure_running('sec-2')")
q -c "SELECT token FROM container_restart('sec-1')" >/dev/null
q -c "SELECT container_reencrypt_tokens()" >/dev/null
# Failures: a Docker error, and an engine that repeats our request body (with AGENT_TOKEN) in its error.
q -c "SET pg_container.network_mode = 'shared'" -c "SET pg_container.network = 'pgc-no-network'" -c "SELECT container_ensure_running('sec-3')" >/dev/null 2>&1
echo_err=$(psql -X -qAt -d pgc_test \
	-c "SELECT test_helpers.use_fault_engine()" \
	-c "SELECT test_helpers.fault_rules('[{\"method\": \"POST\", \"path\": \"/containers/create\", \"action\": \"echo\", \"status\": 500}]')" \
	-c "SELECT container_ensure_running('sec-4')" 2>&1 >/dev/null)
# A gateway that never gets ready and prints its token in a line longer than
# 16 KiB (Docker splits it into frames) and among control bytes: the error's
# detail, logged with it, holds those lines.
q <<'SQL' >/dev/null 2>&1
INSERT INTO container_profile (name, image, command) VALUES ('sec-long', 'pgc-gateway:test',
    ARRAY['/bin/busybox', 'sh', '-c',
          'printf "long %16350s%s end\n" "" "$OPENCLAW_GATEWAY_TOKEN"; printf "\033[1m%s\a\n" "$OPENCLAW_GATEWAY_TOKEN"; exit 78']);
SELECT container_set_idle_timeout('sec-5', 30);
SELECT container_set_profile('sec-5', 'sec-long');
SET pg_container.ready_timeout = '4s';
SELECT container_ensure_running('sec-5');
SQL
touch "$T/done"
wait "$watcher"

q -c "ALTER SYSTEM RESET log_statement" -c "ALTER SYSTEM RESET log_min_duration_statement" \
  -c "ALTER SYSTEM RESET log_parameter_max_length" -c "ALTER SYSTEM RESET log_parameter_max_length_on_error" \
  -c "ALTER SYSTEM RESET log_min_messages"
reload

tail -c +"$((mark + 1))" "$LOG" >"$T/log"
key=$(tr -d ' \n' <"$PGC_WORK/keys/current.key")

like "$t1 $t2" '^[0-9a-f]{64} [0-9a-f]{64}$' "two tokens were handed out"
cmp_ok "$(wc -l <"$T/log")" -gt 20 "the server logged the calls (statements, durations, errors)"
is "$(grep -c -e "$t1" -e "$t2" "$T/log")" 0 "no log line holds a plaintext token"
is "$(grep -ci "$key" "$T/log")" 0 "no log line holds the key"
is "$(grep -c -e "$t1" -e "$t2" "$T/activity")" 0 "pg_stat_activity.query never showed a token"
like "$echo_err" 'AGENT_TOKEN=\[redacted\]' "an engine error that repeats the request body has the token redacted"
# The token as Docker echoes it, of any user, also those never handed out.
redacted=$(grep -c 'AGENT_TOKEN=\[redacted\]' "$T/log")
leaked=$(cat "$T/log" "$T/activity" | grep -cE 'AGENT_TOKEN=[0-9a-f]{64}')
ok "$([ "$redacted" -ge 1 ] && [ "$leaked" = 0 ]; echo $?)" \
	"the server log has that error, redacted ($redacted), and no AGENT_TOKEN= followed by a token anywhere ($leaked)"
if [[ "$echo_err" =~ [0-9a-f]{64} ]]; then ok 1 "... leaving no token-like value in the message"; else ok 0 "... leaving no token-like value in the message"; fi

t5=$(pgc_docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' mosaic-user-sec-5 | sed -n 's/^OPENCLAW_GATEWAY_TOKEN=//p')
like "$t5" '^[0-9a-f]{64}$' "the gateway that never got ready has a token"
ok "$(grep -q '<redacted> end' "$T/log" && ! grep -q -e "${t5:0:12}" -e "${t5:52:12}" "$T/log"; echo $?)" \
	"... and its not-ready error is in the server log with its long line and control bytes redacted, no piece of the token"
q -c "SELECT container_remove('sec-5')" -c "SELECT container_process_removals()" -c "DELETE FROM container_profile WHERE name = 'sec-long'" >/dev/null
tap_exit
