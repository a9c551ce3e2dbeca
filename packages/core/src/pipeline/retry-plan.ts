import type { PipelineSpec } from "../config/schema";
import { TapestryError } from "../errors";
import type { EventData, RunTrigger } from "../events";
import type { RunRecord } from "../ledger/port";

/**
 * A retry is a new run of a run that did not succeed, from the first stage that did not succeed
 * in it: the stages before that one are skipped (they succeeded in the run retried), that stage
 * and every later one run. The trigger carries it (`{ kind: "retry", retryOf, fromStage }`), so
 * the execution input of a retry is the input of any run.
 */

/** A retry's fromStage is no stage of the pipeline it runs: the config changed since it was asked for. */
export class RetryStageUnknownError extends TapestryError {
  override readonly name = "RetryStageUnknownError";
  constructor(
    readonly pipeline: string,
    readonly stage: string,
  ) {
    super(
      `the retry starts at stage "${stage}", which pipeline "${pipeline}" no longer has: start a new run of the whole pipeline instead`,
    );
  }
}

/** What a run runs: every stage from the first to run on, and the plan with the stages it skips. */
export interface RunPlan {
  /** the stages this run runs, in order */
  readonly stages: PipelineSpec["stages"];
  /** every stage, the skipped ones marked (PipelineRunStarted's `stages`) */
  readonly announced: EventData<"PipelineRunStarted">["stages"];
}

/** The run's plan: all stages for a scheduled or manual run, from `fromStage` on for a retry. */
export function runPlan(pipeline: PipelineSpec, trigger: RunTrigger): RunPlan {
  const from = firstStageIndex(pipeline, trigger);
  const retryOf = trigger.retryOf;
  return {
    stages: pipeline.stages.slice(from),
    announced: pipeline.stages.map((stage, index) => ({
      name: stage.name,
      steps: stage.steps.map((step) => ({ name: step.name, tool: step.tool })),
      ...(index < from && retryOf !== undefined
        ? { skipped: { reason: `succeeded in ${retryOf}`, succeededIn: retryOf } }
        : {}),
    })),
  };
}

function firstStageIndex(pipeline: PipelineSpec, trigger: RunTrigger): number {
  if (trigger.kind !== "retry" || trigger.fromStage === undefined) return 0;
  const index = pipeline.stages.findIndex((stage) => stage.name === trigger.fromStage);
  if (index < 0) throw new RetryStageUnknownError(pipeline.name, trigger.fromStage);
  return index;
}

/**
 * The stage a retry of `run` starts at: the first stage of its plan that it neither skipped (a
 * retry's earlier stages) nor finished with every step succeeded; undefined when every stage
 * succeeded (a run that failed after its last stage, e.g. announcing its end: nothing to rerun).
 */
export function retryFromStage(run: RunRecord, pipeline: PipelineSpec): string | undefined {
  const stages = run.stages ?? pipeline.stages;
  for (const stage of stages) {
    if ("skipped" in stage && stage.skipped) continue;
    const succeeded = stage.steps.every((step) =>
      run.steps.some((s) => s.stage === stage.name && s.step === step.name && s.status === "succeeded"),
    );
    if (!succeeded) return stage.name;
  }
  return undefined;
}
