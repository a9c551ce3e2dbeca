/**
 * Lambda behind the status API's two webhook routes (no SigV4: `POST /webhooks/airbyte/{secret}`,
 * `POST /webhooks/dbt-cloud`): authenticates the tools' completion webhooks and completes the steps
 * that wait for them.
 */

import { coreLogger } from "../powertools";
import {
  createWebhookApiHandler,
  type WebhookApiDeps,
  type WebhookApiHandler,
} from "../webhooks/webhook-api";
import { deferredEventPublisher } from "./runtime/bus";
import { tapestryConfig } from "./runtime/config";
import { deferredConnectors } from "./runtime/connectors";
import { logger } from "./runtime/powertools";
import { deferredSecrets } from "./runtime/secrets";
import { deferredWebhookCompletion } from "./runtime/task-tokens";

/**
 * The receiver's dependencies: the tools' secrets (the webhooks' own and the connectors', for the
 * confirming poll), the bundled tools config, the token store, the bus and SendTaskSuccess.
 */
export function webhookApiDeps(): WebhookApiDeps {
  return {
    pipeline: {
      connectors: deferredConnectors(),
      publisher: deferredEventPublisher(),
      now: () => new Date(),
      logger: coreLogger(logger()),
    },
    ...deferredWebhookCompletion(),
    tools: tapestryConfig().tools,
    secrets: deferredSecrets(),
    logger: logger(),
  };
}

// Built on the first request, kept for the container: the config, the table and the state machine
// are read then, so a missing one fails that request by name rather than the cold start.
let built: WebhookApiHandler | undefined;

export const handler: WebhookApiHandler = async (event, context) => {
  built ??= createWebhookApiHandler(webhookApiDeps());
  return built(event, context);
};
