import { pollStep, pollStepInputSchema } from "@tapestry/core/pipeline";
import { type PipelineHandlerDeps, pipelineTaskHandler, recordStepOutcome } from "./task-handler";

/** Task PollStep: reads a step's external job once. */
export const createPollStepHandler = (deps: PipelineHandlerDeps) =>
  pipelineTaskHandler(pollStepInputSchema, deps, async (input, { core, metrics }) => {
    const job = await pollStep(input, core);
    recordStepOutcome(metrics, input.pipeline, job);
    return job;
  });
