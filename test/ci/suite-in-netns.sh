#!/usr/bin/env bash
# test/run-tests in a network namespace of its own, as .ci/run runs it:
#
#   test/ci/suite-in-netns.sh
#
# First, while the network is there, what the suite needs from outside:
# the Debian packages (test/lib/env.sh's list for the PostgreSQL major it
# finds) and, for the whole suite, the OpenClaw image's npm packages and
# the Node client's (clients/node, npm ci).  Then
# the suite in a new network namespace with only a loopback: the networks
# its dockerd and Podman make per user, their bridges and firewall rules,
# and every port they listen on stay in there and go away with it.
set -euo pipefail
cd "$(dirname "$0")/../.."

bash -c 'source test/lib/env.sh && pgc_find_postgres && pgc_install_packages'
if [ "${PGC_TESTS:-full}" != quick ] && [ -f test/openclaw/build-image.sh ]; then
	bash test/openclaw/build-image.sh --prepare-only >/dev/null
fi
# The Node client's npm dependencies, from its package-lock.json, for
# test/scenarios/node_client.t (node and npm came with the packages above).
if [ "${PGC_TESTS:-full}" != quick ] && [ -f clients/node/package-lock.json ]; then
	(cd clients/node && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
exec unshare --net -- bash -c '{ ip link set lo up || busybox ip link set lo up; } 2>/dev/null && exec bash test/run-tests'
