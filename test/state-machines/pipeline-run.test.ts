import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { projectRun } from "@tapestry/core/ledger";
import {
  DEFAULT_PIPELINE_SETTINGS,
  definitionTimeoutSeconds,
  fillPipelineRunDefinition,
  PIPELINE_RUN_FUNCTIONS,
  type PipelineRunFunction,
} from "@tapestry/core/pipeline";
import { REPO_ROOT, startControlPlane } from "@tapestry/local";
import { SqliteRunLedger } from "@tapestry/local/ledger";
import { parseScenario } from "@tapestry/local/sandboxes";
import aslValidator from "asl-validator";
import { afterEach, describe, expect, it } from "vitest";
import { normaliseEmail, readCsv, SALESFORCE_CSV, ZOOM_CSV } from "../local/warehouse/kickstart-data";
import { eventLines, fastClock, kickstartConfig, type Plane, startPlane } from "./harness";

const planes: Plane[] = [];
afterEach(async () => {
  await Promise.all(planes.splice(0).map((p) => p.stop()));
});

async function plane(...args: Parameters<typeof startPlane>): Promise<Plane> {
  const p = await startPlane(...args);
  planes.push(p);
  return p;
}

async function runOnce(p: Plane, pipeline = "rain-shield-audience") {
  const started = await p.startRun(pipeline, { kind: "manual" });
  const outcome = await started.execution?.outcome;
  await p.idle();
  return { runId: started.runId, outcome, run: await p.ledger.getRun(started.runId) };
}

const INGEST = ["ingest/zoom-webinar-registrants", "ingest/salesforce-contacts"];

describe("state-machines/pipeline-run.asl.json", () => {
  it("filled as the deploy fills it, is a valid Amazon States Language definition (asl-validator)", () => {
    const runTimeoutSeconds = definitionTimeoutSeconds(
      kickstartConfig().pipelines,
      DEFAULT_PIPELINE_SETTINGS,
    );
    const definition = JSON.parse(
      fillPipelineRunDefinition(
        readFileSync(join(REPO_ROOT, "state-machines", "pipeline-run.asl.json"), "utf8"),
        {
          functionArns: Object.fromEntries(
            PIPELINE_RUN_FUNCTIONS.map((fn) => [
              fn,
              `arn:aws:lambda:us-east-1:123456789012:function:tapestry-test-${fn}`,
            ]),
          ) as Record<PipelineRunFunction, string>,
          runTimeoutSeconds,
        },
      ),
    );
    expect(definition.TimeoutSeconds).toBe(runTimeoutSeconds);
    const { isValid, errorsText } = aslValidator(definition);
    expect(errorsText("\n")).toBe("");
    expect(isValid).toBe(true);
  });
});

describe("a kickstart run on aws-local-stepfunctions with the real handlers and sandboxes", () => {
  it("succeeds: events in stage order, ledger = events, audience = unique normalised e-mails", async () => {
    const p = await plane();
    const { runId, outcome, run } = await runOnce(p);
    expect(outcome?.status).toBe("SUCCEEDED");

    const lines = eventLines(p.events, runId);
    expect(lines[0]).toBe("PipelineRunStarted");
    expect(lines.slice(1, 5).sort()).toEqual(
      INGEST.flatMap((s) => [`StepStarted ${s}`, `StepSucceeded ${s}`]).sort(),
    );
    expect(lines.slice(5)).toEqual([
      "StepStarted transform/email-model",
      "StepSucceeded transform/email-model",
      "StepStarted sync/mailchimp-audience",
      "StepSucceeded sync/mailchimp-audience",
      "PipelineRunSucceeded",
    ]);

    // The ledger is exactly the projection of the run's events, and says what they say.
    const stored = await p.ledger.listEvents(runId);
    expect(stored).toHaveLength(lines.length);
    expect(run).toEqual(projectRun(stored));
    const rows = Object.fromEntries(run?.steps.map((s) => [s.step, s.rows]) ?? []);
    expect(run?.status).toBe("succeeded");
    expect(rows).toEqual({
      "zoom-webinar-registrants": readCsv(ZOOM_CSV).length,
      "salesforce-contacts": readCsv(SALESFORCE_CSV).length,
      // dbt Cloud's row count comes from the run's run_results.json (rows the model wrote)
      "email-model": 58,
      "mailchimp-audience": 58,
    });
    expect(run?.rows).toBe(readCsv(ZOOM_CSV).length + readCsv(SALESFORCE_CSV).length + 58 + 58);
    for (const step of run?.steps ?? []) {
      const started = p.events.find(
        (e) =>
          e["detail-type"] === "StepStarted" &&
          e.detail.data.step === step.step &&
          e.detail.data.runId === runId,
      );
      expect(step.externalId).toBe(
        started?.["detail-type"] === "StepStarted" ? started.detail.data.externalId : "",
      );
    }

    const audience = JSON.parse(
      readFileSync(join(p.stateDir, "exports", "mailchimp-audience.json"), "utf8"),
    ) as {
      email: string;
    }[];
    const expected = new Set(
      [...readCsv(ZOOM_CSV), ...readCsv(SALESFORCE_CSV)].map((r) => normaliseEmail(r.email)).filter(Boolean),
    );
    expect(audience.map((a) => a.email).sort()).toEqual([...expected].sort());
    expect(new Set(audience.map((a) => a.email)).size).toBe(audience.length);

    expect(await p.ledger.getRunLock("rain-shield-audience", new Date().toISOString())).toBeUndefined();
    expect(p.sandboxes.airbyte.counters.jobsCreated).toBe(2);
  });

  it("a failed step fails the run; later stages never start; the lock is released", async () => {
    const p = await plane({
      "dbt-cloud": { outcomes: [{ outcome: "failed", error: "relation raw.zoom does not exist" }] },
    });
    const { runId, outcome, run } = await runOnce(p);
    // Give a (wrongly) started later stage time to show itself: the Grouparoo job it would trigger.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(outcome).toMatchObject({ status: "FAILED", error: "PipelineRunFailed" });
    expect(eventLines(p.events, runId).slice(-2)).toEqual([
      "StepFailed transform/email-model",
      "PipelineRunFailed",
    ]);
    expect(run).toMatchObject({ status: "failed", failedSteps: ["email-model"] });
    expect(run?.steps.find((s) => s.step === "email-model")).toMatchObject({
      status: "failed",
      reason: "failed",
      error: expect.stringContaining("relation raw.zoom does not exist"),
    });
    expect(run?.steps.some((s) => s.step === "mailchimp-audience")).toBe(false);
    expect(p.sandboxes.grouparoo.counters.triggers).toBe(0);
    expect(await p.ledger.getRunLock("rain-shield-audience", new Date().toISOString())).toBeUndefined();
  });

  it("a step past its timeout has its job cancelled and fails with reason timeout; its sibling finishes", async () => {
    const config = kickstartConfig((c) => {
      const step = c.pipelines[0]?.stages[0]?.steps[0];
      if (step) step.timeoutMinutes = 1;
    });
    // 600x: the one-minute timeout passes in a tenth of a second of real time.
    const p = await plane(
      { airbyte: { outcomes: [{ for: "zoom-webinar-registrants", outcome: "stuck" }] } },
      {
        config,
        now: fastClock(600),
      },
    );
    const { runId, run } = await runOnce(p);
    const cancels = p.sandboxes.airbyte.traffic.filter((t) => t.operation === "cancelJob");
    expect(cancels).toHaveLength(1);
    expect(
      p.sandboxes.airbyte
        .jobs()
        .map((j) => j.status)
        .sort(),
    ).toEqual(["cancelled", "succeeded"]);
    const failed = p.events.find((e) => e["detail-type"] === "StepFailed" && e.detail.data.runId === runId);
    expect(failed?.detail.data).toMatchObject({
      step: "zoom-webinar-registrants",
      reason: "timeout",
      error: expect.stringContaining("timed out after 1 min"),
    });
    expect(run?.steps.find((s) => s.step === "salesforce-contacts")?.status).toBe("succeeded");
    expect(run?.status).toBe("failed");
    expect(p.sandboxes.dbtCloud.counters.triggers).toBe(0);
  });

  it("attaches to an Airbyte sync already running (409) instead of starting another", async () => {
    const p = await plane({
      airbyte: {
        // running from the sandboxes' start, through provisioning, into the run
        alreadyRunning: [{ connectionId: "zoom-webinar-registrants", remainingMs: 3000 }],
      },
    });
    const { runId, run } = await runOnce(p);
    expect(run?.status).toBe("succeeded");
    const zoom = p.events.find(
      (e) =>
        e["detail-type"] === "StepStarted" &&
        e.detail.data.runId === runId &&
        e.detail.data.step === "zoom-webinar-registrants",
    );
    expect(zoom?.detail.data).toMatchObject({ attached: true });
    expect(p.sandboxes.airbyte.counters).toEqual({ triggers: 2, jobsCreated: 1 });
  });

  it("an Airbyte job that goes incomplete and then succeeds is a success (polled: incomplete is still running)", async () => {
    const polled = kickstartConfig((c) => {
      for (const step of c.pipelines[0]?.stages[0]?.steps ?? []) Object.assign(step, { completion: "poll" });
    });
    const p = await plane(
      { airbyte: { outcomes: [{ outcome: "incomplete-then-succeeded", incompleteMs: 80 }] } },
      { config: polled },
    );
    const { run } = await runOnce(p);
    expect(run?.status).toBe("succeeded");
    const statuses = p.sandboxes.airbyte.traffic
      .filter((t) => t.operation === "getJob")
      .map((t) => (t.response?.body as { status?: string } | undefined)?.status);
    expect(statuses).toContain("incomplete");
  });

  it("a 0-row 'success' fails a step that has minRows", async () => {
    const p = await plane({
      airbyte: {
        outcomes: [{ for: "salesforce-contacts", outcome: "succeeded", rows: 0, bytes: 0 }],
      },
    });
    const { run } = await runOnce(p);
    expect(run?.status).toBe("failed");
    expect(run?.steps.find((s) => s.step === "salesforce-contacts")).toMatchObject({
      status: "failed",
      reason: "min-rows",
      rows: 0,
    });
  });

  it("an overlapping scheduled run is skipped (overlap: skip) without touching any tool; a manual one is refused", async () => {
    const p = await plane({ airbyte: { defaults: { queuedMs: 20, durationMs: 600 } } });
    const first = await p.startRun("rain-shield-audience", { kind: "manual" });
    await new Promise((resolve) => setTimeout(resolve, 200));
    // a manual start is refused up front, by the same core path as on AWS (409 run-active)
    await expect(p.startRun("rain-shield-audience", { kind: "manual" })).rejects.toMatchObject({
      name: "RunActiveError",
      activeRunId: first.runId,
    });
    // a schedule's fire is not asked: its run starts, finds the lock held, and is skipped
    const second = await p.startRun("rain-shield-audience", {
      kind: "schedule",
      scheduledTime: "2026-11-21T11:00:00.000Z",
    });
    await p.idle();
    expect(eventLines(p.events, second.runId)).toEqual(["PipelineRunSkipped"]);
    expect(await p.ledger.getRun(second.runId)).toMatchObject({
      status: "skipped",
      activeRunId: first.runId,
    });
    expect(p.sandboxes.airbyte.counters.triggers).toBe(2);
    expect((await p.ledger.getRun(first.runId))?.status).toBe("succeeded");
  });

  it("with overlap: queue, the second run waits for the first, then runs", async () => {
    const config = kickstartConfig((c) => {
      const pipeline = c.pipelines[0];
      if (pipeline) pipeline.overlap = "queue";
    });
    const p = await plane({ airbyte: { defaults: { queuedMs: 20, durationMs: 400 } } }, { config });
    const first = await p.startRun("rain-shield-audience", { kind: "manual" });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = await p.startRun("rain-shield-audience", { kind: "manual" });
    await p.idle();
    const [a, b] = [await p.ledger.getRun(first.runId), await p.ledger.getRun(second.runId)];
    expect([a?.status, b?.status]).toEqual(["succeeded", "succeeded"]);
    expect(Date.parse(b?.startedAt ?? "")).toBeGreaterThanOrEqual(Date.parse(a?.endedAt ?? ""));
    expect(p.sandboxes.airbyte.counters.jobsCreated).toBe(4);
  });

  it("a duplicate delivery of the same scheduled fire starts one run", async () => {
    const p = await plane();
    const scheduledTime = "2026-11-21T11:00:00.000Z";
    const [one, two] = await Promise.all([
      p.startRun("rain-shield-audience", { kind: "schedule", scheduledTime }),
      p.startRun("rain-shield-audience", { kind: "schedule", scheduledTime }),
    ]);
    await p.idle();
    expect(one.runId).toBe("rain-shield-audience-20261121T110000Z");
    expect(two.runId).toBe(one.runId);
    expect([one.execution, two.execution].filter(Boolean)).toHaveLength(1);
    const again = await p.startRun("rain-shield-audience", { kind: "schedule", scheduledTime });
    expect(again.execution).toBeUndefined();
    expect((await p.ledger.listRuns("rain-shield-audience", { limit: 10 })).runs).toHaveLength(1);
    expect(p.sandboxes.airbyte.counters.jobsCreated).toBe(2);
  });

  it("absorbs transient 5xx and 429 answers, in the HTTP client and in the state machine's Retry", async () => {
    const p = await plane({
      airbyte: {
        rules: [
          { on: "createJob", calls: [1], respond: { status: 429, retryAfterSeconds: 1 } },
          // more 503s than the HTTP client's 5 attempts: the PollStep task fails and the ASL retries it
          { on: "getJob", calls: [1, 2, 3, 4, 5, 6], respond: { status: 503 } },
        ],
      },
      "dbt-cloud": { rules: [{ on: "getRun", calls: [1, 2], respond: { status: 502 } }] },
      grouparoo: { rules: [{ on: "getRun", calls: [1], respond: { status: 429 } }] },
    });
    const { run } = await runOnce(p);
    expect(run?.status).toBe("succeeded");
    expect(p.sandboxes.airbyte.counters.jobsCreated).toBe(2);
    expect(p.sandboxes.dbtCloud.counters.jobsCreated).toBe(1);
    expect(p.sandboxes.grouparoo.counters.jobsCreated).toBe(1);
  });

  it("a step whose credentials are refused fails with the error, and the run fails", async () => {
    const p = await plane({
      grouparoo: { rules: [{ on: "listScheduleRuns", from: 1, respond: { status: 401 } }] },
    });
    const { run } = await runOnce(p);
    expect(run?.status).toBe("failed");
    expect(run?.steps.find((s) => s.step === "mailchimp-audience")).toMatchObject({
      status: "failed",
      reason: "error",
      error: expect.stringContaining("ToolAuthError"),
    });
    expect(p.sandboxes.grouparoo.counters.triggers).toBe(0);
  });
});

describe("stopping the embedded control plane mid-run", () => {
  it("marks the run failed (aborted) and releases its lock, so a restart is not blocked", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "tapestry-stop-"));
    try {
      const p = await startControlPlane({
        config: kickstartConfig(),
        repoRoot: REPO_ROOT,
        stateDir,
        port: 0,
        schedule: false,
        scenario: parseScenario({ airbyte: { outcomes: [{ outcome: "stuck" }, { outcome: "stuck" }] } }),
        waitTimeOverrides: { WaitForJob: 25 },
      });
      const { runId } = await p.startRun("rain-shield-audience", { kind: "manual" });
      for (let i = 0; i < 100 && (await p.ledger.getRun(runId))?.steps.length !== 2; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await p.stop();

      const ledger = SqliteRunLedger.open(join(stateDir, "ledger.sqlite"));
      try {
        const run = await ledger.getRun(runId);
        expect(run).toMatchObject({ status: "failed", error: expect.stringContaining("aborted") });
        expect(await ledger.getRunLock("rain-shield-audience", new Date().toISOString())).toBeUndefined();
      } finally {
        ledger.close();
      }
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
