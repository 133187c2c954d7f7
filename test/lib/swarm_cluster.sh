# test/lib/swarm_cluster.sh: a three-node Docker Swarm on this one machine,
# for test/scenarios/swarm_three_nodes.t.  Source it after env.sh, once
# pgc_env_up has run; pgc_start_swarm_cluster starts it,
# pgc_stop_swarm_cluster (also called from pgc_env_down, so it goes on a
# failure too) stops exactly what it started, by pid.
#
# The network.  Four network namespaces, each held open by a "sleep" this
# file starts with "unshare --net" (not "ip netns add": named namespaces
# live in /run/netns, which other runs on the machine share, and outlive a
# run that dies; a namespace held by a process goes when the process is
# stopped, and its veths and bridge with it):
#
#   router   a Linux bridge, br0, and no address
#   node1-3  eth0, a veth whose other end is on br0, at 10.231.0.1 .. .3/24
#
# Addresses in 10.231.0.0/24 exist only inside those namespaces and on one
# more veth, pgc-swarm3, which joins the suite's own namespace (the one the
# run was started in, which the run's unshare made) to the bridge at
# 10.231.0.254.  That veth is how PostgreSQL, in the suite's namespace,
# reaches what the nodes publish: a swarm user's URL names its node's
# address (Status.Addr of GET /nodes/{id}), as a real deployment's would,
# and the readiness probe goes there.  The alternative, a second
# PostgreSQL inside the router namespace, would test a server the rest of
# the suite does not use.  The swarm's own traffic (2377 to the manager,
# 7946 gossip, 4789 VXLAN for the overlay network) runs between the node
# addresses over the bridge; no namespace has a firewall.  Swarm's overlay
# subnets come from 10.232.0.0/16 (--default-addr-pool), clear of the
# nodes' addresses.
#
# The nodes.  Each runs its own dockerd, started with "nsenter --net" into
# its namespace (the mount namespace stays the suite's, so their unix
# sockets, data roots and exec roots under $PGC_WORK/swarm3/nodeN are seen
# by PostgreSQL and the docker CLI as they are), each with its own
# containerd under its exec root, flags as the single-node swarm's
# (test/lib/swarm.sh).  Node 1 is the manager ("swarm init
# --advertise-addr 10.231.0.1"); nodes 2 and 3 join with its worker token.
# The test images are loaded on every node by "docker save | docker load"
# from the suite's dockerd, and services prefer local images
# (DOCKER_SERVICE_PREFER_OFFLINE_IMAGE), so no node ever pulls.

PGC_CLUSTER_NET=10.231.0
PGC_CLUSTER_SUITE_ADDR=$PGC_CLUSTER_NET.254
PGC_CLUSTER_NETWORK=pgc-swarm-net
PGC_CLUSTER_VETH=pgc-swarm3

pgc_cluster_dir() { echo "$PGC_WORK/swarm3"; }

# pgc_node_docker N ARGS...: the docker CLI against node N's dockerd.
pgc_node_docker() {
	local n=$1
	shift
	docker -H "unix://$(pgc_cluster_dir)/node$n/docker.sock" "$@"
}

# pgc_cluster_ns NAME CMD...: run CMD in the namespace NAME (router, node1..3).
pgc_cluster_ns() {
	local name=$1
	shift
	nsenter --net="/proc/$(cat "$(pgc_cluster_dir)/$name.netns")/ns/net" "$@"
}

# Whether this kernel and these tools can make the cluster's network: the
# scenario skips, saying why, only if not.
pgc_cluster_network_possible() {
	unshare --net true 2>/dev/null || { echo "cannot make a network namespace (unshare --net)"; return 1; }
	unshare --net bash -c 'ip link add pgc-t0 type veth peer name pgc-t1 && ip link add pgc-b0 type bridge && ip link add pgc-x0 type vxlan id 42 dstport 4789 dev pgc-t0' \
		>/dev/null 2>&1 || { echo "this kernel cannot make veth, bridge or vxlan devices"; return 1; }
	return 0
}

# A network namespace held open by a sleep started with unshare (which
# execs it: $! is the holder itself).
pgc_cluster_make_netns() {
	local name=$1 dir
	dir=$(pgc_cluster_dir)
	# (its output goes nowhere: a holder keeping the caller's stdout open
	# would keep a caller reading it waiting)
	unshare --net sleep infinity </dev/null >/dev/null 2>&1 &
	echo $! >"$dir/$name.netns"
	local i
	for i in $(seq 1 50); do
		[ "$(readlink "/proc/$!/ns/net")" != "$(readlink /proc/self/ns/net)" ] && break
		sleep 0.1
	done
	pgc_cluster_ns "$name" ip link set lo up
}

pgc_cluster_make_network() {
	local n
	for n in router node1 node2 node3; do
		pgc_cluster_make_netns "$n" || return 1
	done
	pgc_cluster_ns router ip link add br0 type bridge || return 1
	pgc_cluster_ns router ip link set br0 up || return 1
	for n in 1 2 3; do
		pgc_cluster_ns router ip link add "v$n" type veth peer name eth0 \
			netns "$(cat "$(pgc_cluster_dir)/node$n.netns")" || return 1
		pgc_cluster_ns router ip link set "v$n" master br0 up || return 1
		pgc_cluster_ns "node$n" ip addr add "$PGC_CLUSTER_NET.$n/24" dev eth0 || return 1
		pgc_cluster_ns "node$n" ip link set eth0 up || return 1
	done
	# The suite's own way onto the bridge (one a run that died left goes).
	ip link del "$PGC_CLUSTER_VETH" 2>/dev/null
	ip link add "$PGC_CLUSTER_VETH" type veth peer name vs \
		netns "$(cat "$(pgc_cluster_dir)/router.netns")" || return 1
	pgc_cluster_ns router ip link set vs master br0 up || return 1
	ip addr add "$PGC_CLUSTER_SUITE_ADDR/24" dev "$PGC_CLUSTER_VETH" || return 1
	ip link set "$PGC_CLUSTER_VETH" up || return 1
}

# pgc_cluster_start_dockerd N: node N's dockerd, in node N's namespace.
pgc_cluster_start_dockerd() {
	local n=$1 dir i pid
	dir="$(pgc_cluster_dir)/node$n"
	mkdir -p "$dir"
	# nsenter with --net only execs dockerd: $! is dockerd's pid.
	DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 nsenter --net="/proc/$(cat "$(pgc_cluster_dir)/node$n.netns")/ns/net" \
		dockerd \
		--host "unix://$dir/docker.sock" \
		--data-root "$dir/data" \
		--exec-root "$dir/exec" \
		--pidfile "$dir/dockerd.pid" \
		--group postgres \
		--iptables=false --ip6tables=false --bridge=none \
		--shutdown-timeout 2 \
		--log-level warn \
		>>"$dir/dockerd.log" 2>&1 &
	pid=$!
	echo "$pid" >"$dir/dockerd.started"
	for i in $(seq 1 120); do
		curl -sf --unix-socket "$dir/docker.sock" http://docker/_ping >/dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || { cat "$dir/dockerd.log" >&2; pgc_log "node $n's dockerd exited"; return 1; }
		sleep 0.25
	done
	[ "$i" != 120 ] || { cat "$dir/dockerd.log" >&2; pgc_log "node $n's dockerd did not answer /_ping within 30 s"; return 1; }
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "^dockerd " ||
		{ pgc_log "the pid recorded for node $n's dockerd ($pid) is not dockerd"; return 1; }
}

# pgc_cluster_node_id N: node N's swarm id.
pgc_cluster_node_id() { pgc_node_docker "$1" info -f '{{.Swarm.NodeID}}'; }

pgc_start_swarm_cluster() {
	local dir n token image
	dir=$(pgc_cluster_dir)
	pgc_log "starting a three-node swarm in $dir"
	# What an earlier cluster of this run left goes first: a node's data
	# root from it would bring back its swarm.
	pgc_stop_swarm_cluster
	mkdir -p "$dir"
	pgc_cluster_make_network || { pgc_log "could not make the cluster's network"; return 1; }
	for n in 1 2 3; do
		pgc_cluster_start_dockerd "$n" || return 1
	done
	pgc_node_docker 1 swarm init --advertise-addr "$PGC_CLUSTER_NET.1" \
		--default-addr-pool 10.232.0.0/16 >/dev/null || { pgc_log "docker swarm init failed"; return 1; }
	token=$(pgc_node_docker 1 swarm join-token -q worker) || return 1
	for n in 2 3; do
		pgc_node_docker "$n" swarm join --token "$token" --advertise-addr "$PGC_CLUSTER_NET.$n" \
			"$PGC_CLUSTER_NET.1:2377" >/dev/null || { pgc_log "node $n could not join the swarm"; return 1; }
	done
	# The images, saved once and loaded on every node.
	pgc_docker save pgc-gateway:test pgc-sleeper:test >"$dir/images.tar" || return 1
	for n in 1 2 3; do
		pgc_node_docker "$n" load -i "$dir/images.tar" >/dev/null ||
			{ pgc_log "could not load the images on node $n"; return 1; }
	done
	rm -f "$dir/images.tar"
	pgc_wait_nodes_ready 3 || { pgc_log "the three nodes were not all ready within 60 s"; return 1; }
	pgc_node_docker 1 network create --driver overlay --attachable "$PGC_CLUSTER_NETWORK" >/dev/null ||
		{ pgc_log "could not make the overlay network"; return 1; }
}

# pgc_wait_nodes_ready COUNT: wait (60 s at most) until the manager counts
# COUNT nodes ready.
pgc_wait_nodes_ready() {
	local want=$1 i
	for i in $(seq 1 120); do
		[ "$(pgc_node_docker 1 node ls -q --filter role=worker 2>/dev/null | wc -l)" -ge $((want - 1)) ] &&
			[ "$(pgc_node_docker 1 node ls --format '{{.Status}}' 2>/dev/null | grep -c '^Ready$')" -ge "$want" ] &&
			return 0
		sleep 0.5
	done
	return 1
}

# A fault engine in front of the manager (test/fault_engine.py).
pgc_start_cluster_fault_engine() {
	pgc_run_fault_engine "$(pgc_cluster_dir)" "$(pgc_cluster_dir)/node1/docker.sock"
}

# pgc_cluster_stop_dockerd N: stop node N's dockerd by pid, and wait until
# its containerd and shims (whose command lines name its folder) are gone.
pgc_cluster_stop_dockerd() {
	local n=$1 dir i
	dir="$(pgc_cluster_dir)/node$n"
	[ -f "$dir/dockerd.started" ] || return 0
	pgc_stop_pid "$(cat "$dir/dockerd.started")"
	rm -f "$dir/dockerd.started"
	for i in $(seq 1 60); do
		[ -z "$(pgc_leftover_processes "$dir")" ] && return 0
		sleep 0.5
	done
	pgc_log "still running after node $n's dockerd stopped: $(pgc_leftover_processes "$dir")"
	pgc_stop_pid $(pgc_leftover_processes "$dir" | awk '{print $1}')
}

# Remove the services (their tasks go with them), stop the fault engine,
# the workers' then the manager's dockerd, then the namespace holders:
# with them go the namespaces, the veths (the suite's end too) and the
# bridge.  Safe to call twice, and on a half-started cluster.
pgc_stop_swarm_cluster() {
	local dir n ids i
	dir=$(pgc_cluster_dir)
	[ -d "$dir" ] || return 0
	if [ -f "$dir/fault_engine.started" ]; then
		pgc_stop_pid "$(cat "$dir/fault_engine.started")"
		rm -f "$dir/fault_engine.started"
	fi
	if [ -f "$dir/node1/dockerd.started" ] && kill -0 "$(cat "$dir/node1/dockerd.started")" 2>/dev/null; then
		ids=$(pgc_node_docker 1 service ls -q 2>/dev/null)
		[ -n "$ids" ] && pgc_node_docker 1 service rm $ids >/dev/null 2>&1
		for n in 1 2 3; do
			[ -f "$dir/node$n/dockerd.started" ] || continue
			for i in $(seq 1 40); do
				[ -z "$(pgc_node_docker "$n" ps -q 2>/dev/null)" ] && break
				sleep 0.5
			done
		done
	fi
	for n in 3 2 1; do
		if [ -f "$dir/node$n/dockerd.started" ]; then
			ids=$(pgc_node_docker "$n" ps -aq 2>/dev/null)
			[ -n "$ids" ] && pgc_node_docker "$n" rm -f $ids >/dev/null 2>&1
		fi
		pgc_cluster_stop_dockerd "$n"
	done
	for n in node1 node2 node3 router; do
		if [ -f "$dir/$n.netns" ]; then
			pgc_stop_pid "$(cat "$dir/$n.netns")"
			rm -f "$dir/$n.netns"
		fi
	done
	ip link del "$PGC_CLUSTER_VETH" 2>/dev/null
	# Mounts a dockerd left (it was stopped hard) would keep the folder.
	grep -o " $dir/[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
	# A next cluster in this run starts from nothing, not from this swarm.
	rm -rf "$dir"
	return 0
}

# pgc_create_cluster_db DB: a database whose pg_container runs on the
# cluster (engine swarm, the manager's socket, the overlay network, a port
# range of its own, url_mode published: the test reaches gateways from the
# host, and on a swarm the default publishes nothing), with pgTAP's helpers
# pointed at the manager and at the cluster's fault engine.
pgc_create_cluster_db() {
	local db=$1 dir
	dir=$(pgc_cluster_dir)
	pgc_psql -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" \
		-c "ALTER DATABASE $db SET pg_container.engine = 'swarm'" \
		-c "ALTER DATABASE $db SET pg_container.docker_host = 'unix://$dir/node1/docker.sock'" \
		-c "ALTER DATABASE $db SET pg_container.network_mode = 'shared'" \
		-c "ALTER DATABASE $db SET pg_container.network = '$PGC_CLUSTER_NETWORK'" \
		-c "ALTER DATABASE $db SET pg_container.url_mode = 'published'" \
		-c "ALTER DATABASE $db SET pg_container.port_range_start = 24100" \
		-c "ALTER DATABASE $db SET pg_container.port_range_end = 24999" || return 1
	pgc_psql -d "$db" -c "SET client_min_messages = error" -c "CREATE EXTENSION pgtap" \
		-c "CREATE EXTENSION pg_container" || return 1
	pgc_psql -d "$db" -v work_dir="$PGC_WORK" -v fault_tcp_port="$PGC_FAULT_TCP_PORT" \
		-v docker_tls_port="$PGC_DOCKER_TLS_PORT" -f "$PGC_ROOT/test/lib/helpers.sql" >/dev/null 2>&1 || return 1
	pgc_psql -d "$db" -c "UPDATE test_helpers.config SET engine_socket = '$dir/node1/docker.sock'" \
		-c "CREATE OR REPLACE FUNCTION test_helpers.fault_socket() RETURNS text LANGUAGE sql
		    AS \$\$ SELECT '$dir/fault.sock' \$\$"
}
