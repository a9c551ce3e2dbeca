/** Lambda for the pipeline-run tasks CancelTimedOutJob and CancelAbandonedJob: cancels a step's job on its tool. */
import { createCancelStepHandler } from "../pipeline/cancel-step";
import { pipelineHandlerDeps } from "./runtime";

export const handler = createCancelStepHandler(pipelineHandlerDeps());
