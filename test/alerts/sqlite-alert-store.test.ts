import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteAlertStore, SqliteRunLedger } from "../../packages/local/src/ledger";
import { at, describeAlertStoreContract, verdict } from "./alert-store-suite";

describeAlertStoreContract("SqliteAlertStore (in memory)", async () => SqliteAlertStore.open(":memory:"));

describe("SqliteAlertStore in the run ledger's file", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("lives beside the run ledger in ledger.sqlite, leaves its schema version alone, and keeps incidents across reopening", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tapestry-alerts-"));
    dirs.push(dir);
    const path = join(dir, "ledger.sqlite");
    const ledger = SqliteRunLedger.open(path);
    const version = () => {
      const db = new DatabaseSync(path);
      try {
        return db.prepare("PRAGMA user_version").get()?.user_version;
      } finally {
        db.close();
      }
    };
    const before = version();

    const store = SqliteAlertStore.open(path);
    const opened = await store.open({
      incidentId: "01JALERTSTORE0000000000001",
      cause: "run-1",
      verdict: verdict(true, 0),
    });
    store.close();
    expect(version()).toBe(before);

    const again = SqliteAlertStore.open(path);
    try {
      expect(await again.openIncidents()).toEqual([opened.kind === "opened" ? opened.incident : undefined]);
      expect(await again.watchedSince("rain-shield-audience", at(5))).toBe(at(5));
      // the run ledger still opens (and migrates) the same file with the alert tables in it
      expect(await SqliteRunLedger.open(path).listRuns("rain-shield-audience", { limit: 1 })).toEqual({
        runs: [],
      });
    } finally {
      again.close();
      ledger.close();
    }
  });
});
