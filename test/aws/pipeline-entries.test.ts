/**
 * The deployed pipeline task functions (functions/aws/run-lock, publish-event), loaded as a cold
 * start loads them, invoked with what the pipeline-run state machine sends, against mocked AWS.
 * Each gets only the variables its stack gives it: what it does not use, it must not need.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from "@aws-sdk/lib-dynamodb";
import { scheduledRunId } from "@tapestry/core/pipeline";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import {
  acceptEveryEvent,
  BASE_ENV,
  coldStart,
  deploy,
  EVENT_BUS_NAME,
  entryTestHooks,
  LEDGER_TABLE_NAME,
  lambdaContext,
  PIPELINE,
} from "./harness";

const dynamo = mockClient(DynamoDBDocumentClient);
const eventBridge = mockClient(EventBridgeClient);
entryTestHooks(dynamo, eventBridge);

const SCHEDULED = "2026-03-02T11:00:00.000Z";
const RUN_ID = scheduledRunId(PIPELINE.name, new Date(SCHEDULED));
const trigger = { kind: "schedule", scheduledTime: SCHEDULED } as const;

const putEntries = (): PutEventsRequestEntry[] =>
  eventBridge.commandCalls(PutEventsCommand).flatMap((call) => call.args[0].input.Entries ?? []);

beforeEach(() => acceptEveryEvent(eventBridge));

describe("functions/aws/run-lock", () => {
  const env = { ...BASE_ENV, TAPESTRY_LEDGER_TABLE: LEDGER_TABLE_NAME, TAPESTRY_EVENT_BUS: EVENT_BUS_NAME };
  const load = () => coldStart(() => import("../../functions/aws/run-lock"));

  it("takes the pipeline's run lock with a conditional put on the ledger table", async () => {
    deploy(env, null); // the run lock needs no tapestry config: the pipeline comes in the task's input
    dynamo.on(PutCommand).resolves({});
    const { handler } = await load();

    const result = await handler(
      { action: "acquire", runId: RUN_ID, trigger, pipeline: PIPELINE },
      lambdaContext("run-lock"),
    );

    expect(result).toEqual({ outcome: "acquired", waitSeconds: 0, activeRunId: null });
    const puts = dynamo.commandCalls(PutCommand);
    expect(puts).toHaveLength(1);
    const put = puts[0]?.args[0].input;
    expect(put?.TableName).toBe(LEDGER_TABLE_NAME);
    expect(put?.Item).toMatchObject({ pk: `LOCK#${PIPELINE.name}`, sk: "LOCK", runId: RUN_ID });
    expect(put?.ConditionExpression).toContain("attribute_not_exists");
    expect(putEntries()).toEqual([]);
  });

  it("skips the run when another run holds the lock: PipelineRunSkipped goes on the bus", async () => {
    deploy(env, null);
    const holder = scheduledRunId(PIPELINE.name, new Date("2026-03-02T10:00:00.000Z"));
    dynamo
      .on(PutCommand)
      .rejects(
        new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} }),
      );
    dynamo.on(GetCommand).resolves({
      Item: { pk: `LOCK#${PIPELINE.name}`, sk: "LOCK", runId: holder, expiresAt: "2999-01-01T00:00:00.000Z" },
    });
    const { handler } = await load();

    const result = await handler(
      { action: "acquire", runId: RUN_ID, trigger, pipeline: PIPELINE },
      lambdaContext("run-lock"),
    );

    expect(result).toEqual({ outcome: "skipped", waitSeconds: 0, activeRunId: holder });
    const [entry, ...others] = putEntries();
    expect(others).toEqual([]);
    expect(entry).toMatchObject({
      EventBusName: EVENT_BUS_NAME,
      Source: "tapestry.pipeline",
      DetailType: "PipelineRunSkipped",
    });
    const detail = JSON.parse(entry?.Detail ?? "{}");
    expect(detail.metadata).toMatchObject({ correlationId: RUN_ID, pipeline: PIPELINE.name });
    expect(detail.data).toEqual({ runId: RUN_ID, trigger, reason: "overlap", activeRunId: holder });
  });

  it("releases the lock with a delete conditioned on the run holding it (and leaves the queue)", async () => {
    deploy(env, null);
    dynamo.on(DeleteCommand).resolves({});
    // the run's place in the pipeline's queue is looked up to be given back: it has none
    dynamo.on(QueryCommand).resolves({ Items: [] });
    const { handler } = await load();

    const result = await handler(
      { action: "release", runId: RUN_ID, pipeline: PIPELINE.name },
      lambdaContext("run-lock"),
    );

    expect(result).toEqual({ outcome: "released", waitSeconds: 0, activeRunId: null });
    const [del] = dynamo.commandCalls(DeleteCommand);
    expect(del?.args[0].input).toMatchObject({
      TableName: LEDGER_TABLE_NAME,
      Key: { pk: `LOCK#${PIPELINE.name}`, sk: "LOCK" },
      ExpressionAttributeValues: { ":runId": RUN_ID },
    });
  });
});

describe("functions/aws/publish-event", () => {
  const load = () => coldStart(() => import("../../functions/aws/publish-event"));

  it("puts PipelineRunStarted on the named bus, with the run's plan as its data", async () => {
    // the bus is all it needs: no ledger table, no state machine, no config
    deploy({ ...BASE_ENV, TAPESTRY_EVENT_BUS: EVENT_BUS_NAME }, null);
    const { handler } = await load();

    const result = await handler(
      { event: "PipelineRunStarted", runId: RUN_ID, trigger, pipeline: PIPELINE },
      lambdaContext("publish-event"),
    );

    // and the stages to run: all of them for a run that is no retry
    expect(result).toEqual({
      startedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      stages: PIPELINE.stages,
    });
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(1);
    const [entry] = putEntries();
    expect(entry).toMatchObject({
      EventBusName: EVENT_BUS_NAME,
      Source: "tapestry.pipeline",
      DetailType: "PipelineRunStarted",
    });
    const detail = JSON.parse(entry?.Detail ?? "{}");
    expect(detail.metadata).toMatchObject({ version: 1, correlationId: RUN_ID, pipeline: PIPELINE.name });
    expect(detail.data).toEqual({
      runId: RUN_ID,
      trigger,
      stages: PIPELINE.stages.map((stage) => ({
        name: stage.name,
        steps: stage.steps.map((step) => ({ name: step.name, tool: step.tool })),
      })),
    });
    expect(entry?.Time).toEqual(new Date(detail.metadata.occurredAt));
  });

  it("fails the task by name when the bus keeps refusing the event", async () => {
    deploy({ ...BASE_ENV, TAPESTRY_EVENT_BUS: EVENT_BUS_NAME }, null);
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: "AccessDeniedException", ErrorMessage: "not authorized" }],
    });
    const { handler } = await load();
    await expect(
      handler(
        {
          event: "PipelineRunFailed",
          runId: RUN_ID,
          pipeline: PIPELINE.name,
          spec: PIPELINE,
          startedAt: SCHEDULED,
          failure: { Error: "States.Timeout", Cause: null },
        },
        lambdaContext("publish-event"),
      ),
    ).rejects.toMatchObject({
      name: "EventPublishError",
      message: expect.stringContaining("AccessDeniedException"),
    });
  }, 20_000);
});
