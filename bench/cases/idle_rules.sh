#!/usr/bin/env bash
# The idle rules' costs (issue 23), side by side in one run:
# - touch with a source: container_touch(user_id, 'message'), which also
#   records last_activity_source, against today's container_touch(user_id),
#   pgbench over the same 1,000 users, both with -M prepared, with 8 and
#   then 1 client (TOUCH_CLIENTS), ROUNDS (7) rounds of TOUCH_S (6) seconds
#   a side, the two going first in turn; tps and p99 latency (from
#   pgbench's transaction log).  Target: at most 1.1x, for the cost (the
#   samples are 1000 / tps, so the ratio is today's tps over the source's)
#   and for p99.
# - the idle sweep, SELECT container_reap_idle(), over the same 1,000 users
#   in four states, measured in rotation (each round takes them in another
#   order), each state's sweeps in one session:
#     plain     no lease, no schedule;
#     leases    container_hold(user_id, 'bench', '1 hour') on ir-1..ir-100;
#     profile   those 100 leases, and one schedule (container_schedule) of
#               the profile ir-warm, whose users are ir-101..ir-200, open
#               now on all 7 days (opens 11 hours before now, closes 11
#               hours after, UTC: unless now is between 11:00 and 13:00
#               UTC, a window that crosses midnight, closes before opens;
#               the table refuses opens = closes);
#     per_user  those 100 leases, and 100 schedules of one user each
#               (ir-101..ir-200), the same window.
#   A round of a state, in one psql session: one sweep to warm the
#   session's plans (in the previous state), then the state is made in a
#   transaction of its own (every lease of the users released through
#   container_release and every schedule of theirs deleted, then the
#   state's holds and schedules), then the first sweep, timed alone (for
#   the schedule states it is the one that takes the windows' 100 leases),
#   then SWEEPS (15) sweeps, whose median is the round's steady-state
#   sample.  Before each round, user_container, container_lease and
#   container_schedule are vacuumed (the states rewrite them; the events
#   of the holds, releases and windows are kept, as a real log keeps
#   them).  Target: the steady sweep of profile (and of per_user) at most
#   1.5x plain's.  Also container_explain('ir-150') (a user in the window),
#   timed SWEEPS times in each state's session.
#   Without container_schedule (before the schedules are merged) only
#   plain and leases are measured.
# The users: ir-1..ir-1000, rows made through container_set_idle_timeout
# ('ir-' || i, 30) (ir-101..ir-200 also container_set_profile(u, 'ir-warm'),
# a profile with no settings), then one UPDATE sets status = 'running',
# last_active_at, started_at and updated_at to now().  No container, volume
# or network backs them: container_id stays NULL, and nothing asks the
# engine about them (the test world's worker runs no sweep or health pass:
# reap_interval and health_check_interval are 0).  Being active within
# their 30 min timeout, the sweep plans them all and stops nobody; each
# sweep still lists the engine's containers (one GET /containers/json, of
# none).  The case checks at the end that all are still running, that no
# sweep stopped anyone and that no start was queued for them.
# Everything it makes (rows, leases, schedules, the profile, their events)
# goes at the end, by DELETE, as no Docker object exists for them; it sets
# no server setting.  Not in bench/run's default list (about 6 minutes):
# run it as `bench/run bench/cases/idle_rules.sh`, or in a world as
# `bash bench/cases/idle_rules.sh` (it then prints its own table).
source "$(dirname "$0")/../lib.sh"
ROUNDS=${ROUNDS:-7}
SWEEPS=${SWEEPS:-15}
TOUCH_CLIENTS=${TOUCH_CLIENTS:-8 1}
TOUCH_S=${TOUCH_S:-6}
N=1000
STANDALONE=
if [ -z "${BENCH_RESULTS:-}" ]; then
	export BENCH_RESULTS="$BENCH_TMP/results.jsonl"
	STANDALONE=1
fi
log() { echo "idle_rules: $*" >&2; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
HAVE_SCHEDULES=$(bq -c "SELECT to_regclass('container_schedule') IS NOT NULL")

clean_up() {
	[ "$HAVE_SCHEDULES" = t ] && bq -c "DELETE FROM container_schedule WHERE name LIKE 'ir-%'" >/dev/null
	bq -c "DELETE FROM container_lease WHERE user_id LIKE 'ir-%'" \
		-c "DELETE FROM container_start_request WHERE user_id LIKE 'ir-%'" \
		-c "DELETE FROM user_container WHERE user_id LIKE 'ir-%'" \
		-c "DELETE FROM container_event WHERE user_id LIKE 'ir-%'" \
		-c "DELETE FROM container_profile WHERE name = 'ir-warm'" >/dev/null
	rm -rf "$BENCH_TMP"
}
trap clean_up EXIT

log "load at the start: $(load); container_schedule: $HAVE_SCHEDULES"
# The worker's first pass, and the event mirror's list whenever it
# (re)connects, find no container for these rows and mark them stopped:
# wait for the mirror to be in sync before saying they run, and check
# before each round that they still do (running_rows).
for i in $(seq 1 120); do
	[ "$(bq -c "SELECT NOT enabled OR in_sync FROM container_mirror")" = t ] && break
	sleep 0.5
done
sleep 1
RESYNCS=$(bq -c "SELECT resyncs FROM container_mirror")
log "mirror: $(bq -F ' ' -c "SELECT 'enabled', enabled, 'in sync', in_sync, 'resyncs', resyncs FROM container_mirror")"
bq -c "INSERT INTO container_profile (name) VALUES ('ir-warm')" \
	-c "SELECT count(*) FROM generate_series(1, $N) i, LATERAL container_set_idle_timeout('ir-' || i, 30) s" \
	-c "SELECT count(*) FROM generate_series(101, 200) i, LATERAL container_set_profile('ir-' || i, 'ir-warm') s" \
	>/dev/null || { log "could not make the users"; exit 1; }
# running_rows: every user's row says running and recently active; put
# back (and said) if something marked them stopped.
FLIPS=0
running_rows() {
	local n
	n=$(bq -c "SELECT count(*) FROM user_container WHERE user_id LIKE 'ir-%' AND status = 'running'")
	[ "$n" = "$N" ] && return
	[ "$FLIPS" -gt 0 ] && log "only $n of $N users were running (mirror resyncs: $(bq -c "SELECT resyncs FROM container_mirror"), $RESYNCS at the start): put back"
	FLIPS=$((FLIPS + 1))
	bq -c "UPDATE user_container SET status = 'running', last_active_at = now(), started_at = now(), updated_at = now()
	        WHERE user_id LIKE 'ir-%'" -c "VACUUM ANALYZE user_container, container_lease" >/dev/null
}
running_rows
MARK=$(bq -c "SELECT coalesce(max(id), 0) FROM container_event")

# --- the idle sweep ---------------------------------------------------------

STATES=(plain leases)
[ "$HAVE_SCHEDULES" = t ] && STATES+=(profile per_user)

# The SQL that makes STATE from any other (in one transaction).
state_sql() {
	local sched=
	[ "$HAVE_SCHEDULES" = t ] && sched="DELETE FROM container_schedule WHERE name LIKE 'ir-%';"
	echo "$sched PERFORM container_release(id) FROM container_lease WHERE user_id LIKE 'ir-%';"
	[ "$1" = plain ] && return
	echo "PERFORM container_hold('ir-' || i, 'bench', '1 hour') FROM generate_series(1, 100) i;"
	# A window open now: opens 11 h ago, closes 11 h ahead (the next day's
	# time of day when it crosses midnight), every day.
	local w="'{1,2,3,4,5,6,7}', (now() AT TIME ZONE 'UTC' - interval '11 hours')::time,
		(now() AT TIME ZONE 'UTC' + interval '11 hours')::time"
	case $1 in
	profile) echo "INSERT INTO container_schedule (name, profile, days, opens, closes) VALUES ('ir-warm', 'ir-warm', $w);" ;;
	per_user) echo "INSERT INTO container_schedule (name, user_id, days, opens, closes)
		SELECT 'ir-u-' || i, 'ir-' || i, $w FROM generate_series(101, 200) i;" ;;
	esac
}

# sweep_round STATE: one session; prints "first=MS", SWEEPS "steady=MS",
# SWEEPS "explain=MS" and "stopped=N" (users the sweeps stopped), "leases=N"
# (live leases of the users after the first sweep).
sweep_round() {
	bq -c "DO \$\$ DECLARE t timestamptz; n bigint; stopped bigint := 0; BEGIN
		PERFORM count(*) FROM container_reap_idle();
		PERFORM count(*) FROM container_explain('ir-150');
		COMMIT;
		$(state_sql "$1")
		COMMIT;
		t := clock_timestamp();
		SELECT count(*) INTO n FROM container_reap_idle();
		RAISE NOTICE 'first=%', extract(epoch FROM clock_timestamp() - t) * 1000;
		stopped := stopped + n;
		COMMIT;
		RAISE NOTICE 'leases=%', (SELECT count(*) FROM container_lease WHERE user_id LIKE 'ir-%' AND expires_at > now());
		FOR i IN 1..$SWEEPS LOOP
			t := clock_timestamp();
			SELECT count(*) INTO n FROM container_reap_idle();
			RAISE NOTICE 'steady=%', extract(epoch FROM clock_timestamp() - t) * 1000;
			stopped := stopped + n;
			COMMIT;
		END LOOP;
		FOR i IN 1..$SWEEPS LOOP
			t := clock_timestamp();
			PERFORM count(*) FROM container_explain('ir-150');
			RAISE NOTICE 'explain=%', extract(epoch FROM clock_timestamp() - t) * 1000;
			COMMIT;
		END LOOP;
		RAISE NOTICE 'stopped=%', stopped;
	END \$\$" 2>&1 | sed "s/.*NOTICE: *//"
}

declare -A FIRST STEADY EXPLAIN
stopped_total=0
for rep in $(seq 1 "$ROUNDS"); do
	# Rotate the order: each state goes first in turn, against drift.
	n=${#STATES[@]}
	for k in $(seq 0 $((n - 1))); do
		s=${STATES[$(((rep - 1 + k) % n))]}
		running_rows
		# The states rewrite these tables each round: without this, their
		# dead rows grow over the run and slow every later round (the idle
		# plan scans container_schedule once per user).
		vacuum="user_container, container_lease"
		[ "$HAVE_SCHEDULES" = t ] && vacuum+=", container_schedule"
		bq -c "VACUUM $vacuum" >/dev/null
		out=$(sweep_round "$s")
		first=$(sed -n 's/^first=//p' <<<"$out")
		steady=$(sed -n 's/^steady=//p' <<<"$out" | median)
		explain=$(sed -n 's/^explain=//p' <<<"$out" | median)
		stopped=$(sed -n 's/^stopped=//p' <<<"$out")
		leases=$(sed -n 's/^leases=//p' <<<"$out")
		[ -n "$first" ] || { log "round $rep of $s failed: $out"; first=nan; }
		FIRST[$s]+="$first " STEADY[$s]+="$steady " EXPLAIN[$s]+="$explain "
		stopped_total=$((stopped_total + ${stopped:-0}))
		log "sweep round $rep, $s: first $first ms, steady median $steady ms, explain $explain ms; $leases live leases; stopped ${stopped:-?}; load $(load)"
	done
done

# Paired: each round's ratio, so that drift between rounds cancels.
paired() {
	python3 - "$1" "$2" <<'PY'
import statistics, sys
a = [float(x) for x in sys.argv[1].split()]
b = [float(x) for x in sys.argv[2].split()]
r = sorted(x / y for x, y in zip(a, b))
print(f"per-round ratio median {statistics.median(r):.2f} ({r[0]:.2f}-{r[-1]:.2f})")
PY
}
rules_note="the same 1,000 running users without containers, $ROUNDS rounds in rotation, each sample the median of $SWEEPS sweeps in one session"
for s in "${STATES[@]}"; do
	[ "$s" = plain ] && continue
	case $s in
	leases) what="100 leases (container_hold)" target="(for comparison)" ratio=- ;;
	profile) what="100 leases and a profile's window keeping 100 users warm" target="at most 1.5x the baseline" ratio=1.5 ;;
	per_user) what="100 leases and 100 per-user windows" target="at most 1.5x the baseline" ratio=1.5 ;;
	esac
	record "idle sweep over 1,000 users: $what, steady state" "container_reap_idle() wall time" ms "$target" "$ratio" \
		"the same sweep with no lease and no window" "${STEADY[plain]}" "${STEADY[$s]}" \
		"$rules_note; $(paired "${STEADY[$s]}" "${STEADY[plain]}")"
	[ "$s" = leases ] && continue
	record "the same, the first sweep after the windows are made (takes their 100 leases)" "container_reap_idle() wall time" ms \
		"(for comparison)" - "the steady sweep with no lease and no window" "${STEADY[plain]}" "${FIRST[$s]}" \
		"one per round; $(paired "${FIRST[$s]}" "${STEADY[plain]}")"
done
record "the same, the first sweep after leases and windows are ended (plain state)" "container_reap_idle() wall time" ms \
	"(for comparison)" - "the steady sweep with no lease and no window" "${STEADY[plain]}" "${FIRST[plain]}"
for s in "${STATES[@]}"; do
	[ "$s" = plain ] && continue
	record "container_explain of a user ($s state)" "wall time" ms "(for comparison)" - \
		"the same with no lease and no window" "${EXPLAIN[plain]}" "${EXPLAIN[$s]}" \
		"ir-150 (in the windows of the schedule states); median of $SWEEPS calls a round; $(paired "${EXPLAIN[$s]}" "${EXPLAIN[plain]}")"
done

# --- touch with a source against today's touch --------------------------------

cat >"$BENCH_TMP/touch1.sql" <<SQL
\set u random(1, $N)
SELECT container_touch('ir-' || :u);
SQL
cat >"$BENCH_TMP/touch2.sql" <<SQL
\set u random(1, $N)
SELECT container_touch('ir-' || :u, 'message');
SQL

# touch_run CLIENTS SCRIPT: "TPS P99_MS" of one pgbench run of TOUCH_S seconds.
touch_run() {
	local dir tps
	dir=$(mktemp -d -p "$BENCH_TMP")
	(cd "$dir" && $PGBENCH -n -M prepared -c "$1" -j "$(( $1 < 2 ? $1 : 2 ))" -T "$TOUCH_S" \
		-l --log-prefix=tx -f "$2" pgc_test >pgbench.out 2>&1) || { cat "$dir/pgbench.out" >&2; echo "nan nan"; return; }
	tps=$(awk '/^tps = / {printf "%.1f", $3}' "$dir/pgbench.out")
	echo "$tps $(cat "$dir"/tx.* | awk '{print $3 / 1000}' | python3 -c '
import sys
v = sorted(float(x) for x in sys.stdin.read().split())
print(f"{v[min(len(v) - 1, int(0.99 * len(v)))]:.3f}")')"
	rm -rf "$dir"
}

# The target is on the cost: today's tps over the source's (record takes
# samples over a baseline, so the samples are 1000 / tps, the ms of one
# transaction of the whole run).
inv() { python3 -c "import sys; print(' '.join(f'{1000 / float(x):.4f}' for x in sys.argv[1:]))" "$@"; }
for clients in $TOUCH_CLIENTS; do
	t1_tps=() t1_p99=() t2_tps=() t2_p99=()
	for rep in $(seq 1 "$ROUNDS"); do
		one() { running_rows; bq -c "VACUUM user_container" >/dev/null; read -r a b < <(touch_run "$clients" "$BENCH_TMP/touch1.sql"); t1_tps+=("$a") t1_p99+=("$b"); }
		two() { running_rows; bq -c "VACUUM user_container" >/dev/null; read -r a b < <(touch_run "$clients" "$BENCH_TMP/touch2.sql"); t2_tps+=("$a") t2_p99+=("$b"); }
		if [ $((rep % 2)) = 1 ]; then one; two; else two; one; fi
		log "touch, $clients clients, round $rep: container_touch(u) ${t1_tps[-1]} tps, p99 ${t1_p99[-1]} ms; container_touch(u, 'message') ${t2_tps[-1]} tps, p99 ${t2_p99[-1]} ms; load $(load)"
	done
	touch_note="pgbench -M prepared, $clients clients over $N users, $TOUCH_S s a run, $ROUNDS rounds, each form first in turn"
	record "touch with a source, $clients clients over $N users: time per transaction (1000/tps)" "1000 / tps" ms \
		"at most 1.1x the baseline" 1.1 "container_touch(user_id), today's" "$(inv "${t1_tps[@]}")" "$(inv "${t2_tps[@]}")" \
		"$touch_note; tps: $(echo "${t2_tps[*]}" | median) with the source against $(echo "${t1_tps[*]}" | median); $(paired "$(inv "${t2_tps[@]}")" "$(inv "${t1_tps[@]}")")"
	record "the same, $clients clients: p99 latency" "p99 latency (pgbench -l)" ms "at most 1.1x the baseline" 1.1 \
		"container_touch(user_id), today's" "${t1_p99[*]}" "${t2_p99[*]}" "$touch_note; $(paired "${t2_p99[*]}" "${t1_p99[*]}")"
done

# --- checks -------------------------------------------------------------------

running=$(bq -c "SELECT count(*) FROM user_container WHERE user_id LIKE 'ir-%' AND status = 'running'")
queued=$(bq -c "SELECT count(*) FROM container_start_request WHERE user_id LIKE 'ir-%'" 2>/dev/null || echo '?')
events=$(bq -c "SELECT string_agg(event || ' ' || n, ', ') FROM (SELECT event, count(*) n FROM container_event
	WHERE id > $MARK AND user_id LIKE 'ir-%' GROUP BY event ORDER BY event) e")
log "at the end: $running of $N users running; stopped by the sweeps: $stopped_total; start requests: $queued; rows put back to running after the first time: $((FLIPS - 1)); mirror resyncs $(bq -c "SELECT resyncs FROM container_mirror") ($RESYNCS at the start); events: $events"
log "load at the end: $(cat /proc/loadavg)"
[ -n "$STANDALONE" ] && python3 "$PGC_ROOT/bench/report.py" "$BENCH_RESULTS"
exit 0
