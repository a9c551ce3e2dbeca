import { retryFromStage } from "../pipeline/retry-plan";
import { NothingToRetryError, RunNotEndedError, RunNotFoundError } from "./errors";
import { findPipeline, type RunRequestContext, startRequestedRun, type TriggerAccepted } from "./service";

/**
 * POST /runs/{runId}/retry: a new run of the same pipeline from the first stage that did not
 * succeed in the run (failed, cancelled, timed out, or never started), under the same overlap
 * rules as a manual run. Its trigger records `retryOf` and `fromStage`; its PipelineRunStarted
 * announces the earlier stages skipped ("succeeded in <runId>").
 */
export interface RetryAccepted extends TriggerAccepted {
  readonly retryOf: string;
  readonly fromStage: string;
}

export async function retryRun(ctx: RunRequestContext, runId: string): Promise<RetryAccepted> {
  const run = await ctx.ledger.getRun(runId);
  if (!run) throw new RunNotFoundError(runId);
  if (run.status === "running" || run.status === "queued") throw new RunNotEndedError(runId, run.status);
  if (run.status === "succeeded") throw new NothingToRetryError(runId, "succeeded");
  const spec = findPipeline(ctx.config, run.pipeline);
  const fromStage = retryFromStage(run, spec);
  if (fromStage === undefined) throw new NothingToRetryError(runId, "succeeded in every stage");
  if (!spec.stages.some((stage) => stage.name === fromStage)) {
    throw new NothingToRetryError(
      runId,
      `stopped at stage "${fromStage}", which pipeline "${spec.name}" no longer has`,
    );
  }
  const accepted = await startRequestedRun(ctx, spec, { kind: "retry", retryOf: runId, fromStage });
  return { ...accepted, retryOf: runId, fromStage };
}
