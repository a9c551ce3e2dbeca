import { z } from "zod";

/**
 * The status API's answers as the CLI reads them (docs/status-api.openapi.yaml is the contract):
 * parsed at the boundary, the fields the commands show checked, the rest kept as it came (loose
 * objects), so that `--json` prints the API's answer whole and a newer API's extra fields pass.
 */

export const RUN_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled", "skipped"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** The statuses a run does not leave. */
export const ENDED_RUN_STATUSES: ReadonlySet<RunStatus> = new Set([
  "succeeded",
  "failed",
  "cancelled",
  "skipped",
]);

const timestamp = z.string();

export const runSummarySchema = z.looseObject({
  runId: z.string(),
  pipeline: z.string(),
  status: z.enum(RUN_STATUSES),
  trigger: z.looseObject({ kind: z.string(), scheduledTime: timestamp.optional() }).optional(),
  startedAt: timestamp.optional(),
  endedAt: timestamp.optional(),
  durationMs: z.number().optional(),
  rows: z.number().optional(),
  error: z.string().optional(),
  reason: z.string().optional(),
  failedSteps: z.array(z.string()).optional(),
  cancelledSteps: z.array(z.string()).optional(),
  activeRunId: z.string().optional(),
  queuedAt: timestamp.optional(),
});
export type RunSummary = z.infer<typeof runSummarySchema>;

export const stepRunSchema = z.looseObject({
  stage: z.string(),
  step: z.string(),
  tool: z.string(),
  status: z.enum(["running", "succeeded", "failed"]),
  externalId: z.string().optional(),
  link: z.string().optional(),
  rows: z.number().optional(),
  durationMs: z.number().optional(),
  error: z.string().optional(),
});

export const runDetailSchema = runSummarySchema.extend({ steps: z.array(stepRunSchema) });
export type RunDetail = z.infer<typeof runDetailSchema>;

/** GET /status */
export const statusOverviewSchema = z.looseObject({
  generatedAt: timestamp,
  pipelines: z.array(
    z.looseObject({
      name: z.string(),
      health: z.enum(["healthy", "failing", "running", "never-run", "paused"]),
      lastRun: runSummarySchema.nullable(),
      nextScheduledAt: timestamp.nullable(),
      schedule: z.looseObject({ expression: z.string(), timezone: z.string(), enabled: z.boolean() }),
    }),
  ),
  controlPlane: z.looseObject({ deadLetters: z.number() }).optional(),
});
export type StatusOverview = z.infer<typeof statusOverviewSchema>;

/** GET /pipelines/{name}/runs */
export const runsPageSchema = z.looseObject({
  pipeline: z.string(),
  runs: z.array(runSummarySchema),
  nextCursor: z.string().nullable(),
});
export type RunsPage = z.infer<typeof runsPageSchema>;

/**
 * An event as the API lists it: the envelope is checked here; the CLI formats it with the event
 * catalog's own schema when it knows the detail-type, and as a plain line when it does not (an API
 * newer than this CLI).
 */
export const listedEventSchema = z.looseObject({
  "detail-type": z.string(),
  detail: z.looseObject({
    metadata: z.looseObject({ id: z.string(), occurredAt: timestamp, pipeline: z.string().optional() }),
    data: z.unknown(),
  }),
});
export type ListedEvent = z.infer<typeof listedEventSchema>;

/** GET /runs/{runId}/events */
export const runEventsSchema = z.looseObject({ runId: z.string(), events: z.array(listedEventSchema) });
export type RunEvents = z.infer<typeof runEventsSchema>;

/** POST /pipelines/{name}/runs (202) */
export const triggerAcceptedSchema = z.looseObject({
  runId: z.string(),
  pipeline: z.string(),
  status: z.enum(["accepted", "queued"]),
});
export type TriggerAccepted = z.infer<typeof triggerAcceptedSchema>;

/** POST /runs/{runId}/cancel (202) */
export const cancelAcceptedSchema = z.looseObject({
  runId: z.string(),
  pipeline: z.string(),
  status: z.literal("cancelling"),
});
export type CancelAccepted = z.infer<typeof cancelAcceptedSchema>;

/** An RFC 9457 problem, as every refusal of the API is answered. */
export const problemSchema = z.looseObject({
  status: z.number().optional(),
  title: z.string().optional(),
  detail: z.string().optional(),
  /** API Gateway's own refusals (403, 429) are {"message": "..."} */
  message: z.string().optional(),
  errors: z.array(z.looseObject({ field: z.string(), message: z.string() })).optional(),
});
