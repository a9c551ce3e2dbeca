import { ToolTriggerUncertainError, ToolUnavailableError } from "@tapestry/core";
import { describe, expect, it } from "vitest";
import {
  airbyteRig,
  airbyteStep,
  closingAfterEach,
  context,
  dbtRig,
  dbtStep,
  grouparooRig,
  grouparooStep,
  pollToEnd,
  rejection,
} from "./harness";

/**
 * Starts against a deadline: a trigger that may have taken effect is never sent again blindly.
 * When there is no time (or no answer) to look its job up, `start` throws ToolTriggerUncertainError,
 * and a start in adopt mode finds that job instead of triggering a second one.
 */

const track = closingAfterEach();

/** A start whose invocation has `ms` left before its deadline. */
const within = (ms: number) => ({
  pipeline: context.pipeline,
  runId: context.runId,
  deadline: Date.now() + ms,
});
/** A start again in adopt mode, with a fresh budget. */
const adopting = () => ({ ...context, adopt: { lookBackMs: 120_000 } });

/** The trigger is processed (the job exists), then the answer hangs past any deadline. */
const hangsAfterCreating = (operation: string) => ({
  rules: [{ on: operation, calls: [1], process: true, latencyMs: 10_000 }],
});
const slowRequests = { requestTimeoutSeconds: 30 };

describe("Airbyte: a trigger that hangs past the deadline", () => {
  it("with no time left to look the job up: ToolTriggerUncertainError, and one trigger", async () => {
    const r = await track(airbyteRig(hangsAfterCreating("createJob"), slowRequests));
    const error = await rejection(r.connector.start(airbyteStep(), within(1_500)));
    expect(error).toBeInstanceOf(ToolTriggerUncertainError);
    expect(error.message).toContain("cut short to the time left before the deadline");
    expect(error.message).toContain("adopt mode");
    expect(r.sandbox.counters).toEqual({ triggers: 1, jobsCreated: 1 });
    expect(r.sandbox.traffic.some((t) => t.operation === "listJobs")).toBe(false);
  });

  it("then a start in adopt mode finds that job and triggers nothing", async () => {
    const r = await track(airbyteRig(hangsAfterCreating("createJob"), slowRequests));
    await rejection(r.connector.start(airbyteStep(), within(1_500)));
    const adopted = await r.connector.start(airbyteStep(), adopting());
    expect(adopted).toMatchObject({ externalId: String(r.sandbox.jobs()[0]?.jobId), attached: true });
    expect(r.sandbox.counters).toEqual({ triggers: 1, jobsCreated: 1 });
    expect((await pollToEnd(r.connector, airbyteStep(), adopted.externalId)).final.state).toBe("succeeded");
  });

  it("with time left after the attempt's own timeout: looks the job up in the same call and attaches", async () => {
    const r = await track(airbyteRig(hangsAfterCreating("createJob"), { requestTimeoutSeconds: 1 }));
    const started = await r.connector.start(airbyteStep(), context);
    expect(started).toMatchObject({ externalId: String(r.sandbox.jobs()[0]?.jobId), attached: true });
    expect(r.sandbox.counters).toEqual({ triggers: 1, jobsCreated: 1 });
  });

  it("when the lookup after an ambiguous trigger fails too: ToolTriggerUncertainError, never a plain retryable error", async () => {
    const r = await track(
      airbyteRig({
        rules: [
          { on: "createJob", calls: [1], process: true, respond: { status: 502 } },
          { on: "listJobs", from: 1, respond: { status: 503 } },
        ],
      }),
    );
    const error = await rejection(r.connector.start(airbyteStep(), context));
    expect(error).toBeInstanceOf(ToolTriggerUncertainError);
    expect(error.message).toContain("failed with HTTP 502");
    expect(error.message).toContain("list jobs");
    expect(r.sandbox.counters).toEqual({ triggers: 1, jobsCreated: 1 });
  });

  it("a failure before anything could have been sent stays a plain ToolUnavailableError (safe to retry as is)", async () => {
    const r = await track(
      airbyteRig({ rules: [{ on: "createAccessToken", calls: [1], latencyMs: 10_000 }] }, slowRequests),
    );
    const error = await rejection(r.connector.start(airbyteStep(), within(1_500)));
    expect(error).toBeInstanceOf(ToolUnavailableError);
    expect(error.message).toContain("get access token");
    expect(r.sandbox.counters.triggers).toBe(0);
  });

  it("adopt mode with no job to adopt triggers once", async () => {
    const r = await track(airbyteRig());
    const started = await r.connector.start(airbyteStep(), adopting());
    expect(started.attached).toBe(false);
    const operations = r.sandbox.traffic.map((t) => t.operation).filter((o) => o !== "createAccessToken");
    expect(operations).toEqual(["listJobs", "createJob"]);
  });

  it("adopt mode whose lookup fails stays uncertain: ToolTriggerUncertainError, no trigger", async () => {
    const r = await track(airbyteRig({ rules: [{ on: "listJobs", from: 1, respond: { status: 503 } }] }));
    const error = await rejection(r.connector.start(airbyteStep(), adopting()));
    expect(error).toBeInstanceOf(ToolTriggerUncertainError);
    expect(r.sandbox.counters.triggers).toBe(0);
  });
});

describe("dbt Cloud: adopt mode finds the run by its cause", () => {
  it("a trigger hung past the deadline, then adopted by the exact cause, one run", async () => {
    const r = await track(dbtRig(hangsAfterCreating("triggerRun"), slowRequests));
    const step = dbtStep({ attachToInFlightRun: false });
    const error = await rejection(r.connector.start(step, within(1_500)));
    expect(error).toBeInstanceOf(ToolTriggerUncertainError);
    const adopted = await r.connector.start(step, adopting());
    expect(adopted.externalId).toBe(String(r.sandbox.runs()[0]?.id));
    expect(r.sandbox.counters).toEqual({ triggers: 1, jobsCreated: 1 });
  });
});

describe("Grouparoo: adopt mode finds the run in flight", () => {
  it("a schedule run hung past the deadline is adopted, never run again (which would stop it)", async () => {
    const r = await track(grouparooRig(hangsAfterCreating("runSchedule"), slowRequests));
    const error = await rejection(r.connector.start(grouparooStep(), within(1_500)));
    expect(error).toBeInstanceOf(ToolTriggerUncertainError);
    const adopted = await r.connector.start(grouparooStep(), adopting());
    expect(adopted).toMatchObject({ attached: true });
    expect(r.sandbox.counters).toEqual({ triggers: 1, jobsCreated: 1 });
  });
});
