/** Lambda for the pipeline-run task PollStep: reads a step's job on its tool once. */
import { createPollStepHandler } from "../pipeline/poll-step";
import { deferredEventPublisher } from "./runtime/bus";
import { deferredConnectors } from "./runtime/connectors";
import { pipelineTaskDeps } from "./runtime/pipeline-task";

export const handler = createPollStepHandler(
  pipelineTaskDeps("poll-step", { connectors: deferredConnectors(), publisher: deferredEventPublisher() }),
);
