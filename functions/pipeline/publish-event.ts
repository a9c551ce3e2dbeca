import { publishRunEvent, runEventInputSchema } from "@tapestry/core/pipeline";
import { type PipelineHandlerDeps, pipelineTaskHandler } from "./task-handler";

/**
 * Tasks Publish*: the run's own events (started, succeeded, failed) and steps whose task failed.
 * The run's metrics are the metrics recorder's, from these events (functions/alerts).
 */
export const createPublishEventHandler = (deps: PipelineHandlerDeps) =>
  pipelineTaskHandler(runEventInputSchema, deps, async (input, { core }) => publishRunEvent(input, core));
