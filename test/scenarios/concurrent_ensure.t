#!/usr/bin/env bash
# Flaw 3 of the seed: concurrent ensure calls for one user must create
# exactly one container; concurrent calls for new users must not share ports.
source "$(dirname "$0")/../lib/tap.sh"
plan 7

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

for i in $(seq 1 8); do
	q -c "SELECT url || ' ' || token FROM container_ensure_running('cc-same')" >"$T/same.$i" 2>&1 &
done
wait
is "$(cat "$T"/same.* | sort -u | wc -l)" 1 "8 concurrent calls for one new user all return the same url and token"
like "$(cat "$T/same.1")" '^http://mosaic-user-cc-same:18789 [0-9a-f]{64}$' "... which are a url and a token"
is "$(pgc_docker ps -aq --filter label=pg_container.user_id=cc-same | wc -l)" 1 "... and exactly one container exists"
is "$(q -c "SELECT count(*) FROM user_container WHERE user_id = 'cc-same'")" 1 "... with one row"

for i in $(seq 1 8); do
	q -c "SELECT container_ensure_running('cc-u$i')" >/dev/null 2>"$T/err.$i" &
done
wait
is "$(cat "$T"/err.* | wc -c)" 0 "8 concurrent calls for 8 new users all succeed"
is "$(q -c "SELECT count(DISTINCT gateway_port) FROM user_container WHERE user_id LIKE 'cc-u%'")" 8 "... on 8 distinct ports"
is "$(pgc_docker ps -q --filter label=pg_container.managed=true --filter name=mosaic-user-cc-u | wc -l)" 8 "... and all 8 containers run"

tap_exit
