/** Lambda for the pipeline-run task StartStep: starts (or adopts) a step's job on its tool. */
import { createStartStepHandler } from "../pipeline/start-step";
import { deferredEventPublisher } from "./runtime/bus";
import { deferredConnectors } from "./runtime/connectors";
import { pipelineTaskDeps } from "./runtime/pipeline-task";

export const handler = createStartStepHandler(
  pipelineTaskDeps("start-step", { connectors: deferredConnectors(), publisher: deferredEventPublisher() }),
);
