import { applyStepGuards } from "@tapestry/core";
import { describe, expect, it } from "vitest";
import { call, closedAfterEach, context, grouparooRig, grouparooStep, pollToEnd } from "./harness";

const rig = closedAfterEach(grouparooRig);

const step = grouparooStep();

describe("Grouparoo connector against the sandbox", () => {
  it("runs the schedule and follows the run to completion with its record count", async () => {
    const r = await rig();
    const started = await r.connector.start(step, context);
    expect(started).toMatchObject({ attached: false });
    expect(started.externalId).toMatch(/^run_/);
    const { final, seen } = await pollToEnd(r.connector, step, started.externalId);
    expect(final).toMatchObject({ state: "succeeded", toolStatus: "complete", rows: 250 });
    expect(seen).toEqual(expect.arrayContaining(["running", "complete"]));
    expect(r.sandbox.counters).toEqual({ triggers: 1, jobsCreated: 1 });
  });

  it("never pre-empts a run in flight: attaches to it, and that run completes", async () => {
    const r = await rig({ alreadyRunning: [{ scheduleId: "sch_mailchimp_audience", remainingMs: 1000 }] });
    const started = await r.connector.start(step, context);
    expect(started.attached).toBe(true);
    expect(r.sandbox.counters.triggers).toBe(0);
    expect((await pollToEnd(r.connector, step, started.externalId)).final.state).toBe("succeeded");
    expect(r.sandbox.runs().map((run) => run.state)).toEqual(["complete"]);
  });

  it("a second start of the same step attaches: nothing is stopped", async () => {
    const r = await rig();
    const first = await r.connector.start(step, context);
    const second = await r.connector.start(step, context);
    expect(second).toMatchObject({ attached: true, externalId: first.externalId });
    await pollToEnd(r.connector, step, first.externalId);
    expect(r.sandbox.runs().map((run) => run.state)).toEqual(["complete"]);
  });

  it("a 5xx after the run was created: finds it instead of running (and pre-empting) again", async () => {
    const r = await rig({
      rules: [{ on: "runSchedule", calls: [1], process: true, respond: { status: 500 } }],
    });
    const started = await r.connector.start(step, context);
    expect(started.externalId).toBe(r.sandbox.runs()[0]?.id);
    expect(r.sandbox.counters).toEqual({ triggers: 1, jobsCreated: 1 });
  });

  it("a 503 before anything was created: triggers once more, one run", async () => {
    const r = await rig({ rules: [{ on: "runSchedule", calls: [1], respond: { status: 503 } }] });
    await r.connector.start(step, context);
    expect(r.sandbox.counters).toEqual({ triggers: 2, jobsCreated: 1 });
  });

  it("a run that completes with failed imports fails the step, unless partial success is allowed", async () => {
    const scenario = {
      outcomes: [{ outcome: "failed", error: "Mailchimp: Invalid merge fields (x3)", rows: 40 }],
    };
    const strict = await rig(scenario);
    const run = await strict.connector.start(step, context);
    const { final } = await pollToEnd(strict.connector, step, run.externalId);
    expect(final).toMatchObject({ state: "failed", reason: "partial-failure", rows: 40 });
    expect(final.error).toContain("Invalid merge fields (x3)");

    const lenient = await rig(scenario);
    const partial = grouparooStep({ allowPartialSuccess: true });
    const run2 = await lenient.connector.start(partial, context);
    const result = (await pollToEnd(lenient.connector, partial, run2.externalId)).final;
    expect(result).toMatchObject({ state: "succeeded", rows: 40 });
    expect(result.error).toContain("some imports failed");
  });

  it("a run stopped by someone else fails the step", async () => {
    const r = await rig({ outcomes: [{ outcome: "cancelled" }] });
    const started = await r.connector.start(step, context);
    const { final } = await pollToEnd(r.connector, step, started.externalId);
    expect(final).toMatchObject({ state: "cancelled", toolStatus: "stopped" });
    expect(final.error).toContain("was stopped");
  });

  it("a stuck run is stopped on request", async () => {
    const r = await rig({ outcomes: [{ outcome: "stuck" }] });
    const started = await r.connector.start(step, context);
    const cancelled = await r.connector.cancel(step, started.externalId, call);
    expect(cancelled).toMatchObject({ state: "cancelled", toolStatus: "stopped" });
    const stop = r.sandbox.traffic.find((t) => t.operation === "stopRun");
    expect(stop?.request.body).toEqual({ state: "stopped" });
  });

  it("an unknown state fails closed, and the run is stopped first", async () => {
    const r = await rig({ outcomes: [{ outcome: "unknown-status", status: "paused", durationMs: 30 }] });
    const started = await r.connector.start(step, context);
    const { final } = await pollToEnd(r.connector, step, started.externalId);
    expect(final).toMatchObject({ state: "failed", reason: "unknown-status", toolStatus: "paused" });
    expect(final.error).toContain("the job was cancelled");
    expect(r.sandbox.traffic.filter((t) => t.operation === "stopRun")).toHaveLength(1);
  });

  it("zero records imported fails a step with minRows", async () => {
    const r = await rig({ outcomes: [{ outcome: "succeeded", rows: 0 }] });
    const guarded = grouparooStep({ minRows: 1 });
    const started = await r.connector.start(guarded, context);
    const { final } = await pollToEnd(r.connector, guarded, started.externalId);
    expect(applyStepGuards(guarded, final)).toMatchObject({ state: "failed", reason: "min-rows" });
  });
});
