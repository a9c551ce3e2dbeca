import type { PipelineSpec, TapestryConfig } from "../config/schema";
import { TapestryError } from "../errors";
import type { AlertEvent, EventOf, TapestryEvent } from "../events";
import type { RunLedger, RunRecord } from "../ledger/port";
import { projectRun } from "../ledger/projection";
import { type Logger, silentLogger } from "../logging";
import { retry } from "../retry";
import { type AlarmStateChange, alarmFigures } from "./alarm-state";
import { thresholdAlarmSpecs } from "./alarms";
import {
  ANOMALY_HISTORY_RUNS,
  freshnessVerdict,
  type LastSuccess,
  minutesSinceLastSuccess,
  type Verdict,
  verdictsOfRun,
} from "./evaluate";
import { type IncidentDeps, recordVerdicts } from "./incidents";
import { freshnessDatum, type MetricDatum } from "./metrics";
import { pipelineThresholds } from "./thresholds";

/**
 * The alert use cases, the same embedded and on AWS: judge a run that ended, check every
 * pipeline's freshness, and (AWS only) take the verdict of a CloudWatch anomaly-detection alarm.
 * Each records its verdicts as incidents and publishes what opened and what was resolved.
 */

/** A run's step events were not in the ledger in time: the evaluation is worth trying again (Lambda's retries). */
export class RunNotRecordedError extends TapestryError {
  override readonly name = "RunNotRecordedError";
}

export interface AlertServiceDeps extends IncidentDeps {
  readonly config: Pick<TapestryConfig, "pipelines">;
  readonly ledger: Pick<RunLedger, "listEvents" | "listRuns" | "latestRuns">;
  /** who judges the rows anomaly rule: the ledger's history (embedded), or a CloudWatch alarm (AWS) */
  readonly anomaly: "history" | "alarm";
  readonly logger?: Logger;
  /** how long a run's step events may take to reach the ledger after its end (default 20 s) */
  readonly recordWaitMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * The run's record from its events in the ledger and the event that ended it, once every step
 * the verdicts need is there: each failed step's own end event (a StepFailed's reason decides
 * between a failed run and a floor not met), and for a success the StepSucceeded of every step a rows rule
 * watches. The projector and this evaluator take the same events at the same time, so a step's
 * event may still be on its way: it is waited for, then the evaluation fails with
 * RunNotRecordedError (and is retried, then dead-lettered).
 */
async function endedRun(
  event: EventOf<"PipelineRunSucceeded"> | EventOf<"PipelineRunFailed">,
  watchedSteps: readonly string[],
  deps: AlertServiceDeps,
): Promise<RunRecord> {
  const { runId } = event.detail.data;
  const waitMs = deps.recordWaitMs ?? 20_000;
  const deadline = deps.now().getTime() + waitMs;
  return retry(
    async () => {
      const record = projectRun([...(await deps.ledger.listEvents(runId)), event]);
      const missing = record ? missingSteps(record, event, watchedSteps) : ["the run"];
      if (!record || missing.length > 0) {
        throw new RunNotRecordedError(
          `run ${runId} ended, but the ledger does not hold the outcome of ${missing.join(", ")} yet (waited ${Math.round(waitMs / 1000)} s): the evaluation is retried`,
        );
      }
      return record;
    },
    {
      maxAttempts: 50,
      baseDelayMs: 100,
      maxDelayMs: 2_000,
      deadline,
      now: () => deps.now().getTime(),
      retryable: (error) => error instanceof RunNotRecordedError,
      ...(deps.sleep ? { sleep: deps.sleep } : {}),
    },
  );
}

function missingSteps(
  record: RunRecord,
  event: EventOf<"PipelineRunSucceeded"> | EventOf<"PipelineRunFailed">,
  watchedSteps: readonly string[],
): string[] {
  const stated = (name: string, status: "succeeded" | "ended") =>
    record.steps.some(
      (s) =>
        s.step === name && !s.inferred && (status === "ended" ? s.status !== "running" : s.status === status),
    );
  if (event["detail-type"] === "PipelineRunFailed") {
    // A step the run reconciler closed may have ended by itself (StepSucceeded): its own event,
    // whatever it says, is what the verdicts read.
    return event.detail.data.failedSteps.filter((name) => !stated(name, "ended"));
  }
  // a retry's stages before its fromStage do not run: their steps have no outcome in it
  const skipped = (name: string) =>
    record.stages?.some((stage) => stage.skipped && stage.steps.some((s) => s.name === name)) ?? false;
  return watchedSteps.filter((name) => !skipped(name) && !stated(name, "succeeded"));
}

function pipelineOf(
  config: Pick<TapestryConfig, "pipelines">,
  name: string | undefined,
): PipelineSpec | undefined {
  return config.pipelines.find((p) => p.name === name);
}

/**
 * Judges a run that ended (PipelineRunSucceeded or PipelineRunFailed; any other event is no
 * run's end and changes nothing). A pipeline no longer in the config is not judged.
 */
export async function evaluateRunEnd(event: TapestryEvent, deps: AlertServiceDeps): Promise<AlertEvent[]> {
  if (event["detail-type"] !== "PipelineRunSucceeded" && event["detail-type"] !== "PipelineRunFailed")
    return [];
  const logger = deps.logger ?? silentLogger;
  const pipeline = pipelineOf(deps.config, event.detail.metadata.pipeline);
  if (!pipeline) {
    logger.info("a run of a pipeline that is not configured ended: not judged", {
      pipeline: event.detail.metadata.pipeline,
      runId: event.detail.data.runId,
    });
    return [];
  }
  const thresholds = pipelineThresholds(pipeline, deps.now());
  const watchedSteps = thresholds.steps
    .filter((s) => s.minRows !== undefined || (s.rowsAnomaly !== undefined && deps.anomaly === "history"))
    .map((s) => s.step);
  const run = await endedRun(event, watchedSteps, deps);
  const history =
    deps.anomaly === "history" && thresholds.steps.some((s) => s.rowsAnomaly)
      ? (await deps.ledger.listRuns(pipeline.name, { limit: ANOMALY_HISTORY_RUNS + 1 })).runs
      : [];
  const verdicts = verdictsOfRun(run, thresholds, { history, anomaly: deps.anomaly });
  return recordVerdicts(verdicts, run.runId, deps);
}

/** How far back the freshness check looks for a pipeline's last success: 5 pages of 20 runs. */
const SUCCESS_SEARCH = { pageSize: 20, pages: 5 } as const;

async function lastSuccessOf(
  ledger: Pick<RunLedger, "listRuns">,
  pipeline: string,
): Promise<LastSuccess | undefined> {
  let cursor: string | undefined;
  for (let page = 0; page < SUCCESS_SEARCH.pages; page++) {
    const listed = await ledger.listRuns(pipeline, {
      limit: SUCCESS_SEARCH.pageSize,
      ...(cursor !== undefined ? { cursor } : {}),
    });
    // runs are listed by when they began: the newest success is the one that ended last
    const ended = listed.runs
      .filter((r) => r.status === "succeeded" && r.endedAt !== undefined)
      .sort((a, b) => Date.parse(b.endedAt ?? "") - Date.parse(a.endedAt ?? ""));
    const found = ended[0];
    if (found?.endedAt) return { runId: found.runId, endedAt: found.endedAt };
    if (listed.nextCursor === undefined) return undefined;
    cursor = listed.nextCursor;
  }
  return undefined;
}

export interface FreshnessResult {
  /** MinutesSinceLastSuccess of every configured pipeline */
  readonly metrics: readonly MetricDatum[];
  readonly events: readonly AlertEvent[];
}

/**
 * The freshness check (every 5 minutes): for every configured pipeline, the minutes since its last
 * successful run (or since it was first watched, when it has none) as a metric, and the stale rule
 * judged where it is watched. `cause` names the check (on AWS, the schedule's fire time, which a
 * retried fire repeats: the incidents it opened are published again, not opened twice); by default
 * the check's own time.
 */
export async function checkFreshness(deps: AlertServiceDeps, cause?: string): Promise<FreshnessResult> {
  const now = deps.now();
  const metrics: MetricDatum[] = [];
  const verdicts: Verdict[] = [];
  for (const pipeline of deps.config.pipelines) {
    const lastSuccess = await lastSuccessOf(deps.ledger, pipeline.name);
    const watchedSince = await deps.store.watchedSince(pipeline.name, now.toISOString());
    metrics.push(freshnessDatum(pipeline.name, minutesSinceLastSuccess(lastSuccess, watchedSince, now)));
    const verdict = freshnessVerdict(pipelineThresholds(pipeline, now), lastSuccess, watchedSince, now);
    if (verdict) verdicts.push(verdict);
  }
  const events = await recordVerdicts(verdicts, cause ?? `freshness@${now.toISOString()}`, deps);
  return { metrics, events };
}

/**
 * A CloudWatch alarm of a rows-anomaly threshold changed state (AWS): into ALARM is a breach, to
 * OK a recovery, with the alarm's own figures and the pipeline's newest run for context. Any
 * other alarm, or a change into INSUFFICIENT_DATA, changes nothing here.
 */
export async function evaluateAlarmChange(
  change: AlarmStateChange,
  stage: string,
  deps: AlertServiceDeps,
): Promise<AlertEvent[]> {
  const { alarmName, state } = change.detail;
  const spec = thresholdAlarmSpecs(deps.config, stage, deps.now()).find(
    (s) => s.name === alarmName && s.kind === "anomaly",
  );
  if (!spec?.step || state.value === "INSUFFICIENT_DATA") return [];
  const figures = alarmFigures(state);
  const latest = (await deps.ledger.latestRuns([spec.pipeline])).get(spec.pipeline);
  const step = latest?.steps.find((s) => s.step === spec.step);
  const breaching = state.value === "ALARM";
  const figure = figures.figure ?? step?.rows ?? 0;
  const threshold = Math.floor(figures.threshold ?? 0);
  const label = `${spec.stage}/${spec.step}`;
  const verdict: Verdict = {
    pipeline: spec.pipeline,
    rule: "rows-anomaly",
    ...(spec.stage !== undefined ? { stage: spec.stage } : {}),
    step: spec.step,
    breaching,
    figure,
    threshold,
    unit: "rows",
    summary: breaching
      ? `${label} moved ${figure.toLocaleString("en-US")} rows, below the lower bound of its anomaly band (${threshold.toLocaleString("en-US")}) as CloudWatch judged it`
      : `${label} is back within its anomaly band as CloudWatch judged it (${figure.toLocaleString("en-US")} rows)`,
    at: new Date(Date.parse(state.timestamp) || deps.now().getTime()).toISOString(),
    alarmName,
    ...(latest ? { runId: latest.runId } : {}),
    ...(step?.url ? { url: step.url } : {}),
  };
  return recordVerdicts([verdict], `${alarmName}@${state.timestamp}`, deps);
}
