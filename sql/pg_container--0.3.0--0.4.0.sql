-- pg_container 0.3.0 -> 0.4.0
--
-- Each change below is its own commented block.

\echo Use "ALTER EXTENSION pg_container UPDATE TO '0.4.0'" to load this file. \quit

-- ---------------------------------------------------------------------
-- Docker Swarm (pg_container.engine = 'swarm'): the node a user's service
-- was pinned to when its first task landed.  A `local` named volume exists
-- only there, so this is where the user's state is; NULL on the docker
-- engine, and until a swarm user first starts.  Swarm node ids are 25
-- lower-case letters and digits.
ALTER TABLE @extschema@.user_container
    ADD COLUMN node text
        CONSTRAINT user_container_node_check
        CHECK (node OPERATOR(pg_catalog.~) '^[a-z0-9]{25}$');
COMMENT ON COLUMN @extschema@.user_container.node IS
    'engine = swarm: the node the user''s service is pinned to, where their volume is';
-- (end of the swarm block)
