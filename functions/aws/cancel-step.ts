/** Lambda for the pipeline-run tasks CancelTimedOutJob and CancelAbandonedJob: cancels a step's job on its tool. */
import { createCancelStepHandler } from "../pipeline/cancel-step";
import { deferredEventPublisher } from "./runtime/bus";
import { deferredConnectors } from "./runtime/connectors";
import { pipelineTaskDeps } from "./runtime/pipeline-task";

export const handler = createCancelStepHandler(
  pipelineTaskDeps("cancel-step", { connectors: deferredConnectors(), publisher: deferredEventPublisher() }),
);
