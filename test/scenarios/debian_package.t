#!/usr/bin/env bash
# With PGC_INSTALL=deb (.ci/run's legs in fresh Debian roots) the suite runs
# against the Debian package that make deb built and apt-get installed, not
# against make install: the server's library and control file are the
# package's own files.
source "$(dirname "$0")/../lib/tap.sh"
plan 2

if [ "${PGC_INSTALL:-make}" != deb ]; then
	ok 0 "the library is the package's # SKIP installed with make install (PGC_INSTALL=deb tests the package)"
	ok 0 "the control file is the package's # SKIP likewise"
	tap_exit
fi
major=$PGC_PG_MAJOR
is "$(dpkg -S "$("$PG_CONFIG" --pkglibdir)/pg_container.so" 2>/dev/null | cut -d: -f1)" "postgresql-$major-pg-container" \
	"the library the server loads is postgresql-$major-pg-container's"
is "$(dpkg -S "$("$PG_CONFIG" --sharedir)/extension/pg_container.control" 2>/dev/null | cut -d: -f1)" "postgresql-$major-pg-container" \
	"... and so is the control file"
tap_exit
