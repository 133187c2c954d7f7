// service.ts: ContainerLifecycleService, with the method names, arguments
// and return shapes of the original NestJS service (dockerode + Prisma), so
// that an application changes one import.  Each method is one call of the
// extension's SQL function of the same name; the results are mapped to the
// original's shapes here, and only here.
import { Pool, type PoolConfig } from "pg";
import { ContainerEvents } from "./events";
import { Sql } from "./sql";
import { StartQueue, type StartResult } from "./start_queue";

export interface ContainerLifecycleOptions {
	/** the schema pg_container is installed in; default: looked up in pg_extension */
	schema?: string;
}

export interface ContainerStatus {
	status: string;
	port?: number;
	lastActive?: Date;
}

export interface HealthResult {
	userId: string;
	healthy: boolean;
	error?: string;
}

// The original's texts for the outcomes both report; the extension's own
// (e.g. "container ran out of memory", a Docker error) pass through.
const ORIGINAL_HEALTH_ERRORS: Record<string, string> = {
	"container not found": "Container not found",
	"container not running": "Container not running",
	"container healthcheck failed": "Container healthcheck failed",
};

function isPool(value: unknown): value is Pool {
	const v = value as Partial<Pool> | undefined;
	return typeof v?.connect === "function" && typeof v?.query === "function" && typeof v?.end === "function";
}

export class ContainerLifecycleService {
	/** pg_container's events; 'event' and one emit per event name */
	readonly events: ContainerEvents;
	private readonly sql: Sql;
	private readonly queue: StartQueue;
	private readonly ownsPool: boolean;
	private closing?: Promise<void>;

	/** From a pg Pool (left open at close) or a PoolConfig (a pool of its own, ended at close). */
	constructor(poolOrConfig: Pool | PoolConfig = {}, options: ContainerLifecycleOptions = {}) {
		this.ownsPool = !isPool(poolOrConfig);
		const pool = isPool(poolOrConfig) ? poolOrConfig : new Pool(poolOrConfig);
		this.sql = new Sql(pool, options.schema);
		this.events = new ContainerEvents(this.sql);
		this.queue = new StartQueue(this.sql, this.events);
	}

	// Ensure a user's container is running. Creates if needed, starts if stopped.
	async ensureRunning(userId: string): Promise<{ url: string; token: string }> {
		const rows = await this.sql.call<{ url: string; token: string }>(
			"SELECT url, token FROM @extschema@.container_ensure_running($1)",
			[userId],
		);
		return { url: rows[0].url, token: rows[0].token };
	}

	async stop(userId: string): Promise<void> {
		await this.sql.call("SELECT @extschema@.container_stop($1)", [userId]);
	}

	// The original returned nothing; the URL and token container_restart
	// returns are dropped to keep its shape.
	async restart(userId: string): Promise<void> {
		await this.sql.call("SELECT 1 FROM @extschema@.container_restart($1)", [userId]);
	}

	async touch(userId: string): Promise<void> {
		await this.sql.call("SELECT @extschema@.container_touch($1)", [userId]);
	}

	// null for an unknown user.  The extension keeps a stopped user's port
	// reserved; the original cleared it at stop, so it is left out then.
	async getStatus(userId: string): Promise<ContainerStatus | null> {
		const rows = await this.sql.call<{ status: string; port: number | null; last_active: Date | null }>(
			"SELECT status, port, last_active FROM @extschema@.container_status($1)",
			[userId],
		);
		if (rows.length === 0) return null;
		const row = rows[0];
		const status: ContainerStatus = { status: row.status };
		if (row.port !== null && row.status !== "stopped") status.port = row.port;
		if (row.last_active !== null) status.lastActive = row.last_active;
		return status;
	}

	async reapIdle(): Promise<{ stopped: string[] }> {
		const rows = await this.sql.call<{ user_id: string }>(
			"SELECT user_id FROM @extschema@.container_reap_idle() AS user_id",
			[],
		);
		return { stopped: rows.map((row) => row.user_id) };
	}

	// error only when unhealthy, in the original's words where it had them.
	async healthCheckAll(): Promise<HealthResult[]> {
		const rows = await this.sql.call<{ user_id: string; healthy: boolean; error: string | null }>(
			"SELECT user_id, healthy, error FROM @extschema@.container_health_check_all()",
			[],
		);
		return rows.map((row) => {
			const result: HealthResult = { userId: row.user_id, healthy: row.healthy };
			if (row.error !== null) result.error = ORIGINAL_HEALTH_ERRORS[row.error] ?? row.error;
			return result;
		});
	}

	/** Queue the user's start and return at once ('running' comes with url and token). */
	start(userId: string): Promise<StartResult> {
		return this.queue.start(userId);
	}

	/** Wait until the user's container runs (queuing its start if needed); rejects on 'failed' or timeout. */
	waitReady(userId: string, timeoutMs?: number): Promise<{ url: string; token: string }> {
		return this.queue.waitReady(userId, timeoutMs);
	}

	/** Fail pending waits, UNLISTEN, and end the pool if this service made it. */
	close(): Promise<void> {
		if (!this.closing) this.closing = this.shutDown();
		return this.closing;
	}

	private async shutDown(): Promise<void> {
		this.queue.close();
		await this.events.close();
		if (this.ownsPool) await this.sql.pool.end();
	}

	/** NestJS calls this at application shutdown. */
	onModuleDestroy(): Promise<void> {
		return this.close();
	}
}
