import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
} from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  type GetCommandInput,
  PutCommand,
  type PutCommandInput,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { LedgerUnavailableError, TapestryError } from "@tapestry/core/errors";
import { createEvent, factKey, type TapestryEvent } from "@tapestry/core/events";
import { InvalidCursorError, LedgerInputError, projectRun } from "@tapestry/core/ledger";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
// the module itself, not the barrel: the barrel also loads the other AWS adapters
import { DynamoDbRunLedger } from "../../packages/core/src/adapters/aws/dynamodb-ledger";
import { LEDGER_TABLE } from "../../packages/core/src/adapters/aws/ledger-table";
import {
  DynamoDbTableFake,
  serveTableThroughMock,
  UnsupportedExpressionError,
} from "../support/dynamodb-table-fake";
import { at, iso, OTHER_PIPELINE, PIPELINE, runIdAt, successfulRecord, successfulRun } from "./run-events";
import { describeRunLedgerContract } from "./run-ledger-suite";

const TABLE_NAME = "tapestry-ledger";
const { partitionKey: PK, sortKey: SK } = LEDGER_TABLE;
const INDEX = LEDGER_TABLE.runsByPipelineIndex;

function newTable(options: { maxItemsPerPage?: number } = {}): DynamoDbTableFake {
  return new DynamoDbTableFake({
    tableName: TABLE_NAME,
    partitionKey: PK,
    sortKey: SK,
    indexes: [INDEX],
    ...options,
  });
}

interface Harness {
  readonly ledger: DynamoDbRunLedger;
  readonly client: DynamoDBDocumentClient;
  readonly table: DynamoDbTableFake;
  readonly mock: AwsClientStub<DynamoDBDocumentClient>;
  close(): void;
}

function openHarness(table = newTable()): Harness {
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      region: "eu-west-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    }),
  );
  // the instance, not the class: each ledger gets its own mock, so two ledgers can share one table
  const mock = mockClient(client);
  serveTableThroughMock(mock, table);
  return {
    ledger: new DynamoDbRunLedger({ client, tableName: TABLE_NAME }),
    client,
    table,
    mock,
    close: () => {
      mock.restore();
      client.destroy();
    },
  };
}

const openOn = (table: () => DynamoDbTableFake) => async () => {
  const harness = openHarness(table());
  return Object.assign(harness.ledger, { close: harness.close });
};

describeRunLedgerContract("DynamoDbRunLedger (aws-sdk-client-mock)", openOn(newTable));
// the same contract when every Query page is cut short, as DynamoDB does at 1 MB
describeRunLedgerContract(
  "DynamoDbRunLedger (aws-sdk-client-mock, DynamoDB pages of 2 items)",
  openOn(() => newTable({ maxItemsPerPage: 2 })),
);

const isRunRecordPut = (input: PutCommandInput): boolean => input.Item?.[SK] === "RUN";
const isLockGet = (input: GetCommandInput): boolean => input.Key?.[SK] === "LOCK";
const lockKey = (pipeline: string) => ({ [PK]: `LOCK#${pipeline}`, [SK]: "LOCK" });

function throttled(): ProvisionedThroughputExceededException {
  return new ProvisionedThroughputExceededException({
    message: "The level of configured provisioned throughput for the table was exceeded",
    $metadata: {},
  });
}

describe("DynamoDbRunLedger: what it asks of DynamoDB", () => {
  let harness: Harness;
  const runA = runIdAt(PIPELINE, at(0));
  const runB = runIdAt(PIPELINE, at(600));

  beforeEach(() => {
    harness = openHarness();
  });

  afterEach(() => {
    harness.close();
  });

  const inputs = {
    puts: () => harness.mock.commandCalls(PutCommand).map((call) => call.args[0].input),
    gets: () => harness.mock.commandCalls(GetCommand).map((call) => call.args[0].input),
    deletes: () => harness.mock.commandCalls(DeleteCommand).map((call) => call.args[0].input),
    queries: () => harness.mock.commandCalls(QueryCommand).map((call) => call.args[0].input),
  };

  describe("run lock", () => {
    it("is one conditional put (free, expired or its own), with the expiry normalised and a TTL that never frees it early", async () => {
      const { ledger } = harness;
      // 07:00:00.250Z written with an offset: stored as toISOString, TTL rounded up to 07:00:01
      expect(
        await ledger.acquireRunLock({
          pipeline: PIPELINE,
          runId: runA,
          expiresAt: "2026-03-01T08:00:00.250+01:00",
          now: "2026-03-01T07:00:00+01:00",
        }),
      ).toEqual({ acquired: true });
      expect(inputs.puts()).toEqual([
        {
          TableName: TABLE_NAME,
          Item: {
            [PK]: `LOCK#${PIPELINE}`,
            [SK]: "LOCK",
            runId: runA,
            expiresAt: "2026-03-01T07:00:00.250Z",
            [LEDGER_TABLE.timeToLiveAttribute]: Date.parse("2026-03-01T07:00:01Z") / 1_000,
          },
          ConditionExpression: "attribute_not_exists(#pk) OR #expiresAt <= :now OR #runId = :runId",
          ExpressionAttributeNames: { "#pk": PK, "#expiresAt": "expiresAt", "#runId": "runId" },
          ExpressionAttributeValues: { ":now": iso(0), ":runId": runA },
        },
      ]);
      expect(inputs.gets()).toEqual([]);
    });

    it("reads its holder consistently, after a refused put and when asked who holds it", async () => {
      const { ledger } = harness;
      await ledger.acquireRunLock({ pipeline: PIPELINE, runId: runA, expiresAt: iso(3600), now: iso(0) });
      expect(
        await ledger.acquireRunLock({ pipeline: PIPELINE, runId: runB, expiresAt: iso(4200), now: iso(600) }),
      ).toEqual({ acquired: false, heldBy: runA });
      expect(await ledger.getRunLock(PIPELINE, iso(601))).toEqual({
        pipeline: PIPELINE,
        runId: runA,
        expiresAt: iso(3600),
      });
      const consistentLockGet = { TableName: TABLE_NAME, Key: lockKey(PIPELINE), ConsistentRead: true };
      expect(inputs.gets()).toEqual([consistentLockGet, consistentLockGet]);
    });

    it("is released by a delete on condition that the run holds it", async () => {
      const { ledger } = harness;
      await ledger.acquireRunLock({ pipeline: PIPELINE, runId: runA, expiresAt: iso(3600), now: iso(0) });
      await ledger.releaseRunLock({ pipeline: PIPELINE, runId: runB });
      await ledger.releaseRunLock({ pipeline: PIPELINE, runId: runA });
      expect(inputs.deletes()).toEqual(
        [runB, runA].map((runId) => ({
          TableName: TABLE_NAME,
          Key: lockKey(PIPELINE),
          ConditionExpression: "#runId = :runId",
          ExpressionAttributeNames: { "#runId": "runId" },
          ExpressionAttributeValues: { ":runId": runId },
        })),
      );
      expect(harness.table.allItems()).toEqual([]);
    });

    it("is taken when its holder releases it between the refused put and the read of the holder", async () => {
      const { ledger, table, mock } = harness;
      await ledger.acquireRunLock({ pipeline: PIPELINE, runId: runA, expiresAt: iso(3600), now: iso(0) });
      let released = false;
      mock.on(GetCommand).callsFake(async (input: GetCommandInput) => {
        if (isLockGet(input) && !released) {
          released = true;
          table.delete({ TableName: TABLE_NAME, Key: lockKey(PIPELINE) }); // runA's release, in between
        }
        return table.get(input);
      });
      mock.resetHistory();

      expect(
        await ledger.acquireRunLock({ pipeline: PIPELINE, runId: runB, expiresAt: iso(4200), now: iso(600) }),
      ).toEqual({ acquired: true });
      expect(inputs.puts()).toHaveLength(2);
      expect(await ledger.getRunLock(PIPELINE, iso(601))).toEqual({
        pipeline: PIPELINE,
        runId: runB,
        expiresAt: iso(4200),
      });
    });

    it("names the new holder when the lock changed hands between the refused put and the read", async () => {
      const { ledger, table, mock } = harness;
      const runC = runIdAt(PIPELINE, at(1200));
      await ledger.acquireRunLock({ pipeline: PIPELINE, runId: runA, expiresAt: iso(3600), now: iso(0) });
      let handedOver = false;
      mock.on(GetCommand).callsFake(async (input: GetCommandInput) => {
        if (isLockGet(input) && !handedOver) {
          handedOver = true;
          table.put({
            TableName: TABLE_NAME,
            Item: { ...lockKey(PIPELINE), runId: runC, expiresAt: iso(5000) },
          });
        }
        return table.get(input);
      });
      expect(
        await ledger.acquireRunLock({ pipeline: PIPELINE, runId: runB, expiresAt: iso(4200), now: iso(600) }),
      ).toEqual({ acquired: false, heldBy: runC });
    });

    it("gives up with an error, rather than name a holder it never saw, when the lock keeps changing hands", async () => {
      const { ledger, table, mock } = harness;
      const heldByA = {
        TableName: TABLE_NAME,
        Item: { ...lockKey(PIPELINE), runId: runA, expiresAt: iso(3600) },
      };
      mock
        .on(PutCommand)
        .callsFake(async (input: PutCommandInput) => {
          table.put(heldByA); // runA takes it again just before each of runB's puts
          return table.put(input);
        })
        .on(GetCommand)
        .callsFake(async (input: GetCommandInput) => {
          table.delete({ TableName: TABLE_NAME, Key: lockKey(PIPELINE) }); // and releases it before each read
          return table.get(input);
        });
      const attempt = ledger.acquireRunLock({
        pipeline: PIPELINE,
        runId: runB,
        expiresAt: iso(4200),
        now: iso(600),
      });
      await expect(attempt).rejects.toBeInstanceOf(TapestryError);
      await expect(attempt).rejects.toThrow(/changed hands 3 times/);
      expect(inputs.puts()).toHaveLength(3);
    });
  });

  describe("record", () => {
    it("writes each event once on condition, and re-projects the run on condition of having seen at least as many events", async () => {
      const { ledger, table } = harness;
      const { runId, events } = successfulRun(PIPELINE, at(0));
      // the run's first event arrives last: its record moves on the index to the earlier time
      const delivered = [...events.slice(1), ...events.slice(0, 1)];
      for (const event of delivered) await ledger.record(event);

      const puts = inputs.puts();
      const eventPuts = puts.filter((input) => !isRunRecordPut(input));
      const runPuts = puts.filter(isRunRecordPut);
      expect(eventPuts).toHaveLength(events.length);
      const [firstEvent] = events;
      if (!firstEvent) throw new Error("fixture too short");
      expect(eventPuts.at(-1)).toEqual({
        TableName: TABLE_NAME,
        Item: {
          [PK]: `RUN#${runId}`,
          // one item per fact of the run: a retried task's second copy is refused by the condition
          [SK]: "EVENT#PipelineRunStarted",
          body: JSON.stringify(firstEvent),
          detailType: "PipelineRunStarted",
          pipeline: PIPELINE,
        },
        ConditionExpression: "attribute_not_exists(#pk)",
        ExpressionAttributeNames: { "#pk": PK },
      });
      expect(runPuts.map((input) => input.Item?.eventCount)).toEqual(events.map((_, i) => i + 1));
      for (const [i, input] of runPuts.entries()) {
        expect(input.ConditionExpression).toBe("attribute_not_exists(#pk) OR #eventCount <= :eventCount");
        expect(input.ExpressionAttributeNames).toEqual({ "#pk": PK, "#eventCount": "eventCount" });
        expect(input.ExpressionAttributeValues).toEqual({ ":eventCount": i + 1 });
      }
      expect(runPuts.at(-2)?.Item?.[INDEX.sortKey]).toBe(`${iso(1)}#${runId}`);
      expect(runPuts.at(-1)?.Item).toEqual({
        [PK]: `RUN#${runId}`,
        [SK]: "RUN",
        record: JSON.stringify(successfulRecord(PIPELINE, at(0))),
        pipeline: PIPELINE,
        firstEventAt: iso(0),
        eventCount: events.length,
        [INDEX.partitionKey]: `PIPELINE#${PIPELINE}`,
        [INDEX.sortKey]: `${iso(0)}#${runId}`,
      });
      // the projection reads every event of the run, the one just written included
      for (const query of inputs.queries()) {
        expect(query).toEqual({
          TableName: TABLE_NAME,
          KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
          ExpressionAttributeNames: { "#pk": PK, "#sk": SK },
          ExpressionAttributeValues: { ":pk": `RUN#${runId}`, ":prefix": "EVENT#" },
          ConsistentRead: true,
        });
      }
      // only the run item is on the index
      expect(table.allItems().filter((item) => INDEX.partitionKey in item)).toHaveLength(1);
    });

    it("is idempotent: the second delivery of an event issues no record put", async () => {
      const { ledger, table, mock } = harness;
      const { runId, events } = successfulRun(PIPELINE, at(0));
      for (const event of events) await ledger.record(event);
      const before = table.allItems();
      mock.resetHistory();

      const [, , third] = events;
      if (!third) throw new Error("fixture too short");
      await ledger.record(third);
      expect(inputs.puts()).toHaveLength(1); // the event's, refused
      expect(inputs.puts().filter(isRunRecordPut)).toEqual([]);
      // it checks, consistently, that the record already counts every event
      expect(inputs.gets()).toEqual([
        {
          TableName: TABLE_NAME,
          Key: { [PK]: `RUN#${runId}`, [SK]: "RUN" },
          ProjectionExpression: "#eventCount",
          ExpressionAttributeNames: { "#eventCount": "eventCount" },
          ConsistentRead: true,
        },
      ]);
      expect(table.allItems()).toEqual(before);
    });

    it("finishes on redelivery a projection whose record put failed (the event was stored, the record not)", async () => {
      const { ledger, table, mock } = harness;
      const { runId, events } = successfulRun(PIPELINE, at(0));
      const last = events.at(-1);
      if (!last) throw new Error("fixture too short");
      for (const event of events.slice(0, -1)) await ledger.record(event);
      let failed = false;
      mock.on(PutCommand).callsFake(async (input: PutCommandInput) => {
        if (isRunRecordPut(input) && !failed) {
          failed = true;
          throw throttled();
        }
        return table.put(input);
      });

      await expect(ledger.record(last)).rejects.toBeInstanceOf(LedgerUnavailableError);
      expect((await ledger.getRun(runId))?.status).toBe("running");
      expect(await ledger.listEvents(runId)).toHaveLength(events.length);

      await ledger.record(last); // the retry of the delivery
      expect(await ledger.getRun(runId)).toEqual(successfulRecord(PIPELINE, at(0)));
    });

    it("never lets a projection that saw fewer events overwrite one that saw more", async () => {
      const { ledger, table, mock } = harness;
      const other = openHarness(table); // a second projector on the same table
      try {
        const { runId, events } = successfulRun(PIPELINE, at(0));
        const [, , , fourth, fifth] = events;
        if (!fourth || !fifth) throw new Error("fixture too short");
        for (const event of events.slice(0, 3)) await ledger.record(event);

        // this projector has read 4 events; before its record put lands, the other records a 5th and puts its record
        let raced = false;
        mock.on(PutCommand).callsFake(async (input: PutCommandInput) => {
          if (isRunRecordPut(input) && !raced) {
            raced = true;
            await other.ledger.record(fifth);
          }
          return table.put(input);
        });
        mock.resetHistory();
        await ledger.record(fourth);

        expect(
          inputs
            .puts()
            .filter(isRunRecordPut)
            .map((input) => input.Item?.eventCount),
        ).toEqual([4]);
        const runItem = table.allItems().find((item) => item[PK] === `RUN#${runId}` && item[SK] === "RUN");
        expect(runItem?.eventCount).toBe(5);
        expect(await ledger.getRun(runId)).toEqual(projectRun(events.slice(0, 5)));
      } finally {
        other.close();
      }
    });

    it("checks its input before it sends anything: an event without a pipeline, a bad time, limit or cursor", async () => {
      const { ledger, mock } = harness;
      const nowhere = createEvent(
        "PipelineRunSkipped",
        { runId: "Not A Run Id", trigger: { kind: "manual" }, reason: "overlap", activeRunId: "x" },
        { pipeline: PIPELINE, now: at(0) },
      );
      const { pipeline: _, ...metadata } = nowhere.detail.metadata;
      const anonymous = { ...nowhere, detail: { ...nowhere.detail, metadata } } as TapestryEvent;
      await expect(ledger.record(anonymous)).rejects.toBeInstanceOf(LedgerInputError);
      await expect(
        ledger.acquireRunLock({ pipeline: PIPELINE, runId: runA, expiresAt: "in an hour", now: iso(0) }),
      ).rejects.toBeInstanceOf(LedgerInputError);
      await expect(ledger.getRunLock(PIPELINE, "now")).rejects.toBeInstanceOf(LedgerInputError);
      await expect(ledger.listRuns(PIPELINE, { limit: 0 })).rejects.toBeInstanceOf(LedgerInputError);
      const foreignCursor = Buffer.from(JSON.stringify([OTHER_PIPELINE, iso(0), "x"])).toString("base64url");
      await expect(ledger.listRuns(PIPELINE, { limit: 1, cursor: foreignCursor })).rejects.toBeInstanceOf(
        InvalidCursorError,
      );
      expect(mock.calls()).toEqual([]);
    });
  });

  describe("reads", () => {
    it("reads a run's record and events consistently, and the index without ConsistentRead (DynamoDB refuses it)", async () => {
      const { ledger } = harness;
      const { runId, events } = successfulRun(PIPELINE, at(0));
      for (const event of events) await ledger.record(event);
      harness.mock.resetHistory();

      await ledger.getRun(runId);
      await ledger.listEvents(runId);
      await ledger.listRuns(PIPELINE, { limit: 10 });
      await ledger.latestRuns([PIPELINE, OTHER_PIPELINE]);

      expect(inputs.gets()).toEqual([
        { TableName: TABLE_NAME, Key: { [PK]: `RUN#${runId}`, [SK]: "RUN" }, ConsistentRead: true },
      ]);
      const [eventsQuery, ...indexQueries] = inputs.queries();
      expect(eventsQuery?.ConsistentRead).toBe(true);
      expect(eventsQuery?.IndexName).toBeUndefined();
      expect(indexQueries).toHaveLength(3);
      for (const query of indexQueries) {
        expect(query.IndexName).toBe(INDEX.name);
        expect(query.ConsistentRead).toBeUndefined();
        expect(query.ScanIndexForward).toBe(false);
      }
      expect(indexQueries.map((query) => [query.Limit, query.ExpressionAttributeValues])).toEqual([
        [11, { ":gsi1pk": `PIPELINE#${PIPELINE}` }],
        [1, { ":gsi1pk": `PIPELINE#${PIPELINE}` }],
        [1, { ":gsi1pk": `PIPELINE#${OTHER_PIPELINE}` }],
      ]);
    });

    it("reads all of a run's events when DynamoDB pages them", async () => {
      harness.close();
      harness = openHarness(newTable({ maxItemsPerPage: 2 }));
      const { runId, events } = successfulRun(PIPELINE, at(0));
      for (const event of events) await harness.ledger.record(event);
      harness.mock.resetHistory();

      // in the order they occurred, although DynamoDB answers them in the order of their facts
      expect(await harness.ledger.listEvents(runId)).toEqual(events);
      // 11 events, 2 a page: 6 pages, the last one short, each resuming after the previous page's last fact
      const factKeys = events.map((e) => `EVENT#${factKey(e)}`).sort();
      expect(inputs.queries().map((query) => query.ExclusiveStartKey?.[SK])).toEqual([
        undefined,
        ...factKeys.slice(0, 10).filter((_, i) => i % 2 === 1),
      ]);
    });

    it("fills a page of runs from several DynamoDB pages, and resumes after the cursor's run, without duplicates or gaps", async () => {
      harness.close();
      harness = openHarness(newTable({ maxItemsPerPage: 2 }));
      const { ledger } = harness;
      const starts = [0, 1, 2, 3, 4, 5, 6].map((hour) => at(hour * 3600));
      for (const start of starts) {
        for (const event of successfulRun(PIPELINE, start).events) await ledger.record(event);
        for (const event of successfulRun(OTHER_PIPELINE, start).events) await ledger.record(event);
      }
      const newestFirst = starts.map((start) => runIdAt(PIPELINE, start)).reverse();
      harness.mock.resetHistory();

      const first = await ledger.listRuns(PIPELINE, { limit: 5 });
      expect(first.runs.map((run) => run.runId)).toEqual(newestFirst.slice(0, 5));
      // 6 wanted (one more than the page, to know there is a next one), at most 2 a DynamoDB page
      expect(
        inputs.queries().map((query) => [query.Limit, query.ExclusiveStartKey?.[INDEX.sortKey]]),
      ).toEqual([
        [6, undefined],
        [4, `${iso(5 * 3600)}#${newestFirst[1]}`],
        [2, `${iso(3 * 3600)}#${newestFirst[3]}`],
      ]);
      if (first.nextCursor === undefined) throw new Error("expected a next page");
      harness.mock.resetHistory();

      const second = await ledger.listRuns(PIPELINE, { limit: 5, cursor: first.nextCursor });
      expect(second).toEqual({
        runs: newestFirst
          .slice(5)
          .map((runId, i) => expect.objectContaining({ runId, startedAt: iso((1 - i) * 3600) })),
      });
      const [resume, afterFullPage] = inputs.queries();
      expect(resume?.ExclusiveStartKey).toEqual({
        [PK]: `RUN#${newestFirst[4]}`,
        [SK]: "RUN",
        [INDEX.partitionKey]: `PIPELINE#${PIPELINE}`,
        [INDEX.sortKey]: `${iso(2 * 3600)}#${newestFirst[4]}`,
      });
      // the full DynamoDB page came with a LastEvaluatedKey and nothing after it: followed, and no cursor
      expect(afterFullPage?.Limit).toBe(4);
      expect(inputs.queries()).toHaveLength(2);
    });
  });

  describe("DynamoDB failures", () => {
    type Mock = Harness["mock"];
    /** each command: how to make it fail, and how many were sent */
    const failures: [string, (mock: Mock, error: Error) => void, (mock: Mock) => number][] = [
      [
        "PutCommand",
        (mock, error) => mock.on(PutCommand).rejects(error),
        (mock) => mock.commandCalls(PutCommand).length,
      ],
      [
        "GetCommand",
        (mock, error) => mock.on(GetCommand).rejects(error),
        (mock) => mock.commandCalls(GetCommand).length,
      ],
      [
        "DeleteCommand",
        (mock, error) => mock.on(DeleteCommand).rejects(error),
        (mock) => mock.commandCalls(DeleteCommand).length,
      ],
      [
        "QueryCommand",
        (mock, error) => mock.on(QueryCommand).rejects(error),
        (mock) => mock.commandCalls(QueryCommand).length,
      ],
    ];

    it.each(failures)("propagate from a %s, when not ConditionalCheckFailed", async (_, fail, sentCount) => {
      const { ledger, mock } = harness;
      const { runId, events } = successfulRun(PIPELINE, at(0));
      for (const event of events.slice(0, 2)) await ledger.record(event);
      await ledger.acquireRunLock({ pipeline: PIPELINE, runId: runA, expiresAt: iso(3600), now: iso(0) });
      const error = throttled();
      fail(mock, error);

      const calls: [string, () => Promise<unknown>][] = [
        [
          "acquireRunLock",
          () =>
            ledger.acquireRunLock({ pipeline: PIPELINE, runId: runB, expiresAt: iso(4200), now: iso(600) }),
        ],
        ["getRunLock", () => ledger.getRunLock(PIPELINE, iso(1))],
        ["releaseRunLock", () => ledger.releaseRunLock({ pipeline: PIPELINE, runId: runA })],
        ["record", () => ledger.record(events[2] as TapestryEvent)],
        ["getRun", () => ledger.getRun(runId)],
        ["listRuns", () => ledger.listRuns(PIPELINE, { limit: 5 })],
        ["latestRuns", () => ledger.latestRuns([PIPELINE])],
        ["listEvents", () => ledger.listEvents(runId)],
      ];
      let propagated = 0;
      for (const [name, call] of calls) {
        mock.resetHistory();
        const outcome = await call().then(
          () => undefined,
          (reason: unknown) => reason,
        );
        const sent = sentCount(mock) > 0;
        // every call that sent the failing command failed with LedgerUnavailableError (the name the
        // state machine retries), carrying DynamoDB's error as its cause
        if (sent) {
          expect(outcome, name).toBeInstanceOf(LedgerUnavailableError);
          expect((outcome as Error).cause, name).toBe(error);
        } else {
          expect(outcome, name).toBeUndefined();
        }
        if (sent) propagated += 1;
      }
      expect(propagated).toBeGreaterThan(0);
    });
  });
});

describe("DynamoDbTableFake", () => {
  const key = { [PK]: "RUN#a", [SK]: "RUN" };
  let table: DynamoDbTableFake;

  beforeEach(() => {
    table = newTable();
    table.put({ TableName: TABLE_NAME, Item: { ...key, eventCount: 3, runId: "a" } });
  });

  it("refuses, and changes nothing for, expressions it does not understand", () => {
    const before = table.allItems();
    const conditions: [string, Record<string, string>, Record<string, unknown>][] = [
      ["NOT attribute_exists(#pk)", { "#pk": PK }, {}],
      ["(#n = :n)", { "#n": "eventCount" }, { ":n": 3 }],
      ["#n <> :n", { "#n": "eventCount" }, { ":n": 3 }],
      ["#n BETWEEN :a AND :b", { "#n": "eventCount" }, { ":a": 1, ":b": 5 }],
      ["#n IN (:a, :b)", { "#n": "eventCount" }, { ":a": 1, ":b": 5 }],
      ["contains(#r, :r)", { "#r": "runId" }, { ":r": "a" }],
      ["size(#r) > :n", { "#r": "runId" }, { ":n": 0 }],
      ["begins_with(#r, :r)", { "#r": "runId" }, { ":r": "a" }],
      ["eventCount <= :n", {}, { ":n": 3 }],
      ["#n <= :n OR", { "#n": "eventCount" }, { ":n": 3 }],
    ];
    for (const [ConditionExpression, names, values] of conditions) {
      const expression = {
        TableName: TABLE_NAME,
        ConditionExpression,
        ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
        ExpressionAttributeValues: values,
      };
      expect(
        () => table.put({ ...expression, Item: { ...key, eventCount: 4 } }),
        ConditionExpression,
      ).toThrow(UnsupportedExpressionError);
      expect(() => table.delete({ ...expression, Key: key }), ConditionExpression).toThrow(
        UnsupportedExpressionError,
      );
    }
    const keyConditions: [string, Record<string, string>, Record<string, unknown>][] = [
      ["#pk = :pk AND #sk < :sk", { "#pk": PK, "#sk": SK }, { ":pk": "RUN#a", ":sk": "S" }],
      [
        "#pk = :pk AND #sk BETWEEN :a AND :b",
        { "#pk": PK, "#sk": SK },
        { ":pk": "RUN#a", ":a": "A", ":b": "Z" },
      ],
      ["#sk = :sk AND #pk = :pk", { "#pk": PK, "#sk": SK }, { ":pk": "RUN#a", ":sk": "RUN" }],
      ["pk = :pk", {}, { ":pk": "RUN#a" }],
    ];
    for (const [KeyConditionExpression, names, values] of keyConditions) {
      expect(
        () =>
          table.query({
            TableName: TABLE_NAME,
            KeyConditionExpression,
            ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
            ExpressionAttributeValues: values,
          }),
        KeyConditionExpression,
      ).toThrow(UnsupportedExpressionError);
    }
    expect(() =>
      table.query({
        TableName: TABLE_NAME,
        KeyConditionExpression: "#pk = :pk",
        FilterExpression: "#n > :n",
        ExpressionAttributeNames: { "#pk": PK, "#n": "eventCount" },
        ExpressionAttributeValues: { ":pk": "RUN#a", ":n": 1 },
      }),
    ).toThrow(UnsupportedExpressionError);
    expect(table.allItems()).toEqual(before);
  });

  it("answers, through the mock, any command it does not model with an error", async () => {
    const harness = openHarness(table);
    try {
      const update = new UpdateCommand({
        TableName: TABLE_NAME,
        Key: key,
        UpdateExpression: "SET #n = :n",
        ExpressionAttributeNames: { "#n": "eventCount" },
        ExpressionAttributeValues: { ":n": 9 },
      });
      await expect(harness.client.send(update)).rejects.toBeInstanceOf(UnsupportedExpressionError);
      expect(table.allItems()).toEqual([{ ...key, eventCount: 3, runId: "a" }]);
    } finally {
      harness.close();
    }
  });

  it("fails a condition with DynamoDB's own ConditionalCheckFailedException, and evaluates the forms it knows", () => {
    const attempt = (ConditionExpression: string, values?: Record<string, unknown>) => () =>
      table.put({
        TableName: TABLE_NAME,
        Item: { ...key, eventCount: 4 },
        ConditionExpression,
        ExpressionAttributeNames: { "#pk": PK, "#n": "eventCount" },
        ...(values ? { ExpressionAttributeValues: values } : {}),
      });
    expect(attempt("attribute_not_exists(#pk) OR #n <= :n", { ":n": 2 })).toThrow(
      ConditionalCheckFailedException,
    );
    expect(attempt("attribute_exists(#pk) AND #n > :n", { ":n": 3 })).toThrow(
      ConditionalCheckFailedException,
    );
    expect(attempt("attribute_not_exists(#pk) OR #n <= :n", { ":n": "3" })).toThrow(
      ConditionalCheckFailedException,
    );
    expect(attempt("attribute_not_exists(#pk) OR #n <= :n", { ":n": 3 })).not.toThrow();
    expect(attempt("attribute_exists(#pk) AND #n = :n", { ":n": 4 })).not.toThrow();
  });

  it("refuses what DynamoDB refuses: undefined or unused placeholders, ConsistentRead on an index, undefined values, another table", () => {
    const refusal = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return error;
      }
      throw new Error("expected a refusal");
    };
    expect(
      refusal(() =>
        table.put({ TableName: TABLE_NAME, Item: key, ConditionExpression: "attribute_not_exists(#pk)" }),
      ),
    ).toMatchObject({ name: "ValidationException" });
    expect(
      refusal(() =>
        table.put({
          TableName: TABLE_NAME,
          Item: key,
          ConditionExpression: "#n <= :n",
          ExpressionAttributeNames: { "#n": "eventCount", "#unused": "x" },
          ExpressionAttributeValues: { ":n": 9 },
        }),
      ),
    ).toMatchObject({ name: "ValidationException", message: expect.stringContaining("unused") });
    expect(
      refusal(() =>
        table.query({
          TableName: TABLE_NAME,
          IndexName: INDEX.name,
          KeyConditionExpression: "#p = :p",
          ExpressionAttributeNames: { "#p": INDEX.partitionKey },
          ExpressionAttributeValues: { ":p": "PIPELINE#x" },
          ConsistentRead: true,
        }),
      ),
    ).toMatchObject({ name: "ValidationException", message: expect.stringContaining("Consistent reads") });
    expect(
      refusal(() => table.put({ TableName: TABLE_NAME, Item: { ...key, record: undefined } })),
    ).toMatchObject({
      message: expect.stringContaining("removeUndefinedValues"),
    });
    expect(refusal(() => table.get({ TableName: "another-table", Key: key }))).toMatchObject({
      name: "ResourceNotFoundException",
    });
  });

  it("ends a page at Limit with a LastEvaluatedKey even when nothing follows, and resumes after ExclusiveStartKey", () => {
    for (const id of ["b", "c"]) {
      table.put({
        TableName: TABLE_NAME,
        Item: {
          [PK]: `RUN#${id}`,
          [SK]: "RUN",
          [INDEX.partitionKey]: "PIPELINE#p",
          [INDEX.sortKey]: `t#${id}`,
        },
      });
    }
    const page = (Limit: number, ExclusiveStartKey?: Record<string, unknown>) =>
      table.query({
        TableName: TABLE_NAME,
        IndexName: INDEX.name,
        KeyConditionExpression: "#p = :p",
        ExpressionAttributeNames: { "#p": INDEX.partitionKey },
        ExpressionAttributeValues: { ":p": "PIPELINE#p" },
        ScanIndexForward: false,
        Limit,
        ...(ExclusiveStartKey ? { ExclusiveStartKey } : {}),
      });
    // the item without index keys ("RUN#a") is not on the index
    const first = page(1);
    expect(first.Items?.map((item) => item[PK])).toEqual(["RUN#c"]);
    const second = page(1, first.LastEvaluatedKey);
    expect(second.Items?.map((item) => item[PK])).toEqual(["RUN#b"]);
    expect(second.LastEvaluatedKey).toEqual({
      [PK]: "RUN#b",
      [SK]: "RUN",
      [INDEX.partitionKey]: "PIPELINE#p",
      [INDEX.sortKey]: "t#b",
    });
    expect(page(1, second.LastEvaluatedKey)).toMatchObject({ Items: [], Count: 0 });
    expect(page(5).LastEvaluatedKey).toBeUndefined();
  });
});
