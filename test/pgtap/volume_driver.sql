-- Users' volumes made through a volume driver with options
-- (pg_container.volume_driver, volume_driver_options) on a plain Docker
-- engine: the volume is created with them, {volume} filled in, so a bind
-- of a host directory (the local driver's type=none, o=bind) puts what the
-- gateway writes there.  With the defaults, a plain local volume.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(6);

SELECT container_ensure_running('vd-default') \g /dev/null
SELECT is(test_helpers.docker('volume inspect -f ''{{.Driver}} {{json .Options}}'' mosaic-user-vd-default-state'),
          'local null', 'with the defaults, the volume is a local one without options');
SELECT container_remove('vd-default', keep_volume => false);
SELECT test_helpers.wait_removed('vd-default') \g /dev/null

-- The directory must exist: pg_container does not make it.
-- A directory of this run's own: the files the gateway leaves there are
-- root's, which the server's user cannot remove (the suite's end does).
SELECT work_dir || '/shared-volumes-' || pg_backend_pid() || '-' || (random() * 1e9)::bigint AS shared,
       md5(random()::text) AS mark FROM test_helpers.config \gset
SELECT test_helpers.sh(format('mkdir -p %1$s/mosaic-user-vd-bind-state && chmod 777 %1$s/mosaic-user-vd-bind-state', :'shared')) \g /dev/null
SELECT set_config('pg_container.volume_driver_options', 'type=none o=bind device=' || :'shared' || '/{volume}', false) \g /dev/null
SELECT container_ensure_running('vd-bind') \g /dev/null
SELECT is(test_helpers.docker('volume inspect -f ''{{.Driver}}'' mosaic-user-vd-bind-state') || ' ' ||
          test_helpers.docker('volume inspect -f ''{{json .Options}}'' mosaic-user-vd-bind-state')::jsonb::text,
          'local ' || jsonb_build_object('type', 'none', 'o', 'bind', 'device', :'shared' || '/mosaic-user-vd-bind-state')::text,
          'with driver options, the volume is made with them, {volume} filled in');
SELECT is(test_helpers.docker('volume inspect -f ''{{index .Labels "pg_container.user_id"}}'' mosaic-user-vd-bind-state'),
          'vd-bind', '... and labelled for the user');
SELECT test_helpers.docker(format('exec mosaic-user-vd-bind /bin/busybox sh -c "echo %s > /home/node/.openclaw/note"', :'mark')) \g /dev/null
SELECT is(test_helpers.sh(format('cat %s/mosaic-user-vd-bind-state/note', :'shared')), :'mark',
          'what the gateway writes lands in the directory the options name');

-- A restart makes a new container on the same volume.
SELECT container_restart('vd-bind') \g /dev/null
SELECT is(test_helpers.docker('exec mosaic-user-vd-bind /bin/busybox cat /home/node/.openclaw/note'), :'mark',
          'after a restart the gateway still sees it');

SELECT container_remove('vd-bind', keep_volume => false);
SELECT test_helpers.wait_removed('vd-bind') \g /dev/null
SELECT is(test_helpers.sh(format('cat %s/mosaic-user-vd-bind-state/note', :'shared')), :'mark',
          'removing the volume leaves the bound directory''s files: they are the DBA''s storage');
RESET pg_container.volume_driver_options;

SELECT * FROM finish();
