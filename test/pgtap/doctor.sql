-- container_doctor() against the real dockerd: nothing on a clean
-- install; a container started by hand in a user's place without the
-- hardening, one whose labels name another user, an orphan, a rowless
-- volume and a key file others may read are each found, with the check
-- and the user they concern; the doctor changes nothing.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(21);

-- What an earlier, interrupted run may have left.
SELECT test_helpers.docker('rm -f mosaic-user-dr-orphan') \g /dev/null
SELECT test_helpers.docker('volume rm mosaic-user-dr-clean-state') \g /dev/null
SELECT container_remove(user_id, false) FROM user_container WHERE user_id LIKE 'dr-%' \g /dev/null
SELECT container_process_removals() \g /dev/null

-- The findings about this test's users, and those of the installation.
CREATE FUNCTION pg_temp.findings() RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(coalesce(user_id, '-') || ':' || "check", ' ' ORDER BY user_id NULLS FIRST, "check")
      FROM container_doctor() WHERE user_id LIKE 'dr-%' OR user_id IS NULL $$;
CREATE FUNCTION pg_temp.detail(u text, c text) RETURNS text LANGUAGE sql AS $$
    SELECT detail FROM container_doctor() WHERE user_id = u AND "check" = c $$;

SELECT container_ensure_running('dr-clean') \g /dev/null
SELECT container_ensure_running('dr-hand') \g /dev/null
SELECT container_ensure_running('dr-foreign') \g /dev/null
SELECT is(pg_temp.findings(), NULL, 'a clean install: nothing about its users or the installation');
SELECT is((SELECT count(*) FROM container_doctor() WHERE severity NOT IN ('error', 'warning', 'info')), 0::bigint,
          'every finding has one of three severities');

SELECT test_helpers.inspect('mosaic-user-dr-clean', '{{index .Config.Labels "pg_container.installation"}}') AS installation \gset

-- By hand, in dr-hand's place, with its labels and none of the hardening.
SELECT test_helpers.docker('rm -f mosaic-user-dr-hand') \g /dev/null
SELECT test_helpers.docker('run -d --name mosaic-user-dr-hand --label pg_container.managed=true'
                           ' --label pg_container.user_id=dr-hand --label pg_container.installation=' || :'installation' ||
                           ' --cap-add NET_ADMIN pgc-sleeper:test') \g /dev/null
-- In dr-foreign's place, labelled for another user.
SELECT test_helpers.docker('rm -f mosaic-user-dr-foreign') \g /dev/null
SELECT test_helpers.docker('run -d --name mosaic-user-dr-foreign --label pg_container.managed=true'
                           ' --label pg_container.user_id=someone-else --label pg_container.installation=' || :'installation' ||
                           ' pgc-sleeper:test') \g /dev/null
-- An orphan: this installation's labels, no row.
SELECT test_helpers.docker('run -d --name mosaic-user-dr-orphan --label pg_container.managed=true'
                           ' --label pg_container.user_id=dr-orphan --label pg_container.installation=' || :'installation' ||
                           ' pgc-sleeper:test') \g /dev/null

SELECT is(pg_temp.findings(), 'dr-foreign:labels dr-hand:hardening dr-orphan:orphan',
          'the doctor finds the hand-made container, the foreign label and the orphan, and nothing else');
SELECT is((SELECT severity FROM container_doctor() WHERE user_id = 'dr-hand'), 'error', 'missing hardening is an error');
SELECT matches(pg_temp.detail('dr-hand', 'hardening'), 'CapDrop lacks ALL', '... the capabilities not dropped');
SELECT matches(pg_temp.detail('dr-hand', 'hardening'), 'adds capabilities \((CAP_)?NET_ADMIN\)', '... one added');
SELECT matches(pg_temp.detail('dr-hand', 'hardening'), 'no-new-privileges is not set', '... no-new-privileges');
SELECT matches(pg_temp.detail('dr-hand', 'hardening'), 'without an init process', '... no init');
SELECT matches(pg_temp.detail('dr-hand', 'hardening'), 'volume mosaic-user-dr-hand-state is not mounted at ', '... the volume not mounted');
SELECT matches(pg_temp.detail('dr-hand', 'hardening'), 'its process limit is none, the spec says 512', '... the limits');
SELECT matches(pg_temp.detail('dr-foreign', 'labels'), 'name user "someone-else"', 'the foreign label names whose it is');
SELECT is((SELECT hint FROM container_doctor() WHERE user_id = 'dr-hand') IS NOT NULL
          AND (SELECT hint FROM container_doctor() WHERE user_id = 'dr-foreign') IS NOT NULL, true, 'each finding says what to do');
SELECT is(test_helpers.state_of('mosaic-user-dr-hand') || ' ' || test_helpers.state_of('mosaic-user-dr-orphan'),
          'running running', 'the doctor changes nothing');

-- A key file its group may read.
SELECT test_helpers.sh('chmod 0640 ' || current_setting('pg_container.encryption_key_file')) \g /dev/null
SELECT is((SELECT detail FROM container_doctor() WHERE "check" = 'key file'),
          'pg_container.encryption_key_file "' || current_setting('pg_container.encryption_key_file') ||
          '" has mode 0640: its group or other users may read it.', 'a key file its group may read is found');
SELECT test_helpers.sh('chmod 0600 ' || current_setting('pg_container.encryption_key_file')) \g /dev/null

-- Made right again: the hand-made containers go, the users' own come back.
SELECT test_helpers.docker('rm -f mosaic-user-dr-hand mosaic-user-dr-foreign mosaic-user-dr-orphan') \g /dev/null
SELECT container_ensure_running('dr-hand') \g /dev/null
SELECT container_ensure_running('dr-foreign') \g /dev/null
SELECT is(pg_temp.findings(), NULL, 'fixed as the hints say, nothing is found');

-- A user removed with their volume kept: the volume is reported, as info.
SELECT container_remove('dr-clean') \g /dev/null
SELECT container_process_removals() \g /dev/null
SELECT is((SELECT string_agg(severity || ' ' || "check", ', ' ORDER BY "check") FROM container_doctor() WHERE user_id = 'dr-clean'),
          'info volume', 'a user removed with the volume kept: the volume is reported, as info');

-- The engine's clock and API, as the fault engine tells them (the rest
-- passes through to dockerd).  This session then watches another engine
-- than the worker's mirror does, which the doctor may report too.
SELECT test_helpers.use_fault_engine() \g /dev/null
SELECT test_helpers.fault_rules('[{"method": "GET", "path": "/info$", "action": "respond",
                                   "body": "{\"SystemTime\": \"2000-01-01T00:00:00.123456789Z\"}"}]') \g /dev/null
SELECT is((SELECT string_agg(severity || ' ' || "check", ', ') FROM container_doctor() WHERE "check" IN ('clock', 'engine')),
          'warning clock', 'an engine clock far from the database''s is found');
SELECT matches((SELECT detail FROM container_doctor() WHERE "check" = 'clock'), 'is [0-9]+ s behind the database server''s',
               '... saying by how much and which way');
SELECT test_helpers.fault_reset() \g /dev/null
SELECT test_helpers.fault_rules('[{"method": "GET", "path": "/version$", "action": "respond",
                                   "body": "{\"ApiVersion\": \"1.30\", \"Version\": \"17.06.0\"}"}]') \g /dev/null
SELECT is((SELECT detail FROM container_doctor() WHERE "check" = 'engine'),
          'The engine (Docker 17.06.0) serves API 1.30; pg_container needs 1.41 or later.',
          'an engine older than the oldest API pg_container speaks is found');
SELECT test_helpers.use_dockerd() \g /dev/null

-- An API version the engine does not serve: the engine is the finding,
-- and the checks that need it are skipped instead of failing the call.
SET pg_container.docker_api_version = '1.99';
SELECT is(pg_temp.findings(), '-:engine', 'an engine that refuses the API version is reported');
SELECT matches((SELECT hint FROM container_doctor()), 'pg_container.docker_api_version', '... with the setting to look at');
RESET pg_container.docker_api_version;

SELECT container_remove(user_id, false) FROM user_container WHERE user_id LIKE 'dr-%' \g /dev/null
SELECT container_process_removals() \g /dev/null
SELECT test_helpers.docker('volume rm mosaic-user-dr-clean-state') \g /dev/null
SELECT * FROM finish();
