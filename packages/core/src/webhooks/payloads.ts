import { z } from "zod";
import type { JobKey, WebhookTool } from "./store";

/**
 * The tools' completion webhooks, read only for the job they name and what they claim. What a
 * webhook claims never decides a step's outcome: its receiver polls the job and acts on that.
 *
 * Airbyte (workspace notifications, "Successful Syncs" / "Failed Syncs"): `data.connection.id`,
 * `data.jobId` (a number), `data.success`, `data.errorMessage`, records and bytes committed;
 * unsigned, no cancel event. Slack-style text blocks may come beside `data` (and Airbyte's "Test"
 * button sends text alone): anything without `data.jobId` is not a job's end.
 * dbt Cloud (v3 webhooks): `eventType` (`job.run.started`, `job.run.completed`,
 * `job.run.errored`), `eventId`, `accountId`, `data.runId` and `data.jobId` (strings),
 * `data.runStatusCode` (10 success, 20 error, 30 cancelled).
 */

export type WebhookClaim = "succeeded" | "failed" | "cancelled" | "unknown";

/** What one webhook says: the job it is about (or why it is about none), and its claim. */
export type WebhookMessage =
  | {
      readonly kind: "job-ended";
      readonly job: JobKey;
      readonly claim: WebhookClaim;
      readonly eventId?: string;
    }
  | { readonly kind: "ignored"; readonly reason: string };

const id = z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]);

const airbytePayload = z.looseObject({
  data: z.looseObject({
    jobId: id,
    connection: z.looseObject({ id: z.string() }).optional(),
    success: z.boolean().optional(),
  }),
});

const dbtPayload = z.looseObject({
  eventType: z.string(),
  eventId: z.string().optional(),
  data: z.looseObject({
    runId: id,
    runStatusCode: z.number().int().optional(),
  }),
});

/** The dbt Cloud events that say a run is over (`job.run.errored` comes before the run's artifacts). */
const DBT_RUN_ENDED = new Set(["job.run.completed", "job.run.errored"]);

const DBT_CLAIMS: Readonly<Record<number, WebhookClaim>> = { 10: "succeeded", 20: "failed", 30: "cancelled" };

/** Reads a webhook's JSON `body` from `tool`. */
export function readWebhook(tool: WebhookTool, body: unknown): WebhookMessage {
  if (tool === "airbyte") {
    const parsed = airbytePayload.safeParse(body);
    if (!parsed.success) return { kind: "ignored", reason: "not a sync notification (no data.jobId)" };
    const { data } = parsed.data;
    return {
      kind: "job-ended",
      job: { tool, externalId: String(data.jobId) },
      claim: data.success === undefined ? "unknown" : data.success ? "succeeded" : "failed",
    };
  }
  const parsed = dbtPayload.safeParse(body);
  if (!parsed.success)
    return { kind: "ignored", reason: "not a job run event (no eventType and data.runId)" };
  const { eventType, eventId, data } = parsed.data;
  if (!DBT_RUN_ENDED.has(eventType))
    return { kind: "ignored", reason: `event ${eventType} does not end a run` };
  return {
    kind: "job-ended",
    job: { tool, externalId: String(data.runId) },
    claim: DBT_CLAIMS[data.runStatusCode ?? -1] ?? (eventType === "job.run.errored" ? "failed" : "unknown"),
    ...(eventId ? { eventId } : {}),
  };
}
