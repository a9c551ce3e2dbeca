import {
  type CallOptions,
  type DbtCloudStep,
  DEFAULT_PIPELINE_SETTINGS,
  type JobStatus,
  type PipelineDeps,
  type StepContext,
  silentLogger,
  type TapestryEvent,
} from "@tapestry/core";
import { cancelStep, type Job, pollStep, startStep } from "@tapestry/core/pipeline";
import { describe, expect, it } from "vitest";

const NOW = new Date("2026-11-21T11:30:00.000Z");
const DEADLINE = NOW.getTime() + 110_000;

const step: DbtCloudStep = {
  name: "email-model",
  tool: "dbt-cloud",
  accountId: 70403,
  jobId: 112233,
  attachToInFlightRun: true,
  completion: "poll",
  fallbackPollSeconds: 300,
  timeoutMinutes: 30,
  pollIntervalSeconds: 15,
};

const job: Job = {
  externalId: "720209843",
  url: null,
  attached: false,
  startedAt: "2026-11-21T11:00:00.000Z",
  deadline: "2026-11-21T11:30:00.000Z",
  state: "timed-out",
  toolStatus: "running",
  completion: "poll",
  waitSeconds: 0,
  rows: null,
  bytes: null,
  reason: null,
  error: null,
};

const task = {
  runId: "rain-shield-audience-20261121T110000Z",
  pipeline: "rain-shield-audience",
  stage: "transform",
};

/** Core's dependencies with a scripted connector; records what the connector was asked and what was published. */
function deps(connector: { cancel?: () => Promise<JobStatus>; poll?: () => Promise<JobStatus> } = {}) {
  const events: TapestryEvent[] = [];
  const calls: { op: string; context?: StepContext; call?: CallOptions }[] = [];
  const core: PipelineDeps = {
    connectors: {
      start: async (_step, context) => {
        calls.push({ op: "start", context });
        return { externalId: "720209843", attached: false };
      },
      poll: async (_step, _id, call) => {
        calls.push({ op: "poll", call });
        return (connector.poll ?? (async () => ({ state: "running", toolStatus: "running" })))();
      },
      cancel: async (_step, _id, call) => {
        calls.push({ op: "cancel", call });
        return (connector.cancel ?? (async () => ({ state: "cancelled", toolStatus: "cancelled" })))();
      },
    },
    publisher: {
      publish: async (published) => {
        events.push(...published);
      },
    },
    ledger: {
      acquireRunLock: async () => ({ acquired: true }),
      releaseRunLock: async () => undefined,
      getRun: async () => undefined,
    },
    now: () => NOW,
    logger: silentLogger,
    settings: DEFAULT_PIPELINE_SETTINGS,
  };
  return { core, events, calls };
}

const timedOut = { ...task, step, job, reason: "timeout" as const };

describe("cancelStep: the job's own end stands when the cancel finds it finished", () => {
  it("a job that had succeeded: the step succeeds, with the rows the cancel read", async () => {
    const d = deps({ cancel: async () => ({ state: "succeeded", toolStatus: "success", rows: 58 }) });
    const result = await cancelStep(timedOut, d.core, { deadline: DEADLINE });
    expect(result).toMatchObject({ state: "succeeded", rows: 58 });
    expect(d.events.map((e) => e["detail-type"])).toEqual(["StepSucceeded"]);
    expect(d.events[0]?.detail.data).toMatchObject({ rows: 58, toolStatus: "success" });
  });

  it("a job that had failed on its own: the step fails with the tool's reason and error, not a timeout", async () => {
    const d = deps({
      cancel: async () => ({
        state: "failed",
        toolStatus: "error",
        reason: "failed",
        error: "dbt Cloud run 720209843 errored: relation raw.zoom does not exist",
      }),
    });
    const result = await cancelStep(timedOut, d.core, { deadline: DEADLINE });
    expect(result).toMatchObject({ state: "failed", reason: "failed" });
    expect(result.error).toContain("relation raw.zoom does not exist");
  });

  it("a job really stopped by the cancel: the step fails with reason timeout, saying it was cancelled", async () => {
    const d = deps();
    const result = await cancelStep(timedOut, d.core, { deadline: DEADLINE });
    expect(result).toMatchObject({ state: "failed", reason: "timeout" });
    expect(result.error).toBe(
      'step "email-model" timed out after 30 min; its dbt-cloud job 720209843 was cancelled',
    );
  });

  it("a job still stopping (an asynchronous cancel) fails the step too, and says what it reports", async () => {
    const d = deps({ cancel: async () => ({ state: "running", toolStatus: "running" }) });
    const result = await cancelStep(timedOut, d.core, { deadline: DEADLINE });
    expect(result).toMatchObject({ state: "failed", reason: "timeout" });
    expect(result.error).toContain("was asked to stop (it reports running for now)");
  });

  it("a cancel that fails: the step fails, saying the job could not be cancelled and why", async () => {
    const d = deps({
      cancel: async () => {
        throw new Error("dbt-cloud cancel run failed with HTTP 503");
      },
    });
    const result = await cancelStep(timedOut, d.core, { deadline: DEADLINE });
    expect(result).toMatchObject({ state: "failed", reason: "timeout" });
    expect(result.error).toContain(
      "could not be cancelled; cancelling job 720209843 failed too: dbt-cloud cancel run",
    );
  });

  it("an unknown status in the cancel's answer is no outcome of the job's own: the timeout stands", async () => {
    const d = deps({
      cancel: async () => ({ state: "failed", toolStatus: "4", reason: "unknown-status", error: "status 4" }),
    });
    expect(await cancelStep(timedOut, d.core, { deadline: DEADLINE })).toMatchObject({ reason: "timeout" });
  });
});

describe("the invocation's deadline reaches the connector", () => {
  it("startStep passes it, and in adopt mode asks to look back over one start function's timeout", async () => {
    const d = deps();
    await startStep({ ...task, step }, d.core, { deadline: DEADLINE });
    await startStep({ ...task, step, adopt: true }, d.core, { deadline: DEADLINE });
    expect(d.calls.map((c) => c.context)).toEqual([
      { pipeline: task.pipeline, runId: task.runId, deadline: DEADLINE, adopt: undefined },
      { pipeline: task.pipeline, runId: task.runId, deadline: DEADLINE, adopt: { lookBackMs: 120_000 } },
    ]);
  });

  it("pollStep and cancelStep pass it", async () => {
    const d = deps();
    await pollStep({ ...task, step, job: { ...job, state: "running" } }, d.core, { deadline: DEADLINE });
    await cancelStep(timedOut, d.core, { deadline: DEADLINE + 1 });
    expect(d.calls).toEqual([
      { op: "poll", call: { deadline: DEADLINE } },
      { op: "cancel", call: { deadline: DEADLINE + 1 } },
    ]);
  });
});
