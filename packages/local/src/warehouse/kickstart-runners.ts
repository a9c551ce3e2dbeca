import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type JobRunContext,
  type JobRunner,
  type JobRunResult,
  timedJobRunner,
} from "../sandboxes/lifecycle";
import { sleep } from "../sandboxes/time";
import {
  type AirbyteBinding,
  type DbtCloudBinding,
  type GrouparooBinding,
  parseWarehouseBindings,
  type WarehouseBindingsInput,
} from "./bindings";
import type { Warehouse, WarehouseRow } from "./duckdb-warehouse";

/**
 * Job runners that make the sandboxes move real rows through the embedded warehouse: an Airbyte
 * sync loads its CSV into the raw table, a dbt Cloud run builds its model, a Grouparoo run writes
 * the model's rows as the audience file. Counts in the tools' answers are then real counts.
 *
 * Each runner does its work, then waits out the rest of the planned duration (so the lifecycle a
 * client polls keeps its shape) and stops when the job is cancelled. A job whose target has no
 * binding, whose scenario plans a failure, or whose scenario scripts its row count (e.g. a 0-row
 * "success") runs the fallback instead and touches no data.
 */

export interface WarehouseRunnersOptions {
  warehouse: Warehouse;
  bindings: WarehouseBindingsInput;
  /** the folder Grouparoo runs write their export files into (created when needed) */
  exportDir: string;
  /** runs jobs of unbound targets; default the sandbox's timed runner */
  fallback?: JobRunner | undefined;
}

export interface WarehouseRunners {
  airbyte: JobRunner;
  "dbt-cloud": JobRunner;
  grouparoo: JobRunner;
}

export function createWarehouseRunners(options: WarehouseRunnersOptions): WarehouseRunners {
  const { warehouse, exportDir } = options;
  const bindings = parseWarehouseBindings(options.bindings);
  const fallback = options.fallback ?? timedJobRunner;

  const airbyte = bound<AirbyteBinding>(bindings.airbyte, fallback, async (binding, ctx) => {
    const loaded = await warehouse.loadCsv(binding.table, binding.csv, { signal: ctx.signal });
    ctx.progress(loaded.rows, loaded.bytes);
    return { rows: loaded.rows, bytes: loaded.bytes };
  });

  const dbtCloud = bound<DbtCloudBinding>(bindings["dbt-cloud"], fallback, async (binding, ctx) => {
    const built = await warehouse.runModel(binding.model, {
      table: binding.table,
      sources: binding.sources,
      refs: binding.refs,
      signal: ctx.signal,
    });
    return { rows: built.rows };
  });

  const grouparoo = bound<GrouparooBinding>(bindings.grouparoo, fallback, async (binding, ctx) => {
    const rows = await warehouse.readTable(binding.table, { signal: ctx.signal });
    const audience = sortByEmail(rows, binding.table);
    ctx.signal.throwIfAborted();
    await writeExport(exportDir, binding.exportFile, audience, ctx.id);
    ctx.progress(audience.length);
    return { rows: audience.length };
  });

  return { airbyte, "dbt-cloud": dbtCloud, grouparoo };
}

function bound<B>(
  bindings: Readonly<Record<string, B>>,
  fallback: JobRunner,
  work: (binding: B, context: JobRunContext) => Promise<JobRunResult>,
): JobRunner {
  return async (context) => {
    const binding = Object.hasOwn(bindings, context.key) ? bindings[context.key] : undefined;
    // a planned failure fails after its duration anyway: it must not change the data either
    if (binding === undefined || context.plan.outcome === "failed" || context.plan.rowsScripted) {
      return fallback(context);
    }
    const started = Date.now();
    context.signal.throwIfAborted();
    const result = await work(binding, context);
    await sleep(context.plan.durationMs - (Date.now() - started), context.signal);
    return result;
  };
}

function sortByEmail(rows: WarehouseRow[], table: string): WarehouseRow[] {
  const keyed = rows.map((row) => {
    const email = row.email;
    if (typeof email !== "string")
      throw new Error(`${table} has a row without a text "email" column: it cannot be synced to Mailchimp`);
    return { email, row };
  });
  keyed.sort((a, b) => (a.email < b.email ? -1 : a.email > b.email ? 1 : 0));
  return keyed.map(({ row }) => row);
}

/** Writes the audience whole or not at all: to a temporary file first, then renamed into place. */
async function writeExport(dir: string, file: string, rows: WarehouseRow[], runId: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const target = join(dir, file);
  const temporary = join(dir, `.${file}.${runId.replace(/[^\w-]/g, "_")}.tmp`);
  try {
    await writeFile(temporary, `${JSON.stringify(rows, null, 2)}\n`, "utf8");
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
