/**
 * POST /runs/{runId}/retry over real HTTP (every answer checked against
 * docs/status-api.openapi.yaml by `call`): a new run from the stage that failed on, linked both ways.
 * test/state-machines/retry.test.ts runs a retry through the real state machine.
 */
import { createEvent, type TapestryEvent } from "@tapestry/core/events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stepEvents } from "../ledger/run-events";
import { type ApiUnderTest, NOW, spec, startApiUnderTest } from "./harness";
import { plan } from "./run-events";

let api: ApiUnderTest;
const JSON_TYPE = { "content-type": "application/json" };

/** fresh-audience's run whose "ingest" stage succeeded and whose "transform" stage failed. */
const FAILED_IN_TRANSFORM = "fresh-audience-20260302T060000Z";

beforeAll(async () => {
  api = await startApiUnderTest();
  const pipeline = spec("fresh-audience");
  const base = Date.parse("2026-03-02T06:00:00.000Z");
  const ctx = (s: number) => ({ pipeline: pipeline.name, now: new Date(base + s * 1000) });
  const events: TapestryEvent[] = [
    createEvent(
      "PipelineRunStarted",
      {
        runId: FAILED_IN_TRANSFORM,
        trigger: { kind: "schedule", scheduledTime: new Date(base).toISOString() },
        stages: plan(pipeline),
      },
      ctx(0),
    ),
  ];
  let second = 1;
  for (const stage of pipeline.stages) {
    for (const step of stage.steps) {
      const of = { stage: stage.name, step: step.name, tool: step.tool, externalId: `${step.name}-1` };
      const { started, succeeded, failed } = stepEvents(pipeline.name, FAILED_IN_TRANSFORM, base, of);
      events.push(started(second, second + 600));
      events.push(
        stage.name === "ingest"
          ? succeeded(second, second + 5, { toolStatus: "succeeded", rows: 10 })
          : failed(second, second + 5, { toolStatus: "error", reason: "failed", error: "the model failed" }),
      );
      second += 6;
    }
    if (stage.name !== "ingest") break;
  }
  events.push(
    createEvent(
      "PipelineRunFailed",
      {
        runId: FAILED_IN_TRANSFORM,
        startedAt: new Date(base).toISOString(),
        endedAt: new Date(base + second * 1000).toISOString(),
        failedSteps: ["email-model"],
        error: "step email-model failed in stage transform",
        reason: "step-failed",
      },
      ctx(second),
    ),
  );
  for (const event of events) await api.ledger.record(event);
});

afterAll(async () => {
  await api?.close();
});

function expectProblem(
  reply: { status: number; headers: Record<string, string>; json: unknown },
  status: number,
) {
  expect(reply.status).toBe(status);
  expect(reply.headers["content-type"]).toBe("application/problem+json");
}

describe("POST /runs/{runId}/retry", () => {
  it("starts a new run of the pipeline from the stage that failed: 202 { runId, retryOf, fromStage }", async () => {
    const before = api.runs.started.length;
    const reply = await api.call("POST", `/runs/${FAILED_IN_TRANSFORM}/retry`, {
      body: JSON.stringify({ note: "the model is fixed" }),
      headers: JSON_TYPE,
    });
    expect(reply.status).toBe(202);
    expect(reply.json).toEqual({
      runId: expect.stringMatching(/^fresh-audience-m[0-9A-Z]{26}$/),
      pipeline: "fresh-audience",
      status: "accepted",
      retryOf: FAILED_IN_TRANSFORM,
      fromStage: "transform",
    });
    expect(reply.headers.location).toBe(`/runs/${reply.json.runId}`);
    expect(api.runs.started.slice(before)).toEqual([
      {
        pipeline: spec("fresh-audience"),
        runId: reply.json.runId,
        trigger: { kind: "retry", retryOf: FAILED_IN_TRANSFORM, fromStage: "transform" },
      },
    ]);
  });

  it("lists the retries on the run retried, and the retry's trigger and skipped stages on the retry", async () => {
    const reply = await api.call("POST", `/runs/${FAILED_IN_TRANSFORM}/retry`, { headers: JSON_TYPE });
    const retryId: string = reply.json.runId;
    // what the state machine's PublishRunStarted announces for it (test/state-machines runs it for real)
    await api.ledger.record(
      createEvent(
        "PipelineRunStarted",
        {
          runId: retryId,
          trigger: { kind: "retry", retryOf: FAILED_IN_TRANSFORM, fromStage: "transform" },
          stages: plan(spec("fresh-audience")).map((stage) =>
            stage.name === "ingest"
              ? {
                  ...stage,
                  skipped: {
                    reason: `succeeded in ${FAILED_IN_TRANSFORM}`,
                    succeededIn: FAILED_IN_TRANSFORM,
                  },
                }
              : stage,
          ),
        },
        { pipeline: "fresh-audience", now: NOW },
      ),
    );
    const first = await api.call("GET", `/runs/${FAILED_IN_TRANSFORM}`);
    expect(first.status).toBe(200);
    expect(first.json.retries).toEqual([{ runId: retryId, status: "running" }]);
    const retry = await api.call("GET", `/runs/${retryId}`);
    expect(retry.json.trigger).toEqual({
      kind: "retry",
      retryOf: FAILED_IN_TRANSFORM,
      fromStage: "transform",
    });
    expect(retry.json.stages[0].skipped).toEqual({
      reason: `succeeded in ${FAILED_IN_TRANSFORM}`,
      succeededIn: FAILED_IN_TRANSFORM,
    });
    expect(retry.json.stages[1].skipped).toBeUndefined();
    // a retry that is going: refused (409) like any run that has not ended
    const again = await api.call("POST", `/runs/${retryId}/retry`, { headers: JSON_TYPE });
    expectProblem(again, 409);
    expect(again.json.type).toBe("urn:tapestry:problem:run-not-ended");
  });

  it("retries a failed run from its first stage when the first stage failed", async () => {
    const reply = await api.call("POST", `/runs/${api.seeded.failingRunId}/retry`, { headers: JSON_TYPE });
    expect(reply.status).toBe(202);
    expect(reply.json).toMatchObject({ retryOf: api.seeded.failingRunId, fromStage: "ingest" });
  });

  it("refuses a run that succeeded with 422 (nothing-to-retry), and starts nothing", async () => {
    const before = api.runs.started.length;
    const reply = await api.call("POST", `/runs/${api.seeded.kickstartRuns[0]}/retry`, {
      headers: JSON_TYPE,
    });
    expectProblem(reply, 422);
    expect(reply.json.type).toBe("urn:tapestry:problem:nothing-to-retry");
    expect(reply.json.detail).toContain("succeeded");
    expect(api.runs.started).toHaveLength(before);
  });

  it("refuses a running run with 409 (run-not-ended), an unknown one with 404, a malformed id with 400", async () => {
    const before = api.runs.started.length;
    const post = (path: string) => api.call("POST", path, { headers: JSON_TYPE });
    const running = await post(`/runs/${api.seeded.runningRunId}/retry`);
    expectProblem(running, 409);
    expect(running.json.type).toBe("urn:tapestry:problem:run-not-ended");
    expectProblem(await post("/runs/rain-shield-audience-20200101T000000Z/retry"), 404);
    expectProblem(await post("/runs/not-a-run/retry"), 400);
    expectProblem(await api.call("POST", `/runs/${api.seeded.failingRunId}/retry`), 415);
    expect(api.runs.started).toHaveLength(before);
  });

  it("follows the overlap rules of a manual run: 409 run-active while a run of a skip pipeline holds its lock", async () => {
    const pipeline = "running-audience";
    const failedId = "running-audience-20260220T060000Z";
    await api.ledger.record(
      createEvent(
        "PipelineRunFailed",
        {
          runId: failedId,
          endedAt: "2026-02-20T06:00:05.000Z",
          failedSteps: [],
          error: "the run could not start: the ledger was unavailable",
          reason: "error",
        },
        { pipeline, now: new Date("2026-02-20T06:00:05.000Z") },
      ),
    );
    const before = api.runs.started.length;
    const reply = await api.call("POST", `/runs/${failedId}/retry`, { headers: JSON_TYPE });
    expectProblem(reply, 409);
    expect(reply.json).toMatchObject({
      type: "urn:tapestry:problem:run-active",
      activeRunId: api.seeded.runningRunId,
    });
    expect(api.runs.started).toHaveLength(before);
  });
});
