import { z } from "zod";

/**
 * CloudWatch's "CloudWatch Alarm State Change" events (source aws.cloudwatch, on the account's
 * default bus), as far as Tapestry reads them: which alarm, its new and previous state, and the
 * figures CloudWatch judged (`reasonData`, a JSON string: recentDatapoints and threshold, or for an
 * anomaly band recentLowerThresholds). Composite alarms carry no reasonData.
 */

export const ALARM_STATES = ["OK", "ALARM", "INSUFFICIENT_DATA"] as const;
export type AlarmStateValue = (typeof ALARM_STATES)[number];

const stateSchema = z.object({
  value: z.enum(ALARM_STATES),
  reason: z.string().default(""),
  reasonData: z.string().optional(),
  timestamp: z.string(),
});

export const alarmStateChangeSchema = z.object({
  id: z.string().optional(),
  source: z.literal("aws.cloudwatch"),
  "detail-type": z.literal("CloudWatch Alarm State Change"),
  time: z.string().optional(),
  region: z.string().optional(),
  resources: z.array(z.string()).default([]),
  detail: z.object({
    alarmName: z.string().min(1),
    state: stateSchema,
    previousState: stateSchema.optional(),
    configuration: z.object({ description: z.string().optional() }).loose().optional(),
  }),
});
export type AlarmStateChange = z.output<typeof alarmStateChangeSchema>;

const reasonDataSchema = z
  .object({
    recentDatapoints: z.array(z.number()).optional(),
    threshold: z.number().optional(),
    recentLowerThresholds: z.array(z.number()).optional(),
  })
  .loose();

/** The figures an alarm judged: its newest data point and the threshold (an anomaly band's lower bound). */
export interface AlarmFigures {
  readonly figure?: number;
  readonly threshold?: number;
}

export function alarmFigures(state: AlarmStateChange["detail"]["state"]): AlarmFigures {
  if (!state.reasonData) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(state.reasonData);
  } catch {
    return {};
  }
  const parsed = reasonDataSchema.safeParse(raw);
  if (!parsed.success) return {};
  const figure = parsed.data.recentDatapoints?.at(-1);
  const threshold = parsed.data.recentLowerThresholds?.at(-1) ?? parsed.data.threshold;
  return {
    ...(figure !== undefined ? { figure } : {}),
    ...(threshold !== undefined ? { threshold } : {}),
  };
}

/**
 * What a state change means to someone on call: a new alarm (into ALARM), a recovery (from ALARM
 * back to OK), or neither (into or out of INSUFFICIENT_DATA, a first evaluation to OK).
 */
export function alarmTransition(change: AlarmStateChange): "alarm" | "recovered" | "none" {
  const now = change.detail.state.value;
  const before = change.detail.previousState?.value;
  if (now === "ALARM" && before !== "ALARM") return "alarm";
  if (now === "OK" && before === "ALARM") return "recovered";
  return "none";
}
