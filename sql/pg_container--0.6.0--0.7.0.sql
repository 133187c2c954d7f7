-- pg_container 0.6.0 -> 0.7.0
--
-- Cold starts in the background, the house rebuilt, fleet operations.
-- Each change below is its own commented block, saying what changed and
-- why.

\echo Use "ALTER EXTENSION pg_container UPDATE TO '0.7.0'" to load this file. \quit
