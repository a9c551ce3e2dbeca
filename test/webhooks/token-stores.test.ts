import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LedgerUnavailableError } from "@tapestry/core/errors";
import { afterEach, describe, expect, it } from "vitest";
// the module itself, not the barrel: the barrel also loads the other AWS adapters
import { DynamoDbTaskTokenStore } from "../../packages/core/src/adapters/aws/dynamodb-task-token-store";
import { SqliteRunLedger, SqliteTaskTokenStore } from "../../packages/local/src/ledger";
import { startLedgerTable } from "../support/dynamodb-emulator";
import { describeTaskTokenStoreContract } from "./token-store-suite";

const TABLE = "tapestry-ledger";

describeTaskTokenStoreContract("SqliteTaskTokenStore (in memory)", async () =>
  SqliteTaskTokenStore.open(":memory:"),
);

describeTaskTokenStoreContract("DynamoDbTaskTokenStore (dynalite)", async () => {
  const table = await startLedgerTable(TABLE);
  const store = new DynamoDbTaskTokenStore({ client: table.client(), tableName: TABLE });
  return Object.assign(store, { close: () => table.close() });
});

describe("the task-token store beside the run ledger", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("shares the ledger's SQLite file without touching the ledger's tables or migrations", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tapestry-tokens-"));
    dirs.push(dir);
    const path = join(dir, "ledger.sqlite");
    const ledger = SqliteRunLedger.open(path);
    const store = SqliteTaskTokenStore.open(path);
    try {
      await store.register(
        { tool: "airbyte", externalId: "1" },
        { token: "t", input: "{}", now: "2026-11-21T11:00:00.000Z", expiresAt: "2026-11-21T11:05:00.000Z" },
      );
      ledger.close();
      // reopening runs the ledger's own checks and migrations over a file with our table in it
      const again = SqliteRunLedger.open(path);
      again.close();
      expect(
        (await store.recordDelivery({ tool: "airbyte", externalId: "1" }, "2026-11-21T11:01:00.000Z")).token,
      ).toBe("t");
    } finally {
      store.close();
    }
  });

  it("keeps its DynamoDB items under TOKEN#<tool>#<id>, with a TTL a day past their last use", async () => {
    const table = await startLedgerTable(TABLE);
    try {
      const store = new DynamoDbTaskTokenStore({ client: table.client(), tableName: TABLE });
      await store.register(
        { tool: "dbt-cloud", externalId: "70000042" },
        { token: "t", input: "{}", now: "2026-11-21T11:00:00.000Z", expiresAt: "2026-11-21T11:05:00.000Z" },
      );
      const [item] = await table.items();
      expect(item).toMatchObject({ pk: "TOKEN#dbt-cloud#70000042", sk: "TOKEN", token: "t" });
      expect(item?.ttl).toBe(Date.parse("2026-11-22T11:05:00.000Z") / 1000);
    } finally {
      await table.close();
    }
  });

  it("names DynamoDB's throttling LedgerUnavailableError, which the state machine retries", async () => {
    const store = new DynamoDbTaskTokenStore({
      client: {
        send: async () => {
          throw Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
        },
      } as never,
      tableName: TABLE,
    });
    await expect(
      store.recordDelivery({ tool: "airbyte", externalId: "1" }, "2026-11-21T11:00:00.000Z"),
    ).rejects.toBeInstanceOf(LedgerUnavailableError);
  });
});
