/** Lambda for the pipeline-run tasks Publish* and StepErrored: the run's own events, put on the bus. */
import { createPublishEventHandler } from "../pipeline/publish-event";
import { deferredEventPublisher } from "./runtime/bus";
import { pipelineTaskDeps } from "./runtime/pipeline-task";

export const handler = createPublishEventHandler(
  pipelineTaskDeps("publish-event", { publisher: deferredEventPublisher() }),
);
