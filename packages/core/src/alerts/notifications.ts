import type { AlertEvent } from "../events";
import { type AlarmStateChange, alarmTransition } from "./alarm-state";
import {
  breachMessage,
  healthAlarmMessage,
  type MessageContext,
  recoveryMessage,
  type SlackMessage,
} from "./slack";

/**
 * What the notifier sends: one message per incident opened, one per incident resolved, one per
 * control-plane alarm change. `key` names the notification once: the notifier delivers each key at
 * most once (Powertools Idempotency on AWS), whatever the redeliveries of its event.
 */
export interface Notification {
  /** `<incidentId>#breach`, `<incidentId>#resolved`, `<alarm>#<state>#<timestamp>` */
  readonly key: string;
  readonly kind: "breach" | "resolved" | "alarm" | "alarm-resolved";
  readonly pipeline?: string;
  /** what the notification is about, in a few words, for the console and the logs */
  readonly about: string;
  readonly message: SlackMessage;
}

export function notificationOfAlert(event: AlertEvent, context: MessageContext = {}): Notification {
  const d = event.detail.data;
  const about = `${d.rule}${d.step ? ` ${d.stage ? `${d.stage}/` : ""}${d.step}` : ""} (incident ${d.incidentId})`;
  if (event["detail-type"] === "ThresholdBreached") {
    return {
      key: `${d.incidentId}#breach`,
      kind: "breach",
      pipeline: d.pipeline,
      about,
      message: breachMessage(event, context),
    };
  }
  return {
    key: `${d.incidentId}#resolved`,
    kind: "resolved",
    pipeline: d.pipeline,
    about,
    message: recoveryMessage(event, context),
  };
}

/**
 * A control-plane alarm's change as a notification: into ALARM, or from ALARM back to OK; any
 * other change (into or out of INSUFFICIENT_DATA, a first evaluation) is none.
 */
export function notificationOfAlarm(
  change: AlarmStateChange,
  context: MessageContext & { readonly region?: string } = {},
): Notification | undefined {
  const transition = alarmTransition(change);
  if (transition === "none") return undefined;
  const { alarmName, state } = change.detail;
  const region = change.region ?? context.region;
  return {
    key: `${alarmName}#${state.value}#${state.timestamp}`,
    kind: transition === "alarm" ? "alarm" : "alarm-resolved",
    about: `${alarmName} ${state.value}`,
    message: healthAlarmMessage(
      {
        alarmName,
        transition,
        ...(change.detail.configuration?.description
          ? { description: change.detail.configuration.description }
          : {}),
        reason: state.reason,
        at: new Date(Date.parse(state.timestamp) || Date.now()).toISOString(),
        ...(region
          ? {
              consoleUrl: `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#alarmsV2:alarm/${encodeURIComponent(alarmName)}`,
            }
          : {}),
      },
      context,
    ),
  };
}
