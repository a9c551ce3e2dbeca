import * as z from "zod";
import { TOOL_NAMES } from "../names";

/**
 * The semantic events of a pipeline run: one zod schema per detail-type, each with a version.
 * Events are the source of truth; the run ledger is a projection of them. Adding a field is a
 * minor change within a version; renaming or removing one is a new version.
 */

const isoTime = z.iso.datetime({ offset: true });
const tool = z.enum(TOOL_NAMES);
const runId = z.string().min(1).max(80);
const count = z.number().int().nonnegative();

export const TRIGGER_KINDS = ["schedule", "manual"] as const;
export const runTriggerSchema = z.object({
  kind: z.enum(TRIGGER_KINDS),
  /** the schedule's fire time, for scheduled runs */
  scheduledTime: isoTime.optional(),
});
export type RunTrigger = z.output<typeof runTriggerSchema>;

/** Why a step failed, as a user reads it on the status API and in notifications. */
export const STEP_FAILURE_REASONS = [
  "failed",
  "cancelled",
  "unknown-status",
  "partial-failure",
  "min-rows",
  "timeout",
  "error",
  /** the run was stopped (cancelled, aborted, timed out) while the step was going; its job was cancelled */
  "aborted",
] as const;
export type StepFailureReason = (typeof STEP_FAILURE_REASONS)[number];

/**
 * Why a run failed: a step failed (`step-failed`), a task of the state machine failed for good
 * (`error`), or the execution ended outside the state machine's own paths and was reconciled:
 * stopped (`aborted`), past its TimeoutSeconds (`timed-out`), past Step Functions' history limit
 * (`history-limit`), or its process died (`aborted`, embedded).
 */
export const RUN_FAILURE_REASONS = ["step-failed", "error", "aborted", "timed-out", "history-limit"] as const;
export type RunFailureReason = (typeof RUN_FAILURE_REASONS)[number];

/** How a run that did not succeed ended: when (it may have ended before it started, e.g. queued). */
const runEnd = {
  runId,
  startedAt: isoTime.optional(),
  endedAt: isoTime,
  durationMs: count.optional(),
};

const stepRef = {
  runId,
  stage: z.string(),
  step: z.string(),
  tool,
};

/**
 * The thresholds a pipeline is watched against (config `alerts`, step `minRows` and `rowsAnomaly`):
 * a failed run, a run longer than maxDurationMinutes, a step below its minRows, no successful run
 * within maxStaleMinutes, a step's rows far below its own history.
 */
export const ALERT_RULES = [
  "run-failed",
  "run-too-long",
  "rows-below-minimum",
  "stale",
  "rows-anomaly",
] as const;
export type AlertRule = (typeof ALERT_RULES)[number];

/** What an alert's figure and threshold count. */
export const ALERT_UNITS = ["runs", "minutes", "rows"] as const;
export type AlertUnit = (typeof ALERT_UNITS)[number];

/** Which threshold of which pipeline (and step): one incident at most is open per threshold. */
const alertRef = {
  /** the incident's id (a ULID), shared by its breach and its recovery (= metadata.correlationId) */
  incidentId: z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/),
  pipeline: z.string().min(1),
  rule: z.enum(ALERT_RULES),
  stage: z.string().optional(),
  step: z.string().optional(),
  unit: z.enum(ALERT_UNITS),
  /** the limit crossed: a failed run is 1 run against 0 allowed */
  threshold: z.number(),
  /** the run the figure was measured on (stale: the last successful run, if any) */
  runId: runId.optional(),
  /** the CloudWatch alarm that observed it, when an alarm did (rows-anomaly on AWS) */
  alarmName: z.string().optional(),
};

export const EVENT_CATALOG = {
  PipelineRunStarted: {
    version: 1,
    data: z.object({
      runId,
      trigger: runTriggerSchema,
      stages: z.array(z.object({ name: z.string(), steps: z.array(z.object({ name: z.string(), tool })) })),
    }),
  },
  StepStarted: {
    version: 1,
    data: z.object({
      ...stepRef,
      externalId: z.string(),
      url: z.string().optional(),
      /** an external job already in flight was adopted instead of a new one started */
      attached: z.boolean(),
      startedAt: isoTime,
      deadline: isoTime,
    }),
  },
  StepSucceeded: {
    version: 1,
    data: z.object({
      ...stepRef,
      externalId: z.string(),
      url: z.string().optional(),
      toolStatus: z.string(),
      rows: count.optional(),
      bytes: count.optional(),
      startedAt: isoTime,
      endedAt: isoTime,
      durationMs: count,
      /** a success with reservations, e.g. a Grouparoo run whose failed imports were allowed */
      warning: z.string().optional(),
    }),
  },
  StepFailed: {
    version: 1,
    data: z.object({
      ...stepRef,
      externalId: z.string().optional(),
      url: z.string().optional(),
      toolStatus: z.string().optional(),
      reason: z.enum(STEP_FAILURE_REASONS),
      error: z.string(),
      rows: count.optional(),
      bytes: count.optional(),
      startedAt: isoTime.optional(),
      endedAt: isoTime,
      durationMs: count.optional(),
      /** stated by the run reconciler after the run's execution ended outside the state machine's paths */
      reconciled: z.literal(true).optional(),
    }),
  },
  PipelineRunSucceeded: {
    version: 1,
    data: z.object({ runId, startedAt: isoTime, endedAt: isoTime, durationMs: count, rows: count }),
  },
  PipelineRunFailed: {
    version: 1,
    data: z.object({
      ...runEnd,
      failedSteps: z.array(z.string()),
      error: z.string(),
      /** absent in events of earlier releases, which meant step-failed or error */
      reason: z.enum(RUN_FAILURE_REASONS).optional(),
      /** stated by the run reconciler after the run's execution ended outside the state machine's paths */
      reconciled: z.literal(true).optional(),
    }),
  },
  PipelineRunSkipped: {
    version: 1,
    data: z.object({
      runId,
      trigger: runTriggerSchema,
      /** overlap: a run was going and the policy is skip; queue-timeout: it waited its turn too long */
      reason: z.enum(["overlap", "queue-timeout"]),
      /** the run that was still going */
      activeRunId: z.string(),
    }),
  },
  PipelineRunQueued: {
    version: 1,
    data: z.object({
      runId,
      trigger: runTriggerSchema,
      /** when the run was asked for: its place in the pipeline's queue (first asked, first started) */
      requestedAt: isoTime,
      /** the run holding the pipeline's lock when this one was queued */
      waitingFor: z.string(),
    }),
  },
  PipelineRunCancelRequested: {
    version: 1,
    data: z.object({
      runId,
      requestedAt: isoTime,
      /** free text from the request, e.g. why */
      note: z.string().max(1000).optional(),
    }),
  },
  PipelineRunCancelled: {
    version: 1,
    data: z.object({
      ...runEnd,
      /** the steps that were going, whose jobs were cancelled */
      cancelledSteps: z.array(z.string()),
      /** jobs that could not be cancelled, and why (absent when every cancel took) */
      error: z.string().optional(),
    }),
  },
  ThresholdBreached: {
    version: 1,
    data: z.object({
      ...alertRef,
      /** what was measured: rows moved, minutes taken or since the last success, failed runs */
      figure: z.number(),
      /** one sentence: what happened, with the figure against its threshold */
      summary: z.string().max(1000),
      /** the run's error, for a failed run */
      error: z.string().max(2000).optional(),
      /** the tool's page of the job concerned */
      url: z.string().optional(),
      openedAt: isoTime,
    }),
  },
  ThresholdRecovered: {
    version: 1,
    data: z.object({
      ...alertRef,
      /** the figure that is back within the threshold */
      figure: z.number(),
      summary: z.string().max(1000),
      url: z.string().optional(),
      openedAt: isoTime,
      resolvedAt: isoTime,
    }),
  },
} as const;

/** The detail-types of alerts: not facts of a run, so the run ledger never takes them (their correlationId is the incident's). */
export const ALERT_DETAIL_TYPES = [
  "ThresholdBreached",
  "ThresholdRecovered",
] as const satisfies readonly (keyof typeof EVENT_CATALOG)[];
export type AlertDetailType = (typeof ALERT_DETAIL_TYPES)[number];

export type DetailType = keyof typeof EVENT_CATALOG;
export const DETAIL_TYPES = Object.keys(EVENT_CATALOG) as DetailType[];
export type EventData<T extends DetailType> = z.output<(typeof EVENT_CATALOG)[T]["data"]>;

export const EVENT_SOURCE = "tapestry.pipeline";

export const eventMetadataSchema = z.object({
  /** ULID: unique, and sortable by time */
  id: z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/),
  version: z.number().int().positive(),
  occurredAt: isoTime,
  /** = runId: every event of one run shares it (alerts: the incident's id, shared by its breach and recovery) */
  correlationId: z.string(),
  pipeline: z.string().optional(),
});
export type EventMetadata = z.output<typeof eventMetadataSchema>;

/** One event as Tapestry emits it: EventBridge's source and detail-type, and our detail. */
export type TapestryEvent = {
  [T in DetailType]: {
    readonly source: typeof EVENT_SOURCE;
    readonly "detail-type": T;
    readonly detail: { readonly metadata: EventMetadata; readonly data: EventData<T> };
  };
}[DetailType];

export type EventOf<T extends DetailType> = Extract<TapestryEvent, { "detail-type": T }>;

/** An event of a run (every detail-type but the alerts'): what the run ledger projects. */
export type RunEvent = Exclude<TapestryEvent, { "detail-type": AlertDetailType }>;
/** A breach of a threshold, or its recovery. */
export type AlertEvent = Extract<TapestryEvent, { "detail-type": AlertDetailType }>;

export function isAlertEvent(event: TapestryEvent): event is AlertEvent {
  return (ALERT_DETAIL_TYPES as readonly string[]).includes(event["detail-type"]);
}

/** The zod schema of a whole event of one detail-type (envelope and data). */
export function eventSchema<T extends DetailType>(type: T) {
  return z.object({
    source: z.literal(EVENT_SOURCE),
    "detail-type": z.literal(type),
    detail: z.object({
      metadata: eventMetadataSchema.extend({ version: z.literal(EVENT_CATALOG[type].version) }),
      data: EVENT_CATALOG[type].data,
    }),
  });
}

/** Parses any event of the catalog; throws a zod error naming the field otherwise. */
export const anyEventSchema = z.discriminatedUnion(
  "detail-type",
  DETAIL_TYPES.map((type) => eventSchema(type)) as unknown as [
    ReturnType<typeof eventSchema<DetailType>>,
    ...ReturnType<typeof eventSchema<DetailType>>[],
  ],
);

export function parseEvent(input: unknown): TapestryEvent {
  return anyEventSchema.parse(input) as TapestryEvent;
}
