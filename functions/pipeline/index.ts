export { createCancelStepHandler } from "./cancel-step";
export { createPollStepHandler } from "./poll-step";
export { createPublishEventHandler } from "./publish-event";
export {
  createReconcileRunHandler,
  executionStatusChangeSchema,
  type ReconcileRunDeps,
} from "./reconcile-run";
export { createRunLockHandler } from "./run-lock";
export { createStartScheduledRunHandler, type StartScheduledRunDeps } from "./start-scheduled-run";
export { createStartStepHandler } from "./start-step";
export {
  type Invocation,
  type PipelineHandlerDeps,
  pipelineTaskHandler,
  type TaskLambda,
} from "./task-handler";
