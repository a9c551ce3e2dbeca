import { z } from "zod";
import type { Logger } from "../../logging";
import { TOOL_NAMES, type ToolName } from "../../names";
import type { SnowflakeConnect } from "./session";

/**
 * What a warehouse bootstrap is asked, what it answers, and what it needs. The bootstrapper runs
 * the plan's statements one at a time through a Snowflake session, records each applied one in the
 * history table (version, checksum, applied_at), and skips those already recorded.
 */

export interface WarehouseBootstrapRequest {
  /** plan only: change nothing (no statement, no key generated or stored), answer what would run */
  readonly dryRun?: boolean;
  /**
   * Give these tools' service users a new key pair; the previous public key stays valid in
   * RSA_PUBLIC_KEY_2 until the next rotation, so the tools can move to the new key without downtime.
   */
  readonly rotateKeys?: readonly ToolName[];
  /**
   * ms since the epoch (e.g. a Lambda's end less a margin): no statement starts that could not
   * finish by then; the run stops with WarehouseUnavailableError and a retry resumes.
   */
  readonly deadline?: number;
}

/** The request as a task's input (Step Functions, the CLI): parsed before anything runs. */
export const warehouseBootstrapRequestSchema = z.strictObject({
  dryRun: z.boolean({ error: "expected true or false" }).optional(),
  rotateKeys: z
    .array(z.enum(TOOL_NAMES, { error: `expected a tool: one of ${TOOL_NAMES.join(", ")}` }))
    .optional(),
  deadline: z.number({ error: "expected a time in ms since the epoch" }).int().positive().optional(),
});

/**
 * The errors a retry can cure (ASL Retry matches them by name): Snowflake unreachable or slow, out
 * of time, a secret store that failed for now. Every other failure needs a fix first.
 */
export const WAREHOUSE_BOOTSTRAP_RETRYABLE_ERRORS = [
  "WarehouseUnavailableError",
  "SecretUnavailableError",
] as const;

/** applied: ran now; skipped: recorded as applied before, identical; would-apply: a dry run's pending statement. */
export type WarehouseStatementState = "applied" | "skipped" | "would-apply";

export interface WarehouseStatementReport {
  /** 1-based position in the plan */
  readonly number: number;
  /** stable identity of the statement in the history, e.g. "1.04" */
  readonly version: string;
  /** one line saying what it does, with no secret and no key */
  readonly summary: string;
  readonly state: WarehouseStatementState;
  /** versioned: runs once, may never change; repeatable: runs again when what it sets changes */
  readonly kind: "versioned" | "repeatable";
  /** ISO 8601, for a statement recorded as applied (now or before) */
  readonly appliedAt?: string;
}

/** What became of a service user's key pair. */
export interface ServiceUserKeyReport {
  readonly tool: ToolName;
  readonly user: string;
  /** the secret NAME holding the private key */
  readonly privateKeySecret: string;
  /**
   * generated: none was stored, one was made and stored; kept: the stored one is used; rotated: a
   * new one replaced it (the previous public key stays valid as RSA_PUBLIC_KEY_2); would-generate /
   * would-rotate: a dry run's plan
   */
  readonly state: "generated" | "kept" | "rotated" | "would-generate" | "would-rotate";
  /** Snowflake's RSA_PUBLIC_KEY_FP form, "SHA256:<base64>" (none for would-generate) */
  readonly fingerprint?: string;
}

export interface WarehouseBootstrapResult {
  readonly account: string;
  readonly dryRun: boolean;
  /** every statement of the plan, in order */
  readonly statements: readonly WarehouseStatementReport[];
  readonly counts: { readonly applied: number; readonly skipped: number; readonly wouldApply: number };
  readonly keys: readonly ServiceUserKeyReport[];
  /** versions recorded as applied that the plan no longer has (Tapestry drops nothing: they are reported) */
  readonly notPlanned: readonly { readonly version: string; readonly appliedAt: string }[];
}

export type WarehouseBootstrapper = (request: WarehouseBootstrapRequest) => Promise<WarehouseBootstrapResult>;

/**
 * Where the service users' private keys are kept: SSM SecureString parameters on AWS (under
 * /tapestry/<stage>/), the embedded control plane's secret store locally. Never a file.
 */
export interface PrivateKeyStore {
  /** the stored PEM, or undefined when none is stored */
  read(name: string): Promise<string | undefined>;
  /** stores (or replaces) a PEM */
  write(name: string, pem: string): Promise<void>;
}

export interface WarehouseBootstrapDeps {
  /** opens the admin's session (snowflake-promise; the scripted session in tests and embedded) */
  readonly connect: SnowflakeConnect;
  /** reads the admin's secrets by name (key, passphrase or PAT) */
  readonly secrets: (name: string) => Promise<string>;
  readonly keys: PrivateKeyStore;
  readonly logger?: Logger;
  /** default: the system clock */
  readonly now?: () => Date;
}
