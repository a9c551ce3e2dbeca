import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TapestryEvent } from "@tapestry/core";
import { DEADLINE_MARGIN_MS, type PipelineRunFunction, taskResources } from "@tapestry/core/pipeline";
import { type ControlPlane, REPO_ROOT, startControlPlane } from "@tapestry/local";
import { parseScenario } from "@tapestry/local/sandboxes";
import { afterEach, describe, expect, it } from "vitest";
import { readCsv, SALESFORCE_CSV, ZOOM_CSV } from "../local/warehouse/kickstart-data";
import { eventLines, FAST_TOOLS, kickstartConfig } from "./harness";

/**
 * Tools misbehaving on aws-local-stepfunctions with the real handlers, ASL and sandboxes: hanging
 * past a task's deadline, failing polls. The task functions get a short timeout (their deadline
 * is that less DEADLINE_MARGIN_MS, as on AWS), so a hang of a few seconds outlives an invocation.
 */

/** What each tool-facing invocation may spend on the tools: 2 s. */
const TOOL_BUDGET_MS = 2_000;
const SHORT: Partial<Record<PipelineRunFunction, number>> = {
  StartStepFunctionArn: DEADLINE_MARGIN_MS + TOOL_BUDGET_MS,
  PollStepFunctionArn: DEADLINE_MARGIN_MS + TOOL_BUDGET_MS,
  CancelStepFunctionArn: DEADLINE_MARGIN_MS + TOOL_BUDGET_MS,
};
/** Longer than any budget: the answer comes after the invocation has given up. */
const HANG_MS = 10_000;

/** Every Task state of the definition: their Retry pauses shrink to 10 ms. */
const TASK_STATES = [
  ...taskResources(
    JSON.parse(readFileSync(join(REPO_ROOT, "state-machines", "pipeline-run.asl.json"), "utf8")),
  ).keys(),
];

interface Plane extends ControlPlane {
  readonly events: TapestryEvent[];
}

const planes: { plane: ControlPlane; stateDir: string }[] = [];
afterEach(async () => {
  for (const { plane, stateDir } of planes.splice(0)) {
    await plane.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
});

async function plane(
  airbyte: Record<string, unknown>,
  dbtCloud: Record<string, unknown> = {},
): Promise<Plane> {
  const stateDir = mkdtempSync(join(tmpdir(), "tapestry-deadline-"));
  const events: TapestryEvent[] = [];
  const started = await startControlPlane({
    config: kickstartConfig(),
    repoRoot: REPO_ROOT,
    stateDir,
    port: 0,
    scenario: parseScenario({
      ...FAST_TOOLS,
      airbyte: { ...FAST_TOOLS.airbyte, ...airbyte },
      "dbt-cloud": { ...FAST_TOOLS["dbt-cloud"], ...dbtCloud },
    }),
    schedule: false,
    settings: { queueWaitSeconds: 1 },
    onEvent: (event) => {
      events.push(event);
    },
    waitTimeOverrides: { WaitForJob: 25, WaitForRunLock: 25 },
    retryIntervalOverrides: Object.fromEntries(TASK_STATES.map((state) => [state, 10])),
    functionTimeoutOverrides: SHORT,
  });
  planes.push({ plane: started, stateDir });
  return { ...started, events };
}

async function runOnce(p: Plane) {
  const started = await p.startRun("rain-shield-audience", { kind: "manual" });
  const outcome = await started.execution?.outcome;
  await p.idle();
  return {
    runId: started.runId,
    outcome,
    states: started.execution?.statesEntered() ?? [],
    run: await p.ledger.getRun(started.runId),
  };
}

/** The kickstart's rows: both syncs, the e-mail model's 58 and the audience's 58. */
const KICKSTART_ROWS = readCsv(ZOOM_CSV).length + readCsv(SALESFORCE_CSV).length + 58 + 58;

const triggersPerConnection = (p: Plane) => {
  const counts: Record<string, number> = {};
  for (const t of p.sandboxes.airbyte.traffic.filter((e) => e.operation === "createJob")) {
    const id = String((t.request.body as { connectionId?: unknown }).connectionId);
    counts[id] = (counts[id] ?? 0) + 1;
  }
  return Object.values(counts);
};

describe("a tool that hangs past the invocation's deadline", () => {
  it("a trigger that hangs after creating the job: the step adopts that job, one trigger, the run completes", async () => {
    const p = await plane({ rules: [{ on: "createJob", calls: [1], process: true, latencyMs: HANG_MS }] });
    const { runId, outcome, states, run } = await runOnce(p);

    expect(outcome?.status).toBe("SUCCEEDED");
    // StartStep gave up at its deadline with ToolTriggerUncertainError; the step was started again in adopt mode.
    expect(states.filter((s) => s === "AdoptOrStartStep")).toHaveLength(1);
    expect(triggersPerConnection(p)).toEqual([1, 1]);
    expect(p.sandboxes.airbyte.counters).toEqual({ triggers: 2, jobsCreated: 2 });
    const adopted = p.events.filter(
      (e) => e["detail-type"] === "StepStarted" && e.detail.data.runId === runId && e.detail.data.attached,
    );
    expect(adopted).toHaveLength(1);
    expect(eventLines(p.events, runId).filter((l) => l.startsWith("StepFailed"))).toEqual([]);
    expect(run).toMatchObject({ status: "succeeded", rows: KICKSTART_ROWS });
  });

  it.each([
    // nothing was sent yet: StartStep itself is retried, nothing to adopt
    ["a token request", "createAccessToken", "AdoptOrStartStep"],
    // a read: PollStep is retried instead of abandoning (and cancelling) the job
    ["a poll", "getJob", "CancelAbandonedJob"],
  ])(
    "%s that hangs: the task retries as ToolUnavailableError, one trigger per step",
    async (_what, operation, never) => {
      const p = await plane({ rules: [{ on: operation, calls: [1], latencyMs: HANG_MS }] });
      const { outcome, states, run } = await runOnce(p);

      expect(outcome?.status).toBe("SUCCEEDED");
      expect(states).not.toContain(never);
      expect(states).not.toContain("StepErrored");
      expect(
        p.sandboxes.airbyte.traffic.filter((t) => t.operation === operation).length,
      ).toBeGreaterThanOrEqual(2);
      expect(triggersPerConnection(p)).toEqual([1, 1]);
      expect(run).toMatchObject({ status: "succeeded", rows: KICKSTART_ROWS });
    },
  );
});

describe("a job that finished while its polls kept failing", () => {
  it("the cancel of the abandoned job finds it succeeded: the step keeps its outcome and the model's 58 rows", async () => {
    // every read of the dbt run fails; the run itself succeeds (run_results.json says 58 rows)
    const p = await plane({}, { rules: [{ on: "getRun", from: 1, respond: { status: 503 } }] });
    const { runId, outcome, states, run } = await runOnce(p);

    expect(states).toContain("CancelAbandonedJob");
    expect(outcome?.status).toBe("SUCCEEDED");
    expect(run?.steps.find((s) => s.step === "email-model")).toMatchObject({ status: "succeeded", rows: 58 });
    // 143 before: the e-mail model's rows were lost with the cancel's answer
    expect(run).toMatchObject({ status: "succeeded", rows: KICKSTART_ROWS });
    expect(eventLines(p.events, runId)).toContain("StepSucceeded transform/email-model");
  });
});
