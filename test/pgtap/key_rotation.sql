-- Secrets at rest and key rotation: tokens are stored only as ciphertext,
-- encrypting the same token twice gives different ciphertexts, and a full
-- rotation (new key, old one as previous, re-encrypt, drop previous) keeps
-- every user's token unchanged.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(17);

CREATE TEMP TABLE kr_tokens AS
SELECT u AS user_id, (SELECT token FROM container_ensure_running(u)) AS token
  FROM unnest(ARRAY['kr-1', 'kr-2', 'kr-3']) AS u;
SELECT work_dir FROM test_helpers.config \gset
SELECT current_setting('pg_container.encryption_key_file') AS old_key,
       :'work_dir' || '/keys/rotated.key' AS new_key \gset

-- No stored value is or contains any token handed out.
SELECT is((SELECT count(*)::int FROM user_container u JOIN kr_tokens t
            ON strpos(u.gateway_token, t.token) > 0),
          0, 'no stored gateway_token equals or contains a token returned to a caller');

-- The same token encrypted twice: different ciphertexts.
CREATE TEMP TABLE kr_before AS SELECT user_id, gateway_token FROM user_container;
SELECT is(container_reencrypt_tokens(), (SELECT count(*) FROM user_container),
          'container_reencrypt_tokens rewrites every row and says how many');
SELECT is((SELECT count(*)::int FROM user_container u JOIN kr_before b USING (user_id)
            WHERE u.gateway_token = b.gateway_token),
          0, 'every re-encrypted token has a new ciphertext (a fresh IV each time)');
SELECT is((SELECT count(*)::int FROM kr_tokens t WHERE (SELECT token FROM container_ensure_running(t.user_id)) <> t.token),
          0, '... of the same plaintext');

-- Rotation, step 1: a new key alone cannot read the old tokens.
SELECT test_helpers.sh(format('openssl rand -hex 32 > %1$s; chmod 600 %1$s', :'new_key')) \g /dev/null
SELECT format('ALTER SYSTEM SET pg_container.encryption_key_file = %L', :'new_key') \gexec
SELECT test_helpers.reload() \g /dev/null
SELECT throws_ok($$SELECT container_ensure_running('kr-1')$$, '22000',
                 'encryption key does not match the gateway token of user "kr-1"',
                 'under a new key alone, an old token is a clear error');

-- Step 2: with the old key as previous, tokens decrypt again.
SELECT format('ALTER SYSTEM SET pg_container.encryption_key_file_previous = %L', :'old_key') \gexec
SELECT test_helpers.reload() \g /dev/null
SELECT is((SELECT token FROM container_ensure_running('kr-1')), (SELECT token FROM kr_tokens WHERE user_id = 'kr-1'),
          'with encryption_key_file_previous set, old tokens decrypt with the previous key');
SELECT substr(gateway_token, 1, 14) AS old_prefix FROM user_container WHERE user_id = 'kr-2' \gset

-- Step 3: re-encrypt everything under the new key, in one transaction.
SELECT is(container_reencrypt_tokens(), (SELECT count(*) FROM user_container), 're-encryption rewrites every token');
SELECT is((SELECT count(DISTINCT substr(gateway_token, 1, 14))::int FROM user_container), 1,
          '... so all tokens carry one key id');
SELECT isnt((SELECT substr(gateway_token, 1, 14) FROM user_container LIMIT 1), :'old_prefix'::text,
            '... the new key''s');

-- Step 4: drop the previous key; every token is unchanged in plaintext.
ALTER SYSTEM RESET pg_container.encryption_key_file_previous;
SELECT test_helpers.reload() \g /dev/null
SELECT is((SELECT count(*)::int FROM kr_tokens t WHERE (SELECT token FROM container_ensure_running(t.user_id)) = t.token),
          3, 'after the rotation, without the previous key, every token is the same in plaintext');
SELECT is((SELECT count(*)::int FROM user_container u JOIN kr_tokens t
            ON strpos(u.gateway_token, t.token) > 0),
          0, '... and still stored only as ciphertext');

-- A token neither key can read fails re-encryption as a whole, changing nothing.
CREATE TEMP TABLE kr_snapshot AS SELECT user_id, gateway_token FROM user_container;
UPDATE user_container SET gateway_token = (SELECT gateway_token FROM kr_before WHERE user_id = 'kr-3')
 WHERE user_id = 'kr-3';
SELECT throws_ok($$SELECT container_reencrypt_tokens()$$, '22000', NULL,
                 'a token no configured key can read fails the re-encryption');
SELECT is((SELECT count(*)::int FROM user_container u JOIN kr_snapshot s USING (user_id)
            WHERE u.gateway_token <> s.gateway_token AND u.user_id <> 'kr-3'),
          0, '... and no other token was rewritten');

-- Rotate back, the same way, so the rest of the suite keeps its key.
SELECT format('ALTER SYSTEM SET pg_container.encryption_key_file_previous = %L', :'old_key') \gexec
SELECT test_helpers.reload() \g /dev/null
SELECT ok(container_reencrypt_tokens() > 0, 'the damaged row decrypts under the previous key again: re-encrypt all');
ALTER SYSTEM RESET pg_container.encryption_key_file;
SELECT format('ALTER SYSTEM SET pg_container.encryption_key_file_previous = %L', :'new_key') \gexec
SELECT test_helpers.reload() \g /dev/null
SELECT ok(container_reencrypt_tokens() > 0, 'rotating back to the original key re-encrypts every token');
ALTER SYSTEM RESET pg_container.encryption_key_file_previous;
SELECT test_helpers.reload() \g /dev/null
SELECT is(current_setting('pg_container.encryption_key_file'), :'old_key'::text, 'the original key is current again');
SELECT is((SELECT count(*)::int FROM kr_tokens t WHERE (SELECT token FROM container_ensure_running(t.user_id)) = t.token),
          3, '... and every token is still the same');

SELECT * FROM finish();
