/** Lambda for the pipeline-run task PollStep: reads a step's job on its tool once. */
import { createPollStepHandler } from "../pipeline/poll-step";
import { pipelineHandlerDeps } from "./runtime";

export const handler = createPollStepHandler(pipelineHandlerDeps());
