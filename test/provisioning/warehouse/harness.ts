import { generateKeyPairSync } from "node:crypto";
import { parseConfig, type WarehouseConfig } from "@tapestry/core/config";
import { SecretNotSetError } from "@tapestry/core/errors";
import type { Logger } from "@tapestry/core/logging";
import {
  createWarehouseBootstrapper,
  type PrivateKeyStore,
  type WarehouseBootstrapper,
} from "@tapestry/core/provisioning/warehouse";
import { fingerprintOf, ScriptedSnowflake, type ScriptedSnowflakeOptions } from "@tapestry/local/warehouse";
import kickstart from "../../../tapestry.config";

// biome-ignore lint/suspicious/noExplicitAny: the tests bend configs on purpose
type Loose = Record<string, any>;

/** The kickstart's warehouse section with a change applied, parsed. */
export function warehouseConfig(change: (warehouse: Loose) => void = () => undefined): WarehouseConfig {
  const copy = structuredClone(kickstart) as Loose;
  change(copy.warehouse);
  const { warehouse } = parseConfig(copy);
  if (!warehouse) throw new Error("the kickstart declares a warehouse");
  return warehouse;
}

export interface AdminKey {
  /** as stored in the secret: PKCS#8 PEM, encrypted when a passphrase is given */
  readonly pem: string;
  readonly fingerprint: string;
}

/** A fresh admin key pair (1024 bits would be refused by Snowflake; tests use its real size). */
export function adminKey(passphrase?: string): AdminKey {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const plain = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const pem = passphrase
    ? privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase }).toString()
    : plain;
  return { pem, fingerprint: fingerprintOf(plain) };
}

/** A key store in memory, as the embedded control plane keeps keys; `writes` counts what was stored. */
export function memoryKeyStore(): PrivateKeyStore & { readonly values: Map<string, string>; writes: number } {
  const values = new Map<string, string>();
  const store = {
    values,
    writes: 0,
    async read(name: string) {
      return values.get(name);
    },
    async write(name: string, pem: string) {
      store.writes++;
      values.set(name, pem);
    },
  };
  return store;
}

/** A logger that keeps every line, attributes included, as JSON text. */
export function capturingLogger(): Logger & { readonly lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (message: string, attributes?: Record<string, unknown>) => {
    lines.push(JSON.stringify({ level, message, ...attributes }));
  };
  return { lines, debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

export interface Rig {
  readonly config: WarehouseConfig;
  readonly account: ScriptedSnowflake;
  readonly keys: ReturnType<typeof memoryKeyStore>;
  readonly logger: ReturnType<typeof capturingLogger>;
  readonly secrets: Map<string, string>;
  readonly admin: AdminKey;
  readonly bootstrap: WarehouseBootstrapper;
  /** a bootstrapper of another config on the same account, keys and secrets (a user edited the config) */
  withConfig(config: WarehouseConfig): WarehouseBootstrapper;
}

let shared: AdminKey | undefined;

/**
 * A warehouse section, a scripted account that knows the admin's key, the admin's secret, a key
 * store and a capturing logger. A fixed clock a second apart per statement keeps applied_at in order.
 */
export function rig(
  options: {
    readonly change?: (warehouse: Loose) => void;
    readonly account?: Omit<ScriptedSnowflakeOptions, "adminKeyFingerprint">;
    readonly admin?: AdminKey;
  } = {},
): Rig {
  const config = warehouseConfig(options.change);
  shared ??= adminKey();
  const admin = options.admin ?? shared;
  const account = new ScriptedSnowflake({ adminKeyFingerprint: admin.fingerprint, ...options.account });
  const keys = memoryKeyStore();
  const logger = capturingLogger();
  const secrets = new Map<string, string>([["SNOWFLAKE_ADMIN_PRIVATE_KEY", admin.pem]]);
  let tick = Date.parse("2026-03-01T06:00:00.000Z");
  const withConfig = (cfg: WarehouseConfig) =>
    createWarehouseBootstrapper(cfg, {
      connect: account.connect,
      secrets: async (name) => {
        const value = secrets.get(name);
        if (value === undefined) throw new SecretNotSetError(name, "test");
        return value;
      },
      keys,
      logger,
      now: () => {
        tick += 1000;
        return new Date(tick);
      },
    });
  return { config, account, keys, logger, secrets, admin, bootstrap: withConfig(config), withConfig };
}

/** The statements executed, less the bootstrap's own bookkeeping (USE ROLE, the history's SELECT and INSERTs). */
export function planStatementsExecuted(account: ScriptedSnowflake): string[] {
  return account.executed
    .map((e) => e.sql)
    .filter((sql) => !/^USE ROLE |^SELECT VERSION, CHECKSUM|^INSERT INTO .*APPLIED_STATEMENTS/.test(sql));
}
