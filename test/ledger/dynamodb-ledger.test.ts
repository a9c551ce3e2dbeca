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
  type QueryCommandInput,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from "@aws-sdk/lib-dynamodb";
import { LedgerUnavailableError, TapestryError } from "@tapestry/core/errors";
import { createEvent, factKey, type TapestryEvent } from "@tapestry/core/events";
import { InvalidCursorError, LedgerInputError, projectRun } from "@tapestry/core/ledger";
import { type AwsClientStub, type AwsCommand, mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
// the module itself, not the barrel: the barrel also loads the other AWS adapters
import { DynamoDbRunLedger } from "../../packages/core/src/adapters/aws/dynamodb-ledger";
import { LEDGER_TABLE } from "../../packages/core/src/adapters/aws/ledger-table";
import { type EmulatedLedgerTable, passThrough, startLedgerTable } from "../support/dynamodb-emulator";
import { at, iso, OTHER_PIPELINE, PIPELINE, runIdAt, successfulRecord, successfulRun } from "./run-events";
import { describeRunLedgerContract } from "./run-ledger-suite";

const TABLE_NAME = "tapestry-ledger";
const { partitionKey: PK, sortKey: SK } = LEDGER_TABLE;
const INDEX = LEDGER_TABLE.runsByPipelineIndex;

/** A DynamoDbRunLedger on a fresh emulated table, Query pages cut at `pageSize` items when given. */
const openOnEmulator = (pageSize?: number) => async () => {
  const table = await startLedgerTable(TABLE_NAME);
  const ledger = new DynamoDbRunLedger({ client: table.client({ pageSize }), tableName: TABLE_NAME });
  return Object.assign(ledger, { close: () => table.close() });
};

describeRunLedgerContract("DynamoDbRunLedger (dynalite)", openOnEmulator());
// the same contract when every Query page is cut short, as DynamoDB does at 1 MB
describeRunLedgerContract("DynamoDbRunLedger (dynalite, DynamoDB pages of 2 items)", openOnEmulator(2));

interface Harness {
  readonly ledger: DynamoDbRunLedger;
  readonly table: EmulatedLedgerTable;
  /** the emulator's own client: what another writer would do, between the ledger's commands */
  readonly emulator: DynamoDBDocumentClient;
  /** the ledger's client, served by the emulator through aws-sdk-client-mock: it records every command */
  readonly mock: AwsClientStub<DynamoDBDocumentClient>;
  close(): Promise<void>;
}

/** A ledger whose commands are recorded on their way to the emulator; on `table`, or a fresh one. */
async function openHarness(
  options: { table?: EmulatedLedgerTable; pageSize?: number } = {},
): Promise<Harness> {
  const table = options.table ?? (await startLedgerTable(TABLE_NAME));
  const emulator = table.client({ pageSize: options.pageSize });
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: "eu-west-1" }));
  // the instance, not the class: the emulator's client is a DynamoDBDocumentClient too
  const mock = mockClient(client);
  passThrough(mock, emulator);
  return {
    ledger: new DynamoDbRunLedger({ client, tableName: TABLE_NAME }),
    table,
    emulator,
    mock,
    close: async () => {
      mock.restore();
      client.destroy();
      if (options.table === undefined) await table.close();
    },
  };
}

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

  beforeEach(async () => {
    harness = await openHarness();
  });

  afterEach(async () => {
    await harness.close();
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
      expect(await harness.table.items()).toEqual([]);
    });

    it("is taken when its holder releases it between the refused put and the read of the holder", async () => {
      const { ledger, emulator, mock } = harness;
      await ledger.acquireRunLock({ pipeline: PIPELINE, runId: runA, expiresAt: iso(3600), now: iso(0) });
      let released = false;
      mock.on(GetCommand).callsFake(async (input: GetCommandInput) => {
        if (isLockGet(input) && !released) {
          released = true;
          // runA's release, in between
          await emulator.send(new DeleteCommand({ TableName: TABLE_NAME, Key: lockKey(PIPELINE) }));
        }
        return emulator.send(new GetCommand(input));
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
      const { ledger, emulator, mock } = harness;
      const runC = runIdAt(PIPELINE, at(1200));
      await ledger.acquireRunLock({ pipeline: PIPELINE, runId: runA, expiresAt: iso(3600), now: iso(0) });
      let handedOver = false;
      mock.on(GetCommand).callsFake(async (input: GetCommandInput) => {
        if (isLockGet(input) && !handedOver) {
          handedOver = true;
          await emulator.send(
            new PutCommand({
              TableName: TABLE_NAME,
              Item: { ...lockKey(PIPELINE), runId: runC, expiresAt: iso(5000) },
            }),
          );
        }
        return emulator.send(new GetCommand(input));
      });
      expect(
        await ledger.acquireRunLock({ pipeline: PIPELINE, runId: runB, expiresAt: iso(4200), now: iso(600) }),
      ).toEqual({ acquired: false, heldBy: runC });
    });

    it("gives up with an error, rather than name a holder it never saw, when the lock keeps changing hands", async () => {
      const { ledger, emulator, mock } = harness;
      const heldByA = {
        TableName: TABLE_NAME,
        Item: { ...lockKey(PIPELINE), runId: runA, expiresAt: iso(3600) },
      };
      mock
        .on(PutCommand)
        .callsFake(async (input: PutCommandInput) => {
          await emulator.send(new PutCommand(heldByA)); // runA takes it again just before each of runB's puts
          return emulator.send(new PutCommand(input));
        })
        .on(GetCommand)
        .callsFake(async (input: GetCommandInput) => {
          // and releases it before each read
          await emulator.send(new DeleteCommand({ TableName: TABLE_NAME, Key: lockKey(PIPELINE) }));
          return emulator.send(new GetCommand(input));
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
      expect((await table.items()).filter((item) => INDEX.partitionKey in item)).toHaveLength(1);
    });

    it("is idempotent: the second delivery of an event issues no record put", async () => {
      const { ledger, table, mock } = harness;
      const { runId, events } = successfulRun(PIPELINE, at(0));
      for (const event of events) await ledger.record(event);
      const before = await table.items();
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
      expect(await table.items()).toEqual(before);
    });

    it("finishes on redelivery a projection whose record put failed (the event was stored, the record not)", async () => {
      const { ledger, emulator, mock } = harness;
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
        return emulator.send(new PutCommand(input));
      });

      await expect(ledger.record(last)).rejects.toBeInstanceOf(LedgerUnavailableError);
      expect((await ledger.getRun(runId))?.status).toBe("running");
      expect(await ledger.listEvents(runId)).toHaveLength(events.length);

      await ledger.record(last); // the retry of the delivery
      expect(await ledger.getRun(runId)).toEqual(successfulRecord(PIPELINE, at(0)));
    });

    it("never lets a projection that saw fewer events overwrite one that saw more", async () => {
      const { ledger, table, emulator, mock } = harness;
      const other = await openHarness({ table }); // a second projector on the same table
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
          return emulator.send(new PutCommand(input));
        });
        mock.resetHistory();
        await ledger.record(fourth);

        expect(
          inputs
            .puts()
            .filter(isRunRecordPut)
            .map((input) => input.Item?.eventCount),
        ).toEqual([4]);
        const runItem = (await table.items()).find(
          (item) => item[PK] === `RUN#${runId}` && item[SK] === "RUN",
        );
        expect(runItem?.eventCount).toBe(5);
        expect(await ledger.getRun(runId)).toEqual(projectRun(events.slice(0, 5)));
      } finally {
        await other.close();
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
      await harness.close();
      harness = await openHarness({ pageSize: 2 });
      const { runId, events } = successfulRun(PIPELINE, at(0));
      for (const event of events) await harness.ledger.record(event);
      harness.mock.resetHistory();

      // in the order they occurred, although DynamoDB answers them in the order of their facts
      expect(await harness.ledger.listEvents(runId)).toEqual(events);
      // 10 events, 2 a page: 5 full pages and an empty sixth (a full page comes with a LastEvaluatedKey),
      // each resuming after the previous page's last fact
      const factKeys = events.map((e) => `EVENT#${factKey(e)}`).sort();
      expect(inputs.queries().map((query) => query.ExclusiveStartKey?.[SK])).toEqual([
        undefined,
        ...factKeys.slice(0, 10).filter((_, i) => i % 2 === 1),
      ]);
    });

    it("fills a page of runs from several DynamoDB pages, and resumes after the cursor's run, without duplicates or gaps", async () => {
      await harness.close();
      harness = await openHarness({ pageSize: 2 });
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
    const failure = <TIn extends ServiceInputTypes, TOut extends ServiceOutputTypes>(
      command: new (input: TIn) => AwsCommand<TIn, TOut>,
    ) =>
      [
        command.name,
        (mock: Mock, error: Error) => mock.on(command).rejects(error),
        (mock: Mock) => mock.commandCalls(command).length,
      ] as const;
    const failures = [
      failure(PutCommand),
      failure(GetCommand),
      failure(DeleteCommand),
      failure(QueryCommand),
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

/**
 * What the tests above take from the emulator: DynamoDB's answers where the ledger's correctness
 * depends on them. A dynalite upgrade that changes one fails here, by name, not somewhere above.
 */
describe("the DynamoDB emulator (dynalite) answers as DynamoDB", () => {
  const key = { [PK]: "RUN#a", [SK]: "RUN" };
  let table: EmulatedLedgerTable;
  let client: DynamoDBDocumentClient;

  beforeEach(async () => {
    table = await startLedgerTable(TABLE_NAME);
    client = table.client();
    await client.send(new PutCommand({ TableName: TABLE_NAME, Item: { ...key, eventCount: 3, runId: "a" } }));
  });

  afterEach(async () => {
    await table.close();
  });

  /** A query of the runsByPipeline index for one partition. */
  const indexQuery = (partition: string, input: Partial<QueryCommandInput>) =>
    new QueryCommand({
      TableName: TABLE_NAME,
      IndexName: INDEX.name,
      KeyConditionExpression: "#p = :p",
      ExpressionAttributeNames: { "#p": INDEX.partitionKey },
      ExpressionAttributeValues: { ":p": partition },
      ...input,
    });

  const refusal = (command: Promise<unknown>) =>
    command.then(
      () => {
        throw new Error("expected a refusal");
      },
      (error: unknown) => error,
    );

  it("fails a condition with ConditionalCheckFailedException, and evaluates the forms the ledger writes", async () => {
    const attempt = (ConditionExpression: string, values?: Record<string, unknown>) =>
      client.send(
        new PutCommand({
          TableName: TABLE_NAME,
          Item: { ...key, eventCount: 4, runId: "a" },
          ConditionExpression,
          ExpressionAttributeNames: { "#pk": PK, "#n": "eventCount" },
          ...(values ? { ExpressionAttributeValues: values } : {}),
        }),
      );
    for (const [condition, values] of [
      ["attribute_not_exists(#pk) OR #n <= :n", { ":n": 2 }],
      ["attribute_exists(#pk) AND #n > :n", { ":n": 3 }],
      // a number is not a string: a comparison of different types is false
      ["attribute_not_exists(#pk) OR #n <= :n", { ":n": "3" }],
    ] as const) {
      expect(await refusal(attempt(condition, values)), condition).toBeInstanceOf(
        ConditionalCheckFailedException,
      );
    }
    await attempt("attribute_not_exists(#pk) OR #n <= :n", { ":n": 3 });
    await attempt("attribute_exists(#pk) AND #n = :n", { ":n": 4 });
    const deleteUnless = (runId: string) =>
      client.send(
        new DeleteCommand({
          TableName: TABLE_NAME,
          Key: key,
          ConditionExpression: "#runId = :runId",
          ExpressionAttributeNames: { "#runId": "runId" },
          ExpressionAttributeValues: { ":runId": runId },
        }),
      );
    expect(await refusal(deleteUnless("b"))).toMatchObject({ name: "ConditionalCheckFailedException" });
    await deleteUnless("a");
    expect(await table.items()).toEqual([]);
  });

  it("refuses what DynamoDB refuses: undefined or unused placeholders, ConsistentRead on an index, another table", async () => {
    const refusals: [string, () => Promise<unknown>, object][] = [
      [
        "an undefined placeholder",
        () =>
          client.send(
            new PutCommand({
              TableName: TABLE_NAME,
              Item: key,
              ConditionExpression: "attribute_not_exists(#pk)",
            }),
          ),
        { name: "ValidationException" },
      ],
      [
        "an unused placeholder",
        () =>
          client.send(
            new PutCommand({
              TableName: TABLE_NAME,
              Item: key,
              ConditionExpression: "#n <= :n",
              ExpressionAttributeNames: { "#n": "eventCount", "#unused": "x" },
              ExpressionAttributeValues: { ":n": 9 },
            }),
          ),
        { name: "ValidationException", message: expect.stringContaining("unused") },
      ],
      [
        "ConsistentRead on an index",
        () => client.send(indexQuery("PIPELINE#x", { ConsistentRead: true })),
        { name: "ValidationException", message: expect.stringContaining("Consistent reads") },
      ],
      [
        "another table",
        () => client.send(new GetCommand({ TableName: "another-table", Key: key })),
        { name: "ResourceNotFoundException" },
      ],
    ];
    for (const [what, send, expected] of refusals) {
      expect(await refusal(send()), what).toMatchObject(expected);
    }
    expect(await table.items()).toEqual([{ ...key, eventCount: 3, runId: "a" }]);
  });

  it("reads a sort-key prefix consistently, in key order", async () => {
    for (const sk of ["EVENT#b", "EVENT#a", "LOCK"]) {
      await client.send(new PutCommand({ TableName: TABLE_NAME, Item: { [PK]: "RUN#a", [SK]: sk } }));
    }
    const page = await client.send(
      new QueryCommand({
        TableName: TABLE_NAME,
        KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
        ExpressionAttributeNames: { "#pk": PK, "#sk": SK },
        ExpressionAttributeValues: { ":pk": "RUN#a", ":prefix": "EVENT#" },
        ConsistentRead: true,
      }),
    );
    expect(page.Items?.map((item) => item[SK])).toEqual(["EVENT#a", "EVENT#b"]);
  });

  it("ends a page at Limit with a LastEvaluatedKey even when nothing follows, and resumes after ExclusiveStartKey", async () => {
    for (const id of ["b", "c"]) {
      await client.send(
        new PutCommand({
          TableName: TABLE_NAME,
          Item: {
            [PK]: `RUN#${id}`,
            [SK]: "RUN",
            [INDEX.partitionKey]: "PIPELINE#p",
            [INDEX.sortKey]: `t#${id}`,
          },
        }),
      );
    }
    const page = (Limit: number, ExclusiveStartKey?: Record<string, unknown>, on = client) =>
      on.send(
        indexQuery("PIPELINE#p", {
          ScanIndexForward: false,
          Limit,
          ...(ExclusiveStartKey ? { ExclusiveStartKey } : {}),
        }),
      );
    // the item without index keys ("RUN#a") is not on the index
    const first = await page(1);
    expect(first.Items?.map((item) => item[PK])).toEqual(["RUN#c"]);
    const second = await page(1, first.LastEvaluatedKey);
    expect(second.Items?.map((item) => item[PK])).toEqual(["RUN#b"]);
    expect(second.LastEvaluatedKey).toEqual({
      [PK]: "RUN#b",
      [SK]: "RUN",
      [INDEX.partitionKey]: "PIPELINE#p",
      [INDEX.sortKey]: "t#b",
    });
    expect(await page(1, second.LastEvaluatedKey)).toMatchObject({ Items: [], Count: 0 });
    expect((await page(5)).LastEvaluatedKey).toBeUndefined();
    // a client with a page size (the "pages of 2 items" suites'): every page ends there, whatever the Limit
    const cut = await page(5, undefined, table.client({ pageSize: 1 }));
    expect(cut.Items?.map((item) => item[PK])).toEqual(["RUN#c"]);
    expect(cut.LastEvaluatedKey?.[PK]).toBe("RUN#c");
  });
});
