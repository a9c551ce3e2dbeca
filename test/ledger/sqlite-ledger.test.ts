import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { createEvent } from "@tapestry/core/events";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteRunLedger } from "../../packages/local/src/ledger";
import { at, iso, PIPELINE, successfulRecord, successfulRun } from "./run-events";
import { describeRunLedgerContract } from "./run-ledger-suite";

describeRunLedgerContract("SqliteRunLedger (in memory)", async () => SqliteRunLedger.open(":memory:"));

describe("SqliteRunLedger on a file", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("creates its folder, writes ahead (WAL), and keeps runs, events and locks across close and reopen", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tapestry-ledger-"));
    dirs.push(dir);
    const path = join(dir, "nested", "state", "ledger.sqlite");
    const { runId, events } = successfulRun(PIPELINE, at(0));

    const first = SqliteRunLedger.open(path);
    for (const event of events) await first.record(event);
    await first.acquireRunLock({ pipeline: PIPELINE, runId, expiresAt: iso(3600), now: iso(0) });
    expect(existsSync(`${path}-wal`)).toBe(true);
    first.close();

    const again = SqliteRunLedger.open(path);
    try {
      expect(await again.getRun(runId)).toEqual(successfulRecord(PIPELINE, at(0)));
      expect(await again.listEvents(runId)).toEqual(events);
      expect(await again.getRunLock(PIPELINE, iso(60))).toEqual({
        pipeline: PIPELINE,
        runId,
        expiresAt: iso(3600),
      });
      expect((await again.listRuns(PIPELINE, { limit: 5 })).runs.map((r) => r.runId)).toEqual([runId]);
      // recording what it already has changes nothing
      const [runStarted] = events;
      if (runStarted) await again.record(runStarted);
      expect(await again.listEvents(runId)).toHaveLength(events.length);
    } finally {
      again.close();
    }
  });

  it("shares one file between two open ledgers: a lock taken by one is refused by the other", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tapestry-ledger-"));
    dirs.push(dir);
    const path = join(dir, "ledger.sqlite");
    const one = SqliteRunLedger.open(path);
    const two = SqliteRunLedger.open(path);
    try {
      expect(
        await one.acquireRunLock({ pipeline: PIPELINE, runId: "a", expiresAt: iso(60), now: iso(0) }),
      ).toEqual({
        acquired: true,
      });
      expect(
        await two.acquireRunLock({ pipeline: PIPELINE, runId: "b", expiresAt: iso(60), now: iso(1) }),
      ).toEqual({
        acquired: false,
        heldBy: "a",
      });
    } finally {
      one.close();
      two.close();
    }
  });

  it("migrates a ledger of the previous release in place: facts keyed, locks and runs kept, and it can queue", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tapestry-ledger-"));
    dirs.push(dir);
    const path = join(dir, "ledger.sqlite");
    const { runId, events } = successfulRun(PIPELINE, at(0));
    const started = events[0];
    if (started?.["detail-type"] !== "PipelineRunStarted") throw new Error("fixture starts otherwise");
    // a release-1 ledger: no fact keys, no lock owners, no queue; and a duplicate fact in it
    const old = new DatabaseSync(path);
    old.exec(`
      CREATE TABLE events (id TEXT PRIMARY KEY, run_id TEXT NOT NULL, pipeline TEXT NOT NULL,
        occurred_at TEXT NOT NULL, detail_type TEXT NOT NULL, body TEXT NOT NULL) STRICT;
      CREATE TABLE runs (run_id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, first_event_at TEXT NOT NULL,
        record TEXT NOT NULL) STRICT;
      CREATE TABLE locks (pipeline TEXT PRIMARY KEY, run_id TEXT NOT NULL, expires_at TEXT NOT NULL) STRICT;
      PRAGMA user_version = 1;`);
    const duplicate = createEvent("PipelineRunStarted", started.detail.data, {
      pipeline: PIPELINE,
      now: at(1),
    });
    const insert = old.prepare("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)");
    for (const event of [...events, duplicate]) {
      const { id, occurredAt } = event.detail.metadata;
      insert.run(id, runId, PIPELINE, occurredAt, event["detail-type"], JSON.stringify(event));
    }
    old.prepare("INSERT INTO locks VALUES (?, ?, ?)").run(PIPELINE, runId, iso(3600));
    old.close();

    const ledger = SqliteRunLedger.open(path);
    try {
      expect(await ledger.getRunLock(PIPELINE, iso(60))).toEqual({
        pipeline: PIPELINE,
        runId,
        expiresAt: iso(3600),
      });
      expect(await ledger.listEvents(runId)).toHaveLength(events.length + 1);
      // a third copy of the fact is refused now
      await ledger.record(
        createEvent("PipelineRunStarted", started.detail.data, { pipeline: PIPELINE, now: at(2) }),
      );
      expect(await ledger.listEvents(runId)).toHaveLength(events.length + 1);
      const queued = { pipeline: PIPELINE, runId: `${PIPELINE}-20260301T070000Z`, now: iso(10) };
      expect(await ledger.enqueueRun({ ...queued, requestedAt: iso(10), expiresAt: iso(7200) })).toBe(1);
    } finally {
      ledger.close();
    }
    // and opening it again finds it migrated
    SqliteRunLedger.open(path).close();
  });
});
