import type { ToolsConfig } from "../config";
import type { CallOptions, SecretReader } from "../connectors/types";
import { SecretNotSetError } from "../errors";
import { type CompletionDeps, type CompletionOutcome, completeWaitingStep, liveWaiter } from "./complete";
import {
  WebhookBodyError,
  WebhookTooLargeError,
  WebhookUnauthorizedError,
  WebhookUnavailableError,
} from "./errors";
import { readWebhook, type WebhookClaim } from "./payloads";
import { signatureMatches, urlSecretMatches } from "./signature";
import type { JobKey, WebhookTool } from "./store";

/**
 * The largest webhook body the routes take. Airbyte's and dbt Cloud's payloads are about 1 KB
 * (Airbyte adds Slack text blocks); 64 KiB leaves room and keeps a flood of large bodies cheap.
 */
export const WEBHOOK_MAX_BODY_BYTES = 64 * 1024;

/**
 * How long the receiver may spend confirming a webhook with a poll before it answers: within dbt
 * Cloud's 10 s delivery timeout with room for a cold start and the store's writes. A poll that does
 * not fit is left to the step's fallback poll.
 */
export const WEBHOOK_CONFIRM_MS = 6_000;

/**
 * The webhook routes' own throttle on AWS (API Gateway route settings), apart from the status API's:
 * a burst of jobs ending together fits, and a flood of unauthenticated requests costs at most this
 * many Lambda invocations a second. A refused delivery is retried by dbt Cloud; any lost one is
 * covered by its step's fallback poll.
 */
export const WEBHOOK_THROTTLE = { rateLimit: 5, burstLimit: 20 } as const;

/** One delivery as the route received it. */
export interface WebhookRequest {
  readonly tool: WebhookTool;
  /** the raw body, byte for byte as sent (dbt Cloud's signature covers these bytes) */
  readonly body: Buffer;
  /** dbt Cloud: the `Authorization` header (the signature) */
  readonly authorization?: string;
  /** Airbyte: the secret part of the URL, `/webhooks/airbyte/<secret>` */
  readonly urlSecret?: string;
}

export interface ReceiveDeps extends CompletionDeps {
  /** the configured tools: which secret authenticates each tool's webhooks */
  readonly tools: ToolsConfig;
  readonly secrets: SecretReader;
}

/** What became of one authenticated delivery (logged; the answer is the same whatever it says). */
export type WebhookReceipt =
  | { readonly outcome: "ignored"; readonly reason: string }
  | {
      readonly outcome:
        | CompletionOutcome
        /** no step waits on the job (yet): kept, so that a registration to come completes at once */
        | "recorded"
        /** the job's waiting task was completed already: a replay, or a retried delivery */
        | "already-completed"
        /** recorded, but completing the step failed: the step's fallback poll will see the job */
        | "completion-failed";
      readonly job: JobKey;
      readonly claim: WebhookClaim;
      readonly deliveries: number;
    };

/**
 * Receives one completion webhook: authenticates it (Airbyte: the URL secret; dbt Cloud: the
 * HMAC-SHA256 signature of the raw body), in constant time, then records it against its job and,
 * when a step waits on that job, completes the step with a confirming poll (completeWaitingStep).
 * Throws a refusal (401, 413, 400) for what is not authentic or readable, and 503 when the delivery
 * could not be recorded, so that the tool sends it again; anything after the record is logged, not
 * thrown: the delivery is kept, and the step's fallback poll bounds what a failure costs.
 */
export async function receiveWebhook(
  request: WebhookRequest,
  deps: ReceiveDeps,
  call: CallOptions,
): Promise<WebhookReceipt> {
  if (request.body.length > WEBHOOK_MAX_BODY_BYTES) throw new WebhookTooLargeError(WEBHOOK_MAX_BODY_BYTES);
  await authenticate(request, deps);
  let body: unknown;
  try {
    body = JSON.parse(request.body.toString("utf8"));
  } catch {
    throw new WebhookBodyError();
  }
  const message = readWebhook(request.tool, body);
  if (message.kind === "ignored") return { outcome: "ignored", reason: message.reason };

  const { job, claim } = message;
  const now = deps.pipeline.now().toISOString();
  let record: Awaited<ReturnType<typeof deps.tokens.recordDelivery>>;
  try {
    record = await deps.tokens.recordDelivery(job, now);
  } catch (error) {
    throw new WebhookUnavailableError({ cause: error });
  }
  const base = { job, claim, deliveries: record.deliveries };
  try {
    const waiter = liveWaiter(record, now);
    if (!waiter) {
      const done = record.token !== undefined && record.doneToken === record.token;
      return { ...base, outcome: done ? "already-completed" : "recorded" };
    }
    return { ...base, outcome: await completeWaitingStep(job, waiter, deps, call) };
  } catch (error) {
    deps.pipeline.logger.error("a recorded webhook could not complete its step: the fallback poll will", {
      tool: job.tool,
      externalId: job.externalId,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    return { ...base, outcome: "completion-failed" };
  }
}

/** The secret a tool's webhooks are authenticated with, by name, from the config. */
function secretNameOf(tool: WebhookTool, tools: ToolsConfig): string | undefined {
  return tool === "airbyte" ? tools.airbyte?.webhook.urlSecret : tools["dbt-cloud"]?.webhook.hmacKeySecret;
}

async function authenticate(request: WebhookRequest, deps: ReceiveDeps): Promise<void> {
  const name = secretNameOf(request.tool, deps.tools);
  if (name === undefined) throw new WebhookUnauthorizedError();
  let secret: string;
  try {
    secret = await deps.secrets(name);
  } catch (error) {
    if (error instanceof SecretNotSetError) {
      // Nothing can be authenticated until the secret is set: say so where the operator looks.
      deps.pipeline.logger.error("a webhook was refused: its secret is not set", {
        tool: request.tool,
        secret: name,
        fix: error.message,
      });
      throw new WebhookUnauthorizedError();
    }
    throw new WebhookUnavailableError({ cause: error });
  }
  const authentic =
    request.tool === "airbyte"
      ? urlSecretMatches(request.urlSecret, secret)
      : signatureMatches(request.body, request.authorization, secret);
  if (!authentic) throw new WebhookUnauthorizedError();
}
