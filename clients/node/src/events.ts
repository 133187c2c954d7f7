// events.ts: the pg_container events as an EventEmitter, over ONE
// connection that LISTENs on channel pg_container for every user.  Each
// NOTIFY carries the id of a container_event row (sent at commit); the rows
// of a burst are read in one query and emitted in id order as 'event' and
// under their own name ('started', 'failed', 'stopped', ...).  An event
// row named "error" is emitted as 'container-error': 'error' is the
// emitter's own, for a lost listening connection, emitted only when
// someone listens for it.  A lost connection is made again after a second;
// 'reconnect' says so, because events sent in between were missed.
import { EventEmitter } from "node:events";
import type { Notification, PoolClient } from "pg";
import { toContainerError } from "./errors";
import type { Sql } from "./sql";

export const CHANNEL = "pg_container";
const RECONNECT_DELAY_MS = 1000;

export interface ContainerEvent {
	id: number;
	at: Date;
	/** null for events of the background worker itself */
	userId: string | null;
	event: string;
	detail: Record<string, unknown>;
}

interface EventRow {
	id: string;
	at: Date;
	user_id: string | null;
	event: string;
	detail: Record<string, unknown> | null;
}

const EVENTS_BY_ID = `SELECT id, at, user_id, event, detail
  FROM @extschema@.container_event WHERE id = ANY($1::bigint[]) ORDER BY id`;

export class ContainerEvents extends EventEmitter {
	private client?: PoolClient;
	private connecting?: Promise<void>;
	private pendingIds = new Set<string>();
	private flushScheduled = false;
	private reconnectTimer?: NodeJS.Timeout;
	private closed = false;

	constructor(private readonly sql: Sql) {
		super();
	}

	/** Resolves once LISTEN pg_container is active; safe to call again. */
	listen(): Promise<void> {
		if (this.closed) return Promise.reject(toContainerError(new Error("the pg_container client is closed")));
		if (this.client) return Promise.resolve();
		if (!this.connecting) {
			this.connecting = this.connect().finally(() => (this.connecting = undefined));
		}
		return this.connecting;
	}

	private async connect(): Promise<void> {
		const client = await this.sql.pool.connect().catch((e: unknown) => {
			throw toContainerError(e);
		});
		client.on("notification", (msg) => this.onNotification(msg));
		client.on("error", (error) => this.onConnectionLost(client, error));
		client.on("end", () => this.onConnectionLost(client, new Error("the listening connection ended")));
		try {
			await client.query(`LISTEN ${CHANNEL}`);
		} catch (error) {
			client.release(true);
			throw toContainerError(error);
		}
		if (this.closed) {
			client.release(true);
			return;
		}
		this.client = client;
	}

	private onNotification(msg: Notification): void {
		if (msg.channel !== CHANNEL || !msg.payload || !/^[0-9]+$/.test(msg.payload)) return;
		this.pendingIds.add(msg.payload);
		if (this.flushScheduled) return;
		this.flushScheduled = true;
		setImmediate(() => void this.flush());
	}

	// The rows of every id notified since the last flush, in one query.
	private async flush(): Promise<void> {
		this.flushScheduled = false;
		const ids = [...this.pendingIds];
		this.pendingIds.clear();
		if (ids.length === 0 || this.closed) return;
		try {
			const rows = await this.sql.call<EventRow>(EVENTS_BY_ID, [ids]);
			for (const row of rows) this.emitEvent(toEvent(row));
		} catch (error) {
			this.reportError(toContainerError(error));
		}
	}

	private emitEvent(event: ContainerEvent): void {
		this.emit("event", event);
		this.emit(event.event === "error" ? "container-error" : event.event, event);
	}

	private onConnectionLost(client: PoolClient, error: Error): void {
		if (this.client !== client) return;
		this.client = undefined;
		client.release(error);
		if (this.closed) return;
		this.reportError(toContainerError(error));
		this.reconnectTimer = setTimeout(() => this.reconnect(), RECONNECT_DELAY_MS);
	}

	private reconnect(): void {
		this.reconnectTimer = undefined;
		if (this.closed) return;
		this.listen().then(
			() => this.emit("reconnect"),
			(error: unknown) => {
				this.reportError(toContainerError(error));
				this.reconnectTimer = setTimeout(() => this.reconnect(), RECONNECT_DELAY_MS);
			},
		);
	}

	// 'error' without a listener would throw out of a pg callback.
	private reportError(error: Error): void {
		if (this.listenerCount("error") > 0) this.emit("error", error);
	}

	/** UNLISTEN and give the connection back; no event is emitted after. */
	async close(): Promise<void> {
		this.closed = true;
		if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
		await this.connecting?.catch(() => undefined);
		const client = this.client;
		this.client = undefined;
		if (!client) return;
		try {
			await client.query(`UNLISTEN ${CHANNEL}`);
			client.release();
		} catch (error) {
			client.release(true);
		}
	}
}

function toEvent(row: EventRow): ContainerEvent {
	return { id: Number(row.id), at: row.at, userId: row.user_id, event: row.event, detail: row.detail ?? {} };
}
