/** Lambda for the pipeline-run tasks AcquireRunLock and ReleaseRunLock*: the ledger's run lock, PipelineRunSkipped on the bus. */
import { createRunLockHandler } from "../pipeline/run-lock";
import { pipelineHandlerDeps } from "./runtime";

export const handler = createRunLockHandler(pipelineHandlerDeps());
