import { lockInputSchema, runLock } from "@tapestry/core/pipeline";
import { type PipelineHandlerDeps, pipelineTaskHandler } from "./task-handler";

/** Tasks AcquireRunLock and ReleaseRunLock*: the pipeline's run lock and its overlap policy. */
export const createRunLockHandler = (deps: PipelineHandlerDeps) =>
  pipelineTaskHandler(lockInputSchema, deps, (input, { core }) => runLock(input, core));
