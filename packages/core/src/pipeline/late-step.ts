import type { TapestryEvent } from "../events";
import type { StepRecord } from "../ledger";
import { type CloseStepDeps, closeStep } from "./close-step";
import type { ReconcileDeps } from "./reconcile";
import { parseRunId } from "./run-id";

export interface LateStepDeps extends CloseStepDeps {
  readonly ledger: Pick<ReconcileDeps["ledger"], "getRun">;
  readonly publisher: ReconcileDeps["publisher"];
  readonly pipeline: ReconcileDeps["pipeline"];
  /** whether the run's execution is still going (then the state machine watches the job) */
  readonly executionGoing: (runId: string) => Promise<boolean>;
}

export type LateStepOutcome =
  /** the run's execution is going: it watches its own jobs */
  | "watched"
  /** the ledger has the step's own outcome for this job already */
  | "already-ended"
  | "cancelled"
  | "ended"
  | "not-cancelled";

/**
 * A StepStarted that came after its run's execution was over: the start task was still in flight
 * when the execution was stopped (a cancel, a stop by hand) or ended, and the reconciler, which
 * closes the steps the ledger shows going, could not see it. Its job is cancelled (or left, as the
 * config says) and the step gets its outcome, as the reconciler would have given it; a second
 * delivery changes nothing (one fact per step, cancel is idempotent).
 */
export async function closeLateStep(event: TapestryEvent, deps: LateStepDeps): Promise<LateStepOutcome> {
  if (event["detail-type"] !== "StepStarted") return "watched";
  const started = event.detail.data;
  if (await deps.executionGoing(started.runId)) return "watched";
  const run = await deps.ledger.getRun(started.runId);
  const known = run?.steps.find((s) => s.stage === started.stage && s.step === started.step);
  if (known && known.status !== "running" && !known.inferred && known.externalId === started.externalId) {
    return "already-ended";
  }
  const step: StepRecord = {
    stage: started.stage,
    step: started.step,
    tool: started.tool,
    status: "running",
    externalId: started.externalId,
    url: started.url,
    attached: started.attached,
    startedAt: started.startedAt,
  };
  const closing = await closeStep(
    step,
    deps.pipeline(event.detail.metadata.pipeline ?? parseRunId(started.runId)?.pipeline ?? ""),
    started.runId,
    "the run's execution was over when the step's job started",
    deps,
  );
  await deps.publisher.publish([closing.event]);
  deps.logger.warn("a step started after its run ended: its job was closed", {
    runId: started.runId,
    step: started.step,
    externalId: started.externalId,
    fate: closing.fate,
  });
  return closing.fate;
}
