import type { Logger, PipelineDeps, PipelineSpec, TapestryConfig, ToolsConfig } from "@tapestry/core";
import type { SecretReader } from "@tapestry/core/connectors";
import {
  registerToolWebhooks,
  type TaskTokenSender,
  type TaskTokenStore,
  type ToolWebhookRegistration,
} from "@tapestry/core/webhooks";
import { createWebhookApiHandler } from "@tapestry/functions/webhooks";
import type { ApiGatewayV2Handler } from "../api-server";
import { SqliteTaskTokenStore } from "../ledger";
import type { SandboxSet } from "../sandboxes";

/**
 * Webhook completion, embedded: the task-token store in the ledger's file, the webhook routes'
 * handler (the one the webhook Lambda runs on AWS), and the registration of the webhooks with the
 * sandboxes, through the tools' own APIs (registerToolWebhooks), once the local API listens: a
 * sandbox posts a job's webhook only where one is registered, as the tools do.
 */
export interface WebhookCompletion {
  readonly tokens: TaskTokenStore;
  /** the webhook routes (`/webhooks/...`) of the local API */
  readonly handler: ApiGatewayV2Handler;
  /** registers the webhooks of the sandboxed tools with their sandboxes, to post to `apiUrl` */
  register(apiUrl: string): Promise<readonly ToolWebhookRegistration[]>;
  close(): void;
}

export function startWebhookCompletion(options: {
  readonly ledgerPath: string;
  readonly config: TapestryConfig;
  /** the tools as the connectors see them (sandboxed ones pointed at their sandboxes) */
  readonly tools: ToolsConfig;
  /** every pipeline as its runs get it (steps on real tools poll: their webhooks cannot reach loopback) */
  readonly pipelines: readonly PipelineSpec[];
  readonly sandboxes: Partial<SandboxSet>;
  readonly secrets: SecretReader;
  readonly storeSecret: (name: string, value: string) => Promise<void>;
  readonly core: Pick<PipelineDeps, "connectors" | "publisher" | "now">;
  readonly tasks: TaskTokenSender;
  readonly logger: Logger;
}): WebhookCompletion {
  const tokens = SqliteTaskTokenStore.open(options.ledgerPath);
  const handler = createWebhookApiHandler({
    pipeline: { ...options.core, logger: options.logger },
    tokens,
    tasks: options.tasks,
    tools: options.tools,
    secrets: options.secrets,
    logger: options.logger,
  });
  return {
    tokens,
    handler,
    register: async (apiUrl) => {
      try {
        const registrations = await registerToolWebhooks(
          {
            tools: options.tools,
            pipelines: options.pipelines,
            apiUrl,
            airbyteWorkspaceId: options.sandboxes.airbyte?.workspaceId,
          },
          { secrets: options.secrets, storeSecret: options.storeSecret, logger: options.logger },
        );
        for (const registration of registrations) {
          options.logger.info("webhook registration", { ...registration });
        }
        return registrations;
      } catch (error) {
        // Steps still end: each polls once per fallback interval when no webhook comes.
        options.logger.warn(
          "registering the webhooks with the sandboxes failed: steps complete at their fallback polls",
          {
            error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
          },
        );
        return [];
      }
    },
    close: () => tokens.close(),
  };
}

/** The local API's handler: the webhook routes to their handler, every other path to the status API's. */
export function withWebhookRoutes(
  status: ApiGatewayV2Handler,
  webhooks: ApiGatewayV2Handler,
): ApiGatewayV2Handler {
  return (event, context) =>
    (event.rawPath ?? "").startsWith("/webhooks/") ? webhooks(event, context) : status(event, context);
}
