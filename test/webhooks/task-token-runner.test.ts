import { join } from "node:path";
import { LedgerUnavailableError, parseConfig } from "@tapestry/core";
import {
  DEFAULT_PIPELINE_SETTINGS,
  definitionTimeoutSeconds,
  type Job,
  PIPELINE_RUN_FUNCTIONS,
  type PipelineRunFunction,
} from "@tapestry/core/pipeline";
import { REPO_ROOT } from "@tapestry/local";
import { type LocalExecution, LocalStepFunctions, type TaskHandler } from "@tapestry/local/runner";
import { describe, expect, it } from "vitest";
import kickstart from "../../tapestry.config";

/**
 * The embedded runner's task-token wait (aws-local-stepfunctions has none), on the real
 * pipeline-run definition with stand-in task functions: a one-stage pipeline whose one Airbyte
 * step waits for its webhook.
 */

const CONFIG = parseConfig(structuredClone(kickstart));
const KICKSTART = CONFIG.pipelines[0];
const STEP = KICKSTART?.stages[0]?.steps[0];
if (!KICKSTART || !STEP) throw new Error("the kickstart has no step");
const PIPELINE = { ...KICKSTART, stages: [{ name: "ingest", steps: [STEP] }] };

const now = () => new Date().toISOString();
const job = (changes: Partial<Job> = {}): Job => ({
  externalId: "4242",
  url: null,
  attached: false,
  startedAt: now(),
  deadline: new Date(Date.now() + 3_600_000).toISOString(),
  state: "running",
  toolStatus: null,
  completion: "webhook",
  waitSeconds: 1,
  rows: null,
  bytes: null,
  reason: null,
  error: null,
  ...changes,
});
const finished = job({ state: "succeeded", toolStatus: "succeeded", rows: 12, waitSeconds: 0 });

/** A runner whose task functions answer as a healthy run's would, WaitForWebhook's function given. */
function runner(awaitWebhook: TaskHandler, waitSeconds = 1) {
  const calls: Record<string, unknown[]> = {};
  const record =
    (fn: PipelineRunFunction, answer: (input: unknown) => unknown): TaskHandler =>
    async (input) => {
      calls[fn] = [...(calls[fn] ?? []), input];
      return answer(input);
    };
  const handlers: Record<PipelineRunFunction, TaskHandler> = {
    RunLockFunctionArn: record("RunLockFunctionArn", (input) => ({
      outcome: (input as { action: string }).action === "acquire" ? "acquired" : "released",
      waitSeconds: 0,
      activeRunId: null,
    })),
    // PipelineRunStarted answers the stages to run (all of them: no retry here)
    PublishEventFunctionArn: record("PublishEventFunctionArn", (input) => ({
      startedAt: now(),
      stages: (input as { pipeline?: { stages?: unknown } }).pipeline?.stages ?? null,
    })),
    StartStepFunctionArn: record("StartStepFunctionArn", () => job({ waitSeconds })),
    PollStepFunctionArn: record("PollStepFunctionArn", () => finished),
    CancelStepFunctionArn: record("CancelStepFunctionArn", () =>
      job({ state: "failed", reason: "error", waitSeconds: 0 }),
    ),
    AwaitWebhookFunctionArn: awaitWebhook,
  };
  for (const fn of PIPELINE_RUN_FUNCTIONS) expect(handlers[fn]).toBeDefined();
  const executions: LocalStepFunctions = new LocalStepFunctions({
    definitionPath: join(REPO_ROOT, "state-machines", "pipeline-run.asl.json"),
    handlers,
    runTimeoutSeconds: definitionTimeoutSeconds(CONFIG.pipelines, DEFAULT_PIPELINE_SETTINGS),
    retryIntervalOverrides: { WaitForWebhook: 10 },
  });
  const start = (): LocalExecution =>
    executions.startExecution(`run-${Math.random().toString(36).slice(2)}`, {
      runId: "rain-shield-audience-m01JDQ7ZKX4T9E8W2M5R3B6N1CY",
      trigger: { kind: "manual" },
      pipeline: PIPELINE,
    });
  return { executions, start, calls };
}

/** What the task's function got: its payload, the task token in it. */
type Payload = { taskToken: string; job: Job; step: { name: string } };

describe("the embedded runner's task-token wait (WaitForWebhook)", () => {
  it("invokes the function with a fresh task token and the step, and takes sendTaskSuccess's output as the result", async () => {
    const payloads: Payload[] = [];
    const r = runner(async (payload) => {
      payloads.push(payload as Payload);
      return { ignored: true };
    }, 60);
    const execution = r.start();
    while (payloads.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const [payload] = payloads;
    expect(payload?.taskToken).toMatch(/^local-[\w-]{20,}$/);
    expect(payload?.job.externalId).toBe("4242");
    expect(r.executions.sendTaskSuccess(payload?.taskToken ?? "", finished)).toBe("sent");

    expect((await execution.outcome).status).toBe("SUCCEEDED");
    expect(execution.statesEntered()).toEqual(
      expect.arrayContaining(["WaitForWebhook", "JobOutcome", "StepSucceeded"]),
    );
    expect(execution.statesEntered()).not.toContain("PollStep");
    // a second result for the same token: the task is no longer waiting
    expect(r.executions.sendTaskSuccess(payload?.taskToken ?? "", finished)).toBe("closed");
  });

  it("takes a result sent while its own function still runs (a webhook that came first)", async () => {
    let executions: LocalStepFunctions | undefined;
    const r = runner(async (payload) => {
      expect(executions?.sendTaskSuccess((payload as Payload).taskToken, finished)).toBe("sent");
      return {};
    }, 60);
    executions = r.executions;
    const execution = r.start();
    expect((await execution.outcome).status).toBe("SUCCEEDED");
    expect(execution.statesEntered()).not.toContain("PollStep");
  });

  it("times out after the job's waitSeconds into one fallback poll; a late result finds the token closed", async () => {
    const tokens: string[] = [];
    const r = runner(async (payload) => {
      tokens.push((payload as Payload).taskToken);
      return {};
    }, 1);
    const execution = r.start();
    expect((await execution.outcome).status).toBe("SUCCEEDED");
    const states = execution.statesEntered();
    expect(states.slice(states.indexOf("WaitForWebhook"))).toEqual([
      "WaitForWebhook",
      "PollStep",
      "JobOutcome",
      "StepSucceeded",
      "StageOutcome",
      "StageHasFailures",
      "StageSucceeded",
      "PublishRunSucceeded",
      "ReleaseRunLock",
      "RunSucceeded",
    ]);
    expect(r.calls.PollStepFunctionArn).toHaveLength(1);
    expect(r.executions.sendTaskSuccess(tokens[0] ?? "", finished)).toBe("closed");
  });

  it("retries a registration that fails with LedgerUnavailableError, then cancels the job rather than leave it unwatched", async () => {
    let attempts = 0;
    const r = runner(async () => {
      attempts += 1;
      throw new LedgerUnavailableError("DynamoDB throttled the token's write");
    });
    const execution = r.start();
    const outcome = await execution.outcome;
    expect(attempts).toBe(5);
    expect(execution.statesEntered()).toContain("CancelAbandonedJob");
    expect(outcome.status).toBe("FAILED");
  });

  it("ends the wait when the execution is stopped: nothing waits on, and the token is closed", async () => {
    const tokens: string[] = [];
    const r = runner(async (payload) => {
      tokens.push((payload as Payload).taskToken);
      return {};
    }, 3600);
    const execution = r.start();
    while (tokens.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    execution.abort("stopped by the test");
    expect(await execution.outcome).toMatchObject({ status: "ABORTED" });
    await execution.settled();
    expect(r.executions.sendTaskSuccess(tokens[0] ?? "", finished)).toBe("closed");
  });
});
