import * as z from "zod";
import { TOOL_NAMES } from "../names";

/**
 * The semantic events of a pipeline run and of provisioning: one zod schema per detail-type, each
 * with a version (and, for provisioning, its source `tapestry.provisioning`).
 * Events are the source of truth; the run ledger is a projection of them. Adding a field is a
 * minor change within a version; renaming or removing one is a new version.
 */

const isoTime = z.iso.datetime({ offset: true });
const tool = z.enum(TOOL_NAMES);
const runId = z.string().min(1).max(80);
const count = z.number().int().nonnegative();

/**
 * schedule: its fire time came; manual: someone asked (the API, `tapestry run`); startup: `tapestry
 * local` ran it as it started; retry: a new run of a run that did not succeed, from the stage that
 * failed on (POST /runs/{runId}/retry)
 */
export const TRIGGER_KINDS = ["schedule", "manual", "startup", "retry"] as const;
export const runTriggerSchema = z.object({
  kind: z.enum(TRIGGER_KINDS),
  /** the schedule's fire time, for scheduled runs */
  scheduledTime: isoTime.optional(),
  /** retries: the run retried */
  retryOf: runId.optional(),
  /** retries: the first stage that runs; the stages before it are skipped (they succeeded before) */
  fromStage: z.string().min(1).optional(),
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

/** What a provisioning run does, in order; ProvisioningFailed names the step that failed. */
export const PROVISIONING_STEPS = [
  "validate",
  "bootstrap-warehouse",
  /** the self-hosted tool stacks (issue 11): a slot today */
  "deploy-tool-stacks",
  "ensure-airbyte",
  "write-grouparoo-config",
  "record-outputs",
] as const;
export type ProvisioningStep = (typeof PROVISIONING_STEPS)[number];

/** What provisioning did to one object of a tool (an Airbyte source, a Grouparoo config file ...). */
export const TOOL_OBJECT_ACTIONS = ["created", "updated", "unchanged", "deleted"] as const;
export type ToolObjectAction = (typeof TOOL_OBJECT_ACTIONS)[number];

export const EVENT_SOURCE = "tapestry.pipeline";
/** The source of what provisioning does (ProvisioningStarted ...): correlationId = the provisioning run's id. */
export const PROVISIONING_EVENT_SOURCE = "tapestry.provisioning";
export const EVENT_SOURCES = [EVENT_SOURCE, PROVISIONING_EVENT_SOURCE] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];

const provisioningRunId = z.string().regex(/^provision-[0-9A-HJKMNP-TV-Z]{26}$/);
/** A self-hosted tool's stack, in a provisioning (or deprovisioning) run. */
const stackRef = {
  runId: provisioningRunId,
  tool: z.enum(["airbyte", "grouparoo"]),
  stackName: z.string(),
};
const provisioningTrigger = z.enum(["api", "embedded", "cli"]);
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
      stages: z.array(
        z.object({
          name: z.string(),
          steps: z.array(z.object({ name: z.string(), tool })),
          /** a retry's stages before its fromStage: they do not run in this run, they succeeded in `succeededIn` */
          skipped: z.object({ reason: z.string(), succeededIn: runId }).optional(),
        }),
      ),
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
  ProvisioningStarted: {
    version: 1,
    source: PROVISIONING_EVENT_SOURCE,
    data: z.object({
      runId: provisioningRunId,
      /** who asked: the status API (POST /provisioning), the embedded control plane, the CLI */
      trigger: z.enum(["api", "embedded", "cli"]),
      /** the steps this run goes through (a step with nothing configured for it is skipped) */
      steps: z.array(z.enum(PROVISIONING_STEPS)),
    }),
  },
  WarehouseBootstrapped: {
    version: 1,
    source: PROVISIONING_EVENT_SOURCE,
    data: z.object({
      runId: provisioningRunId,
      account: z.string(),
      /** statements run now, and those found applied before (a re-run applies only new ones) */
      applied: count,
      skipped: count,
      /** each service user's key pair: generated, kept or rotated (fingerprints, never a key) */
      keys: z.array(z.object({ tool, state: z.string(), fingerprint: z.string().optional() })),
    }),
  },
  ToolConfigured: {
    version: 1,
    source: PROVISIONING_EVENT_SOURCE,
    data: z.object({
      runId: provisioningRunId,
      tool,
      /** workspace, destination, source, connection (Airbyte); file (Grouparoo's config) */
      kind: z.enum(["workspace", "destination", "source", "connection", "file"]),
      /** the object's name (a file's path under Grouparoo's config folder) */
      name: z.string(),
      /** the tool's id of the object, where it has one */
      id: z.string().optional(),
      action: z.enum(TOOL_OBJECT_ACTIONS),
      /** what differed, for an update: setting names; a changed secret reads "secrets" (never a value) */
      changes: z.array(z.string()).optional(),
    }),
  },
  ProvisioningSucceeded: {
    version: 1,
    source: PROVISIONING_EVENT_SOURCE,
    data: z.object({
      runId: provisioningRunId,
      startedAt: isoTime,
      endedAt: isoTime,
      durationMs: count,
      /** the tools' objects by what was done to them */
      objects: z.object({ created: count, updated: count, unchanged: count, deleted: count }),
    }),
  },
  ProvisioningFailed: {
    version: 1,
    source: PROVISIONING_EVENT_SOURCE,
    data: z.object({
      runId: provisioningRunId,
      /** the step that failed; the steps after it did not run */
      step: z.enum(PROVISIONING_STEPS),
      /** the error's name (e.g. WarehouseBootstrapError) and what it says, secrets redacted */
      errorName: z.string(),
      error: z.string(),
      /** a warehouse statement that failed: its number in the plan, version and summary (never its SQL) */
      statement: z.object({ number: count, version: z.string(), summary: z.string() }).optional(),
      startedAt: isoTime.optional(),
      endedAt: isoTime,
      durationMs: count.optional(),
    }),
  },
  StackDeployStarted: {
    version: 1,
    source: PROVISIONING_EVENT_SOURCE,
    data: z.object({
      ...stackRef,
      /** create (no stack), update (a settled stack), recreate (a stack that never came up: deleted, then created) */
      action: z.enum(["create", "update", "recreate"]),
    }),
  },
  StackDeployed: {
    version: 1,
    source: PROVISIONING_EVENT_SOURCE,
    data: z.object({
      ...stackRef,
      /** the stack's outputs (Url, LoadBalancerDnsName, HttpOnly ...): names and ids, never a secret */
      outputs: z.record(z.string(), z.string()),
      /** resources created and updated by this deploy (from the stack's events) */
      resourcesCreated: count,
      resourcesUpdated: count,
      /** CloudFormation had nothing to update */
      noChanges: z.boolean(),
      /** served over plain HTTP: no certificateArn in the config */
      httpOnly: z.boolean(),
    }),
  },
  StackDeployFailed: {
    version: 1,
    source: PROVISIONING_EVENT_SOURCE,
    data: z.object({
      ...stackRef,
      /** the first resource that failed (logical id, type, status), or the stack's name */
      resource: z.string(),
      reason: z.string(),
      /** the stack's status when the deploy was given up (ROLLBACK_COMPLETE, UPDATE_ROLLBACK_FAILED, CREATE_IN_PROGRESS past its deadline ...) */
      status: z.string(),
    }),
  },
  StackDeleted: {
    version: 1,
    source: PROVISIONING_EVENT_SOURCE,
    data: z.object({
      ...stackRef,
    }),
  },
  DeprovisioningStarted: {
    version: 1,
    source: PROVISIONING_EVENT_SOURCE,
    data: z.object({
      runId: provisioningRunId,
      trigger: provisioningTrigger,
      /** the stacks to delete, in the order they are deleted */
      stacks: z.array(z.string()),
      /** the parameters Tapestry wrote are deleted too */
      purge: z.boolean(),
    }),
  },
  DeprovisioningSucceeded: {
    version: 1,
    source: PROVISIONING_EVENT_SOURCE,
    data: z.object({
      runId: provisioningRunId,
      /** what remains on purpose, each with why and how to remove it */
      remains: z.array(
        z.object({
          kind: z.enum(["bucket", "snapshot", "parameter", "snowflake"]),
          name: z.string(),
          why: z.string(),
          /** how to remove it (a command, or the SQL for Snowflake) */
          remove: z.string().optional(),
        }),
      ),
      /** parameters deleted by `purge` */
      purged: z.array(z.string()),
      endedAt: isoTime,
    }),
  },
  DeprovisioningFailed: {
    version: 1,
    source: PROVISIONING_EVENT_SOURCE,
    data: z.object({
      runId: provisioningRunId,
      /** the stack whose delete failed, or "validate" / "report" */
      step: z.string(),
      errorName: z.string(),
      error: z.string(),
      endedAt: isoTime,
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

/** The source a detail-type is published under: `tapestry.pipeline` unless its catalog entry says otherwise. */
export type SourceOf<T extends DetailType> = (typeof EVENT_CATALOG)[T] extends { readonly source: infer S }
  ? S
  : typeof EVENT_SOURCE;

export function eventSourceOf(type: DetailType): EventSource {
  const entry = EVENT_CATALOG[type] as { readonly source?: EventSource };
  return entry.source ?? EVENT_SOURCE;
}

export const eventMetadataSchema = z.object({
  /** ULID: unique, and sortable by time */
  id: z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/),
  version: z.number().int().positive(),
  occurredAt: isoTime,
  /** = runId: every event of one run (of a pipeline, or of provisioning) shares it (alerts: the incident's id, shared by its breach and recovery) */
  correlationId: z.string(),
  pipeline: z.string().optional(),
});
export type EventMetadata = z.output<typeof eventMetadataSchema>;

/** One event as Tapestry emits it: EventBridge's source and detail-type, and our detail. */
export type TapestryEvent = {
  [T in DetailType]: {
    readonly source: SourceOf<T>;
    readonly "detail-type": T;
    readonly detail: { readonly metadata: EventMetadata; readonly data: EventData<T> };
  };
}[DetailType];

export type EventOf<T extends DetailType> = Extract<TapestryEvent, { "detail-type": T }>;
/** The events of pipeline runs (source tapestry.pipeline): what the run ledger projects. */
export type PipelineEvent = Extract<TapestryEvent, { source: typeof EVENT_SOURCE }>;
/** The events of provisioning runs (source tapestry.provisioning). */
export type ProvisioningEvent = Extract<TapestryEvent, { source: typeof PROVISIONING_EVENT_SOURCE }>;
export type ProvisioningDetailType = ProvisioningEvent["detail-type"];

/** An event of a pipeline run (source tapestry.pipeline, the alerts' excepted): what the run ledger projects. */
export type RunEvent = Exclude<PipelineEvent, { "detail-type": AlertDetailType }>;
/** A breach of a threshold, or its recovery. */
export type AlertEvent = Extract<TapestryEvent, { "detail-type": AlertDetailType }>;

export function isAlertEvent(event: TapestryEvent): event is AlertEvent {
  return (ALERT_DETAIL_TYPES as readonly string[]).includes(event["detail-type"]);
}

/** The zod schema of a whole event of one detail-type (envelope and data). */
export function eventSchema<T extends DetailType>(type: T) {
  return z.object({
    source: z.literal(eventSourceOf(type)),
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
