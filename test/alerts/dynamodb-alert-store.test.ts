import { describe, expect, it } from "vitest";
import { DynamoDbAlertStore } from "../../packages/core/src/adapters/aws/dynamodb-alert-store";
import { DynamoDbRunLedger } from "../../packages/core/src/adapters/aws/dynamodb-ledger";
import { startLedgerTable } from "../support/dynamodb-emulator";
import { at, describeAlertStoreContract, verdict } from "./alert-store-suite";

const TABLE_NAME = "tapestry-ledger";

/** A DynamoDbAlertStore on a fresh emulated ledger table, Query pages cut at `pageSize` items when given. */
const openOnEmulator = (pageSize?: number) => async () => {
  const table = await startLedgerTable(TABLE_NAME);
  const store = new DynamoDbAlertStore({ client: table.client({ pageSize }), tableName: TABLE_NAME });
  return Object.assign(store, { close: () => table.close() });
};

describeAlertStoreContract("DynamoDbAlertStore (dynalite)", openOnEmulator());
describeAlertStoreContract("DynamoDbAlertStore (dynalite, DynamoDB pages of 2 items)", openOnEmulator(2));

describe("DynamoDbAlertStore in the run ledger's table", () => {
  it("keeps its items under ALERT# keys, apart from the runs, with a TTL on resolved incidents only", async () => {
    const table = await startLedgerTable(TABLE_NAME);
    try {
      const store = new DynamoDbAlertStore({ client: table.client(), tableName: TABLE_NAME });
      const ledger = new DynamoDbRunLedger({ client: table.client(), tableName: TABLE_NAME });
      await store.open({
        incidentId: "01JALERTSTORE0000000000001",
        cause: "run-1",
        verdict: verdict(true, 0),
      });
      await store.resolve({ cause: "run-2", verdict: verdict(false, 30) });
      await store.open({
        incidentId: "01JALERTSTORE0000000000002",
        cause: "run-3",
        verdict: verdict(true, 60),
      });
      await store.watchedSince("rain-shield-audience", at(0));

      const items = await table.items();
      expect(items.map((item) => `${item.pk} ${item.sk}`)).toEqual([
        `ALERT#INCIDENTS ${at(0)}#01JALERTSTORE0000000000001`,
        `ALERT#INCIDENTS ${at(60)}#01JALERTSTORE0000000000002`,
        "ALERT#OPEN rain-shield-audience:run-failed",
        "ALERT#RESOLVED rain-shield-audience:run-failed",
        "ALERT#WATCH rain-shield-audience",
      ]);
      const ttl = (sk: string) => items.find((item) => item.sk === sk)?.ttl;
      // a year and more of history: resolved 400 days before it goes
      expect(ttl(`${at(0)}#01JALERTSTORE0000000000001`)).toBe(Date.parse(at(30)) / 1000 + 400 * 86_400);
      expect(ttl(`${at(60)}#01JALERTSTORE0000000000002`)).toBeUndefined();
      // the run ledger sees none of it
      expect(await ledger.listRuns("rain-shield-audience", { limit: 5 })).toEqual({ runs: [] });
    } finally {
      await table.close();
    }
  });
});
