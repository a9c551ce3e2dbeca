import { z } from "zod";
import { longestScheduleGapMinutes } from "../alerts/staleness";
import type { ConfigIssue } from "../errors";
import { SECRET_NAME, secretNameProblem } from "../names";
import { formatPath } from "../zod-messages";

/**
 * The alerts part of the config: per pipeline, the thresholds it is watched against (a failed run,
 * a run too long, no success for too long); per step, a rows anomaly rule beside `minRows`; for
 * the whole deployment, who is told (e-mail addresses, a Slack incoming webhook named as a secret).
 * Every field has the default a user would pick, so a config without `alerts` is watched for
 * failed and stale runs and tells no one until an address or a webhook is given.
 */

/** A week: a run longer than that is not a pipeline but an outage. */
export const MAX_DURATION_MINUTES_LIMIT = 7 * 24 * 60;
/** A year: a pipeline that may go longer without a success is not watched for staleness. */
export const MAX_STALE_MINUTES_LIMIT = 366 * 24 * 60;

const maxDurationMinutes = z
  .number({ error: `expected minutes, a number above 0 and at most ${MAX_DURATION_MINUTES_LIMIT} (a week)` })
  .positive({
    error: `expected minutes, a number above 0 and at most ${MAX_DURATION_MINUTES_LIMIT} (a week)`,
  })
  .max(MAX_DURATION_MINUTES_LIMIT, {
    error: `expected minutes, a number above 0 and at most ${MAX_DURATION_MINUTES_LIMIT} (a week)`,
  });

const staleMessage = `expected whole minutes from 1 to ${MAX_STALE_MINUTES_LIMIT} (a year), or false to not watch for staleness; leave it out for twice the schedule's longest gap between runs`;
const maxStaleMinutes = z.union(
  [
    z.literal(false),
    z
      .number({ error: staleMessage })
      .int({ error: staleMessage })
      .min(1, { error: staleMessage })
      .max(MAX_STALE_MINUTES_LIMIT, { error: staleMessage }),
  ],
  { error: staleMessage },
);

/** A pipeline's own thresholds (`pipelines[i].alerts`). */
export const pipelineAlertsSchema = z.strictObject({
  /** Alert on any failed run (default true); the next successful run resolves it. */
  onFailure: z.boolean({ error: "expected true or false" }).default(true),
  /** Alert on a run that took longer than this (minutes; decimals allowed); none by default. */
  maxDurationMinutes: maxDurationMinutes.optional(),
  /**
   * Alert when no run succeeded for this long (whole minutes). Left out: twice the longest gap
   * between the schedule's runs (none for a disabled schedule); false: never.
   */
  maxStaleMinutes: maxStaleMinutes.optional(),
});

const stdDevsMessage =
  "expected the band's width in standard deviations, a number from 0.5 to 10 (default 2)";

/**
 * A step's rows far below its own history (`steps[j].rowsAnomaly`): true for a band of 2 standard
 * deviations, or `{ stdDevs }`. On AWS a CloudWatch anomaly-detection alarm on RowsSynced;
 * embedded, the same band over the step's last successful runs (docs/operations.md).
 */
export const rowsAnomalySchema = z.union(
  [
    z.boolean(),
    z.strictObject({
      stdDevs: z
        .number({ error: stdDevsMessage })
        .min(0.5, { error: stdDevsMessage })
        .max(10, { error: stdDevsMessage })
        .default(2),
    }),
  ],
  { error: "expected true (a band of 2 standard deviations), false, or { stdDevs: <number> }" },
);

const secretName = z.custom<string>((value) => secretNameProblem(value) === undefined, {
  error: (issue) =>
    issue.input === undefined
      ? `is required: expected the NAME of a secret, in ${SECRET_NAME.rule} (its value is set with \`tapestry secrets set\`)`
      : secretNameProblem(issue.input),
});

const emailAddress = z.email({ error: 'expected an e-mail address, e.g. "data-oncall@example.com"' });

/** Who is told of alerts, for the whole deployment (`alerts`). */
export const alertsSchema = z.strictObject({
  /** Addresses subscribed to the alerts topic (SNS e-mail: each confirms once from its inbox). */
  email: z
    .array(emailAddress, { error: 'expected a list of e-mail addresses, e.g. ["data-oncall@example.com"]' })
    .default([]),
  /** A Slack incoming webhook: the NAME of the secret holding its URL, never the URL. */
  slack: z
    .strictObject({
      webhookUrlSecret: secretName,
    })
    .optional(),
});

export type PipelineAlertsConfig = z.output<typeof pipelineAlertsSchema>;
export type RowsAnomalyConfig = z.output<typeof rowsAnomalySchema>;
export type AlertsConfig = z.output<typeof alertsSchema>;

/**
 * maxStaleMinutes shorter than the schedule's longest gap would call the pipeline stale between
 * every two runs: refused at its path, naming the gap and the fix.
 */
export function alertsIssues(
  config: {
    readonly pipelines: readonly {
      readonly alerts: PipelineAlertsConfig;
      readonly schedule: {
        readonly expression: string;
        readonly timezone: string;
        readonly enabled: boolean;
      };
    }[];
  },
  now?: Date,
): ConfigIssue[] {
  return config.pipelines.flatMap((pipeline, p): ConfigIssue[] => {
    const stale = pipeline.alerts.maxStaleMinutes;
    if (typeof stale !== "number" || !pipeline.schedule.enabled) return [];
    const gap = longestScheduleGapMinutes(pipeline.schedule, now);
    if (gap === undefined || stale >= gap) return [];
    return [
      {
        path: formatPath(["pipelines", p, "alerts", "maxStaleMinutes"]),
        message: `${stale} min is shorter than the longest gap between the runs of ${pipeline.schedule.expression} (${gap} min): the pipeline would be stale between runs; make it at least ${gap}, or leave it out for twice the gap`,
      },
    ];
  });
}
