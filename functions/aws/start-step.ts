/** Lambda for the pipeline-run task StartStep: starts (or adopts) a step's job on its tool. */
import { createStartStepHandler } from "../pipeline/start-step";
import { pipelineHandlerDeps } from "./runtime";

export const handler = createStartStepHandler(pipelineHandlerDeps());
