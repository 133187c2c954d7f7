--
-- The update path, without Docker: 0.1.0, then 0.2.0, 0.3.0, 0.4.0, 0.5.0, 0.6.0 and 0.7.0,
-- step by step, keeps the rows and ends with exactly what a fresh install of the
-- newest version makes.  (Today PostgreSQL makes a fresh 0.7.0 from the
-- same chain of scripts; the comparison earns its keep once a version has
-- an install script of its own.  test/scenarios/upgrade.t updates with
-- real containers behind the rows.)
--
-- extension_shape(): everything of an installed pg_container that a
-- caller or pg_dump can see, one line an item.
CREATE FUNCTION extension_shape() RETURNS SETOF text LANGUAGE sql AS $$
WITH member AS (
    SELECT d.classid, d.objid
      FROM pg_depend d
      JOIN pg_extension e ON e.oid = d.refobjid
     WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'pg_container'
), rel AS (
    SELECT objid AS oid FROM member WHERE classid = 'pg_class'::regclass
), fn AS (
    SELECT objid AS oid FROM member WHERE classid = 'pg_proc'::regclass
)
SELECT 'object ' || pg_describe_object(classid, objid, 0) FROM member
UNION ALL
SELECT format('function %s(%s) returns %s; volatility %s, strict %s, security definer %s, config %s, acl %s, body %s',
              p.proname, pg_get_function_arguments(p.oid), pg_get_function_result(p.oid), p.provolatile,
              p.proisstrict, p.prosecdef, p.proconfig, p.proacl, md5(p.prosrc))
  FROM pg_proc p JOIN fn USING (oid)
UNION ALL
SELECT format('relation %s: kind %s, options %s, acl %s, view %s',
              c.oid::regclass, c.relkind, c.reloptions, c.relacl,
              regexp_replace(pg_get_viewdef(c.oid), '\s+', ' ', 'g'))
  FROM pg_class c JOIN rel USING (oid)
UNION ALL
SELECT format('column %s.%s %s, not null %s, default %s',
              a.attrelid::regclass, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
              pg_get_expr(ad.adbin, ad.adrelid))
  FROM pg_attribute a
  JOIN rel ON rel.oid = a.attrelid
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
 WHERE a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT format('constraint %s on %s: %s', co.conname, co.conrelid::regclass, pg_get_constraintdef(co.oid))
  FROM pg_constraint co JOIN rel ON rel.oid = co.conrelid
UNION ALL
SELECT 'index ' || pg_get_indexdef(i.indexrelid)
  FROM pg_index i JOIN rel ON rel.oid = i.indrelid
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(t.oid)
  FROM pg_trigger t JOIN rel ON rel.oid = t.tgrelid
 WHERE NOT t.tgisinternal
$$;

-- A fresh install of the newest version, in a database of its own made
-- from this one (so it has extension_shape() too).
\c postgres
CREATE DATABASE regress_fresh TEMPLATE contrib_regression;
\c regress_fresh
SET client_min_messages = error;
CREATE EXTENSION pg_container;
RESET client_min_messages;
SELECT extversion FROM pg_extension WHERE extname = 'pg_container';
SELECT string_agg(s, E'\n' ORDER BY s) AS fresh_shape FROM extension_shape() s \gset

-- Here: 0.1.0, a row in it, then each update in turn.
\c contrib_regression
SET client_min_messages = error;
CREATE EXTENSION pg_container VERSION '0.1.0';
RESET client_min_messages;
SELECT extversion FROM pg_extension WHERE extname = 'pg_container';
INSERT INTO user_container (user_id, container_id, container_name, gateway_port, gateway_token, status, idle_timeout_min)
VALUES ('old-user', 'c0ffee', 'mosaic-user-old-user', 20001, 'sealed-token', 'running', 45);
SELECT user_id, container_id, container_name, gateway_port, gateway_token, status, idle_timeout_min
  FROM user_container \gset before_

ALTER EXTENSION pg_container UPDATE TO '0.2.0';
SELECT extversion FROM pg_extension WHERE extname = 'pg_container';
ALTER EXTENSION pg_container UPDATE TO '0.3.0';
SELECT extversion FROM pg_extension WHERE extname = 'pg_container';
ALTER EXTENSION pg_container UPDATE TO '0.4.0';
SELECT extversion FROM pg_extension WHERE extname = 'pg_container';
-- 0.4.0 lets a profile set HOME; 0.5.0 refuses it, keeps the profile and
-- names it in a WARNING.
INSERT INTO container_profile (name, extra_env) VALUES ('old-home', ARRAY['HOME=/srv', 'OPENCLAW_HOME=/srv', 'LANG=C']);
ALTER EXTENSION pg_container UPDATE TO '0.5.0';
SELECT extversion FROM pg_extension WHERE extname = 'pg_container';
SELECT name, extra_env FROM container_profile;
INSERT INTO container_profile (name, extra_env) VALUES ('new-home', ARRAY['HOME=/srv']);
DELETE FROM container_profile;
-- 0.6.0 refuses two user ids that differ only in case; an installation
-- that holds such a pair is told which, and is not updated until one goes.
-- (No CONTEXT: PostgreSQL 18 adds the script's text to it.)
INSERT INTO user_container (user_id, container_name, gateway_token, status)
VALUES ('OLD-USER', 'mosaic-user-OLD-USER', 'sealed-token', 'stopped');
\set ON_ERROR_STOP 0
\set SHOW_CONTEXT never
ALTER EXTENSION pg_container UPDATE TO '0.6.0';
\set SHOW_CONTEXT errors
\set ON_ERROR_STOP 1
SELECT extversion FROM pg_extension WHERE extname = 'pg_container';
DELETE FROM user_container WHERE user_id = 'OLD-USER';
ALTER EXTENSION pg_container UPDATE TO '0.6.0';
SELECT extversion FROM pg_extension WHERE extname = 'pg_container';
ALTER EXTENSION pg_container UPDATE TO '0.7.0';
SELECT extversion FROM pg_extension WHERE extname = 'pg_container';

-- The row is still there, unchanged.
SELECT user_id = :'before_user_id' AS same_user, container_id = :'before_container_id' AS same_container,
       container_name = :'before_container_name' AS same_name, gateway_port = :'before_gateway_port' AS same_port,
       gateway_token = :'before_gateway_token' AS same_token, status = :'before_status' AS same_status,
       idle_timeout_min = :'before_idle_timeout_min' AS same_timeout
  FROM user_container;

-- Nothing differs from the fresh install: both lists are empty.
SELECT s AS only_after_update FROM extension_shape() s
EXCEPT SELECT unnest(string_to_array(:'fresh_shape', E'\n'))
ORDER BY 1;
SELECT unnest(string_to_array(:'fresh_shape', E'\n')) AS only_in_fresh_install
EXCEPT SELECT s FROM extension_shape() s
ORDER BY 1;
SELECT count(*) > 50 AS compared_enough FROM extension_shape();

DROP EXTENSION pg_container;
DROP FUNCTION extension_shape();
\c postgres
DROP DATABASE regress_fresh;
\c contrib_regression
