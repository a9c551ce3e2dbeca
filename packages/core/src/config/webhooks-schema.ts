import { z } from "zod";
import { secretName } from "./secret-name";

/**
 * How a step learns that its job ended (issue 13), and the secrets that authenticate the tools'
 * completion webhooks. Airbyte and dbt Cloud send a webhook when a job ends, so their steps wait
 * for it (`completion: "webhook"`) and poll only as a fallback; Grouparoo sends none and polls.
 * docs/architecture.md ("Webhook completion") and the README's config table describe each field.
 */

const COMPLETIONS = ["webhook", "poll"] as const;
export type Completion = (typeof COMPLETIONS)[number];

const FALLBACK_MESSAGE = "expected a whole number of seconds from 1 to 3600";

/** The step fields of a tool that sends completion webhooks (Airbyte, dbt Cloud). */
export const webhookCompletionFields = {
  /**
   * webhook: the step waits for the tool's webhook (a poll confirms what it says); poll: the step
   * polls every pollIntervalSeconds.
   */
  completion: z
    .enum(COMPLETIONS, {
      error:
        'expected "webhook" (the tool\'s completion webhook ends the wait, a poll confirms the outcome) or "poll" (poll every pollIntervalSeconds)',
    })
    .default("webhook"),
  /**
   * With completion "webhook": how long the step waits for the webhook before it polls once and
   * waits again, so a lost webhook costs at most this long.
   */
  fallbackPollSeconds: z
    .number({ error: FALLBACK_MESSAGE })
    .int({ error: FALLBACK_MESSAGE })
    .min(1, { error: FALLBACK_MESSAGE })
    .max(3600, { error: FALLBACK_MESSAGE })
    .default(300),
};

/** The step fields of a tool that sends no completion webhook (Grouparoo): it polls. */
export const pollCompletionFields = {
  completion: z
    .literal("poll", {
      error:
        'expected "poll": Grouparoo sends no completion webhook, so its steps poll every pollIntervalSeconds (leave completion out)',
    })
    .default("poll"),
};

/**
 * Airbyte's workspace notifications are not signed: the receiver's URL carries a secret,
 * `/webhooks/airbyte/<secret>`, kept under this name.
 */
export const airbyteWebhookSchema = z
  .strictObject({ urlSecret: secretName.default("AIRBYTE_WEBHOOK_SECRET") })
  .prefault({});

/**
 * dbt Cloud signs each webhook (`Authorization`: hex HMAC-SHA256 of the raw body) with the key it
 * generated when the webhook subscription was created, kept under this name.
 */
export const dbtCloudWebhookSchema = z
  .strictObject({ hmacKeySecret: secretName.default("DBT_CLOUD_WEBHOOK_SECRET") })
  .prefault({});
