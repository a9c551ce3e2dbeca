import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type SQLOutputValue } from "node:sqlite";
import {
  type AirbyteObjectKind,
  type BeginOutcome,
  type ProvisionedObject,
  type ProvisionedObjects,
  type ProvisioningRunRecord,
  type ProvisioningRuns,
  ProvisioningStoreUnavailableError,
} from "@tapestry/core/provisioning";

/**
 * What provisioning keeps, embedded: the ids it recorded and its runs, in the ledger's SQLite file
 * (`ledger.sqlite`), in tables of its own created on open. The run ledger's migrations own
 * `PRAGMA user_version`; these tables never touch it (CREATE TABLE IF NOT EXISTS only).
 */

const SCHEMA = `
CREATE TABLE IF NOT EXISTS provisioned_objects (
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  id TEXT NOT NULL,
  secrets_hash TEXT,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (kind, name)
) STRICT;
CREATE TABLE IF NOT EXISTS provisioning_runs (
  run_id TEXT PRIMARY KEY,
  started_at TEXT NOT NULL,
  body TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS provisioning_runs_by_start ON provisioning_runs (started_at, run_id);
CREATE TABLE IF NOT EXISTS provisioning_lock (
  only INTEGER PRIMARY KEY CHECK (only = 1),
  run_id TEXT NOT NULL,
  expires_at TEXT NOT NULL
) STRICT;
`;

export class SqliteProvisioningStore implements ProvisionedObjects, ProvisioningRuns {
  private constructor(
    private readonly db: DatabaseSync,
    private readonly now: () => Date,
  ) {}

  /** Opens (creating its tables when needed) the store in the SQLite file at `path`, or in memory. */
  static open(path: string | ":memory:", options: { now?: () => Date } = {}): SqliteProvisioningStore {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    const db = new DatabaseSync(path, { timeout: 5_000 });
    try {
      db.exec(SCHEMA);
      return new SqliteProvisioningStore(db, options.now ?? (() => new Date()));
    } catch (error) {
      db.close();
      throw error;
    }
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }

  async get(kind: AirbyteObjectKind, name: string): Promise<ProvisionedObject | undefined> {
    const row = this.run(() =>
      this.db.prepare("SELECT * FROM provisioned_objects WHERE kind = ? AND name = ?").get(kind, name),
    );
    return row === undefined ? undefined : objectOfRow(row);
  }

  async put(object: ProvisionedObject): Promise<void> {
    this.run(() =>
      this.db
        .prepare(
          `INSERT INTO provisioned_objects (kind, name, id, secrets_hash, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (kind, name) DO UPDATE SET id = excluded.id, secrets_hash = excluded.secrets_hash,
           updated_at = excluded.updated_at`,
        )
        .run(object.kind, object.name, object.id, object.secretsHash ?? null, object.updatedAt),
    );
  }

  async list(): Promise<readonly ProvisionedObject[]> {
    return this.run(() =>
      this.db.prepare("SELECT * FROM provisioned_objects ORDER BY kind, name").all().map(objectOfRow),
    );
  }

  async begin(record: ProvisioningRunRecord, lockExpiresAt: string): Promise<BeginOutcome> {
    const now = this.now().toISOString();
    return this.run(() => {
      this.db.exec("BEGIN IMMEDIATE");
      try {
        const lock = this.db.prepare("SELECT run_id, expires_at FROM provisioning_lock").get();
        const holder = lock === undefined ? undefined : String(lock.run_id);
        if (holder !== undefined && holder !== record.runId && String(lock?.expires_at) > now) {
          this.db.exec("ROLLBACK");
          return { begun: false, activeRunId: holder };
        }
        this.db
          .prepare(
            "INSERT INTO provisioning_lock (only, run_id, expires_at) VALUES (1, ?, ?) ON CONFLICT (only) DO UPDATE SET run_id = excluded.run_id, expires_at = excluded.expires_at",
          )
          .run(record.runId, lockExpiresAt);
        this.db
          .prepare(
            "INSERT INTO provisioning_runs (run_id, started_at, body) VALUES (?, ?, ?) ON CONFLICT (run_id) DO NOTHING",
          )
          .run(record.runId, record.startedAt, JSON.stringify(record));
        this.db.exec("COMMIT");
        return { begun: true };
      } catch (error) {
        if (this.db.isTransaction) this.db.exec("ROLLBACK");
        throw error;
      }
    });
  }

  async save(record: ProvisioningRunRecord): Promise<void> {
    this.run(() =>
      this.db
        .prepare(
          `INSERT INTO provisioning_runs (run_id, started_at, body) VALUES (?, ?, ?)
           ON CONFLICT (run_id) DO UPDATE SET body = excluded.body`,
        )
        .run(record.runId, record.startedAt, JSON.stringify(record)),
    );
  }

  async release(runId: string): Promise<void> {
    this.run(() => this.db.prepare("DELETE FROM provisioning_lock WHERE run_id = ?").run(runId));
  }

  async getRun(runId: string): Promise<ProvisioningRunRecord | undefined> {
    const row = this.run(() =>
      this.db.prepare("SELECT body FROM provisioning_runs WHERE run_id = ?").get(runId),
    );
    return row === undefined ? undefined : recordOfRow(row);
  }

  async last(): Promise<ProvisioningRunRecord | undefined> {
    const row = this.run(() =>
      this.db
        .prepare("SELECT body FROM provisioning_runs ORDER BY started_at DESC, run_id DESC LIMIT 1")
        .get(),
    );
    return row === undefined ? undefined : recordOfRow(row);
  }

  /** SQLite busy past its timeout (another process holds the file): a named error the state machine retries. */
  private run<T>(work: () => T): T {
    try {
      return work();
    } catch (error) {
      const code = (error as { errcode?: number }).errcode;
      if (code === 5 || code === 6) {
        throw new ProvisioningStoreUnavailableError("the provisioning store's SQLite file is busy", {
          cause: error,
        });
      }
      throw error;
    }
  }
}

function objectOfRow(row: Record<string, SQLOutputValue>): ProvisionedObject {
  return {
    kind: String(row.kind) as AirbyteObjectKind,
    name: String(row.name),
    id: String(row.id),
    ...(row.secrets_hash === null ? {} : { secretsHash: String(row.secrets_hash) }),
    updatedAt: String(row.updated_at),
  };
}

function recordOfRow(row: Record<string, SQLOutputValue>): ProvisioningRunRecord {
  return JSON.parse(String(row.body)) as ProvisioningRunRecord;
}
