// helpers.ts: what the tests share: a pool on the suite's test database
// (PGHOST, PGPORT, PGUSER from the environment test/lib/env.sh writes;
// PGDATABASE, default pgc_test), user ids of this run, SQL the tests use
// to set the scene, and the suite's private dockerd (DOCKER_HOST).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Pool, type PoolConfig } from "pg";

export const database = process.env.PGDATABASE || "pgc_test";

export function poolConfig(extra: PoolConfig = {}): PoolConfig {
	return { database, max: 4, application_name: "pgc-node-test", ...extra };
}

export function newPool(extra: PoolConfig = {}): Pool {
	return new Pool(poolConfig(extra));
}

// Ids unique to this run, so that a second run meets no leftovers.
const run = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
export function userId(name: string): string {
	return `nc-${name}-${run}`;
}

export async function hasFunction(pool: Pool, name: string): Promise<boolean> {
	const r = await pool.query(
		`SELECT 1 FROM pg_catalog.pg_proc p
		   JOIN pg_catalog.pg_extension e ON e.extnamespace = p.pronamespace AND e.extname = 'pg_container'
		  WHERE p.proname = $1`,
		[name],
	);
	return (r.rowCount ?? 0) > 0;
}

/** Remove the test's users, their containers and volumes. */
export async function removeUsers(pool: Pool, ids: string[]): Promise<void> {
	for (const id of ids) {
		await pool
			.query("SELECT container_remove($1, false) WHERE EXISTS (SELECT 1 FROM user_container WHERE user_id = $1)", [id])
			.catch(() => undefined);
	}
}

export const docker = (...args: string[]) => promisify(execFile)("docker", args);

/** Poll condition every 100 ms until it holds; rejects after limitMs. */
export async function waitFor(condition: () => Promise<boolean>, limitMs: number): Promise<void> {
	const end = Date.now() + limitMs;
	while (!(await condition())) {
		if (Date.now() > end) throw new Error(`condition not met within ${limitMs} ms`);
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
}
