// start_queue.ts: start(userId) and waitReady(userId, timeoutMs) over the
// extension's start queue.  container_start returns at once ('running',
// 'queued' or 'starting'); the worker boots queued users and records a
// 'started' or 'failed' event.  Every waiter of every user shares the one
// listening connection of ContainerEvents.  A waiter asks container_start
// for the current state only after LISTEN is active, so an event committed
// in between is never missed, and again after each 'started' event of its
// user and after a reconnect (events may have been missed meanwhile).
import { ContainerError, ContainerTimeoutError, startFailure, toContainerError } from "./errors";
import type { ContainerEvent, ContainerEvents } from "./events";
import type { Sql } from "./sql";

export type StartStatus = "running" | "queued" | "starting";

export interface StartResult {
	status: StartStatus;
	/** always set when status is 'running'; the queue may know them before */
	url?: string;
	token?: string;
}

interface Waiter {
	userId: string;
	resolve(value: { url: string; token: string }): void;
	reject(error: Error): void;
	timer?: NodeJS.Timeout;
	lastStatus?: string;
}

export const DEFAULT_WAIT_MS = 60_000;

export class StartQueue {
	private waiters = new Map<string, Set<Waiter>>();
	private closed = false;

	constructor(
		private readonly sql: Sql,
		private readonly events: ContainerEvents,
	) {
		events.on("event", (event: ContainerEvent) => this.onEvent(event));
		events.on("reconnect", () => this.checkAll());
	}

	async start(userId: string): Promise<StartResult> {
		const rows = await this.sql.call<{ url: string | null; token: string | null; status: StartStatus }>(
			"SELECT url, token, status FROM @extschema@.container_start($1)",
			[userId],
		);
		const { url, token, status } = rows[0];
		const result: StartResult = { status };
		if (url !== null) result.url = url;
		if (token !== null) result.token = token;
		return result;
	}

	/** Queues the start if nobody did (container_start is idempotent) and waits until it runs. */
	async waitReady(userId: string, timeoutMs = DEFAULT_WAIT_MS): Promise<{ url: string; token: string }> {
		await this.events.listen();
		if (this.closed) throw closedError();
		return new Promise((resolve, reject) => {
			const waiter: Waiter = { userId, resolve, reject };
			waiter.timer = setTimeout(
				() => this.settle(waiter, new ContainerTimeoutError(userId, timeoutMs, waiter.lastStatus)),
				timeoutMs,
			);
			let set = this.waiters.get(userId);
			if (!set) this.waiters.set(userId, (set = new Set()));
			set.add(waiter);
			void this.check(waiter);
		});
	}

	private async check(waiter: Waiter): Promise<void> {
		try {
			const result = await this.start(waiter.userId);
			waiter.lastStatus = result.status;
			if (result.status === "running" && result.url !== undefined && result.token !== undefined) {
				this.settle(waiter, undefined, { url: result.url, token: result.token });
			}
		} catch (error) {
			this.settle(waiter, toContainerError(error));
		}
	}

	private onEvent(event: ContainerEvent): void {
		const set = event.userId === null ? undefined : this.waiters.get(event.userId);
		if (!set) return;
		for (const waiter of [...set]) {
			if (event.event === "started") void this.check(waiter);
			else if (event.event === "failed") this.settle(waiter, startFailure(waiter.userId, event.detail));
		}
	}

	private checkAll(): void {
		for (const set of this.waiters.values()) for (const waiter of set) void this.check(waiter);
	}

	private settle(waiter: Waiter, error?: Error, value?: { url: string; token: string }): void {
		const set = this.waiters.get(waiter.userId);
		if (!set?.delete(waiter)) return;
		if (set.size === 0) this.waiters.delete(waiter.userId);
		clearTimeout(waiter.timer);
		if (error) waiter.reject(error);
		else waiter.resolve(value!);
	}

	/** Every pending waitReady fails: the client is closing. */
	close(): void {
		this.closed = true;
		for (const set of [...this.waiters.values()]) {
			for (const waiter of [...set]) {
				this.settle(waiter, closedError());
			}
		}
	}
}

function closedError(): ContainerError {
	return new ContainerError({ message: "the pg_container client was closed while waiting" });
}
