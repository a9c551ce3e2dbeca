import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { publishRunEvent, runEventInputSchema } from "@tapestry/core/pipeline";
import { type PipelineHandlerDeps, pipelineTaskHandler } from "./task-handler";

/** Tasks Publish*: the run's own events (started, succeeded, failed) and steps whose task failed. */
export const createPublishEventHandler = (deps: PipelineHandlerDeps) =>
  pipelineTaskHandler(runEventInputSchema, deps, async (input, { core, metrics }) => {
    const result = await publishRunEvent(input, core);
    if (input.event === "PipelineRunSucceeded" || input.event === "PipelineRunFailed") {
      metrics.addDimension("Pipeline", input.pipeline);
      metrics.addMetric(
        input.event === "PipelineRunSucceeded" ? "RunSucceeded" : "RunFailed",
        MetricUnit.Count,
        1,
      );
    }
    return result;
  });
