/**
 * Lambda behind the status API's two webhook routes (no SigV4: `POST /webhooks/airbyte/{secret}`,
 * `POST /webhooks/dbt-cloud`): authenticates the tools' completion webhooks and completes the steps
 * that wait for them.
 */
import { createWebhookApiHandler, type WebhookApiHandler } from "../webhooks/webhook-api";
import { webhookApiDeps } from "./runtime";

// Built on the first request, kept for the container: the config, the table and the state machine
// are read then, so a missing one fails that request by name rather than the cold start.
let built: WebhookApiHandler | undefined;

export const handler: WebhookApiHandler = async (event, context) => {
  built ??= createWebhookApiHandler(webhookApiDeps());
  return built(event, context);
};
