#!/usr/bin/env bash
# An empty pg_container.docker_host falls back to the server's DOCKER_HOST
# environment variable, like the docker CLI and the seed.  (The final
# fallback, unix:///var/run/docker.sock, is not exercised: the tests never
# touch the host's own engine.)
source "$(dirname "$0")/../lib/tap.sh"
plan 3

fault() { curl -s --unix-socket "$PGC_WORK/fault.sock" -X "$1" "http://fault$2"; }

q -c "ALTER SYSTEM SET pg_container.docker_host = ''" 
pgc_restart_postgres DOCKER_HOST="unix://$PGC_WORK/fault.sock"
fault POST /_fault/reset >/dev/null

out=$(q -c "SELECT url FROM container_ensure_running('env-user')" 2>&1)
is "$out" "http://mosaic-user-env-user:18789" "with docker_host empty, ensure works through the server's DOCKER_HOST"
like "$(fault GET /_fault/log)" '/containers/create\?name=mosaic-user-env-user' "... and its requests went to the engine DOCKER_HOST names"

# The server keeps DOCKER_HOST pointing at the fault engine: only if the
# configured docker_host wins again does the engine see no request.
q -c "ALTER SYSTEM RESET pg_container.docker_host"
pgc_restart_postgres DOCKER_HOST="unix://$PGC_WORK/fault.sock"
fault POST /_fault/reset >/dev/null
is "$(q -c "SELECT count(*) FROM container_ensure_running('env-user')") $(fault GET /_fault/log)" "1 []" \
	"the configured docker_host is used again after the reset, not the server's DOCKER_HOST"

# Back to a server without DOCKER_HOST, as the rest of the suite had it.
pgc_restart_postgres -u DOCKER_HOST

tap_exit
