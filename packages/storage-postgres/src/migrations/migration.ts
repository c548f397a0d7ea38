/** One step of the schema's history. `sql(schema)` is its SQL for a schema name (already quoted). */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: (schema: string) => string;
}
