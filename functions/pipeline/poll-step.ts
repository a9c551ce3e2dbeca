import { pollStep, pollStepInputSchema } from "@tapestry/core/pipeline";
import { type PipelineHandlerDeps, pipelineTaskHandler } from "./task-handler";

/** Task PollStep: reads a step's external job once. */
export const createPollStepHandler = (deps: PipelineHandlerDeps) =>
  pipelineTaskHandler(pollStepInputSchema, deps, async (input, { core }, invocation) =>
    pollStep(input, core, invocation),
  );
