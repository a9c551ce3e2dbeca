/**
 * Lambda target of the rules for ThresholdBreached / ThresholdRecovered (Tapestry bus) and the
 * control-plane health alarms' state changes (default bus): posts Block Kit messages to Slack.
 */
import { createNotifySlackHandler } from "../alerts/notify-slack";
import { notifySlackDeps } from "./runtime";

export const handler = createNotifySlackHandler(notifySlackDeps());
