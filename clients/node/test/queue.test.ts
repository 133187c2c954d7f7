// queue.test.ts: start(userId) and waitReady(userId, timeoutMs) over the
// start queue (container_start, the worker's 'started' and 'failed'
// events).  Skipped, with the reason, where the database has no
// container_start yet.
import assert from "node:assert/strict";
import { after, before, test, type TestContext } from "node:test";
import { ContainerError, ContainerLifecycleService, ContainerTimeoutError } from "../src";
import { hasFunction, newPool, poolConfig, removeUsers, userId } from "./helpers";

const pool = newPool();
const service = new ContainerLifecycleService(pool);
const users = ["dave", "erin", "frank", "grace", "heidi", "ivan", "judy"].map(userId);
const [dave, erin, frank, grace, heidi, ivan] = users;
let queue = false;

before(async () => {
	queue = await hasFunction(pool, "container_start");
});

after(async () => {
	await service.close();
	await removeUsers(pool, users);
	await pool.query("DELETE FROM container_profile WHERE name = 'nc-refused'").catch(() => undefined);
	await pool.end();
});

function needsQueue(t: TestContext): boolean {
	if (!queue) t.skip("container_start is not in this database: the start queue has not landed");
	return queue;
}

// A test that waits for something that never comes fails rather than hanging the run.
const LIMIT = 40_000;
const statuses = ["running", "queued", "starting"];

test("start returns at once with status running, queued or starting, and url and token when running", { timeout: LIMIT }, async (t) => {
	if (!needsQueue(t)) return;
	const first = await service.start(dave);
	assert.ok(statuses.includes(first.status), first.status);
	for (const key of Object.keys(first)) assert.ok(["status", "token", "url"].includes(key), key);
	await service.waitReady(dave, 30_000);
	const running = await service.start(dave);
	assert.deepEqual(Object.keys(running).sort(), ["status", "token", "url"]);
	assert.equal(running.status, "running", "asked again once it runs: running, at once");
});

test("waitReady resolves to {url, token} once the worker started the container", { timeout: LIMIT }, async (t) => {
	if (!needsQueue(t)) return;
	await service.start(erin);
	const ready = await service.waitReady(erin, 30_000);
	assert.deepEqual(Object.keys(ready).sort(), ["token", "url"]);
	assert.equal((await service.getStatus(erin))!.status, "running");
	assert.deepEqual(ready, await service.ensureRunning(erin), "the running container's url and token");
});

test("waiters of several users share one listening connection", { timeout: LIMIT }, async (t) => {
	if (!needsQueue(t)) return;
	const name = `pgc-node-listen-${process.pid}`;
	const own = new ContainerLifecycleService(poolConfig({ application_name: name }));
	try {
		const waits = Promise.all([frank, grace].map((u) => own.waitReady(u, 30_000)));
		waits.catch(() => undefined); // a failed count below closes them; that is not the error
		await own.events.listen();
		const listening = await pool.query(
			"SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND query = 'LISTEN pg_container'",
			[name],
		);
		assert.equal(listening.rows[0].n, 1, "one LISTEN connection for both users");
		for (const ready of await waits) assert.deepEqual(Object.keys(ready).sort(), ["token", "url"]);
	} finally {
		await own.close();
	}
});

test("a start that fails rejects waitReady with a ContainerError, not a timeout", { timeout: LIMIT }, async (t) => {
	if (!needsQueue(t)) return;
	// A memory limit Docker refuses at create: the start fails at once and
	// locally (a missing image would make dockerd try a registry).
	await pool.query("INSERT INTO container_profile (name, memory_limit_mb) VALUES ('nc-refused', 1) ON CONFLICT DO NOTHING");
	await pool.query("SELECT container_set_profile($1, 'nc-refused')", [heidi]);
	await assert.rejects(service.waitReady(heidi, 30_000), (error: unknown) => {
		assert.ok(error instanceof ContainerError);
		assert.ok(!(error instanceof ContainerTimeoutError), `not a timeout: ${String(error)}`);
		assert.equal(error.code, "58000", "the SQLSTATE the worker's start failed with");
		assert.match(error.message, /memory limit/, "and its message");
		return true;
	});
});

test("waitReady times out on the client with a ContainerTimeoutError that says so", { timeout: LIMIT }, async (t) => {
	if (!needsQueue(t)) return;
	await assert.rejects(service.waitReady(ivan, 1), (error: unknown) => {
		assert.ok(error instanceof ContainerTimeoutError);
		assert.equal(error.code, undefined, "no SQLSTATE: PostgreSQL reported nothing");
		assert.match(error.message, /^container of user ".*" was not ready within 1 ms$/);
		return true;
	});
});

test("close rejects a pending waitReady", { timeout: LIMIT }, async (t) => {
	if (!needsQueue(t)) return;
	const own = new ContainerLifecycleService(poolConfig());
	const wait = own.waitReady(users[6], 30_000);
	await own.close();
	await assert.rejects(wait, /closed while waiting/);
});
