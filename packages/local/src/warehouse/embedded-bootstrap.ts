import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { WarehouseConfig } from "@tapestry/core/config";
import { SecretNotSetError } from "@tapestry/core/errors";
import type { Logger } from "@tapestry/core/logging";
import {
  createWarehouseBootstrapper,
  type PrivateKeyStore,
  type WarehouseBootstrapRequest,
  type WarehouseBootstrapResult,
} from "@tapestry/core/provisioning/warehouse";
import type { Warehouse } from "./duckdb-warehouse";
import { KICKSTART_DIR, KICKSTART_MODEL, KICKSTART_SYNCS } from "./kickstart";
import {
  fingerprintOf,
  type ScriptedAccountState,
  ScriptedSnowflake,
  scriptedAccountStateSchema,
} from "./scripted-snowflake";

/**
 * The warehouse bootstrap of the embedded control plane. The embedded warehouse is one DuckDB
 * file, which has no roles, users, grants or warehouses: the part of provisioning it can hold
 * runs on it (the schemas the kickstart's syncs land in and its model is built in, and the
 * kickstart's raw tables, all CREATE ... IF NOT EXISTS), and the whole Snowflake plan runs on a
 * scripted Snowflake account that records what would run and answers as a real one would (so a
 * re-run applies nothing, a changed statement is refused). The admin's credentials are made for
 * the session; the service users' private keys are kept by `keys` (in memory unless given).
 */

export interface EmbeddedWarehouseOptions {
  readonly config: WarehouseConfig;
  /** the embedded DuckDB warehouse */
  readonly warehouse: Warehouse;
  /** where templates/kickstart is */
  readonly repoRoot: string;
  /** a JSON file that keeps the scripted account between starts (it holds no secret: names, grants, public keys) */
  readonly accountFile?: string;
  /** the service users' private keys (default: in memory, for this process) */
  readonly keys?: PrivateKeyStore;
  readonly logger?: Logger;
  readonly request?: WarehouseBootstrapRequest;
}

export interface EmbeddedWarehouseResult {
  /** what the Snowflake plan did on the scripted account */
  readonly snowflake: WarehouseBootstrapResult;
  /** the statements run on the embedded DuckDB, in order (each re-runnable) */
  readonly duckdb: readonly string[];
  /** the scripted account, e.g. to read what it recorded */
  readonly account: ScriptedSnowflake;
}

/** The part of provisioning DuckDB can hold: the kickstart's schemas and raw tables, columns from its CSVs. */
export async function embeddedWarehouseStatements(repoRoot: string): Promise<string[]> {
  const syncs = Object.values(KICKSTART_SYNCS);
  const schemas = [
    ...new Set([...syncs.map((s) => s.table), KICKSTART_MODEL.table].map((t) => t.split(".")[0] ?? "")),
  ];
  const statements = schemas.map((schema) => `CREATE SCHEMA IF NOT EXISTS ${quote(schema)}`);
  for (const sync of syncs) {
    const header =
      (await readFile(join(repoRoot, KICKSTART_DIR, "data", sync.csv), "utf8")).split(/\r?\n/, 1)[0] ?? "";
    const columns = header.split(",").map((column) => `${quote(column.trim())} VARCHAR`);
    const [schema = "", table = ""] = sync.table.split(".");
    statements.push(`CREATE TABLE IF NOT EXISTS ${quote(schema)}.${quote(table)} (${columns.join(", ")})`);
  }
  return statements;
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/** Runs the embedded warehouse bootstrap: DuckDB's part, then the Snowflake plan on the scripted account. */
export async function bootstrapEmbeddedWarehouse(
  options: EmbeddedWarehouseOptions,
): Promise<EmbeddedWarehouseResult> {
  const duckdb = await embeddedWarehouseStatements(options.repoRoot);
  for (const sql of duckdb) await options.warehouse.execute(sql);

  // the admin's credentials for this session: a key pair, or a token, that the scripted account accepts
  const { auth } = options.config.admin;
  const sessionSecrets = new Map<string, string>();
  let admin: { adminKeyFingerprint: string } | { adminToken: string };
  let config = options.config;
  if (auth.kind === "key-pair") {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    sessionSecrets.set(auth.privateKeySecret, pem);
    admin = { adminKeyFingerprint: fingerprintOf(pem) };
    // the session's key is not encrypted: no passphrase to read
    config = {
      ...config,
      admin: { ...config.admin, auth: { kind: "key-pair", privateKeySecret: auth.privateKeySecret } },
    };
  } else {
    const token = randomBytes(24).toString("base64url");
    sessionSecrets.set(auth.tokenSecret, token);
    admin = { adminToken: token };
  }
  const state = options.accountFile ? await readAccount(options.accountFile, options.logger) : undefined;
  const account = new ScriptedSnowflake({ ...admin, ...(state ? { state } : {}) });
  const bootstrap = createWarehouseBootstrapper(config, {
    connect: account.connect,
    secrets: async (name) => {
      const value = sessionSecrets.get(name);
      if (value === undefined) throw new SecretNotSetError(name, "local");
      return value;
    },
    keys: options.keys ?? memoryKeys(),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  try {
    const snowflake = await bootstrap(options.request ?? {});
    return { snowflake, duckdb, account };
  } finally {
    if (options.accountFile) await writeAccount(options.accountFile, account.snapshot());
  }
}

function memoryKeys(): PrivateKeyStore {
  const values = new Map<string, string>();
  return {
    read: async (name) => values.get(name),
    write: async (name, pem) => {
      values.set(name, pem);
    },
  };
}

/** The kept account; one that cannot be read as one is set aside (a fresh account replays the plan: every statement is re-runnable). */
async function readAccount(
  file: string,
  logger: Logger | undefined,
): Promise<ScriptedAccountState | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  try {
    const parsed = scriptedAccountStateSchema.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
  } catch {
    // not JSON: set aside below
  }
  logger?.warn(`the scripted Snowflake account in ${file} is not readable; starting a fresh one`);
  return undefined;
}

async function writeAccount(file: string, state: ScriptedAccountState): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const partial = `${file}.partial`;
  await writeFile(partial, `${JSON.stringify(state, null, 2)}\n`);
  await rename(partial, file);
}
