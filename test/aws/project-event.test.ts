/**
 * functions/aws/project-event: the bus rule's target that records each Tapestry event in the
 * DynamoDB ledger. It gets EventBridge's envelope; only source, detail-type and detail are ours.
 */
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { createEvent } from "@tapestry/core/events";
import { scheduledRunId } from "@tapestry/core/pipeline";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import {
  BASE_ENV,
  busDelivery,
  coldStart,
  deploy,
  entryTestHooks,
  LEDGER_TABLE_NAME,
  lambdaContext,
  PIPELINE,
} from "./harness";

const dynamo = mockClient(DynamoDBDocumentClient);
entryTestHooks(dynamo);
const STARTED_AT = new Date("2026-03-02T11:00:01.000Z");
const RUN_ID = scheduledRunId(PIPELINE.name, new Date("2026-03-02T11:00:00.000Z"));

const started = createEvent(
  "PipelineRunStarted",
  {
    runId: RUN_ID,
    trigger: { kind: "schedule", scheduledTime: "2026-03-02T11:00:00.000Z" },
    stages: PIPELINE.stages.map((s) => ({
      name: s.name,
      steps: s.steps.map((t) => ({ name: t.name, tool: t.tool })),
    })),
  },
  { pipeline: PIPELINE.name, now: STARTED_AT },
);

beforeEach(() => {
  // the ledger table is all it needs: no bus, no state machine, no bundled config
  deploy({ ...BASE_ENV, TAPESTRY_LEDGER_TABLE: LEDGER_TABLE_NAME }, null);
});

const load = () => coldStart(() => import("../../functions/aws/project-event"));

describe("functions/aws/project-event", () => {
  it("records a catalog event delivered by the bus: the event once, then the run's record", async () => {
    dynamo.on(PutCommand).resolves({});
    dynamo.on(QueryCommand).resolves({ Items: [{ body: JSON.stringify(started) }] });
    const { handler } = await load();

    await handler(busDelivery(started), lambdaContext("project-event"));

    const puts = dynamo.commandCalls(PutCommand).map((call) => call.args[0].input);
    expect(puts).toHaveLength(2);
    expect(puts.every((put) => put.TableName === LEDGER_TABLE_NAME)).toBe(true);
    const [eventPut, runPut] = puts;
    // one item per fact of the run: a second copy of the same fact is refused by its condition
    expect(eventPut?.Item?.sk).toBe("EVENT#PipelineRunStarted");
    // what is stored is our event, without EventBridge's envelope (id, time, account, region ...)
    expect(JSON.parse(String(eventPut?.Item?.body))).toEqual(started);
    expect(runPut?.Item).toMatchObject({ pk: `RUN#${RUN_ID}`, sk: "RUN", pipeline: PIPELINE.name });
    expect(JSON.parse(String(runPut?.Item?.record))).toMatchObject({ runId: RUN_ID, status: "running" });
  });

  it("records a redelivered event without storing it twice", async () => {
    const { ConditionalCheckFailedException } = await import("@aws-sdk/client-dynamodb");
    dynamo
      .on(PutCommand)
      .rejectsOnce(new ConditionalCheckFailedException({ message: "exists", $metadata: {} }))
      .resolves({});
    dynamo.on(QueryCommand).resolves({ Items: [{ body: JSON.stringify(started) }] });
    dynamo.on(GetCommand).resolves({ Item: { eventCount: 1 } });
    const { handler } = await load();

    await handler(busDelivery(started), lambdaContext("project-event"));
    expect(dynamo.commandCalls(PutCommand)).toHaveLength(1);
  });

  it("rejects an event that is not in the catalog, naming it, and writes nothing", async () => {
    const { handler } = await load();
    const unknown = { ...busDelivery(started), "detail-type": "PipelineRunExploded" };
    await expect(handler(unknown, lambdaContext("project-event"))).rejects.toMatchObject({
      name: "InvalidEventError",
      message: expect.stringContaining("PipelineRunExploded from tapestry.pipeline"),
    });

    const broken = busDelivery(started);
    const detail = structuredClone(started.detail) as { data: Record<string, unknown> };
    delete detail.data.runId;
    await expect(handler({ ...broken, detail }, lambdaContext("project-event"))).rejects.toMatchObject({
      name: "InvalidEventError",
      message: expect.stringContaining("detail.data.runId"),
    });
    expect(dynamo.calls()).toHaveLength(0);
  });

  it("rejects a payload that is not an EventBridge event at all", async () => {
    const { handler } = await load();
    await expect(handler({ hello: "world" }, lambdaContext("project-event"))).rejects.toThrow();
    expect(dynamo.calls()).toHaveLength(0);
  });
});
