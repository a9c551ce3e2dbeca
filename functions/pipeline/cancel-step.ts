import { cancelStep, cancelStepInputSchema } from "@tapestry/core/pipeline";
import { type PipelineHandlerDeps, pipelineTaskHandler } from "./task-handler";

/** Tasks CancelTimedOutJob and CancelAbandonedJob: cancel a step's external job, then end the step. */
export const createCancelStepHandler = (deps: PipelineHandlerDeps) =>
  pipelineTaskHandler(cancelStepInputSchema, deps, async (input, { core }, invocation) =>
    cancelStep(input, core, invocation),
  );
