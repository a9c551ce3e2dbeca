import { afterEach, describe, expect, it } from "vitest";
import { eventLines, type Plane, startPlane } from "./harness";

/**
 * A retry through the embedded control plane: the real pipeline-run ASL on aws-local-stepfunctions,
 * the real task handlers, ledger, bus, status API and sandboxes.
 */

const planes: Plane[] = [];
afterEach(async () => {
  await Promise.all(planes.splice(0).map((p) => p.stop()));
});

const PIPELINE = "rain-shield-audience";

async function settle(p: Plane, runId: string) {
  const outcome = await p.runs.execution(runId)?.outcome;
  await p.idle();
  return { outcome, run: await p.ledger.getRun(runId) };
}

async function postRetry(p: Plane, runId: string) {
  const reply = await fetch(`${p.apiUrl}/runs/${runId}/retry`, {
    method: "POST",
    headers: { "content-type": "application/json" },
  });
  return { status: reply.status, json: (await reply.json()) as Record<string, unknown> };
}

describe("a retry of a run that failed in stage 2 (transform)", () => {
  it("runs only stages 2..n, records the stage before as skipped, and links the two runs", async () => {
    const p = await startPlane({
      "dbt-cloud": { outcomes: [{ outcome: "failed", error: "relation raw.zoom does not exist" }] },
    });
    planes.push(p);
    const first = await p.startRun(PIPELINE, { kind: "manual" });
    const failed = await settle(p, first.runId);
    expect(failed.run).toMatchObject({ status: "failed", failedSteps: ["email-model"] });
    const airbyteJobs = p.sandboxes.airbyte.counters.jobsCreated;
    expect(airbyteJobs).toBe(2);

    const reply = await postRetry(p, first.runId);
    expect(reply.status).toBe(202);
    expect(reply.json).toMatchObject({ retryOf: first.runId, fromStage: "transform", status: "accepted" });
    const retryId = String(reply.json.runId);
    const retried = await settle(p, retryId);

    expect(retried.outcome?.status).toBe("SUCCEEDED");
    // no ingest step ran again: stage 1's Airbyte syncs are not triggered a second time
    expect(eventLines(p.events, retryId)).toEqual([
      "PipelineRunStarted",
      "StepStarted transform/email-model",
      "StepSucceeded transform/email-model",
      "StepStarted sync/mailchimp-audience",
      "StepSucceeded sync/mailchimp-audience",
      "PipelineRunSucceeded",
    ]);
    expect(p.sandboxes.airbyte.counters.jobsCreated).toBe(airbyteJobs);
    expect(retried.run).toMatchObject({
      status: "succeeded",
      trigger: { kind: "retry", retryOf: first.runId, fromStage: "transform" },
    });
    expect(retried.run?.stages?.map((stage) => [stage.name, stage.skipped])).toEqual([
      ["ingest", { reason: `succeeded in ${first.runId}`, succeededIn: first.runId }],
      ["transform", undefined],
      ["sync", undefined],
    ]);
    expect(retried.run?.steps.map((step) => `${step.stage}/${step.step} ${step.status}`)).toEqual([
      "transform/email-model succeeded",
      "sync/mailchimp-audience succeeded",
    ]);

    const view = (await (await fetch(`${p.apiUrl}/runs/${first.runId}`)).json()) as { retries?: unknown };
    expect(view.retries).toEqual([{ runId: retryId, status: "succeeded" }]);
    // the lock is free again, and the run that succeeded has nothing left to retry
    expect(await p.ledger.getRunLock(PIPELINE, new Date().toISOString())).toBeUndefined();
    expect((await postRetry(p, retryId)).status).toBe(422);
  });

  it("a retry of a retry that failed again starts where the retry stopped, and skips what either run succeeded in", async () => {
    const p = await startPlane({
      grouparoo: {
        outcomes: [
          { outcome: "failed", error: "Mailchimp said no" },
          { outcome: "failed", error: "Mailchimp said no again" },
        ],
      },
    });
    planes.push(p);
    const first = await p.startRun(PIPELINE, { kind: "manual" });
    await settle(p, first.runId);
    const second = await p.startRun(PIPELINE, { kind: "retry", retryOf: first.runId });
    const secondEnd = await settle(p, second.runId);
    expect(secondEnd.run).toMatchObject({
      status: "failed",
      trigger: { kind: "retry", retryOf: first.runId, fromStage: "sync" },
    });
    expect(eventLines(p.events, second.runId)).toEqual([
      "PipelineRunStarted",
      "StepStarted sync/mailchimp-audience",
      "StepFailed sync/mailchimp-audience",
      "PipelineRunFailed",
    ]);
    const third = await p.startRun(PIPELINE, { kind: "retry", retryOf: second.runId });
    const thirdEnd = await settle(p, third.runId);
    expect(thirdEnd.run).toMatchObject({
      status: "succeeded",
      trigger: { kind: "retry", retryOf: second.runId, fromStage: "sync" },
    });
    expect(thirdEnd.run?.stages?.filter((stage) => stage.skipped).map((stage) => stage.name)).toEqual([
      "ingest",
      "transform",
    ]);
  });
});
