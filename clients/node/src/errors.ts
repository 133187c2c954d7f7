// errors.ts: the one error type of this client.  A failure PostgreSQL
// reported keeps its SQLSTATE (code) and PostgreSQL's own message, detail
// and hint, so callers can branch on the code the extension documents
// rather than on message text.  Anything else (a lost connection, a
// timeout of waitReady, a closed service) is a ContainerError too, with
// the original error as its cause and no code.

/** What PostgreSQL reported, as pg's DatabaseError carries it. */
export interface PostgresReport {
	code?: string;
	message: string;
	detail?: string;
	hint?: string;
	severity?: string;
	where?: string;
}

export class ContainerError extends Error {
	/** The SQLSTATE, e.g. "22023"; undefined if PostgreSQL reported nothing. */
	readonly code?: string;
	readonly detail?: string;
	readonly hint?: string;
	readonly severity?: string;
	readonly where?: string;

	constructor(report: PostgresReport, options?: { cause?: unknown }) {
		super(report.message, options);
		this.name = "ContainerError";
		this.code = report.code;
		this.detail = report.detail;
		this.hint = report.hint;
		this.severity = report.severity;
		this.where = report.where;
	}
}

/** waitReady gave up: the container was not running within its time. */
export class ContainerTimeoutError extends ContainerError {
	constructor(
		readonly userId: string,
		readonly timeoutMs: number,
		lastStatus: string | undefined,
	) {
		super({
			message: `container of user "${userId}" was not ready within ${timeoutMs} ms`,
			detail: lastStatus ? `Its start was last seen as "${lastStatus}".` : undefined,
		});
		this.name = "ContainerTimeoutError";
	}
}

// pg's DatabaseError: an Error with a five-character SQLSTATE and a severity.
function isDatabaseError(error: unknown): error is Error & PostgresReport {
	if (!(error instanceof Error)) return false;
	const e = error as Error & { code?: unknown; severity?: unknown };
	return typeof e.code === "string" && /^[0-9A-Z]{5}$/.test(e.code) && typeof e.severity === "string";
}

/** Any error of a query, as a ContainerError (one already is stays as it is). */
export function toContainerError(error: unknown): ContainerError {
	if (error instanceof ContainerError) return error;
	if (isDatabaseError(error)) {
		return new ContainerError(
			{
				code: error.code,
				message: error.message,
				detail: error.detail,
				hint: error.hint,
				severity: error.severity,
				where: error.where,
			},
			{ cause: error },
		);
	}
	const message = error instanceof Error ? error.message : String(error);
	return new ContainerError({ message }, { cause: error });
}

/** A failed start as the worker recorded it in a "failed" event's detail. */
export function startFailure(userId: string, detail: Record<string, unknown>): ContainerError {
	const text = (key: string): string | undefined =>
		typeof detail[key] === "string" ? (detail[key] as string) : undefined;
	return new ContainerError({
		code: text("sqlstate") ?? text("code"),
		message: text("message") ?? text("error") ?? `container of user "${userId}" failed to start`,
		detail: text("detail"),
		hint: text("hint"),
	});
}
