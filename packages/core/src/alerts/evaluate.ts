import type { AlertRule, AlertUnit } from "../events";
import type { RunRecord, StepRecord } from "../ledger/port";
import { RUN_EXECUTION_ERRORS } from "../pipeline/reconcile";
import type { PipelineThresholds, StepThresholds } from "./thresholds";

/**
 * Breach evaluation: what a run's end, or the clock, says about each threshold of a pipeline. The
 * same rules run embedded and on AWS (there in the alert evaluator and the freshness check), and
 * the CloudWatch alarms of core/alerts/alarms.ts watch the same figures against the same limits.
 * A verdict is "breaching" or "ok"; what that does to incidents is incidents.ts's business.
 */

/** Which threshold: a pipeline's rule, and for a step's rules, the step. */
export interface AlertKey {
  readonly pipeline: string;
  readonly rule: AlertRule;
  readonly stage?: string;
  readonly step?: string;
}

/** The rules judged per step (each step its own incident); the others are the pipeline's, whatever step they name. */
export const STEP_RULES: ReadonlySet<AlertRule> = new Set(["rows-below-minimum", "rows-anomaly"]);

/**
 * `pipeline:rule`, or `pipeline:rule:stage/step` for a step's rule: at most one incident is open
 * per key. A failed run names the step that failed, but it is the pipeline's incident: the next
 * successful run resolves it, whichever step failed.
 */
export function alertKeyText(key: AlertKey): string {
  return STEP_RULES.has(key.rule) && key.step !== undefined
    ? `${key.pipeline}:${key.rule}:${key.stage ?? ""}/${key.step}`
    : `${key.pipeline}:${key.rule}`;
}

/** One threshold judged once: the figure against the limit, and what it means in words. */
export interface Verdict extends AlertKey {
  readonly breaching: boolean;
  readonly figure: number;
  readonly threshold: number;
  readonly unit: AlertUnit;
  readonly summary: string;
  /** when the figure was observed (a run's end, a check's time): verdicts older than an incident's state change nothing */
  readonly at: string;
  readonly runId?: string;
  readonly url?: string;
  readonly error?: string;
  readonly alarmName?: string;
}

/** Steps whose rows the embedded anomaly rule compares with: the last 20 successful runs of the step ... */
export const ANOMALY_HISTORY_RUNS = 20;
/** ... of which it needs at least 5 before it judges (CloudWatch's model, too, needs history first). */
export const ANOMALY_MIN_HISTORY = 5;
/** The band is never narrower than this share of the mean: a step that always moved 1,000 rows is not anomalous at 990. */
export const ANOMALY_MIN_SPREAD = 0.1;

const count = (n: number) => n.toLocaleString("en-US");
const minutes = (n: number) => `${count(Math.round(n * 10) / 10)} min`;

function stepLabel(step: Pick<StepRecord, "stage" | "step" | "tool">): string {
  return `${step.stage}/${step.step} (${step.tool})`;
}

export interface RunVerdictOptions {
  /**
   * Earlier runs of the pipeline, newest first (the ledger's listing), for the rows anomaly rule;
   * with `anomaly: "alarm"` (AWS: a CloudWatch anomaly-detection alarm judges it) they are not read.
   */
  readonly history?: readonly RunRecord[];
  readonly anomaly: "history" | "alarm";
}

/**
 * What an ended run says about each of its pipeline's thresholds. Only succeeded and failed runs
 * are judged (a cancelled run was stopped on purpose, a skipped one never ran). A failed run whose
 * every failed step failed its minRows guard is one breach of rows-below-minimum, not also a
 * failed run: one incident for one cause.
 */
export function verdictsOfRun(
  run: RunRecord,
  thresholds: PipelineThresholds,
  options: RunVerdictOptions,
): Verdict[] {
  if (run.status !== "succeeded" && run.status !== "failed") return [];
  const at = run.endedAt ?? run.updatedAt;
  const base = { pipeline: thresholds.pipeline, runId: run.runId, at };
  const verdicts: Verdict[] = [];

  const floors = new Map(
    thresholds.steps.filter((s) => s.minRows !== undefined).map((s) => [s.step, s] as const),
  );
  const failedSteps = run.steps.filter((s) => s.status === "failed");
  const onlyBelowFloors =
    run.status === "failed" &&
    failedSteps.length > 0 &&
    failedSteps.every((s) => s.reason === "min-rows" && floors.has(s.step));

  if (thresholds.onFailure) {
    if (run.status === "succeeded") {
      verdicts.push({
        ...base,
        rule: "run-failed",
        breaching: false,
        figure: 0,
        threshold: 0,
        unit: "runs",
        summary: `Run ${run.runId} succeeded`,
      });
    } else if (!onlyBelowFloors) {
      verdicts.push(runFailedVerdict(run, base));
    }
  }

  if (thresholds.maxDurationMinutes !== undefined && run.durationMs !== undefined) {
    const took = run.durationMs / 60_000;
    const limit = thresholds.maxDurationMinutes;
    const breaching = took > limit;
    verdicts.push({
      ...base,
      rule: "run-too-long",
      breaching,
      figure: Math.round(took * 100) / 100,
      threshold: limit,
      unit: "minutes",
      summary: breaching
        ? `Run ${run.runId} took ${minutes(took)}, over the ${minutes(limit)} allowed`
        : `Run ${run.runId} took ${minutes(took)}, within the ${minutes(limit)} allowed`,
    });
  }

  for (const step of run.steps) {
    const floor = floors.get(step.step);
    if (floor?.minRows === undefined) continue;
    const verdict = floorVerdict(step, floor.minRows, base);
    if (verdict) verdicts.push(verdict);
  }

  if (options.anomaly === "history") {
    for (const spec of thresholds.steps) {
      if (!spec.rowsAnomaly) continue;
      const verdict = anomalyVerdict(run, spec, options.history ?? [], base);
      if (verdict) verdicts.push(verdict);
    }
  }
  return verdicts;
}

/**
 * How the run's execution ended, when the run reconciler stated its outcome: the state machine
 * could not publish it (RunFailedUnannounced), or the execution ended outside its paths.
 */
function reconciledEnding(run: RunRecord): string | undefined {
  if (!run.reconciled) return undefined;
  if (run.error?.includes(RUN_EXECUTION_ERRORS.failedUnpublished)) {
    return `the state machine could not publish its outcome (${RUN_EXECUTION_ERRORS.failedUnpublished}): the run reconciler recorded it, check the control plane's alarms (the event bus, publish-event)`;
  }
  return `its execution ended outside the state machine's paths (${run.reason ?? "error"}): the run reconciler recorded it`;
}

function runFailedVerdict(run: RunRecord, base: Pick<Verdict, "pipeline" | "runId" | "at">): Verdict {
  const failed = run.steps.filter((s) => s.status === "failed" && !s.inferred);
  const first = failed[0] ?? run.steps.find((s) => s.status === "failed");
  const where = [
    failed.length > 0 ? failed.map((s) => `${stepLabel(s)} ${s.reason ?? "failed"}`).join(", ") : undefined,
    reconciledEnding(run),
  ]
    .filter((part): part is string => part !== undefined)
    .join("; ");
  return {
    ...base,
    rule: "run-failed",
    ...(first ? { stage: first.stage, step: first.step } : {}),
    breaching: true,
    figure: 1,
    threshold: 0,
    unit: "runs",
    summary: `Run ${run.runId} failed: ${where || (run.reason ?? "the run could not complete")}`,
    ...(first?.url ? { url: first.url } : {}),
    ...(first?.error || run.error ? { error: (first?.error ?? run.error ?? "").slice(0, 2000) } : {}),
  };
}

function floorVerdict(
  step: StepRecord,
  minRows: number,
  base: Pick<Verdict, "pipeline" | "runId" | "at">,
): Verdict | undefined {
  const key = { ...base, rule: "rows-below-minimum" as const, stage: step.stage, step: step.step };
  const common = {
    ...key,
    threshold: minRows,
    unit: "rows" as const,
    ...(step.url ? { url: step.url } : {}),
  };
  if (step.status === "failed" && step.reason === "min-rows") {
    const rows = step.rows ?? 0;
    const counted = step.rows === undefined ? " (the tool reported no row count)" : "";
    return {
      ...common,
      breaching: true,
      figure: rows,
      summary: `${stepLabel(step)} moved ${count(rows)} rows${counted}, below its minimum of ${count(minRows)}`,
    };
  }
  if (step.status === "succeeded" && step.rows !== undefined && step.rows >= minRows) {
    return {
      ...common,
      breaching: false,
      figure: step.rows,
      summary: `${stepLabel(step)} moved ${count(step.rows)} rows, at least its minimum of ${count(minRows)}`,
    };
  }
  return undefined;
}

/** The expected band of a step's rows from its history: mean ± stdDevs × spread. */
export interface AnomalyBand {
  readonly mean: number;
  readonly spread: number;
  readonly lower: number;
  readonly samples: number;
}

/**
 * The band the embedded rule judges a step's rows against: the mean of its history, and the
 * population standard deviation (never less than 10 % of the mean) times `stdDevs`. Undefined with
 * fewer than ANOMALY_MIN_HISTORY samples.
 */
export function anomalyBand(samples: readonly number[], stdDevs: number): AnomalyBand | undefined {
  if (samples.length < ANOMALY_MIN_HISTORY) return undefined;
  const mean = samples.reduce((sum, n) => sum + n, 0) / samples.length;
  const variance = samples.reduce((sum, n) => sum + (n - mean) ** 2, 0) / samples.length;
  const spread = Math.max(Math.sqrt(variance), ANOMALY_MIN_SPREAD * mean);
  return { mean, spread, lower: Math.max(0, mean - stdDevs * spread), samples: samples.length };
}

function anomalyVerdict(
  run: RunRecord,
  spec: StepThresholds,
  history: readonly RunRecord[],
  base: Pick<Verdict, "pipeline" | "runId" | "at">,
): Verdict | undefined {
  const step = run.steps.find((s) => s.step === spec.step);
  if (step?.status !== "succeeded" || step.rows === undefined || !spec.rowsAnomaly) return undefined;
  const samples = history
    .filter((earlier) => earlier.runId !== run.runId)
    .flatMap((earlier) => {
      const same = earlier.steps.find((s) => s.step === spec.step);
      return same?.status === "succeeded" && same.rows !== undefined ? [same.rows] : [];
    })
    .slice(0, ANOMALY_HISTORY_RUNS);
  const band = anomalyBand(samples, spec.rowsAnomaly.stdDevs);
  if (!band) return undefined;
  const breaching = step.rows < band.lower;
  const usual = `${count(Math.round(band.mean))} ± ${count(Math.round(band.spread))} over its last ${band.samples} runs`;
  return {
    ...base,
    rule: "rows-anomaly",
    stage: step.stage,
    step: step.step,
    breaching,
    figure: step.rows,
    threshold: Math.floor(band.lower),
    unit: "rows",
    summary: breaching
      ? `${stepLabel(step)} moved ${count(step.rows)} rows, far below its usual ${usual} (lower bound ${count(Math.floor(band.lower))})`
      : `${stepLabel(step)} moved ${count(step.rows)} rows, within its usual ${usual}`,
    ...(step.url ? { url: step.url } : {}),
  };
}

/** When a pipeline last succeeded, as the freshness check finds it. */
export interface LastSuccess {
  readonly runId: string;
  readonly endedAt: string;
}

/** Minutes since the last success (or since the pipeline was first watched, when it never succeeded). */
export function minutesSinceLastSuccess(
  lastSuccess: LastSuccess | undefined,
  watchedSince: string,
  now: Date,
): number {
  const since = Date.parse(lastSuccess?.endedAt ?? watchedSince);
  return Math.max(0, Math.floor((now.getTime() - since) / 60_000));
}

/** The stale rule at `now`: undefined when the pipeline's staleness is not watched. */
export function freshnessVerdict(
  thresholds: PipelineThresholds,
  lastSuccess: LastSuccess | undefined,
  watchedSince: string,
  now: Date,
): Verdict | undefined {
  const limit = thresholds.maxStaleMinutes;
  if (limit === undefined) return undefined;
  const figure = minutesSinceLastSuccess(lastSuccess, watchedSince, now);
  const breaching = figure > limit;
  const last = lastSuccess
    ? `its last success was run ${lastSuccess.runId}, ended ${lastSuccess.endedAt}`
    : `it has not succeeded since it was first watched, ${watchedSince}`;
  return {
    pipeline: thresholds.pipeline,
    rule: "stale",
    breaching,
    figure,
    threshold: limit,
    unit: "minutes",
    summary: breaching
      ? `No successful run for ${minutes(figure)}, over the ${minutes(limit)} allowed: ${last}`
      : lastSuccess
        ? `Run ${lastSuccess.runId} succeeded ${minutes(figure)} ago, within the ${minutes(limit)} allowed`
        : `Watched for ${minutes(figure)} without a success yet, within the ${minutes(limit)} allowed`,
    at: now.toISOString(),
    ...(lastSuccess ? { runId: lastSuccess.runId } : {}),
  };
}
