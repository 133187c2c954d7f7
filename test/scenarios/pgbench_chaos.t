#!/usr/bin/env bash
# Concurrency: pgbench, 8 clients, 2,000 transactions of random ensure,
# stop, restart, touch and status calls over 20 users, against dockerd.
# Afterwards: no errors, at most one container per user, no port held by
# two users, and after one health pass every row's status matches Docker.
source "$(dirname "$0")/../lib/tap.sh"
plan 6

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cat >"$T/chaos.sql" <<'SQL'
\set u random(1, 20)
\set op random(1, 100)
\if :op <= 35
SELECT container_touch('chaos-' || :u);
\elif :op <= 55
SELECT * FROM container_status('chaos-' || :u);
\elif :op <= 80
SELECT * FROM container_ensure_running('chaos-' || :u);
\elif :op <= 93
SELECT container_stop('chaos-' || :u);
\else
SELECT * FROM container_restart('chaos-' || :u);
\endif
SQL

# Short stops keep the run short; every other setting is the default.
q -c "ALTER DATABASE pgc_test SET pg_container.stop_timeout = 1"
# --verbose-errors: a failed transaction (a deadlock, a serialization
# failure) is counted by pgbench, not printed, unless asked.
"$PGC_PG_BIN/pgbench" -n -c 8 -j 2 -t 250 --failures-detailed --verbose-errors -f "$T/chaos.sql" pgc_test >"$T/pgbench.out" 2>&1
status=$?
q -c "ALTER DATABASE pgc_test RESET pg_container.stop_timeout"
diag "$(grep -E 'transactions actually processed|failed transactions|latency average|tps' "$T/pgbench.out" | tr '\n' ';')"

is "$status" 0 "pgbench exits cleanly"
like "$(cat "$T/pgbench.out")" 'number of transactions actually processed: 2000/2000' "all 2,000 transactions ran without an error"

per_user=$(pgc_docker ps -a --filter label=pg_container.managed=true --format '{{.Label "pg_container.user_id"}}' | grep '^chaos-' | sort | uniq -c | awk '$1 > 1' | wc -l)
is "$per_user" 0 "no user has more than one container"
is "$(q -c "SELECT count(*) - count(DISTINCT gateway_port) FROM user_container WHERE gateway_port IS NOT NULL")" 0 \
	"no port is held by two users in the table"
# The ports each user's container is bound to, running or not: {{.Ports}}
# shows only a running container's, HostConfig.PortBindings every one's.
# (Containers no row owns, left by failed calls in other tests, are orphans
# that container_orphans() lists; they are left out, and named.)
ids=$(comm -12 <(q -c "SELECT container_id FROM user_container WHERE container_id IS NOT NULL" | sort) \
	<(pgc_docker ps -aq --no-trunc --filter label=pg_container.managed=true | sort))
orphans=$(q -c "SELECT string_agg(name || ' (' || state || ')', ', ') FROM container_orphans()")
[ -n "$orphans" ] && diag "orphans, not checked: $orphans"
bindings=$(pgc_docker inspect -f '{{range $p, $b := .HostConfig.PortBindings}}{{range $b}}{{.HostIp}}:{{.HostPort}}{{"\n"}}{{end}}{{end}}' $ids | grep -v '^$')
is "$(echo "$bindings" | grep -cE '^[0-9.]+:[0-9]+$') $(echo "$bindings" | sort | uniq -d | wc -l)" "$(echo "$ids" | wc -l) 0" \
	"... nor by two users' containers in Docker, each bound to one port"

q -c "SELECT count(*) FROM container_health_check_all()" >/dev/null
rows=0
mismatch=0
while IFS='|' read -r user status; do
	rows=$((rows + 1))
	state=$(pgc_docker inspect -f '{{.State.Status}}' "mosaic-user-$user" 2>/dev/null || echo missing)
	if { [ "$status" = running ] && [ "$state" != running ]; } || { [ "$status" = stopped ] && [ "$state" = running ]; }; then
		diag "$user: table says $status, Docker says $state"
		mismatch=$((mismatch + 1))
	fi
done < <(q -c "SELECT user_id, status FROM user_container WHERE user_id LIKE 'chaos-%'")
# 500-odd ensure calls over 20 users: every user has a row.
is "$rows $mismatch" "20 0" "after one health pass every row's status, of all 20 users, matches Docker's view"
tap_exit
