import * as z from "zod";
import { DEPLOYMENT_STAGE_NAME, PIPELINE_NAME, STEP_NAME, TOOL_NAMES, type ToolName } from "../names";
import { checkScheduleExpression } from "../schedule/expression";
import { alertsSchema, pipelineAlertsSchema, rowsAnomalySchema } from "./alerts-schema";
import { hostingSchema } from "./hosting-schema";
import { provisioningSections } from "./provisioning-schema";
import { secretName } from "./secret-name";
import { checkTimeZone } from "./time-zone";
import { warehouseSchema } from "./warehouse-schema";
import {
  airbyteWebhookSchema,
  dbtCloudWebhookSchema,
  pollCompletionFields,
  webhookCompletionFields,
} from "./webhooks-schema";

export { TOOL_NAMES } from "../names";

/** Names end up in schedule names, execution names, metric dimensions and URLs: keep them plain. */
const name = z
  .string({ error: "expected a name (lower-case letters, digits and dashes)" })
  .regex(STEP_NAME.pattern, { error: `expected a name of ${STEP_NAME.rule}` });

const httpUrl = z
  .url({ protocol: /^https?$/, error: 'expected an http(s) URL, e.g. "https://api.airbyte.com/v1"' })
  .transform((u) => u.replace(/\/+$/, ""));

/**
 * A whole number from `min` to `max`, with one message for every way it can be wrong; the message
 * names the limits (without a `max`, the largest whole number JavaScript holds exactly).
 */
function wholeNumber(expected: string, min: number, max?: number) {
  // int() itself refuses numbers past Number.MAX_SAFE_INTEGER (as too_big)
  const unsafe = `${expected} of at most ${Number.MAX_SAFE_INTEGER}`;
  const number = z
    .number({ error: expected })
    .int({ error: (issue) => (issue.code === "too_big" ? unsafe : expected) })
    .min(min, { error: expected });
  return max === undefined ? number : number.max(max, { error: expected });
}

const positiveInt = wholeNumber("expected a positive integer", 1);

const requestTimeoutSeconds = wholeNumber("expected a whole number of seconds from 1 to 120", 1, 120).default(
  30,
);

const airbyteAuth = z.discriminatedUnion(
  "kind",
  [
    z.strictObject({
      kind: z.literal("client-credentials"),
      clientIdSecret: secretName,
      clientSecretSecret: secretName,
    }),
    z.strictObject({ kind: z.literal("bearer"), tokenSecret: secretName }),
    z.strictObject({ kind: z.literal("none") }),
  ],
  {
    error:
      'expected kind "client-credentials" (Airbyte Cloud/Enterprise applications), "bearer" (a static token) or "none" (open-source installs without auth)',
  },
);

export const airbyteToolSchema = z.strictObject({
  /** Airbyte Cloud: https://api.airbyte.com/v1; self-hosted: <host>/api/public/v1 */
  baseUrl: httpUrl.default("https://api.airbyte.com/v1"),
  /** The workspace's web address, for deep links (e.g. https://cloud.airbyte.com/workspaces/<id>) */
  webUrl: httpUrl.optional(),
  auth: airbyteAuth,
  requestTimeoutSeconds,
  webhook: airbyteWebhookSchema,
});

export const dbtCloudToolSchema = z.strictObject({
  /** https://cloud.getdbt.com, or your account's access URL such as https://ab123.us1.dbt.com */
  baseUrl: httpUrl.default("https://cloud.getdbt.com"),
  tokenSecret: secretName,
  requestTimeoutSeconds,
  webhook: dbtCloudWebhookSchema,
});

export const grouparooToolSchema = z.strictObject({
  /** The Grouparoo web server (the API lives under /api/v1) */
  baseUrl: httpUrl,
  webUrl: httpUrl.optional(),
  apiKeySecret: secretName,
  requestTimeoutSeconds,
});

const toolsSchema = z.strictObject({
  airbyte: airbyteToolSchema.optional(),
  "dbt-cloud": dbtCloudToolSchema.optional(),
  grouparoo: grouparooToolSchema.optional(),
} satisfies Record<ToolName, z.ZodType>);

const stepCommon = {
  name,
  /** The step fails with reason `timeout` (and its job is cancelled) after this long. */
  timeoutMinutes: wholeNumber("expected a whole number of minutes from 1 to 1440 (24 hours)", 1, 1440),
  pollIntervalSeconds: wholeNumber("expected a whole number of seconds from 1 to 3600", 1, 3600).default(30),
  /** A job that succeeds having moved fewer rows fails the step (Airbyte reports 0-row "successes"). */
  minRows: wholeNumber("expected a whole number of rows, 0 or more", 0).optional(),
  /** Alert when the step moves far fewer rows than its own history (config/alerts-schema.ts). */
  rowsAnomaly: rowsAnomalySchema.optional(),
};

export const airbyteStepSchema = z
  .strictObject({
    ...stepCommon,
    ...webhookCompletionFields,
    tool: z.literal("airbyte"),
    connectionId: z
      .uuid({ error: 'expected the Airbyte connection id, a UUID such as "9a3c...-...-..."' })
      .optional(),
    /** instead of connectionId: the name of a connection of airbyte.connections, resolved from what provisioning recorded */
    connection: name.optional(),
  })
  .superRefine((step, ctx) => {
    if ((step.connectionId === undefined) === (step.connection === undefined))
      ctx.addIssue({
        code: "custom",
        path: [step.connectionId === undefined ? "connection" : "connectionId"],
        message:
          step.connectionId === undefined
            ? 'is required: name the connection (connection: "<name>" of airbyte.connections) or give its connectionId'
            : "give connection or connectionId, not both: connection names a connection that provisioning creates",
      });
  });

export const dbtCloudStepSchema = z.strictObject({
  ...stepCommon,
  ...webhookCompletionFields,
  tool: z.literal("dbt-cloud"),
  accountId: positiveInt,
  jobId: positiveInt,
  /** Attach to a run of the same job already in flight instead of queueing a second one. */
  attachToInFlightRun: z.boolean({ error: "expected true or false" }).default(true),
});

export const grouparooStepSchema = z.strictObject({
  ...stepCommon,
  ...pollCompletionFields,
  tool: z.literal("grouparoo"),
  scheduleId: z
    .string({ error: "expected the Grouparoo schedule id" })
    .min(1, { error: "expected the Grouparoo schedule id" }),
  /** A run that completes with some failed imports counts as success (its error is still reported). */
  allowPartialSuccess: z.boolean({ error: "expected true or false" }).default(false),
});

export const stepSchema = z.discriminatedUnion(
  "tool",
  [airbyteStepSchema, dbtCloudStepSchema, grouparooStepSchema],
  {
    error: `expected a tool: one of ${TOOL_NAMES.map((t) => `"${t}"`).join(", ")}`,
  },
);

const stageSchema = z.strictObject({
  name,
  steps: z
    .array(stepSchema, { error: "expected a list of steps" })
    .min(1, { error: "a stage needs at least one step (its steps run in parallel)" }),
});

const scheduleSchema = z.strictObject({
  /** EventBridge Scheduler syntax: cron(minutes hours day-of-month month day-of-week year) or rate(value unit) */
  expression: z
    .string({ error: 'expected a schedule expression such as "cron(0 6 * * ? *)" or "rate(1 hour)"' })
    .superRefine((value, ctx) => {
      const problem = checkScheduleExpression(value);
      if (problem) ctx.addIssue({ code: "custom", message: problem, input: value });
    }),
  /** IANA time zone the cron expression is read in (daylight-saving aware) */
  timezone: z
    .string({ error: 'expected an IANA time zone such as "Europe/Berlin"' })
    .superRefine((value, ctx) => {
      const problem = checkTimeZone(value);
      if (problem) ctx.addIssue({ code: "custom", message: problem, input: value });
    })
    .default("UTC"),
  enabled: z.boolean({ error: "expected true or false" }).default(true),
});

/** Pipeline names also make run ids and execution names (at most 80 characters): keep them to 40. */
const pipelineName = z
  .string({ error: "expected a name (lower-case letters, digits and dashes)" })
  .regex(PIPELINE_NAME.pattern, { error: `expected a name of ${PIPELINE_NAME.rule}` });

/** Scheduler's limit for a schedule's description, where a pipeline's description goes. */
export const DESCRIPTION_MAX_LENGTH = 512;

export const pipelineSchema = z.strictObject({
  name: pipelineName,
  description: z
    .string({ error: `expected text of at most ${DESCRIPTION_MAX_LENGTH} characters` })
    .max(DESCRIPTION_MAX_LENGTH, { error: `expected text of at most ${DESCRIPTION_MAX_LENGTH} characters` })
    .optional(),
  schedule: scheduleSchema,
  /** What a run does when the previous run of the same pipeline is still going. */
  overlap: z
    .enum(["skip", "queue"], {
      error: 'expected "skip" (drop the new run) or "queue" (wait for the running one to finish)',
    })
    .default("skip"),
  stages: z
    .array(stageSchema, { error: "expected a list of stages" })
    .min(1, { error: "a pipeline needs at least one stage" }),
  /** The thresholds the pipeline is watched against (config/alerts-schema.ts). */
  alerts: pipelineAlertsSchema.prefault({}),
});

/** CloudWatch Logs accepts these retention periods only. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const stageName = z
  .string({ error: "expected a stage name" })
  .regex(DEPLOYMENT_STAGE_NAME.pattern, { error: `expected a stage name: ${DEPLOYMENT_STAGE_NAME.rule}` });

/** What `sst deploy` builds beyond the pipelines themselves. Every field has a default; the section is optional. */
export const awsDeploySchema = z.strictObject({
  /** Days the event archive keeps every event (for replay); 0 keeps them forever. */
  eventArchiveRetentionDays: wholeNumber("expected a whole number of days, 0 (forever) or more", 0).default(
    90,
  ),
  /** Stages whose ledger table, event bus and archive, and dead-letter queues survive `sst remove`. */
  retainDataOnStages: z
    .array(stageName, { error: 'expected a list of stage names, e.g. ["prod"]' })
    .default(["prod", "production"]),
  /**
   * Redeploy a stage of retainDataOnStages onto what it kept after `sst remove`: the stacks use the
   * kept table, bus, archive and dead-letter queues by name instead of creating them (ignored on
   * other stages, which keep nothing).
   */
  adoptRetainedData: z.boolean({ error: "expected true or false" }).default(false),
  /** Days the functions', state machine's and API's logs are kept. */
  logRetentionDays: z
    .number({ error: `expected one of CloudWatch's retention periods: ${LOG_RETENTION_DAYS.join(", ")}` })
    .refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), {
      error: `expected one of CloudWatch's retention periods: ${LOG_RETENTION_DAYS.join(", ")}`,
    })
    .default(30),
  statusApi: z
    .strictObject({
      /** Browser origins allowed to call the status API; none (the default) means CORS is closed. */
      corsAllowOrigins: z
        .array(httpUrl, { error: 'expected a list of origins, e.g. ["https://ops.example.com"]' })
        .default([]),
      /** Steady-state requests per second across the API, and the burst above it. */
      throttleRateLimit: positiveInt.default(10),
      throttleBurstLimit: positiveInt.default(20),
    })
    .prefault({}),
});

/** What the run reconciler does when a run's execution ended outside the state machine's paths. */
const reconcileSchema = z.strictObject({
  /**
   * The tools' jobs such a run left running: `cancel` them (default: nothing is left running
   * unwatched), or `leave` them running and report each one in the run's outcome.
   */
  jobs: z
    .enum(["cancel", "leave"], {
      error: 'expected "cancel" (stop the jobs the run left running) or "leave" (leave them and report them)',
    })
    .default("cancel"),
});

export const configSchema = z.strictObject({
  tools: toolsSchema,
  aws: awsDeploySchema.prefault({}),
  reconcile: reconcileSchema.prefault({}),
  alerts: alertsSchema.prefault({}),
  /** the Snowflake account Tapestry bootstraps (roles, users, warehouse, databases, grants) */
  warehouse: warehouseSchema.optional(),
  ...provisioningSections,
  /** the tools Tapestry hosts itself on AWS, their network and sizes (config/hosting-schema.ts) */
  provisioning: hostingSchema.optional(),
  pipelines: z
    .array(pipelineSchema, { error: "expected a list of pipelines" })
    .min(1, { error: "declare at least one pipeline" }),
});

export type TapestryConfigInput = z.input<typeof configSchema>;
export type TapestryConfig = z.output<typeof configSchema>;
export type ToolsConfig = TapestryConfig["tools"];
export type AwsDeployConfig = TapestryConfig["aws"];
export type AirbyteToolConfig = z.output<typeof airbyteToolSchema>;
export type DbtCloudToolConfig = z.output<typeof dbtCloudToolSchema>;
export type GrouparooToolConfig = z.output<typeof grouparooToolSchema>;
export type PipelineSpec = z.output<typeof pipelineSchema>;
export type StageSpec = PipelineSpec["stages"][number];
export type StepSpec = z.output<typeof stepSchema>;
export type AirbyteStep = z.output<typeof airbyteStepSchema>;
export type DbtCloudStep = z.output<typeof dbtCloudStepSchema>;
export type GrouparooStep = z.output<typeof grouparooStepSchema>;
