/**
 * functions/aws/reconcile-run: the target of the rule on Step Functions' "Execution Status
 * Change" events (FAILED, TIMED_OUT, ABORTED) of the pipeline-run state machine. DynamoDB is the
 * ledger's table on an emulator (dynalite on 127.0.0.1, reached by the function's own client
 * through AWS_ENDPOINT_URL_DYNAMODB); EventBridge is mocked and its entries are
 * projected into that ledger (as the projector would); SSM serves the dbt Cloud token; the job
 * the run left running is a real run in the dbt Cloud sandbox on 127.0.0.1.
 */

import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import { DescribeExecutionCommand, SFNClient } from "@aws-sdk/client-sfn";
import { SSMClient } from "@aws-sdk/client-ssm";
import { parseConfig, type TapestryConfigInput } from "@tapestry/core/config";
import { createEvent, eventFromEnvelope, type TapestryEvent } from "@tapestry/core/events";
import { scheduledRunId } from "@tapestry/core/pipeline";
import type { DbtCloudSandbox } from "@tapestry/local/sandboxes";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DynamoDbRunLedger } from "../../packages/core/src/adapters/aws/dynamodb-ledger";
import { type EmulatedLedgerTable, startLedgerTable } from "../support/dynamodb-emulator";
import {
  ACCOUNT,
  coldStart,
  deploy,
  entryTestHooks,
  FULL_ENV,
  LEDGER_TABLE_NAME,
  lambdaContext,
  REGION,
  STATE_MACHINE_ARN,
  serveSecret,
  startDbtCloudBehindKickstart,
} from "./harness";

const eventBridge = mockClient(EventBridgeClient);
const ssm = mockClient(SSMClient);
const sfn = mockClient(SFNClient);
entryTestHooks(eventBridge, ssm, sfn);

const TOKEN = "dbtc_reconciler_canary_71b3";
const PIPELINE = "rain-shield-audience";
const RUN_ID = scheduledRunId(PIPELINE, new Date("2026-03-02T11:00:00.000Z"));
const T0 = new Date("2026-03-02T11:00:01.000Z");

let sandbox: DbtCloudSandbox;
let config: TapestryConfigInput;
let table: EmulatedLedgerTable;
let ledger: DynamoDbRunLedger;

beforeAll(async () => {
  ({ sandbox, config } = await startDbtCloudBehindKickstart(TOKEN, { queuedMs: 20, durationMs: 60_000 }));
});

afterAll(async () => {
  await sandbox.close();
});

beforeEach(async () => {
  table = await startLedgerTable(LEDGER_TABLE_NAME);
  ledger = new DynamoDbRunLedger({ client: table.client(), tableName: LEDGER_TABLE_NAME });
  serveSecret(ssm, "DBT_CLOUD_TOKEN", TOKEN);
  // the bus: what is put is projected into the ledger, as the projector's rule does
  eventBridge.on(PutEventsCommand).callsFake(async (input: { Entries?: PutEventsRequestEntry[] }) => {
    for (const entry of input.Entries ?? []) {
      await ledger.record(
        eventFromEnvelope({
          source: entry.Source ?? "",
          "detail-type": entry.DetailType ?? "",
          detail: JSON.parse(entry.Detail ?? "{}"),
        }),
      );
    }
    return { FailedEntryCount: 0, Entries: (input.Entries ?? []).map((_, i) => ({ EventId: `eb-${i}` })) };
  });
  deploy({ ...FULL_ENV, AWS_ENDPOINT_URL_DYNAMODB: table.endpoint }, config);
});

afterEach(async () => {
  await table.close();
});

const load = () => coldStart(() => import("../../functions/aws/reconcile-run"));

const published = (): string[] =>
  eventBridge
    .commandCalls(PutEventsCommand)
    .flatMap((call) => (call.args[0].input.Entries ?? []).map((e) => e.DetailType ?? ""));

/** Step Functions' event, as EventBridge delivers it from the default bus. */
function statusChange(status: string, extra: Record<string, unknown> = {}) {
  const name = RUN_ID;
  return {
    version: "0",
    id: "5c1b6c1e-0b1a-4c77-9b1f-0123456789ab",
    "detail-type": "Step Functions Execution Status Change",
    source: "aws.states",
    account: ACCOUNT,
    time: "2026-03-02T11:30:00Z",
    region: REGION,
    resources: [`arn:aws:states:${REGION}:${ACCOUNT}:execution:tapestry-test-pipeline-run:${name}`],
    detail: {
      executionArn: `arn:aws:states:${REGION}:${ACCOUNT}:execution:tapestry-test-pipeline-run:${name}`,
      stateMachineArn: STATE_MACHINE_ARN,
      name,
      status,
      startDate: 1772449200000,
      stopDate: 1772451000000,
      input: "{}",
      output: null,
      ...extra,
    },
  };
}

/** The run's start and its transform step's dbt Cloud run, triggered in the sandbox and still going. */
async function startTransformJob(): Promise<{ runStarted: TapestryEvent; stepStarted: TapestryEvent }> {
  const spec = parseConfig(config).pipelines[0];
  if (!spec) throw new Error("no pipeline");
  const job = sandbox.runs().length;
  const context = { pipeline: PIPELINE, now: T0 };
  const trigger = await fetch(`${sandbox.baseUrl}/api/v2/accounts/70403/jobs/112233/run/`, {
    method: "POST",
    headers: { authorization: `Token ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ cause: "test" }),
  });
  const externalId = String(((await trigger.json()) as { data: { id: number } }).data.id);
  expect(sandbox.runs()).toHaveLength(job + 1);
  return {
    runStarted: createEvent(
      "PipelineRunStarted",
      {
        runId: RUN_ID,
        trigger: { kind: "schedule", scheduledTime: "2026-03-02T11:00:00.000Z" },
        stages: spec.stages.map((s) => ({
          name: s.name,
          steps: s.steps.map((t) => ({ name: t.name, tool: t.tool })),
        })),
      },
      context,
    ),
    stepStarted: createEvent(
      "StepStarted",
      {
        runId: RUN_ID,
        stage: "transform",
        step: "email-model",
        tool: "dbt-cloud",
        externalId,
        attached: false,
        startedAt: T0.toISOString(),
        deadline: new Date(T0.getTime() + 1_800_000).toISOString(),
      },
      context,
    ),
  };
}

const externalIdOf = (event: TapestryEvent) =>
  event["detail-type"] === "StepStarted" ? event.detail.data.externalId : "";

/** A run whose transform step's dbt Cloud run is still going in the sandbox, its lock held. */
async function runInFlight(): Promise<string> {
  const { runStarted, stepStarted } = await startTransformJob();
  const externalId = externalIdOf(stepStarted);
  for (const event of [runStarted, stepStarted]) await ledger.record(event);
  await ledger.acquireRunLock({
    pipeline: PIPELINE,
    runId: RUN_ID,
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    now: new Date().toISOString(),
  });
  return externalId;
}

const dbtStatus = (externalId: string) => sandbox.runs().find((r) => String(r.id) === externalId)?.status;

describe("functions/aws/reconcile-run", () => {
  it.each([
    ["ABORTED", {}, "aborted"],
    ["TIMED_OUT", { error: "States.Timeout", cause: "The execution timed out" }, "timed-out"],
    ["FAILED", { error: "Lambda.Unknown", cause: "The cause could not be determined" }, "error"],
  ] as const)(
    "%s with no outcome recorded: cancels the job left running, records the run failed (%s), frees the lock",
    async (status, extra, reason) => {
      const externalId = await runInFlight();
      const { handler } = await load();

      const result = await handler(statusChange(status, extra), lambdaContext("reconcile-run"));

      expect(result).toMatchObject({
        runId: RUN_ID,
        outcome: "failed",
        cancelled: ["email-model"],
        ended: [],
        notCancelled: [],
      });
      expect(dbtStatus(externalId)).toBe(30);
      expect(published()).toEqual(["StepFailed", "PipelineRunFailed"]);
      const run = await ledger.getRun(RUN_ID);
      expect(run).toMatchObject({ status: "failed", reason, reconciled: true, failedSteps: ["email-model"] });
      expect(run?.steps).toEqual([
        expect.objectContaining({ step: "email-model", status: "failed", reason: "aborted" }),
      ]);
      expect(await ledger.getRunLock(PIPELINE, new Date().toISOString())).toBeUndefined();
      // no secret in what it published or answered
      expect(
        JSON.stringify(eventBridge.commandCalls(PutEventsCommand).map((c) => c.args[0].input)),
      ).not.toContain(TOKEN);
      expect(JSON.stringify(result)).not.toContain(TOKEN);
    },
  );

  it.each(["ABORTED", "TIMED_OUT", "FAILED"] as const)(
    "%s of a run whose outcome is recorded: frees the lock and changes nothing else",
    async (status) => {
      const externalId = await runInFlight();
      await ledger.record(
        createEvent(
          "PipelineRunFailed",
          {
            runId: RUN_ID,
            endedAt: new Date().toISOString(),
            failedSteps: ["email-model"],
            error: "step failed",
            reason: "step-failed",
          },
          { pipeline: PIPELINE, now: new Date() },
        ),
      );
      const { handler } = await load();

      const result = await handler(
        statusChange(status, { error: "PipelineRunFailed" }),
        lambdaContext("reconcile-run"),
      );

      expect(result).toMatchObject({ outcome: "already-ended" });
      expect(published()).toEqual([]);
      expect(dbtStatus(externalId)).not.toBe(30);
      expect((await ledger.getRun(RUN_ID))?.reason).toBe("step-failed");
      expect(await ledger.getRunLock(PIPELINE, new Date().toISOString())).toBeUndefined();
    },
  );

  it("is idempotent under redelivery: the second delivery publishes nothing and cancels nothing", async () => {
    await runInFlight();
    const { handler } = await load();
    await handler(statusChange("ABORTED"), lambdaContext("reconcile-run"));
    const calls = published().length;
    const second = await handler(statusChange("ABORTED"), lambdaContext("reconcile-run"));
    expect(second).toMatchObject({ outcome: "already-ended" });
    expect(published()).toHaveLength(calls);
  });

  it("records a run aborted after a cancel request as cancelled", async () => {
    await runInFlight();
    await ledger.record(
      createEvent(
        "PipelineRunCancelRequested",
        { runId: RUN_ID, requestedAt: new Date().toISOString() },
        { pipeline: PIPELINE, now: new Date() },
      ),
    );
    const { handler } = await load();
    const result = await handler(statusChange("ABORTED"), lambdaContext("reconcile-run"));
    expect(result).toMatchObject({ outcome: "cancelled" });
    expect(await ledger.getRun(RUN_ID)).toMatchObject({
      status: "cancelled",
      cancelledSteps: ["email-model"],
    });
  });

  it("asks Step Functions why an execution failed when the event does not say: the history limit", async () => {
    await runInFlight();
    sfn.on(DescribeExecutionCommand).resolves({
      status: "FAILED",
      error: "States.Runtime",
      cause: "The execution has exceeded the maximum history size of 25000 events.",
    } as never);
    const { handler } = await load();
    await handler(statusChange("FAILED"), lambdaContext("reconcile-run"));
    expect(sfn.commandCalls(DescribeExecutionCommand).map((c) => c.args[0].input)).toEqual([
      { executionArn: `arn:aws:states:${REGION}:${ACCOUNT}:execution:tapestry-test-pipeline-run:${RUN_ID}` },
    ]);
    const run = await ledger.getRun(RUN_ID);
    expect(run).toMatchObject({ status: "failed", reason: "history-limit" });
    expect(run?.error).toContain("pollIntervalSeconds");
  });

  describe("a StepStarted from the Tapestry bus", () => {
    /** EventBridge's delivery of one of our events from the Tapestry bus. */
    const fromBus = (event: TapestryEvent) => ({
      version: "0",
      id: "0d1f3c2e-8a4b-4f5e-9c6d-7e8f9a0b1c2d",
      "detail-type": event["detail-type"],
      source: event.source,
      account: ACCOUNT,
      time: event.detail.metadata.occurredAt,
      region: REGION,
      resources: [],
      detail: event.detail,
    });

    /** The run failed (recorded, lock free) while its transform job's start was in flight. */
    async function lateStart(): Promise<TapestryEvent> {
      const { runStarted, stepStarted } = await startTransformJob();
      await ledger.record(runStarted);
      await ledger.record(
        createEvent(
          "PipelineRunFailed",
          { runId: RUN_ID, endedAt: T0.toISOString(), failedSteps: [], error: "aborted", reason: "aborted" },
          { pipeline: PIPELINE, now: T0 },
        ),
      );
      return stepStarted;
    }

    it("after the run's execution ended: cancels the job and closes the step; a second delivery changes nothing", async () => {
      const stepStarted = await lateStart();
      sfn.on(DescribeExecutionCommand).resolves({ status: "ABORTED" } as never);
      const { handler } = await load();

      expect(await handler(fromBus(stepStarted), lambdaContext("reconcile-run"))).toEqual({
        lateStep: "cancelled",
      });
      expect(dbtStatus(externalIdOf(stepStarted))).toBe(30);
      expect(published()).toEqual(["StepFailed"]);
      const step = (await ledger.getRun(RUN_ID))?.steps.find((s) => s.step === "email-model");
      expect(step).toMatchObject({ status: "failed", reason: "aborted", reconciled: true });
      expect(step?.inferred).toBeUndefined();
      expect(step?.error).toContain("was over when the step's job started");

      expect(await handler(fromBus(stepStarted), lambdaContext("reconcile-run"))).toEqual({
        lateStep: "already-ended",
      });
      expect(published()).toEqual(["StepFailed"]);
    });

    it("while the run's execution is going: leaves the job to the state machine", async () => {
      const { stepStarted } = await startTransformJob();
      sfn.on(DescribeExecutionCommand).resolves({ status: "RUNNING" } as never);
      const { handler } = await load();

      expect(await handler(fromBus(stepStarted), lambdaContext("reconcile-run"))).toEqual({
        lateStep: "watched",
      });
      expect(dbtStatus(externalIdOf(stepStarted))).not.toBe(30);
      expect(published()).toEqual([]);
    });
  });

  it("refuses an event that is not a status change it handles (the rule's DLQ keeps it)", async () => {
    const { handler } = await load();
    await expect(handler(statusChange("SUCCEEDED"), lambdaContext("reconcile-run"))).rejects.toThrow();
    await expect(handler({ source: "tapestry.pipeline" }, lambdaContext("reconcile-run"))).rejects.toThrow();
    expect(published()).toEqual([]);
  });
});
