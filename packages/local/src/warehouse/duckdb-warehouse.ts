import { mkdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import {
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBResultReader,
  DuckDBTypeId,
  type Json,
} from "@duckdb/node-api";
import { type Materialization, quoteTableName, renderModel } from "./dbt-jinja";

/**
 * The embedded warehouse: one DuckDB database (a file, or ":memory:") that the sandboxes' job
 * runners load raw CSVs into, build dbt models in and read audiences from. Every operation goes
 * through one connection, one at a time (a promise queue): jobs of the three tools run
 * concurrently, and a model must never read a raw table half-replaced.
 */

export type WarehouseRow = Record<string, Json>;

export interface LoadResult {
  /** "schema.table" as given */
  table: string;
  rows: number;
  /** the CSV file's size */
  bytes: number;
}

export interface RunModelOptions {
  /** `source('a', 'b')` -> "schema.table", keyed "a.b" */
  sources: Readonly<Record<string, string>>;
  /** `ref('m')` -> "schema.table"; default the bare model name */
  refs?: Readonly<Record<string, string>> | undefined;
  /** the relation to build; default `main.<file name without .sql>` */
  table?: string | undefined;
  /** skips the work if aborted before it starts */
  signal?: AbortSignal | undefined;
}

export interface ModelResult {
  table: string;
  rows: number;
  materialized: Materialization;
}

export interface OperationOptions {
  /** skips the work if aborted before it starts */
  signal?: AbortSignal | undefined;
}

export interface ReadTableOptions extends OperationOptions {
  /** columns to sort by (ascending); default the table's natural order */
  orderBy?: readonly string[] | undefined;
}

export class WarehouseError extends Error {
  override readonly name = "WarehouseError";
}

const COLUMN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const BIG_INTEGERS: ReadonlySet<DuckDBTypeId> = new Set([
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UHUGEINT,
]);

export class Warehouse {
  /** the database file, or ":memory:" */
  readonly path: string;
  private connecting: Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | undefined;

  /** Opens lazily, on the first operation; use `Warehouse.open` to fail early on a bad path. */
  constructor(path = ":memory:") {
    this.path = path === ":memory:" ? path : resolve(path);
  }

  static async open(path = ":memory:"): Promise<Warehouse> {
    const warehouse = new Warehouse(path);
    await warehouse.enqueue(async () => undefined);
    return warehouse;
  }

  /** Replaces `table` ("schema.table") with the rows of a CSV file (header row, types detected). */
  async loadCsv(table: string, csvPath: string, options: OperationOptions = {}): Promise<LoadResult> {
    const target = quoteTableName(table);
    return this.enqueue(async (connection) => {
      const file = resolve(csvPath);
      const info = await stat(file).catch((error: NodeJS.ErrnoException) => {
        throw new WarehouseError(
          `cannot load ${table}: ${file} is not readable (${error.code ?? error.message})`,
        );
      });
      if (!info.isFile()) throw new WarehouseError(`cannot load ${table}: ${file} is not a file`);
      await ensureSchema(connection, table);
      await connection.run(
        `create or replace table ${target} as select * from read_csv(${literal(file)}, header = true)`,
      );
      return { table, rows: await countRows(connection, target), bytes: info.size };
    }, options.signal);
  }

  /** Renders a dbt model file and builds it (create or replace); answers the relation's row count. */
  async runModel(sqlPath: string, options: RunModelOptions): Promise<ModelResult> {
    const file = resolve(sqlPath);
    const name = basename(file).replace(/\.sql$/i, "");
    const table = options.table ?? `main.${name}`;
    const target = quoteTableName(table);
    const template = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
      throw new WarehouseError(`cannot read the model ${file} (${error.code ?? error.message})`);
    });
    const { sql, materialized } = renderModel(template, {
      sources: options.sources,
      refs: options.refs,
      model: sqlPath,
    });
    return this.enqueue(async (connection) => {
      await ensureSchema(connection, table);
      const existing = await relationKind(connection, table);
      await connection.run("begin transaction");
      try {
        if (existing !== undefined && existing !== materialized)
          await connection.run(`drop ${existing} ${target}`);
        await connection.run(`create or replace ${materialized} ${target} as\n${sql}`);
        await connection.run("commit");
      } catch (error) {
        await connection.run("rollback").catch(() => undefined);
        const message = error instanceof Error ? error.message : String(error);
        throw new WarehouseError(`the model ${sqlPath} failed to build ${table}: ${message}`);
      }
      return { table, rows: await countRows(connection, target), materialized };
    }, options.signal);
  }

  /** Every row of a table or view, as JSON values (integers as numbers when they fit, timestamps as text). */
  async readTable(name: string, options: ReadTableOptions = {}): Promise<WarehouseRow[]> {
    const target = quoteTableName(name);
    const order = (options.orderBy ?? []).map((column) => {
      if (!COLUMN.test(column)) throw new WarehouseError(`"${column}" is not a column name`);
      return `"${column}"`;
    });
    return this.enqueue(async (connection) => {
      const result = await connection.runAndReadAll(
        `select * from ${target}${order.length > 0 ? ` order by ${order.join(", ")}` : ""}`,
      );
      return jsonRows(result);
    }, options.signal);
  }

  /** Runs one statement that answers no rows (DDL such as the embedded bootstrap's CREATE ... IF NOT EXISTS). */
  async execute(sql: string, options: OperationOptions = {}): Promise<void> {
    return this.enqueue(async (connection) => {
      try {
        await connection.run(sql);
      } catch (error) {
        throw new WarehouseError(
          `${sql.split("\n")[0]}: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }, options.signal);
  }

  /** How many rows a table or view has. */
  async countRows(name: string, options: OperationOptions = {}): Promise<number> {
    const target = quoteTableName(name);
    return this.enqueue((connection) => countRows(connection, target), options.signal);
  }

  /** Waits for the queued operations, then closes the database; later operations are refused. */
  close(): Promise<void> {
    this.closing ??= this.queue.then(() => {
      const opened = this.connecting;
      this.connecting = undefined;
      if (!opened) return;
      return opened.then(
        ({ instance, connection }) => {
          connection.closeSync();
          instance.closeSync();
        },
        () => undefined,
      );
    });
    return this.closing;
  }

  private enqueue<T>(task: (connection: DuckDBConnection) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.closing) return Promise.reject(new WarehouseError(`the warehouse ${this.path} is closed`));
    const run = this.queue.then(async () => {
      signal?.throwIfAborted();
      const { connection } = await this.connect();
      return task(connection);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private connect(): Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> {
    this.connecting ??= (async () => {
      if (this.path !== ":memory:") await mkdir(dirname(this.path), { recursive: true });
      const instance = await DuckDBInstance.create(this.path);
      try {
        return { instance, connection: await instance.connect() };
      } catch (error) {
        instance.closeSync();
        throw error;
      }
    })();
    // a failed open is retried by the next operation
    this.connecting.catch(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }
}

async function ensureSchema(connection: DuckDBConnection, table: string): Promise<void> {
  const [schema, name] = table.split(".");
  if (name !== undefined && schema !== undefined)
    await connection.run(`create schema if not exists "${schema}"`);
}

async function countRows(connection: DuckDBConnection, quotedTable: string): Promise<number> {
  const result = await connection.runAndReadAll(`select count(*) from ${quotedTable}`);
  return Number(result.getRows()[0]?.[0] ?? 0);
}

async function relationKind(
  connection: DuckDBConnection,
  table: string,
): Promise<"table" | "view" | undefined> {
  const [schema, name] = table.includes(".") ? table.split(".") : ["main", table];
  const result = await connection.runAndReadAll(
    `select 'table' from duckdb_tables() where schema_name = ${literal(schema ?? "")} and table_name = ${literal(name ?? "")}
     union all
     select 'view' from duckdb_views() where schema_name = ${literal(schema ?? "")} and view_name = ${literal(name ?? "")}`,
  );
  const kind = result.getRows()[0]?.[0];
  return kind === "table" || kind === "view" ? kind : undefined;
}

function jsonRows(result: DuckDBResultReader): WarehouseRow[] {
  const bigColumns = result
    .columnNames()
    .filter((_, index) => BIG_INTEGERS.has(result.columnType(index).typeId));
  const rows = result.getRowObjectsJson() as WarehouseRow[];
  if (bigColumns.length === 0) return rows;
  for (const row of rows) {
    for (const column of bigColumns) {
      const value = row[column];
      if (typeof value === "string" && Number.isSafeInteger(Number(value))) row[column] = Number(value);
    }
  }
  return rows;
}

/** A SQL string literal. */
function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
