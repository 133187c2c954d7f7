/* pg_container 0.3.0 -> 0.4.0 */

\echo Use "ALTER EXTENSION pg_container UPDATE TO '0.4.0'" to load this file. \quit

-- ==== BEGIN issue 16: live state from Docker's event stream ====
-- (one block: the pause-tier part of this script is separate)

-- Like container_ensure_running, but always asks Docker: for a caller that
-- just failed to reach a gateway the table said was up.
CREATE FUNCTION @extschema@.container_ensure_running_checked(user_id text, OUT url text, OUT token text)
RETURNS record
AS 'MODULE_PATHNAME', 'container_ensure_running_checked'
LANGUAGE C VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION @extschema@.container_ensure_running_checked(text) IS
    'container_ensure_running that always inspects the container, whatever the event mirror says.';

REVOKE ALL ON FUNCTION @extschema@.container_ensure_running_checked(text) FROM PUBLIC;

-- Whoever may ensure may also ensure checked.
DO $$
DECLARE
    item record;
BEGIN
    FOR item IN
        SELECT a.grantee, a.is_grantable
          FROM pg_catalog.pg_proc p,
               LATERAL pg_catalog.aclexplode(p.proacl) a
         WHERE p.oid OPERATOR(pg_catalog.=) pg_catalog.to_regprocedure(
                   pg_catalog.format('%I.container_ensure_running(text)', pg_catalog.current_schema()))
           AND a.privilege_type OPERATOR(pg_catalog.=) 'EXECUTE'
           AND a.grantee OPERATOR(pg_catalog.<>) 0::pg_catalog.oid
           AND a.grantee OPERATOR(pg_catalog.<>) p.proowner
    LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %I.container_ensure_running_checked(text) TO %s%s',
                                  pg_catalog.current_schema(),
                                  pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(item.grantee)),
                                  CASE WHEN item.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
END
$$;

CREATE FUNCTION @extschema@.container_mirror_status(
    OUT enabled boolean, OUT in_sync boolean, OUT in_sync_since timestamptz,
    OUT events_read bigint, OUT resyncs bigint, OUT corrections bigint,
    OUT last_resync_at timestamptz)
RETURNS record
AS 'MODULE_PATHNAME', 'container_mirror_status'
LANGUAGE C VOLATILE;

-- The worker's mirror of Docker's state, since the server started:
-- corrections counts rows the periodic full list had to fix while the
-- event stream was in sync (events it missed), and should stay 0.
CREATE VIEW @extschema@.container_mirror AS
SELECT * FROM @extschema@.container_mirror_status();

COMMENT ON VIEW @extschema@.container_mirror IS
    'Whether user_container is kept in sync from Docker''s event stream, since when, and how often the periodic list had to correct it.';

REVOKE ALL ON FUNCTION @extschema@.container_mirror_status() FROM PUBLIC;
REVOKE ALL ON @extschema@.container_mirror FROM PUBLIC;

-- ==== END issue 16 ====
