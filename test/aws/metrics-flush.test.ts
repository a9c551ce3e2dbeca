/**
 * What the deployed task functions write to their log on an ordinary call, with Powertools set up
 * as the stacks set it (log level INFO, metrics on): no WARN for a call that adds no metric
 * (Powertools Metrics' "No application metrics to publish"), and no EMF line: the metrics are the
 * metrics recorder's, made from the run's events (functions/alerts/record-metrics.ts).
 */
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { SSMClient } from "@aws-sdk/client-ssm";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { DbtCloudStep, TapestryConfigInput } from "@tapestry/core/config";
import { type Job, scheduledRunId } from "@tapestry/core/pipeline";
import type { DbtCloudSandbox } from "@tapestry/local/sandboxes";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
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
  serveSecret,
  startDbtCloudBehindKickstart,
} from "./harness";

const dynamo = mockClient(DynamoDBDocumentClient);
const eventBridge = mockClient(EventBridgeClient);
const ssm = mockClient(SSMClient);
entryTestHooks(dynamo, eventBridge, ssm);

const TOKEN = "dbtc_metrics_flush_7f3a9c";
const SCHEDULED = "2026-03-02T11:00:00.000Z";
const RUN_ID = scheduledRunId(PIPELINE.name, new Date(SCHEDULED));
/** Powertools as the stacks configure it (stacks/lambda.ts), metrics on. */
const AS_DEPLOYED = { ...BASE_ENV, POWERTOOLS_LOG_LEVEL: "INFO", POWERTOOLS_METRICS_DISABLED: "false" };

let sandbox: DbtCloudSandbox;
let config: TapestryConfigInput;
let step: DbtCloudStep;

beforeAll(async () => {
  ({ sandbox, config, step } = await startDbtCloudBehindKickstart(TOKEN, { queuedMs: 0, durationMs: 400 }));
});

afterAll(async () => {
  await sandbox.close();
});

beforeEach(() => {
  acceptEveryEvent(eventBridge);
  serveSecret(ssm, "DBT_CLOUD_TOKEN", TOKEN);
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Every line the function writes to stdout and stderr (where Lambda's log goes) during `call`. */
async function logOf<T>(call: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const capture = (chunk: unknown) => {
    lines.push(...String(chunk).split("\n").filter(Boolean));
    return true;
  };
  vi.spyOn(process.stdout, "write").mockImplementation(capture);
  vi.spyOn(process.stderr, "write").mockImplementation(capture);
  try {
    return { result: await call(), lines };
  } finally {
    vi.restoreAllMocks();
  }
}

const warnings = (lines: readonly string[]) => lines.filter((line) => /"level":"WARN"|\bWARN\b/.test(line));
const emf = (lines: readonly string[]) => lines.filter((line) => line.includes('"CloudWatchMetrics"'));
// polled: a step waiting for its webhook that sees its job end at a poll warns (the webhook did not come)
const task = () => ({
  runId: RUN_ID,
  pipeline: PIPELINE.name,
  stage: "transform",
  step: { ...step, completion: "poll" as const },
});

describe("a task that adds no metric writes no warning", () => {
  it("run-lock: taking the lock logs no WARN and no empty metrics", async () => {
    deploy(
      { ...AS_DEPLOYED, TAPESTRY_LEDGER_TABLE: LEDGER_TABLE_NAME, TAPESTRY_EVENT_BUS: EVENT_BUS_NAME },
      null,
    );
    dynamo.on(PutCommand).resolves({});
    const { handler } = await coldStart(() => import("../../functions/aws/run-lock"));

    const { result, lines } = await logOf(() =>
      handler(
        {
          action: "acquire",
          runId: RUN_ID,
          trigger: { kind: "schedule", scheduledTime: SCHEDULED },
          pipeline: PIPELINE,
        },
        lambdaContext("run-lock"),
      ),
    );

    expect(result.outcome).toBe("acquired");
    expect(warnings(lines)).toEqual([]);
    expect(emf(lines)).toEqual([]);
  });

  it("start-step, then poll-step to the job's end: no WARN, and no metrics (the metrics recorder makes them from the step's events)", async () => {
    deploy({ ...AS_DEPLOYED, TAPESTRY_EVENT_BUS: EVENT_BUS_NAME }, config);
    const start = await coldStart(() => import("../../functions/aws/start-step"));
    const started = await logOf(() => start.handler(task(), lambdaContext("start-step")));
    expect(started.result.state).toBe("running");
    expect(warnings(started.lines)).toEqual([]);
    expect(emf(started.lines)).toEqual([]);

    const poll = await coldStart(() => import("../../functions/aws/poll-step"));
    const running = await logOf(() =>
      poll.handler({ ...task(), job: started.result }, lambdaContext("poll-step")),
    );
    expect(running.result.state).toBe("running");
    expect(warnings(running.lines)).toEqual([]);
    expect(emf(running.lines)).toEqual([]);

    let job: Job = running.result;
    let finished: string[] = [];
    for (let attempt = 0; attempt < 40 && job.state === "running"; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const polled = await logOf(() => poll.handler({ ...task(), job }, lambdaContext("poll-step")));
      job = polled.result;
      finished = polled.lines;
    }
    expect(job.state).toBe("succeeded");
    expect(warnings(finished)).toEqual([]);
    // one writer per metric: a task retried after it published would count its step twice
    expect(emf(finished)).toEqual([]);
  });
});
