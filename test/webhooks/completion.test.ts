import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { Logger, TapestryEvent } from "@tapestry/core";
import type { TaskHandler } from "@tapestry/local/runner";
import { afterEach, describe, expect, it } from "vitest";
import { eventLines, fastClock, kickstartConfig, type Plane, startPlane } from "../state-machines/harness";

/**
 * Webhook completion end to end, on aws-local-stepfunctions with the real ASL, the real handlers
 * and the sandboxes: each sandbox posts its tool's real completion webhook (dbt Cloud's signed) to
 * the local API where the control plane registered it at start, scripted per job.
 */

/** the kickstart's Zoom connection, by name: its id is the one provisioning got from the sandbox */
const ZOOM = "zoom-webinar-registrants";
const PIPELINE = "rain-shield-audience";

const planes: Plane[] = [];
afterEach(async () => {
  await Promise.all(planes.splice(0).map((p) => p.stop()));
});

async function plane(...args: Parameters<typeof startPlane>): Promise<Plane> {
  const p = await startPlane(...args);
  planes.push(p);
  return p;
}

async function runOnce(p: Plane) {
  const started = await p.startRun(PIPELINE, { kind: "manual" });
  const outcome = await started.execution?.outcome;
  await p.idle();
  return {
    runId: started.runId,
    outcome,
    states: started.execution?.statesEntered() ?? [],
    run: await p.ledger.getRun(started.runId),
  };
}

/** What the task-token store holds about each job of the run (read straight from the ledger's file). */
function tokenRows(p: Plane, runId: string) {
  const started = p.events.filter(
    (e): e is Extract<TapestryEvent, { "detail-type": "StepStarted" }> =>
      e["detail-type"] === "StepStarted" && e.detail.data.runId === runId,
  );
  const db = new DatabaseSync(join(p.stateDir, "ledger.sqlite"), { readOnly: true });
  try {
    return Object.fromEntries(
      started.map((e) => [
        e.detail.data.step,
        db
          .prepare("SELECT * FROM task_tokens WHERE tool = ? AND external_id = ?")
          .get(e.detail.data.tool, e.detail.data.externalId) as Record<string, unknown> | undefined,
      ]),
    );
  } finally {
    db.close();
  }
}

/** How often each sandbox was asked for a job's status (a poll, confirming or fallback). */
const reads = (p: Plane) => ({
  airbyte: p.sandboxes.airbyte.traffic.filter((t) => t.operation === "getJob").length,
  dbt: p.sandboxes.dbtCloud.traffic.filter((t) => t.operation === "getRun").length,
});

/**
 * The fallback polls of each stage (ingest, transform, sync): stages run one after the other, so the
 * states entered between one RunStageSteps and the next are that stage's (its steps interleaved).
 */
function pollsByStage(states: readonly string[]) {
  const stages: string[][] = [];
  for (const state of states) {
    if (state === "RunStageSteps") stages.push([]);
    else stages.at(-1)?.push(state);
  }
  const count = (stage: string[] | undefined, name: string) => (stage ?? []).filter((s) => s === name).length;
  return {
    ingest: { waits: count(stages[0], "WaitForWebhook"), polls: count(stages[0], "PollStep") },
    transform: { waits: count(stages[1], "WaitForWebhook"), polls: count(stages[1], "PollStep") },
  };
}

function recordingLogger(): Logger & { readonly lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (message: string, attributes?: Record<string, unknown>) => {
    lines.push(`${level} ${message} ${JSON.stringify(attributes ?? {})}`);
  };
  return { lines, debug: () => undefined, info: log("INFO"), warn: log("WARN"), error: log("ERROR") };
}

describe("a step waiting for its job's webhook", () => {
  it("completes when the webhook comes: one confirming poll per job, no fallback poll", async () => {
    const p = await plane({}, { webhooks: { sandboxFallbackPollSeconds: 60 } });
    expect(p.webhookRegistrations.map((r) => [r.tool, r.outcome])).toEqual([
      ["airbyte", "registered"],
      ["dbt-cloud", "registered"],
    ]);
    const { runId, run, states } = await runOnce(p);

    expect(run?.status).toBe("succeeded");
    // three webhook steps, each wait ended by its webhook's result: no fallback poll
    expect(pollsByStage(states)).toEqual({
      ingest: { waits: 2, polls: 0 },
      transform: { waits: 1, polls: 0 },
    });
    expect(reads(p)).toEqual({ airbyte: 2, dbt: 1 });
    const delivered = [...p.sandboxes.airbyte.webhooks(), ...p.sandboxes.dbtCloud.webhooks()];
    expect(delivered.map((w) => w.status)).toEqual([202, 202, 202]);
    const rows = tokenRows(p, runId);
    for (const step of ["zoom-webinar-registrants", "salesforce-contacts", "email-model"]) {
      expect(rows[step], step).toMatchObject({ deliveries: 1 });
      expect(rows[step]?.done_token, step).toBe(rows[step]?.token);
    }
  });

  it("completes at the fallback poll when its webhook is dropped, and says so", async () => {
    const logger = recordingLogger();
    const p = await plane(
      { airbyte: { webhooks: [{ for: ZOOM, drop: true }] } },
      { webhooks: { sandboxFallbackPollSeconds: 1, logger } },
    );
    const { runId, run, states } = await runOnce(p);

    expect(run?.status).toBe("succeeded");
    expect(pollsByStage(states).ingest.polls).toBeGreaterThanOrEqual(1);
    const zoomId = [...p.sandboxes.airbyte.configuration.connections.values()].find(
      (c) => c.name === ZOOM,
    )?.connectionId;
    expect(zoomId).toBeDefined();
    expect(p.sandboxes.airbyte.webhooks().map((w) => w.key)).not.toContain(zoomId);
    expect(tokenRows(p, runId)["zoom-webinar-registrants"]?.deliveries).toBe(0);
    expect(logger.lines.filter((line) => line.includes("saw its job end at the fallback poll"))).toEqual([
      expect.stringContaining('"step":"zoom-webinar-registrants"'),
    ]);
  });

  it("completes once when its webhook comes three times", async () => {
    const p = await plane(
      { "dbt-cloud": { webhooks: [{ copies: 3 }] } },
      { webhooks: { sandboxFallbackPollSeconds: 60 } },
    );
    const { runId, run } = await runOnce(p);

    expect(run?.status).toBe("succeeded");
    expect(p.sandboxes.dbtCloud.webhooks().map((w) => w.status)).toEqual([202, 202, 202]);
    expect(eventLines(p.events, runId).filter((line) => line.endsWith("transform/email-model"))).toEqual([
      "StepStarted transform/email-model",
      "StepSucceeded transform/email-model",
    ]);
    // one confirming poll: the copies after it found the token completed
    expect(reads(p).dbt).toBe(1);
    expect(p.sandboxes.grouparoo.counters.triggers).toBe(1);
    expect(tokenRows(p, runId)["email-model"]?.deliveries).toBe(3);
  });

  it("refuses a forged dbt Cloud webhook (a wrong signature) and records nothing; the fallback poll ends the step", async () => {
    const p = await plane(
      { "dbt-cloud": { webhooks: [{ forge: true }] } },
      { webhooks: { sandboxFallbackPollSeconds: 1 } },
    );
    const { runId, run, states } = await runOnce(p);

    // dbt Cloud retries a refused delivery (5 times): each one is refused
    const deliveries = p.sandboxes.dbtCloud.webhooks();
    expect(deliveries.length).toBeGreaterThanOrEqual(2);
    expect(new Set(deliveries.map((w) => `${w.forged} ${w.status}`))).toEqual(new Set(["true 401"]));
    const row = tokenRows(p, runId)["email-model"];
    expect(row).toMatchObject({ deliveries: 0, delivered_at: null });
    expect(pollsByStage(states).transform.polls).toBeGreaterThanOrEqual(1);
    expect(run?.status).toBe("succeeded");
  });

  it("ends failed when the webhook says success but the job says it failed: the confirming poll decides", async () => {
    const p = await plane(
      { "dbt-cloud": { outcomes: [{ outcome: "failed" }], webhooks: [{ claim: "succeeded" }] } },
      { webhooks: { sandboxFallbackPollSeconds: 60 } },
    );
    const { run, states } = await runOnce(p);

    expect(p.sandboxes.dbtCloud.webhooks()).toMatchObject([{ claim: "succeeded", status: 202 }]);
    expect(run?.status).toBe("failed");
    expect(run?.steps.find((s) => s.step === "email-model")).toMatchObject({
      status: "failed",
      reason: "failed",
      error: expect.stringContaining("errored"),
    });
    // the webhook's delivery ended the wait (no fallback poll): with the poll's verdict, not its claim
    expect(pollsByStage(states).transform).toEqual({ waits: 1, polls: 0 });
  });

  it("completes at once when the webhook came before the step registered its task token", async () => {
    // WaitForWebhook's function is held back 500 ms; the Airbyte jobs end (and post) within 200 ms
    const late =
      (real: TaskHandler): TaskHandler =>
      async (input) => {
        await new Promise((resolve) => setTimeout(resolve, 500));
        return real(input);
      };
    const p = await plane(
      {},
      { webhooks: { sandboxFallbackPollSeconds: 60, taskHandlerWraps: { AwaitWebhookFunctionArn: late } } },
    );
    const { runId, run, states } = await runOnce(p);

    expect(run?.status).toBe("succeeded");
    expect(pollsByStage(states).ingest).toEqual({ waits: 2, polls: 0 });
    const rows = tokenRows(p, runId);
    for (const step of ["zoom-webinar-registrants", "salesforce-contacts"]) {
      const row = rows[step];
      expect(String(row?.delivered_at) < String(row?.registered_at), step).toBe(true);
      expect(row?.done_token, step).toBe(row?.token);
    }
  });

  it("still times out: the wait ends at the deadline, the fallback poll sees it passed, the job is cancelled", async () => {
    const config = kickstartConfig((c) => {
      const step = c.pipelines[0]?.stages[0]?.steps[0];
      if (step) step.timeoutMinutes = 1;
    });
    const p = await plane(
      { airbyte: { outcomes: [{ for: ZOOM, outcome: "stuck" }] } },
      { config, now: fastClock(600), webhooks: { sandboxFallbackPollSeconds: 2 } },
    );
    const { runId, run, states } = await runOnce(p);

    expect(states).toEqual(expect.arrayContaining(["WaitForWebhook", "PollStep", "CancelTimedOutJob"]));
    expect(p.sandboxes.airbyte.traffic.filter((t) => t.operation === "cancelJob")).toHaveLength(1);
    expect(run?.steps.find((s) => s.step === "zoom-webinar-registrants")).toMatchObject({
      status: "failed",
      reason: "timeout",
    });
    expect(run?.status).toBe("failed");
    expect(tokenRows(p, runId)["zoom-webinar-registrants"]?.done_token).toBeNull();
  });
});
