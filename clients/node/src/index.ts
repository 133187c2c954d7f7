// index.ts: the public API of the pg_container Node client.
export { ContainerLifecycleService } from "./service";
export type { ContainerLifecycleOptions, ContainerStatus, HealthResult } from "./service";
export { ContainerEvents, CHANNEL } from "./events";
export type { ContainerEvent } from "./events";
export type { StartResult, StartStatus } from "./start_queue";
export { ContainerError, ContainerTimeoutError } from "./errors";
export type { PostgresReport } from "./errors";
