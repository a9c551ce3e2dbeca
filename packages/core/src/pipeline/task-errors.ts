import { ToolNotConfiguredError } from "../connectors/registry";
import {
  EventPublishError,
  LedgerUnavailableError,
  SecretNotSetError,
  SecretReadError,
  SecretUnavailableError,
  type TapestryError,
  ToolAuthError,
  ToolRequestError,
  ToolResponseError,
  ToolTriggerUncertainError,
  ToolUnavailableError,
} from "../errors";
import { LedgerDamagedError, RunLockContendedError } from "../ledger/errors";
import type { PipelineRunFunction } from "./asl";
import { WebhookCompletionUnsupportedError } from "./await-webhook";
import { RetryStageUnknownError } from "./retry-plan";

/**
 * What the pipeline-run state machine may retry, and what each of its tasks can throw. The ASL
 * generator (state-machines/src) builds every Task state's Retry from this module, and
 * test/unit/asl checks each error against the generated Retry and Catch, so a task that learns
 * to throw a new error, or a renamed error class, cannot slip past the state machine unnoticed.
 */

/** A named error class: Step Functions matches an error by its `name`, which is the class name. */
export type TapestryErrorClass = abstract new (...args: never[]) => TapestryError;

/**
 * Lambda's transient invoke errors, retried on every Task state. AWS's "Handle Lambda service
 * exceptions" lists ClientExecutionTimeoutException, ServiceException, AWSLambdaException and
 * SdkClientException, and TooManyRequestsException when Lambda is at its concurrency limit. A
 * function's own failures (Lambda.Unknown: timeouts, out of memory) are not in the list: they are
 * not transient, and a task cut off mid-way is handled by its Catch.
 */
export const LAMBDA_TRANSIENT_ERRORS = [
  "Lambda.ClientExecutionTimeoutException",
  "Lambda.ServiceException",
  "Lambda.AWSLambdaException",
  "Lambda.SdkClientException",
  "Lambda.TooManyRequestsException",
] as const;

/**
 * The errors a retry can cure, by what a task does. A task retries the union of its kinds'
 * classes (plus Lambda's transient errors) and nothing else: everything else is a fault that a
 * second attempt would repeat, and goes to the task's Catch.
 */
export const RETRY_CLASSES = {
  /**
   * calls a tool over HTTP: the tool was unreachable or kept failing after the client's own
   * retries; or the tool's secret could not be read for now (SSM throttled or timed out)
   */
  tool: [ToolUnavailableError, SecretUnavailableError],
  /** puts events on the bus (a repeated publish is harmless: consumers drop a second copy of a fact) */
  publish: [EventPublishError],
  /** writes the run ledger: throttling, a service error or a timeout; the lock changing hands mid-request */
  ledger: [LedgerUnavailableError, RunLockContendedError],
} as const satisfies Record<string, readonly TapestryErrorClass[]>;
export type TaskKind = keyof typeof RETRY_CLASSES;

export type LambdaTransientError = (typeof LAMBDA_TRANSIENT_ERRORS)[number];

export interface TaskErrors {
  /** the task function that runs it */
  readonly function: PipelineRunFunction;
  /** what it does, hence what it retries */
  readonly kinds: readonly TaskKind[];
  /** every named error its code lets escape */
  readonly throws: readonly TapestryErrorClass[];
  /**
   * Errors that may come after the task acted on a tool (a trigger sent, then the publish of
   * StepStarted failed, or the invocation's answer was lost): retrying the task as it is could act
   * twice, so they are never retried as they are; the state machine sends them to a state that
   * looks first (StartStep -> AdoptOrStartStep).
   */
  readonly mayHaveActed?: readonly (TapestryErrorClass | LambdaTransientError)[];
}

/** What a call through the connector registry can raise: the tool's answers, and its secrets' reads. */
const TOOL_FAILURES = [
  ToolUnavailableError,
  ToolAuthError,
  ToolRequestError,
  ToolResponseError,
  ToolNotConfiguredError,
  SecretNotSetError,
  SecretUnavailableError,
  SecretReadError,
] as const;

/**
 * The state machine's tasks: the core function each Task state runs and the named errors that
 * function can throw. Bugs (unnamed errors, a task input its parser refuses) and Lambda's own
 * failures are not listed: every Task's last Catch (States.ALL) takes them, on purpose unretried.
 */
export const PIPELINE_RUN_TASKS = {
  /** runLock acquire: the lock's conditional put (and a read of its holder); with overlap "skip", PipelineRunSkipped */
  acquireRunLock: {
    function: "RunLockFunctionArn",
    kinds: ["ledger", "publish"],
    throws: [LedgerUnavailableError, RunLockContendedError, LedgerDamagedError, EventPublishError],
  },
  /** runLock release: a conditional delete, idempotent */
  releaseRunLock: {
    function: "RunLockFunctionArn",
    kinds: ["ledger"],
    throws: [LedgerUnavailableError],
  },
  /** publishRunEvent: PipelineRunStarted/Succeeded/Failed and a step's StepFailed after its task failed */
  publishRunEvent: {
    function: "PublishEventFunctionArn",
    kinds: ["publish"],
    // a retry whose fromStage the pipeline no longer has: the run fails before it starts
    throws: [EventPublishError, RetryStageUnknownError],
  },
  /** startStep: the tool's trigger (or the adoption of a job in flight), then StepStarted */
  startStep: {
    function: "StartStepFunctionArn",
    kinds: ["tool", "publish"],
    throws: [...TOOL_FAILURES, ToolTriggerUncertainError, EventPublishError],
    // StepStarted is published after the trigger: a failed publish, or an answer lost on the way
    // back, leaves a job started that a plain retry would start again
    mayHaveActed: [EventPublishError, "Lambda.ClientExecutionTimeoutException"],
  },
  /** pollStep: the job's status, then StepSucceeded/StepFailed once it is over */
  pollStep: {
    function: "PollStepFunctionArn",
    kinds: ["tool", "publish"],
    throws: [...TOOL_FAILURES, EventPublishError],
  },
  /**
   * cancelStep: the tool's cancel, then StepFailed (or StepSucceeded if the job had finished).
   * A failed cancel is reported in the step's error rather than thrown, so only the publish can
   * fail the task; it still retries the tool class, as a transient cancel failure is worth retrying.
   */
  cancelStep: {
    function: "CancelStepFunctionArn",
    kinds: ["tool", "publish"],
    throws: [EventPublishError],
  },
  /**
   * awaitWebhook: registers the step's task token against its job (the TOKEN# item beside the
   * ledger). When the job's webhook came first it also confirms it with a poll and completes the
   * token; what fails there is logged, not thrown (the fallback poll covers it), so only the
   * registration's write can fail the task.
   */
  awaitWebhook: {
    function: "AwaitWebhookFunctionArn",
    kinds: ["ledger"],
    throws: [LedgerUnavailableError, WebhookCompletionUnsupportedError],
  },
} as const satisfies Record<string, TaskErrors>;
export type PipelineRunTask = keyof typeof PIPELINE_RUN_TASKS;

/** The error names a Task state running `task` retries: its kinds' classes, any `extra`, Lambda's transient set. */
export function retriedErrorNames(
  task: PipelineRunTask,
  extra: readonly TapestryErrorClass[] = [],
  options: { readonly looksFirst?: boolean } = {},
): string[] {
  const entry: TaskErrors = PIPELINE_RUN_TASKS[task];
  const classes = [
    ...entry.kinds.flatMap((kind): readonly TapestryErrorClass[] => RETRY_CLASSES[kind]),
    ...extra,
  ];
  const names = [...new Set([...classes.map((error) => error.name), ...LAMBDA_TRANSIENT_ERRORS])];
  // a state that looks for what an earlier attempt did before it acts may retry anything
  if (options.looksFirst) return names;
  return names.filter((name) => !mayHaveActedNames(task).includes(name));
}

/** The names of the errors after which the task may have acted (see TaskErrors.mayHaveActed). */
export function mayHaveActedNames(task: PipelineRunTask): string[] {
  const entry: TaskErrors = PIPELINE_RUN_TASKS[task];
  return (entry.mayHaveActed ?? []).map((error) => (typeof error === "string" ? error : error.name));
}

/**
 * How every Task state retries: 5 s, then 10, 20, 40 (at most 75 s of pauses, full jitter so that
 * the parallel steps of a stage do not retry in lockstep), 5 attempts in all. On top of the HTTP
 * client's own retries within one attempt; the bounds (bounds.ts) count every attempt.
 */
export const TASK_RETRY_POLICY = {
  intervalSeconds: 5,
  backoffRate: 2,
  maxAttempts: 4,
  jitterStrategy: "FULL",
} as const;

/** The longest a Task state's retries pause in all (full jitter waits at most the computed interval). */
export function retryPausesSeconds(policy: typeof TASK_RETRY_POLICY = TASK_RETRY_POLICY): number {
  let total = 0;
  for (let attempt = 0; attempt < policy.maxAttempts; attempt++) {
    total += policy.intervalSeconds * policy.backoffRate ** attempt;
  }
  return total;
}
