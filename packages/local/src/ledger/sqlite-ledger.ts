import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type SQLOutputValue, type StatementSync } from "node:sqlite";
import { LedgerUnavailableError } from "@tapestry/core/errors";
import { factKey, type TapestryEvent } from "@tapestry/core/events";
import {
  checkPageLimit,
  decodeRunCursor,
  encodeRunCursor,
  incomingEvent,
  LedgerDamagedError,
  type LockResult,
  ledgerInstant,
  projectRun,
  type QueueEntryRequest,
  type RunLedger,
  type RunLockHolder,
  type RunLockRequest,
  type RunPage,
  type RunRecord,
} from "@tapestry/core/ledger";

/**
 * The embedded control plane's run ledger, on SQLite (`node:sqlite`, built into Node 24).
 *
 * - events: every event once (its ULID is the key), with its run, pipeline, time and fact key (a
 *   second event stating the same fact of the run is not stored: see `factKey`);
 * - runs: each run's record, re-projected from all its events whenever a new one arrives (in the
 *   same transaction as the insert), and the time of its earliest event, by which runs are listed;
 * - locks: one run lock per pipeline, with its expiry and its owner (the control plane's session);
 * - queue: the runs of `overlap: queue` pipelines waiting for the lock, first asked first.
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
      migrate(db);
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
    return this.transaction((): LockResult => {
      if (input.queue) this.enqueue(input.pipeline, input.runId, input.queue);
      const queue = this.liveQueue(input.pipeline, now);
      const place = queue.findIndex((entry) => entry.runId === input.runId);
      const head = queue[0];
      const holder = this.statements.getLiveLock.get(input.pipeline, now);
      const heldBy = holder === undefined ? undefined : text(holder.run_id, "locks.run_id");
      // First asked, first started: a queued run takes the lock only when its turn has come.
      if (input.queue && head !== undefined && head.runId !== input.runId && heldBy !== input.runId) {
        return {
          acquired: false,
          heldBy: heldBy ?? head.runId,
          ...(place >= 0 ? { position: place + 1 } : {}),
        };
      }
      const taken = this.statements.takeLock.run(
        input.pipeline,
        input.runId,
        expiresAt,
        now,
        input.owner ?? null,
      );
      if (Number(taken.changes) === 1) {
        this.statements.dequeue.run(input.pipeline, input.runId);
        return { acquired: true };
      }
      return {
        acquired: false,
        heldBy: text(this.statements.getLock.get(input.pipeline)?.run_id, "locks.run_id"),
        ...(place >= 0 ? { position: place + 1 } : {}),
      };
    });
  }

  async getRunLock(pipeline: string, now: string): Promise<RunLockHolder | undefined> {
    const row = this.statements.getLiveLock.get(pipeline, ledgerInstant(now, "now"));
    return row === undefined ? undefined : lockOfRow(row);
  }

  async releaseRunLock(input: { pipeline: string; runId: string }): Promise<void> {
    this.transaction(() => {
      this.statements.releaseLock.run(input.pipeline, input.runId);
      this.statements.dequeue.run(input.pipeline, input.runId);
    });
  }

  async enqueueRun(
    input: { pipeline: string; runId: string; now: string } & QueueEntryRequest,
  ): Promise<number> {
    const now = ledgerInstant(input.now, "now");
    return this.transaction(() => {
      this.enqueue(input.pipeline, input.runId, input);
      return this.liveQueue(input.pipeline, now).findIndex((entry) => entry.runId === input.runId) + 1;
    });
  }

  async listQueuedRuns(
    pipeline: string,
    now: string,
  ): Promise<readonly { runId: string; requestedAt: string }[]> {
    return this.liveQueue(pipeline, ledgerInstant(now, "now"));
  }

  /** Every run lock held, expired or not (the embedded control plane's restart looks for dead owners). */
  async listRunLocks(): Promise<readonly RunLockHolder[]> {
    return this.statements.allLocks.all().map(lockOfRow);
  }

  /** The runs whose record is not an outcome yet (queued or running), oldest first. */
  async listUnfinishedRuns(): Promise<readonly RunRecord[]> {
    return this.statements.unfinishedRuns.all().map(recordOfRow);
  }

  async record(event: TapestryEvent): Promise<void> {
    const incoming = incomingEvent(event);
    const { runId } = incoming;
    const fact = factKey(incoming.event);
    this.transaction(() => {
      // a second copy of a fact (a retried task's) changes nothing, whatever its id
      if (this.statements.getFact.get(runId, fact) !== undefined) return;
      const inserted = this.statements.insertEvent.run(
        incoming.id,
        runId,
        incoming.pipeline,
        incoming.occurredAt,
        incoming.event["detail-type"],
        JSON.stringify(incoming.event),
        fact,
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

  private enqueue(pipeline: string, runId: string, entry: QueueEntryRequest): void {
    this.statements.enqueue.run(
      pipeline,
      runId,
      ledgerInstant(entry.requestedAt, "requestedAt"),
      ledgerInstant(entry.expiresAt, "queue.expiresAt"),
    );
  }

  private liveQueue(pipeline: string, now: string): { runId: string; requestedAt: string }[] {
    return this.statements.liveQueue.all(pipeline, now).map((row) => ({
      runId: text(row.run_id, "queue.run_id"),
      requestedAt: text(row.requested_at, "queue.requested_at"),
    }));
  }

  private transaction<T>(work: () => T): T {
    try {
      this.db.exec("BEGIN IMMEDIATE");
    } catch (error) {
      throw unavailable(error);
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
`;

/**
 * Version 2 (this release): each event's fact key (unique within its run), each lock's owner, and
 * the queue. Ledgers of version 1 are migrated in place: the fact keys of their events are filled
 * in event order, the first copy of a fact keeping the key (later copies stay, keyless).
 */
function migrate(db: DatabaseSync): void {
  const row = db.prepare("PRAGMA user_version").get();
  const version = Number(row?.user_version ?? 0) || 1;
  if (version >= 2) return;
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec("ALTER TABLE events ADD COLUMN fact_key TEXT");
    db.exec("ALTER TABLE locks ADD COLUMN owner TEXT");
    db.exec(`CREATE TABLE IF NOT EXISTS queue (
      pipeline TEXT NOT NULL,
      run_id TEXT NOT NULL,
      requested_at TEXT NOT NULL,
      expires_at TEXT NOT NULL,
      PRIMARY KEY (pipeline, run_id)
    ) STRICT`);
    const seen = new Set<string>();
    const setKey = db.prepare("UPDATE events SET fact_key = ? WHERE id = ?");
    for (const event of db
      .prepare("SELECT id, run_id, body FROM events ORDER BY run_id, occurred_at, id")
      .all()) {
      const key = `${text(event.run_id, "events.run_id")}\u0000${factKey(eventOfRow(event))}`;
      if (seen.has(key)) continue;
      seen.add(key);
      setKey.run(factKey(eventOfRow(event)), text(event.id, "events.id"));
    }
    db.exec("CREATE UNIQUE INDEX IF NOT EXISTS events_by_fact ON events (run_id, fact_key)");
    db.exec("PRAGMA user_version = 2");
    db.exec("COMMIT");
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}

function prepareStatements(db: DatabaseSync) {
  const statement = (sql: string): StatementSync => db.prepare(sql);
  return {
    // free, expired or already ours (re-entrant: the new expiry replaces the old one)
    takeLock: statement(
      `INSERT INTO locks (pipeline, run_id, expires_at, owner) VALUES (?1, ?2, ?3, ?5)
       ON CONFLICT (pipeline) DO UPDATE SET
         run_id = excluded.run_id, expires_at = excluded.expires_at, owner = excluded.owner
       WHERE locks.expires_at <= ?4 OR locks.run_id = excluded.run_id`,
    ),
    getLock: statement("SELECT pipeline, run_id, expires_at, owner FROM locks WHERE pipeline = ?"),
    getLiveLock: statement(
      "SELECT pipeline, run_id, expires_at, owner FROM locks WHERE pipeline = ? AND expires_at > ?",
    ),
    allLocks: statement("SELECT pipeline, run_id, expires_at, owner FROM locks ORDER BY pipeline"),
    releaseLock: statement("DELETE FROM locks WHERE pipeline = ? AND run_id = ?"),
    enqueue: statement(
      "INSERT OR IGNORE INTO queue (pipeline, run_id, requested_at, expires_at) VALUES (?, ?, ?, ?)",
    ),
    liveQueue: statement(
      `SELECT run_id, requested_at FROM queue WHERE pipeline = ? AND expires_at > ?
       ORDER BY requested_at, run_id`,
    ),
    dequeue: statement("DELETE FROM queue WHERE pipeline = ? AND run_id = ?"),
    getFact: statement("SELECT 1 FROM events WHERE run_id = ? AND fact_key = ?"),
    insertEvent: statement(
      `INSERT OR IGNORE INTO events (id, run_id, pipeline, occurred_at, detail_type, body, fact_key)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    unfinishedRuns: statement(
      `SELECT run_id, first_event_at, record FROM runs
       WHERE json_extract(record, '$.status') IN ('queued', 'running') ORDER BY first_event_at, run_id`,
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
  if (typeof value !== "string") throw new LedgerDamagedError("SQLite", `${column} is not text`);
  return value;
}

function lockOfRow(row: Record<string, SQLOutputValue>): RunLockHolder {
  const owner = row.owner;
  return {
    pipeline: text(row.pipeline, "locks.pipeline"),
    runId: text(row.run_id, "locks.run_id"),
    expiresAt: text(row.expires_at, "locks.expires_at"),
    ...(typeof owner === "string" ? { owner } : {}),
  };
}

/** SQLite answering "busy" past its timeout (another process holds the file) is worth retrying. */
function unavailable(error: unknown): unknown {
  const message = error instanceof Error ? error.message : String(error);
  return /database is (locked|busy)/i.test(message)
    ? new LedgerUnavailableError(`the SQLite ledger is busy (another process holds it): ${message}`, {
        cause: error,
      })
    : error;
}

function recordOfRow(row: Record<string, SQLOutputValue>): RunRecord {
  return JSON.parse(text(row.record, "runs.record")) as RunRecord;
}

/** Stored events were parsed on the way in. */
function eventOfRow(row: Record<string, SQLOutputValue>): TapestryEvent {
  return JSON.parse(text(row.body, "events.body")) as TapestryEvent;
}
