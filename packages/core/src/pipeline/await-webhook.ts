import type { CallOptions } from "../connectors/types";
import { TapestryError } from "../errors";
import { type CompletionDeps, type CompletionOutcome, completeWaitingStep } from "../webhooks/complete";
import { type JobKey, type TokenRecord, WEBHOOK_TOOLS, type WebhookTool } from "../webhooks/store";
import type { AwaitWebhookInput, PollStepInput } from "./task-io";

/** WaitForWebhook ran for a step whose tool sends no webhook: the definition and the config disagree. */
export class WebhookCompletionUnsupportedError extends TapestryError {
  override readonly name = "WebhookCompletionUnsupportedError";
}

export interface AwaitWebhookResult {
  /** set when the job's webhook had come before this registration: what completing the step at once did */
  readonly completedAtOnce: CompletionOutcome | null;
}

/**
 * WaitForWebhook's task (the function Step Functions invokes with the task token): registers the
 * token against the step's job, to time out with the wait (`job.waitSeconds`), so that the job's
 * webhook can complete it. When a webhook for the job came since the step last registered (or
 * before its first registration: a short job can end before its step waits), nothing will come
 * again: the step is completed at once, with a confirming poll, as the webhook's receiver would.
 * Its answer is not the task's result (Step Functions waits for SendTaskSuccess); only the
 * registration's own write may fail the task.
 */
export async function awaitWebhook(
  input: AwaitWebhookInput,
  deps: CompletionDeps,
  call: CallOptions,
): Promise<AwaitWebhookResult> {
  const { step, job, taskToken } = input;
  const tool = step.tool;
  if (!isWebhookTool(tool)) {
    throw new WebhookCompletionUnsupportedError(`step "${step.name}" uses ${tool}, which sends no webhook`);
  }
  const key: JobKey = { tool, externalId: job.externalId };
  const now = deps.pipeline.now();
  const pollInput: PollStepInput = {
    runId: input.runId,
    pipeline: input.pipeline,
    stage: input.stage,
    step,
    job,
  };
  const previous = await deps.tokens.register(key, {
    token: taskToken,
    input: JSON.stringify(pollInput),
    now: now.toISOString(),
    expiresAt: new Date(now.getTime() + job.waitSeconds * 1000).toISOString(),
  });
  if (!webhookCameSince(previous)) return { completedAtOnce: null };
  const outcome = await completeWaitingStep(key, { token: taskToken, input: pollInput }, deps, call);
  deps.pipeline.logger.info("the job's webhook had come before its step waited for it", {
    tool,
    externalId: job.externalId,
    step: step.name,
    runId: input.runId,
    outcome,
  });
  return { completedAtOnce: outcome };
}

/**
 * A webhook no registered token took: one before the first registration, or one since the previous
 * registration that did not complete its token (it came after that wait timed out, or while the
 * job still read running).
 */
function webhookCameSince(previous: TokenRecord | undefined): boolean {
  if (previous?.deliveredAt === undefined) return false;
  if (previous.registeredAt === undefined) return true;
  return previous.deliveredAt >= previous.registeredAt && previous.doneToken !== previous.token;
}

function isWebhookTool(tool: string): tool is WebhookTool {
  return (WEBHOOK_TOOLS as readonly string[]).includes(tool);
}
