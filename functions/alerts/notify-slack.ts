import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { parser } from "@aws-lambda-powertools/parser/middleware";
import { EventBridgeSchema } from "@aws-lambda-powertools/parser/schemas/eventbridge";
import middy from "@middy/core";
import {
  alarmStateChangeSchema,
  type MessageContext,
  type Notification,
  notificationOfAlarm,
  notificationOfAlert,
  postToSlack,
} from "@tapestry/core/alerts";
import { eventFromEnvelope, isAlertEvent } from "@tapestry/core/events";
import type { Context } from "aws-lambda";
import type { z } from "zod";

/** Delivers one notification at most once per key (Powertools Idempotency on AWS). */
export type OnceByKey = (
  deliver: (notification: Notification, deadline: number) => Promise<{ attempts: number }>,
) => (notification: Notification, context: Context, deadline: number) => Promise<{ attempts: number }>;

export interface NotifySlackDeps {
  /** the incoming webhook's URL, read from SSM at run time (cached); never logged */
  readonly webhookUrl: () => Promise<string>;
  readonly context: () => MessageContext & { readonly region?: string };
  readonly once: OnceByKey;
  readonly logger: Logger;
  /** tests: Slack's retry pauses */
  readonly slack?: { readonly sleep?: (ms: number) => Promise<void>; readonly random?: () => number };
}

export type NotifySlackLambda = (
  event: unknown,
  context: Context,
) => Promise<{ readonly sent: boolean; readonly key?: string }>;

/** Time kept back from Lambda's timeout: a Slack attempt that would run into it is not started. */
const DEADLINE_MARGIN_MS = 2_000;

/**
 * The Slack notifier: target of the rule for ThresholdBreached / ThresholdRecovered on the Tapestry
 * bus (one message per incident opened, one per incident resolved) and of the rule for the
 * control-plane health alarms' state changes on the default bus (into ALARM, back to OK). Each
 * becomes a Block Kit message (core/alerts/slack.ts), posted with retries on 429 (Retry-After)
 * and 5xx; each notification key is delivered once (a redelivered event posts nothing). A delivery
 * that fails throws: Lambda's retries, then the notifier's dead-letter queue. The webhook URL is
 * read from SSM when a message is due and appears in no log line, error or event.
 */
export function createNotifySlackHandler(deps: NotifySlackDeps): NotifySlackLambda {
  const deliver = deps.once(async (notification, deadline) =>
    postToSlack(await deps.webhookUrl(), notification.message, {
      deadline,
      ...deps.slack,
      onRetry: ({ attempt, delayMs, reason }) =>
        deps.logger.warn("Slack delivery attempt failed; retrying", {
          key: notification.key,
          attempt,
          delayMs,
          reason,
        }),
    }),
  );
  const handler = middy()
    .use(injectLambdaContext(deps.logger))
    .use(parser({ schema: EventBridgeSchema }))
    .handler(async (input, context: Context) => {
      const envelope = input as z.output<typeof EventBridgeSchema>;
      const messageContext = deps.context();
      let notification: Notification | undefined;
      if (envelope.source === "aws.cloudwatch") {
        notification = notificationOfAlarm(alarmStateChangeSchema.parse(envelope), messageContext);
      } else {
        const event = eventFromEnvelope(envelope);
        notification = isAlertEvent(event) ? notificationOfAlert(event, messageContext) : undefined;
      }
      if (!notification) {
        deps.logger.debug("nothing to notify", { detailType: envelope["detail-type"] });
        return { sent: false };
      }
      const deadline = Date.now() + context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS;
      const { attempts } = await deliver(notification, context, deadline);
      deps.logger.info("Slack notification sent", {
        key: notification.key,
        kind: notification.kind,
        about: notification.about,
        attempts,
      });
      return { sent: true, key: notification.key };
    });
  // EventBridge may send anything; the parser middleware is what narrows it.
  return handler as unknown as NotifySlackLambda;
}
