import type { PipelineSpec } from "../config";
import { endedOnItsOwn } from "../connectors/job-status";
import type { JobStatus } from "../connectors/types";
import { createEvent, type TapestryEvent } from "../events";
import type { StepRecord } from "../ledger";
import { applyStepGuards } from "./guards";
import type { ReconcileDeps, ReconcileResult } from "./reconcile";
import { parseRunId } from "./run-id";
import { stepEndEvent } from "./step-end";

export type CloseStepDeps = Pick<ReconcileDeps, "connectors" | "now" | "logger" | "jobs" | "cancelTimeoutMs">;

export interface StepClosing {
  readonly step: string;
  readonly event: TapestryEvent;
  /** cancelled by us, ended by itself, or (with the problem) still running as far as we know */
  readonly fate: "cancelled" | "ended" | "not-cancelled";
  readonly problem?: ReconcileResult["notCancelled"][number];
}

/**
 * Cancels (or leaves, as the config says) one step's job of a run whose execution is over, and
 * says what became of the step: its StepFailed (reason aborted; `why` opens its error), or the
 * job's own outcome when it had ended by itself.
 */
export async function closeStep(
  step: StepRecord,
  spec: PipelineSpec | undefined,
  runId: string,
  why: string,
  deps: CloseStepDeps,
): Promise<StepClosing> {
  const stepSpec = spec?.stages.flatMap((stage) => stage.steps).find((s) => s.name === step.step);
  const ref = { runId: runId, stage: step.stage, step: step.step, tool: step.tool };
  const aborted = (error: string, problem?: StepClosing["problem"]): StepClosing => {
    const now = deps.now();
    return {
      step: step.step,
      fate: problem === undefined ? "cancelled" : "not-cancelled",
      problem,
      event: createEvent(
        "StepFailed",
        {
          ...ref,
          externalId: step.externalId,
          url: step.url,
          reason: "aborted",
          error,
          startedAt: step.startedAt,
          endedAt: now.toISOString(),
          durationMs: step.startedAt ? Math.max(0, now.getTime() - Date.parse(step.startedAt)) : undefined,
          reconciled: true,
        },
        { pipeline: spec?.name ?? parseRunId(runId)?.pipeline ?? "", now },
      ),
    };
  };
  const { externalId } = step;
  if (externalId === undefined) {
    return aborted(`${why} while the step was starting its ${step.tool} job: no job id was recorded`, {
      step: step.step,
      why: "no job id was recorded (the start was in flight): look for it in the tool",
    });
  }
  if (deps.jobs === "leave") {
    return aborted(`${why}; its ${step.tool} job ${externalId} was left running (reconcile: leave)`, {
      step: step.step,
      externalId,
      why: "left running on purpose (reconcile: leave)",
    });
  }
  if (stepSpec === undefined) {
    return aborted(
      `${why}; its ${step.tool} job ${externalId} could not be cancelled: the step is no longer in the config`,
      {
        step: step.step,
        externalId,
        why: "the step is no longer in the config",
      },
    );
  }
  let status: JobStatus;
  try {
    // the HTTP client stops at the deadline; the timeout is the backstop for anything else that hangs
    const limitMs = deps.cancelTimeoutMs ?? 20_000;
    status = await withTimeout(
      deps.connectors.cancel(stepSpec, externalId, { deadline: deps.now().getTime() + limitMs }),
      limitMs,
    );
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    deps.logger.error("reconcile: cancelling a job failed", {
      runId: runId,
      step: step.step,
      externalId,
      error: message,
    });
    return aborted(`${why}; cancelling its ${step.tool} job ${externalId} failed: ${message}`, {
      step: step.step,
      externalId,
      why: message,
    });
  }
  // The job ended by itself before the cancel: its own outcome, judged by the step's guards
  // (minRows) as a poll would have, is the step's.
  if (endedOnItsOwn(status)) {
    return {
      step: step.step,
      fate: "ended",
      event: stepEndEvent({
        ...ref,
        pipeline: spec?.name ?? "",
        externalId,
        url: step.url,
        startedAt: step.startedAt ?? deps.now().toISOString(),
        status: applyStepGuards(stepSpec, status),
        now: deps.now(),
      }),
    };
  }
  const fate =
    status.state === "cancelled"
      ? `was cancelled (${status.toolStatus})`
      : `was asked to stop (it reports ${status.toolStatus} for now)`;
  return aborted(`${why}; its ${step.tool} job ${externalId} ${fate}`);
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    const limit = ms < 1000 ? `${ms} ms` : `${ms / 1000} s`;
    timer = setTimeout(() => reject(new Error(`no answer within ${limit}`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
