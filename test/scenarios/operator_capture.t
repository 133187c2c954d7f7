#!/usr/bin/env bash
# Issue 10's privilege escalation, as it was reproduced on 0.2.0: a
# database owner who is not a superuser plants public.>=(real, integer);
# a superuser installs pg_container and writes a profile; on 0.2.0 the
# planted function ran as that superuser.  Here it must not run, neither
# on a fresh install nor after updating a 0.2.0 whose CHECK was captured.
source "$(dirname "$0")/../lib/tap.sh"
plan 7

cleanup() {
	TEST_DB=postgres q -c "DROP DATABASE IF EXISTS pgc_capture" -c "DROP DATABASE IF EXISTS pgc_capture_update" \
		-c "DROP ROLE IF EXISTS pgc_dbowner" >/dev/null 2>&1
}
cleanup
trap cleanup EXIT
TEST_DB=postgres q -c "CREATE ROLE pgc_dbowner LOGIN NOSUPERUSER" \
	-c "CREATE DATABASE pgc_capture OWNER pgc_dbowner" -c "CREATE DATABASE pgc_capture_update OWNER pgc_dbowner"

# What the database owner plants: it makes itself superuser when run.
plant() {
	psql -X -q -v ON_ERROR_STOP=1 -U pgc_dbowner -d "$1" <<'SQL'
CREATE FUNCTION public.evil(real, integer) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE 'ALTER ROLE pgc_dbowner SUPERUSER';
    RETURN true;
END $$;
CREATE OPERATOR public.>= (LEFTARG = real, RIGHTARG = integer, FUNCTION = public.evil);
CREATE OPERATOR public.<= (LEFTARG = real, RIGHTARG = integer, FUNCTION = public.evil);
SQL
}
is_superuser() { TEST_DB=postgres q -c "SELECT rolsuper FROM pg_roles WHERE rolname = 'pgc_dbowner'"; }

# Operators, functions and types that objects of the extension (its
# constraints, defaults, views, triggers and functions) are bound to,
# outside pg_catalog and the extension itself.
foreign_bindings() {
	TEST_DB=$1 q <<'SQL'
WITH ext AS (
    SELECT d.classid, d.objid FROM pg_depend d
      JOIN pg_extension e ON d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid
     WHERE e.extname = 'pg_container' AND d.deptype = 'e'
), tables AS (
    SELECT objid AS relid FROM ext WHERE classid = 'pg_class'::regclass
), parts AS (
    SELECT 'pg_constraint'::regclass AS classid, oid AS objid FROM pg_constraint WHERE conrelid IN (SELECT relid FROM tables)
    UNION ALL SELECT 'pg_attrdef'::regclass, oid FROM pg_attrdef WHERE adrelid IN (SELECT relid FROM tables)
    UNION ALL SELECT 'pg_rewrite'::regclass, oid FROM pg_rewrite WHERE ev_class IN (SELECT relid FROM tables)
    UNION ALL SELECT 'pg_trigger'::regclass, oid FROM pg_trigger WHERE tgrelid IN (SELECT relid FROM tables)
    UNION ALL SELECT classid, objid FROM ext
)
SELECT string_agg(DISTINCT pg_describe_object(d.refclassid, d.refobjid, 0), ', ')
  FROM parts p
  JOIN pg_depend d ON d.classid = p.classid AND d.objid = p.objid
 WHERE (d.refclassid = 'pg_operator'::regclass
        AND (SELECT oprnamespace FROM pg_operator WHERE oid = d.refobjid) <> 'pg_catalog'::regnamespace)
    OR (d.refclassid = 'pg_proc'::regclass
        AND (SELECT pronamespace FROM pg_proc WHERE oid = d.refobjid) <> 'pg_catalog'::regnamespace
        AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_proc'::regclass AND ext.objid = d.refobjid))
SQL
}

# A fresh install with the operator planted.
plant pgc_capture
TEST_DB=pgc_capture q -c "SET client_min_messages = error" -c "CREATE EXTENSION pg_container" \
	-c "INSERT INTO container_profile (name, cpus) VALUES ('pro', 2)" \
	-c "UPDATE container_profile SET cpus = 3 WHERE name = 'pro'"
is "$(is_superuser)" "f" "a fresh install does not run the database owner's planted >=(real, integer)"
is "$(foreign_bindings pgc_capture)" "" "... and nothing of the extension is bound to an operator or function outside pg_catalog"
is "$(TEST_DB=pgc_capture q -c "SELECT cpus FROM container_profile WHERE name = 'pro'")" "3" "... while the CHECK still works"
bad=$(TEST_DB=pgc_capture q -c "INSERT INTO container_profile (name, cpus) VALUES ('neg', -1)" 2>&1)
like "$bad" "container_profile_cpus_check" "... and refuses a negative cpus"

# A 0.2.0 install whose CHECK was captured, as 0.2.0's script left it when
# the operator was planted first; ALTER EXTENSION UPDATE repairs it.
plant pgc_capture_update
TEST_DB=pgc_capture_update q -c "SET client_min_messages = error" -c "CREATE EXTENSION pg_container VERSION '0.2.0'" \
	-c "SET search_path = public" \
	-c "ALTER TABLE container_profile DROP CONSTRAINT container_profile_cpus_check,
	    ADD CONSTRAINT container_profile_cpus_check CHECK (cpus >= 0 AND cpus <= 1024)"
like "$(foreign_bindings pgc_capture_update)" "operator >=\(real,integer\)" "the simulated 0.2.0 install has its CHECK bound to the planted operator"
TEST_DB=pgc_capture_update q -c "SET client_min_messages = error" -c "ALTER EXTENSION pg_container UPDATE TO '0.3.0'" \
	-c "INSERT INTO container_profile (name, cpus) VALUES ('pro', 2)"
is "$(is_superuser)" "f" "after ALTER EXTENSION UPDATE the planted operator no longer runs"
is "$(foreign_bindings pgc_capture_update)" "" "... and nothing is bound outside pg_catalog any more"
tap_exit
