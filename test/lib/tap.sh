# test/lib/tap.sh: a little TAP for the shell scenario tests, read by prove.
# Each test script runs inside the world test/lib/env.sh set up: PGHOST,
# PGPORT, PGUSER, PGC_WORK and DOCKER_HOST are in the environment, and
# env.sh's functions (pgc_docker, pgc_psql, pgc_restart_postgres ...) are
# at hand.

source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

TAP_COUNT=0
TAP_FAILED=0

plan() { echo "1..$1"; }

ok() {
	local cond=$1 desc=$2
	TAP_COUNT=$((TAP_COUNT + 1))
	if [ "$cond" = 0 ]; then
		echo "ok $TAP_COUNT - $desc"
	else
		echo "not ok $TAP_COUNT - $desc"
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
}

is() {
	local got=$1 want=$2 desc=$3
	if [ "$got" = "$want" ]; then
		ok 0 "$desc"
	else
		ok 1 "$desc"
		printf '#   got:  %s\n#   want: %s\n' "$got" "$want"
	fi
}

# cmp_ok GOT OP WANT DESC, with a test(1) integer operator: -lt -le -eq ...
cmp_ok() {
	local got=$1 op=$2 want=$3 desc=$4
	if [ "$got" "$op" "$want" ] 2>/dev/null; then
		ok 0 "$desc"
	else
		ok 1 "$desc"
		printf '#   %s %s %s is false\n' "$got" "$op" "$want"
	fi
}

like() {
	local got=$1 pattern=$2 desc=$3
	if [[ "$got" =~ $pattern ]]; then
		ok 0 "$desc"
	else
		ok 1 "$desc"
		printf '#   got:     %s\n#   pattern: %s\n' "$got" "$pattern"
	fi
}

diag() { printf '# %s\n' "$*"; }

# psql returning bare values, failing loudly.
q() { pgc_psql -At -d "${TEST_DB:-pgc_test}" "$@"; }

# Milliseconds since the epoch.
now_ms() { date +%s%3N; }

# wait_for SECONDS COMMAND...: poll until COMMAND succeeds; 0 if it did.
wait_for() {
	local limit=$1 start
	shift
	start=$(date +%s)
	while ! "$@" >/dev/null 2>&1; do
		[ $(($(date +%s) - start)) -ge "$limit" ] && return 1
		sleep 0.2
	done
	return 0
}

# pg_reload_conf(), then wait (up to 60 s) until the postmaster has loaded
# the file: a new connection sees a load time after the call, and so every
# later connection has the new settings.
reload_conf() {
	local asked
	asked=$(q -c "SELECT clock_timestamp()")
	q -c "SELECT pg_reload_conf()" >/dev/null
	wait_for 60 bash -c "[ \"\$(psql -X -qAt -d '${TEST_DB:-pgc_test}' -c \"SELECT pg_conf_load_time() >= '$asked'\")\" = t ]"
}

tap_exit() { exit $((TAP_FAILED > 0)); }
