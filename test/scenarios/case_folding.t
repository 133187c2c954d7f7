#!/usr/bin/env bash
# Two user ids that differ only in case.  Docker's names are case-sensitive
# but its embedded DNS keys them in lower case, so on 0.5.0 the users
# "cf-victim" and "CF-Victim" got two containers and two networks, and from
# the API container (attached to both) the victim's internal URL resolved
# to the other user's gateway, which then received the victim's token and
# messages.  Since 0.6.0 the second id is refused with an error naming the
# first, before anything is made in Docker, also when both first starts run
# at once.
source "$(dirname "$0")/../lib/tap.sh"
plan 9

q -c "SELECT container_ensure_running('cf-victim')" >/dev/null
err=$(q -c "SELECT test_helpers.error_of(\$\$SELECT container_ensure_running('CF-Victim')\$\$)")
is "$err" '23505: user id "CF-Victim" differs only in case from user "cf-victim"' \
	"a second user id that differs only in case is refused, naming the first"
is "$(q -c "SELECT count(*) FROM user_container WHERE user_id = 'CF-Victim'")" 0 "... and gets no row"
is "$(pgc_docker ps -aq --filter name=mosaic-user-CF-Victim)$(pgc_docker network ls -q --filter name=mosaic-user-CF-Victim)$(pgc_docker volume ls -q --filter name=mosaic-user-CF-Victim)" "" \
	"... nor a container, a network or a volume"
is "$(q -c "SELECT test_helpers.error_of(\$\$SELECT container_set_idle_timeout('CF-VICTIM', 5)\$\$)")" \
	'23505: user id "CF-VICTIM" differs only in case from user "cf-victim"' \
	"every call that makes a row refuses it (here the idle timeout set at sign-up)"

# What the attack was after: the name in the victim's URL, resolved from the
# API container, is the victim's own gateway.
url=$(q -c "SELECT url FROM container_ensure_running('cf-victim')")
host=${url#http://}
host=${host%%:*}
is "$host" "mosaic-user-cf-victim" "the victim's internal URL names the victim's container"
resolved=$(pgc_docker exec mosaic-api /bin/busybox nslookup "$host" 127.0.0.11 2>/dev/null |
	awk '/^Address/ && $2 !~ /^127\.0\.0\.11/ {print $2}' | tail -n 1)
victim_ip=$(pgc_docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' mosaic-user-cf-victim)
is "$resolved" "$victim_ip" "... and resolves, from the API container, to the victim's own address"

# Both first starts at once: the folded unique index decides, whichever
# session commits first; the other is refused.
for id in cf-race CF-RACE; do
	q -c "SELECT test_helpers.error_of(\$\$SELECT container_ensure_running('$id')\$\$)" >"$PGC_WORK/cf-$id.out" 2>&1 &
done
wait
is "$(q -c "SELECT count(*) FROM user_container WHERE lower(user_id) = 'cf-race'")" 1 \
	"two first starts at once of ids that differ only in case leave one row"
like "$(cat "$PGC_WORK/cf-cf-race.out" "$PGC_WORK/cf-CF-RACE.out" | sort | tr '\n' ' ')" \
	'^23505: user id "(cf-race|CF-RACE)" differs only in case from user "(cf-race|CF-RACE)" no error $' \
	"... and the other gets the error"

# A container name that another user's name is but for case is refused
# too (a changed name_prefix can make two users' names meet).
err=$(q -c "SET pg_container.name_prefix = 'mosaic-user-CF-'" \
	-c "SELECT test_helpers.error_of(\$\$SELECT container_set_idle_timeout('victim', 5)\$\$)")
is "$err" '23505: container name "mosaic-user-CF-victim" of user "victim" is already the name of user "cf-victim"' \
	"a container name that differs only in case from another user's is refused"

q -c "SELECT container_remove(u, false) FROM unnest(ARRAY['cf-victim', 'cf-race', 'CF-RACE']) u
      WHERE u IN (SELECT user_id FROM user_container)" >/dev/null
tap_exit
