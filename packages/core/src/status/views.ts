import type { PipelineSpec, StepSpec } from "../config/schema";
import type { ToolName } from "../errors";
import type { RunRecord, StepRecord } from "../ledger/port";

/**
 * The read models of the status API. Each view is built field by field from the config or the
 * ledger (never by spreading a record), so nothing reaches an answer by accident: the config's
 * tool section (endpoints and secret NAMES) is never shown, a step shows its tool and its target.
 */

export type PipelineHealth = "healthy" | "failing" | "running" | "never-run" | "paused";

export interface ScheduleView {
  readonly expression: string;
  readonly timezone: string;
  readonly enabled: boolean;
}

/** What a step points at in its tool: the Airbyte connection, the dbt Cloud job, the Grouparoo schedule. */
export type StepTargetView =
  | { readonly connectionId: string }
  /** an Airbyte connection named in the config, whose id provisioning recorded */
  | { readonly connection: string }
  | { readonly accountId: number; readonly jobId: number }
  | { readonly scheduleId: string };

export interface StepSpecView {
  readonly name: string;
  readonly tool: ToolName;
  readonly target: StepTargetView;
  readonly timeoutMinutes: number;
  readonly pollIntervalSeconds: number;
  readonly minRows?: number;
  /** dbt Cloud only */
  readonly attachToInFlightRun?: boolean;
  /** Grouparoo only */
  readonly allowPartialSuccess?: boolean;
}

export interface PipelineView {
  readonly name: string;
  readonly description?: string;
  readonly schedule: ScheduleView;
  readonly overlap: "skip" | "queue";
  readonly stages: readonly { readonly name: string; readonly steps: readonly StepSpecView[] }[];
}

/** A run without its plan and steps, as run lists and /status show it. */
export type RunSummaryView = Omit<RunRecord, "stages" | "steps">;

/** A step of a run as the API shows it: its record, the tool's job URL shown as `link`. */
export type StepRunView = Omit<StepRecord, "url"> & {
  /** deep link to the job in the tool's UI */
  readonly link?: string;
};

/** A retry of a run, as the run it retries lists it. */
export interface RetryView {
  readonly runId: string;
  readonly status: RunRecord["status"];
}

export interface RunDetailView extends RunSummaryView {
  /** the run's plan (from its PipelineRunStarted): every stage and step, started or not */
  readonly stages?: readonly {
    readonly name: string;
    readonly steps: readonly { readonly name: string; readonly tool: ToolName }[];
    /** a retry's stage before its fromStage: not run, it succeeded in `succeededIn` */
    readonly skipped?: { readonly reason: string; readonly succeededIn: string };
  }[];
  /** the steps that started, in stage order, then step order */
  readonly steps: readonly StepRunView[];
  /** a run that did not succeed: its retries (POST /runs/{runId}/retry), oldest first; absent when none */
  readonly retries?: readonly RetryView[];
}

export interface PipelineStatusView {
  readonly name: string;
  readonly health: PipelineHealth;
  readonly lastRun: RunSummaryView | null;
  readonly nextScheduledAt: string | null;
  readonly schedule: ScheduleView;
}

export interface PipelineDetailView extends PipelineView {
  readonly health: PipelineHealth;
  readonly lastRun: RunSummaryView | null;
  readonly nextScheduledAt: string | null;
}

/** Drops the keys whose value is undefined, so optional fields are absent rather than null. */
function compact<T extends object>(value: T): T {
  // a plain loop: this runs for every run of every answer (a tenth of /status's CPU as entries/filter/fromEntries)
  const kept: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) if (v !== undefined) kept[key] = v;
  return kept as T;
}

export function describeSchedule(schedule: PipelineSpec["schedule"]): ScheduleView {
  return { expression: schedule.expression, timezone: schedule.timezone, enabled: schedule.enabled };
}

export function describeStep(step: StepSpec): StepSpecView {
  const common = {
    name: step.name,
    tool: step.tool,
    timeoutMinutes: step.timeoutMinutes,
    pollIntervalSeconds: step.pollIntervalSeconds,
    minRows: step.minRows,
  };
  switch (step.tool) {
    case "airbyte":
      return compact({
        ...common,
        target:
          step.connection !== undefined
            ? { connection: step.connection }
            : { connectionId: step.connectionId ?? "" },
      });
    case "dbt-cloud":
      return compact({
        ...common,
        target: { accountId: step.accountId, jobId: step.jobId },
        attachToInFlightRun: step.attachToInFlightRun,
      });
    case "grouparoo":
      return compact({
        ...common,
        target: { scheduleId: step.scheduleId },
        allowPartialSuccess: step.allowPartialSuccess,
      });
  }
}

/** A pipeline's spec as the API shows it: stages, steps (tool and target), schedule, overlap. */
export function describePipeline(spec: PipelineSpec): PipelineView {
  return compact({
    name: spec.name,
    description: spec.description,
    schedule: describeSchedule(spec.schedule),
    overlap: spec.overlap,
    stages: spec.stages.map((stage) => ({ name: stage.name, steps: stage.steps.map(describeStep) })),
  });
}

/**
 * The health rule: a run in progress makes the pipeline `running`; otherwise a disabled schedule
 * makes it `paused`; otherwise its last run decides (`healthy` when it succeeded, `failing` when it
 * failed) and `never-run` when it has none. `lastRun` is the newest run that is not a skipped one
 * (a skipped run says nothing about the pipeline's health; see `lastCountedRun`).
 */
export function pipelineHealth(spec: PipelineSpec, lastRun: RunRecord | undefined): PipelineHealth {
  if (lastRun?.status === "running") return "running";
  if (!spec.schedule.enabled) return "paused";
  if (!lastRun) return "never-run";
  return lastRun.status === "succeeded" ? "healthy" : "failing";
}

/** The next time the schedule fires, as ISO text; null when the schedule is disabled or never fires again. */
export function nextScheduledAt(spec: PipelineSpec, now: Date, nextFireTime: NextFireTime): string | null {
  if (!spec.schedule.enabled) return null;
  return nextFireTime(spec, now)?.toISOString() ?? null;
}

/**
 * When the pipeline's schedule fires next after `after`, as its scheduler will fire it (a `rate()`
 * schedule counts from the scheduler's own start, which only the scheduler knows).
 */
export type NextFireTime = (pipeline: PipelineSpec, after: Date) => Date | undefined;

/** One pipeline's line of `/status`. */
export function pipelineStatus(
  spec: PipelineSpec,
  lastRun: RunRecord | undefined,
  nextScheduled: string | null,
): PipelineStatusView {
  return {
    name: spec.name,
    health: pipelineHealth(spec, lastRun),
    lastRun: lastRun ? runSummary(lastRun) : null,
    nextScheduledAt: nextScheduled,
    schedule: describeSchedule(spec.schedule),
  };
}

export function pipelineDetail(
  spec: PipelineSpec,
  lastRun: RunRecord | undefined,
  nextScheduled: string | null,
): PipelineDetailView {
  return {
    ...describePipeline(spec),
    health: pipelineHealth(spec, lastRun),
    lastRun: lastRun ? runSummary(lastRun) : null,
    nextScheduledAt: nextScheduled,
  };
}

export function runSummary(run: RunRecord): RunSummaryView {
  return compact({
    runId: run.runId,
    pipeline: run.pipeline,
    status: run.status,
    trigger: run.trigger
      ? compact({
          kind: run.trigger.kind,
          scheduledTime: run.trigger.scheduledTime,
          retryOf: run.trigger.retryOf,
          fromStage: run.trigger.fromStage,
        })
      : undefined,
    startedAt: run.startedAt,
    endedAt: run.endedAt,
    durationMs: run.durationMs,
    rows: run.rows,
    error: run.error,
    reason: run.reason,
    failedSteps: run.failedSteps ? [...run.failedSteps] : undefined,
    cancelledSteps: run.cancelledSteps ? [...run.cancelledSteps] : undefined,
    activeRunId: run.activeRunId,
    queuedAt: run.queuedAt,
    cancelRequestedAt: run.cancelRequestedAt,
    reconciled: run.reconciled,
    updatedAt: run.updatedAt,
  });
}

export function stepRunView(step: StepRecord): StepRunView {
  return compact({
    stage: step.stage,
    step: step.step,
    tool: step.tool,
    status: step.status,
    externalId: step.externalId,
    link: step.url,
    attached: step.attached,
    toolStatus: step.toolStatus,
    rows: step.rows,
    bytes: step.bytes,
    startedAt: step.startedAt,
    endedAt: step.endedAt,
    durationMs: step.durationMs,
    reason: step.reason,
    error: step.error,
    warning: step.warning,
    inferred: step.inferred,
    reconciled: step.reconciled,
  });
}

export function runDetail(run: RunRecord, retries: readonly RetryView[] = []): RunDetailView {
  return compact({
    ...runSummary(run),
    stages: run.stages?.map((stage) =>
      compact({
        name: stage.name,
        steps: stage.steps.map((step) => ({ name: step.name, tool: step.tool })),
        skipped: stage.skipped
          ? { reason: stage.skipped.reason, succeededIn: stage.skipped.succeededIn }
          : undefined,
      }),
    ),
    steps: run.steps.map(stepRunView),
    retries: retries.length > 0 ? retries.map((r) => ({ runId: r.runId, status: r.status })) : undefined,
  });
}
