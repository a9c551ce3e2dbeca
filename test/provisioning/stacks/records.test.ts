/**
 * The tool stacks' records: one contract, both stores (SQLite embedded, DynamoDB on the dynalite
 * emulator), beside the run ledger's items and never mixed with them.
 */
import type { ToolStackRecord, ToolStackRecords } from "@tapestry/core/provisioning/stacks";
import { SqliteToolStackRecords } from "@tapestry/local/ledger";
import { afterEach, describe, expect, it } from "vitest";
import { DynamoDbToolStackRecords } from "../../../packages/core/src/adapters/aws/dynamodb-tool-stack-records";
import { startLedgerTable } from "../../support/dynamodb-emulator";

type Opened = {
  readonly records: ToolStackRecords;
  close(): Promise<void> | void;
  items?(): Promise<unknown[]>;
};

const deployed: ToolStackRecord = {
  tool: "airbyte",
  stackName: "tapestry-test-airbyte",
  status: "CREATE_COMPLETE",
  outputs: { Url: "https://airbyte.rain-shield.example", HttpOnly: "false" },
  httpOnly: false,
  lastDeploy: {
    runId: "provision-01M7YX2KPAGR0A6P46956VKQW9",
    at: "2026-12-07T00:10:00.000Z",
    outcome: "deployed",
  },
};

function describeRecordsContract(name: string, open: () => Promise<Opened>) {
  describe(name, () => {
    let opened: Opened | undefined;
    afterEach(async () => {
      await opened?.close();
      opened = undefined;
    });

    it("answers nothing before a deploy, then each tool's last record, listed by tool", async () => {
      opened = await open();
      const { records } = opened;
      expect(await records.get("airbyte")).toBeUndefined();
      expect(await records.list()).toEqual([]);
      await records.put(deployed);
      const failed: ToolStackRecord = {
        tool: "grouparoo",
        stackName: "tapestry-test-grouparoo",
        status: "ROLLBACK_COMPLETE",
        outputs: {},
        httpOnly: false,
        lastDeploy: {
          runId: "provision-01M7YX2KPAGR0A6P46956VKQW9",
          at: "2026-12-07T00:20:00.000Z",
          outcome: "failed",
          reason: "Database (AWS::RDS::DBInstance) CREATE_FAILED: storage too small",
        },
      };
      await records.put(failed);
      expect(await records.get("airbyte")).toEqual(deployed);
      expect(await records.list()).toEqual([deployed, failed]);
    });

    it("a later record of a tool replaces its earlier one (a delete keeps the outputs, status null)", async () => {
      opened = await open();
      const { records } = opened;
      await records.put(deployed);
      const deleted: ToolStackRecord = {
        ...deployed,
        status: null,
        lastDeploy: {
          runId: "provision-01M7YX2KPAGR0A6P46956VKQWA",
          at: "2026-12-07T01:00:00.000Z",
          outcome: "deleted",
        },
      };
      await records.put(deleted);
      expect(await records.list()).toEqual([deleted]);
    });
  });
}

describeRecordsContract("SqliteToolStackRecords", async () => {
  const records = SqliteToolStackRecords.open(":memory:");
  return { records, close: () => records.close() };
});

describeRecordsContract("DynamoDbToolStackRecords (dynalite)", async () => {
  const table = await startLedgerTable("tapestry-ledger");
  const records = new DynamoDbToolStackRecords({ client: table.client(), tableName: "tapestry-ledger" });
  return { records, close: () => table.close(), items: () => table.items() };
});

describe("DynamoDbToolStackRecords' items", () => {
  it("live in their own partition, STACK#TOOLS, one item per tool", async () => {
    const table = await startLedgerTable("tapestry-ledger");
    try {
      const records = new DynamoDbToolStackRecords({ client: table.client(), tableName: "tapestry-ledger" });
      await records.put(deployed);
      const items = (await table.items()) as Record<string, unknown>[];
      expect(items).toHaveLength(1);
      expect(Object.values(items[0] ?? {})).toEqual(expect.arrayContaining(["STACK#TOOLS", "airbyte"]));
    } finally {
      await table.close();
    }
  });
});
