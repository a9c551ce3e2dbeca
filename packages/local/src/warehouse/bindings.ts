import { issuesAsMessages } from "@tapestry/core/zod-messages";
import * as z from "zod";

/**
 * Which data work a sandbox job does, by the job's target: an Airbyte connection loads a CSV into
 * a raw table, a dbt Cloud job builds a model, a Grouparoo schedule exports a model's rows. A
 * target without a binding keeps the sandbox's plain timed behaviour.
 */

const tableName = z
  .string({ error: 'expected a table name "schema.table"' })
  .regex(/^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$/, {
    error: 'expected a table name "schema.table" (letters, digits, underscores)',
  });

const sourceKey = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$/, {
  error: "expected a dbt source key \"source_name.table_name\", as in source('source_name', 'table_name')",
});

const fileName = z.string({ error: "expected a file name" }).regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, {
  error: 'expected a plain file name such as "mailchimp-audience.json" (no folders)',
});

export const airbyteBindingSchema = z.strictObject({
  /** the raw table the sync replaces, "schema.table" */
  table: tableName,
  /** the CSV file standing in for the source */
  csv: z.string().min(1, { error: "expected the path of a CSV file" }),
});

export const dbtCloudBindingSchema = z.strictObject({
  /** the model's .sql file */
  model: z.string().min(1, { error: "expected the path of a dbt model (.sql)" }),
  /** the relation the job builds, "schema.table" */
  table: tableName,
  /** what each source('a', 'b') of the model reads: "a.b" -> "schema.table" */
  sources: z.record(sourceKey, tableName),
  /** what each ref('m') reads: "m" -> "schema.table" (default the bare name) */
  refs: z.record(z.string(), tableName).optional(),
});

export const grouparooBindingSchema = z.strictObject({
  /** the model table whose rows the schedule syncs */
  table: tableName,
  /** the file under the export folder the audience is written to */
  exportFile: fileName,
});

export const warehouseBindingsSchema = z.strictObject({
  /** by Airbyte connectionId */
  airbyte: z.record(z.string().min(1), airbyteBindingSchema).default({}),
  /** by dbt Cloud job (definition) id */
  "dbt-cloud": z
    .record(
      z.string().regex(/^[1-9][0-9]*$/, { error: "expected a dbt Cloud job id" }),
      dbtCloudBindingSchema,
    )
    .default({}),
  /** by Grouparoo scheduleId */
  grouparoo: z.record(z.string().min(1), grouparooBindingSchema).default({}),
});

export type AirbyteBinding = z.output<typeof airbyteBindingSchema>;
export type DbtCloudBinding = z.output<typeof dbtCloudBindingSchema>;
export type GrouparooBinding = z.output<typeof grouparooBindingSchema>;
export type WarehouseBindings = z.output<typeof warehouseBindingsSchema>;
export type WarehouseBindingsInput = z.input<typeof warehouseBindingsSchema>;

export class WarehouseBindingsError extends Error {
  override readonly name = "WarehouseBindingsError";
}

/** Validates bindings; throws WarehouseBindingsError listing every problem with its path. */
export function parseWarehouseBindings(input: unknown): WarehouseBindings {
  const result = warehouseBindingsSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = issuesAsMessages(result.error.issues).map(
    ({ path, message }) => `  - ${path}: ${message}`,
  );
  throw new WarehouseBindingsError(`invalid warehouse bindings:\n${problems.join("\n")}`);
}
