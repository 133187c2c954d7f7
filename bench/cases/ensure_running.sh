#!/usr/bin/env bash
# ensure on a running container, pgbench with 1 and 8 clients over 50 users,
# against the physical minimum measured beside it: one inspect of the same
# container over a kept-alive connection to the same socket, plus a one-row
# UPDATE of a plain table through pgbench (its commit included).
source "$(dirname "$0")/../lib.sh"
REPS=7
V=/v$(api_version)

make_users sc- 50 pgc-sleeper:test
bq -c "DROP TABLE IF EXISTS bench_plain" \
   -c "CREATE TABLE bench_plain (LIKE user_container INCLUDING ALL) WITH (fillfactor = 70)" \
   -c "INSERT INTO bench_plain SELECT * FROM user_container WHERE user_id LIKE 'sc-%'"
cid=$(bq -c "SELECT container_id FROM user_container WHERE user_id = 'sc-1'")

cat >"$BENCH_TMP/ensure.sql" <<'SQL'
\set u random(1, 50)
SELECT * FROM container_ensure_running('sc-' || :u);
SQL
cat >"$BENCH_TMP/plain_update.sql" <<'SQL'
\set u random(1, 50)
UPDATE bench_plain SET last_active_at = now(), updated_at = now() WHERE user_id = 'sc-' || :u;
SQL

for clients in 1 8; do
	ours=() base=()
	for rep in $(seq 1 "$REPS"); do
		ours+=($(pgbench_latency_ms "$clients" 5 "$BENCH_TMP/ensure.sql"))
		inspect=$(curl_latency_ms "$clients" 400 "$V/containers/$cid/json")
		update=$(pgbench_latency_ms "$clients" 5 "$BENCH_TMP/plain_update.sql")
		base+=($(python3 -c "print($inspect + $update)"))
		echo "ensure $clients clients rep $rep: ours ${ours[-1]} ms; inspect $inspect ms + UPDATE $update ms" >&2
	done
	record "ensure on a running container, $clients client(s) over 50 users" "median latency" ms "at most 1.5x the baseline" 1.5 \
		"one kept-alive inspect + one plain UPDATE through pgbench" "${base[*]}" "${ours[*]}" \
		"The baseline's two halves are measured one after the other; ensure runs both loads at once on 2 cores (dockerd, the backends, pgbench). What ensure adds: the SQL function call (SECURITY DEFINER, pinned search_path), decrypting the token, and reading the inspect answer."
done
bq -c "DROP TABLE bench_plain"
