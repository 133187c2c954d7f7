#!/usr/bin/env bash
# touch, pgbench with 8 clients over 1,000 users, against an UPDATE of a
# plain table with the same columns, indexes and fillfactor and no extension.
# Both sides run prepared (-M prepared): the function's UPDATE runs from a
# cached plan, so the baseline's must too.
source "$(dirname "$0")/../lib.sh"
REPS=7

# Rows without containers: touch never looks at Docker.
bq -c "SELECT count(*) FROM generate_series(1, 1000) i, LATERAL container_set_idle_timeout('t-' || i, 30) s" >/dev/null
bq -c "DROP TABLE IF EXISTS bench_plain_touch" \
   -c "CREATE TABLE bench_plain_touch (LIKE user_container INCLUDING ALL) WITH (fillfactor = 70)" \
   -c "INSERT INTO bench_plain_touch SELECT * FROM user_container WHERE user_id LIKE 't-%'" \
   -c "VACUUM ANALYZE bench_plain_touch, user_container"

cat >"$BENCH_TMP/touch.sql" <<'SQL'
\set u random(1, 1000)
SELECT container_touch('t-' || :u);
SQL
cat >"$BENCH_TMP/plain_touch.sql" <<'SQL'
\set u random(1, 1000)
UPDATE bench_plain_touch SET last_active_at = now(), updated_at = now() WHERE user_id = 't-' || :u;
SQL

ours=() base=()
for rep in $(seq 1 "$REPS"); do
	base+=($(pgbench_tps 8 8 "$BENCH_TMP/plain_touch.sql" -M prepared))
	ours+=($(pgbench_tps 8 8 "$BENCH_TMP/touch.sql" -M prepared))
	echo "touch rep $rep: ours ${ours[-1]} tps; plain UPDATE ${base[-1]} tps" >&2
done
record "touch, 8 clients over 1,000 users" "throughput" tps "at least 0.9x the baseline" ">=0.9" \
	"UPDATE of a plain table, same columns, no extension" "${base[*]}" "${ours[*]}" \
	"both sides with pgbench -M prepared"
bq -c "DROP TABLE bench_plain_touch"
