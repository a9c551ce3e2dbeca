import { LedgerInputError } from "@tapestry/core/ledger";
import { describe, expect, it } from "vitest";
import { DynamoDbRunLedger } from "../../packages/core/src/adapters/aws/dynamodb-ledger";
import { SqliteRunLedger } from "../../packages/local/src/ledger";
import { startLedgerTable } from "../support/dynamodb-emulator";
import { failedRunIncident } from "./alert-events";

/** Alerts share the bus with run events, but they are no fact of a run: the run ledger refuses them, writing nothing. */
describe("the run ledger and alert events", () => {
  const { breach, recovery } = failedRunIncident("rain-shield-audience", new Date("2026-03-02T06:00:00Z"));

  it("SQLite: refuses ThresholdBreached and ThresholdRecovered with LedgerInputError", async () => {
    const ledger = SqliteRunLedger.open(":memory:");
    try {
      for (const event of [breach, recovery]) {
        await expect(ledger.record(event)).rejects.toThrow(LedgerInputError);
      }
      expect(await ledger.listRuns("rain-shield-audience", { limit: 5 })).toEqual({ runs: [] });
    } finally {
      ledger.close();
    }
  });

  it("DynamoDB: refuses them too, before any write", async () => {
    const table = await startLedgerTable();
    try {
      const ledger = new DynamoDbRunLedger({ client: table.client(), tableName: table.tableName });
      for (const event of [breach, recovery]) {
        await expect(ledger.record(event)).rejects.toThrow(/is an alert, not a fact of a run/);
      }
      expect(await table.items()).toEqual([]);
    } finally {
      await table.close();
    }
  });
});
