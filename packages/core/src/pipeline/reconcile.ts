import type { PipelineSpec, StepSpec } from "../config";
import type { CallOptions, JobStatus } from "../connectors/types";
import { createEvent, type EventPublisher, type RunFailureReason } from "../events";
import type { RunLedger, RunRecord } from "../ledger";
import type { Logger } from "../logging";
import { closeStep, type StepClosing } from "./close-step";
import { parseRunId } from "./run-id";

/**
 * How a run's execution ended outside the state machine's own paths: stopped (by a cancel request,
 * by hand, or with the process that ran it), past its TimeoutSeconds, past Step Functions' history
 * limit, or failed where no Catch took it.
 */
export type ExecutionEnding = Extract<RunFailureReason, "aborted" | "timed-out" | "history-limit" | "error">;

export interface ReconcileInput {
  readonly runId: string;
  readonly ending: ExecutionEnding;
  /** what the engine or the caller knows of it, e.g. the execution's error and cause */
  readonly detail?: string;
  /**
   * The state machine published the run's outcome before its execution failed (it failed only to
   * say so, or because the lock could not be released): the reconciler frees the lock and states
   * nothing, though the ledger may not show the outcome yet.
   */
  readonly outcomePublished?: boolean;
}

/**
 * The errors of the pipeline-run state machine's Fail states (state-machines/src/pipeline-run.ts):
 * the first two end an execution whose outcome was published, the last one whose outcome was not.
 */
export const RUN_EXECUTION_ERRORS = {
  failedAndPublished: "PipelineRunFailed",
  succeededLockKept: "RunLockNotReleased",
  failedUnpublished: "PipelineRunOutcomeUnpublished",
} as const;
const OUTCOME_PUBLISHED: ReadonlySet<string> = new Set([
  RUN_EXECUTION_ERRORS.failedAndPublished,
  RUN_EXECUTION_ERRORS.succeededLockKept,
]);

export interface ReconcileDeps {
  readonly ledger: Pick<RunLedger, "getRun" | "releaseRunLock">;
  readonly publisher: EventPublisher;
  readonly connectors: { cancel(step: StepSpec, externalId: string, call: CallOptions): Promise<JobStatus> };
  /** the pipeline's spec by name (its steps tell the connectors what a job is) */
  readonly pipeline: (name: string) => PipelineSpec | undefined;
  readonly now: () => Date;
  readonly logger: Logger;
  /** the tools' jobs still running: cancel them (default), or leave them running and say so */
  readonly jobs?: "cancel" | "leave";
  /** how long one job's cancel may take before it is reported as not cancelled (default 20 s) */
  readonly cancelTimeoutMs?: number;
}

export interface ReconcileResult {
  readonly runId: string;
  /** already-ended: the ledger held an outcome, or the state machine had published it; only the lock was made sure of */
  readonly outcome: "already-ended" | "failed" | "cancelled";
  /** steps whose job it cancelled */
  readonly cancelled: readonly string[];
  /** steps whose job had ended by itself: the job's own outcome is the step's */
  readonly ended: readonly string[];
  /** steps whose job could not be cancelled, or was left running on purpose, with why */
  readonly notCancelled: readonly {
    readonly step: string;
    readonly externalId?: string;
    readonly why: string;
  }[];
}

const NOTHING_CLOSED = { cancelled: [], ended: [], notCancelled: [] } as const;

const TERMINAL = new Set<RunRecord["status"]>(["succeeded", "failed", "cancelled", "skipped"]);

const ENDINGS: Record<ExecutionEnding, string> = {
  aborted: "the run's execution was stopped before it finished",
  "timed-out": "the run's execution ran past its time limit (the state machine's TimeoutSeconds)",
  "history-limit":
    "the run's execution passed Step Functions' limit of 25,000 history events: make its steps' pollIntervalSeconds longer or their timeoutMinutes shorter (docs/performance.md)",
  error: "the run's execution failed outside the state machine's own paths",
};

/**
 * Gives a run whose execution ended outside the state machine's paths its one recorded outcome:
 * every step it left going is closed (its job cancelled, or, if the job had ended by itself, the
 * job's own outcome recorded), then PipelineRunCancelled (when a cancel was asked for) or
 * PipelineRunFailed with the reason, then the run lock and the run's place in the queue are
 * released. The same on AWS (Step Functions' status change events) and embedded (runs of a process
 * that is gone, runs stopped with the process).
 *
 * Idempotent: a run the ledger already shows ended gets its lock released and nothing else, and a
 * second delivery halfway through finishes what the first left. What the reconciler states is
 * marked `reconciled`, so an outcome the state machine stated itself (published just before the
 * end, not yet projected) stays the truth.
 */
export async function reconcileRun(input: ReconcileInput, deps: ReconcileDeps): Promise<ReconcileResult> {
  const run = await deps.ledger.getRun(input.runId);
  const pipelineName = run?.pipeline ?? parseRunId(input.runId)?.pipeline;
  if (pipelineName === undefined) {
    deps.logger.warn("reconcile: not a run id, nothing to do", { runId: input.runId });
    return { runId: input.runId, outcome: "already-ended", ...NOTHING_CLOSED };
  }
  const release = () => deps.ledger.releaseRunLock({ pipeline: pipelineName, runId: input.runId });
  if ((run && TERMINAL.has(run.status)) || input.outcomePublished) {
    await release();
    return { runId: input.runId, outcome: "already-ended", ...NOTHING_CLOSED };
  }

  const spec = deps.pipeline(pipelineName);
  const going = (run?.steps ?? []).filter((step) => step.status === "running");
  const why = `the run ended (${input.ending})`;
  const closings = await Promise.all(going.map((step) => closeStep(step, spec, input.runId, why, deps)));
  const now = deps.now();
  const context = { pipeline: pipelineName, now };
  const stepEvents = closings.map((c) => c.event);
  if (stepEvents.length > 0) await deps.publisher.publish(stepEvents);

  const stepsWhose = (fate: StepClosing["fate"]) =>
    closings.filter((c) => c.fate === fate).map((c) => c.step);
  const closed = { cancelled: stepsWhose("cancelled"), ended: stepsWhose("ended") };
  const notCancelled = closings.flatMap((c) => (c.problem ? [c.problem] : []));
  const notCancelledText =
    notCancelled.length > 0
      ? `not cancelled: ${notCancelled.map((p) => `${p.step}${p.externalId ? ` (job ${p.externalId})` : ""}: ${p.why}`).join("; ")}`
      : undefined;
  const timing = {
    startedAt: run?.startedAt,
    endedAt: now.toISOString(),
    durationMs: run?.startedAt ? Math.max(0, now.getTime() - Date.parse(run.startedAt)) : undefined,
  };

  const cancelled = run?.cancelRequestedAt !== undefined && input.ending === "aborted";
  if (cancelled) {
    await deps.publisher.publish([
      createEvent(
        "PipelineRunCancelled",
        { runId: input.runId, ...timing, cancelledSteps: closed.cancelled, error: notCancelledText },
        context,
      ),
    ]);
  } else {
    const error = [`${input.ending}: ${ENDINGS[input.ending]}`, input.detail, notCancelledText]
      .filter(Boolean)
      .join("; ");
    await deps.publisher.publish([
      createEvent(
        "PipelineRunFailed",
        {
          runId: input.runId,
          ...timing,
          failedSteps: going.map((step) => step.step),
          error,
          reason: input.ending,
          reconciled: true,
        },
        context,
      ),
    ]);
  }
  await release();
  deps.logger.info("run reconciled", {
    runId: input.runId,
    ending: input.ending,
    outcome: cancelled ? "cancelled" : "failed",
    ...closed,
    notCancelled: notCancelled.map((p) => p.step),
  });
  return { runId: input.runId, outcome: cancelled ? "cancelled" : "failed", ...closed, notCancelled };
}

/**
 * An execution of the pipeline-run state machine that ended in one of the statuses the run
 * reconciler handles (Step Functions' "Execution Status Change" event, or the embedded runner's
 * outcome), with the error and cause the engine recorded when it has them.
 */
export interface ExecutionEnd {
  readonly runId: string;
  readonly status: "FAILED" | "TIMED_OUT" | "ABORTED";
  readonly error?: string | null;
  readonly cause?: string | null;
}

/**
 * The reason a run failed, from how its execution ended. Step Functions fails an execution that
 * passes its 25,000-event history with a message naming the history; any other failure outside
 * the state machine's Catch clauses is `error`. (A run that failed by its own paths ends FAILED
 * too, with its outcome already published, which its error says: the reconciler only frees its
 * lock.)
 */
export function reconcileInputOf(end: ExecutionEnd): ReconcileInput {
  const said = [end.error, end.cause].filter((part): part is string => Boolean(part)).join(": ");
  const detail = said
    ? `Step Functions: ${said.length > 500 ? `${said.slice(0, 497)}...` : said}`
    : undefined;
  switch (end.status) {
    case "ABORTED":
      return { runId: end.runId, ending: "aborted", detail };
    case "TIMED_OUT":
      return { runId: end.runId, ending: "timed-out", detail };
    case "FAILED":
      return {
        runId: end.runId,
        ending: /history/i.test(said) && /25,?000|limit|quota|exceed/i.test(said) ? "history-limit" : "error",
        detail,
        ...(end.error && OUTCOME_PUBLISHED.has(end.error) ? { outcomePublished: true } : {}),
      };
  }
}
