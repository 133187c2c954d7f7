-- pg_container 0.5.0 -> 0.6.0
--
-- The fixes of a security and robustness review.  Each change below is its
-- own commented block, saying what changed and why.

\echo Use "ALTER EXTENSION pg_container UPDATE TO '0.6.0'" to load this file. \quit
