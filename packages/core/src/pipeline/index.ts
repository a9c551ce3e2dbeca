export {
  PIPELINE_RUN_FUNCTIONS,
  type PipelineRunFunction,
  substituteAslPlaceholders,
  taskResources,
} from "./asl";
export { DEFAULT_PIPELINE_SETTINGS, type PipelineDeps, type PipelineSettings } from "./deps";
export { applyStepGuards } from "./guards";
export { queueEntry } from "./queue";
export {
  type ExecutionEnd,
  type ExecutionEnding,
  type ReconcileDeps,
  type ReconcileInput,
  type ReconcileResult,
  reconcileInputOf,
  reconcileRun,
} from "./reconcile";
export { manualRunId, parseRunId, runRequestedAt, scheduledRunId } from "./run-id";
export { publishRunEvent, runLock, runLockLifetimeMinutes } from "./run-tasks";
export {
  type ScheduledRunDeps,
  type ScheduledRunInput,
  type ScheduledRunResult,
  scheduledRunInputSchema,
  startScheduledRun,
} from "./scheduled-run";
export { cancelStep, pollStep, startStep, stepErrored } from "./step-tasks";
export { describeTaskError } from "./task-error";
export * from "./task-io";
export { DEADLINE_MARGIN_MS, TASK_FUNCTION_TIMEOUT_SECONDS, TASK_TIMEOUT_SLACK_SECONDS } from "./timeouts";
