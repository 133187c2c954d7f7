-- Errors as PostgreSQL expects them: bounded retries, messages that say
-- what was met, and the recreate path of container_restart keeping the
-- original error (SQLSTATE, detail, hint), a cancel staying a cancel, and
-- nothing named <name>-previous left behind.  The fault engine makes Docker
-- misbehave on demand.
\set ON_ERROR_STOP 1
SET client_min_messages = error;
SELECT plan(4);

-- SQLSTATE, message, detail and hint of a statement's error, " | " between.
CREATE FUNCTION pg_temp.full_error_of(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    state text;
    message text;
    detail text;
    hint text;
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN OTHERS OR query_canceled THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    RETURN state || ': ' || message || ' | ' || coalesce(detail, '') || ' | ' || coalesce(hint, '');
END
$$;

-- An engine that answers every network create with 409 and never shows the
-- network: the create is tried a bounded number of times, then an error.
SELECT test_helpers.use_fault_engine() \g /dev/null
SELECT test_helpers.fault_rules('[{"method": "POST", "path": "/networks/create", "action": "respond", "status": 409, "message": "network with name mosaic-user-ep-409-net already exists"}]');
SET statement_timeout = '20s';
SELECT matches(pg_temp.full_error_of($$SELECT container_ensure_running('ep-409')$$),
               '^58000: could not create network "mosaic-user-ep-409-net": the engine answered HTTP 409 to each of 3 attempts \| The engine said "network with name mosaic-user-ep-409-net already exists", yet showed no network of that name\.',
               'a network create that meets 409 for ever ends in an error');
SELECT is(test_helpers.fault_count('^POST .*/networks/create'), 3, '... after 3 creates');
RESET statement_timeout;

-- Every subnet taken: the error says subnets, not host ports.
SELECT test_helpers.use_fault_engine() \g /dev/null
SELECT test_helpers.fault_rules('[{"method": "POST", "path": "/networks/create", "action": "respond", "status": 403, "message": "Pool overlaps with other one on this address space"}]');
SELECT matches(pg_temp.full_error_of($$SELECT container_ensure_running('ep-subnet')$$),
               '^58000: could not start container "mosaic-user-ep-subnet" after 16 attempts \| Of 16 attempts, 16 met a subnet of pg_container.network_pool held by another network, 0 a host port taken outside pg_container, 0 a container that vanished\. \| Check which networks hold subnets',
               'an ensure whose every subnet is taken says so, not "a taken host port"');
SELECT is(test_helpers.fault_count('^POST .*/containers/create'), 0, '... and created no container');
SELECT test_helpers.use_dockerd() \g /dev/null

SELECT * FROM finish();
