import type { JobStatus } from "../connectors/types";
import type { ToolName } from "../errors";
import { createEvent, type EventOf, type StepFailureReason } from "../events";

/** A step whose job has ended, and how: what its StepSucceeded or StepFailed is made of. */
export interface StepEnd {
  readonly pipeline: string;
  readonly runId: string;
  readonly stage: string;
  readonly step: string;
  readonly tool: ToolName;
  readonly externalId: string;
  readonly url?: string;
  readonly startedAt: string;
  /** the job's final status: succeeded gives StepSucceeded, anything else StepFailed */
  readonly status: JobStatus;
  /** the failure's reason when the caller knows better than the tool (timeout, error) */
  readonly reason?: StepFailureReason;
  readonly now: Date;
}

/**
 * The event that ends a step, from its job's final status: one place for what a step's end says
 * (the step tasks publish it as the job ends; the run reconciler when it finds a job that had
 * ended by itself).
 */
export function stepEndEvent(end: StepEnd): EventOf<"StepSucceeded"> | EventOf<"StepFailed"> {
  const { status, now } = end;
  const common = {
    runId: end.runId,
    stage: end.stage,
    step: end.step,
    tool: end.tool,
    externalId: end.externalId,
    url: status.url ?? end.url,
    toolStatus: status.toolStatus,
    rows: status.rows,
    bytes: status.bytes,
    startedAt: end.startedAt,
    endedAt: now.toISOString(),
    durationMs: Math.max(0, now.getTime() - Date.parse(end.startedAt)),
  };
  const context = { pipeline: end.pipeline, now };
  if (status.state === "succeeded") {
    return createEvent("StepSucceeded", { ...common, warning: status.error }, context);
  }
  return createEvent(
    "StepFailed",
    {
      ...common,
      reason: end.reason ?? status.reason ?? (status.state === "cancelled" ? "cancelled" : "failed"),
      error: status.error ?? `${end.tool} job ${end.externalId} ended as ${status.toolStatus}`,
    },
    context,
  );
}
