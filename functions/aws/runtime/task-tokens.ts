/**
 * Webhook completion's two stores of state: where steps' task tokens wait for their jobs'
 * webhooks (TOKEN# items in the ledger's table, TAPESTRY_LEDGER_TABLE) and SendTaskSuccess on
 * the pipeline-run state machine's waiting tasks (Step Functions), for await-webhook and the
 * webhook receiver.
 */
import { DynamoDbTaskTokenStore } from "@tapestry/core/adapters/aws/dynamodb-task-token-store";
import { StepFunctionsTaskTokens } from "@tapestry/core/adapters/aws/step-functions-task-tokens";
import type { CompletionDeps, TaskTokenStore } from "@tapestry/core/webhooks";
import { documentClient } from "./dynamodb";
import { env, once } from "./environment";
import { sfnClient } from "./step-functions";

export const taskTokenStore = once(
  (): TaskTokenStore =>
    new DynamoDbTaskTokenStore({ client: documentClient(), tableName: env("TAPESTRY_LEDGER_TABLE") }),
);

export const taskTokenSender = once(() => new StepFunctionsTaskTokens({ client: sfnClient() }));

/** The token store and Step Functions, each built when first used. */
export function deferredWebhookCompletion(): Pick<CompletionDeps, "tokens" | "tasks"> {
  return {
    tokens: {
      register: async (key, registration) => taskTokenStore().register(key, registration),
      recordDelivery: async (key, now) => taskTokenStore().recordDelivery(key, now),
      claim: async (key, token, now, until) => taskTokenStore().claim(key, token, now, until),
      release: async (key, token) => taskTokenStore().release(key, token),
      complete: async (key, token) => taskTokenStore().complete(key, token),
    },
    tasks: { sendTaskSuccess: async (token, output) => taskTokenSender().sendTaskSuccess(token, output) },
  };
}
