/**
 * functions/aws/status-api: the status API's Lambda behind API Gateway (HTTP API, payload 2.0),
 * reading the DynamoDB ledger and starting manual runs on Step Functions. Answers are checked
 * against docs/status-api.openapi.yaml.
 */

import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { createEvent } from "@tapestry/core/events";
import { projectRun } from "@tapestry/core/ledger";
import { scheduledRunId } from "@tapestry/core/pipeline";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { checkAnswer } from "../api/status-api-answers";
import {
  coldStart,
  deploy,
  entryTestHooks,
  FULL_ENV,
  httpRequest,
  KICKSTART,
  LEDGER_TABLE_NAME,
  lambdaContext,
  PIPELINE,
  STATE_MACHINE_ARN,
} from "./harness";

const dynamo = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
entryTestHooks(dynamo, sfn);

const FIRE = new Date("2026-03-02T11:00:00.000Z");
const RUN_ID = scheduledRunId(PIPELINE.name, FIRE);
const at = (seconds: number) => new Date(FIRE.getTime() + seconds * 1000);
const lastRun = projectRun([
  createEvent(
    "PipelineRunStarted",
    { runId: RUN_ID, trigger: { kind: "schedule", scheduledTime: FIRE.toISOString() }, stages: [] },
    { pipeline: PIPELINE.name, now: at(1) },
  ),
  createEvent(
    "PipelineRunSucceeded",
    {
      runId: RUN_ID,
      startedAt: at(1).toISOString(),
      endedAt: at(61).toISOString(),
      durationMs: 60_000,
      rows: 1204,
    },
    { pipeline: PIPELINE.name, now: at(61) },
  ),
]);

beforeEach(() => deploy(FULL_ENV, KICKSTART));

const load = () => coldStart(() => import("../../functions/aws/status-api"));

async function call(
  handler: (e: APIGatewayProxyEventV2, c: ReturnType<typeof lambdaContext>) => Promise<unknown>,
  event: APIGatewayProxyEventV2,
) {
  const result = (await handler(event, lambdaContext("status-api"))) as {
    statusCode: number;
    headers: Record<string, string>;
    body: string;
  };
  const problems = checkAnswer({
    method: event.requestContext.http.method,
    path: event.rawPath,
    status: result.statusCode,
    headers: result.headers,
    body: result.body,
  });
  expect(problems).toEqual([]);
  return { ...result, json: JSON.parse(result.body) as Record<string, unknown> };
}

describe("functions/aws/status-api", () => {
  it("GET /status answers 200 from the ledger's runsByPipeline index", async () => {
    dynamo.on(QueryCommand).resolves({
      Items: [{ record: JSON.stringify(lastRun), firstEventAt: at(1).toISOString() }],
    });
    const { handler } = await load();

    const reply = await call(handler, httpRequest("GET", "/status"));

    expect(reply.statusCode).toBe(200);
    expect(reply.json.pipelines).toEqual([
      expect.objectContaining({
        name: PIPELINE.name,
        lastRun: expect.objectContaining({ runId: RUN_ID, status: "succeeded" }),
      }),
    ]);
    const [query] = dynamo.commandCalls(QueryCommand);
    expect(query?.args[0].input).toMatchObject({ TableName: LEDGER_TABLE_NAME, IndexName: "runsByPipeline" });
    // reading the status never touches Step Functions
    expect(sfn.calls()).toHaveLength(0);
  });

  it("POST /pipelines/<name>/runs starts an execution and answers 202 with the run", async () => {
    dynamo.on(GetCommand).resolves({}); // nobody holds the run lock
    sfn
      .on(StartExecutionCommand)
      .resolves({ executionArn: "arn:aws:states:::execution:x", startDate: new Date() });
    const { handler } = await load();

    const reply = await call(
      handler,
      httpRequest("POST", `/pipelines/${PIPELINE.name}/runs`, {
        body: JSON.stringify({ note: "backfill after the Zoom outage" }),
        headers: { "content-type": "application/json" },
      }),
    );

    expect(reply.statusCode).toBe(202);
    const runId = String(reply.json.runId);
    expect(runId).toMatch(new RegExp(`^${PIPELINE.name}-m[0-9A-HJKMNP-TV-Z]{26}$`));
    expect(reply.headers.location).toBe(`/runs/${runId}`);
    const [start, ...more] = sfn.commandCalls(StartExecutionCommand);
    expect(more).toEqual([]);
    expect(start?.args[0].input).toMatchObject({ stateMachineArn: STATE_MACHINE_ARN, name: runId });
    expect(JSON.parse(start?.args[0].input.input ?? "null")).toEqual({
      runId,
      trigger: { kind: "manual" },
      pipeline: PIPELINE,
    });
  });

  it("answers 409 when Step Functions already has an execution of that run id", async () => {
    dynamo.on(GetCommand).resolves({});
    sfn
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: "Execution Already Exists", $metadata: {} }));
    const { handler } = await load();

    const reply = await call(
      handler,
      httpRequest("POST", `/pipelines/${PIPELINE.name}/runs`, {
        headers: { "content-type": "application/json" },
      }),
    );

    expect(reply.statusCode).toBe(409);
    expect(reply.headers["content-type"]).toBe("application/problem+json");
    expect(reply.json).toMatchObject({ type: "urn:tapestry:problem:run-already-started", status: 409 });
  });

  it("a ledger table it was not given fails the request by the variable's name", async () => {
    const { TAPESTRY_LEDGER_TABLE: _, ...withoutTable } = FULL_ENV;
    deploy(withoutTable, KICKSTART);
    const { handler } = await load();
    await expect(handler(httpRequest("GET", "/status"), lambdaContext("status-api"))).rejects.toMatchObject({
      name: "EnvironmentError",
      message: expect.stringContaining("TAPESTRY_LEDGER_TABLE is not set"),
    });
  });
});
