-- Gateway tokens: made by OpenSSL, encrypted at rest under the key file,
-- and a clear error with a hint when no usable key is configured.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(21);

SELECT token AS tk_token FROM container_ensure_running('tk-user') \gset
SELECT gateway_token AS tk_stored FROM user_container WHERE user_id = 'tk-user' \gset
SELECT work_dir FROM test_helpers.config \gset
SELECT current_setting('pg_container.encryption_key_file') AS good_key \gset

SELECT matches(:'tk_token'::text, '^[0-9a-f]{64}$', 'a token is 64 hex characters');
SELECT isnt(:'tk_stored'::text, :'tk_token'::text, 'the stored value is not the token');
SELECT ok(strpos(:'tk_stored', :'tk_token') = 0, '... and does not contain it');
-- The exact layout: pgc1$, the key id, $, then 12 bytes of IV, the 64
-- bytes of the token's ciphertext and 16 of tag.
SELECT matches(:'tk_stored'::text, '^pgc1\$[0-9a-f]{8}\$[0-9a-f]{184}$',
               '... but pgc1$<key id>$<IV, ciphertext and tag>, of exactly their lengths');
SELECT is(split_part(:'tk_stored', '$', 2), encode(substr(sha256(decode(trim(E' \n' FROM pg_read_file(:'good_key')), 'hex')), 1, 4), 'hex'),
          '... whose key id is the first 4 bytes of SHA-256 over the key');
-- Opened outside pg_container, with OpenSSL: it is AES-256-GCM under the
-- key file, with the user id authenticated.
SELECT is(test_helpers.gcm_open(:'good_key', 'tk-user', :'tk_stored'), :'tk_token'::text,
          '... which AES-256-GCM under the key file, with the user id as additional data, opens to the token');
SELECT is(test_helpers.gcm_open(:'good_key', 'tk-other', :'tk_stored'), 'error: AES-256-GCM authentication failed',
          '... and which fails authentication under another user id');
SELECT isnt((SELECT token FROM container_ensure_running('tk-other')), :'tk_token'::text, 'every user gets a token of its own');

-- A ciphertext moved onto another user's row does not decrypt: the user id
-- is authenticated with it.
SELECT gateway_token AS other_stored FROM user_container WHERE user_id = 'tk-other' \gset
UPDATE user_container SET gateway_token = :'tk_stored' WHERE user_id = 'tk-other';
SELECT throws_ok($$SELECT container_ensure_running('tk-other')$$, '22000',
                 'gateway token of user "tk-other" failed authentication',
                 'a token copied from another row fails authentication');
UPDATE user_container SET gateway_token = :'other_stored' WHERE user_id = 'tk-other';

-- No usable key: a clear error and a hint, before the table or Docker.
ALTER SYSTEM SET pg_container.encryption_key_file = '';
SELECT test_helpers.reload() \g /dev/null
SELECT throws_ok($$SELECT container_ensure_running('tk-user')$$, 'F0000',
                 'pg_container.encryption_key_file is not set',
                 'without a key file, ensure fails with F0000');
SELECT test_helpers.sh(format('psql -X -qAt -h %s -p %s -d pgc_test -c "SELECT container_ensure_running(''tk-user'')"',
                          :'work_dir', current_setting('port'))) AS hint_text \gset
SELECT matches(:'hint_text'::text, 'HINT:  Write a key of 64 hexadecimal characters',
               '... with a hint on how to make one');
SELECT lives_ok($$SELECT container_touch('tk-user'); SELECT * FROM container_status('tk-user')$$,
                'touch and status need no key');

ALTER SYSTEM SET pg_container.encryption_key_file = '/nonexistent/pgc.key';
SELECT test_helpers.reload() \g /dev/null
SELECT throws_ok($$SELECT container_ensure_running('tk-user')$$, 'F0000',
                 'could not read encryption key file "/nonexistent/pgc.key": No such file or directory',
                 'a missing key file is F0000 and names the file');

-- A key file that does not hold a key, and one others can read.
SELECT test_helpers.sh(format('echo not-a-key > %1$s/keys/bad.key; chmod 600 %1$s/keys/bad.key', :'work_dir')) \g /dev/null
SELECT set_config('pgc.bad_key', :'work_dir' || '/keys/bad.key', false) \g /dev/null
SELECT format('ALTER SYSTEM SET pg_container.encryption_key_file = %L', current_setting('pgc.bad_key')) \gexec
SELECT test_helpers.reload() \g /dev/null
SELECT throws_ok($$SELECT container_ensure_running('tk-user')$$, 'F0000',
                 format('encryption key file "%s" does not hold a 256-bit key', current_setting('pgc.bad_key')),
                 'a file without 64 hex characters is refused');

SELECT test_helpers.sh(format('openssl rand -hex 32 > %1$s/keys/open.key; chmod 644 %1$s/keys/open.key', :'work_dir')) \g /dev/null
SELECT set_config('pgc.open_key', :'work_dir' || '/keys/open.key', false) \g /dev/null
SELECT format('ALTER SYSTEM SET pg_container.encryption_key_file = %L', current_setting('pgc.open_key')) \gexec
SELECT test_helpers.reload() \g /dev/null
SELECT throws_ok($$SELECT container_ensure_running('tk-user')$$, 'F0000',
                 format('encryption key file "%s" is accessible to its group or to other users', current_setting('pgc.open_key')),
                 'a key file others can read is refused');

-- Group access is refused too: a group writer could swap in its own key.
SELECT test_helpers.sh(format('chmod 640 %1$s/keys/open.key', :'work_dir')) \g /dev/null
SELECT throws_ok($$SELECT container_ensure_running('tk-user')$$, 'F0000',
                 format('encryption key file "%s" is accessible to its group or to other users', current_setting('pgc.open_key')),
                 'a key file its group can read is refused');
SELECT test_helpers.sh(format('chmod 620 %1$s/keys/open.key', :'work_dir')) \g /dev/null
SELECT throws_ok($$SELECT container_ensure_running('tk-user')$$, 'F0000',
                 format('encryption key file "%s" is accessible to its group or to other users', current_setting('pgc.open_key')),
                 'a key file its group can write is refused');

-- A key file owned by another user (made by the harness as root).
SELECT set_config('pgc.foreign_key', :'work_dir' || '/keys/foreign.key', false) \g /dev/null
SELECT format('ALTER SYSTEM SET pg_container.encryption_key_file = %L', current_setting('pgc.foreign_key')) \gexec
SELECT pg_reload_conf() \g /dev/null
SELECT pg_sleep(0.3) \g /dev/null
SELECT throws_ok($$SELECT container_ensure_running('tk-user')$$, 'F0000',
                 format('encryption key file "%s" is not owned by the database server''s user', current_setting('pgc.foreign_key')),
                 'a key file owned by another user is refused');
SELECT format('ALTER SYSTEM SET pg_container.encryption_key_file = %L', current_setting('pgc.open_key')) \gexec
SELECT pg_reload_conf() \g /dev/null
SELECT pg_sleep(0.3) \g /dev/null

-- A different key: the stored token is named as encrypted under another key.
SELECT test_helpers.sh(format('chmod 600 %1$s/keys/open.key', :'work_dir')) \g /dev/null
SELECT throws_ok($$SELECT container_ensure_running('tk-user')$$, '22000',
                 'encryption key does not match the gateway token of user "tk-user"',
                 'a token encrypted under another key is a clear error, not garbage');

-- Back to the right key: the same token as before.
ALTER SYSTEM RESET pg_container.encryption_key_file;
SELECT test_helpers.reload() \g /dev/null
SELECT is(current_setting('pg_container.encryption_key_file'), :'good_key'::text, 'the key file setting is restored');
SELECT is((SELECT token FROM container_ensure_running('tk-user')), :'tk_token'::text, 'and the token is the same as before');

SELECT * FROM finish();
