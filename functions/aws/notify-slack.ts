/**
 * Lambda target of the rules for ThresholdBreached / ThresholdRecovered (Tapestry bus) and the
 * control-plane health alarms' state changes (default bus): posts Block Kit messages to Slack.
 */
import { createNotifySlackHandler, type NotifySlackDeps } from "../alerts/notify-slack";
import { tapestryConfig } from "./runtime/config";
import { EnvironmentError, env } from "./runtime/environment";
import { onceByKey } from "./runtime/notifications";
import { logger } from "./runtime/powertools";
import { ssmSecrets } from "./runtime/secrets";

/** Slack's webhook URL: the SSM SecureString the config's alerts.slack.webhookUrlSecret names (cached 5 minutes). */
async function slackWebhookUrl(): Promise<string> {
  const name = tapestryConfig().alerts.slack?.webhookUrlSecret;
  if (name === undefined) {
    throw new EnvironmentError(
      "the bundled tapestry config names no Slack webhook (alerts.slack.webhookUrlSecret): the notifier is deployed only with one",
    );
  }
  return ssmSecrets()(name);
}

/** The notifier's dependencies: Slack's webhook URL, the status API's URL for the run paths, what was sent. */
export function notifySlackDeps(): NotifySlackDeps {
  return {
    webhookUrl: slackWebhookUrl,
    context: () => ({
      statusApiUrl: env("TAPESTRY_STATUS_API_URL").replace(/\/+$/, ""),
      stage: env("TAPESTRY_STAGE"),
      ...(process.env.AWS_REGION ? { region: process.env.AWS_REGION } : {}),
    }),
    once: onceByKey,
    logger: logger(),
  };
}

export const handler = createNotifySlackHandler(notifySlackDeps());
