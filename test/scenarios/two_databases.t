#!/usr/bin/env bash
# Two databases with pg_container on one engine, with the same name prefix
# (issue 10): on 0.2.0 the second adopted the first's container for the
# same user id, and its container_remove(..., false) deleted the first's
# volume.  Each installation now labels what it makes with its identity
# and never adopts, mounts or deletes another's.
source "$(dirname "$0")/../lib/tap.sh"
plan 9

A=pgc_two_a
B=pgc_two_b
cleanup() {
	TEST_DB=$A q -c "SELECT container_remove('twin', false)" >/dev/null 2>&1
	TEST_DB=postgres q -c "DROP DATABASE IF EXISTS $A" -c "DROP DATABASE IF EXISTS $B" >/dev/null 2>&1
}
cleanup
trap cleanup EXIT
for db in $A $B; do
	TEST_DB=postgres q -c "CREATE DATABASE $db" \
		-c "ALTER DATABASE $db SET pg_container.port_range_start = 24300" \
		-c "ALTER DATABASE $db SET pg_container.port_range_end = 24399"
	TEST_DB=$db q -c "SET client_min_messages = error" -c "CREATE EXTENSION pg_container"
done
a_installation=$(TEST_DB=$A q -c "SELECT id FROM container_installation")
b_installation=$(TEST_DB=$B q -c "SELECT id FROM container_installation")
like "$a_installation $b_installation" '^[0-9a-f]{32} [0-9a-f]{32}$' "each database has an installation identity"
isnt_ok=$([ "$a_installation" != "$b_installation" ] && echo distinct)
is "$isnt_ok" "distinct" "... of its own"

a_token=$(TEST_DB=$A q -c "SELECT token FROM container_ensure_running('twin')")
a_id=$(TEST_DB=$A q -c "SELECT container_id FROM user_container WHERE user_id = 'twin'")
pgc_docker exec mosaic-user-twin sh -c 'echo a-data > /home/node/.openclaw/marker'

out=$(TEST_DB=$B q -c "SELECT container_ensure_running('twin')" 2>&1)
like "$out" 'container name "mosaic-user-twin" is taken by a container pg_container does not manage for user "twin"' \
	"B's ensure for the same user id refuses A's container"
is "$(TEST_DB=$B q -c "SELECT count(*) FROM user_container WHERE user_id = 'twin'")" "0" \
	"... and records nothing (the failed call rolled back)"

TEST_DB=$B q -c "SELECT container_set_idle_timeout('twin', 5)" >/dev/null
out=$(TEST_DB=$B q -c "SELECT container_remove('twin', false)" 2>&1)
like "$out" 'belongs to another user or pg_container installation' "B's container_remove(..., false) refuses to delete A's volume"
is "$(pgc_docker inspect -f '{{.Id}}' mosaic-user-twin)" "$a_id" "A's container is still there"
is "$(pgc_docker run --rm -v mosaic-user-twin-state:/data pgc-gateway:test /bin/busybox cat /data/marker)" "a-data" \
	"A's volume and what A's user stored are still there"

# A's container stopped and gone: B still does not mount A's volume.
pgc_docker rm -f mosaic-user-twin >/dev/null
out=$(TEST_DB=$B q -c "SELECT container_ensure_running('twin')" 2>&1)
like "$out" 'volume "mosaic-user-twin-state" of user "twin" belongs to another user or pg_container installation' \
	"with A's container gone, B refuses to mount A's volume"
is "$(TEST_DB=$A q -c "SELECT token FROM container_ensure_running('twin')")" "$a_token" "A gets its user back, on the same volume"
tap_exit
