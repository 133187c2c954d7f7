#!/usr/bin/env bash
# The suite in a fresh Debian root, as a new user on that release would run
# it:
#
#   test/ci/debian-root.sh SUITE [NAME=VALUE...]
#
# SUITE is a Debian release name (trixie, sid, bookworm).  A minbase root of
# it is made with debootstrap from the mirror this machine's apt uses and
# kept, untouched, under $PGC_CI_CACHE (default /var/cache/pg_container-ci)
# for the next run; every run works on a fresh copy of it with nothing
# installed, into which this clone's files are copied.  The copy is entered
# in a private mount namespace (unshare --mount --propagation private) with
# /proc, /sys (cgroups included) and /dev bound in and a fresh /run, made
# that namespace's root with pivot_root, then chroot; there, as root,
# test/ci/suite-in-netns.sh installs what the suite needs and runs
# test/run-tests in a network namespace of its own, with its own dockerd
# and PostgreSQL, exactly as on the host.  NAME=VALUE
# pairs go into its environment (PG_CONFIG to choose the major, PGC_TESTS).
#
# Downloaded packages are kept between runs in $PGC_CI_CACHE/apt/SUITE (and
# the OpenClaw image's files in $PGC_CI_CACHE/openclaw/SUITE) and
# the pristine root is made again when it is older than
# $PGC_CI_ROOT_MAX_DAYS days (default 7), so sid stays current.  The exit
# status and last line are test/run-tests'.
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 SUITE [NAME=VALUE...]" >&2; exit 2; }
suite=$1
shift
[ "$(id -u)" = 0 ] || { echo "error: run as root" >&2; exit 1; }

src=$(cd "$(dirname "$0")/../.." && pwd)
cache=${PGC_CI_CACHE:-/var/cache/pg_container-ci}
pristine=$cache/roots/$suite
root=$cache/run/$suite
archives=$cache/apt/$suite
# What test/openclaw/build-image.sh fetches from npm and assembles (it is
# built from the root's own libraries, so per release).
openclaw=$cache/openclaw/$suite

log() { printf '==> [%s] %s\n' "$suite" "$*" >&2; }

# The Debian archive this machine's apt uses (not the security archive):
# deb822 sources first, then the one-line format.
debian_mirror() {
	local f url
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		url=$(awk '
			function flush() { if (uris != "" && suites !~ /-security/ && !done) { print uris; done = 1 } uris = ""; suites = "" }
			/^[[:space:]]*$/ { flush(); next }
			/^URIs:/ { uris = $2 }
			/^Suites:/ { suites = $0 }
			END { flush() }' "$f")
		[ -n "$url" ] && { echo "$url"; return; }
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		url=$(sed -E -n '/^deb[[:space:]]/{/-security/d;s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/p}' "$f" | head -n 1)
		[ -n "$url" ] && { echo "$url"; return; }
	done
	echo "error: no Debian mirror found in /etc/apt" >&2
	return 1
}

ensure_debootstrap() {
	command -v debootstrap >/dev/null && return
	log "installing debootstrap"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null \
		|| { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; }
}

# The pristine root: made once, then only ever copied.  It is built beside
# its final place and renamed into it, so an interrupted debootstrap never
# leaves a root that looks complete.
make_pristine() {
	local max_days=${PGC_CI_ROOT_MAX_DAYS:-7}
	if [ -f "$pristine/.pgc-ci-complete" ] &&
		[ -z "$(find "$pristine/.pgc-ci-complete" -mtime +"$max_days")" ]; then
		return
	fi
	ensure_debootstrap
	local mirror
	mirror=$(debian_mirror)
	log "debootstrap --variant=minbase $suite from $mirror"
	mkdir -p "$cache/roots"
	rm -rf "$pristine.new"
	debootstrap --variant=minbase "$suite" "$pristine.new" "$mirror" >"$cache/roots/$suite.log" 2>&1 \
		|| { tail -n 20 "$cache/roots/$suite.log" >&2; echo "error: debootstrap failed" >&2; exit 1; }
	# No package's maintainer script may start a service in the root (a
	# postgresql cluster on 5432, dockerd on /var/run/docker.sock): it is a
	# chroot without an init, sharing the host's network.
	printf '#!/bin/sh\nexit 101\n' >"$pristine.new/usr/sbin/policy-rc.d"
	chmod 0755 "$pristine.new/usr/sbin/policy-rc.d"
	apt-get -q -o Dir="$pristine.new" clean >/dev/null 2>&1 || rm -f "$pristine.new"/var/cache/apt/archives/*.deb
	touch "$pristine.new/.pgc-ci-complete"
	rm -rf "$pristine"
	mv "$pristine.new" "$pristine"
}

# Processes of this run: those in its mount namespace (dockerd, containerd,
# PostgreSQL, the test scripts) and their descendants (the containers,
# which have namespaces of their own).  Nothing else is ever in there.
leg_pids() {
	[ -n "${leg_ns:-}" ] || return 0
	ps -e -o pid=,ppid= | awk -v ns="$leg_ns" '
		{ parent[$1] = $2; pids[++n] = $1 }
		END {
			for (i = 1; i <= n; i++) {
				link = ""
				cmd = "readlink /proc/" pids[i] "/ns/mnt 2>/dev/null"
				cmd | getline link
				close(cmd)
				if (link == ns) mine[pids[i]] = 1
			}
			for (i = 1; i <= n; i++) {
				p = pids[i]
				for (q = p; q > 1 && !(q in mine); q = parent[q]) ;
				if (q in mine) print p
			}
		}'
}

# Stop them by pid: a run interrupted half-way leaves its servers behind,
# which would hold the root's files.
stop_leg_processes() {
	local pids i
	pids=$(leg_pids)
	[ -n "$pids" ] || return 0
	log "stopping what is left running in the root: $(ps -o pid=,comm= -p "$(echo $pids | tr ' ' ,)" | awk '{printf "%s%s(%s)", n++ ? " " : "", $1, $2}')"
	kill -TERM $pids 2>/dev/null
	for i in $(seq 1 40); do
		pids=$(leg_pids)
		[ -n "$pids" ] || return 0
		sleep 0.5
	done
	kill -KILL $pids 2>/dev/null
}

ensure_git() {
	command -v git >/dev/null && return
	log "installing git"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends git >/dev/null \
		|| { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends git >/dev/null; }
}

make_pristine
ensure_git

log "fresh copy of the root in $root"
rm -rf "$root" || { echo "error: cannot remove $root" >&2; exit 1; }
mkdir -p "$cache/run" "$archives/partial" "$openclaw"
cp -a "$pristine" "$root"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
# This clone's files (tracked, or new and not ignored), not its build output.
mkdir -p "$root/root/pg_container"
git -C "$src" ls-files -z --cached --others --exclude-standard |
	tar -C "$src" -c --no-recursion --ignore-failed-read --null -T - 2>/dev/null |
	tar -C "$root/root/pg_container" -x

env_args=(HOME=/root TERM=dumb LANG=C.UTF-8 "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
# Certificate authorities this machine adds for node (npm, for the OpenClaw
# image), such as a proxy's: the root reaches the same network.
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
	cp -L "$NODE_EXTRA_CA_CERTS" "$root/etc/pgc-ci-node-extra-ca.crt"
	env_args+=(NODE_EXTRA_CA_CERTS=/etc/pgc-ci-node-extra-ca.crt)
fi
env_args+=("$@")

# Nothing mounted in the new mount namespace is seen outside, and it all
# goes away when the last process in it ends.  The root becomes the namespace's own root with pivot_root, then chroot
# starts the suite in it.  Only a real root (not a chroot directory) gives
# Docker's containers a root of their own: "docker exec" enters a
# container's mount namespace at that namespace's root, which in a mere
# chroot is still the host's "/".  The root must be a mount point for
# pivot_root, and for dockerd and podman, which make "/" private in
# namespaces of their own when they unpack layers.
set +e
unshare --mount --propagation private -- /bin/bash -euo pipefail -c '
	root=$1 archives=$2 openclaw=$3
	shift 3
	mount --bind "$root" "$root"
	mount --bind /proc "$root/proc"
	mount --rbind /sys "$root/sys"
	mount --rbind /dev "$root/dev"
	mount -t tmpfs -o mode=0755 tmpfs "$root/run"
	mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm"
	mount --bind "$archives" "$root/var/cache/apt/archives"
	mkdir -p "$root/var/cache/pg_container-test/openclaw"
	mount --bind "$openclaw" "$root/var/cache/pg_container-test/openclaw"
	mkdir "$root/run/old-root"
	cd "$root"
	pivot_root . run/old-root
	exec chroot / /bin/sh -c "umount -l /run/old-root && rmdir /run/old-root && exec \"\$@\"" sh \
		/usr/bin/env -i "$@" /bin/bash /root/pg_container/test/ci/suite-in-netns.sh
' pgc-ci "$root" "$archives" "$openclaw" "${env_args[@]}" &
child=$!
# Its mount namespace, once unshare has made it.
self_ns=$(readlink /proc/self/ns/mnt)
leg_ns=
for i in $(seq 1 100); do
	leg_ns=$(readlink "/proc/$child/ns/mnt" 2>/dev/null) || break
	[ "$leg_ns" != "$self_ns" ] && break
	leg_ns=
	sleep 0.1
done
# On INT or TERM, do not wait for the suite: stop everything it started.
trap 'stop_leg_processes; exit 143' INT TERM
wait "$child"
status=$?
trap - INT TERM
stop_leg_processes
set -e

# Left for a look when it failed; removed on success (and at the next run).
if [ "$status" = 0 ]; then
	rm -rf "$root"
else
	log "failed ($status); the root stays in $root"
fi
exit "$status"
