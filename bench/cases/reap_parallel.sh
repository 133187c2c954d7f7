#!/usr/bin/env bash
# Reap of 20 idle containers whose PID 1 ignores SIGTERM, stop_timeout 2 s:
# container_reap_idle() stops them in parallel; the baseline is the seed's
# one-at-a-time sweep (container_stop for each in turn), 20 x 2 s.
source "$(dirname "$0")/../lib.sh"
N=20
REPS=3

make_users reap- "$N" pgc-sleeper:test
parallel=()
sequential=()
for rep in $(seq 1 "$REPS"); do
	# Sequential: what the seed's reapIdle does.
	make_users reap- "$N" pgc-sleeper:test
	start=$(now_ms)
	for i in $(seq 1 "$N"); do
		bq -c "SET pg_container.stop_timeout = '2s'" -c "SELECT container_stop('reap-$i')" >/dev/null
	done
	sequential+=($(($(now_ms) - start)))

	# Parallel: one sweep.
	make_users reap- "$N" pgc-sleeper:test
	bq -c "UPDATE user_container SET last_active_at = now() - interval '2 hours' WHERE user_id LIKE 'reap-%'"
	start=$(now_ms)
	stopped=$(bq -c "SET pg_container.stop_timeout = '2s'" -c "SELECT count(*) FROM container_reap_idle()")
	parallel+=($(($(now_ms) - start)))
	[ "$stopped" = "$N" ] || echo "reap stopped $stopped of $N" >&2
done
record "reap of $N containers ignoring SIGTERM, stop_timeout 2 s" "sweep wall time" ms \
	"at most 2 x stop_timeout (4000 ms)" "-" "one-at-a-time sweep (container_stop each)" \
	"${sequential[*]}" "${parallel[*]}" "absolute target: median <= 4000 ms"
