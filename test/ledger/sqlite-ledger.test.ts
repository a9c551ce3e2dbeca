import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
      expect(await again.getRunLock(PIPELINE, iso(60))).toEqual({ runId, expiresAt: iso(3600) });
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
});
