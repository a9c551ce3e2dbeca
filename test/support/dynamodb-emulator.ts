/**
 * The run ledger's DynamoDB table on an emulator (ADR 0015): dynalite, in memory, on 127.0.0.1 at a
 * port the system picks, one server per table so that tests share nothing. The real SDK clients
 * talk to it over HTTP with fake credentials; nothing leaves the machine.
 *
 * dynalite answers as DynamoDB does where the ledger depends on it: ConditionalCheckFailedException,
 * ValidationException for what DynamoDB refuses (unused placeholders, ConsistentRead on an index),
 * Query pages that end at Limit with a LastEvaluatedKey even when nothing follows.
 */
import type { AddressInfo } from "node:net";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
} from "@aws-sdk/lib-dynamodb";
import type { AwsClientStub } from "aws-sdk-client-mock";
import dynalite from "dynalite";
import { LEDGER_TABLE } from "../../packages/core/src/adapters/aws/ledger-table";

export type Item = Record<string, unknown>;

export interface EmulatedLedgerTable {
  readonly tableName: string;
  /** `http://127.0.0.1:<port>`: the value for a client's `endpoint`, or for AWS_ENDPOINT_URL_DYNAMODB */
  readonly endpoint: string;
  /**
   * A document client on the table. With `pageSize`, every Query page ends after that many
   * items, as DynamoDB ends a page at 1 MB of items read, whatever Limit the caller asked for.
   */
  client(options?: { readonly pageSize?: number }): DynamoDBDocumentClient;
  /** Every item of the table, in key order. */
  items(): Promise<Item[]>;
  /** Destroys its clients and stops the server (and its in-memory database). */
  close(): Promise<void>;
}

/** Fake, and never sent anywhere but the emulator on loopback. */
const CREDENTIALS = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "emulator-not-a-secret" };

export async function startLedgerTable(tableName = "tapestry-ledger"): Promise<EmulatedLedgerTable> {
  // no CREATING delay: the table is ACTIVE as soon as CreateTable answers
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clients: DynamoDBDocumentClient[] = [];

  const client = (options: { readonly pageSize?: number } = {}): DynamoDBDocumentClient => {
    const document = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint, region: "us-east-1", credentials: CREDENTIALS, maxAttempts: 1 }),
    );
    const { pageSize } = options;
    if (pageSize !== undefined) {
      document.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName !== "QueryCommand") return next(args);
          const input = args.input as { Limit?: number };
          return next({ ...args, input: { ...input, Limit: Math.min(input.Limit ?? pageSize, pageSize) } });
        },
        { step: "initialize", name: "endQueryPagesEarly" },
      );
    }
    clients.push(document);
    return document;
  };

  const admin = client();
  await admin.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [
        LEDGER_TABLE.partitionKey,
        LEDGER_TABLE.sortKey,
        LEDGER_TABLE.runsByPipelineIndex.partitionKey,
        LEDGER_TABLE.runsByPipelineIndex.sortKey,
      ].map((AttributeName) => ({ AttributeName, AttributeType: "S" })),
      KeySchema: [
        { AttributeName: LEDGER_TABLE.partitionKey, KeyType: "HASH" },
        { AttributeName: LEDGER_TABLE.sortKey, KeyType: "RANGE" },
      ],
      // as the Ledger stack declares it
      GlobalSecondaryIndexes: [
        {
          IndexName: LEDGER_TABLE.runsByPipelineIndex.name,
          KeySchema: [
            { AttributeName: LEDGER_TABLE.runsByPipelineIndex.partitionKey, KeyType: "HASH" },
            { AttributeName: LEDGER_TABLE.runsByPipelineIndex.sortKey, KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        },
      ],
    }),
  );

  return {
    tableName,
    endpoint,
    client,
    async items() {
      const items: Item[] = [];
      let ExclusiveStartKey: Item | undefined;
      do {
        const page = await admin.send(
          new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey }),
        );
        items.push(...(page.Items ?? []));
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey !== undefined);
      const key = (item: Item) => [
        String(item[LEDGER_TABLE.partitionKey]),
        String(item[LEDGER_TABLE.sortKey]),
      ];
      return items.sort((a, b) => compareKeys(key(a), key(b)));
    },
    async close() {
      for (const each of clients) each.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}

/**
 * Serves the commands the ledger sends (Put, Get, Delete, Query) from the emulator, through an
 * aws-sdk-client-mock of the ledger's own client: the mock records what the adapter asked
 * (`commandCalls`), and a test can still make one command fail or interleave another writer
 * (`on(...).callsFake`), then pass on to `emulator` itself.
 */
export function passThrough(
  mock: AwsClientStub<DynamoDBDocumentClient>,
  emulator: DynamoDBDocumentClient,
): void {
  mock
    .onAnyCommand()
    .rejects(new Error("the ledger tests pass Put, Get, Delete and Query to the emulator: add this command"))
    .on(PutCommand)
    .callsFake((input) => emulator.send(new PutCommand(input)))
    .on(GetCommand)
    .callsFake((input) => emulator.send(new GetCommand(input)))
    .on(DeleteCommand)
    .callsFake((input) => emulator.send(new DeleteCommand(input)))
    .on(QueryCommand)
    .callsFake((input) => emulator.send(new QueryCommand(input)));
}

/** DynamoDB orders strings by their UTF-8 bytes. */
function compareKeys(a: readonly string[], b: readonly string[]): number {
  for (const [i, part] of a.entries()) {
    const order = Buffer.compare(Buffer.from(part), Buffer.from(b[i] ?? ""));
    if (order !== 0) return order;
  }
  return 0;
}
