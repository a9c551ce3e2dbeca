/**
 * Lambda for the pipeline-run task WaitForWebhook (lambda:invoke.waitForTaskToken): registers a
 * step's task token against its job; completes it at once when the job's webhook came first.
 */
import { createAwaitWebhookHandler } from "../webhooks/await-webhook";
import { awaitWebhookHandlerDeps } from "./runtime";

export const handler = createAwaitWebhookHandler(awaitWebhookHandlerDeps());
