import { startStep, startStepInputSchema } from "@tapestry/core/pipeline";
import { type PipelineHandlerDeps, pipelineTaskHandler } from "./task-handler";

/** Task StartStep: starts (or adopts) a step's external job. */
export const createStartStepHandler = (deps: PipelineHandlerDeps) =>
  pipelineTaskHandler(startStepInputSchema, deps, (input, { core }, invocation) =>
    startStep(input, core, invocation),
  );
