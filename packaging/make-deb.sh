#!/usr/bin/env bash
# Build Debian packages of pg_container, one per PostgreSQL major whose
# server-dev package is installed (postgresql-NN-pg-container), the way
# Debian builds PostgreSQL extensions (pg_buildext, debian/):
#
#   make deb            or   packaging/make-deb.sh [OUTPUT_DIR]
#
# As root on Debian 12 or 13 it first installs what the build needs
# (debhelper, postgresql-server-dev-all and the libraries; PG_MAJORS="15 17"
# adds those majors' server-dev packages where the release has them).  The
# tree is built in a copy, so the checkout is left as it was; the packages
# are checked with lintian (no errors allowed) and put in OUTPUT_DIR
# (default build/deb), whose path is the last line printed.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$src/build/deb}
version=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$src/pg_container.control")

log() { printf '==> %s\n' "$*" >&2; }

install_build_deps() {
	local pkgs=(debhelper dpkg-dev postgresql-server-dev-all libcurl4-openssl-dev libssl-dev libkrb5-dev lintian) missing=() p m
	for m in ${PG_MAJORS:-}; do pkgs+=("postgresql-server-dev-$m"); done
	for p in "${pkgs[@]}"; do
		dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return
	[ "$(id -u)" = 0 ] || { echo "error: missing build dependencies (run as root to install them): ${missing[*]}" >&2; exit 1; }
	log "installing build dependencies: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
}

install_build_deps
work=$(mktemp -d /tmp/pgc-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
tree=$work/pg-container-$version
mkdir -p "$tree"
# The sources as they are in the checkout, without git's folder or
# anything built.
tar -C "$src" --exclude=./.git --exclude=./build --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
	--exclude=./results --exclude=./tmp_check --exclude=./not_preloaded -cf - . | tar -C "$tree" -xf -
cd "$tree"
# debian/control is made from debian/control.in for the majors at hand.
pg_buildext updatecontrol
log "building for PostgreSQL $(pg_buildext supported-versions | tr '\n' ' ')"
dpkg-buildpackage -b -us -uc >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; exit 1; }
cd "$work"
log "lintian"
lintian --fail-on error --suppress-tags bad-distribution-in-changes-file ./*.changes >&2
mkdir -p "$out"
cp ./*.deb "$out/"
ls "$out"/*.deb | sed 's/^/    /' >&2
echo "$out"
