/**
 * The deployed provision functions and the status API's /provisioning routes, loaded as a cold
 * start loads them, with the variables their stacks give them, against mocked AWS: the runs and
 * lock are PROV# items of the ledger table, the events go on the bus under tapestry.provisioning,
 * and POST /provisioning starts an execution of the provision state machine named after the run.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from "@aws-sdk/lib-dynamodb";
import { newRunRecord } from "@tapestry/core/provisioning";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { checkAnswer } from "../api/status-api-answers";
import {
  acceptEveryEvent,
  BASE_ENV,
  coldStart,
  deploy,
  EVENT_BUS_NAME,
  entryTestHooks,
  FULL_ENV,
  httpRequest,
  KICKSTART,
  LEDGER_TABLE_NAME,
  lambdaContext,
} from "./harness";

const dynamo = mockClient(DynamoDBDocumentClient);
const eventBridge = mockClient(EventBridgeClient);
const sfn = mockClient(SFNClient);
entryTestHooks(dynamo, eventBridge, sfn);
beforeEach(() => acceptEveryEvent(eventBridge));

const PROVISION_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:tapestry-test-provision";
const RUN_ID = "provision-01KBZ3M8Y0G5N7QW2E4R6T8V0X";

const putEntries = (): PutEventsRequestEntry[] =>
  eventBridge.commandCalls(PutEventsCommand).flatMap((call) => call.args[0].input.Entries ?? []);

describe("functions/aws/provisioning-run", () => {
  const env = { ...BASE_ENV, TAPESTRY_LEDGER_TABLE: LEDGER_TABLE_NAME, TAPESTRY_EVENT_BUS: EVENT_BUS_NAME };
  const load = () => coldStart(() => import("../../functions/aws/provisioning-run"));

  it("begins a run: takes the lock, stores its record, publishes ProvisioningStarted under tapestry.provisioning", async () => {
    deploy(env, KICKSTART);
    dynamo.on(GetCommand).resolves({});
    dynamo.on(PutCommand).resolves({});
    const { handler } = await load();

    const result = await handler(
      { action: "begin", runId: RUN_ID, trigger: "api" },
      lambdaContext("provisioning-run"),
    );

    expect(result).toMatchObject({
      bootstrapWarehouse: true,
      ensureAirbyte: true,
      writeGrouparooConfig: true,
    });
    const puts = dynamo.commandCalls(PutCommand).map((call) => call.args[0].input);
    expect(puts[0]).toMatchObject({
      TableName: LEDGER_TABLE_NAME,
      Item: { pk: "PROV#LOCK", sk: "LOCK", runId: RUN_ID },
      ConditionExpression: expect.stringContaining("attribute_not_exists"),
    });
    expect(puts[1]).toMatchObject({ Item: { pk: "PROV#RUNS", sk: RUN_ID } });
    const [started, ...others] = putEntries();
    expect(others).toEqual([]);
    expect(started).toMatchObject({
      EventBusName: EVENT_BUS_NAME,
      Source: "tapestry.provisioning",
      DetailType: "ProvisioningStarted",
    });
    expect(JSON.parse(started?.Detail ?? "{}").data).toMatchObject({ runId: RUN_ID, trigger: "api" });
  });

  it("refuses a run while another holds the lock, naming it (ProvisioningBusyError)", async () => {
    deploy(env, KICKSTART);
    const holder = "provision-01KBZ3M8Y0G5N7QW2E4R6T8V0A";
    dynamo.on(GetCommand, { Key: { pk: "PROV#LOCK", sk: "LOCK" } }).resolves({
      Item: { pk: "PROV#LOCK", sk: "LOCK", runId: holder, expiresAt: "2999-01-01T00:00:00.000Z" },
    });
    dynamo.on(GetCommand, { Key: { pk: "PROV#RUNS", sk: RUN_ID } }).resolves({});
    dynamo
      .on(PutCommand)
      .rejects(
        new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} }),
      );
    const { handler } = await load();

    await expect(
      handler({ action: "begin", runId: RUN_ID, trigger: "api" }, lambdaContext("provisioning-run")),
    ).rejects.toMatchObject({ name: "ProvisioningBusyError", message: expect.stringContaining(holder) });
    expect(putEntries()).toEqual([]);
  });
});

describe("the status API's /provisioning on AWS", () => {
  const env = { ...FULL_ENV, TAPESTRY_PROVISION_STATE_MACHINE_ARN: PROVISION_ARN };
  const load = () => coldStart(() => import("../../functions/aws/status-api"));
  const call = async (method: string, body?: string) => {
    const { handler } = await load();
    const event = httpRequest(method, "/provisioning", {
      ...(body === undefined ? {} : { body }),
      headers: { "content-type": "application/json" },
    });
    const answer = (await handler(event, lambdaContext("status-api"))) as {
      statusCode: number;
      headers: Record<string, string>;
      body: string;
    };
    if (answer.statusCode >= 500) throw new Error(answer.body);
    expect(
      checkAnswer({
        method,
        path: "/provisioning",
        status: answer.statusCode,
        headers: answer.headers,
        body: answer.body,
      }),
    ).toEqual([]);
    return { status: answer.statusCode, json: JSON.parse(answer.body) as Record<string, unknown> };
  };

  it("POST takes the lock, then starts an execution of the provision state machine named after the run", async () => {
    deploy(env, KICKSTART);
    dynamo.on(GetCommand).resolves({});
    dynamo.on(PutCommand).resolves({});
    sfn
      .on(StartExecutionCommand)
      .resolves({ executionArn: "arn:aws:states:::execution:x", startDate: new Date() });

    const reply = await call("POST", JSON.stringify({ note: "new Salesforce source" }));

    expect(reply.status).toBe(202);
    const runId = String(reply.json.runId);
    expect(runId).toMatch(/^provision-[0-9A-HJKMNP-TV-Z]{26}$/);
    const [start, ...more] = sfn.commandCalls(StartExecutionCommand);
    expect(more).toEqual([]);
    expect(start?.args[0].input).toMatchObject({ stateMachineArn: PROVISION_ARN, name: runId });
    expect(JSON.parse(start?.args[0].input.input ?? "null")).toEqual({ runId, trigger: "api" });
    expect(dynamo.commandCalls(PutCommand)[0]?.args[0].input.Item).toMatchObject({ pk: "PROV#LOCK", runId });
  });

  it("GET answers the last run, read newest first from the PROV#RUNS items", async () => {
    deploy(env, KICKSTART);
    const record = newRunRecord(RUN_ID, "api", new Date().toISOString(), ["validate", "record-outputs"]);
    dynamo
      .on(QueryCommand)
      .resolves({ Items: [{ pk: "PROV#RUNS", sk: RUN_ID, body: JSON.stringify(record) }] });

    const reply = await call("GET");

    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ runId: RUN_ID, trigger: "api", status: "running" });
    expect(dynamo.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      TableName: LEDGER_TABLE_NAME,
      ExpressionAttributeValues: { ":runs": "PROV#RUNS" },
      ScanIndexForward: false,
      Limit: 1,
    });
    // a run this young is never asked about: its execution may not have started yet
    expect(sfn.calls()).toHaveLength(0);
  });

  it("GET answers a running run whose execution was stopped as failed (ProvisioningAborted), writing nothing", async () => {
    deploy(env, KICKSTART);
    const startedAt = new Date(Date.now() - 10 * 60_000).toISOString();
    const record = newRunRecord(RUN_ID, "api", startedAt, ["validate", "record-outputs"]);
    dynamo
      .on(QueryCommand)
      .resolves({ Items: [{ pk: "PROV#RUNS", sk: RUN_ID, body: JSON.stringify(record) }] });
    sfn.on(DescribeExecutionCommand).resolves({ status: "ABORTED" } as never);

    const reply = await call("GET");

    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({
      runId: RUN_ID,
      status: "failed",
      failure: { step: "validate", errorName: "ProvisioningAborted" },
    });
    expect(dynamo.commandCalls(PutCommand)).toHaveLength(0);
  });

  describe("when the run holding the lock has an execution that ended without its outcome", () => {
    const holder = newRunRecord(
      "provision-01KBZ3M8Y0G5N7QW2E4R6T8V0A",
      "api",
      new Date(Date.now() - 10 * 60_000).toISOString(),
      ["validate", "record-outputs"],
    );
    const heldLock = () => {
      // the first conditional put of the lock is refused (the holder has it); the rest are written
      let lockRefused = false;
      dynamo.on(PutCommand).callsFake((input: { Item?: { pk?: string } }) => {
        if (input.Item?.pk === "PROV#LOCK" && !lockRefused) {
          lockRefused = true;
          throw new ConditionalCheckFailedException({
            message: "The conditional request failed",
            $metadata: {},
          });
        }
        return {};
      });
      dynamo.on(DeleteCommand).resolves({});
      dynamo.on(GetCommand).callsFake((input: { Key: { pk: string; sk: string } }) => {
        if (input.Key.pk === "PROV#LOCK") {
          return {
            Item: { pk: "PROV#LOCK", sk: "LOCK", runId: holder.runId, expiresAt: "2999-01-01T00:00:00.000Z" },
          };
        }
        if (input.Key.sk === holder.runId) {
          return { Item: { pk: "PROV#RUNS", sk: holder.runId, body: JSON.stringify(holder) } };
        }
        return {};
      });
      sfn
        .on(StartExecutionCommand)
        .resolves({ executionArn: "arn:aws:states:::execution:x", startDate: new Date() });
    };

    it("POST asks Step Functions, records that run failed, frees its lock and starts the new one", async () => {
      deploy(env, KICKSTART);
      heldLock();
      sfn.on(DescribeExecutionCommand).resolves({ status: "ABORTED" } as never);

      const reply = await call("POST");

      expect(reply.status).toBe(202);
      const [describe] = sfn.commandCalls(DescribeExecutionCommand);
      expect(describe?.args[0].input.executionArn).toBe(
        "arn:aws:states:us-east-1:123456789012:execution:tapestry-test-provision:provision-01KBZ3M8Y0G5N7QW2E4R6T8V0A",
      );
      const closed = dynamo
        .commandCalls(PutCommand)
        .map((c) => c.args[0].input.Item)
        .find((item) => item?.sk === holder.runId);
      expect(JSON.parse(String(closed?.body))).toMatchObject({
        status: "failed",
        failure: { errorName: "ProvisioningAborted" },
      });
      expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
    });

    it("POST answers 409 while that execution is still RUNNING, and starts nothing", async () => {
      deploy(env, KICKSTART);
      heldLock();
      sfn.on(DescribeExecutionCommand).resolves({ status: "RUNNING" } as never);

      const reply = await call("POST");

      expect(reply.status).toBe(409);
      expect(reply.json).toMatchObject({ activeRunId: holder.runId });
      expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    });
  });
});
