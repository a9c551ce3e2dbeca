import type { ProvisioningRunRecord } from "./run-record";

/**
 * What provisioning keeps between runs, beside the run ledger (never in it):
 * - the ids of the objects it ensured in the tools, by kind and name, each with a hash of its
 *   secrets (a secret is never read back from a tool, so a changed one is known by its hash);
 * - its runs: the last one answers GET /provisioning, and a lock keeps to one run at a time.
 * Embedded both live in the SQLite file of the ledger (own tables); on AWS the ids are SSM
 * parameters under /tapestry/<stage>/provisioning/ (the pipeline functions read a connection's id
 * there, as they read secrets), the runs items of the ledger's DynamoDB table (`PROV#`). ADR 0021.
 */

export const AIRBYTE_OBJECT_KINDS = ["workspace", "destination", "source", "connection"] as const;
export type AirbyteObjectKind = (typeof AIRBYTE_OBJECT_KINDS)[number];

export interface ProvisionedObject {
  readonly kind: AirbyteObjectKind;
  /** the declared name (the workspace's name for the workspace) */
  readonly name: string;
  /** the tool's id of the object */
  readonly id: string;
  /** `sha256:<hex>` of the secrets last sent with it (absent: none) */
  readonly secretsHash?: string;
  /** ISO 8601, when provisioning last wrote it */
  readonly updatedAt: string;
}

/** The ids provisioning recorded (Airbyte's objects). */
export interface ProvisionedObjects {
  get(kind: AirbyteObjectKind, name: string): Promise<ProvisionedObject | undefined>;
  put(object: ProvisionedObject): Promise<void>;
  list(): Promise<readonly ProvisionedObject[]>;
}

/** How a request to begin a run was answered: it holds the lock now, or another run does. */
export type BeginOutcome = { readonly begun: true } | { readonly begun: false; readonly activeRunId: string };

/** Provisioning's runs and the lock that keeps them to one at a time. */
export interface ProvisioningRuns {
  /**
   * Takes the lock for `runId` (free, expired, or this run's already) and stores its first record;
   * a run that holds it already is answered, and nothing is written.
   */
  begin(record: ProvisioningRunRecord, lockExpiresAt: string): Promise<BeginOutcome>;
  /** Replaces the run's record (a later state of the same run). */
  save(record: ProvisioningRunRecord): Promise<void>;
  /** Frees the lock if `runId` holds it. */
  release(runId: string): Promise<void>;
  getRun(runId: string): Promise<ProvisioningRunRecord | undefined>;
  /** The run that began last. */
  last(): Promise<ProvisioningRunRecord | undefined>;
}
