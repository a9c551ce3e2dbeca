import type { ToolName } from "../errors";
import {
  EVENT_SOURCE,
  type EventData,
  isAlertEvent,
  type PipelineEvent,
  type RunTrigger,
  type TapestryEvent,
} from "../events";
import { parseRunId } from "../pipeline/run-id";
import { LedgerInputError } from "./errors";
import type { RunPlanStage, RunRecord, RunStatus, StepRecord, StepStatus } from "./port";

/**
 * The pure projection of a run's events into its RunRecord.
 *
 * Every event is turned into the facts it states about its run (a one-event record), and
 * `applyEvent` joins those facts into the record field by field with rules that do not depend on
 * the order or the number of times events arrive (each rule is commutative, associative and
 * idempotent), so:
 * - applying the same event twice changes nothing, and any order of the same events gives the
 *   same record (an adapter may apply events as they arrive, or re-project them all);
 * - a status never regresses: `running` is only the absence of an outcome, so a late StepStarted or
 *   PipelineRunStarted fills what is missing (external id, link, trigger, plan) and nothing else.
 *
 * The rules:
 * - outcome (run: status, endedAt, durationMs, rows, error, failedSteps, activeRunId; step: status,
 *   toolStatus, rows, bytes, endedAt, durationMs, reason, error, warning) comes whole from ONE
 *   terminal event (PipelineRunSucceeded/Failed/Skipped, StepSucceeded/Failed); should a run or
 *   step have two, the one that ended last wins, then failed over succeeded over skipped;
 * - startedAt: the earliest one stated (PipelineRunStarted's occurredAt, the terminal events'
 *   startedAt; a step's StepStarted/Succeeded/Failed startedAt); updatedAt: the newest occurredAt;
 * - any other field (trigger, plan, tool, external id, link, attached): filled by the first event
 *   that states it; two events stating different values (which the state machine never emits)
 *   resolve to the smaller value, so even that cannot depend on arrival order.
 *
 * - queued: a run is `queued` from its PipelineRunQueued until it starts (PipelineRunStarted or a
 *   step event) or ends; `queuedAt` and `cancelRequestedAt` are facts like the others;
 * - a step of a run that ended failed or cancelled without an outcome of its own reads failed,
 *   reason `aborted`, `inferred: true` (the run's end is its end); an event of the step itself
 *   replaces that outcome, because inferred outcomes are never kept as facts.
 *
 * Steps: a step is listed from its first event on (StepStarted, or a terminal event delivered
 * before it); steps that have not started are not listed, but the plan (`stages`, from
 * PipelineRunStarted) is kept, so `steps` is always in the plan's stage order, then step order.
 * Steps the plan does not name (or all of them, before PipelineRunStarted is applied) come after
 * the planned ones of their stage, by stage name then step name.
 */

/** What a terminal event states about its run: the record's outcome fields. */
type RunOutcome = Pick<
  RunRecord,
  | "endedAt"
  | "durationMs"
  | "rows"
  | "error"
  | "failedSteps"
  | "reason"
  | "cancelledSteps"
  | "activeRunId"
  | "reconciled"
> & { readonly status: Exclude<RunStatus, "running" | "queued"> };

/** What a step's terminal event states about it: the step record's outcome fields. */
type StepOutcome = Pick<
  StepRecord,
  "toolStatus" | "rows" | "bytes" | "endedAt" | "durationMs" | "reason" | "error" | "warning" | "reconciled"
> & { readonly status: Exclude<StepStatus, "running"> };

interface StepFacts {
  readonly stage: string;
  readonly step: string;
  readonly tool: ToolName;
  readonly externalId?: string;
  readonly url?: string;
  readonly attached?: boolean;
  readonly startedAt?: string;
  readonly outcome?: StepOutcome;
}

interface RunFacts {
  readonly runId: string;
  readonly pipeline: string;
  readonly trigger?: RunTrigger;
  readonly startedAt?: string;
  /** PipelineRunStarted was applied: the run took its lock (it is no longer queued) */
  readonly began?: boolean;
  readonly queuedAt?: string;
  readonly waitingFor?: string;
  readonly cancelRequestedAt?: string;
  readonly outcome?: RunOutcome;
  readonly stages?: readonly RunPlanStage[];
  /** by stepKey */
  readonly steps: ReadonlyMap<string, StepFacts>;
  readonly updatedAt: string;
}

const RUN_OUTCOME_RANK: Record<RunOutcome["status"], number> = {
  skipped: 1,
  succeeded: 2,
  cancelled: 3,
  failed: 4,
};
const STEP_OUTCOME_RANK: Record<StepOutcome["status"], number> = { succeeded: 1, failed: 2 };

/**
 * Applies one event to its run's record (undefined: the run has none yet). Idempotent and
 * order-tolerant: see the rules above. Throws LedgerInputError for an event of another run, or one
 * whose pipeline is neither in its metadata nor derivable from its run id.
 */
export function applyEvent(run: RunRecord | undefined, event: TapestryEvent): RunRecord {
  const facts = factsOfEvent(event);
  if (run === undefined) return recordOf(facts);
  if (run.runId !== facts.runId) {
    throw new LedgerInputError(
      `event ${event.detail.metadata.id} (${event["detail-type"]}) belongs to run ${facts.runId}, not to ${run.runId}`,
    );
  }
  return recordOf(joinRun(factsOfRecord(run), facts));
}

/** The order events are folded in (and listed): by occurredAt, then by id. */
export function compareEvents(a: TapestryEvent, b: TapestryEvent): number {
  return (
    compareTime(a.detail.metadata.occurredAt, b.detail.metadata.occurredAt) ||
    compareStrings(a.detail.metadata.id, b.detail.metadata.id)
  );
}

/** The record of one run from all its events (in any order, duplicates allowed); undefined for none. */
export function projectRun(events: readonly TapestryEvent[]): RunRecord | undefined {
  return [...events].sort(compareEvents).reduce<RunRecord | undefined>(applyEvent, undefined);
}

// ---------------------------------------------------------------------------------------------
// events -> facts

function factsOfEvent(given: TapestryEvent): RunFacts {
  const event = pipelineEvent(given);
  const { metadata } = event.detail;
  if (isAlertEvent(event)) {
    throw new LedgerInputError(
      `event ${metadata.id} (${event["detail-type"]}) is an alert, not a fact of a run: the run ledger does not take it`,
    );
  }
  const runId = event.detail.data.runId;
  const pipeline = metadata.pipeline ?? parseRunId(runId)?.pipeline;
  if (!pipeline) {
    throw new LedgerInputError(
      `event ${metadata.id} (${event["detail-type"]}) names no pipeline, and its run id ${runId} does not carry one`,
    );
  }
  const base = { runId, pipeline, steps: new Map<string, StepFacts>(), updatedAt: metadata.occurredAt };
  const withStep = (step: StepFacts): RunFacts => ({
    ...base,
    steps: new Map([[stepKey(step.stage, step.step), step]]),
  });

  switch (event["detail-type"]) {
    case "PipelineRunStarted": {
      const { data } = event.detail;
      return {
        ...base,
        trigger: data.trigger,
        startedAt: metadata.occurredAt,
        began: true,
        stages: data.stages.map((stage) => ({
          name: stage.name,
          steps: stage.steps.map((step) => ({ name: step.name, tool: step.tool })),
          ...(stage.skipped ? { skipped: { ...stage.skipped } } : {}),
        })),
      };
    }
    case "PipelineRunSucceeded": {
      const { data } = event.detail;
      return {
        ...base,
        startedAt: data.startedAt,
        outcome: { status: "succeeded", endedAt: data.endedAt, durationMs: data.durationMs, rows: data.rows },
      };
    }
    case "PipelineRunFailed": {
      const { data } = event.detail;
      return {
        ...base,
        startedAt: data.startedAt,
        outcome: {
          status: "failed",
          endedAt: data.endedAt,
          durationMs: data.durationMs,
          error: data.error,
          failedSteps: [...data.failedSteps],
          reason: data.reason,
          reconciled: data.reconciled,
        },
      };
    }
    case "PipelineRunCancelled": {
      const { data } = event.detail;
      return {
        ...base,
        startedAt: data.startedAt,
        outcome: {
          status: "cancelled",
          endedAt: data.endedAt,
          durationMs: data.durationMs,
          error: data.error,
          cancelledSteps: [...data.cancelledSteps],
          reconciled: true,
        },
      };
    }
    case "PipelineRunQueued": {
      const { data } = event.detail;
      return { ...base, trigger: data.trigger, queuedAt: data.requestedAt, waitingFor: data.waitingFor };
    }
    case "PipelineRunCancelRequested":
      return { ...base, cancelRequestedAt: event.detail.data.requestedAt };
    case "PipelineRunSkipped": {
      const { data } = event.detail;
      return {
        ...base,
        trigger: data.trigger,
        outcome: { status: "skipped", activeRunId: data.activeRunId },
      };
    }
    case "StepStarted": {
      const { data } = event.detail;
      return withStep({ ...stepIdentity(data), attached: data.attached });
    }
    case "StepSucceeded": {
      const { data } = event.detail;
      return withStep({
        ...stepIdentity(data),
        outcome: { status: "succeeded", ...stepMeasures(data), warning: data.warning },
      });
    }
    case "StepFailed": {
      const { data } = event.detail;
      return withStep({
        ...stepIdentity(data),
        outcome: {
          status: "failed",
          ...stepMeasures(data),
          reason: data.reason,
          error: data.error,
          reconciled: data.reconciled,
        },
      });
    }
  }
}

/** The bus rule and the embedded subscription give the ledger tapestry.pipeline events only. */
function pipelineEvent(event: TapestryEvent): PipelineEvent {
  if (event.source === EVENT_SOURCE) return event as PipelineEvent;
  throw new LedgerInputError(
    `event ${event.detail.metadata.id} (${event["detail-type"]} from ${event.source}) is not an event of a pipeline run: the run ledger records source ${EVENT_SOURCE} only`,
  );
}

/** What every step event says about which step and which job it is. */
function stepIdentity(data: EventData<"StepStarted" | "StepSucceeded" | "StepFailed">) {
  const { stage, step, tool, externalId, url, startedAt } = data;
  return { stage, step, tool, externalId, url, startedAt };
}

/** What a step's end event says about the job's result. */
function stepMeasures(data: EventData<"StepSucceeded" | "StepFailed">) {
  const { toolStatus, rows, bytes, endedAt, durationMs } = data;
  return { toolStatus, rows, bytes, endedAt, durationMs };
}

function factsOfRecord(run: RunRecord): RunFacts {
  const outcome: RunOutcome | undefined =
    run.status === "running" || run.status === "queued"
      ? undefined
      : {
          status: run.status,
          endedAt: run.endedAt,
          durationMs: run.durationMs,
          rows: run.rows,
          error: run.error,
          failedSteps: run.failedSteps,
          reason: run.reason,
          cancelledSteps: run.cancelledSteps,
          activeRunId: run.status === "skipped" ? run.activeRunId : undefined,
          reconciled: run.reconciled,
        };
  return {
    runId: run.runId,
    pipeline: run.pipeline,
    trigger: run.trigger,
    startedAt: run.startedAt,
    began: run.stages !== undefined || undefined,
    queuedAt: run.queuedAt,
    waitingFor: run.status === "skipped" ? undefined : run.activeRunId,
    cancelRequestedAt: run.cancelRequestedAt,
    outcome,
    stages: run.stages,
    steps: new Map(run.steps.map((step) => [stepKey(step.stage, step.step), factsOfStep(step)])),
    updatedAt: run.updatedAt,
  };
}

function factsOfStep(step: StepRecord): StepFacts {
  const outcome: StepOutcome | undefined =
    step.status === "running" || step.inferred
      ? undefined
      : {
          status: step.status,
          toolStatus: step.toolStatus,
          rows: step.rows,
          bytes: step.bytes,
          endedAt: step.endedAt,
          durationMs: step.durationMs,
          reason: step.reason,
          error: step.error,
          warning: step.warning,
          reconciled: step.reconciled,
        };
  return {
    stage: step.stage,
    step: step.step,
    tool: step.tool,
    externalId: step.externalId,
    url: step.url,
    attached: step.attached,
    startedAt: step.startedAt,
    outcome,
  };
}

// ---------------------------------------------------------------------------------------------
// the join

function joinRun(a: RunFacts, b: RunFacts): RunFacts {
  const steps = new Map(a.steps);
  for (const [key, step] of b.steps) {
    const known = steps.get(key);
    steps.set(key, known ? joinStep(known, step) : step);
  }
  return {
    runId: a.runId,
    pipeline: pick(a.pipeline, b.pipeline) ?? a.pipeline,
    trigger: pick(a.trigger, b.trigger),
    startedAt: earliest(a.startedAt, b.startedAt),
    began: a.began || b.began || undefined,
    queuedAt: earliest(a.queuedAt, b.queuedAt),
    waitingFor: pick(a.waitingFor, b.waitingFor),
    cancelRequestedAt: earliest(a.cancelRequestedAt, b.cancelRequestedAt),
    outcome: winner(a.outcome, b.outcome, RUN_OUTCOME_RANK),
    stages: pick(a.stages, b.stages),
    steps,
    updatedAt: latest(a.updatedAt, b.updatedAt) ?? a.updatedAt,
  };
}

function joinStep(a: StepFacts, b: StepFacts): StepFacts {
  return {
    stage: a.stage,
    step: a.step,
    tool: pick(a.tool, b.tool) ?? a.tool,
    externalId: pick(a.externalId, b.externalId),
    url: pick(a.url, b.url),
    attached: pick(a.attached, b.attached),
    startedAt: earliest(a.startedAt, b.startedAt),
    outcome: winner(a.outcome, b.outcome, STEP_OUTCOME_RANK),
  };
}

/**
 * The outcome the state machine stated over one the reconciler inferred; then the one that ended
 * last; at the same end, the higher rank; then the smaller value.
 */
function winner<O extends { readonly status: string; readonly endedAt?: string; readonly reconciled?: true }>(
  a: O | undefined,
  b: O | undefined,
  rank: Record<O["status"], number>,
): O | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  if (Boolean(a.reconciled) !== Boolean(b.reconciled)) return a.reconciled ? b : a;
  const byEnd =
    a.endedAt === undefined || b.endedAt === undefined
      ? (a.endedAt === undefined ? 0 : 1) - (b.endedAt === undefined ? 0 : 1)
      : compareTime(a.endedAt, b.endedAt);
  const byRank = rank[a.status as O["status"]] - rank[b.status as O["status"]];
  const order = byEnd || byRank || compareStrings(canonical(b), canonical(a));
  return order >= 0 ? a : b;
}

/** Fills a missing value; of two different values, the smaller (by canonical JSON). */
function pick<T>(a: T | undefined, b: T | undefined): T | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareStrings(canonical(a), canonical(b)) <= 0 ? a : b;
}

function earliest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareTime(a, b) <= 0 ? a : b;
}

function latest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareTime(a, b) >= 0 ? a : b;
}

// ---------------------------------------------------------------------------------------------
// facts -> record

function recordOf(facts: RunFacts): RunRecord {
  const { outcome } = facts;
  const queued = facts.queuedAt !== undefined && !facts.began && facts.steps.size === 0;
  const status: RunStatus = outcome?.status ?? (queued ? "queued" : "running");
  // A run that ended failed or cancelled ends the steps it left going (see the rules above).
  const endsSteps = outcome?.status === "failed" || outcome?.status === "cancelled" ? outcome : undefined;
  return compact({
    runId: facts.runId,
    pipeline: facts.pipeline,
    status,
    trigger: facts.trigger,
    startedAt: facts.startedAt,
    endedAt: outcome?.endedAt,
    durationMs: outcome?.durationMs,
    rows: outcome?.rows,
    error: outcome?.error,
    failedSteps: outcome?.failedSteps,
    reason: outcome?.reason,
    cancelledSteps: outcome?.cancelledSteps,
    reconciled: outcome?.reconciled,
    activeRunId: outcome ? outcome.activeRunId : facts.waitingFor,
    queuedAt: facts.queuedAt,
    cancelRequestedAt: facts.cancelRequestedAt,
    stages: facts.stages,
    steps: orderSteps([...facts.steps.values()], facts.stages).map((step) => stepRecordOf(step, endsSteps)),
    updatedAt: facts.updatedAt,
  }) as RunRecord;
}

function stepRecordOf(step: StepFacts, runEnd?: RunOutcome): StepRecord {
  const outcome: StepOutcome | undefined =
    step.outcome ??
    (runEnd && {
      status: "failed",
      endedAt: runEnd.endedAt,
      reason: "aborted",
      error: `the run ${runEnd.status === "cancelled" ? "was cancelled" : "failed"} while this step was going${runEnd.error ? ` (${runEnd.error})` : ""}`,
    });
  return compact({
    stage: step.stage,
    step: step.step,
    tool: step.tool,
    status: outcome?.status ?? "running",
    externalId: step.externalId,
    url: step.url,
    attached: step.attached,
    toolStatus: outcome?.toolStatus,
    rows: outcome?.rows,
    bytes: outcome?.bytes,
    startedAt: step.startedAt,
    endedAt: outcome?.endedAt,
    durationMs: outcome?.durationMs,
    reason: outcome?.reason,
    error: outcome?.error,
    warning: outcome?.warning,
    reconciled: outcome?.reconciled,
    inferred: step.outcome === undefined && outcome !== undefined ? true : undefined,
  }) as StepRecord;
}

/** Plan order (stage, then step); what the plan does not name goes after, by stage then step name. */
function orderSteps(steps: StepFacts[], stages: readonly RunPlanStage[] | undefined): StepFacts[] {
  const stageIndex = new Map<string, number>();
  const stepIndex = new Map<string, number>();
  stages?.forEach((stage, s) => {
    if (!stageIndex.has(stage.name)) stageIndex.set(stage.name, s);
    stage.steps.forEach((step, t) => {
      const key = stepKey(stage.name, step.name);
      if (!stepIndex.has(key)) stepIndex.set(key, t);
    });
  });
  const position = (step: StepFacts): [number, number] => [
    stageIndex.get(step.stage) ?? Number.POSITIVE_INFINITY,
    stepIndex.get(stepKey(step.stage, step.step)) ?? Number.POSITIVE_INFINITY,
  ];
  return steps.sort((a, b) => {
    const [as, at] = position(a);
    const [bs, bt] = position(b);
    return (
      compareNumbers(as, bs) ||
      compareStrings(a.stage, b.stage) ||
      compareNumbers(at, bt) ||
      compareStrings(a.step, b.step)
    );
  });
}

// ---------------------------------------------------------------------------------------------
// helpers

function stepKey(stage: string, step: string): string {
  return JSON.stringify([stage, step]);
}

/** An object without its undefined properties (records are stored as JSON: absent, never undefined). */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** JSON with object keys sorted: equal values give equal strings. */
function canonical(value: unknown): string {
  return (
    JSON.stringify(value, (_key, v: unknown) =>
      v !== null && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => compareStrings(a, b)))
        : v,
    ) ?? ""
  );
}

/** By instant, then by text (the same instant written with another offset): a total order. */
function compareTime(a: string, b: string): number {
  const byInstant = Date.parse(a) - Date.parse(b);
  return (Number.isNaN(byInstant) ? 0 : Math.sign(byInstant)) || compareStrings(a, b);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareNumbers(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
