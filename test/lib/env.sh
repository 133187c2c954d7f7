# test/lib/env.sh: the throwaway world pg_container's demo, tests and
# benchmarks run in.  Source it, then call pgc_env_up; pgc_env_down (also
# run from the EXIT trap) stops exactly what pgc_env_up started, by pid.
#
# It needs root: it installs Debian packages, runs its own dockerd (on a
# private socket, data root and exec root, never /var/run/docker.sock) and
# runs PostgreSQL as the postgres user in a cluster made with initdb in a
# temporary folder, listening on 127.0.0.1 and a socket in that folder.
#
# The PostgreSQL major is PG_CONFIG's, if set (it need not exist yet:
# /usr/lib/postgresql/N/bin/pg_config names major N), else the newest
# installed server's, else the one Debian's postgresql package depends on;
# that major's server, headers, pgTAP and pg_cron are installed.

PGC_ROOT=${PGC_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

PGC_PACKAGES=(
	libcurl4-openssl-dev libssl-dev libkrb5-dev build-essential
	docker.io busybox-static curl openssl python3 perl libtap-parser-sourcehandler-pgtap-perl
	podman runc catatonit
	iproute2 util-linux
)

pgc_log() { printf '==> %s\n' "$*" >&2; }
pgc_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Sets PGC_PG_MAJOR, and PG_CONFIG and PGC_PG_BIN once they can exist.
pgc_find_postgres() {
	local v
	if [ -n "${PG_CONFIG:-}" ]; then
		if [[ $PG_CONFIG =~ ^/usr/lib/postgresql/([0-9]+)/bin/pg_config$ ]]; then
			PGC_PG_MAJOR=${BASH_REMATCH[1]}
		elif [ -x "$PG_CONFIG" ] || command -v "$PG_CONFIG" >/dev/null; then
			v=$("$PG_CONFIG" --version) || pgc_die "$PG_CONFIG --version failed"
			[[ $v =~ ^PostgreSQL\ ([0-9]+) ]] || pgc_die "cannot read the major from: $v"
			PGC_PG_MAJOR=${BASH_REMATCH[1]}
		else
			pgc_die "PG_CONFIG=$PG_CONFIG does not exist"
		fi
	else
		v=$(ls /usr/lib/postgresql/*/bin/postgres 2>/dev/null | sed -E 's|^/usr/lib/postgresql/([0-9]+)/.*|\1|' | sort -n | tail -n 1)
		if [ -z "$v" ]; then
			# Nothing installed yet: the release's own major.
			v=$(pgc_debian_pg_major)
		fi
		[ -n "$v" ] || pgc_die "no PostgreSQL server installed, and apt offers none"
		PGC_PG_MAJOR=$v
		PG_CONFIG=/usr/lib/postgresql/$v/bin/pg_config
	fi
	PGC_PG_BIN=$("$PG_CONFIG" --bindir 2>/dev/null) || PGC_PG_BIN=/usr/lib/postgresql/$PGC_PG_MAJOR/bin
	export PG_CONFIG PGC_PG_MAJOR PGC_PG_BIN
}

# The major Debian's "postgresql" package depends on (postgresql-N).
pgc_debian_pg_major() {
	local v
	v=$(apt-cache depends postgresql 2>/dev/null | sed -E -n 's/^ *Depends: postgresql-([0-9]+)$/\1/p' | head -n 1)
	if [ -z "$v" ]; then
		apt-get update -qq >/dev/null 2>&1
		v=$(apt-cache depends postgresql 2>/dev/null | sed -E -n 's/^ *Depends: postgresql-([0-9]+)$/\1/p' | head -n 1)
	fi
	echo "$v"
}

pgc_install_packages() {
	local missing=() p
	PGC_PACKAGES+=("postgresql-$PGC_PG_MAJOR" "postgresql-server-dev-$PGC_PG_MAJOR"
		"postgresql-$PGC_PG_MAJOR-pgtap" "postgresql-$PGC_PG_MAJOR-cron")
	# What make deb builds with (packaging/make-deb.sh's list), installed
	# here while the network is there: the suite itself runs without one.
	[ "${PGC_INSTALL:-make}" = deb ] && PGC_PACKAGES+=(debhelper dpkg-dev postgresql-server-dev-all lintian)
	# From Debian 13 the docker command is in docker-cli, not docker.io.
	apt-cache show docker-cli >/dev/null 2>&1 && PGC_PACKAGES+=(docker-cli)
	# From Debian 13 Podman's networks are netavark's, which needs nft and,
	# for a network of its own, aardvark-dns (both only recommended).
	apt-cache show --no-all-versions podman 2>/dev/null | grep -q '^Depends:.*netavark' &&
		PGC_PACKAGES+=(nftables aardvark-dns)
	for p in "${PGC_PACKAGES[@]}"; do
		dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	# The Node client's tests (test/scenarios/node_client.t): Debian's
	# nodejs and npm, unless a node and npm are there already (NodeSource's
	# nodejs ships npm and conflicts with Debian's npm package).
	command -v node >/dev/null 2>&1 || missing+=(nodejs)
	command -v npm >/dev/null 2>&1 || missing+=(npm)
	if [ ${#missing[@]} -gt 0 ]; then
		pgc_log "installing Debian packages: ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >/dev/null
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
			|| pgc_die "apt-get install failed"
	fi
	# The server package creates the postgres user; everything below runs
	# PostgreSQL as it and gives it its files.
	id -u postgres >/dev/null 2>&1 || pgc_die "there is no postgres user after installing postgresql-$PGC_PG_MAJOR"
	[ -x "$PG_CONFIG" ] || command -v "$PG_CONFIG" >/dev/null || pgc_die "$PG_CONFIG is missing"
	PGC_PG_BIN=$("$PG_CONFIG" --bindir)
}

# pg_container into the server's folders: with PGC_INSTALL=deb as a DBA
# installs it, from the Debian package that packaging/make-deb.sh builds
# for this major (apt-get install ./postgresql-N-pg-container_*.deb), else
# with make install from the checkout.
pgc_build_install() {
	if [ "${PGC_INSTALL:-make}" = deb ]; then
		local out deb
		pgc_log "building the Debian package of pg_container for PostgreSQL $PGC_PG_MAJOR and installing it"
		out=$(PG_MAJORS=$PGC_PG_MAJOR "$PGC_ROOT/packaging/make-deb.sh" "$PGC_WORK/deb" | tail -n 1) \
			|| pgc_die "make deb failed"
		deb=$(ls "$out"/postgresql-"$PGC_PG_MAJOR"-pg-container_*.deb 2>/dev/null | head -n 1)
		[ -n "$deb" ] || pgc_die "make deb built no package for PostgreSQL $PGC_PG_MAJOR"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$deb" >/dev/null \
			|| pgc_die "apt-get install $deb failed"
		return
	fi
	pgc_log "building and installing pg_container"
	make -C "$PGC_ROOT" -s PG_CONFIG="$PG_CONFIG" >/dev/null \
		|| pgc_die "build failed"
	make -C "$PGC_ROOT" -s PG_CONFIG="$PG_CONFIG" install >/dev/null \
		|| pgc_die "make install failed"
}

# A free TCP port on 127.0.0.1 at or above $1.
pgc_free_port() {
	python3 - "$1" <<'EOF'
import socket, sys
port = int(sys.argv[1])
while True:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        s.close()
        print(port)
        break
    except OSError:
        port += 1
EOF
}

pgc_docker() { docker -H "unix://$PGC_WORK/docker.sock" "$@"; }

# A CA, a server certificate for 127.0.0.1 and a client certificate, made
# with the openssl command, plus the client's certificate folders in
# Docker's DOCKER_CERT_PATH layout (ca.pem, cert.pem, key.pem):
#   tls/client        the right CA and a client certificate
#   tls/no-client     the right CA, no client certificate
#   tls/other-ca      a CA that did not sign the server's certificate
pgc_make_certs() {
	local d="$PGC_WORK/tls"
	mkdir -p "$d/client" "$d/no-client" "$d/other-ca"
	(
		cd "$d" || exit 1
		local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
		openssl req -x509 "${ec[@]}" -keyout ca-key.pem -out ca.pem -days 2 -subj /CN=pgc-test-ca 2>/dev/null
		openssl req -x509 "${ec[@]}" -keyout other-ca-key.pem -out other-ca.pem -days 2 -subj /CN=pgc-other-ca 2>/dev/null
		openssl req "${ec[@]}" -keyout server-key.pem -out server.csr -subj /CN=localhost 2>/dev/null
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
			-out server-cert.pem -days 2 -extfile server.ext 2>/dev/null
		openssl req "${ec[@]}" -keyout client/key.pem -out client.csr -subj /CN=pgc-client 2>/dev/null
		printf 'extendedKeyUsage=clientAuth\n' >client.ext
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
			-out client/cert.pem -days 2 -extfile client.ext 2>/dev/null
		cp ca.pem client/ca.pem
		cp ca.pem no-client/ca.pem
		cp other-ca.pem other-ca/ca.pem
		cp client/cert.pem client/key.pem other-ca/
	) || pgc_die "could not make test certificates"
	chown -R postgres:postgres "$d/client" "$d/no-client" "$d/other-ca"
	chmod 0600 "$d"/client/key.pem "$d"/other-ca/key.pem
}

pgc_start_dockerd() {
	pgc_log "starting a private dockerd on $PGC_WORK/docker.sock"
	# It also listens with TLS on 127.0.0.1, requiring client certificates.
	[ -f "$PGC_WORK/tls/ca.pem" ] || pgc_make_certs
	[ -n "${PGC_DOCKER_TLS_PORT:-}" ] || PGC_DOCKER_TLS_PORT=$(pgc_free_port 22376)
	# --iptables=false and --bridge=none leave the host's firewall and
	# docker0 alone; published ports on 127.0.0.1 go through docker-proxy.
	dockerd \
		--host "unix://$PGC_WORK/docker.sock" \
		--host "tcp://127.0.0.1:$PGC_DOCKER_TLS_PORT" \
		--tlsverify --tlscacert "$PGC_WORK/tls/ca.pem" \
		--tlscert "$PGC_WORK/tls/server-cert.pem" --tlskey "$PGC_WORK/tls/server-key.pem" \
		--data-root "$PGC_WORK/docker-data" \
		--exec-root "$PGC_WORK/docker-exec" \
		--pidfile "$PGC_WORK/dockerd.pid" \
		--group postgres \
		--iptables=false --ip6tables=false --bridge=none \
		--shutdown-timeout 2 \
		--log-level warn \
		>>"$PGC_WORK/dockerd.log" 2>&1 &
	PGC_DOCKERD_PID=$!
	echo "$PGC_DOCKERD_PID" >"$PGC_WORK/dockerd.started"
	local i
	for i in $(seq 1 120); do
		if curl -sf --unix-socket "$PGC_WORK/docker.sock" http://docker/_ping >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$PGC_DOCKERD_PID" 2>/dev/null || { cat "$PGC_WORK/dockerd.log" >&2; pgc_die "dockerd exited"; }
		sleep 0.25
	done
	cat "$PGC_WORK/dockerd.log" >&2
	pgc_die "dockerd did not answer /_ping within 30 s"
}

# Stop the dockerd we started, by its pid, waiting for it to finish.  With
# "keep" (a restart), the containers stay: dockerd stops them as it shuts
# down and brings back, when it starts, those their restart policy says.
pgc_stop_dockerd() {
	[ -f "$PGC_WORK/dockerd.started" ] || return 0
	local pid i ids
	pid=$(cat "$PGC_WORK/dockerd.started")
	if kill -0 "$pid" 2>/dev/null; then
		# Containers whose PID 1 ignores SIGTERM would outlive a shutdown
		# timeout, leaving their shims behind: remove them all first, or on
		# a restart stop those (the pgc-sleeper:test ones) at once.
		if [ "${1:-}" = keep ]; then
			ids=$(pgc_docker ps -q --filter ancestor=pgc-sleeper:test 2>/dev/null)
			[ -n "$ids" ] && pgc_docker stop -t 0 $ids >/dev/null 2>&1
		else
			ids=$(pgc_docker ps -aq 2>/dev/null)
			[ -n "$ids" ] && pgc_docker rm -f $ids >/dev/null 2>&1
		fi
		kill -TERM "$pid"
		for i in $(seq 1 120); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.5
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
	fi
	rm -f "$PGC_WORK/dockerd.started"
}

pgc_restart_dockerd() {
	pgc_stop_dockerd keep
	pgc_start_dockerd
}

# Test images, built offline from busybox-static: no registry is needed.
#   pgc-gateway:test    httpd on 18789 serving /healthz and /readyz; exits on SIGTERM
#   pgc-sleeper:test    PID 1 ignores SIGTERM, so every stop waits stop_timeout
#   pgc-unhealthy:test  the gateway with a HEALTHCHECK that always fails
#   pgc-slowready:test  the gateway answers 404 on /readyz for its first 2 s
#   pgc-crashloop:test  prints its token, refuses to start, exits 78
pgc_build_images() {
	pgc_log "building test images"
	local rootfs="$PGC_WORK/rootfs"
	mkdir -p "$rootfs/bin" "$rootfs/www" "$rootfs/tmp" "$rootfs/home/node/.openclaw"
	cp /bin/busybox "$rootfs/bin/busybox"
	ln -sf busybox "$rootfs/bin/sh"
	echo ok >"$rootfs/www/healthz"
	echo ok >"$rootfs/www/readyz"
	local gateway_cmd='CMD ["/bin/busybox","sh","-c","trap \"exit 0\" TERM; /bin/busybox httpd -f -p 18789 -h /www & wait"]'
	tar -C "$rootfs" -c . | pgc_docker import --change "$gateway_cmd" - pgc-gateway:test >/dev/null
	tar -C "$rootfs" -c . | pgc_docker import \
		--change 'CMD ["/bin/busybox","sleep","1000000"]' - pgc-sleeper:test >/dev/null
	tar -C "$rootfs" -c . | pgc_docker import --change "$gateway_cmd" \
		--change 'HEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD ["/bin/busybox","false"]' \
		- pgc-unhealthy:test >/dev/null
	tar -C "$rootfs" -c . | pgc_docker import --change 'CMD ["/bin/busybox","sh","-c","trap \"exit 0\" TERM; /bin/busybox rm -f /www/readyz; /bin/busybox httpd -f -p 18789 -h /www & /bin/busybox sleep 2; echo ok > /www/readyz; wait"]' \
		- pgc-slowready:test >/dev/null
	# A gateway that refuses to start the way OpenClaw does without auth, and
	# says so with the token in its output (for the redaction checks).
	tar -C "$rootfs" -c . | pgc_docker import --change 'CMD ["/bin/busybox","sh","-c","echo \"token is $OPENCLAW_GATEWAY_TOKEN\"; echo \"Refusing to bind gateway to lan without auth\" >&2; exit 78"]' \
		- pgc-crashloop:test >/dev/null
	pgc_docker network create mosaic-internal >/dev/null
	# The application's API container, which pg_container attaches to every
	# user's network (the host of pg_container.api_url).
	pgc_docker run -d --name mosaic-api --restart unless-stopped --network mosaic-internal pgc-gateway:test >/dev/null
}

# The fault-injecting engine: passes through to our dockerd unless told
# otherwise (test/fault_engine.py); also listens on 127.0.0.1 for tcp://.
pgc_start_fault_engine() {
	PGC_FAULT_TCP_PORT=$(pgc_free_port 23750)
	pgc_run_fault_engine "$PGC_WORK" "$PGC_WORK/docker.sock" --tcp "$PGC_FAULT_TCP_PORT"
}

# pgc_run_fault_engine DIR UPSTREAM [ARG...]: test/fault_engine.py on
# DIR/fault.sock in front of the engine socket UPSTREAM, its pid in
# DIR/fault_engine.started, its log in DIR/fault_engine.log.
pgc_run_fault_engine() {
	local dir=$1 upstream=$2 i
	shift 2
	python3 "$PGC_ROOT/test/fault_engine.py" --listen "$dir/fault.sock" \
		--upstream "$upstream" "$@" >"$dir/fault_engine.log" 2>&1 &
	echo $! >"$dir/fault_engine.started"
	for i in $(seq 1 40); do
		[ -S "$dir/fault.sock" ] && return 0
		sleep 0.25
	done
	pgc_die "the fault engine in $dir did not start"
}

# Podman's Docker-compatible API, as a second engine, with storage, state and
# configuration of its own.  On these machines it needs runc, cgroupfs and
# explicit ulimits (crun fails on setrlimit; raising a limit to the hard
# limit is refused, so they are set below it).
pgc_podman() {
	CONTAINERS_CONF="$PGC_WORK/podman/containers.conf" CONTAINERS_STORAGE_CONF="$PGC_WORK/podman/storage.conf" \
		podman --root "$PGC_WORK/podman/storage" --runroot "$PGC_WORK/podman/run" --tmpdir "$PGC_WORK/podman/tmp" "$@"
}

pgc_start_podman() {
	pgc_log "starting Podman's API service on $PGC_WORK/podman.sock"
	mkdir -p "$PGC_WORK/podman/tmp"
	# Its network configurations too: Podman keeps them in /etc by default,
	# where every run (and every user network) would see the last run's.
	mkdir -p "$PGC_WORK/podman/networks"
	printf '%s\n' '[containers]' 'default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]' '' \
		'[engine]' 'runtime = "runc"' 'cgroup_manager = "cgroupfs"' 'events_logger = "file"' '' \
		'[network]' "network_config_dir = \"$PGC_WORK/podman/networks\"" \
		>"$PGC_WORK/podman/containers.conf"
	printf '%s\n' '[storage]' 'driver = "overlay"' "graphroot = \"$PGC_WORK/podman/storage\"" \
		"runroot = \"$PGC_WORK/podman/run\"" >"$PGC_WORK/podman/storage.conf"
	# A plain command, not the pgc_podman function: run in the background, a
	# function gets a subshell of its own, and $! would be the subshell's
	# pid; stopping that left the service running after the run.
	CONTAINERS_CONF="$PGC_WORK/podman/containers.conf" CONTAINERS_STORAGE_CONF="$PGC_WORK/podman/storage.conf" \
		podman --root "$PGC_WORK/podman/storage" --runroot "$PGC_WORK/podman/run" --tmpdir "$PGC_WORK/podman/tmp" \
		system service --time=0 "unix://$PGC_WORK/podman.sock" >"$PGC_WORK/podman.log" 2>&1 &
	local pid=$! i
	echo "$pid" >"$PGC_WORK/podman.started"
	for i in $(seq 1 60); do
		curl -sf --unix-socket "$PGC_WORK/podman.sock" http://podman/_ping >/dev/null 2>&1 && break
		sleep 0.25
	done
	# Once it answers, the pid recorded must be the service's own, or
	# stopping it by pid stops something else and leaves it behind.
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "system service" \
		|| pgc_die "the pid recorded for Podman's service ($pid) is not the service"
	chgrp postgres "$PGC_WORK/podman.sock" && chmod 0660 "$PGC_WORK/podman.sock"
	tar -C "$PGC_WORK/rootfs" -c . | pgc_podman import \
		--change 'CMD ["/bin/busybox","sh","-c","trap \"exit 0\" TERM; /bin/busybox httpd -f -p 18789 -h /www & wait"]' \
		- pgc-gateway:test >/dev/null
	pgc_podman network create mosaic-internal >/dev/null
}

# Remove Podman's containers and network, then stop its service, by pid.
pgc_stop_podman() {
	[ -f "$PGC_WORK/podman.started" ] || return 0
	pgc_podman rm -a -f -t 1 >/dev/null 2>&1
	pgc_podman network rm -f mosaic-internal >/dev/null 2>&1
	pgc_stop_pid "$(cat "$PGC_WORK/podman.started")"
	rm -f "$PGC_WORK/podman.started"
	# conmon, Podman's monitor of each container and exec session, runs
	# detached from the service; those of exec sessions were seen to
	# outlive their container's removal.  Stop whatever names our Podman
	# folder, and what runs under it, by pid.
	pgc_stop_pid $(pgc_leftover_processes "$PGC_WORK/podman" | awk '{print $1}')
}

# pgc_stop_pid PID...: SIGTERM to each, wait up to 30 s for them all to go,
# then SIGKILL to those still there and wait again: a process told to stop
# has stopped when this returns.  Several at once share the wait (conmon
# ignores SIGTERM, and one wait after another added up to minutes).
pgc_stop_pid() {
	local pids=() pid i
	for pid in "$@"; do
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
	done
	[ ${#pids[@]} -gt 0 ] || return 0
	for i in $(seq 1 150); do
		pgc_any_alive "${pids[@]}" || return 0
		sleep 0.2
	done
	kill -KILL "${pids[@]}" 2>/dev/null
	for i in $(seq 1 50); do
		pgc_any_alive "${pids[@]}" || return 0
		sleep 0.2
	done
}

pgc_any_alive() {
	local pid
	for pid in "$@"; do
		kill -0 "$pid" 2>/dev/null && return 0
	done
	return 1
}

# Write a fresh 256-bit key file readable by postgres only.
pgc_make_key() {
	local file=$1
	mkdir -p "$(dirname "$file")"
	openssl rand -hex 32 >"$file"
	chown postgres:postgres "$file"
	chmod 0600 "$file"
}

pgc_start_postgres() {
	PGC_PGDATA="$PGC_WORK/pgdata"
	PGPORT=$(pgc_free_port 25432)
	pgc_log "starting PostgreSQL $PGC_PG_MAJOR on 127.0.0.1:$PGPORT (socket in $PGC_WORK)"
	mkdir -p "$PGC_WORK/keys"
	chown postgres:postgres "$PGC_WORK/keys"
	chmod 0700 "$PGC_WORK/keys"
	pgc_make_key "$PGC_WORK/keys/current.key"
	# A key that is not the server's own user's, for the ownership check.
	openssl rand -hex 32 >"$PGC_WORK/keys/foreign.key"
	chown nobody "$PGC_WORK/keys/foreign.key"
	chmod 0644 "$PGC_WORK/keys/foreign.key"
	runuser -u postgres -- "$PGC_PG_BIN/initdb" -D "$PGC_PGDATA" --auth=trust \
		--username=postgres --encoding=UTF8 --locale=C >"$PGC_WORK/initdb.log" 2>&1 \
		|| { cat "$PGC_WORK/initdb.log" >&2; pgc_die "initdb failed"; }
	cat >>"$PGC_PGDATA/postgresql.conf" <<EOF

# --- pg_container test cluster ---
port = $PGPORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PGC_WORK'
max_connections = 60
fsync = off
shared_preload_libraries = 'pg_container,pg_cron'
log_line_prefix = '%m [%p] %q%a '
pg_container.docker_host = 'unix://$PGC_WORK/docker.sock'
pg_container.image = 'pgc-gateway:test'
pg_container.encryption_key_file = '$PGC_WORK/keys/current.key'
pg_container.stop_timeout = 5
# The worker serves the test database; its sweeps stay off unless a test
# turns them on, so they never race the tests' own calls.
pg_container.database = 'pgc_test'
pg_container.reap_interval = 0
pg_container.health_check_interval = 0
cron.database_name = 'pgc_test'
cron.host = '$PGC_WORK'
EOF
	runuser -u postgres -- "$PGC_PG_BIN/pg_ctl" -D "$PGC_PGDATA" -l "$PGC_WORK/postgres.log" \
		-w -t 60 start >/dev/null \
		|| { tail -n 30 "$PGC_WORK/postgres.log" >&2; pgc_die "PostgreSQL did not start"; }
	export PGHOST="$PGC_WORK" PGPORT PGUSER=postgres PGDATABASE=postgres
	# The workers of pg_container and pg_cron connect to it.
	pgc_psql -d postgres -c "CREATE DATABASE pgc_test"
}

# Restart the cluster; NAME=VALUE arguments go into the server's environment
# (DOCKER_HOST and its TLS variables, for the tests of that fallback).
pgc_restart_postgres() {
	runuser -u postgres -- env "$@" "$PGC_PG_BIN/pg_ctl" -D "$PGC_PGDATA" -l "$PGC_WORK/postgres.log" \
		-w -t 60 -m fast restart >/dev/null
}

pgc_psql() { psql -X -v ON_ERROR_STOP=1 -q "$@"; }

# The test database: pgTAP, pg_container and the test helpers.
pgc_create_test_db() {
	pgc_psql -d pgc_test -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION pg_container" 2>/dev/null
	pgc_psql -d pgc_test -v work_dir="$PGC_WORK" -v fault_tcp_port="$PGC_FAULT_TCP_PORT" \
		-v docker_tls_port="$PGC_DOCKER_TLS_PORT" \
		-f "$PGC_ROOT/test/lib/helpers.sql"
}

pgc_env_up() {
	[ "$(id -u)" = 0 ] || pgc_die "run as root: this installs packages and starts dockerd"
	pgc_find_postgres
	PGC_WORK=$(mktemp -d /tmp/pgc.XXXXXX)
	export PGC_WORK
	trap pgc_env_down EXIT
	trap 'exit 130' INT TERM
	# First the packages: on a fresh machine they create the postgres user.
	pgc_install_packages
	# postgres owns it: the cluster, its socket and the key files live here.
	chown postgres:postgres "$PGC_WORK" || pgc_die "cannot give $PGC_WORK to postgres"
	chmod 0755 "$PGC_WORK"
	pgc_build_install
	pgc_start_dockerd
	pgc_build_images
	pgc_start_fault_engine
	pgc_start_postgres
	export DOCKER_HOST="unix://$PGC_WORK/docker.sock"
	# Keep a record so a developer can source it from another shell.
	cat >"$PGC_WORK/env" <<EOF
export PGC_WORK='$PGC_WORK' PGHOST='$PGC_WORK' PGPORT='$PGPORT' PGUSER=postgres
export PGC_PGDATA='$PGC_PGDATA' DOCKER_HOST='unix://$PGC_WORK/docker.sock'
export PGC_FAULT_TCP_PORT='$PGC_FAULT_TCP_PORT' PGC_DOCKER_TLS_PORT='$PGC_DOCKER_TLS_PORT'
export PG_CONFIG='$PG_CONFIG' PGC_PG_MAJOR='$PGC_PG_MAJOR' PGC_PG_BIN='$PGC_PG_BIN'
EOF
}

# Stops only what pgc_env_up started, by pid; safe to run twice.
pgc_env_down() {
	local status=$?
	[ -n "${PGC_WORK:-}" ] && [ -d "$PGC_WORK" ] || return $status
	if [ "${PGC_KEEP:-}" = 1 ]; then
		pgc_log "PGC_KEEP=1: leaving PostgreSQL and dockerd running; source $PGC_WORK/env"
		return $status
	fi
	if [ -f "$PGC_WORK/pgdata/postmaster.pid" ]; then
		runuser -u postgres -- "$PGC_PG_BIN/pg_ctl" -D "$PGC_WORK/pgdata" -m immediate -w stop >/dev/null 2>&1
	fi
	if [ -f "$PGC_WORK/fault_engine.started" ]; then
		pgc_stop_pid "$(cat "$PGC_WORK/fault_engine.started")"
	fi
	pgc_stop_podman
	# The swarm's dockerd, if a run started one (test/lib/swarm.sh).
	if [ -f "$PGC_WORK/swarm/dockerd.started" ]; then
		declare -F pgc_stop_swarm >/dev/null || source "$PGC_ROOT/test/lib/swarm.sh"
		pgc_stop_swarm
	fi
	# The three-node swarm, if a scenario left one (test/lib/swarm_cluster.sh).
	if [ -d "$PGC_WORK/swarm3" ]; then
		declare -F pgc_stop_swarm_cluster >/dev/null || source "$PGC_ROOT/test/lib/swarm_cluster.sh"
		pgc_stop_swarm_cluster
	fi
	pgc_stop_dockerd
	# Nothing this run started may outlive it.  Children of what was just
	# stopped (containerd, shims, backends) get a while to go by themselves
	# (PGC_LEFTOVER_GRACE seconds, 30 unless the counter's self-test says);
	# whatever is still there is reported in PGC_LEFTOVERS, then killed.
	local i
	PGC_LEFTOVERS=
	for i in $(seq 1 $((${PGC_LEFTOVER_GRACE:-30} * 2))); do
		PGC_LEFTOVERS=$(pgc_leftover_processes "$PGC_WORK")
		[ -z "$PGC_LEFTOVERS" ] && break
		sleep 0.5
	done
	if [ -n "$PGC_LEFTOVERS" ]; then
		printf 'error: still running after the run stopped what it started:\n%s\n' "$PGC_LEFTOVERS" >&2
		for i in $(printf '%s\n' "$PGC_LEFTOVERS" | awk '{print $1}'); do kill -KILL "$i" 2>/dev/null; done
		status=1
	fi
	# Mounts dockerd left behind would make the folder impossible to delete.
	grep -o " $PGC_WORK/[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
	rm -rf "$PGC_WORK" 2>/dev/null
	PGC_WORK=
	return $status
}

# Forget every user: rows, containers and volumes (dev reruns; CI starts clean).
pgc_reset_world() {
	pgc_psql -d pgc_test -c "DELETE FROM user_container" >/dev/null
	local ids
	ids=$(pgc_docker ps -aq --filter label=pg_container.managed)
	[ -n "$ids" ] && pgc_docker rm -f $ids >/dev/null
	pgc_docker volume prune -f >/dev/null
}

# The processes this run started that are still alive, one "pid command" a
# line: every process whose environment holds this run's PGC_WORK (pgc_env_up
# exports it, so everything started from here inherits it) or whose command
# line names the folder (dockerd's containerd and shims, conmon), other than
# the shell asking and its own ancestors.
pgc_leftover_processes() {
	local work=${1:-$PGC_WORK}
	[ -n "$work" ] || return 0
	env -u PGC_WORK python3 - "$work" <<'PY'
import os, sys
work = sys.argv[1].encode()
mine = set()
pid = os.getpid()
while pid > 1:
    mine.add(pid)
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            pid = int(f.read().rsplit(b")", 1)[1].split()[1])
    except OSError:
        break
procs = {}
for entry in os.listdir("/proc"):
    if not entry.isdigit() or int(entry) in mine:
        continue
    try:
        with open(f"/proc/{entry}/environ", "rb") as f:
            environ = f.read().split(b"\0")
        with open(f"/proc/{entry}/cmdline", "rb") as f:
            cmdline = f.read().split(b"\0")
        with open(f"/proc/{entry}/stat", "rb") as f:
            ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
    except OSError:
        continue
    if not cmdline or cmdline == [b""]:
        continue  # a kernel thread, or a zombie already gone
    procs[int(entry)] = (ppid, b"PGC_WORK=" + work in environ or any(work in arg for arg in cmdline),
                         b" ".join(cmdline).decode(errors="replace")[:200])
# ... and their descendants: backends of our postmaster, processes in our containers.
def ours(pid, depth=0):
    if pid not in procs or depth > 64:
        return False
    ppid, marked, _ = procs[pid]
    return marked or ours(ppid, depth + 1)
for pid in sorted(procs):
    if ours(pid):
        print(pid, procs[pid][2])
PY
}
