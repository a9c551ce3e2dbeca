import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type SQLOutputValue } from "node:sqlite";
import { LedgerUnavailableError } from "@tapestry/core/errors";
import {
  type JobKey,
  type TaskTokenStore,
  TOKEN_RECORD_RETENTION_MS,
  type TokenRecord,
  type TokenRegistration,
} from "@tapestry/core/webhooks";

/**
 * The embedded control plane's task-token store: a table of its own in the run ledger's SQLite
 * file (`ledger.sqlite`), created on open; the run ledger's migrations (PRAGMA user_version) are
 * not touched. One row per job; each operation runs in one `BEGIN IMMEDIATE` transaction, so a
 * delivery and a registration racing each other always see one another, and only one completer
 * of a token wins its claim. Rows are deleted a day past their last use.
 */
export class SqliteTaskTokenStore implements TaskTokenStore {
  private constructor(private readonly db: DatabaseSync) {}

  /** Opens the store in the SQLite file at `path` (the run ledger's), or in memory. */
  static open(path: string | ":memory:"): SqliteTaskTokenStore {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    const db = new DatabaseSync(path, { timeout: 5_000 });
    try {
      if (path !== ":memory:") db.exec("PRAGMA journal_mode = WAL");
      db.exec(SCHEMA);
      return new SqliteTaskTokenStore(db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }

  async register(key: JobKey, registration: TokenRegistration): Promise<TokenRecord | undefined> {
    return this.transaction(() => {
      const before = this.read(key);
      this.db
        .prepare(
          `INSERT INTO task_tokens (tool, external_id, token, input, registered_at, expires_at, deliveries, keep_until)
           VALUES (?, ?, ?, ?, ?, ?, 0, ?)
           ON CONFLICT (tool, external_id) DO UPDATE SET token = excluded.token, input = excluded.input,
             registered_at = excluded.registered_at, expires_at = excluded.expires_at, keep_until = excluded.keep_until`,
        )
        .run(
          key.tool,
          key.externalId,
          registration.token,
          registration.input,
          registration.now,
          registration.expiresAt,
          keepUntil(registration.expiresAt),
        );
      this.db.prepare("DELETE FROM task_tokens WHERE keep_until < ?").run(registration.now);
      return before;
    });
  }

  async recordDelivery(key: JobKey, now: string): Promise<TokenRecord> {
    return this.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO task_tokens (tool, external_id, delivered_at, deliveries, keep_until) VALUES (?, ?, ?, 1, ?)
           ON CONFLICT (tool, external_id) DO UPDATE SET delivered_at = excluded.delivered_at,
             deliveries = deliveries + 1, keep_until = max(keep_until, excluded.keep_until)`,
        )
        .run(key.tool, key.externalId, now, keepUntil(now));
      return this.read(key) ?? { deliveries: 1 };
    });
  }

  async claim(key: JobKey, token: string, now: string, until: string): Promise<boolean> {
    return this.transaction(() => {
      const changed = this.db
        .prepare(
          `UPDATE task_tokens SET claim_token = ?, claim_until = ?
           WHERE tool = ? AND external_id = ? AND token = ? AND (done_token IS NULL OR done_token <> ?)
             AND (claim_token IS NULL OR claim_token <> ? OR claim_until < ?)`,
        )
        .run(token, until, key.tool, key.externalId, token, token, token, now);
      return Number(changed.changes) === 1;
    });
  }

  async release(key: JobKey, token: string): Promise<void> {
    this.transaction(() => {
      this.db
        .prepare(
          "UPDATE task_tokens SET claim_token = NULL, claim_until = NULL WHERE tool = ? AND external_id = ? AND claim_token = ?",
        )
        .run(key.tool, key.externalId, token);
    });
  }

  async complete(key: JobKey, token: string): Promise<void> {
    this.transaction(() => {
      this.db
        .prepare(
          "UPDATE task_tokens SET done_token = ?, claim_token = NULL, claim_until = NULL WHERE tool = ? AND external_id = ?",
        )
        .run(token, key.tool, key.externalId);
    });
  }

  private read(key: JobKey): TokenRecord | undefined {
    const row = this.db
      .prepare("SELECT * FROM task_tokens WHERE tool = ? AND external_id = ?")
      .get(key.tool, key.externalId);
    return row === undefined ? undefined : recordOf(row);
  }

  private transaction<T>(work: () => T): T {
    try {
      this.db.exec("BEGIN IMMEDIATE");
    } catch (error) {
      throw new LedgerUnavailableError("the task-token store is busy or unreadable for now: try again", {
        cause: error,
      });
    }
    try {
      const result = work();
      this.db.exec("COMMIT");
      return result;
    } catch (error) {
      if (this.db.isTransaction) this.db.exec("ROLLBACK");
      throw error;
    }
  }
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS task_tokens (
  tool TEXT NOT NULL,
  external_id TEXT NOT NULL,
  token TEXT,
  input TEXT,
  registered_at TEXT,
  expires_at TEXT,
  delivered_at TEXT,
  deliveries INTEGER NOT NULL DEFAULT 0,
  claim_token TEXT,
  claim_until TEXT,
  done_token TEXT,
  keep_until TEXT NOT NULL,
  PRIMARY KEY (tool, external_id)
);
CREATE INDEX IF NOT EXISTS task_tokens_keep_until ON task_tokens (keep_until);
`;

/** A day past `time`: when the row may be deleted. */
function keepUntil(time: string): string {
  return new Date(Date.parse(time) + TOKEN_RECORD_RETENTION_MS).toISOString();
}

function recordOf(row: Record<string, SQLOutputValue>): TokenRecord {
  const text = (column: string) => (typeof row[column] === "string" ? (row[column] as string) : undefined);
  const fields: [keyof TokenRecord, string][] = [
    ["token", "token"],
    ["input", "input"],
    ["registeredAt", "registered_at"],
    ["expiresAt", "expires_at"],
    ["deliveredAt", "delivered_at"],
    ["claimToken", "claim_token"],
    ["claimUntil", "claim_until"],
    ["doneToken", "done_token"],
  ];
  return {
    ...Object.fromEntries(
      fields.flatMap(([field, column]) => (text(column) === undefined ? [] : [[field, text(column)]])),
    ),
    deliveries: Number(row.deliveries ?? 0),
  };
}
