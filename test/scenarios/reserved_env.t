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
plan $((2 * count + 4))
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

# A profile stored before its check refused a name (here, the check
# switched off to store it): of two entries with one name the container
# gets the last, so pg_container's own come after the profile's, and the
# gateway still checks the user's token and keeps its state in the volume.
q -c "ALTER TABLE container_profile DISABLE TRIGGER container_profile_check" \
  -c "INSERT INTO container_profile (name, extra_env) VALUES ('re-old', ARRAY['OPENCLAW_GATEWAY_TOKEN=known', 'HOME=/tmp'])" \
  -c "ALTER TABLE container_profile ENABLE TRIGGER container_profile_check" \
  -c "SELECT container_set_profile('re-old-user', 're-old')" >/dev/null
token=$(q -c "SELECT token FROM container_ensure_running('re-old-user')")
# What the gateway's process sees (busybox has env, not printenv).
seen() { pgc_docker exec mosaic-user-re-old-user /bin/busybox env | sed -n "s/^$1=//p"; }
is "$(seen OPENCLAW_GATEWAY_TOKEN)" "$token" \
	"a profile's OPENCLAW_GATEWAY_TOKEN does not replace the user's token"
state_path=$(q -c "SHOW pg_container.state_path")
home=${state_path%/*}
is "$(seen HOME)" "${home:-/}" \
	"... nor its HOME the one above the state path"
q -c "SELECT container_remove('re-old-user', false)" -c "SELECT container_process_removals()" -c "DELETE FROM container_profile WHERE name = 're-old'" >/dev/null
tap_exit
