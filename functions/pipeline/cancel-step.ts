import { cancelStep, cancelStepInputSchema } from "@tapestry/core/pipeline";
import { type PipelineHandlerDeps, pipelineTaskHandler, recordStepOutcome } from "./task-handler";

/** Tasks CancelTimedOutJob and CancelAbandonedJob: cancel a step's external job, then end the step. */
export const createCancelStepHandler = (deps: PipelineHandlerDeps) =>
  pipelineTaskHandler(cancelStepInputSchema, deps, async (input, { core, metrics }, invocation) => {
    const job = await cancelStep(input, core, invocation);
    recordStepOutcome(metrics, input.pipeline, job);
    return job;
  });
