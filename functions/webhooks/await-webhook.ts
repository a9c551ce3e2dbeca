import { awaitWebhook, awaitWebhookInputSchema } from "@tapestry/core/pipeline";
import type { CompletionDeps } from "@tapestry/core/webhooks";
import { type PipelineHandlerDeps, pipelineTaskHandler } from "../pipeline/task-handler";

/** A pipeline task's dependencies, and where task tokens wait and go (the store, Step Functions). */
export interface AwaitWebhookHandlerDeps extends PipelineHandlerDeps {
  readonly webhooks: Pick<CompletionDeps, "tokens" | "tasks">;
}

/**
 * Task WaitForWebhook (lambda:invoke.waitForTaskToken): registers the step's task token against
 * its job; completes it at once when the job's webhook came first. Step Functions ignores the
 * answer and waits for the token.
 */
export const createAwaitWebhookHandler = (deps: AwaitWebhookHandlerDeps) =>
  pipelineTaskHandler(awaitWebhookInputSchema, deps, (input, { core }, invocation) =>
    awaitWebhook(input, { pipeline: core, ...deps.webhooks }, invocation),
  );
