import type { PipelineSpec, StepSpec } from "../config/schema";
import type { ConfigIssue } from "../errors";
import { DEFAULT_PIPELINE_SETTINGS, type PipelineSettings } from "./deps";
import { retryPausesSeconds, TASK_RETRY_POLICY } from "./task-errors";
import { taskStateTimeoutSeconds } from "./timeouts";

/**
 * How long a pipeline run may take and how much Step Functions history it may write, derived
 * from the pipeline's spec and the shape of state-machines/pipeline-run.asl.json. Pure functions:
 * the config check, the deploy (the definition's TimeoutSeconds), the embedded runner and the
 * run lock all read the same figures. test/unit/asl checks the per-state counts below against the
 * generated definition.
 */

/** A Standard execution is stopped after this many history events, outside every Catch. */
export const HISTORY_EVENT_LIMIT = 25_000;
/**
 * What a pipeline's worst-case run may plan for. The counts below take every loop at its longest
 * but each poll and lock request at one attempt; the 5,000 events left to the limit absorb
 * retries inside the loops (one retried attempt adds 3, so some 1,600 of them).
 */
export const HISTORY_EVENT_BUDGET = 20_000;
/** A queued run asks for the lock at most this many times however long it waits (see queueWaitSeconds). */
export const MAX_QUEUE_POLLS = 120;
/**
 * The longest run the definition's TimeoutSeconds may allow: the embedded runner arms one Node
 * timer for it, and Node's timers end at 2^31 - 1 ms (24.8 days); Step Functions allows a year.
 */
export const MAX_RUN_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/**
 * History events per state, from entering it to leaving it (Step Functions' HistoryEvent types).
 * A Task state that invokes a Lambda function by its ARN writes TaskStateEntered,
 * LambdaFunctionScheduled, LambdaFunctionStarted, LambdaFunctionSucceeded (or Failed, TimedOut)
 * and TaskStateExited; each retry adds another Scheduled, Started and Succeeded/Failed.
 */
export const HISTORY_EVENTS = {
  /** ExecutionStarted, ExecutionSucceeded (or Failed, TimedOut, Aborted) */
  execution: 2,
  task: 5,
  taskRetry: 3,
  /**
   * A Task state in the callback pattern (lambda:invoke.waitForTaskToken): TaskStateEntered,
   * TaskScheduled, TaskStarted, TaskSubmitted, TaskSucceeded (or TimedOut, Failed),
   * TaskStateExited; a retry of its invocation at most Scheduled, Started, Submitted, Failed.
   */
  callbackTask: 6,
  callbackTaskRetry: 4,
  wait: 2,
  choice: 2,
  pass: 2,
  succeed: 2,
  /** FailStateEntered */
  fail: 1,
  /** MapStateEntered, MapStateStarted, MapStateSucceeded (or Failed), MapStateExited */
  map: 4,
  /** MapIterationStarted, MapIterationSucceeded (or Failed) */
  mapIteration: 2,
} as const;

const E = HISTORY_EVENTS;
/** A Task state that takes every retry. */
const TASK_WITH_RETRIES = E.task + E.taskRetry * TASK_RETRY_POLICY.maxAttempts;
/** A callback Task state that takes every retry. */
const CALLBACK_WITH_RETRIES = E.callbackTask + E.callbackTaskRetry * TASK_RETRY_POLICY.maxAttempts;
/** One more turn of a step's poll loop: WaitForJob, PollStep, JobOutcome. */
export const HISTORY_EVENTS_PER_POLL = E.wait + E.task + E.choice;
/**
 * One more turn of a webhook step's wait: WaitForWebhook timing out (no webhook within the
 * fallback interval), the fallback PollStep, JobOutcome.
 */
export const HISTORY_EVENTS_PER_FALLBACK_POLL = E.callbackTask + E.task + E.choice;
/** One more lock request of a queued run: WaitForRunLock, AcquireRunLock, LockOutcome. */
export const HISTORY_EVENTS_PER_LOCK_ASK = E.wait + E.task + E.choice;

/**
 * The longest path through each level of the definition that takes each loop once, every Task
 * state at all its retries (a Map counted without its iterations; further turns of the loops are
 * counted apart). test/unit/asl checks each path, and its cost, against the generated definition.
 */
export const LONGEST_PATH_EVENTS = {
  /** AcquireRunLock, LockOutcome, PublishRunStarted, RunStages, PublishRunSucceeded, PublishRunFailed, ReleaseRunLockAfterFailure, FailureAnnounced, RunFailed */
  run: 5 * TASK_WITH_RETRIES + 2 * E.choice + E.map + E.fail,
  /** RunStageSteps, StageOutcome, StageHasFailures, DescribeStageFailure, StageFailed */
  stage: E.map + 2 * E.pass + E.choice + E.fail,
  /** polling: StartStep, AdoptOrStartStep, JobOutcome, WaitForJob, PollStep, JobOutcome, UnknownJobState, CancelAbandonedJob, StepErrored, StepFailedUnannounced */
  step: 5 * TASK_WITH_RETRIES + E.wait + 2 * E.choice + 2 * E.pass,
  /** waiting for a webhook: the same with WaitForWebhook (a callback task, every retry) instead of WaitForJob */
  webhookStep: 5 * TASK_WITH_RETRIES + CALLBACK_WITH_RETRIES + 2 * E.choice + 2 * E.pass,
} as const;

type LoopedStep = Pick<StepSpec, "timeoutMinutes" | "pollIntervalSeconds"> &
  (
    | { readonly completion: "poll" }
    | { readonly completion: "webhook"; readonly fallbackPollSeconds: number }
  );

/**
 * A step's wait loop: how often it turns (the poll interval, or with webhook completion the
 * fallback interval), which field sets that, and what a turn writes to the history.
 */
function waitLoop(step: LoopedStep) {
  return step.completion === "webhook"
    ? {
        field: "fallbackPollSeconds",
        interval: step.fallbackPollSeconds,
        eventsPerTurn: HISTORY_EVENTS_PER_FALLBACK_POLL,
        fixedPath: LONGEST_PATH_EVENTS.webhookStep,
        every: (seconds: number): LoopedStep => ({ ...step, fallbackPollSeconds: seconds }),
      }
    : {
        field: "pollIntervalSeconds",
        interval: step.pollIntervalSeconds,
        eventsPerTurn: HISTORY_EVENTS_PER_POLL,
        fixedPath: LONGEST_PATH_EVENTS.step,
        every: (seconds: number): LoopedStep => ({ ...step, pollIntervalSeconds: seconds }),
      };
}

/** The longest a Task state running `fn` may take: every attempt to its state timeout, every pause. */
function taskSeconds(fn: Parameters<typeof taskStateTimeoutSeconds>[0]): number {
  return (TASK_RETRY_POLICY.maxAttempts + 1) * taskStateTimeoutSeconds(fn) + retryPausesSeconds();
}

/**
 * How many times a step is polled at most (with webhook completion: how many times it waits for
 * the webhook, each wait ending in a fallback poll when none came): every interval until its
 * deadline, and once more (a wait is never cut below 1 s, so the poll that sees the deadline may
 * come after it).
 */
export function stepPolls(step: LoopedStep): number {
  return Math.ceil((step.timeoutMinutes * 60) / waitLoop(step).interval) + 1;
}

/**
 * The longest a step can take: start (and adopt), its timeout, the poll that sees it pass, cancel,
 * announce; with webhook completion the last WaitForWebhook's registrations at their worst too.
 */
export function stepSeconds(step: Pick<StepSpec, "timeoutMinutes" | "completion">): number {
  return (
    taskSeconds("StartStepFunctionArn") + // StartStep
    taskSeconds("StartStepFunctionArn") + // AdoptOrStartStep
    step.timeoutMinutes * 60 +
    1 + // the last wait (never under 1 s)
    (step.completion === "webhook" ? taskSeconds("AwaitWebhookFunctionArn") : 0) +
    taskSeconds("PollStepFunctionArn") +
    taskSeconds("CancelStepFunctionArn") +
    taskSeconds("PublishEventFunctionArn") // StepErrored
  );
}

/** The longest a run holds its pipeline's lock: from acquiring it to releasing it, every stage at its slowest step. */
export function runHoldSeconds(pipeline: PipelineSpec): number {
  const stages = pipeline.stages.reduce(
    (sum, stage) => sum + Math.max(...stage.steps.map((step) => stepSeconds(step))),
    0,
  );
  return (
    taskSeconds("PublishEventFunctionArn") + // PublishRunStarted
    stages +
    taskSeconds("PublishEventFunctionArn") + // PublishRunSucceeded
    taskSeconds("PublishEventFunctionArn") + // PublishRunFailed
    taskSeconds("RunLockFunctionArn") // ReleaseRunLock
  );
}

/**
 * How long a queued run (overlap "queue") waits for the lock before it gives up: as long as the
 * run ahead of it may hold it. A run queued behind several others may give up; it never waits
 * for ever.
 */
export function queueTimeoutSeconds(pipeline: PipelineSpec): number {
  return runHoldSeconds(pipeline);
}

/**
 * How often a queued run asks for the lock again: the configured wait, stretched so that a whole
 * queue timeout takes at most MAX_QUEUE_POLLS requests, which keeps a wait's history a constant.
 */
export function queueWaitSeconds(pipeline: PipelineSpec, settings: PipelineSettings): number {
  return Math.max(settings.queueWaitSeconds, Math.ceil(queueTimeoutSeconds(pipeline) / MAX_QUEUE_POLLS));
}

/** How many times a run asks for its lock at most (once, unless it queues). */
export function lockAsks(pipeline: PipelineSpec, settings: PipelineSettings): number {
  if (pipeline.overlap !== "queue") return 1;
  return Math.ceil(queueTimeoutSeconds(pipeline) / queueWaitSeconds(pipeline, settings)) + 1;
}

/**
 * The longest a run of the pipeline may last: its lock waits (a queue timeout and one more wait),
 * the request that gets the lock, then the lock held as long as it may be.
 */
export function runTimeoutSeconds(pipeline: PipelineSpec, settings: PipelineSettings): number {
  const waits =
    pipeline.overlap === "queue" ? queueTimeoutSeconds(pipeline) + queueWaitSeconds(pipeline, settings) : 0;
  return waits + taskSeconds("RunLockFunctionArn") + runHoldSeconds(pipeline);
}

/**
 * The pipeline-run definition's TimeoutSeconds: one definition runs every pipeline, so it covers
 * the longest run any of them may take.
 */
export function definitionTimeoutSeconds(
  pipelines: readonly PipelineSpec[],
  settings: PipelineSettings,
): number {
  return Math.max(0, ...pipelines.map((pipeline) => runTimeoutSeconds(pipeline, settings)));
}

/** A step's worst-case history events: its fixed part and its wait loop (polls, or webhook waits and fallback polls). */
export function stepHistoryEvents(step: LoopedStep): number {
  const loop = waitLoop(step);
  return E.mapIteration + loop.fixedPath + (stepPolls(step) - 1) * loop.eventsPerTurn;
}

/**
 * A run's worst-case history events. Parallel steps share the execution's one history, so every
 * step of every stage counts; a queued run's lock requests are bounded by MAX_QUEUE_POLLS.
 */
export function runHistoryEvents(pipeline: PipelineSpec, settings: PipelineSettings): number {
  const stages = pipeline.stages.reduce(
    (sum, stage) =>
      sum +
      E.mapIteration +
      LONGEST_PATH_EVENTS.stage +
      stage.steps.reduce((steps, step) => steps + stepHistoryEvents(step), 0),
    0,
  );
  const lockWaits = (lockAsks(pipeline, settings) - 1) * HISTORY_EVENTS_PER_LOCK_ASK;
  return E.execution + LONGEST_PATH_EVENTS.run + lockWaits + stages;
}

/**
 * The problems these bounds find in a parsed config, each at its path: a pipeline over the
 * history budget (named at its heaviest step, with the poll interval or timeout that would fit),
 * or one whose worst-case run outlasts MAX_RUN_TIMEOUT_SECONDS.
 */
export function pipelineBoundsIssues(
  config: { readonly pipelines: readonly PipelineSpec[] },
  settings: PipelineSettings = DEFAULT_PIPELINE_SETTINGS,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  config.pipelines.forEach((pipeline, p) => {
    const events = runHistoryEvents(pipeline, settings);
    if (events > HISTORY_EVENT_BUDGET) issues.push(historyIssue(pipeline, p, events));
    const seconds = runTimeoutSeconds(pipeline, settings);
    if (seconds > MAX_RUN_TIMEOUT_SECONDS) {
      issues.push({
        path: `pipelines[${p}].stages`,
        message: `a run of pipeline "${pipeline.name}" may last up to ${count(seconds)} s (${(seconds / 86_400).toFixed(1)} days) with every step at its timeout, over the ${count(MAX_RUN_TIMEOUT_SECONDS)} s a run may take: shorten the steps' timeoutMinutes or split the stages into several pipelines`,
      });
    }
  });
  return issues;
}

function historyIssue(pipeline: PipelineSpec, p: number, events: number): ConfigIssue {
  const steps = pipeline.stages.flatMap((stage, s) => stage.steps.map((step, t) => ({ step, s, t })));
  const heaviest = steps.reduce((a, b) => (stepHistoryEvents(b.step) > stepHistoryEvents(a.step) ? b : a));
  const { step } = heaviest;
  const loop = waitLoop(step);
  const loopEvents = stepPolls(step) * loop.eventsPerTurn;
  // What this step's wait loop may cost for the pipeline to fit, the other steps unchanged.
  const allowed = loopEvents - (events - HISTORY_EVENT_BUDGET);
  const fixes: string[] = [];
  const interval = smallest(loop.interval + 1, 3600, (seconds) => {
    return stepPolls(loop.every(seconds)) * loop.eventsPerTurn <= allowed;
  });
  const webhook = step.completion === "webhook";
  if (interval !== undefined)
    fixes.push(`${webhook ? "fall back to a poll" : "poll"} every ${interval} s or more`);
  const longest = largest(1, step.timeoutMinutes - 1, (minutes) => {
    return stepPolls({ ...step, timeoutMinutes: minutes }) * loop.eventsPerTurn <= allowed;
  });
  if (longest !== undefined) fixes.push(`shorten timeoutMinutes to ${count(longest)} or less`);
  if (fixes.length === 0) fixes.push("split the pipeline's stages into several pipelines");
  const loopWords = webhook
    ? `waits for its webhook up to ${count(stepPolls(step))} times (a fallback poll every ${loop.interval} s for up to ${step.timeoutMinutes} min: ${count(loopEvents)} events)`
    : `polls up to ${count(stepPolls(step))} times (every ${loop.interval} s for up to ${step.timeoutMinutes} min: ${count(loopEvents)} events)`;
  return {
    path: `pipelines[${p}].stages[${heaviest.s}].steps[${heaviest.t}].${loop.field}`,
    message: `pipeline "${pipeline.name}" may write up to ${count(events)} Step Functions history events in one run, over the budget of ${count(HISTORY_EVENT_BUDGET)} (a Standard execution is stopped at ${count(HISTORY_EVENT_LIMIT)}, outside every Catch: its jobs left running, no outcome published); its step "${step.name}" ${loopWords}: ${fixes.join(", or ")}`,
  };
}

/** The smallest whole number in [from, to] that passes (the test holds from some point on), if any. */
function smallest(from: number, to: number, passes: (n: number) => boolean): number | undefined {
  if (from > to || !passes(to)) return undefined;
  let [low, high] = [from, to];
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    if (passes(mid)) high = mid;
    else low = mid + 1;
  }
  return low;
}

/** The largest whole number in [from, to] that passes (the test holds up to some point), if any. */
function largest(from: number, to: number, passes: (n: number) => boolean): number | undefined {
  if (from > to || !passes(from)) return undefined;
  let [low, high] = [from, to];
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (passes(mid)) low = mid;
    else high = mid - 1;
  }
  return low;
}

function count(n: number): string {
  return n.toLocaleString("en-US");
}
