#!/usr/bin/env bash
# Memory: 10,000 container_ensure_running calls on a running container in
# one session, each its own transaction, and 1,000 passes of the worker,
# each grow the process's private memory (RssAnon) by less than 10 MB.
source "$(dirname "$0")/../lib/tap.sh"
plan 3

rss_kb() { awk '/^RssAnon:/ {print $2}' "/proc/$1/status"; }
fault() { curl -s --unix-socket "$PGC_WORK/fault.sock" -X "$1" --data-binary "${3:-}" "http://fault$2"; }
reload() { q -c "SELECT pg_reload_conf()" >/dev/null; }

q -c "CREATE OR REPLACE PROCEDURE test_helpers.ensure_many(u text, n integer) LANGUAGE plpgsql AS \$\$
      BEGIN FOR i IN 1..n LOOP PERFORM container_ensure_running(u); COMMIT; END LOOP; END \$\$"
q -c "SELECT container_ensure_running('mem-user')" >/dev/null

out=$(psql -X -qAt -d pgc_test \
	-c "CALL test_helpers.ensure_many('mem-user', 200)" \
	-c "SELECT 'pid ' || pg_backend_pid()" \
	-c "SELECT test_helpers.sh('awk ''/^RssAnon:/ {print \$2}'' /proc/' || pg_backend_pid() || '/status')" \
	-c "CALL test_helpers.ensure_many('mem-user', 10000)" \
	-c "SELECT test_helpers.sh('awk ''/^RssAnon:/ {print \$2}'' /proc/' || pg_backend_pid() || '/status')" 2>&1)
before=$(echo "$out" | sed -n 2p)
after=$(echo "$out" | sed -n 3p)
# Readings that are not numbers (a failed call) must not pass as no growth.
if [[ "$before $after" =~ ^[0-9]+\ [0-9]+$ ]]; then
	growth=$((after - before))
else
	diag "psql said: $out"
	growth=unreadable
fi
diag "backend RssAnon after 200 warm-up calls: ${before} kB; after 10,000 more: ${after} kB; growth ${growth} kB"
cmp_ok "$growth" -lt 10240 "10,000 ensure calls on a running container grow the backend by less than 10 MB (${growth} kB)"

# The worker: point it at the fault engine (which passes through and counts
# its list requests, one per health pass) and run passes back to back.
q -c "ALTER SYSTEM SET pg_container.docker_host = 'unix://$PGC_WORK/fault.sock'" \
  -c "ALTER SYSTEM SET pg_container.health_check_interval = 0.002"
reload
passes() { fault GET /_fault/log | grep -o 'containers/json' | wc -l; }
fault POST /_fault/reset >/dev/null
wait_for 60 bash -c "[ \$(curl -s --unix-socket '$PGC_WORK/fault.sock' http://fault/_fault/log | grep -o containers/json | wc -l) -ge 50 ]"
worker=$(q -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_container worker'")
before=$(rss_kb "$worker")
fault POST /_fault/reset >/dev/null
wait_for 300 bash -c "[ \$(curl -s --unix-socket '$PGC_WORK/fault.sock' http://fault/_fault/log | grep -o containers/json | wc -l) -ge 1000 ]"
after=$(rss_kb "$worker")
done_passes=$(passes)
worker_after=$(q -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_container worker'")
q -c "ALTER SYSTEM RESET pg_container.docker_host" -c "ALTER SYSTEM SET pg_container.health_check_interval = 0"
reload
# Both readings from one worker process: a worker that restarted between
# them would show a fresh process's memory, and negative growth.
if [[ "$worker $before $after" =~ ^[0-9]+\ [0-9]+\ [0-9]+$ ]] && [ "$worker_after" = "$worker" ]; then
	growth=$((after - before))
else
	diag "worker pid ${worker:-none}, then ${worker_after:-none}; readings '${before}' and '${after}'"
	growth=unreadable
fi
diag "worker RssAnon after 50 warm-up passes: ${before} kB; after ${done_passes} more: ${after} kB; growth ${growth} kB"
cmp_ok "$done_passes" -ge 1000 "the worker ran 1,000 health passes"
cmp_ok "$growth" -lt 10240 "... in one process, growing by less than 10 MB (${growth} kB)"
fault POST /_fault/reset >/dev/null
tap_exit
