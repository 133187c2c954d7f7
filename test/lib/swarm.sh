# test/lib/swarm.sh: a single-node Docker Swarm for the tests of
# pg_container.engine = 'swarm'.  Source it after env.sh, once pgc_env_up has
# run; pgc_start_swarm starts it, pgc_stop_swarm (also called from
# pgc_env_down, so it goes on a failure too) stops exactly what it started,
# by pid.
#
# It is a second dockerd, next to the suite's plain one: its own socket, data
# root and exec root, and so its own containerd (dockerd starts one under its
# exec root when given none), in the suite's network namespace.  It is made a
# manager with "swarm init --advertise-addr 127.0.0.1": the swarm's ports
# (2377, 7946, 4789) are then those of the suite's loopback only.  The test
# images come from the plain dockerd by "docker save | docker load": no
# registry is needed, and services run with the daemon told to prefer local
# images (DOCKER_SERVICE_PREFER_OFFLINE_IMAGE), so a scale to 1 never tries
# a pull.
#
# Services need a network: one with none never started here, while one on an
# attachable overlay network, published in host mode, answered within two
# seconds.  The overlay network pgc-swarm-net is made for them.  Host-mode
# publishing has no routing mesh (these kernels lack IPVS), so the suite's
# services use EndpointSpec.Mode dnsrr.

PGC_SWARM_NETWORK=pgc-swarm-net

pgc_swarm_docker() { docker -H "unix://$PGC_WORK/swarm/docker.sock" "$@"; }

pgc_start_swarm() {
	local dir="$PGC_WORK/swarm" i
	pgc_log "starting a single-node swarm on $dir/docker.sock"
	mkdir -p "$dir"
	# --group postgres: the tests' helpers reach it as the server's user.
	DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 dockerd \
		--host "unix://$dir/docker.sock" \
		--data-root "$dir/data" \
		--exec-root "$dir/exec" \
		--pidfile "$dir/dockerd.pid" \
		--group postgres \
		--iptables=false --ip6tables=false --bridge=none \
		--shutdown-timeout 2 \
		--log-level warn \
		>>"$dir/dockerd.log" 2>&1 &
	echo $! >"$dir/dockerd.started"
	for i in $(seq 1 120); do
		curl -sf --unix-socket "$dir/docker.sock" http://docker/_ping >/dev/null 2>&1 && break
		kill -0 "$(cat "$dir/dockerd.started")" 2>/dev/null ||
			{ cat "$dir/dockerd.log" >&2; pgc_die "the swarm's dockerd exited"; }
		sleep 0.25
	done
	[ "$i" != 120 ] || { cat "$dir/dockerd.log" >&2; pgc_die "the swarm's dockerd did not answer /_ping within 30 s"; }
	pgc_swarm_docker swarm init --advertise-addr 127.0.0.1 >/dev/null ||
		pgc_die "docker swarm init failed"
	local image
	for image in pgc-gateway:test pgc-sleeper:test pgc-unhealthy:test pgc-slowready:test pgc-crashloop:test; do
		pgc_docker save "$image" | pgc_swarm_docker load >/dev/null ||
			pgc_die "could not load $image into the swarm"
	done
	pgc_swarm_docker network create --driver overlay --attachable "$PGC_SWARM_NETWORK" >/dev/null ||
		pgc_die "could not make the overlay network $PGC_SWARM_NETWORK"
}

# A fault engine in front of the swarm's manager (test/fault_engine.py), for
# the request counts and for answering an update with "out of sequence".
pgc_start_swarm_fault_engine() {
	pgc_run_fault_engine "$PGC_WORK/swarm" "$PGC_WORK/swarm/docker.sock"
}

# Remove every service (their tasks' containers go with them), leave the
# swarm, and stop the dockerd by pid; its containerd and shims end with it,
# and whatever does not is caught by pgc_env_down's check for leftovers.
pgc_stop_swarm() {
	local dir="$PGC_WORK/swarm" pid ids i
	if [ -f "$dir/fault_engine.started" ]; then
		pgc_stop_pid "$(cat "$dir/fault_engine.started")"
		rm -f "$dir/fault_engine.started"
	fi
	[ -f "$dir/dockerd.started" ] || return 0
	pid=$(cat "$dir/dockerd.started")
	if kill -0 "$pid" 2>/dev/null; then
		ids=$(pgc_swarm_docker service ls -q 2>/dev/null)
		[ -n "$ids" ] && pgc_swarm_docker service rm $ids >/dev/null 2>&1
		# Tasks shut down in the background: wait for their containers.
		for i in $(seq 1 60); do
			[ -z "$(pgc_swarm_docker ps -q 2>/dev/null)" ] && break
			sleep 0.5
		done
		ids=$(pgc_swarm_docker ps -aq 2>/dev/null)
		[ -n "$ids" ] && pgc_swarm_docker rm -f $ids >/dev/null 2>&1
		pgc_swarm_docker swarm leave --force >/dev/null 2>&1
		pgc_stop_pid "$pid"
	fi
	rm -f "$dir/dockerd.started"
}

# The database the swarm's tests run in, pgc_swarm: pg_container with
# engine = 'swarm' pointed at the swarm's manager, a shared overlay network,
# a port range of its own, pgTAP and the test helpers, whose docker() and
# fault engine are the swarm's.  The tests reach gateways from the host,
# through published ports, so url_mode is published there (on a swarm the
# default, internal, publishes nothing; test/swarm/published_ports.sql
# sets it back).
pgc_create_swarm_db() {
	pgc_psql -d postgres -c "CREATE DATABASE pgc_swarm" \
		-c "ALTER DATABASE pgc_swarm SET pg_container.engine = 'swarm'" \
		-c "ALTER DATABASE pgc_swarm SET pg_container.docker_host = 'unix://$PGC_WORK/swarm/docker.sock'" \
		-c "ALTER DATABASE pgc_swarm SET pg_container.network_mode = 'shared'" \
		-c "ALTER DATABASE pgc_swarm SET pg_container.network = '$PGC_SWARM_NETWORK'" \
		-c "ALTER DATABASE pgc_swarm SET pg_container.url_mode = 'published'" \
		-c "ALTER DATABASE pgc_swarm SET pg_container.port_range_start = 22000" \
		-c "ALTER DATABASE pgc_swarm SET pg_container.port_range_end = 22999" || return 1
	pgc_psql -d pgc_swarm -c "SET client_min_messages = error" -c "CREATE EXTENSION pgtap" \
		-c "CREATE EXTENSION pg_container" || return 1
	pgc_psql -d pgc_swarm -v work_dir="$PGC_WORK" -v fault_tcp_port="$PGC_FAULT_TCP_PORT" \
		-v docker_tls_port="$PGC_DOCKER_TLS_PORT" -f "$PGC_ROOT/test/lib/helpers.sql" >/dev/null 2>&1 || return 1
	pgc_psql -d pgc_swarm -c "UPDATE test_helpers.config SET engine_socket = '$PGC_WORK/swarm/docker.sock'" \
		-c "CREATE OR REPLACE FUNCTION test_helpers.fault_socket() RETURNS text LANGUAGE sql
		    AS \$\$ SELECT work_dir || '/swarm/fault.sock' FROM test_helpers.config \$\$"
}
