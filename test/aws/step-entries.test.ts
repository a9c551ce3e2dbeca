/**
 * The deployed step functions (functions/aws/start-step, poll-step, cancel-step) against a real
 * tool: the dbt Cloud sandbox on 127.0.0.1. The tool's token comes from SSM (mocked), read by
 * name under the stage's path; the config, with the tool's endpoint, is the bundled one.
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import type { DbtCloudStep, TapestryConfigInput } from "@tapestry/core/config";
import { type Job, scheduledRunId } from "@tapestry/core/pipeline";
import type { DbtCloudSandbox } from "@tapestry/local/sandboxes";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  acceptEveryEvent,
  BASE_ENV,
  coldStart,
  deploy,
  EVENT_BUS_NAME,
  entryTestHooks,
  lambdaContext,
  STAGE,
  serveSecret,
  startDbtCloudBehindKickstart,
} from "./harness";

const ssm = mockClient(SSMClient);
const eventBridge = mockClient(EventBridgeClient);
entryTestHooks(ssm, eventBridge);

const TOKEN = "dbtc_aws_entry_canary_9c4e2a7b5d1f";
const PARAMETER = `/tapestry/${STAGE}/DBT_CLOUD_TOKEN`;
const RUN_ID = scheduledRunId("rain-shield-audience", new Date("2026-03-02T11:00:00.000Z"));

let sandbox: DbtCloudSandbox;
let config: TapestryConfigInput;
let step: DbtCloudStep;

beforeAll(async () => {
  ({ sandbox, config, step } = await startDbtCloudBehindKickstart(TOKEN, {
    queuedMs: 20,
    durationMs: 5_000,
  }));
});

afterAll(async () => {
  await sandbox.close();
});

beforeEach(() => {
  serveSecret(ssm, "DBT_CLOUD_TOKEN", TOKEN);
  acceptEveryEvent(eventBridge);
  deploy({ ...BASE_ENV, TAPESTRY_EVENT_BUS: EVENT_BUS_NAME }, config);
});

const putEntries = (): PutEventsRequestEntry[] =>
  eventBridge.commandCalls(PutEventsCommand).flatMap((call) => call.args[0].input.Entries ?? []);

const task = () => ({ runId: RUN_ID, pipeline: "rain-shield-audience", stage: "transform", step });

describe("functions/aws/start-step, poll-step, cancel-step", () => {
  it("start-step reads the tool's token from SSM (decrypted) and starts the job on the tool", async () => {
    const { handler } = await coldStart(() => import("../../functions/aws/start-step"));
    const runsBefore = sandbox.runs().length;

    const job = await handler(task(), lambdaContext("start-step"));

    expect(job).toMatchObject({ state: "running", attached: false, externalId: expect.any(String) });
    const reads = ssm.commandCalls(GetParameterCommand);
    expect(reads.map((call) => call.args[0].input)).toEqual([{ Name: PARAMETER, WithDecryption: true }]);
    const runs = sandbox.runs();
    expect(runs).toHaveLength(runsBefore + 1);
    expect(runs.at(-1)).toMatchObject({ id: Number(job.externalId), job_definition_id: step.jobId });
    const [entry] = putEntries();
    expect(entry).toMatchObject({ EventBusName: EVENT_BUS_NAME, DetailType: "StepStarted" });
    expect(JSON.parse(entry?.Detail ?? "{}").data).toMatchObject({
      runId: RUN_ID,
      step: step.name,
      tool: "dbt-cloud",
      externalId: job.externalId,
    });
    // the token went to the tool, and nowhere else
    expect(JSON.stringify(job)).not.toContain(TOKEN);
    expect(entry?.Detail).not.toContain(TOKEN);
  });

  it("poll-step and cancel-step drive the same job, each reading the token once per container", async () => {
    const start = await coldStart(() => import("../../functions/aws/start-step"));
    const job: Job = await start.handler(task(), lambdaContext("start-step"));
    ssm.resetHistory();

    const poll = await coldStart(() => import("../../functions/aws/poll-step"));
    const polled = await poll.handler({ ...task(), job }, lambdaContext("poll-step"));
    const again = await poll.handler({ ...task(), job: polled }, lambdaContext("poll-step"));
    expect(again.state).toBe("running");
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);

    const cancel = await coldStart(() => import("../../functions/aws/cancel-step"));
    const cancelled = await cancel.handler(
      { ...task(), job: again, reason: "timeout" },
      lambdaContext("cancel-step"),
    );
    expect(cancelled).toMatchObject({ state: "failed", reason: "timeout" });
    expect(sandbox.runs().find((r) => String(r.id) === job.externalId)?.status).toBe(30);
    expect(putEntries().map((e) => e.DetailType)).toEqual(["StepStarted", "StepFailed"]);
  });

  it("a secret that is not set fails the task by name, pointing at the fix", async () => {
    ssm.reset();
    ssm
      .on(GetParameterCommand)
      .rejects(Object.assign(new Error("Parameter not found"), { name: "ParameterNotFound", $metadata: {} }));
    const { handler } = await coldStart(() => import("../../functions/aws/start-step"));
    await expect(handler(task(), lambdaContext("start-step"))).rejects.toMatchObject({
      name: "SecretNotSetError",
      message: expect.stringContaining(`tapestry secrets set DBT_CLOUD_TOKEN --stage ${STAGE}`),
    });
  });
});
