#!/usr/bin/env bash
# Bad input is refused in well under a millisecond: 10,000 calls with a
# 1 MB user id (and 10,000 with a short bad one), each caught in a PL/pgSQL
# exception block, against the same loop around a division by zero.
source "$(dirname "$0")/../lib.sh"
REPS=7

loop() {   # loop EXPRESSION: ms for 10,000 evaluations that each raise
	bq -c "DO \$\$ DECLARE big text := repeat('x', 1048576); t0 timestamptz := clock_timestamp(); BEGIN
		FOR i IN 1..10000 LOOP BEGIN PERFORM $1; EXCEPTION WHEN OTHERS THEN NULL; END; END LOOP;
		RAISE NOTICE 'ms=%', extract(epoch FROM clock_timestamp() - t0) * 1000; END \$\$" 2>&1 | sed -n 's/.*ms=//p'
}
big=() short=() base=()
for rep in $(seq 1 "$REPS"); do
	big+=($(python3 -c "print($(loop "container_ensure_running(big)") / 10000)"))
	short+=($(python3 -c "print($(loop "container_touch('a b')") / 10000)"))
	base+=($(python3 -c "print($(loop "1 / (i - i)") / 10000)"))
done
record "bad input: a 1 MB user id, refused" "time per call" ms "well under 1 ms" "-" \
	"a division by zero in the same loop" "${base[*]}" "${big[*]}" "absolute target: median <= 0.5 ms"
record "bad input: a short malformed user id, refused" "time per call" ms "well under 1 ms" "-" \
	"a division by zero in the same loop" "${base[*]}" "${short[*]}" "absolute target: median <= 0.5 ms"
