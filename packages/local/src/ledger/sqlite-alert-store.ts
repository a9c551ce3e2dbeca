import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type SQLOutputValue } from "node:sqlite";
import {
  type AlertStore,
  alertKeyText,
  decideOpen,
  decideResolve,
  decodeIncidentCursor,
  encodeIncidentCursor,
  type Incident,
  type IncidentPage,
  type KeyState,
  type OpenOutcome,
  type OpenRequest,
  type ResolveOutcome,
  type ResolveRequest,
} from "@tapestry/core/alerts";
import { checkPageLimit, LedgerDamagedError, ledgerInstant } from "@tapestry/core/ledger";

/**
 * The embedded control plane's incidents, in the run ledger's SQLite file (`ledger.sqlite`), in
 * tables of their own created on open (the run ledger's migrations, and its PRAGMA user_version,
 * are left alone). One open incident per key is the unique partial index's rule; each open and
 * resolve decides (core's decideOpen / decideResolve) and writes in one BEGIN IMMEDIATE
 * transaction, so two writers of one file serialize as the run ledger's do.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS alert_incidents (
  id TEXT PRIMARY KEY,
  key TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
  opened_at TEXT NOT NULL,
  resolved_at TEXT,
  body TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS alert_incidents_one_open ON alert_incidents (key) WHERE status = 'open';
CREATE INDEX IF NOT EXISTS alert_incidents_newest ON alert_incidents (opened_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS alert_incidents_resolved ON alert_incidents (key, resolved_at) WHERE status = 'resolved';
CREATE TABLE IF NOT EXISTS alert_watch (
  pipeline TEXT PRIMARY KEY,
  since TEXT NOT NULL
);
`;

export class SqliteAlertStore implements AlertStore {
  private constructor(private readonly db: DatabaseSync) {}

  /** Opens the store in the ledger's file at `path` (creating its tables), or an in-memory one. */
  static open(path: string | ":memory:"): SqliteAlertStore {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    const db = new DatabaseSync(path, { timeout: 5_000 });
    try {
      if (path !== ":memory:") db.exec("PRAGMA journal_mode = WAL");
      db.exec(SCHEMA);
      return new SqliteAlertStore(db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }

  async open(request: OpenRequest): Promise<OpenOutcome> {
    return this.transaction(() => {
      const decision = decideOpen(this.keyState(alertKeyText(request.verdict)), request);
      if (decision.write === "insert") {
        const { incident } = decision;
        this.db
          .prepare(
            "INSERT INTO alert_incidents (id, key, status, opened_at, resolved_at, body) VALUES (?, ?, 'open', ?, NULL, ?)",
          )
          .run(incident.id, incident.key, incident.openedAt, JSON.stringify(incident));
      } else if (decision.write === "update") {
        this.db
          .prepare("UPDATE alert_incidents SET body = ? WHERE id = ?")
          .run(JSON.stringify(decision.incident), decision.incident.id);
      }
      return decision.outcome;
    });
  }

  async resolve(request: ResolveRequest): Promise<ResolveOutcome> {
    return this.transaction(() => {
      const decision = decideResolve(this.keyState(alertKeyText(request.verdict)), request);
      if (decision.write === "resolve") {
        const { incident } = decision;
        this.db
          .prepare("UPDATE alert_incidents SET status = 'resolved', resolved_at = ?, body = ? WHERE id = ?")
          .run(incident.resolvedAt ?? null, JSON.stringify(incident), incident.id);
      }
      return decision.outcome;
    });
  }

  async openIncidents(): Promise<readonly Incident[]> {
    return this.db
      .prepare("SELECT body FROM alert_incidents WHERE status = 'open' ORDER BY opened_at, id")
      .all()
      .map(incidentOfRow);
  }

  async listIncidents(page: { readonly limit: number; readonly cursor?: string }): Promise<IncidentPage> {
    checkPageLimit(page.limit);
    const after = page.cursor === undefined ? undefined : decodeIncidentCursor(page.cursor);
    const rows =
      after === undefined
        ? this.db
            .prepare("SELECT body FROM alert_incidents ORDER BY opened_at DESC, id DESC LIMIT ?")
            .all(page.limit + 1)
        : this.db
            .prepare(
              "SELECT body FROM alert_incidents WHERE (opened_at, id) < (?, ?) ORDER BY opened_at DESC, id DESC LIMIT ?",
            )
            .all(after.openedAt, after.id, page.limit + 1);
    const incidents = rows.slice(0, page.limit).map(incidentOfRow);
    const last = incidents.at(-1);
    return rows.length > page.limit && last
      ? { incidents, nextCursor: encodeIncidentCursor(last) }
      : { incidents };
  }

  async watchedSince(pipeline: string, now: string): Promise<string> {
    const since = ledgerInstant(now, "now");
    return this.transaction(() => {
      this.db
        .prepare("INSERT OR IGNORE INTO alert_watch (pipeline, since) VALUES (?, ?)")
        .run(pipeline, since);
      const row = this.db.prepare("SELECT since FROM alert_watch WHERE pipeline = ?").get(pipeline);
      return text(row?.since, "alert_watch.since");
    });
  }

  private keyState(key: string): KeyState {
    const open = this.db
      .prepare("SELECT body FROM alert_incidents WHERE key = ? AND status = 'open'")
      .get(key);
    const lastResolved = this.db
      .prepare(
        "SELECT body FROM alert_incidents WHERE key = ? AND status = 'resolved' ORDER BY resolved_at DESC, id DESC LIMIT 1",
      )
      .get(key);
    return {
      ...(open ? { open: incidentOfRow(open) } : {}),
      ...(lastResolved ? { lastResolved: incidentOfRow(lastResolved) } : {}),
    };
  }

  private transaction<T>(work: () => T): T {
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const result = work();
      this.db.exec("COMMIT");
      return result;
    } catch (error) {
      this.db.exec("ROLLBACK");
      throw error;
    }
  }
}

function text(value: SQLOutputValue | undefined, column: string): string {
  if (typeof value !== "string") {
    throw new LedgerDamagedError(
      "SQLite",
      `${column} holds ${value === null ? "NULL" : typeof value}, not text`,
    );
  }
  return value;
}

function incidentOfRow(row: Record<string, SQLOutputValue>): Incident {
  return JSON.parse(text(row.body, "alert_incidents.body")) as Incident;
}
