import { pollStep, pollStepInputSchema } from "@tapestry/core/pipeline";
import { type PipelineHandlerDeps, pipelineTaskHandler, recordStepOutcome } from "./task-handler";

/** Task PollStep: reads a step's external job once. */
export const createPollStepHandler = (deps: PipelineHandlerDeps) =>
  pipelineTaskHandler(pollStepInputSchema, deps, async (input, { core, metrics }, invocation) => {
    const job = await pollStep(input, core, invocation);
    recordStepOutcome(metrics, input.pipeline, job);
    return job;
  });
