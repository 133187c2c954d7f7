// sql.ts: how this client reaches the extension's SQL functions: through a
// pg Pool, schema-qualified with the schema pg_container is installed in
// (looked up once in pg_extension unless given), every failure turned into
// a ContainerError.
import type { Pool, QueryResultRow } from "pg";
import { ContainerError, toContainerError } from "./errors";

const EXTENSION_SCHEMA = `SELECT n.nspname AS schema
  FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
 WHERE e.extname = 'pg_container'`;

function quoteIdent(name: string): string {
	return `"${name.replace(/"/g, '""')}"`;
}

export class Sql {
	private schema?: Promise<string>;

	constructor(
		readonly pool: Pool,
		schema?: string,
	) {
		if (schema) this.schema = Promise.resolve(quoteIdent(schema));
	}

	/** The quoted schema of the extension; a failed look-up is tried again next time. */
	qualifiedSchema(): Promise<string> {
		if (!this.schema) {
			this.schema = this.lookUpSchema();
			this.schema.catch(() => (this.schema = undefined));
		}
		return this.schema;
	}

	private async lookUpSchema(): Promise<string> {
		const rows = await this.rows<{ schema: string }>(EXTENSION_SCHEMA, []);
		if (rows.length === 0) {
			throw new ContainerError({
				message: "extension pg_container is not installed in this database",
				hint: "Run CREATE EXTENSION pg_container, or pass the database that has it.",
			});
		}
		return quoteIdent(rows[0].schema);
	}

	/** Run text, in which "@extschema@" stands for the extension's schema. */
	async call<R extends QueryResultRow>(text: string, params: unknown[]): Promise<R[]> {
		const schema = await this.qualifiedSchema();
		return this.rows<R>(text.replace(/@extschema@/g, schema), params);
	}

	private async rows<R extends QueryResultRow>(text: string, params: unknown[]): Promise<R[]> {
		try {
			return (await this.pool.query<R>(text, params)).rows;
		} catch (error) {
			throw toContainerError(error);
		}
	}
}
