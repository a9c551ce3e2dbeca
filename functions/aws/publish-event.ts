/** Lambda for the pipeline-run tasks Publish* and StepErrored: the run's own events, put on the bus. */
import { createPublishEventHandler } from "../pipeline/publish-event";
import { pipelineHandlerDeps } from "./runtime";

export const handler = createPublishEventHandler(pipelineHandlerDeps());
