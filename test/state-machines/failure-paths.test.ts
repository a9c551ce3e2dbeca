import { EventPublishError, LedgerUnavailableError, type TapestryEvent } from "@tapestry/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LocalEventBus } from "../../packages/local/src/bus";
import { eventLines, type Plane, type Runner, sandboxTraffic, startPlane, startRunner } from "./harness";

/**
 * The pipeline-run state machine's failure paths on aws-local-stepfunctions with the real
 * handlers: every failure ends in a recorded run outcome, and no step is left `running`.
 */

const planes: (Plane | Runner)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(planes.splice(0).map((p) => p.stop()));
});

async function plane(...args: Parameters<typeof startPlane>): Promise<Plane> {
  const p = await startPlane(...args);
  planes.push(p);
  return p;
}

async function runOnce(p: Plane) {
  const started = await p.startRun("rain-shield-audience", { kind: "manual" });
  const outcome = await started.execution?.outcome;
  await p.idle();
  return { runId: started.runId, outcome, run: await p.ledger.getRun(started.runId) };
}

const PIPELINE = "rain-shield-audience";
/** The sandboxes' exchanges since start (registering the webhooks is part of the start). */
const toolTraffic = (p: Plane) => sandboxTraffic(p) - p.startupTraffic;

/** The Task states retry 4 times: 5 attempts in all. */
const ATTEMPTS = 5;

describe("the run lock failing", () => {
  it("a lock that cannot be taken ends the run failed and recorded, touches no tool, and releases anyway", async () => {
    const p = await plane();
    const acquire = vi
      .spyOn(p.ledger, "acquireRunLock")
      .mockRejectedValue(new LedgerUnavailableError("DynamoDB throttled the lock request"));
    const release = vi.spyOn(p.ledger, "releaseRunLock");
    // provisioning, at the plane's start, configured Airbyte: the run's own traffic is what follows
    const provisioningTraffic = toolTraffic(p);

    const { runId, outcome, run } = await runOnce(p);

    expect(outcome).toMatchObject({ status: "FAILED", error: "PipelineRunFailed" });
    expect(acquire).toHaveBeenCalledTimes(ATTEMPTS);
    expect(run).toMatchObject({
      status: "failed",
      failedSteps: [],
      error: expect.stringMatching(/^the run could not start: LedgerUnavailableError: .*throttled/),
    });
    expect(eventLines(p.events, runId)).toEqual(["PipelineRunFailed"]);
    expect(release).toHaveBeenCalledWith({ pipeline: PIPELINE, runId });
    expect(toolTraffic(p)).toBe(provisioningTraffic);
  });

  it("a lock that cannot be released after a success keeps the success recorded and fails the execution for the reconciler", async () => {
    const p = await plane();
    const release = vi
      .spyOn(p.ledger, "releaseRunLock")
      .mockRejectedValue(new LedgerUnavailableError("DynamoDB is unavailable"));

    const { runId, outcome, run } = await runOnce(p);

    expect(run?.status).toBe("succeeded");
    expect(eventLines(p.events, runId).at(-1)).toBe("PipelineRunSucceeded");
    // the state machine's attempts, then the reconciler's: it finds the run ended and only frees the lock
    expect(release).toHaveBeenCalledTimes(ATTEMPTS + 1);
    expect(outcome).toMatchObject({ status: "FAILED", error: "RunLockNotReleased" });
  });

  it.each([
    ["an outcome it does not know", { outcome: "postponed", waitSeconds: 0, activeRunId: null }],
    ["no outcome at all", { waitSeconds: 0 }],
  ])(
    "a lock task answering %s fails the run (never a skip), publishes PipelineRunFailed and releases",
    async (_, answer) => {
      const lockCalls: unknown[] = [];
      const runner = await startRunner({
        RunLockFunctionArn: (real) => async (input) => {
          lockCalls.push(input);
          return (input as { action?: string }).action === "acquire" ? answer : real(input);
        },
      });
      planes.push(runner);

      const { runId, outcome, run } = await runner.run();

      expect(outcome).toMatchObject({ status: "FAILED", error: "PipelineRunFailed" });
      expect(run).toMatchObject({ status: "failed", error: expect.stringContaining("UnknownLockOutcome") });
      expect(lockCalls).toContainEqual({ action: "release", runId, pipeline: PIPELINE });
    },
  );
});

describe("a step whose failure cannot be announced", () => {
  it("still ends failed in the ledger: PublishRunFailed publishes its StepFailed, no step stays running", async () => {
    // The Grouparoo run is polled with refused credentials (StepErrored), and the bus refuses
    // StepErrored's StepFailed (a batch of that one event) every time.
    const p = await plane({ grouparoo: { rules: [{ on: "getRun", from: 1, respond: { status: 401 } }] } });
    const put = LocalEventBus.prototype.put;
    const refused: TapestryEvent[] = [];
    vi.spyOn(LocalEventBus.prototype, "put").mockImplementation(function (this: LocalEventBus, events) {
      const [only] = events;
      if (
        events.length === 1 &&
        only?.["detail-type"] === "StepFailed" &&
        only.detail.data.reason === "error"
      ) {
        refused.push(only);
        return Promise.reject(new EventPublishError("the bus refused the entry (InternalFailure)"));
      }
      return put.call(this, events);
    });

    const { runId, outcome, run } = await runOnce(p);

    expect(refused).toHaveLength(ATTEMPTS);
    expect(outcome).toMatchObject({ status: "FAILED", error: "PipelineRunFailed" });
    expect(run?.status).toBe("failed");
    expect(run?.steps.filter((s) => s.status === "running")).toEqual([]);
    expect(run?.steps.find((s) => s.step === "mailchimp-audience")).toMatchObject({
      status: "failed",
      reason: "error",
      error: expect.stringMatching(/ToolAuthError.*EventPublishError/),
    });
    expect(run?.failedSteps).toEqual(["mailchimp-audience"]);
    expect(eventLines(p.events, runId).slice(-2)).toEqual([
      "StepFailed sync/mailchimp-audience",
      "PipelineRunFailed",
    ]);
  });
});

describe("a started job whose StepStarted cannot be published", () => {
  it("is adopted, not triggered again: one dbt job, the run succeeds", async () => {
    const p = await plane();
    const put = LocalEventBus.prototype.put;
    let refusals = 0;
    vi.spyOn(LocalEventBus.prototype, "put").mockImplementation(function (this: LocalEventBus, events) {
      const [only] = events;
      if (
        refusals === 0 &&
        only?.["detail-type"] === "StepStarted" &&
        only.detail.data.step === "email-model"
      ) {
        refusals += 1;
        return Promise.reject(new EventPublishError("the bus refused the entry (InternalFailure)"));
      }
      return put.call(this, events);
    });

    const { runId, outcome, run } = await runOnce(p);

    expect(refusals).toBe(1);
    expect(outcome?.status).toBe("SUCCEEDED");
    expect(p.sandboxes.dbtCloud.traffic.filter((t) => t.operation === "triggerRun")).toHaveLength(1);
    const attached = p.events.flatMap((e) =>
      e["detail-type"] === "StepStarted" &&
      e.detail.data.runId === runId &&
      e.detail.data.step === "email-model"
        ? [e.detail.data.attached]
        : [],
    );
    // AdoptOrStartStep looked the job up by its cause and found it ours (not someone else's: attached false)
    expect(p.sandboxes.dbtCloud.traffic.filter((t) => t.operation === "listRuns").length).toBeGreaterThan(0);
    expect(attached).toEqual([false]);
    expect(run?.status).toBe("succeeded");
  });
});

describe("a failed run's outcome", () => {
  const failingPlane = () =>
    plane({ grouparoo: { rules: [{ on: "getRun", from: 1, respond: { status: 401 } }] } });
  const reconciledEvents = (p: Plane, runId: string) =>
    p.events.filter(
      (e) =>
        e.detail.metadata.correlationId === runId && (e.detail.data as { reconciled?: boolean }).reconciled,
    );

  it("published by the state machine: the execution says so, and the reconciler states nothing more", async () => {
    const p = await failingPlane();
    const { runId, outcome, run } = await runOnce(p);
    expect(outcome).toMatchObject({ status: "FAILED", error: "PipelineRunFailed" });
    expect(run).toMatchObject({ status: "failed", failedSteps: ["mailchimp-audience"] });
    expect(reconciledEvents(p, runId)).toEqual([]);
    expect(await p.ledger.getRunLock(PIPELINE, new Date().toISOString())).toBeUndefined();
  });

  it("that cannot be published: the execution says so, and the reconciler records it", async () => {
    const p = await failingPlane();
    const put = LocalEventBus.prototype.put;
    vi.spyOn(LocalEventBus.prototype, "put").mockImplementation(function (this: LocalEventBus, events) {
      const refused = events.some(
        (e) =>
          e["detail-type"] === "PipelineRunFailed" && !(e.detail.data as { reconciled?: boolean }).reconciled,
      );
      return refused
        ? Promise.reject(new EventPublishError("the bus refused the entry (InternalFailure)"))
        : put.call(this, events);
    });

    const { runId, outcome, run } = await runOnce(p);
    expect(outcome).toMatchObject({ status: "FAILED", error: "PipelineRunOutcomeUnpublished" });
    expect(run).toMatchObject({ status: "failed", reconciled: true });
    expect(reconciledEvents(p, runId).map((e) => e["detail-type"])).toEqual(["PipelineRunFailed"]);
    expect(await p.ledger.getRunLock(PIPELINE, new Date().toISOString())).toBeUndefined();
  });
});

describe("PollStep failing", () => {
  it("with refused credentials fails the step without a cancel (the same credentials could not cancel)", async () => {
    const p = await plane({ grouparoo: { rules: [{ on: "getRun", from: 1, respond: { status: 401 } }] } });
    const { run } = await runOnce(p);
    expect(run?.steps.find((s) => s.step === "mailchimp-audience")).toMatchObject({
      status: "failed",
      reason: "error",
      error: expect.stringContaining("ToolAuthError"),
    });
    expect(p.sandboxes.grouparoo.traffic.filter((t) => t.operation === "stopRun")).toEqual([]);
  });

  it("for another reason still cancels the job it can no longer watch", async () => {
    const p = await plane({ grouparoo: { rules: [{ on: "getRun", from: 1, respond: { status: 404 } }] } });
    const { run } = await runOnce(p);
    expect(run?.steps.find((s) => s.step === "mailchimp-audience")).toMatchObject({
      status: "failed",
      error: expect.stringContaining("was cancelled"),
    });
    expect(p.sandboxes.grouparoo.traffic.filter((t) => t.operation === "stopRun")).toHaveLength(1);
  });
});

describe("the run's failure message", () => {
  it("does not claim later stages did not start when the failed step is in the last stage", async () => {
    const p = await plane({ grouparoo: { outcomes: [{ outcome: "failed", error: "Mailchimp said no" }] } });
    const { run } = await runOnce(p);
    expect(run).toMatchObject({ status: "failed", failedSteps: ["mailchimp-audience"] });
    expect(run?.error).toBe("step mailchimp-audience failed in stage sync");
  });

  it("says so when a stage before the last failed", async () => {
    const p = await plane({ "dbt-cloud": { outcomes: [{ outcome: "failed", error: "compilation error" }] } });
    const { run } = await runOnce(p);
    expect(run?.error).toBe("step email-model failed in stage transform; later stages did not start");
  });
});
