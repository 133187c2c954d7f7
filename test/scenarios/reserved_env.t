#!/usr/bin/env bash
# The environment names a profile may not set are listed once in SQL, in
# container_profile_check (the released scripts fix that list), and set in
# C when a container is built (container_spec.c).  The SQL list is the
# source of truth; this checks that the two agree: every reserved name is
# refused in a profile's extra_env and is set on every container; a name
# outside the list is allowed.
source "$(dirname "$0")/../lib/tap.sh"

reserved=$(q -c "SELECT string_agg(m[1], ' ' ORDER BY m[1])
  FROM regexp_matches(pg_get_functiondef('container_profile_check'::regproc),
                      'ANY \(ARRAY\[([^]]*)\]\)', 'g') AS a(list),
       regexp_matches(a.list[1], '''([A-Z_]+)''', 'g') AS m
 WHERE a.list[1] LIKE '%AGENT_TOKEN%'")
count=$(wc -w <<<"$reserved")
plan $((2 * count + 2))
cmp_ok "$count" -ge 3 "container_profile_check lists the reserved names ($reserved)"

q -c "SELECT container_ensure_running('re-user')" >/dev/null
env_names=$(pgc_docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' mosaic-user-re-user | cut -d= -f1)
for name in $reserved; do
	out=$(q -c "INSERT INTO container_profile (name, extra_env) VALUES ('re-$name', ARRAY['$name=x'])" 2>&1)
	like "$out" "sets $name, which pg_container sets itself" "a profile may not set $name"
	ok "$(grep -qx "$name" <<<"$env_names"; echo $?)" "... and pg_container sets $name on the container"
done
out=$(q -c "INSERT INTO container_profile (name, extra_env) VALUES ('re-free', ARRAY['SOME_SETTING=x'])" \
	-c "DELETE FROM container_profile WHERE name = 're-free'" 2>&1)
is "$out" "" "a name outside the list is allowed"
q -c "SELECT container_remove('re-user', false)" >/dev/null
tap_exit
