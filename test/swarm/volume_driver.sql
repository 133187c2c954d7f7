-- Users' volumes on a shared volume driver (pg_container.volume_driver and
-- volume_driver_options) on a single-node Docker Swarm: the setting's
-- syntax and its errors, the service's mount carrying the driver config,
-- no pin to a node, and a bind of a host directory (the local driver's
-- type=none, o=bind) that shows the user's files where the options say.
-- With the defaults, services are pinned as ever and mounts carry nothing.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(23);

CREATE FUNCTION pg_temp.service(name text, template text) RETURNS text LANGUAGE sql AS $$
    SELECT test_helpers.docker(format('service inspect -f %s %s', test_helpers.shell_quote(template), name)) $$;
CREATE FUNCTION pg_temp.task_exec(service text, cmd text) RETURNS text LANGUAGE sql AS $$
    SELECT test_helpers.docker(format('exec $(docker -H unix://%s ps -q --filter label=com.docker.swarm.service.name=%s) %s',
                                  test_helpers.docker_socket(), service, cmd)) $$;
-- The message and detail of the error a SET raises.
CREATE FUNCTION pg_temp.set_error(setting text, value text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    detail text;
BEGIN
    EXECUTE format('SET %s = %L', setting, value);
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RETURN SQLSTATE || ': ' || SQLERRM || ' | ' || detail;
END $$;

-- The syntax: key=value pairs separated by spaces; values may hold commas.
SELECT is(pg_temp.set_error('pg_container.volume_driver_options', 'type=nfs o=addr=10.0.0.5,rw,nfsvers=4 device=:/exports/pgc/{volume}'),
          'no error', 'options are key=value pairs separated by spaces, with commas inside values');
SELECT is(pg_temp.set_error('pg_container.volume_driver_options', 'type=nfs,o=addr=10.0.0.5,rw,device=:/exports/pgc/{volume}'),
          '22023: invalid value for parameter "pg_container.volume_driver_options": "type=nfs,o=addr=10.0.0.5,rw,device=:/exports/pgc/{volume}" | '
          'The value of "type" holds another option after a comma: separate options with spaces, as in "type=nfs o=addr=10.0.0.5,rw device=:/exports/{volume}".',
          'options written with commas between them, as docker --mount takes them, are refused with the syntax to use');
SELECT matches(pg_temp.set_error('pg_container.volume_driver_options', 'type=nfs rw'),
               '^22023: .* \| "rw" is not of the form key=value\.$', 'an option without "=" is refused');
SELECT matches(pg_temp.set_error('pg_container.volume_driver_options', 'o=a =b'),
               '^22023: .* \| "=b" is not of the form key=value\.$', '... and one without a key');
SELECT matches(pg_temp.set_error('pg_container.volume_driver_options', 'ty"pe=none'),
               '^22023: .* \| The key "ty"pe" may hold only letters, digits, "_", "\." and "-"\.$', '... and a key with other characters');
SELECT matches(pg_temp.set_error('pg_container.volume_driver_options', 'device=/srv/{user_id}'),
               '^22023: .* \| The only placeholder is \{volume\}, the name of the user''s volume\.$', 'an unknown placeholder is refused');
SELECT matches(pg_temp.set_error('pg_container.volume_driver_options', 'o=bind o=ro'),
               '^22023: .* \| The option "o" is given twice\.$', 'a key given twice is refused');
SELECT matches(pg_temp.set_error('pg_container.volume_driver', ''),
               '^22023: .* \| The volume driver must not be empty', 'an empty volume driver is refused');
SELECT matches(pg_temp.set_error('pg_container.volume_driver', 'my driver'),
               '^22023: .* \| A volume driver name holds only', '... and one with a space');
SELECT is(pg_temp.set_error('pg_container.volume_driver', 'vieux/sshfs:latest'), 'no error', 'a plugin name is a driver name');
RESET pg_container.volume_driver;
RESET pg_container.volume_driver_options;

-- Defaults: a local volume, pinned to the node its first task lands on.
SELECT url FROM container_ensure_running('sw-vd-local') \g /dev/null
SELECT is(pg_temp.service('mosaic-user-sw-vd-local', '{{json .Spec.TaskTemplate.ContainerSpec.Mounts}}')::jsonb,
          '[{"Type":"volume","Source":"mosaic-user-sw-vd-local-state","Target":"/home/node/.openclaw"}]'::jsonb,
          'with the defaults, the mount carries no driver config');
SELECT is(pg_temp.service('mosaic-user-sw-vd-local', '{{json .Spec.TaskTemplate.Placement.Constraints}}'),
          format('["node.id==%s"]', test_helpers.docker('node ls -q')), '... and the service is pinned to its node');
SELECT container_remove('sw-vd-local', keep_volume => false);
SELECT test_helpers.wait_removed('sw-vd-local') \g /dev/null

-- A bind of a host directory through the local driver: what a DBA would
-- write for NFS, on one machine.  The directory must exist; pg_container
-- does not make it (on another node it could not).
-- A directory of this run's own: the files the gateway leaves there are
-- root's, which the server's user cannot remove (the suite's end does).
SELECT work_dir || '/shared-volumes-' || pg_backend_pid() || '-' || (random() * 1e9)::bigint AS shared,
       md5(random()::text) AS mark FROM test_helpers.config \gset
SELECT test_helpers.sh(format('mkdir -p %1$s/mosaic-user-sw-vd-shared-state && chmod 777 %1$s/mosaic-user-sw-vd-shared-state', :'shared')) \g /dev/null
SELECT set_config('pg_container.volume_driver_options', 'type=none o=bind device=' || :'shared' || '/{volume}', false) \g /dev/null
SELECT url FROM container_ensure_running('sw-vd-shared') \g /dev/null
SELECT is(pg_temp.service('mosaic-user-sw-vd-shared', '{{json .Spec.TaskTemplate.ContainerSpec.Mounts}}')::jsonb,
          jsonb_build_array(jsonb_build_object('Type', 'volume', 'Source', 'mosaic-user-sw-vd-shared-state',
                                               'Target', '/home/node/.openclaw',
                                               'VolumeOptions', jsonb_build_object('DriverConfig', jsonb_build_object(
                                                   'Name', 'local',
                                                   'Options', jsonb_build_object('type', 'none', 'o', 'bind',
                                                                                 'device', :'shared' || '/mosaic-user-sw-vd-shared-state'))))),
          'with driver options, the service''s mount carries the driver config, {volume} filled in');
SELECT is(pg_temp.service('mosaic-user-sw-vd-shared', '{{json .Spec.TaskTemplate.Placement.Constraints}}'), 'null',
          '... and the service is not pinned to a node');
SELECT is((SELECT node FROM user_container WHERE user_id = 'sw-vd-shared'), test_helpers.docker('node ls -q'),
          '... while the row says where its task runs');
SELECT is(test_helpers.docker('volume inspect -f ''{{.Driver}} {{.Options.type}} {{.Options.o}} {{.Options.device}}'' mosaic-user-sw-vd-shared-state'),
          'local none bind ' || :'shared' || '/mosaic-user-sw-vd-shared-state', 'the volume was made with the driver options');
SELECT is(test_helpers.docker('volume inspect -f ''{{index .Labels "pg_container.user_id"}}'' mosaic-user-sw-vd-shared-state'),
          'sw-vd-shared', '... and labelled for the user');
SELECT pg_temp.task_exec('mosaic-user-sw-vd-shared', format('/bin/busybox sh -c "echo %s > /home/node/.openclaw/note"', :'mark')) \g /dev/null
SELECT is(test_helpers.sh(format('cat %s/mosaic-user-sw-vd-shared-state/note', :'shared')), :'mark',
          'what the user''s gateway writes lands in the directory the options name');

-- Stop and start again: still unpinned, the data still there.
SELECT container_stop('sw-vd-shared');
SELECT url FROM container_ensure_running('sw-vd-shared') \g /dev/null
SELECT is(pg_temp.service('mosaic-user-sw-vd-shared', '{{json .Spec.TaskTemplate.Placement.Constraints}}'), 'null',
          'a start after a stop does not pin the service either');
SELECT is(pg_temp.task_exec('mosaic-user-sw-vd-shared', '/bin/busybox cat /home/node/.openclaw/note'), :'mark',
          '... and the new task sees the user''s files');

-- Its published URL names the node its last start recorded (the swarm
-- says nothing of an unpinned service's node without a read of its
-- tasks), not publish_address: 127.0.0.2 here, which no node has.
SET pg_container.url_mode = 'published';
SET pg_container.publish_address = '127.0.0.2';
SELECT gateway_port AS shared_port FROM user_container WHERE user_id = 'sw-vd-shared' \gset
SELECT is((SELECT url FROM container_ensure_running('sw-vd-shared')), format('http://127.0.0.1:%s', :shared_port),
          'an ensure on the running unpinned user names its node''s address in the published URL');
RESET pg_container.url_mode;
RESET pg_container.publish_address;

-- Remove: the service and the volume object; the directory is the DBA's.
SELECT container_remove('sw-vd-shared', keep_volume => false);
SELECT test_helpers.wait_removed('sw-vd-shared') \g /dev/null
SELECT is(test_helpers.docker('volume ls -q --filter name=mosaic-user-sw-vd-shared-state'), '', 'remove deletes the volume');
SELECT is(test_helpers.sh(format('cat %s/mosaic-user-sw-vd-shared-state/note', :'shared')), :'mark',
          '... which for a bind leaves the directory''s files where they are');
RESET pg_container.volume_driver_options;

SELECT * FROM finish();
