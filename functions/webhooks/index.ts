export { type AwaitWebhookHandlerDeps, createAwaitWebhookHandler } from "./await-webhook";
export {
  createWebhookApiHandler,
  WEBHOOK_API_SERVICE_NAME,
  WEBHOOK_ROUTES,
  type WebhookApiDeps,
  type WebhookApiHandler,
} from "./webhook-api";
