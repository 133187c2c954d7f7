-- Hardened containers: loopback publishing, resource limits, never
-- privileged, no-new-privileges, a restart policy; and settings that are
-- checked when they are set.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT plan(30);

-- Defaults.
SELECT container_ensure_running('hd-default') \g /dev/null
SELECT is(test_helpers.inspect('mosaic-user-hd-default',
          '{{.HostConfig.Privileged}} {{.HostConfig.SecurityOpt}} {{.HostConfig.RestartPolicy.Name}}'),
          'false [no-new-privileges] unless-stopped',
          'by default: not privileged, no-new-privileges, restart unless-stopped');
SELECT is(test_helpers.inspect('mosaic-user-hd-default', '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}'),
          '2147483648 2000000000 512', '... openclaw fleet''s limits: 2 GB of memory, 2 CPUs and 512 processes');
SELECT is(test_helpers.inspect('mosaic-user-hd-default', '{{.HostConfig.CapDrop}} {{.HostConfig.Init}}'), '[ALL] true',
          '... every capability dropped, and an init process as PID 1');
SELECT is(test_helpers.inspect('mosaic-user-hd-default', '{{range .HostConfig.Binds}}{{.}}{{end}}'),
          'mosaic-user-hd-default-state:/home/node/.openclaw', '... and no mount but the user''s own volume (never the Docker socket)');
SET pg_container.drop_capabilities = off;
SET pg_container.init = off;
SELECT throws_ok($$SET pg_container.command = 'sh -c "quoted"'$$, '22023', NULL, 'a command with quotes is refused when set');
RESET pg_container.command;
SELECT container_ensure_running('hd-loose') \g /dev/null
SELECT is(test_helpers.inspect('mosaic-user-hd-loose', '{{.HostConfig.CapDrop}} {{.HostConfig.Init}}'), '[] <nil>',
          'drop_capabilities and init can be turned off');
RESET pg_container.drop_capabilities;
RESET pg_container.init;
SET pg_container.command = '/bin/busybox httpd -f -p 18789 -h /www';
SELECT container_ensure_running('hd-command') \g /dev/null
SELECT is(test_helpers.inspect('mosaic-user-hd-command', '{{json .Config.Cmd}}'), '["/bin/busybox","httpd","-f","-p","18789","-h","/www"]',
          'pg_container.command sets the container''s command, word by word');
RESET pg_container.command;
INSERT INTO container_profile (name, command) VALUES ('hd-own-cmd', '{}');
SELECT container_set_profile('hd-profile-cmd', 'hd-own-cmd') \g /dev/null
SET pg_container.command = '/bin/busybox false';
SELECT container_ensure_running('hd-profile-cmd') \g /dev/null
SELECT is(test_helpers.inspect('mosaic-user-hd-profile-cmd', '{{json .Config.Cmd}}'), test_helpers.inspect('pgc-gateway:test', '{{json .Config.Cmd}}'),
          'a profile''s empty command keeps the image''s own, over the setting');
RESET pg_container.command;
SELECT is(test_helpers.inspect('mosaic-user-hd-default', '{{range $p, $b := .HostConfig.PortBindings}}{{range $b}}{{.HostIp}}{{end}}{{end}}'),
          '127.0.0.1', '... and the port published on 127.0.0.1 only');

-- Limits.
SET pg_container.memory_limit = '256MB';
SET pg_container.cpus = 0.5;
SET pg_container.pids_limit = 64;
SET pg_container.restart_policy = 'on-failure';
SET pg_container.publish_address = '127.0.0.2';
SELECT container_ensure_running('hd-limited') \g /dev/null
SELECT is(test_helpers.inspect('mosaic-user-hd-limited', '{{.HostConfig.Memory}}'), '268435456', 'memory_limit sets the memory limit');
SELECT is(test_helpers.inspect('mosaic-user-hd-limited', '{{.HostConfig.NanoCpus}}'), '500000000', 'cpus sets the CPU limit');
SELECT is(test_helpers.inspect('mosaic-user-hd-limited', '{{.HostConfig.PidsLimit}}'), '64', 'pids_limit sets the process limit');
SELECT is(test_helpers.inspect('mosaic-user-hd-limited', '{{.HostConfig.RestartPolicy.Name}}'), 'on-failure', 'restart_policy sets the restart policy');
SELECT is(test_helpers.inspect('mosaic-user-hd-limited', '{{range $p, $b := .HostConfig.PortBindings}}{{range $b}}{{.HostIp}}{{end}}{{end}}'),
          '127.0.0.2', 'publish_address sets the only address the port is published on');
RESET ALL;
SET client_min_messages = warning;

-- Bounded logs: a tenant's output cannot fill the engine's disk.
SELECT is(test_helpers.inspect('mosaic-user-hd-default', '{{.HostConfig.LogConfig.Type}} {{json .HostConfig.LogConfig.Config}}'),
          'json-file {"max-file":"3","max-size":"10m"}', 'by default a container logs to json-file, at most 3 files of 10 MB');
SET pg_container.log_max_size = '2MB';
SET pg_container.log_max_files = 2;
SELECT container_ensure_running('hd-logs') \g /dev/null
SELECT is(test_helpers.inspect('mosaic-user-hd-logs', '{{json .HostConfig.LogConfig.Config}}'), '{"max-file":"2","max-size":"2m"}',
          'log_max_size and log_max_files set the limits');
SET pg_container.log_max_files = 4;
SELECT is((SELECT outdated FROM container_status('hd-logs')), true, '... and a changed limit makes the container outdated');
RESET pg_container.log_max_files;
RESET pg_container.log_max_size;
INSERT INTO container_profile (name, log_max_size_mb, log_max_files) VALUES ('hd-own-logs', 1, 5);
SELECT container_set_profile('hd-log-profile', 'hd-own-logs') \g /dev/null
SELECT container_ensure_running('hd-log-profile') \g /dev/null
SELECT is(test_helpers.inspect('mosaic-user-hd-log-profile', '{{json .HostConfig.LogConfig.Config}}'), '{"max-file":"5","max-size":"1m"}',
          'a profile''s log_max_size_mb and log_max_files override the settings');
SET pg_container.log_max_size = 0;
SELECT container_ensure_running('hd-engine-logs') \g /dev/null
SELECT is(test_helpers.inspect('mosaic-user-hd-engine-logs', '{{json .HostConfig.LogConfig.Config}}'), '{}',
          'a log_max_size of 0 leaves logging to the engine''s defaults');
RESET pg_container.log_max_size;
SELECT throws_ok($$INSERT INTO container_profile (name, log_max_files) VALUES ('hd-no-logs', 0)$$, '23514', NULL,
                 'a profile that keeps no log file is refused');
SELECT container_remove(u) FROM unnest(ARRAY['hd-logs', 'hd-log-profile', 'hd-engine-logs']) u \g /dev/null
SELECT test_helpers.wait_removed(u) FROM unnest(ARRAY['hd-logs', 'hd-log-profile', 'hd-engine-logs']) u \g /dev/null
DELETE FROM container_profile WHERE name = 'hd-own-logs';

-- unless-stopped: a crashed gateway comes back; one we stopped stays stopped.
SELECT test_helpers.docker('exec mosaic-user-hd-default /bin/busybox kill 1') \g /dev/null
SELECT test_helpers.wait_for($$test_helpers.inspect('mosaic-user-hd-default', '{{.RestartCount}} {{.State.Status}}') = '1 running'$$,
                         '60 seconds') \g /dev/null
SELECT is(test_helpers.inspect('mosaic-user-hd-default', '{{.RestartCount}} {{.State.Status}}'), '1 running',
          'a gateway whose process died is restarted by Docker');
SELECT container_stop('hd-default') \g /dev/null
SELECT pg_sleep(2) \g /dev/null
SELECT is(test_helpers.state_of('mosaic-user-hd-default'), 'exited', '... but one pg_container stopped stays stopped');

-- Settings are checked when set.
SELECT throws_ok($$SET pg_container.port_range_start = 30000$$, '22023', NULL,
                 'a range start beyond the range end is refused');
SELECT throws_ok($$SET pg_container.port_range_end = 1000$$, '22023', NULL,
                 'a range end before the range start is refused');
SELECT throws_ok($$SET pg_container.port_range_end = 70000$$, '22023', NULL, 'a port beyond 65535 is refused');
SELECT throws_ok($$SET pg_container.cpus = -1$$, '22023', NULL, 'negative cpus are refused');
SELECT throws_ok($$SET pg_container.restart_policy = 'sometimes'$$, '22023', NULL, 'an unknown restart policy is refused');
SELECT throws_ok($$SET pg_container.name_prefix = 'bad prefix'$$, '22023', NULL, 'a prefix that makes invalid container names is refused');

-- A changed prefix can make two users' names meet ("mosaic-user-" + "hd-ab"
-- and "mosaic-user-hd-a" + "b"): the second user is refused, naming the
-- first, and gets no row.
SELECT container_set_idle_timeout('hd-ab', 30);
SET pg_container.name_prefix = 'mosaic-user-hd-a';
SELECT throws_ok($$SELECT container_set_idle_timeout('b', 30)$$, '23505',
                 'container name "mosaic-user-hd-ab" of user "b" is already the name of user "hd-ab"',
                 'a user whose container name is already another user''s is refused, naming that user');
RESET pg_container.name_prefix;
SELECT is((SELECT count(*) FROM user_container WHERE user_id = 'b'), 0::bigint, '... and gets no row');
SELECT container_remove('hd-ab');

SELECT * FROM finish();
