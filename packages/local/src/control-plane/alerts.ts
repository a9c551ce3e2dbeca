import { join } from "node:path";
import { type AlertEvent, isAlertEvent, type SecretReader } from "@tapestry/core";
import {
  type AlertServiceDeps,
  checkFreshness,
  checkWebhookUrl,
  evaluateRunEnd,
  type Notification,
  notificationOfAlert,
  postToSlack,
  SlackDeliveryError,
  type SlackWebhookOptions,
} from "@tapestry/core/alerts";
import type { TapestryConfig } from "@tapestry/core/config";
import { TapestryError } from "@tapestry/core/errors";
import { type Logger, silentLogger } from "@tapestry/core/logging";
import type { LocalEventBus } from "../bus";
import { SqliteAlertStore, type SqliteRunLedger } from "../ledger";
import { startMetricsRecorder } from "./alerts-metrics";

/**
 * Alerts in the embedded control plane, as on AWS: the same thresholds judged on the same events
 * (each run's end, and a freshness check every 5 minutes), incidents kept beside the run ledger in
 * `ledger.sqlite`, ThresholdBreached / ThresholdRecovered on the bus (printed by the console like
 * every event), and the same Block Kit messages posted to a Slack incoming webhook when one is
 * given: TAPESTRY_SLACK_WEBHOOK_URL, or the secret `alerts.slack.webhookUrlSecret` names.
 * The rows anomaly rule is judged over the ledger's last runs (CloudWatch's model is AWS's). The
 * metrics the AWS recorder and freshness check write are EMF lines in the state folder
 * (alerts-metrics.ts).
 */

/** The freshness check's period, as EventBridge Scheduler runs it on AWS. */
export const FRESHNESS_CHECK_INTERVAL_MS = 5 * 60_000;

/** The configured Slack webhook's secret could not be read: the control plane does not start without it. */
export class SlackWebhookUnavailableError extends TapestryError {
  override readonly name = "SlackWebhookUnavailableError";
}

/** What became of one notification: the console prints it as a line. */
export interface NotificationReport {
  readonly at: string;
  readonly channel: "slack";
  readonly kind: Notification["kind"];
  readonly pipeline?: string;
  readonly about: string;
  readonly outcome: "sent" | "failed";
  readonly attempts?: number;
  /** why it failed (never the webhook's URL) */
  readonly error?: string;
}

export interface AlertsOptions {
  readonly config: TapestryConfig;
  readonly bus: LocalEventBus;
  readonly ledger: SqliteRunLedger;
  /** the state folder: incidents go into its ledger.sqlite */
  readonly stateDir: string;
  readonly now: () => Date;
  readonly logger?: Logger;
  /** the status API's base URL, for the messages' links (known once the API listens) */
  readonly statusApiUrl: () => string | undefined;
  /** TAPESTRY_SLACK_WEBHOOK_URL, as the CLI read it; wins over the config's secret */
  readonly slackWebhookUrl?: string;
  /** reads `alerts.slack.webhookUrlSecret` when no URL was given */
  readonly secrets?: SecretReader;
  readonly onNotification?: (report: NotificationReport) => void;
  /** tests: a shorter freshness period; 0 turns the timer off (checks only when asked) */
  readonly freshnessIntervalMs?: number;
  /** tests: faster Slack retries */
  readonly slack?: Omit<SlackWebhookOptions, "deadline">;
}

export interface Alerts {
  readonly store: SqliteAlertStore;
  /** where Slack messages go: "TAPESTRY_SLACK_WEBHOOK_URL", the secret's name, or undefined (no Slack) */
  readonly slack?: string;
  /** runs the freshness check now (the timer runs it every 5 minutes) */
  checkFreshness(): Promise<void>;
  /** resolves once the freshness checks under way have ended and their metrics are written */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

async function slackWebhook(
  options: AlertsOptions,
): Promise<{ readonly url: string; readonly from: string } | undefined> {
  if (options.slackWebhookUrl !== undefined && options.slackWebhookUrl !== "") {
    try {
      checkWebhookUrl(options.slackWebhookUrl);
    } catch (error) {
      throw new SlackWebhookUnavailableError(
        `TAPESTRY_SLACK_WEBHOOK_URL is not a Slack incoming webhook URL: ${(error as Error).message}`,
      );
    }
    return { url: options.slackWebhookUrl, from: "TAPESTRY_SLACK_WEBHOOK_URL" };
  }
  const name = options.config.alerts.slack?.webhookUrlSecret;
  if (name === undefined) return undefined;
  let url: string;
  try {
    if (!options.secrets) throw new Error("no secret reader was given");
    url = await options.secrets(name);
    checkWebhookUrl(url);
  } catch (error) {
    throw new SlackWebhookUnavailableError(
      `alerts.slack.webhookUrlSecret names ${name}, which could not be read (${error instanceof Error ? error.message : String(error)}): set TAPESTRY_SECRET_${name}, or TAPESTRY_SLACK_WEBHOOK_URL, to the webhook's URL, or run in a terminal to be asked for it`,
    );
  }
  return { url, from: name };
}

export async function startAlerts(options: AlertsOptions): Promise<Alerts> {
  const logger = options.logger ?? silentLogger;
  const webhook = await slackWebhook(options);
  const store = SqliteAlertStore.open(join(options.stateDir, "ledger.sqlite"));
  const deps: AlertServiceDeps = {
    config: options.config,
    ledger: options.ledger,
    store,
    publisher: options.bus,
    now: options.now,
    anomaly: "history",
    logger,
  };

  const metrics = startMetricsRecorder({
    bus: options.bus,
    stateDir: options.stateDir,
    now: options.now,
    logger,
  });
  const unsubscribe = [
    options.bus.subscribe(
      "alert-evaluator",
      { source: ["tapestry.pipeline"], "detail-type": ["PipelineRunSucceeded", "PipelineRunFailed"] },
      async (event) => {
        await evaluateRunEnd(event, deps);
      },
    ),
  ];
  if (webhook) {
    // each notification once, as the Lambda's idempotency records do on AWS
    const sent = new Set<string>();
    unsubscribe.push(
      options.bus.subscribe(
        "slack-notifier",
        { source: ["tapestry.pipeline"], "detail-type": ["ThresholdBreached", "ThresholdRecovered"] },
        async (event) => {
          if (isAlertEvent(event)) await notify(event, webhook.url, sent, options);
        },
      ),
    );
  }

  let running: Promise<void> | undefined;
  const check = (): Promise<void> => {
    running ??= checkFreshness(deps)
      .then((result) => metrics.record(result.metrics))
      .catch((error: unknown) => {
        logger.error("the freshness check failed; it runs again at its next period", { error });
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const interval = options.freshnessIntervalMs ?? FRESHNESS_CHECK_INTERVAL_MS;
  const timer = interval > 0 ? setInterval(() => void check(), interval) : undefined;
  timer?.unref();

  return {
    store,
    ...(webhook ? { slack: webhook.from } : {}),
    checkFreshness: check,
    idle: async () => {
      await running;
      await metrics.flushed();
    },
    stop: async () => {
      if (timer) clearInterval(timer);
      await running;
      for (const remove of unsubscribe) remove();
      await metrics.stop();
      store.close();
    },
  };
}

/**
 * Posts an alert's message, with Slack's retries; a delivery that fails for good is reported (the
 * embedded counterpart of the notifier's dead-letter queue), not thrown: the bus would deliver it
 * again and post it twice where Slack took it but answered late.
 */
async function notify(
  event: AlertEvent,
  url: string,
  sent: Set<string>,
  options: AlertsOptions,
): Promise<void> {
  const statusApiUrl = options.statusApiUrl();
  const notification = notificationOfAlert(
    event,
    statusApiUrl ? { statusApiUrl, stage: "local" } : { stage: "local" },
  );
  if (sent.has(notification.key)) return;
  sent.add(notification.key);
  const report = {
    at: options.now().toISOString(),
    channel: "slack" as const,
    kind: notification.kind,
    ...(notification.pipeline ? { pipeline: notification.pipeline } : {}),
    about: notification.about,
  };
  try {
    const { attempts } = await postToSlack(url, notification.message, options.slack);
    options.onNotification?.({ ...report, outcome: "sent", attempts });
  } catch (error) {
    const message = error instanceof SlackDeliveryError ? error.message : "the message could not be posted";
    const attempts = error instanceof SlackDeliveryError ? error.detail.attempts : undefined;
    options.onNotification?.({
      ...report,
      outcome: "failed",
      ...(attempts !== undefined ? { attempts } : {}),
      error: message,
    });
  }
}
