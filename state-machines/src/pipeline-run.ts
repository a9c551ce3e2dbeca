import {
  SecretNotSetError,
  SecretReadError,
  ToolAuthError,
  ToolTriggerUncertainError,
} from "@tapestry/core/errors";
import {
  mayHaveActedNames,
  PIPELINE_RUN_TASKS,
  type PipelineRunTask,
  RUN_EXECUTION_ERRORS,
  RUN_TIMEOUT_PLACEHOLDER,
  retriedErrorNames,
  TASK_RETRY_POLICY,
  type TapestryErrorClass,
  taskStateTimeoutSeconds,
} from "@tapestry/core/pipeline";
import type { Catcher, PassState, PayloadTemplate, StateMachineDefinition, States, TaskState } from "./asl";

/**
 * The pipeline-run state machine, described in TypeScript; `npm run asl` writes it to
 * state-machines/pipeline-run.asl.json, the file AWS and the embedded runner both run.
 * Architecture (states, events, failure paths): docs/architecture.md; reasons: ADR 0006.
 *
 * Rules this description keeps, each checked by test/unit/asl:
 * - every Task state retries exactly what its task can raise and a retry can cure
 *   (core pipeline/task-errors.ts) and Lambda's transient errors, and has a Catch;
 * - every failure ends in a published, recorded outcome (or, when even publishing fails, in a
 *   failed execution, which the reconciler turns into one); no Choice's Default ends as a success;
 * - plain JSONPath only (aws-local-stepfunctions runs nothing else); a wildcard path only as a
 *   whole Parameters/ResultSelector value, intrinsic functions over reference paths only.
 */

/** The Task states, each with the core task it runs (whose errors it retries and catches). */
export const PIPELINE_RUN_TASK_STATES = {
  AcquireRunLock: "acquireRunLock",
  PublishRunStarted: "publishRunEvent",
  StartStep: "startStep",
  AdoptOrStartStep: "startStep",
  PollStep: "pollStep",
  WaitForWebhook: "awaitWebhook",
  CancelTimedOutJob: "cancelStep",
  CancelAbandonedJob: "cancelStep",
  StepErrored: "publishRunEvent",
  PublishRunSucceeded: "publishRunEvent",
  ReleaseRunLock: "releaseRunLock",
  PublishRunFailed: "publishRunEvent",
  PublishRunFailedBeforeStart: "publishRunEvent",
  ReleaseRunLockAfterFailure: "releaseRunLock",
} as const satisfies Record<string, PipelineRunTask>;
export type TaskStateName = keyof typeof PIPELINE_RUN_TASK_STATES;

/**
 * A Task state running its core task's function. Its TimeoutSeconds is the function's timeout
 * plus slack (core pipeline/timeouts.ts): the function's own timeout, and before it the HTTP
 * client's deadline, always come first, so the state's timeout only catches an invocation that
 * never answers. It retries its task's retry classes (plus `alsoRetry`) and Lambda's transient
 * errors with one policy (core TASK_RETRY_POLICY); what is not retried goes to `catches`, whose
 * last clause is always States.ALL.
 */
function task(
  name: TaskStateName,
  spec: {
    readonly comment?: string;
    readonly parameters: PayloadTemplate;
    readonly resultPath: string | null;
    readonly alsoRetry?: readonly TapestryErrorClass[];
    /** the state looks for what an earlier attempt did before it acts: it may retry anything */
    readonly looksFirst?: boolean;
    readonly catches: readonly Catcher[];
    readonly next: string;
  },
): TaskState {
  const coreTask = PIPELINE_RUN_TASK_STATES[name];
  const fn = PIPELINE_RUN_TASKS[coreTask].function;
  return {
    Type: "Task",
    ...(spec.comment ? { Comment: spec.comment } : {}),
    Resource: `\${${fn}}`,
    Parameters: spec.parameters,
    ResultPath: spec.resultPath,
    TimeoutSeconds: taskStateTimeoutSeconds(fn),
    Retry: [
      {
        ErrorEquals: retriedErrorNames(coreTask, spec.alsoRetry, { looksFirst: spec.looksFirst }),
        IntervalSeconds: TASK_RETRY_POLICY.intervalSeconds,
        BackoffRate: TASK_RETRY_POLICY.backoffRate,
        MaxAttempts: TASK_RETRY_POLICY.maxAttempts,
        JitterStrategy: TASK_RETRY_POLICY.jitterStrategy,
      },
    ],
    Catch: spec.catches,
    Next: spec.next,
  };
}

/**
 * The callback task of a step waiting for its job's webhook: Step Functions invokes the task's
 * function with a task token (`$$.Task.Token`) and waits until SendTaskSuccess sends the job's
 * result (the webhook's receiver, after a confirming poll), at most `$.job.waitSeconds` (the
 * fallback interval, never past the step's deadline): then States.Timeout, caught for a fallback
 * poll. Retries and catches like every task.
 */
function callbackTask(
  name: TaskStateName,
  spec: {
    readonly comment: string;
    readonly payload: PayloadTemplate;
    readonly timeoutSecondsPath: string;
    readonly resultPath: string;
    readonly catches: readonly Catcher[];
    readonly next: string;
  },
): TaskState {
  const coreTask = PIPELINE_RUN_TASK_STATES[name];
  const fn = PIPELINE_RUN_TASKS[coreTask].function;
  return {
    Type: "Task",
    Comment: spec.comment,
    Resource: WAIT_FOR_TASK_TOKEN,
    Parameters: { FunctionName: `\${${fn}}`, Payload: { ...spec.payload, "taskToken.$": "$$.Task.Token" } },
    ResultPath: spec.resultPath,
    TimeoutSecondsPath: spec.timeoutSecondsPath,
    Retry: [
      {
        ErrorEquals: retriedErrorNames(coreTask),
        IntervalSeconds: TASK_RETRY_POLICY.intervalSeconds,
        BackoffRate: TASK_RETRY_POLICY.backoffRate,
        MaxAttempts: TASK_RETRY_POLICY.maxAttempts,
        JitterStrategy: TASK_RETRY_POLICY.jitterStrategy,
      },
    ],
    Catch: spec.catches,
    Next: spec.next,
  };
}

/** Lambda's optimized integration in the callback pattern: invoke, then wait for the task token. */
export const WAIT_FOR_TASK_TOKEN = "arn:aws:states:::lambda:invoke.waitForTaskToken";

/** A Catch clause: the errors (by class or by Step Functions' name), where the error goes, and on. */
function caught(errors: readonly (TapestryErrorClass | string)[], resultPath: string, next: string): Catcher {
  return {
    ErrorEquals: errors.map((error) => (typeof error === "string" ? error : error.name)),
    ResultPath: resultPath,
    Next: next,
  };
}

const ANY_ERROR = "States.ALL";

/**
 * A Lambda function cut off by its timeout (Lambda.Unknown, or Sandbox.Timedout on newer
 * runtimes), or an invocation that outlived its Task state (States.Timeout): whatever it was
 * doing may have happened or not.
 */
const CUT_OFF = ["States.Timeout", "Lambda.Unknown", "Sandbox.Timedout"];

/** The references every step task gets: the run, the pipeline's name, the stage's name, the step's spec. */
const STEP_REF: PayloadTemplate = {
  "runId.$": "$.runId",
  "pipeline.$": "$.pipeline",
  "stage.$": "$.stage",
  "step.$": "$.step",
};

/** How one step ends: its result, collected by the stage (core task-io stepResultSchema). */
function stepResult(fields: PayloadTemplate, comment?: string): PassState {
  return {
    Type: "Pass",
    ...(comment ? { Comment: comment } : {}),
    Parameters: { "stage.$": "$.stage", "step.$": "$.step.name", ...fields },
    End: true,
  };
}

/**
 * One step: start (or adopt) its job, then wait for its end (polling, or waiting for its webhook
 * with a fallback poll) until it is over or past its deadline, cancel if need be.
 */
const STEP_STATES: States = {
  StartStep: task("StartStep", {
    parameters: STEP_REF,
    resultPath: "$.job",
    catches: [
      // The trigger may have reached the tool (or the job was started and its StepStarted was not
      // published): start again in adopt mode, which looks the job up first.
      caught(
        [ToolTriggerUncertainError, ...mayHaveActedNames("startStep"), ...CUT_OFF],
        "$.failure",
        "AdoptOrStartStep",
      ),
      caught([ANY_ERROR], "$.failure", "StepErrored"),
    ],
    next: "JobOutcome",
  }),
  AdoptOrStartStep: task("AdoptOrStartStep", {
    comment:
      "StartStep's trigger may have reached the tool: look for the step's job first, trigger only if there is none",
    parameters: { ...STEP_REF, adopt: true },
    resultPath: "$.job",
    alsoRetry: [ToolTriggerUncertainError],
    looksFirst: true,
    catches: [caught([ANY_ERROR], "$.failure", "StepErrored")],
    next: "JobOutcome",
  }),
  WaitForJob: { Type: "Wait", SecondsPath: "$.job.waitSeconds", Next: "PollStep" },
  PollStep: task("PollStep", {
    parameters: { ...STEP_REF, "job.$": "$.job" },
    resultPath: "$.job",
    catches: [
      // Refused, missing or unreadable credentials could not cancel the job either, and it may have finished.
      caught([ToolAuthError, SecretNotSetError, SecretReadError], "$.failure", "StepErrored"),
      // Polling keeps failing: cancel the job rather than leave it running unwatched.
      caught([ANY_ERROR], "$.failure", "CancelAbandonedJob"),
    ],
    next: "JobOutcome",
  }),
  WaitForWebhook: callbackTask("WaitForWebhook", {
    comment:
      "Registers the step's task token against its job and waits for the job's webhook (its receiver polls the job and sends that poll's result); when none comes within the fallback interval (never past the deadline), PollStep polls once",
    payload: { ...STEP_REF, "job.$": "$.job" },
    timeoutSecondsPath: "$.job.waitSeconds",
    resultPath: "$.job",
    catches: [
      // No webhook within the interval: poll once, then wait again (or cancel past the deadline).
      caught(["States.Timeout"], "$.fallback", "PollStep"),
      // Registering the token keeps failing: cancel the job rather than leave it running unwatched.
      caught([ANY_ERROR], "$.failure", "CancelAbandonedJob"),
    ],
    next: "JobOutcome",
  }),
  JobOutcome: {
    Type: "Choice",
    Choices: [
      {
        And: [
          { Variable: "$.job.state", StringEquals: "running" },
          { Variable: "$.job.completion", StringEquals: "webhook" },
        ],
        Next: "WaitForWebhook",
      },
      { Variable: "$.job.state", StringEquals: "running", Next: "WaitForJob" },
      { Variable: "$.job.state", StringEquals: "timed-out", Next: "CancelTimedOutJob" },
      { Variable: "$.job.state", StringEquals: "succeeded", Next: "StepSucceeded" },
      { Variable: "$.job.state", StringEquals: "failed", Next: "StepFailed" },
    ],
    Default: "UnknownJobState",
  },
  UnknownJobState: {
    Type: "Pass",
    Comment: "Fail closed: a job in a state we do not know may still be running, so it is cancelled",
    Parameters: { Error: "UnknownJobState", "Cause.$": "States.JsonToString($.job)" },
    ResultPath: "$.failure",
    Next: "CancelAbandonedJob",
  },
  CancelTimedOutJob: task("CancelTimedOutJob", {
    parameters: { ...STEP_REF, "job.$": "$.job", reason: "timeout" },
    resultPath: "$.job",
    catches: [caught([ANY_ERROR], "$.failure", "StepErrored")],
    next: "JobOutcome",
  }),
  CancelAbandonedJob: task("CancelAbandonedJob", {
    parameters: { ...STEP_REF, "job.$": "$.job", reason: "error", "failure.$": "$.failure" },
    resultPath: "$.job",
    catches: [caught([ANY_ERROR], "$.failure", "StepErrored")],
    next: "JobOutcome",
  }),
  StepErrored: task("StepErrored", {
    comment: "A task of the step failed for good: announce the step's failure (StepFailed, reason error)",
    parameters: { event: "StepFailed", ...STEP_REF, "failure.$": "$.failure" },
    resultPath: "$.job",
    catches: [caught([ANY_ERROR], "$.unannounced", "StepFailedUnannounced")],
    next: "StepFailed",
  }),
  StepSucceeded: stepResult({ status: "succeeded", "rows.$": "$.job.rows", unannouncedError: null }),
  StepFailed: stepResult({ status: "failed", "rows.$": "$.job.rows", unannouncedError: null }),
  StepFailedUnannounced: stepResult(
    {
      status: "failed",
      rows: null,
      "unannouncedError.$":
        "States.Format('{}; publishing its StepFailed event failed too ({})', $.failure.Error, $.unannounced.Error)",
    },
    "The step failed and its StepFailed could not be published: PublishRunFailed publishes it from this result",
  ),
};

/** One stage: its steps in parallel; it fails (Fail StageFailed, Cause = the step results) only after all ended. */
const STAGE_STATES: States = {
  RunStageSteps: {
    Type: "Map",
    Comment:
      "A step iteration never fails (it ends in a Pass with its status), so no sibling's job is left behind",
    ItemsPath: "$.stage.steps",
    MaxConcurrency: 0,
    ItemSelector: {
      "runId.$": "$.runId",
      "pipeline.$": "$.pipeline",
      "stage.$": "$.stage.name",
      "step.$": "$$.Map.Item.Value",
    },
    ItemProcessor: { ProcessorConfig: { Mode: "INLINE" }, StartAt: "StartStep", States: STEP_STATES },
    // A wildcard path as a whole ResultSelector value (a form AWS documents), so that the
    // intrinsic function below reads a plain path.
    ResultSelector: { "steps.$": "$", "statuses.$": "$[*].status" },
    ResultPath: "$.results",
    Next: "StageOutcome",
  },
  StageOutcome: {
    Type: "Pass",
    Parameters: { "anyFailed.$": "States.ArrayContains($.results.statuses, 'failed')" },
    ResultPath: "$.outcome",
    Next: "StageHasFailures",
  },
  StageHasFailures: {
    Type: "Choice",
    Choices: [{ Variable: "$.outcome.anyFailed", BooleanEquals: false, Next: "StageSucceeded" }],
    Default: "DescribeStageFailure",
  },
  DescribeStageFailure: {
    Type: "Pass",
    Parameters: { "cause.$": "States.JsonToString($.results.steps)" },
    Next: "StageFailed",
  },
  StageFailed: {
    Type: "Fail",
    Comment: "Stops the stages' Map: later stages never start. PublishRunFailed reads the step results",
    Error: "StageFailed",
    CausePath: "$.cause",
  },
  StageSucceeded: {
    Type: "Pass",
    Parameters: { "stage.$": "$.stage.name", "steps.$": "$.results.steps" },
    End: true,
  },
};

/** The run's own failure announcement, from a failure caught at `$.failure`; then the lock goes. */
const RUN_FAILED_PARAMETERS: PayloadTemplate = {
  event: "PipelineRunFailed",
  "runId.$": "$.runId",
  "pipeline.$": "$.pipeline.name",
  "spec.$": "$.pipeline",
  "failure.$": "$.failure",
};

const RUN_STATES: States = {
  AcquireRunLock: task("AcquireRunLock", {
    parameters: {
      action: "acquire",
      "runId.$": "$.runId",
      "trigger.$": "$.trigger",
      "pipeline.$": "$.pipeline",
    },
    resultPath: "$.lock",
    catches: [caught([ANY_ERROR], "$.failure", "PublishRunFailedBeforeStart")],
    next: "LockOutcome",
  }),
  LockOutcome: {
    Type: "Choice",
    Choices: [
      // Not IsPresent rather than IsPresent false: aws-local-stepfunctions 3.0.0 never matches the latter.
      { Not: { Variable: "$.lock.outcome", IsPresent: true }, Next: "UnknownLockOutcome" },
      { Variable: "$.lock.outcome", StringEquals: "acquired", Next: "PublishRunStarted" },
      { Variable: "$.lock.outcome", StringEquals: "wait", Next: "WaitForRunLock" },
      { Variable: "$.lock.outcome", StringEquals: "skipped", Next: "RunSkipped" },
    ],
    Default: "UnknownLockOutcome",
  },
  WaitForRunLock: { Type: "Wait", SecondsPath: "$.lock.waitSeconds", Next: "AcquireRunLock" },
  RunSkipped: {
    Type: "Succeed",
    Comment: "overlap skip: another run holds the lock; AcquireRunLock published PipelineRunSkipped",
  },
  UnknownLockOutcome: {
    Type: "Pass",
    Comment: "Fail closed: the lock task answered something this definition does not know",
    Parameters: { Error: "UnknownLockOutcome", "Cause.$": "States.JsonToString($.lock)" },
    ResultPath: "$.failure",
    Next: "PublishRunFailedBeforeStart",
  },
  PublishRunStarted: task("PublishRunStarted", {
    parameters: {
      event: "PipelineRunStarted",
      "runId.$": "$.runId",
      "trigger.$": "$.trigger",
      "pipeline.$": "$.pipeline",
    },
    resultPath: "$.run",
    catches: [caught([ANY_ERROR], "$.failure", "PublishRunFailedBeforeStart")],
    next: "RunStages",
  }),
  RunStages: {
    Type: "Map",
    Comment:
      "The stages in order (a retry's from its fromStage on: PublishRunStarted answers them); a failed stage fails the Map, so no later stage starts",
    // PublishRunStarted answers the stages to run: all of them, or a retry's from its fromStage on
    ItemsPath: "$.run.stages",
    MaxConcurrency: 1,
    ItemSelector: {
      "runId.$": "$.runId",
      "pipeline.$": "$.pipeline.name",
      "stage.$": "$$.Map.Item.Value",
    },
    ItemProcessor: { ProcessorConfig: { Mode: "INLINE" }, StartAt: "RunStageSteps", States: STAGE_STATES },
    ResultPath: "$.stages",
    Catch: [caught([ANY_ERROR], "$.failure", "PublishRunFailed")],
    Next: "PublishRunSucceeded",
  },
  PublishRunSucceeded: task("PublishRunSucceeded", {
    parameters: {
      event: "PipelineRunSucceeded",
      "runId.$": "$.runId",
      "pipeline.$": "$.pipeline.name",
      "startedAt.$": "$.run.startedAt",
      "stages.$": "$.stages",
    },
    resultPath: null,
    catches: [caught([ANY_ERROR], "$.failure", "PublishRunFailed")],
    next: "ReleaseRunLock",
  }),
  ReleaseRunLock: task("ReleaseRunLock", {
    parameters: { action: "release", "runId.$": "$.runId", "pipeline.$": "$.pipeline.name" },
    resultPath: null,
    catches: [caught([ANY_ERROR], "$.failure", "RunLockNotReleased")],
    next: "RunSucceeded",
  }),
  RunSucceeded: { Type: "Succeed" },
  RunLockNotReleased: {
    Type: "Fail",
    Comment:
      "The run succeeded and PipelineRunSucceeded is recorded, but its lock stays: the execution fails so that the reconciler frees the lock; the lock's expiry frees it otherwise",
    Error: RUN_EXECUTION_ERRORS.succeededLockKept,
    Cause:
      "The run succeeded and its outcome is recorded, but its run lock could not be released: the reconciler frees it, or it expires",
  },
  PublishRunFailed: task("PublishRunFailed", {
    parameters: { ...RUN_FAILED_PARAMETERS, "startedAt.$": "$.run.startedAt" },
    resultPath: null,
    catches: [caught([ANY_ERROR], "$.publishFailure", "ReleaseRunLockAfterFailure")],
    next: "ReleaseRunLockAfterFailure",
  }),
  PublishRunFailedBeforeStart: task("PublishRunFailedBeforeStart", {
    comment:
      "The lock, or announcing the start, failed: the run never started. The lock is released anyway (release is idempotent and only frees this run's lock)",
    parameters: RUN_FAILED_PARAMETERS,
    resultPath: null,
    catches: [caught([ANY_ERROR], "$.publishFailure", "ReleaseRunLockAfterFailure")],
    next: "ReleaseRunLockAfterFailure",
  }),
  ReleaseRunLockAfterFailure: task("ReleaseRunLockAfterFailure", {
    parameters: { action: "release", "runId.$": "$.runId", "pipeline.$": "$.pipeline.name" },
    resultPath: null,
    catches: [caught([ANY_ERROR], "$.releaseFailure", "FailureAnnounced")],
    next: "FailureAnnounced",
  }),
  FailureAnnounced: {
    Type: "Choice",
    Comment:
      "Whether PipelineRunFailed was published: the reconciler states the outcome only of a run whose execution says it was not",
    Choices: [{ Variable: "$.publishFailure", IsPresent: true, Next: "RunFailedUnannounced" }],
    Default: "RunFailed",
  },
  RunFailed: {
    Type: "Fail",
    Error: RUN_EXECUTION_ERRORS.failedAndPublished,
    Cause: "A step of the run failed or the run could not be completed; see the run's events",
  },
  RunFailedUnannounced: {
    Type: "Fail",
    Comment: "PipelineRunFailed could not be published: the reconciler publishes the run's outcome",
    Error: RUN_EXECUTION_ERRORS.failedUnpublished,
    Cause: "The run failed and its outcome could not be published: the run reconciler records it",
  },
};

/** The pipeline-run state machine. */
export function pipelineRunDefinition(): StateMachineDefinition {
  return {
    Comment:
      "One run of a Tapestry pipeline: run lock -> stages in order -> the steps of a stage in parallel (start, then poll until terminal or wait for the job's webhook with a fallback poll; cancel on timeout) -> release the lock in every outcome. The execution input is {runId, trigger, pipeline}; a retry's trigger is {kind: retry, retryOf, fromStage}: its stages before fromStage are announced skipped and not run. Every failure ends in a published outcome (PipelineRunFailed); should publishing or releasing the lock fail for good, the execution fails and the reconciler publishes the outcome and frees the lock (the lock's expiry frees it otherwise). Generated from state-machines/src/pipeline-run.ts by `npm run asl`: do not edit. Placeholders (function ARNs, the run's TimeoutSeconds) are filled at deploy time and by the embedded runner.",
    StartAt: "AcquireRunLock",
    TimeoutSeconds: `\${${RUN_TIMEOUT_PLACEHOLDER}}`,
    States: RUN_STATES,
  };
}
