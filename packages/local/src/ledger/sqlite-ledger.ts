import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type SQLOutputValue, type StatementSync } from "node:sqlite";
import { TapestryError } from "@tapestry/core/errors";
import type { TapestryEvent } from "@tapestry/core/events";
import {
  checkPageLimit,
  decodeRunCursor,
  encodeRunCursor,
  incomingEvent,
  type LockResult,
  ledgerInstant,
  projectRun,
  type RunLedger,
  type RunLockRequest,
  type RunPage,
  type RunRecord,
} from "@tapestry/core/ledger";

/**
 * The embedded control plane's run ledger, on SQLite (`node:sqlite`, built into Node 24).
 *
 * - events: every event once (its ULID is the key), with its run, pipeline and time;
 * - runs: each run's record, re-projected from all its events whenever a new one arrives (in the
 *   same transaction as the insert), and the time of its earliest event, by which runs are listed;
 * - locks: one run lock per pipeline, with its expiry.
 *
 * Times are stored as UTC ISO 8601 with milliseconds (`Date#toISOString`), so text order is time
 * order. Every write runs in a `BEGIN IMMEDIATE` transaction: two processes sharing a file
 * serialize on it (WAL mode, 5 s busy timeout).
 */
export class SqliteRunLedger implements RunLedger {
  private readonly statements: ReturnType<typeof prepareStatements>;

  private constructor(private readonly db: DatabaseSync) {
    this.statements = prepareStatements(db);
  }

  /** Opens (creating when needed, with its parent folder) the ledger at `path`, or an in-memory one. */
  static open(path: string | ":memory:"): SqliteRunLedger {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    const db = new DatabaseSync(path, { timeout: 5_000 });
    try {
      if (path !== ":memory:") {
        db.exec("PRAGMA journal_mode = WAL");
        db.exec("PRAGMA synchronous = NORMAL");
      }
      db.exec(SCHEMA);
      return new SqliteRunLedger(db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }

  async acquireRunLock(input: RunLockRequest): Promise<LockResult> {
    const expiresAt = ledgerInstant(input.expiresAt, "expiresAt");
    const now = ledgerInstant(input.now, "now");
    return this.transaction(() => {
      const taken = this.statements.takeLock.run(input.pipeline, input.runId, expiresAt, now);
      if (Number(taken.changes) === 1) return { acquired: true } as const;
      const holder = this.statements.getLock.get(input.pipeline);
      return { acquired: false, heldBy: text(holder?.run_id, "locks.run_id") } as const;
    });
  }

  async getRunLock(pipeline: string, now: string): Promise<{ runId: string; expiresAt: string } | undefined> {
    const row = this.statements.getLiveLock.get(pipeline, ledgerInstant(now, "now"));
    if (row === undefined) return undefined;
    return { runId: text(row.run_id, "locks.run_id"), expiresAt: text(row.expires_at, "locks.expires_at") };
  }

  async releaseRunLock(input: { pipeline: string; runId: string }): Promise<void> {
    this.transaction(() => this.statements.releaseLock.run(input.pipeline, input.runId));
  }

  async record(event: TapestryEvent): Promise<void> {
    const incoming = incomingEvent(event);
    const { runId } = incoming;
    this.transaction(() => {
      const inserted = this.statements.insertEvent.run(
        incoming.id,
        runId,
        incoming.pipeline,
        incoming.occurredAt,
        incoming.event["detail-type"],
        JSON.stringify(incoming.event),
      );
      if (Number(inserted.changes) === 0) return; // seen before: nothing changes
      const rows = this.statements.eventsOfRun.all(runId);
      const run = projectRun(rows.map(eventOfRow));
      const first = rows[0];
      if (run === undefined || first === undefined) return;
      this.statements.upsertRun.run(
        runId,
        run.pipeline,
        text(first.occurred_at, "events.occurred_at"),
        JSON.stringify(run),
      );
    });
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const row = this.statements.getRun.get(runId);
    return row === undefined ? undefined : recordOfRow(row);
  }

  async listRuns(pipeline: string, page: { limit: number; cursor?: string }): Promise<RunPage> {
    const { limit } = page;
    checkPageLimit(limit);
    let rows: Record<string, SQLOutputValue>[];
    if (page.cursor === undefined) {
      rows = this.statements.firstPage.all(pipeline, limit + 1);
    } else {
      const after = decodeRunCursor(page.cursor, pipeline);
      rows = this.statements.nextPage.all(
        pipeline,
        after.firstEventAt,
        after.firstEventAt,
        after.runId,
        limit + 1,
      );
    }
    const runs = rows.slice(0, limit);
    const last = runs.at(-1);
    if (rows.length <= limit || last === undefined) return { runs: runs.map(recordOfRow) };
    return {
      runs: runs.map(recordOfRow),
      nextCursor: encodeRunCursor({
        pipeline,
        firstEventAt: text(last.first_event_at, "runs.first_event_at"),
        runId: text(last.run_id, "runs.run_id"),
      }),
    };
  }

  async latestRuns(pipelines: readonly string[]): Promise<ReadonlyMap<string, RunRecord>> {
    const latest = new Map<string, RunRecord>();
    for (const pipeline of new Set(pipelines)) {
      const row = this.statements.firstPage.get(pipeline, 1);
      if (row !== undefined) latest.set(pipeline, recordOfRow(row));
    }
    return latest;
  }

  async listEvents(runId: string): Promise<readonly TapestryEvent[]> {
    return this.statements.eventsOfRun.all(runId).map(eventOfRow);
  }

  private transaction<T>(work: () => T): T {
    this.db.exec("BEGIN IMMEDIATE");
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
CREATE TABLE IF NOT EXISTS events (
  id TEXT PRIMARY KEY,
  run_id TEXT NOT NULL,
  pipeline TEXT NOT NULL,
  occurred_at TEXT NOT NULL,
  detail_type TEXT NOT NULL,
  body TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS events_by_run ON events (run_id, occurred_at, id);
CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY,
  pipeline TEXT NOT NULL,
  first_event_at TEXT NOT NULL,
  record TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS runs_by_pipeline ON runs (pipeline, first_event_at DESC, run_id DESC);
CREATE TABLE IF NOT EXISTS locks (
  pipeline TEXT PRIMARY KEY,
  run_id TEXT NOT NULL,
  expires_at TEXT NOT NULL
) STRICT;
PRAGMA user_version = 1;
`;

function prepareStatements(db: DatabaseSync) {
  const statement = (sql: string): StatementSync => db.prepare(sql);
  return {
    // free, expired or already ours (re-entrant: the new expiry replaces the old one)
    takeLock: statement(
      `INSERT INTO locks (pipeline, run_id, expires_at) VALUES (?1, ?2, ?3)
       ON CONFLICT (pipeline) DO UPDATE SET run_id = excluded.run_id, expires_at = excluded.expires_at
       WHERE locks.expires_at <= ?4 OR locks.run_id = excluded.run_id`,
    ),
    getLock: statement("SELECT run_id, expires_at FROM locks WHERE pipeline = ?"),
    getLiveLock: statement("SELECT run_id, expires_at FROM locks WHERE pipeline = ? AND expires_at > ?"),
    releaseLock: statement("DELETE FROM locks WHERE pipeline = ? AND run_id = ?"),
    insertEvent: statement(
      `INSERT OR IGNORE INTO events (id, run_id, pipeline, occurred_at, detail_type, body)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    eventsOfRun: statement("SELECT occurred_at, body FROM events WHERE run_id = ? ORDER BY occurred_at, id"),
    upsertRun: statement(
      `INSERT INTO runs (run_id, pipeline, first_event_at, record) VALUES (?, ?, ?, ?)
       ON CONFLICT (run_id) DO UPDATE SET
         pipeline = excluded.pipeline, first_event_at = excluded.first_event_at, record = excluded.record`,
    ),
    getRun: statement("SELECT run_id, first_event_at, record FROM runs WHERE run_id = ?"),
    firstPage: statement(
      `SELECT run_id, first_event_at, record FROM runs WHERE pipeline = ?
       ORDER BY first_event_at DESC, run_id DESC LIMIT ?`,
    ),
    nextPage: statement(
      `SELECT run_id, first_event_at, record FROM runs
       WHERE pipeline = ? AND (first_event_at < ? OR (first_event_at = ? AND run_id < ?))
       ORDER BY first_event_at DESC, run_id DESC LIMIT ?`,
    ),
  };
}

function text(value: SQLOutputValue | undefined, column: string): string {
  if (typeof value !== "string")
    throw new TapestryError(`the SQLite ledger is damaged: ${column} is not text`);
  return value;
}

function recordOfRow(row: Record<string, SQLOutputValue>): RunRecord {
  return JSON.parse(text(row.record, "runs.record")) as RunRecord;
}

/** Stored events were parsed on the way in. */
function eventOfRow(row: Record<string, SQLOutputValue>): TapestryEvent {
  return JSON.parse(text(row.body, "events.body")) as TapestryEvent;
}
