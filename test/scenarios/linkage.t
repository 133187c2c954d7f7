#!/usr/bin/env bash
# The library links PostgreSQL (by being loaded into it), libcurl and
# libcrypto, and nothing else.
source "$(dirname "$0")/../lib/tap.sh"
plan 2

lib=$("$PG_CONFIG" --pkglibdir)/pg_container.so
needed=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
like "$needed" '^libc\.so\.6 libcrypto\.so\.3 libcurl\.so\.4 $' "pg_container.so needs only libc, libcrypto and libcurl (got: $needed)"
is "$(readelf -d "$lib" | grep -c 'libssl')" 0 "... and not libssl itself"
tap_exit
