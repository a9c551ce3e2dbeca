/**
 * Lambda for the pipeline-run task WaitForWebhook (lambda:invoke.waitForTaskToken): registers a
 * step's task token against its job; completes it at once when the job's webhook came first.
 */
import { createAwaitWebhookHandler } from "../webhooks/await-webhook";
import { deferredEventPublisher } from "./runtime/bus";
import { deferredConnectors } from "./runtime/connectors";
import { pipelineTaskDeps } from "./runtime/pipeline-task";
import { deferredWebhookCompletion } from "./runtime/task-tokens";

export const handler = createAwaitWebhookHandler({
  ...pipelineTaskDeps("await-webhook", {
    connectors: deferredConnectors(),
    publisher: deferredEventPublisher(),
  }),
  webhooks: deferredWebhookCompletion(),
});
