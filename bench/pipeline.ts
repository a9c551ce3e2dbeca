import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, type TapestryConfig, type TapestryEvent } from "@tapestry/core";
import { REPO_ROOT, startControlPlane } from "@tapestry/local";
import type { LocalExecution } from "@tapestry/local/runner";
import { parseScenario, type Scenario } from "@tapestry/local/sandboxes";
import kickstart from "../tapestry.config";
import { historyEvents, monthlyCost, runStates } from "./run-cost";
import { percentile } from "./stats";

/**
 * The pipeline as a whole on the embedded control plane (the real ASL on aws-local-stepfunctions,
 * the real handlers, sandboxes whose jobs take a fixed, scripted time):
 *
 * - step handoff latency: from a job turning terminal in its sandbox to the sandbox receiving the
 *   trigger of the next stage's job, with webhook completion and at a 10 s poll interval;
 * - state transitions and history events per run (what Standard workflows bill), polled and with
 *   webhook completion, against the formula from the ASL, with the month's cost;
 * - wall time of `tapestry local --once` as a child process.
 *
 * Prints figures only; nothing here asserts a threshold.
 */

const PIPELINE = "rain-shield-audience";
const NODE = join(REPO_ROOT, "node_modules", ".bin", "node");
const CLI = join(REPO_ROOT, "packages", "cli", "bin", "tapestry.js");

const seconds = (msValue: number) => `${(msValue / 1000).toFixed(2)} s`;

function kickstartConfig(change?: (config: TapestryConfig) => void): TapestryConfig {
  const config = parseConfig(structuredClone(kickstart));
  change?.(config);
  return config;
}

/** The kickstart with every step polled (the Airbyte and dbt Cloud steps wait for webhooks by default). */
const polled = (config: TapestryConfig) => {
  for (const stage of config.pipelines[0]?.stages ?? [])
    for (const step of stage.steps) Object.assign(step, { completion: "poll" });
};

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

/** A completion webhook as its sandbox sent it: the job's end, the post, the answer. */
interface Delivery {
  readonly endedAt: number;
  readonly sentAt: number;
  readonly answeredAt: number;
}

interface PlaneRuns {
  readonly runs: readonly MeasuredRun[];
  /** terminal and trigger times of every sandbox job, by its external id */
  readonly jobs: ReadonlyMap<string, { readonly createdAt: number; readonly endedAt: number | undefined }>;
  /** each job's first completion webhook, by its external id */
  readonly deliveries: ReadonlyMap<string, Delivery>;
}

interface PlaneSettings {
  /** steps on sandboxes poll at most this often */
  readonly pollSeconds: number;
  /** steps waiting for a webhook poll after at most this long without one */
  readonly fallbackSeconds?: number;
}

/** Runs the pipeline once per entry of `durationsMs`, one run after the other, on one control plane. */
async function runPlane(
  config: TapestryConfig,
  durationsMs: readonly number[],
  settings: PlaneSettings,
): Promise<PlaneRuns> {
  const stateDir = mkdtempSync(join(tmpdir(), "tapestry-bench-"));
  const events: TapestryEvent[] = [];
  const plane = await startControlPlane({
    config,
    repoRoot: REPO_ROOT,
    stateDir,
    port: 0,
    schedule: false,
    sandboxPollSeconds: settings.pollSeconds,
    ...(settings.fallbackSeconds ? { sandboxFallbackPollSeconds: settings.fallbackSeconds } : {}),
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
    const deliveries = new Map<string, Delivery>();
    for (const sent of [...plane.sandboxes.airbyte.webhooks(), ...plane.sandboxes.dbtCloud.webhooks()]) {
      if (deliveries.has(sent.jobId)) continue;
      deliveries.set(sent.jobId, {
        endedAt: sent.endedAt.getTime(),
        sentAt: sent.sentAt.getTime(),
        answeredAt: sent.answeredAt.getTime(),
      });
    }
    return { runs, jobs, deliveries };
  } finally {
    await plane.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

interface Handoff {
  /** job terminal in its sandbox -> the next stage's job triggered in its sandbox */
  readonly totalMs: number;
  /** job terminal -> the step's end announced (StepSucceeded): a poll, or the webhook's receiver */
  readonly noticeMs: number;
  /** the stage's last StepSucceeded -> the next stage's trigger: the state machine and the handlers */
  readonly engineMs: number;
  /** webhook completion: the job's end -> the webhook posted (the sandbox's part, not the control plane's) */
  readonly deliveryMs?: number;
  /** webhook completion: the webhook posted -> answered (record, confirming poll, SendTaskSuccess) */
  readonly receiverMs?: number;
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
        const delivery = plane.deliveries.get(step.externalId);
        out.push({
          totalMs: nextTrigger - endedAt,
          noticeMs: step.succeededAt - endedAt,
          engineMs: nextTrigger - stageDone,
          ...(delivery
            ? { deliveryMs: delivery.sentAt - endedAt, receiverMs: delivery.answeredAt - delivery.sentAt }
            : {}),
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

const median = (sample: readonly number[]) => percentile(sample, 50);

function describeHandoffs(label: string, sample: readonly Handoff[], runs: number): string[] {
  const total = sample.map((h) => h.totalMs);
  const mean = total.reduce((a, b) => a + b, 0) / total.length;
  const lines = [
    `step handoff, ${label} (${runs} runs, ${sample.length} handoffs): median ${seconds(median(total))}, p95 ${seconds(percentile(total, 95))}, mean ${seconds(mean)}, min ${seconds(Math.min(...total))}, max ${seconds(Math.max(...total))}`,
  ];
  const engine = sample.map((h) => h.engineMs);
  const notice = sample.map((h) => h.noticeMs);
  const delivery = sample.flatMap((h) => (h.deliveryMs === undefined ? [] : [h.deliveryMs]));
  const receiver = sample.flatMap((h) => (h.receiverMs === undefined ? [] : [h.receiverMs]));
  if (delivery.length > 0) {
    // the control plane's share: from the webhook's arrival to the next trigger
    const share = sample.map((h) => h.totalMs - (h.deliveryMs ?? 0));
    lines.push(
      `  the control plane's share (webhook received -> next trigger): median ${median(share).toFixed(0)} ms, p95 ${percentile(share, 95).toFixed(0)} ms; the sandbox's (job end -> webhook posted): median ${median(delivery).toFixed(0)} ms`,
      `  of which the receiver (record, confirming poll, StepSucceeded, SendTaskSuccess: webhook posted -> answered): median ${median(receiver).toFixed(0)} ms, p95 ${percentile(receiver, 95).toFixed(0)} ms; last StepSucceeded -> next trigger: median ${median(engine).toFixed(0)} ms, p95 ${percentile(engine, 95).toFixed(0)} ms`,
    );
  } else {
    lines.push(
      `  of which waiting for the poll that sees the end: median ${seconds(median(notice))}; last StepSucceeded -> next trigger: median ${median(engine).toFixed(0)} ms, p95 ${percentile(engine, 95).toFixed(0)} ms`,
    );
  }
  return lines;
}

/**
 * Handoff latency, webhook completion against a 10 s poll, side by side in one bench run on the
 * embedded control plane. Webhook: the kickstart as configured (Airbyte and dbt Cloud wait for
 * their webhooks; a fallback poll every 300 s, never reached), 11 runs one after the other. Poll:
 * every step polled every 10 s, 9 runs on 3 control planes side by side (a run takes about 30 s).
 * The handoffs are the two ends of the ingest stage's steps and the dbt step's end, each to the
 * next stage's trigger.
 */
export async function benchHandoff(): Promise<string[]> {
  const webhookDurations = spreadOverInterval(11, 1_000);
  const pollDurations = spreadOverInterval(9, 10_000);
  const [webhook, ...poll] = await Promise.all([
    runPlane(kickstartConfig(), webhookDurations, { pollSeconds: 1, fallbackSeconds: 300 }),
    ...[0, 1, 2].map((plane) =>
      runPlane(
        kickstartConfig(polled),
        pollDurations.filter((_, i) => i % 3 === plane),
        { pollSeconds: 10 },
      ),
    ),
  ]);
  const viaWebhook = handoffs(webhook);
  const viaPoll = poll.flatMap((p) => handoffs(p));
  const ratio = (p: number) =>
    percentile(
      viaPoll.map((h) => h.totalMs),
      p,
    ) /
    percentile(
      viaWebhook.map((h) => h.totalMs),
      p,
    );
  return [
    ...describeHandoffs("webhook completion", viaWebhook, webhook.runs.length),
    ...describeHandoffs(
      "10 s poll",
      viaPoll,
      poll.reduce((n, p) => n + p.runs.length, 0),
    ),
    `  10 s poll / webhook: ${ratio(50).toFixed(0)}x at the median, ${ratio(95).toFixed(0)}x at p95`,
  ];
}

/** The states one list entered more or fewer times than the other, e.g. ", +1 PollStep" (none: ""). */
function differences(measured: readonly string[], predicted: readonly string[]): string {
  const tally = new Map<string, number>();
  for (const state of measured) tally.set(state, (tally.get(state) ?? 0) + 1);
  for (const state of predicted) tally.set(state, (tally.get(state) ?? 0) - 1);
  const off = [...tally].filter(([, n]) => n !== 0);
  return off.map(([state, n]) => `, ${n > 0 ? "+" : ""}${n} ${state}`).join("");
}

interface TransitionCase {
  readonly label: string;
  readonly jobSeconds: number;
}

/**
 * Transitions and history events per kickstart run for jobs of 10 s, 10 min and 1 h, polled (at
 * the kickstart's intervals: 30 s, 30 s, 15 s, 30 s) and with webhook completion (Airbyte and
 * dbt Cloud wait for their webhooks, a fallback poll every 300 s; Grouparoo polls every 30 s),
 * with the month's cost of each.
 *
 * The 10 s and 10 min runs are measured, with time scaled down 15x (intervals 2 s, 2 s, 1 s, 2 s;
 * fallback 20 s; jobs T/15), which keeps every count (each depends only on ceil(T/p)), and
 * checked against the formula (bench/run-cost.ts); the 1 h runs are the formula alone (a scaled
 * hour is 4 minutes of bench). Jobs a little under their length (9 s, 590 s, 3590 s: the same
 * counts as 10 s, 600 s and 3600 s), so that no job ends on a poll or a fallback (scaled, a job
 * ending within tens of milliseconds of a wait's end races it).
 *
 * Not `waitTimeOverrides`: it sets one time per Wait state, and WaitForJob serves every step, so
 * it would poll the 15 s dbt step as often as the 30 s ones.
 */
export async function benchTransitions(): Promise<string[]> {
  const scale = 15;
  const scaled = (change?: (config: TapestryConfig) => void) =>
    kickstartConfig((c) => {
      change?.(c);
      for (const stage of c.pipelines[0]?.stages ?? [])
        for (const step of stage.steps) {
          step.pollIntervalSeconds = step.pollIntervalSeconds / scale;
          if (step.completion === "webhook") step.fallbackPollSeconds = step.fallbackPollSeconds / scale;
        }
    });
  const stages = kickstartConfig().pipelines[0]?.stages ?? [];
  const cases: TransitionCase[] = [
    { label: "10 s jobs", jobSeconds: 9 },
    { label: "10 min jobs", jobSeconds: 590 },
    { label: "1 h jobs", jobSeconds: 3590 },
  ];
  const measured = cases.slice(0, 2);
  const duration = (c: TransitionCase) => [Math.round((c.jobSeconds * 1000) / scale)];
  const planes = await Promise.all([
    ...measured.map((c) => runPlane(scaled(polled), duration(c), { pollSeconds: 2 })),
    ...measured.map((c) => runPlane(scaled(), duration(c), { pollSeconds: 2, fallbackSeconds: 20 })),
  ]);
  const lines = [
    "transitions and history events per kickstart run (no retry), and the month's cost at $0.025 per 1,000 transitions:",
  ];
  for (const [mode, offset] of [
    ["poll", 0],
    ["webhook", measured.length],
  ] as const) {
    cases.forEach((c, i) => {
      const predicted = runStates(stages, c.jobSeconds, mode === "poll" ? "poll" : undefined);
      const run = i < measured.length ? planes[offset + i]?.runs[0] : undefined;
      const states = run?.execution.statesEntered() ?? predicted;
      const source = run
        ? `measured; formula ${predicted.length} transitions, ${historyEvents(predicted)} events${differences(states, predicted)}`
        : "formula";
      const cost = monthlyCost(states.length);
      lines.push(
        `  ${mode === "poll" ? "polled" : "webhook"}, ${c.label}: ${states.length} transitions, ${historyEvents(states)} history events (${source}); $${cost.perRun.toFixed(5)} a run, $${cost.daily.toFixed(2)} a month run daily, $${cost.hourly.toFixed(2)} hourly`,
      );
    });
  }
  // one step alone, outside the run's and its stage's states
  const stepOnly = (step: (typeof stages)[number]["steps"][number], jobSeconds: number) =>
    runStates([{ steps: [step] }], jobSeconds).length - runStates([{ steps: [] }], jobSeconds).length;
  const airbyte = stages[0]?.steps[0];
  if (airbyte?.tool === "airbyte") {
    const each = (step: typeof airbyte) => cases.map((c) => stepOnly(step, c.jobSeconds)).join(" / ");
    lines.push(
      `  one Airbyte step, 10 s / 10 min / 1 h jobs: waiting for its webhook (fallback every ${airbyte.fallbackPollSeconds} s) ${each(airbyte)} transitions; polled every ${airbyte.pollIntervalSeconds} s ${each({ ...airbyte, completion: "poll" })}`,
    );
  }
  return lines;
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
