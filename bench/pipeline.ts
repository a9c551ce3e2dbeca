import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, type TapestryConfig, type TapestryEvent } from "@tapestry/core";
import { REPO_ROOT, startControlPlane } from "@tapestry/local";
import type { LocalExecution } from "@tapestry/local/runner";
import { parseScenario, type Scenario } from "@tapestry/local/sandboxes";
import kickstart from "../tapestry.config";
import { percentile } from "./stats";

/**
 * The pipeline as a whole on the embedded control plane (the real ASL on aws-local-stepfunctions,
 * the real handlers, sandboxes whose jobs take a fixed, scripted time):
 *
 * - step handoff latency: from a job turning terminal in its sandbox to the sandbox receiving the
 *   trigger of the next stage's job, at a 1 s and a 10 s poll interval;
 * - state transitions per run (what Standard workflows bill), against the formula from the ASL;
 * - wall time of `tapestry local --once` as a child process.
 *
 * Prints figures only; nothing here asserts a threshold.
 */

const PIPELINE = "rain-shield-audience";
const NODE = join(REPO_ROOT, "node_modules", ".bin", "node");
const CLI = join(REPO_ROOT, "packages", "cli", "bin", "tapestry.js");

/** State transitions of one kickstart run outside the poll loops (derived from the ASL, see docs/performance.md). */
const RUN_STATES = 7; // AcquireRunLock LockOutcome PublishRunStarted RunStages | PublishRunSucceeded ReleaseRunLock RunSucceeded
const STAGE_STATES = 4; // RunStageSteps StageOutcome StageHasFailures StageSucceeded
const STEP_STATES = 2; // StartStep StepSucceeded
const POLL_STATES = 3; // WaitForJob PollStep JobOutcome

const seconds = (msValue: number) => `${(msValue / 1000).toFixed(2)} s`;

function kickstartConfig(change?: (config: TapestryConfig) => void): TapestryConfig {
  const config = parseConfig(structuredClone(kickstart));
  change?.(config);
  return config;
}

/** Every job of a run takes `durationMs` from its trigger to its end: no queue, no dbt "starting" phase. */
function fixedDurations(config: TapestryConfig, durationsMs: readonly number[]): Scenario {
  const steps = config.pipelines[0]?.stages.flatMap((stage) => stage.steps) ?? [];
  // outcomes are used in the order the jobs are created: one entry per job of each run
  const entries = (tool: string, extra: Record<string, number> = {}) =>
    durationsMs.flatMap((durationMs) =>
      steps.filter((step) => step.tool === tool).map(() => ({ queuedMs: 0, durationMs, ...extra })),
    );
  return parseScenario({
    airbyte: { outcomes: entries("airbyte") },
    "dbt-cloud": { outcomes: entries("dbt-cloud", { startingMs: 0 }) },
    grouparoo: { outcomes: entries("grouparoo") },
  });
}

interface MeasuredRun {
  readonly execution: LocalExecution;
  readonly events: readonly TapestryEvent[];
}

interface PlaneRuns {
  readonly runs: readonly MeasuredRun[];
  /** terminal and trigger times of every sandbox job, by its external id */
  readonly jobs: ReadonlyMap<string, { readonly createdAt: number; readonly endedAt: number | undefined }>;
}

/** Runs the pipeline once per entry of `durationsMs`, one run after the other, on one control plane. */
async function runPlane(
  config: TapestryConfig,
  durationsMs: readonly number[],
  sandboxPollSeconds: number,
): Promise<PlaneRuns> {
  const stateDir = mkdtempSync(join(tmpdir(), "tapestry-bench-"));
  const events: TapestryEvent[] = [];
  const plane = await startControlPlane({
    config,
    repoRoot: REPO_ROOT,
    stateDir,
    port: 0,
    schedule: false,
    sandboxPollSeconds,
    scenario: fixedDurations(config, durationsMs),
    onEvent: (event) => events.push(event),
  });
  try {
    const runs: MeasuredRun[] = [];
    for (const _ of durationsMs) {
      const { runId, execution } = await plane.startRun(PIPELINE, { kind: "manual" });
      if (!execution) throw new Error(`run ${runId} did not start`);
      const outcome = await execution.outcome;
      await plane.idle();
      if (outcome.status !== "SUCCEEDED") throw new Error(`bench run ${runId} ended ${outcome.status}`);
      runs.push({ execution, events: events.filter((e) => e.detail.metadata.correlationId === runId) });
    }
    const jobs = new Map<string, { createdAt: number; endedAt: number | undefined }>();
    const time = (iso: string | null | undefined) => (iso ? Date.parse(iso) : undefined);
    for (const job of plane.sandboxes.airbyte.jobs()) {
      const terminal = ["succeeded", "failed", "cancelled"].includes(job.status);
      jobs.set(String(job.jobId), {
        createdAt: Date.parse(job.startTime),
        endedAt: terminal ? Date.parse(job.lastUpdatedAt) : undefined,
      });
    }
    for (const run of plane.sandboxes.dbtCloud.runs()) {
      jobs.set(String(run.id), {
        createdAt: Date.parse(run.created_at),
        endedAt: time(run.finished_at as string | undefined),
      });
    }
    for (const run of plane.sandboxes.grouparoo.runs()) {
      jobs.set(run.id, { createdAt: Date.parse(run.createdAt), endedAt: time(run.completedAt) });
    }
    return { runs, jobs };
  } finally {
    await plane.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

interface Handoff {
  /** job terminal in its sandbox -> the next stage's job triggered in its sandbox */
  readonly totalMs: number;
  /** job terminal -> the poll that saw it (StepSucceeded) */
  readonly pollWaitMs: number;
  /** the stage's last StepSucceeded -> the next stage's trigger: the state machine and the handlers */
  readonly engineMs: number;
}

function handoffs(plane: PlaneRuns): Handoff[] {
  const out: Handoff[] = [];
  for (const run of plane.runs) {
    const byStage = new Map<string, { externalId: string; succeededAt: number }[]>();
    const startedByStage = new Map<string, string[]>();
    const stageOrder: string[] = [];
    for (const event of run.events) {
      if (event["detail-type"] === "StepStarted") {
        const { stage, externalId } = event.detail.data;
        if (!stageOrder.includes(stage)) stageOrder.push(stage);
        startedByStage.set(stage, [...(startedByStage.get(stage) ?? []), externalId]);
      }
      if (event["detail-type"] === "StepSucceeded") {
        const { stage, externalId } = event.detail.data;
        const list = byStage.get(stage) ?? [];
        list.push({ externalId, succeededAt: Date.parse(event.detail.metadata.occurredAt) });
        byStage.set(stage, list);
      }
    }
    for (let i = 0; i + 1 < stageOrder.length; i++) {
      const done = byStage.get(stageOrder[i] ?? "") ?? [];
      const next = (startedByStage.get(stageOrder[i + 1] ?? "") ?? []).map(
        (id) => plane.jobs.get(id)?.createdAt,
      );
      const nextTrigger = Math.min(...next.filter((t): t is number => t !== undefined));
      const stageDone = Math.max(...done.map((d) => d.succeededAt));
      for (const step of done) {
        const endedAt = plane.jobs.get(step.externalId)?.endedAt;
        if (endedAt === undefined || !Number.isFinite(nextTrigger)) continue;
        out.push({
          totalMs: nextTrigger - endedAt,
          pollWaitMs: step.succeededAt - endedAt,
          engineMs: nextTrigger - stageDone,
        });
      }
    }
  }
  return out;
}

/**
 * Job lengths whose ends fall evenly over the poll clock (stratified): job i of n ends at
 * (i + 0.5)/n of an interval past a poll, the same for every job of a run and different from run to
 * run, so where a job ends relative to the polls is sampled as a real job's would be. With n odd
 * the median wait is exactly half an interval. A phase shorter than `minMs` gets one interval more,
 * so that no job is shorter than the work its warehouse runner does.
 */
function spreadOverInterval(runs: number, intervalMs: number, minMs = 250): number[] {
  return Array.from({ length: runs }, (_, i) => {
    const phase = Math.round((intervalMs * (i + 0.5)) / runs);
    return phase < minMs ? phase + intervalMs : phase;
  });
}

function describeHandoffs(label: string, sample: readonly Handoff[], runs: number): string[] {
  const total = sample.map((h) => h.totalMs);
  const wait = sample.map((h) => h.pollWaitMs);
  const engine = sample.map((h) => h.engineMs);
  const mean = total.reduce((a, b) => a + b, 0) / total.length;
  return [
    `step handoff at ${label} poll (${runs} runs, ${sample.length} handoffs): median ${seconds(percentile(total, 50))}, p95 ${seconds(percentile(total, 95))}, mean ${seconds(mean)}, min ${seconds(Math.min(...total))}, max ${seconds(Math.max(...total))}`,
    `  of which waiting for the poll that sees the end: median ${seconds(percentile(wait, 50))}; last StepSucceeded -> next trigger: median ${percentile(engine, 50).toFixed(0)} ms, p95 ${percentile(engine, 95).toFixed(0)} ms`,
  ];
}

export async function benchHandoff(): Promise<string[]> {
  const config = kickstartConfig();
  // 1 s: the shortest interval a Wait state can express; 11 runs one after the other
  const fastDurations = spreadOverInterval(11, 1_000);
  const fast = await runPlane(config, fastDurations, 1);
  // 10 s: 9 runs, on 3 control planes side by side (3 runs each) to keep the bench short
  const slowDurations = spreadOverInterval(9, 10_000);
  const slow = await Promise.all(
    [0, 1, 2].map((plane) =>
      runPlane(
        config,
        slowDurations.filter((_, i) => i % 3 === plane),
        10,
      ),
    ),
  );
  return [
    ...describeHandoffs("1 s", handoffs(fast), fast.runs.length),
    ...describeHandoffs(
      "10 s",
      slow.flatMap((p) => handoffs(p)),
      slow.reduce((n, p) => n + p.runs.length, 0),
    ),
    ...transitionLines(
      `1 s poll, jobs ${seconds(Math.min(...fastDurations))}-${seconds(Math.max(...fastDurations))}`,
      fast.runs,
    ),
  ];
}

/** Measured transitions of the runs, and the ASL's fixed part checked against them. */
function transitionLines(label: string, runs: readonly MeasuredRun[], predicted?: number): string[] {
  const counts = runs.map((r) => r.execution.transitions());
  const polls = runs.map((r) => r.execution.statesEntered().filter((s) => s === "PollStep").length);
  const fixed = counts.map((c, i) => c - POLL_STATES * (polls[i] ?? 0));
  const unique = (values: number[]) => {
    const tally = new Map<number, number>();
    for (const v of values) tally.set(v, (tally.get(v) ?? 0) + 1);
    if (tally.size === 1) return String(values[0]);
    return [...tally].map(([v, n]) => `${v} (${n} runs)`).join(", ");
  };
  return [
    `transitions per run, ${label}: ${unique(counts)} measured${predicted === undefined ? "" : ` (formula: ${predicted})`}; polls ${unique(polls)}; outside the poll loops ${unique(fixed)}`,
  ];
}

/**
 * Transitions at the kickstart's poll intervals (30 s, 30 s, 15 s, 30 s) for jobs of 10 s and
 * about 60 s, with time scaled down 15x: the intervals become 2 s, 2 s, 1 s, 2 s (whole seconds,
 * so the real Wait states run unchanged) and the jobs 1/15 of their length. The count depends
 * only on how many polls each step makes, ceil(T/p), which scaling both T and p keeps.
 *
 * Not `waitTimeOverrides`: it sets one time per Wait state, and WaitForJob serves every step, so
 * it would poll the 15 s dbt step as often as the 30 s ones. A job ending exactly on a poll
 * (60 s at 30 s and 15 s intervals) races that poll, so the ~60 s case runs at 59 s and 61 s.
 */
export async function benchTransitions(): Promise<string[]> {
  const scale = 15;
  const config = kickstartConfig((c) => {
    for (const stage of c.pipelines[0]?.stages ?? [])
      for (const step of stage.steps) step.pollIntervalSeconds = step.pollIntervalSeconds / scale;
  });
  const steps = config.pipelines[0]?.stages.flatMap((s) => s.steps) ?? [];
  const stages = config.pipelines[0]?.stages.length ?? 0;
  const predict = (jobSeconds: number) =>
    RUN_STATES +
    STAGE_STATES * stages +
    steps.reduce(
      (n, step) => n + STEP_STATES + POLL_STATES * Math.ceil(jobSeconds / (step.pollIntervalSeconds * scale)),
      0,
    );
  const cases = [
    { label: "10 s jobs", jobSeconds: 10 },
    { label: "59 s jobs", jobSeconds: 59 },
    { label: "61 s jobs", jobSeconds: 61 },
  ];
  const planes = await Promise.all(
    cases.map((c) => runPlane(config, [Math.round((c.jobSeconds * 1000) / scale)], 2)),
  );
  return cases.flatMap((c, i) =>
    transitionLines(`${c.label} at the kickstart's intervals`, planes[i]?.runs ?? [], predict(c.jobSeconds)),
  );
}

interface CliTiming {
  /** spawn -> "status API at" (Node + tsx, config, ledger, warehouse, sandboxes, API up) */
  readonly startupMs: number;
  /** -> the summary table (the run itself) */
  readonly runMs: number;
  /** -> the process ended (servers, ledger and warehouse closed) */
  readonly shutdownMs: number;
  readonly totalMs: number;
  readonly code: number | null;
}

function timeCliOnce(): Promise<CliTiming> {
  const stateDir = mkdtempSync(join(tmpdir(), "tapestry-bench-cli-"));
  const env = { ...process.env };
  delete env.TAPESTRY_SANDBOX_SCENARIO;
  delete env.TAPESTRY_PORT;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let ready: number | undefined;
    let summary: number | undefined;
    let stdout = "";
    const child = spawn(NODE, [CLI, "local", "--once", "--port", "0", "--state-dir", stateDir], {
      cwd: REPO_ROOT,
      env,
      stdio: ["ignore", "pipe", "inherit"],
    });
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      if (ready === undefined && stdout.includes("status API at")) ready = performance.now();
      if (summary === undefined && /^pipeline\s+run\s+status/m.test(stdout)) summary = performance.now();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const ended = performance.now();
      rmSync(stateDir, { recursive: true, force: true });
      if (ready === undefined || summary === undefined) {
        reject(new Error(`tapestry local --once printed no summary (exit ${code}):\n${stdout}`));
        return;
      }
      resolve({
        startupMs: ready - started,
        runMs: summary - ready,
        shutdownMs: ended - summary,
        totalMs: ended - started,
        code,
      });
    });
  });
}

export async function benchCliOnce(times = 5): Promise<string[]> {
  const sample: CliTiming[] = [];
  for (let i = 0; i < times; i++) sample.push(await timeCliOnce());
  const median = (pick: (t: CliTiming) => number) => seconds(percentile(sample.map(pick), 50));
  const codes = [...new Set(sample.map((t) => t.code))].join("/");
  return [
    `tapestry local --once, kickstart, default sandbox timings (${times} runs, exit ${codes}): median ${median((t) => t.totalMs)} (min ${seconds(Math.min(...sample.map((t) => t.totalMs)))}, max ${seconds(Math.max(...sample.map((t) => t.totalMs)))})`,
    `  start-up (spawn -> status API up) ${median((t) => t.startupMs)}, run (-> summary) ${median((t) => t.runMs)}, shutdown (-> exit) ${median((t) => t.shutdownMs)}`,
  ];
}
