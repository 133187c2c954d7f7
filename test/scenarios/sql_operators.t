#!/usr/bin/env bash
# Every operator in every install and upgrade script is bound to
# pg_catalog (issue 10): test/check_sql_operators.py finds none that is
# not, and it does find each kind that 0.2.0's scripts had.
source "$(dirname "$0")/../lib/tap.sh"
plan 5

root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(python3 "$root/test/check_sql_operators.py" "$root"/sql/pg_container--*.sql 2>&1)
status=$?
is "$status:$out" "0:" "no script has an operator that is not OPERATOR(pg_catalog.x)"

# The checker itself: each construct 0.2.0 had is found.
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cat >"$T/bad.sql" <<'SQL'
CREATE TABLE t (cpus real CHECK (cpus >= 0 AND cpus <= 1024),
                port integer CHECK (port BETWEEN 1 AND 65535),
                status text CHECK (status IN ('a', 'b')));
DO $$ BEGIN IF 'x' IS DISTINCT FROM 'y' THEN n := n + 1; END IF; END $$;
SQL
found=$(python3 "$root/test/check_sql_operators.py" "$T/bad.sql" | grep -Eo 'unqualified [^:]+' | sort | tr '\n' ',')
is "$found" "unqualified BETWEEN,unqualified IN (...),unqualified IS DISTINCT FROM,unqualified operator +,unqualified operator <=,unqualified operator >=," \
	"the checker finds comparison operators, BETWEEN, IN lists, IS DISTINCT FROM and arithmetic"
cat >"$T/good.sql" <<'SQL'
CREATE TABLE t (cpus real CHECK (cpus OPERATOR(pg_catalog.>=) 0::pg_catalog.float4),
                note text DEFAULT 'a >= b, x IN (y)');
UPDATE t SET note = 'x' WHERE cpus OPERATOR(pg_catalog.<>) -1;
SELECT * FROM t;
SQL
is "$(python3 "$root/test/check_sql_operators.py" "$T/good.sql"; echo "rc=$?")" "rc=0" \
	"... and passes qualified operators, string contents, assignments and SELECT *"
# @extschema@ inside a DO body is text substituted into code (CVE-2023-39417);
# outside one, and in a comment, it is fine.
cat >"$T/do.sql" <<'SQL'
CREATE FUNCTION @extschema@.f() RETURNS int LANGUAGE sql AS 'SELECT 1';
DO $$
BEGIN
    -- not @extschema@ here
    PERFORM pg_catalog.count(*) FROM @extschema@.t;
END
$$;
DO $body$ BEGIN EXECUTE pg_catalog.format('SELECT 1 FROM %I.t', pg_catalog.current_schema()); END $body$;
SQL
is "$(python3 "$root/test/check_sql_operators.py" "$T/do.sql" | sed 's/.*do.sql://')" \
	"5: @extschema@ in a DO body: PERFORM pg_catalog.count(*) FROM @extschema@.t;" \
	"the checker finds @extschema@ inside a DO body, and only there"
git_old=$(git -C "$root" show 07a00ed:sql/pg_container--0.4.0--0.5.0.sql 2>/dev/null)
if [ -n "$git_old" ]; then
	printf '%s\n' "$git_old" >"$T/old.sql"
	like "$(python3 "$root/test/check_sql_operators.py" "$T/old.sql")" '@extschema@ in a DO body' \
		"... as in the 0.4.0 to 0.5.0 script as 0.5.0 released it"
else
	echo "ok 5 # SKIP no git history to read the released script from"
fi
tap_exit
