#!/usr/bin/env bash
# The Node client (clients/node): its node:test files, run by `npm test`
# against this world's PostgreSQL (database pgc_test) and dockerd, each
# node test reported here as one TAP line, plus one for npm test's exit
# status (a test file that dies before its tests shows there).  Its npm
# dependencies come from test/ci/suite-in-netns.sh's `npm ci`, made while
# the network is there; without them this file tries npm ci itself.
source "$(dirname "$0")/../lib/tap.sh"

client=$PGC_ROOT/clients/node
export PGDATABASE=pgc_test NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false

if [ ! -d "$client/node_modules" ]; then
	if ! (cd "$client" && npm ci --silent) >/dev/null 2>&1; then
		plan 1
		ok 1 "npm ci in clients/node (test/ci/suite-in-netns.sh runs it while the network is there)"
		exit 1
	fi
fi

out=$(mktemp)
(cd "$client" && npm test --silent) >"$out" 2>&1
status=$?

# One line per node test: the TAP test lines at any depth (Node 18 nests a
# file's tests under the file), less the file's own line unless it failed.
lines=$(sed -E -n 's/^ *((not )?ok) [0-9]+ - (.*)$/\1\t\3/p' "$out" |
	awk -F'\t' '$2 !~ /\.test\.js$/ || $1 == "not ok"')
count=$(printf '%s' "$lines" | grep -c '' || true)

plan $((count + 1))
while IFS=$'\t' read -r result name; do
	[ -n "$result" ] || continue
	TAP_COUNT=$((TAP_COUNT + 1))
	echo "$result $TAP_COUNT - node: $name"
done <<<"$lines"
if [ "$status" != 0 ]; then
	sed -E -n '/^ *(not ok|  +(error|expected|actual|location):)/s/^/# /p' "$out" | head -n 60
	[ "$count" -gt 0 ] || sed 's/^/# /' "$out" | tail -n 40
fi
ok "$status" "npm test in clients/node exits 0 (ran $count node tests)"
rm -f "$out"
