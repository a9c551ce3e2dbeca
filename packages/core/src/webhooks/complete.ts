import type { CallOptions } from "../connectors/types";
import type { Logger } from "../logging";
import { pollStep, type StepPollDeps } from "../pipeline/step-tasks";
import { type PollStepInput, pollStepInputSchema } from "../pipeline/task-io";
import { TokenRecordDamagedError } from "./errors";
import type { JobKey, TaskTokenStore, TokenRecord } from "./store";

/** Who takes a waiting task's result: Step Functions' SendTaskSuccess on AWS, the embedded runner locally. */
export interface TaskTokenSender {
  /**
   * Completes the task waiting on `token` with `output`; "closed" when that task is over already
   * (it timed out, was completed, or its execution ended): Step Functions' TaskTimedOut,
   * InvalidToken and TaskDoesNotExist. Throws TaskTokenSendError when it cannot answer for now.
   */
  sendTaskSuccess(token: string, output: unknown): Promise<"sent" | "closed">;
}

/** What completing a waiting step needs: a poll's dependencies, the token store, the task-token sender. */
export interface CompletionDeps {
  readonly pipeline: StepPollDeps;
  readonly tokens: TaskTokenStore;
  readonly tasks: TaskTokenSender;
}

/** What became of one attempt to complete a waiting step (logged; nothing else depends on it). */
export type CompletionOutcome =
  /** the poll saw the job over and its result went to the waiting task */
  | "completed"
  /** the poll saw the job over, but the task had stopped waiting (its fallback poll carries on) */
  | "token-closed"
  /** the job is still running: the webhook came early (or was forged); the wait goes on */
  | "still-running"
  /** another delivery (or the registration) is completing this token, or did */
  | "claimed-elsewhere"
  /** the confirming poll failed: the fallback poll will see the job */
  | "poll-failed"
  /** the job is over but its result could not be sent for now: the fallback poll will see the job */
  | "send-failed";

/** The waiting step a record holds, when its token is still open. */
export function liveWaiter(
  record: TokenRecord | undefined,
  now: string,
): { readonly token: string; readonly input: PollStepInput } | undefined {
  if (!record?.token || record.input === undefined) return undefined;
  if (record.doneToken === record.token) return undefined;
  if (record.expiresAt !== undefined && record.expiresAt < now) return undefined;
  return { token: record.token, input: parseInput(record.input) };
}

function parseInput(text: string): PollStepInput {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TokenRecordDamagedError("a stored task token's step input is not JSON", { cause: error });
  }
  const parsed = pollStepInputSchema.safeParse(json);
  if (!parsed.success) {
    throw new TokenRecordDamagedError("a stored task token's step input is not a step's poll input");
  }
  return parsed.data;
}

/**
 * Completes a step that waits for its job's webhook, the webhook's word never deciding: the job is
 * polled (as PollStep polls it: guards applied, StepSucceeded/StepFailed published once it is
 * over), and only a job that is over sends that poll's result to the waiting task. One completer
 * per token at a time (a claim in the store), once per token (a replay finds it done).
 */
export async function completeWaitingStep(
  key: JobKey,
  waiter: { readonly token: string; readonly input: PollStepInput },
  deps: CompletionDeps,
  call: CallOptions,
): Promise<CompletionOutcome> {
  const { tokens, tasks } = deps;
  const logger: Logger = deps.pipeline.logger;
  const now = deps.pipeline.now();
  const until = new Date(Math.max(call.deadline, now.getTime()) + CLAIM_SLACK_MS).toISOString();
  if (!(await tokens.claim(key, waiter.token, now.toISOString(), until))) return "claimed-elsewhere";
  let job: Awaited<ReturnType<typeof pollStep>>;
  try {
    job = await pollStep(waiter.input, deps.pipeline, call, "webhook");
  } catch (error) {
    await tokens.release(key, waiter.token);
    logger.warn("confirming a webhook with a poll failed: the step's fallback poll will see the job", {
      tool: key.tool,
      externalId: key.externalId,
      step: waiter.input.step.name,
      runId: waiter.input.runId,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    return "poll-failed";
  }
  if (job.state === "running") {
    await tokens.release(key, waiter.token);
    return "still-running";
  }
  let sent: "sent" | "closed";
  try {
    sent = await tasks.sendTaskSuccess(waiter.token, job);
  } catch (error) {
    await tokens.release(key, waiter.token);
    logger.warn(
      "sending a step's result to its waiting task failed: the step's fallback poll will see the job",
      {
        tool: key.tool,
        externalId: key.externalId,
        step: waiter.input.step.name,
        runId: waiter.input.runId,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      },
    );
    return "send-failed";
  }
  await tokens.complete(key, waiter.token);
  return sent === "sent" ? "completed" : "token-closed";
}

/** A claim outlives its completer's deadline by this much (a completer that died frees it then). */
const CLAIM_SLACK_MS = 5_000;
