export {
  AslPlaceholderError,
  fillPipelineRunDefinition,
  PIPELINE_RUN_FUNCTIONS,
  type PipelineRunFunction,
  type PipelineRunValues,
  RUN_TIMEOUT_PLACEHOLDER,
  substituteAslPlaceholders,
  taskResources,
} from "./asl";
export {
  type AwaitWebhookResult,
  awaitWebhook,
  WebhookCompletionUnsupportedError,
} from "./await-webhook";
export {
  definitionTimeoutSeconds,
  HISTORY_EVENT_BUDGET,
  HISTORY_EVENT_LIMIT,
  HISTORY_EVENTS,
  HISTORY_EVENTS_PER_FALLBACK_POLL,
  HISTORY_EVENTS_PER_LOCK_ASK,
  HISTORY_EVENTS_PER_POLL,
  LONGEST_PATH_EVENTS,
  lockAsks,
  MAX_QUEUE_POLLS,
  MAX_RUN_TIMEOUT_SECONDS,
  pipelineBoundsIssues,
  queueTimeoutSeconds,
  queueWaitSeconds,
  runHistoryEvents,
  runHoldSeconds,
  runTimeoutSeconds,
  stepHistoryEvents,
  stepPolls,
  stepSeconds,
} from "./bounds";
export { DEFAULT_PIPELINE_SETTINGS, type PipelineDeps, type PipelineSettings } from "./deps";
export { applyStepGuards } from "./guards";
export { closeLateStep, type LateStepDeps, type LateStepOutcome } from "./late-step";
export { queueEntry } from "./queue";
export {
  type ExecutionEnd,
  type ExecutionEnding,
  type ReconcileDeps,
  type ReconcileInput,
  type ReconcileResult,
  RUN_EXECUTION_ERRORS,
  reconcileInputOf,
  reconcileRun,
} from "./reconcile";
export { RetryStageUnknownError, type RunPlan, retryFromStage, runPlan } from "./retry-plan";
export { manualRunId, parseRunId, runRequestedAt, scheduledRunId } from "./run-id";
export { publishRunEvent, runLock, runLockLifetimeMinutes } from "./run-tasks";
export {
  type ScheduledRunDeps,
  type ScheduledRunInput,
  type ScheduledRunResult,
  scheduledRunInputSchema,
  startScheduledRun,
} from "./scheduled-run";
export {
  cancelStep,
  type PollOrigin,
  pollStep,
  type StepPollDeps,
  startStep,
  stepErrored,
} from "./step-tasks";
export { describeTaskError } from "./task-error";
export {
  LAMBDA_TRANSIENT_ERRORS,
  mayHaveActedNames,
  PIPELINE_RUN_TASKS,
  type PipelineRunTask,
  RETRY_CLASSES,
  retriedErrorNames,
  retryPausesSeconds,
  TASK_RETRY_POLICY,
  type TapestryErrorClass,
  type TaskErrors,
  type TaskKind,
} from "./task-errors";
export * from "./task-io";
export {
  DEADLINE_MARGIN_MS,
  TASK_FUNCTION_TIMEOUT_SECONDS,
  TASK_TIMEOUT_SLACK_SECONDS,
  taskStateTimeoutSeconds,
} from "./timeouts";
