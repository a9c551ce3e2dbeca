import type { PipelineRunFunction } from "./asl";

/**
 * How long each task function of the pipeline-run state machine may run: the Lambda's timeout on
 * AWS, the `context.getRemainingTimeInMillis()` the embedded handlers see, and (plus
 * TASK_TIMEOUT_SLACK_SECONDS) the Task state's TimeoutSeconds in the ASL. One table, read by the
 * stacks, the ASL generator and the embedded runner, so the three never disagree.
 *
 * Why these figures: a tool-facing task makes a handful of HTTP requests (token, lookup, trigger,
 * lookup) whose attempts stop at the invocation's deadline (the time left less
 * DEADLINE_MARGIN_MS), so 120 s holds several slow attempts; the ledger and bus tasks make one or
 * two AWS calls with the SDK's own retries.
 */
export const TASK_FUNCTION_TIMEOUT_SECONDS: Readonly<Record<PipelineRunFunction, number>> = {
  RunLockFunctionArn: 30,
  PublishEventFunctionArn: 30,
  StartStepFunctionArn: 120,
  PollStepFunctionArn: 120,
  CancelStepFunctionArn: 120,
  // registers a step's task token; when the job's webhook came first, polls the job (as PollStep)
  AwaitWebhookFunctionArn: 120,
};

/**
 * A Task state waits this much longer than its function's timeout, so that a function that runs
 * out of time is reported by Lambda (a named timeout error) rather than cut off by the state.
 */
export const TASK_TIMEOUT_SLACK_SECONDS = 10;

/**
 * The part of an invocation's time kept back from the tools' HTTP requests: enough to publish the
 * step's event and return a named error before Lambda stops the function.
 */
export const DEADLINE_MARGIN_MS = 10_000;

/**
 * A Task state's TimeoutSeconds: its function's timeout plus the slack, so that the function's
 * own timeout (or its deadline inside the HTTP client) always comes first and the state's timeout
 * only catches an invocation that never answers.
 */
export function taskStateTimeoutSeconds(fn: PipelineRunFunction): number {
  return TASK_FUNCTION_TIMEOUT_SECONDS[fn] + TASK_TIMEOUT_SLACK_SECONDS;
}
