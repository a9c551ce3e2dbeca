export {
  type CompletionDeps,
  type CompletionOutcome,
  completeWaitingStep,
  liveWaiter,
  type TaskTokenSender,
} from "./complete";
export {
  TaskTokenSendError,
  TokenRecordDamagedError,
  WebhookBodyError,
  WebhookTooLargeError,
  WebhookUnauthorizedError,
  WebhookUnavailableError,
} from "./errors";
export { readWebhook, type WebhookClaim, type WebhookMessage } from "./payloads";
export {
  type ReceiveDeps,
  receiveWebhook,
  WEBHOOK_CONFIRM_MS,
  WEBHOOK_MAX_BODY_BYTES,
  WEBHOOK_THROTTLE,
  type WebhookReceipt,
  type WebhookRequest,
} from "./receive";
export {
  type RegisterToolWebhooksDeps,
  type RegisterToolWebhooksInput,
  registerToolWebhooks,
  type ToolWebhookRegistration,
} from "./register";
export { hmacSignature, signatureMatches, urlSecretMatches } from "./signature";
export {
  type JobKey,
  type TaskTokenStore,
  TOKEN_RECORD_RETENTION_MS,
  type TokenRecord,
  type TokenRegistration,
  WEBHOOK_TOOLS,
  type WebhookTool,
} from "./store";
