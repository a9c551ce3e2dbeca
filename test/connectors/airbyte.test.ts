import { applyStepGuards, ToolAuthError, ToolRequestError, ToolUnavailableError } from "@tapestry/core";
import { describe, expect, it } from "vitest";
import {
  airbyteRig,
  airbyteStep,
  call,
  closedAfterEach,
  context,
  pollToEnd,
  rejection,
  ZOOM_CONNECTION,
} from "./harness";

const rig = closedAfterEach(airbyteRig);

const step = airbyteStep();
const creates = (r: Awaited<ReturnType<typeof rig>>) =>
  r.sandbox.traffic.filter((t) => t.operation === "createJob").length;

describe("Airbyte connector against the sandbox", () => {
  it("syncs a connection: one job, running states mapped, rows and bytes reported", async () => {
    const r = await rig();
    const started = await r.connector.start(step, context);
    expect(started.attached).toBe(false);
    expect(started.externalId).toMatch(/^\d+$/);
    const { final, seen } = await pollToEnd(r.connector, step, started.externalId);
    expect(final).toMatchObject({ state: "succeeded", toolStatus: "succeeded", rows: 1204, bytes: 88000 });
    expect(seen).toEqual(expect.arrayContaining(["running", "succeeded"]));
    expect(r.sandbox.counters).toEqual({ triggers: 1, jobsCreated: 1 });
  });

  it("attaches to the sync already running when Airbyte answers 409", async () => {
    // the seeded sync must still be running when the start arrives, on a loaded machine too
    const r = await rig({ alreadyRunning: [{ connectionId: ZOOM_CONNECTION, remainingMs: 1000 }] });
    const seeded = r.sandbox.jobs()[0];
    const started = await r.connector.start(step, context);
    expect(started).toMatchObject({ attached: true, externalId: String(seeded?.jobId) });
    expect(r.sandbox.counters).toEqual({ triggers: 1, jobsCreated: 0 });
    expect((await pollToEnd(r.connector, step, started.externalId)).final.state).toBe("succeeded");
  });

  it("a second start of the same step attaches instead of starting a second job", async () => {
    const r = await rig();
    const first = await r.connector.start(step, context);
    const second = await r.connector.start(step, context);
    expect(second).toMatchObject({ attached: true, externalId: first.externalId });
    expect(r.sandbox.counters.jobsCreated).toBe(1);
  });

  it("5xx on the trigger AFTER the job was created: finds the job, never triggers again", async () => {
    const r = await rig({
      rules: [{ on: "createJob", calls: [1], process: true, respond: { status: 500 } }],
    });
    const started = await r.connector.start(step, context);
    expect(started.attached).toBe(true);
    expect(started.externalId).toBe(String(r.sandbox.jobs()[0]?.jobId));
    expect(r.sandbox.counters).toEqual({ triggers: 1, jobsCreated: 1 });
  });

  it("5xx on the trigger BEFORE anything was created: looks first, finds nothing, triggers once more", async () => {
    const r = await rig({ rules: [{ on: "createJob", calls: [1], respond: { status: 503 } }] });
    const started = await r.connector.start(step, context);
    expect(started.attached).toBe(false);
    expect(r.sandbox.counters).toEqual({ triggers: 2, jobsCreated: 1 });
    const operations = r.sandbox.traffic.map((t) => t.operation).filter((o) => o !== "createAccessToken");
    expect(operations).toEqual(["createJob", "listJobs", "createJob"]);
  });

  it("a dropped connection after the job was created: attaches to it", async () => {
    const r = await rig({ rules: [{ on: "createJob", calls: [1], process: true, drop: true }] });
    const started = await r.connector.start(step, context);
    expect(started.externalId).toBe(String(r.sandbox.jobs()[0]?.jobId));
    expect(r.sandbox.counters).toEqual({ triggers: 1, jobsCreated: 1 });
  });

  it("a dropped connection before anything was created: triggers again, one job in the end", async () => {
    const r = await rig({ rules: [{ on: "createJob", calls: [1], drop: true }] });
    await r.connector.start(step, context);
    expect(r.sandbox.counters).toEqual({ triggers: 2, jobsCreated: 1 });
  });

  it("a 429 burst with Retry-After on the trigger is waited out; one job", async () => {
    const r = await rig({
      rules: [{ on: "createJob", times: 2, respond: { status: 429, retryAfterSeconds: 1 } }],
    });
    const started = await r.connector.start(step, context);
    expect(started.attached).toBe(false);
    expect(r.rec.sleeps).toEqual([1000, 1000]);
    expect(creates(r)).toBe(3);
    expect(r.sandbox.counters.jobsCreated).toBe(1);
  });

  it("a 429 burst without Retry-After on polls is absorbed with jittered backoff", async () => {
    const r = await rig({ rules: [{ on: "getJob", calls: [1, 2], respond: { status: 429 } }] });
    const started = await r.connector.start(step, context);
    const { final } = await pollToEnd(r.connector, step, started.externalId);
    expect(final.state).toBe("succeeded");
    // random() = 0.5 of 20 ms, then of 40 ms
    expect(r.rec.sleeps).toEqual([10, 20]);
  });

  it("5xx answers to polls are retried", async () => {
    const r = await rig({ rules: [{ on: "getJob", calls: [1, 2, 3], respond: { status: 502 } }] });
    const started = await r.connector.start(step, context);
    expect((await pollToEnd(r.connector, step, started.externalId)).final.state).toBe("succeeded");
  });

  it("a poll slower than the request timeout is abandoned and retried", async () => {
    const r = await rig({ rules: [{ on: "getJob", calls: [1], latencyMs: 1500 }] });
    const started = await r.connector.start(step, context);
    const { final } = await pollToEnd(r.connector, step, started.externalId);
    expect(final.state).toBe("succeeded");
    expect(r.rec.lines.some((l) => l.includes("retrying after timed out after 1000 ms"))).toBe(true);
  });

  it("a stuck job keeps running until cancelled, then reports cancelled", async () => {
    const r = await rig({ outcomes: [{ outcome: "stuck" }] });
    const started = await r.connector.start(step, context);
    const { final } = await pollToEnd(r.connector, step, started.externalId, { maxMs: 400 });
    expect(final.state).toBe("running");
    const cancelled = await r.connector.cancel(step, started.externalId, call);
    expect(cancelled).toMatchObject({ state: "cancelled", reason: "cancelled" });
    expect(r.sandbox.jobs()[0]?.status).toBe("cancelled");
    expect(r.sandbox.traffic.some((t) => t.operation === "cancelJob")).toBe(true);
  });

  it("cancelling a job that already finished answers its final state, rows and bytes included", async () => {
    const r = await rig();
    const started = await r.connector.start(step, context);
    await pollToEnd(r.connector, step, started.externalId);
    expect(await r.connector.cancel(step, started.externalId, call)).toMatchObject({
      state: "succeeded",
      rows: 1204,
      bytes: 88000,
    });
  });

  it("incomplete (an attempt Airbyte retries) is still running, then succeeded", async () => {
    const r = await rig({ outcomes: [{ outcome: "incomplete-then-succeeded", incompleteMs: 120 }] });
    const started = await r.connector.start(step, context);
    const { final, seen } = await pollToEnd(r.connector, step, started.externalId);
    expect(seen).toContain("incomplete");
    expect(final).toMatchObject({ state: "succeeded", rows: 1204 });
  });

  it("a failed sync fails the step", async () => {
    const r = await rig({ outcomes: [{ outcome: "failed", error: "Source connector crashed" }] });
    const started = await r.connector.start(step, context);
    const { final } = await pollToEnd(r.connector, step, started.externalId);
    expect(final).toMatchObject({ state: "failed", reason: "failed" });
    expect(final.error).toContain(`Airbyte sync job ${started.externalId} failed`);
  });

  it("a job cancelled by someone else is reported cancelled, never as success", async () => {
    const r = await rig({ outcomes: [{ outcome: "cancelled" }] });
    const started = await r.connector.start(step, context);
    const { final } = await pollToEnd(r.connector, step, started.externalId);
    expect(final).toMatchObject({ state: "cancelled", reason: "cancelled", toolStatus: "cancelled" });
  });

  it("a 0-row success fails a step with minRows", async () => {
    const r = await rig({ outcomes: [{ outcome: "succeeded", rows: 0, bytes: 0 }] });
    const guarded = airbyteStep({ minRows: 1 });
    const started = await r.connector.start(guarded, context);
    const { final } = await pollToEnd(r.connector, guarded, started.externalId);
    expect(final).toMatchObject({ state: "succeeded", rows: 0 });
    const judged = applyStepGuards(guarded, final);
    expect(judged).toMatchObject({ state: "failed", reason: "min-rows" });
    expect(judged.error).toContain("moved 0 rows, fewer than its minRows of 1");
  });

  it("an unknown status cancels the job, then fails the step naming the status and the cancel", async () => {
    const r = await rig({ outcomes: [{ outcome: "unknown-status", status: "paused", durationMs: 30 }] });
    const started = await r.connector.start(step, context);
    const { final } = await pollToEnd(r.connector, step, started.externalId);
    expect(final).toMatchObject({ state: "failed", reason: "unknown-status", toolStatus: "paused" });
    expect(final.error).toContain(`Airbyte reported status "paused" for job ${started.externalId}`);
    expect(final.error).toContain("the job was cancelled");
    expect(r.sandbox.traffic.filter((t) => t.operation === "cancelJob")).toHaveLength(1);
    expect(r.sandbox.jobs()[0]?.status).toBe("cancelled");
  });

  it("renews the access token before it expires, and once more when Airbyte expires it early", async () => {
    const r = await rig({
      defaults: { queuedMs: 20, durationMs: 1600 },
      auth: {
        kind: "client-credentials",
        clientId: "canary-client-id-3f9e2b7c41d8",
        clientSecret: "canary-client-secret-8b1d4e6f27a9c053",
        tokenTtlSeconds: 0.5,
      },
    });
    const started = await r.connector.start(step, context);
    const { final } = await pollToEnd(r.connector, step, started.externalId, { intervalMs: 100 });
    expect(final.state).toBe("succeeded");
    const tokens = r.sandbox.traffic.filter((t) => t.operation === "createAccessToken");
    expect(tokens.length).toBeGreaterThanOrEqual(3);
    expect(tokens.every((t) => t.response?.status === 200)).toBe(true);
  });

  it.each([
    ["its token is revoked", { revokeTokens: true }],
    ["Airbyte answers 401", { respond: { status: 401 } }],
  ])("a poll whose %s renews the access token once, and the poll succeeds", async (_why, rule) => {
    const r = await rig({ rules: [{ on: "getJob", calls: [1], ...rule }] });
    const started = await r.connector.start(step, context);
    const status = await r.connector.poll(step, started.externalId, call);
    expect(status.state).toBe("running");
    const statuses = r.sandbox.traffic.map((t) => `${t.operation}:${t.response?.status}`);
    expect(statuses).toEqual([
      "createAccessToken:200",
      "createJob:200",
      "getJob:401",
      "createAccessToken:200",
      "getJob:200",
    ]);
    expect(r.sandbox.traffic.some((t) => t.operation === "cancelJob")).toBe(false);
  });

  it("a wrong client secret fails with the secret's NAME to fix, not its value", async () => {
    const r = await rig({
      auth: {
        kind: "client-credentials",
        clientId: "canary-client-id-3f9e2b7c41d8",
        clientSecret: "another-secret",
      },
    });
    const error = await rejection(r.connector.start(step, context));
    expect(error).toBeInstanceOf(ToolAuthError);
    expect(error.message).toContain('check the secrets "AIRBYTE_CLIENT_ID" and "AIRBYTE_CLIENT_SECRET"');
    expect(r.sandbox.counters.triggers).toBe(0);
  });

  it("an unknown connection is a request error naming the status", async () => {
    const r = await rig({ knownConnections: ["c2a91e7b-3f64-4d8a-8e21-6a9d0b7f4c32"] });
    const error = await rejection(r.connector.start(step, context));
    expect(error).toBeInstanceOf(ToolRequestError);
    expect(error.message).toContain("airbyte trigger sync (POST /jobs) was rejected with HTTP 404");
  });

  it("an Airbyte that is down is a transient error that is safe to retry (nothing was sent)", async () => {
    const r = await rig();
    await r.close();
    const error = await rejection(r.connector.poll(step, "12345", call));
    expect(error).toBeInstanceOf(ToolUnavailableError);
    expect((error as ToolUnavailableError).detail.ambiguous).toBe(false);
  });
});
