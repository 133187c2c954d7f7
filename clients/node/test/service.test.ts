// service.test.ts: the seven methods of the original service, each with its
// original return shape, against the suite's PostgreSQL and dockerd; the
// errors with their SQLSTATE; the events.  One user per concern, in order.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ContainerError, ContainerLifecycleService, type ContainerEvent } from "../src";
import { docker, newPool, poolConfig, removeUsers, userId, waitFor } from "./helpers";

const pool = newPool();
const service = new ContainerLifecycleService(pool);
const alice = userId("alice");
const bob = userId("bob");
const carol = userId("carol");
const dora = userId("dora");
const emil = userId("emil");
const users = [alice, bob, carol, dora, emil];

before(async () => {
	await pool.query("SELECT 1");
});

after(async () => {
	await service.close();
	await removeUsers(pool, users);
	await pool.end();
});

// A test that waits for something that never comes fails rather than hanging the run.
const LIMIT = 30_000;
const hex64 = /^[0-9a-f]{64}$/;

test("ensureRunning returns exactly {url, token}, the same twice", { timeout: LIMIT }, async () => {
	const first = await service.ensureRunning(alice);
	assert.deepEqual(Object.keys(first).sort(), ["token", "url"]);
	assert.equal(first.url, `http://mosaic-user-${alice}:18789`);
	assert.match(first.token, hex64);
	assert.deepEqual(await service.ensureRunning(alice), first);
});

test("getStatus of a running user is {status, port, lastActive}", { timeout: LIMIT }, async () => {
	const status = await service.getStatus(alice);
	assert.ok(status);
	assert.deepEqual(Object.keys(status).sort(), ["lastActive", "port", "status"]);
	assert.equal(status.status, "running");
	assert.equal(typeof status.port, "number");
	assert.ok(status.lastActive instanceof Date);
});

test("getStatus of an unknown user is null", { timeout: LIMIT }, async () => {
	assert.equal(await service.getStatus(userId("nobody")), null);
});

test("touch resolves to undefined and moves lastActive to now; an unknown user is no error", { timeout: LIMIT }, async () => {
	await pool.query("UPDATE user_container SET last_active_at = now() - interval '1 hour' WHERE user_id = $1", [alice]);
	assert.equal(await service.touch(alice), undefined);
	const status = await service.getStatus(alice);
	assert.ok(Math.abs(Date.now() - status!.lastActive!.getTime()) < 60_000, "last activity is now");
	assert.equal(await service.touch(userId("nobody")), undefined);
});

test("healthCheckAll gives [{userId, healthy}] for a healthy user, and an error (the original's text) only when unhealthy", { timeout: LIMIT }, async () => {
	await service.ensureRunning(bob);
	let results = await service.healthCheckAll();
	assert.ok(Array.isArray(results));
	assert.deepEqual(
		results.find((r) => r.userId === bob),
		{ userId: bob, healthy: true },
	);
	// Killed behind pg_container's back; once the state mirror has seen it
	// (or at once, without one), the row claims running again, so that the
	// check is the one to find the container down.
	await docker("kill", `mosaic-user-${bob}`);
	await waitFor(async () => (await service.getStatus(bob))?.status === "stopped", 5000).catch(() => undefined);
	await pool.query("UPDATE user_container SET status = 'running' WHERE user_id = $1", [bob]);
	results = await service.healthCheckAll();
	const unhealthy = results.find((r) => r.userId === bob);
	assert.ok(unhealthy, "the killed user is reported");
	assert.deepEqual(Object.keys(unhealthy).sort(), ["error", "healthy", "userId"]);
	assert.equal(unhealthy.healthy, false);
	assert.equal(unhealthy.error, "Container not running", "in the original's words");
});

test("stop resolves to undefined; the stopped user's status has no port, as the original cleared it", { timeout: LIMIT }, async () => {
	assert.equal(await service.stop(alice), undefined);
	const status = await service.getStatus(alice);
	assert.ok(status);
	assert.deepEqual(Object.keys(status).sort(), ["lastActive", "status"]);
	assert.equal(status.status, "stopped");
	assert.equal(await service.stop(userId("nobody")), undefined, "stopping an unknown user is no error");
});

test("restart resolves to undefined (not the url and token) and the user runs again", { timeout: LIMIT }, async () => {
	assert.equal(await service.restart(alice), undefined);
	assert.equal((await service.getStatus(alice))!.status, "running");
});

test("reapIdle returns {stopped: [user ids]} with the idle user in it", { timeout: LIMIT }, async () => {
	await pool.query("SELECT container_set_idle_timeout($1, 1)", [alice]);
	await pool.query("UPDATE user_container SET last_active_at = now() - interval '5 minutes' WHERE user_id = $1", [alice]);
	const result = await service.reapIdle();
	assert.deepEqual(Object.keys(result), ["stopped"]);
	assert.ok(Array.isArray(result.stopped));
	assert.ok(result.stopped.includes(alice), `${alice} is in ${JSON.stringify(result.stopped)}`);
	assert.equal((await service.getStatus(alice))!.status, "stopped");
	assert.deepEqual((await service.reapIdle()).stopped.includes(alice), false, "and only once");
});

test("an invalid user id is a ContainerError with SQLSTATE 22023, message and detail", { timeout: LIMIT }, async () => {
	await assert.rejects(service.ensureRunning(""), (error: unknown) => {
		assert.ok(error instanceof ContainerError);
		assert.equal(error.code, "22023");
		assert.match(error.message, /^user id must match /);
		assert.match(error.detail ?? "", /the value given is empty\.$/);
		return true;
	});
	await assert.rejects(service.getStatus(null as unknown as string), { name: "ContainerError", code: "22004" });
});

test("a full port range is SQLSTATE 53400 with PostgreSQL's detail and hint", { timeout: LIMIT }, async () => {
	// A range of one port, held by bob (running or not, his port stays his).
	const held = await pool.query("SELECT gateway_port FROM user_container WHERE user_id = $1", [bob]);
	const port: number = held.rows[0].gateway_port;
	const narrow = new ContainerLifecycleService(
		poolConfig({ options: `-c pg_container.port_range_start=${port} -c pg_container.port_range_end=${port}` }),
	);
	try {
		await assert.rejects(narrow.ensureRunning(carol), (error: unknown) => {
			assert.ok(error instanceof ContainerError);
			assert.equal(error.code, "53400");
			assert.match(error.message, /^no free gateway port in the range/);
			assert.match(error.detail ?? "", /held by another user/);
			assert.equal(error.hint, "Widen the range, or remove users that no longer need a container.");
			return true;
		});
	} finally {
		await narrow.close();
	}
});

function nextEvent(name: string, user: string): Promise<ContainerEvent> {
	return new Promise((resolve) => {
		const onEvent = (event: ContainerEvent) => {
			if (event.userId !== user) return;
			service.events.off(name, onEvent);
			resolve(event);
		};
		service.events.on(name, onEvent);
	});
}

test("events: 'event' and the per-name emit carry {id, at, userId, event, detail}", { timeout: LIMIT }, async () => {
	await service.events.listen();
	const anyEvent = nextEvent("event", dora);
	const started = nextEvent("started", dora);
	await service.ensureRunning(dora);
	const event = await started;
	assert.deepEqual(Object.keys(event).sort(), ["at", "detail", "event", "id", "userId"]);
	assert.equal(typeof event.id, "number");
	assert.ok(event.at instanceof Date);
	assert.equal(event.userId, dora);
	assert.equal(event.event, "started");
	assert.equal(typeof event.detail, "object");
	const first = await anyEvent;
	assert.ok(first.id <= event.id, "'event' saw it too, in id order");
	const row = await pool.query("SELECT event FROM container_event WHERE id = $1", [event.id]);
	assert.equal(row.rows[0].event, "started", "the id is the container_event row's");
});

test("events: a lost listening connection is an 'error', made again ('reconnect'), and events flow on", { timeout: LIMIT }, async () => {
	const name = `pgc-node-events-${process.pid}`;
	const own = new ContainerLifecycleService(poolConfig({ application_name: name }));
	try {
		await own.events.listen();
		const errors: unknown[] = [];
		own.events.on("error", (error) => errors.push(error));
		// (not events.once: it rejects on the 'error' this test expects)
		const reconnected = new Promise((resolve) => own.events.once("reconnect", resolve));
		const killed = await pool.query(
			"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND query = 'LISTEN pg_container'",
			[name],
		);
		assert.equal(killed.rowCount, 1, "the one listening backend is terminated");
		await reconnected;
		assert.ok(errors[0] instanceof ContainerError, "the loss was reported as a ContainerError");
		const started = new Promise<ContainerEvent>((resolve) =>
			own.events.on("started", (event: ContainerEvent) => event.userId === emil && resolve(event)),
		);
		await service.ensureRunning(emil);
		assert.equal((await started).userId, emil);
	} finally {
		await own.close();
	}
});

test("close: a service made from a PoolConfig ends its pool; listen after close is an error", { timeout: LIMIT }, async () => {
	const own = new ContainerLifecycleService(poolConfig());
	await own.events.listen();
	await own.close();
	await assert.rejects(own.events.listen(), ContainerError);
	await own.close();
});
