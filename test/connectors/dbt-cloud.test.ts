import { ToolAuthError, ToolUnavailableError } from "@tapestry/core";
import { describeTrigger } from "@tapestry/core/connectors";
import { describe, expect, it } from "vitest";
import { call, closedAfterEach, context, dbtRig, dbtStep, pollToEnd, rejection } from "./harness";

const rig = closedAfterEach(dbtRig);

const step = dbtStep();
const expectedCause = `Tapestry pipeline ${context.pipeline} run ${context.runId} step ${step.name}`;

describe("dbt Cloud connector against the sandbox", () => {
  it("triggers the job with a cause naming pipeline, run and step, and follows it to success", async () => {
    // queued long enough for the first poll to see it on a busy machine
    const r = await rig({ defaults: { queuedMs: 300, durationMs: 80 } });
    const started = await r.connector.start(step, context);
    expect(started.attached).toBe(false);
    const trigger = r.sandbox.traffic.find((t) => t.operation === "triggerRun");
    expect(trigger?.request.path).toBe("/api/v2/accounts/70403/jobs/917/run/");
    expect(trigger?.request.body).toEqual({ cause: expectedCause });
    expect(trigger?.request.headers.authorization).toMatch(/^Token /);
    const { final, seen } = await pollToEnd(r.connector, step, started.externalId);
    expect(final).toMatchObject({ state: "succeeded", toolStatus: "success" });
    expect(final.url).toContain(`/runs/${started.externalId}/`);
    expect(seen).toEqual(expect.arrayContaining(["queued", "running", "success"]));
    expect(r.sandbox.counters).toEqual({ triggers: 1, jobsCreated: 1 });
  });

  it("reports the rows the model wrote, from the run's run_results.json", async () => {
    const r = await rig({}, {});
    const started = await r.connector.start(step, context);
    const { final } = await pollToEnd(r.connector, step, started.externalId);
    expect(final).toMatchObject({ state: "succeeded", rows: 0 });
    const artifact = r.sandbox.traffic.find((t) => t.operation === "getRunArtifact");
    expect(artifact?.request.path).toBe(
      `/api/v2/accounts/70403/runs/${started.externalId}/artifacts/run_results.json`,
    );
  });

  it("a run whose results cannot be read still succeeds, without a row count", async () => {
    const r = await rig({ rules: [{ on: "getRunArtifact", from: 1, respond: { status: 500 } }] });
    const started = await r.connector.start(step, context);
    const { final } = await pollToEnd(r.connector, step, started.externalId);
    expect(final.state).toBe("succeeded");
    expect(final.rows).toBeUndefined();
    expect(r.rec.lines.some((l) => l.includes("run results unreadable"))).toBe(true);
  });

  it("keeps the cause within dbt Cloud's 255 characters", () => {
    const cause = describeTrigger("p".repeat(64), context.runId, "s".repeat(200), 255);
    expect(cause).toHaveLength(255);
    expect(cause.endsWith("...")).toBe(true);
  });

  it("attaches to a run of the job already in flight instead of queueing a second", async () => {
    const r = await rig({ alreadyRunning: [{ jobId: 917, accountId: 70403, remainingMs: 1000 }] });
    const started = await r.connector.start(step, context);
    expect(started.attached).toBe(true);
    expect(r.sandbox.counters.triggers).toBe(0);
    expect((await pollToEnd(r.connector, step, started.externalId)).final.state).toBe("succeeded");
  });

  it("queues its own run when attachToInFlightRun is off", async () => {
    const r = await rig({ alreadyRunning: [{ jobId: 917, accountId: 70403, remainingMs: 1000 }] });
    const started = await r.connector.start(dbtStep({ attachToInFlightRun: false }), context);
    expect(started.attached).toBe(false);
    expect(r.sandbox.counters).toEqual({ triggers: 1, jobsCreated: 1 });
  });

  it("a dropped connection after the run was created: finds OUR run by its cause, no second run", async () => {
    const r = await rig({ rules: [{ on: "triggerRun", calls: [1], process: true, drop: true }] });
    const started = await r.connector.start(dbtStep({ attachToInFlightRun: false }), context);
    expect(started.externalId).toBe(String(r.sandbox.runs()[0]?.id));
    expect(r.sandbox.counters).toEqual({ triggers: 1, jobsCreated: 1 });
  });

  it("a 5xx after the run was created: finds it, no second run", async () => {
    const r = await rig({
      rules: [{ on: "triggerRun", calls: [1], process: true, respond: { status: 502 } }],
    });
    await r.connector.start(step, context);
    expect(r.sandbox.counters).toEqual({ triggers: 1, jobsCreated: 1 });
  });

  it("a 5xx before anything was created: looks, finds nothing, triggers once more", async () => {
    const r = await rig({ rules: [{ on: "triggerRun", calls: [1], respond: { status: 503 } }] });
    await r.connector.start(step, context);
    expect(r.sandbox.counters).toEqual({ triggers: 2, jobsCreated: 1 });
  });

  it("a run that errors fails the step with dbt's message", async () => {
    const r = await rig({
      outcomes: [
        {
          outcome: "failed",
          error: 'Database Error in model email_model: relation "raw.zoom" does not exist',
        },
      ],
    });
    const started = await r.connector.start(step, context);
    const { final } = await pollToEnd(r.connector, step, started.externalId);
    expect(final).toMatchObject({ state: "failed", reason: "failed", toolStatus: "error" });
    expect(final.error).toContain('relation "raw.zoom" does not exist');
  });

  it("a cancelled run is reported cancelled", async () => {
    const r = await rig({ outcomes: [{ outcome: "cancelled" }] });
    const started = await r.connector.start(step, context);
    expect((await pollToEnd(r.connector, step, started.externalId)).final).toMatchObject({
      state: "cancelled",
      toolStatus: "cancelled",
    });
  });

  it("a stuck run is cancelled on request", async () => {
    const r = await rig({ outcomes: [{ outcome: "stuck" }] });
    const started = await r.connector.start(step, context);
    const cancelled = await r.connector.cancel(step, started.externalId, call);
    expect(["running", "cancelled"]).toContain(cancelled.state);
    expect((await pollToEnd(r.connector, step, started.externalId)).final.state).toBe("cancelled");
    expect(r.sandbox.traffic.some((t) => t.operation === "cancelRun")).toBe(true);
  });

  it("429s without Retry-After on polls are absorbed", async () => {
    const r = await rig({ rules: [{ on: "getRun", calls: [1, 2], respond: { status: 429 } }] });
    const started = await r.connector.start(step, context);
    expect((await pollToEnd(r.connector, step, started.externalId)).final.state).toBe("succeeded");
    expect(r.rec.sleeps).toEqual([10, 20]);
  });

  it("an unknown status code fails closed: the run is cancelled first, and the failure says both", async () => {
    const r = await rig({ outcomes: [{ outcome: "unknown-status", status: 4, durationMs: 30 }] });
    const started = await r.connector.start(step, context);
    const { final } = await pollToEnd(r.connector, step, started.externalId);
    expect(final).toMatchObject({ state: "failed", reason: "unknown-status", toolStatus: "4" });
    expect(final.error).toContain("dbt Cloud reported status 4");
    expect(final.error).toContain("the job was cancelled");
    expect(r.sandbox.traffic.filter((t) => t.operation === "cancelRun")).toHaveLength(1);
    expect(r.sandbox.runs()[0]?.status).toBe(30);
  });

  it("an unknown status whose cancel keeps failing is thrown as passing, naming both, for the state machine to retry", async () => {
    const r = await rig({
      outcomes: [{ outcome: "unknown-status", status: 4, durationMs: 0 }],
      rules: [{ on: "cancelRun", from: 1, respond: { status: 503 } }],
    });
    const started = await r.connector.start(step, context);
    await until(() => r.sandbox.runs()[0]?.status === 4);
    const error = await rejection(r.connector.poll(step, started.externalId, call));
    expect(error).toBeInstanceOf(ToolUnavailableError);
    expect(error.message).toContain("dbt Cloud reported status 4");
    expect(error.message).toContain("cancelling the job failed");
  });

  it("a poll refused with a static token fails with ToolAuthError naming the secret, and nothing is cancelled", async () => {
    const r = await rig({ rules: [{ on: "getRun", calls: [1], respond: { status: 401 } }] });
    const started = await r.connector.start(step, context);
    const error = await rejection(r.connector.poll(step, started.externalId, call));
    expect(error).toBeInstanceOf(ToolAuthError);
    expect(error.message).toContain('check the secret "DBT_CLOUD_TOKEN"');
    expect(r.sandbox.traffic.filter((t) => t.operation === "getRun")).toHaveLength(1);
    expect(r.sandbox.traffic.some((t) => t.operation === "cancelRun")).toBe(false);
  });

  it("cancelling a run that already succeeded answers success with the rows of its run_results.json", async () => {
    // The kickstart's e-mail model writes one row per unique address: 58.
    const emailModel = async () => ({ rows: 58 });
    const r = await rig({}, {}, emailModel);
    const started = await r.connector.start(step, context);
    await until(() => r.sandbox.runs()[0]?.status === 10);
    const cancelled = await r.connector.cancel(step, started.externalId, call);
    expect(cancelled).toMatchObject({ state: "succeeded", toolStatus: "success", rows: 58 });
    const operations = r.sandbox.traffic.map((t) => t.operation);
    expect(operations.slice(-2)).toEqual(["cancelRun", "getRunArtifact"]);
  });

  it("a poll ends by its deadline: the attempt is cut to the time left, and not retried past it", async () => {
    const r = await rig(
      { rules: [{ on: "getRun", calls: [1], latencyMs: 5_000 }] },
      { requestTimeoutSeconds: 30 },
    );
    const started = await r.connector.start(step, context);
    const error = await rejection(
      r.connector.poll(step, started.externalId, { deadline: Date.now() + 1_300 }),
    );
    expect(error).toBeInstanceOf(ToolUnavailableError);
    expect(error.message).toContain("cut short to the time left before the deadline");
    expect(r.sandbox.traffic.filter((t) => t.operation === "getRun")).toHaveLength(1);
  });
});

async function until(condition: () => boolean, maxMs = 3000): Promise<void> {
  const end = Date.now() + maxMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error("the sandbox never got there");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
