import type { TapestryConfig } from "../config/schema";
import type { AlertRule } from "../events";
import { METRIC_NAMESPACE, type MetricDimensions, type MetricName } from "./metrics";
import { type PipelineThresholds, pipelineThresholds } from "./thresholds";

/**
 * Each threshold of each pipeline as the CloudWatch alarm that watches it on AWS: the stack builds
 * the alarms from these specs, the operations guide documents them, and the alert evaluator finds
 * an alarm's threshold by its name. One place, so an alarm and its meaning cannot drift apart.
 */

/** CloudWatch's names for how missing data points count (the alarm's TreatMissingData). */
export type MissingData = "breaching" | "notBreaching" | "ignore" | "missing";

export type Comparison =
  | "GreaterThanOrEqualToThreshold"
  | "GreaterThanThreshold"
  | "LessThanThreshold"
  | "LessThanLowerThreshold";

export interface ThresholdAlarmSpec {
  /** `tapestry-<stage>-<pipeline>-<rule>[-<step>]`, unique in the account and region */
  readonly name: string;
  readonly pipeline: string;
  readonly rule: AlertRule;
  readonly stage?: string;
  readonly step?: string;
  readonly description: string;
  readonly metric: {
    readonly namespace: typeof METRIC_NAMESPACE;
    readonly name: MetricName;
    readonly dimensions: MetricDimensions;
    readonly statistic: "Maximum" | "Minimum";
    readonly periodSeconds: number;
  };
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly comparison: Comparison;
  /** the threshold itself; for an anomaly band, its width in standard deviations */
  readonly threshold: number;
  readonly treatMissingData: MissingData;
  /** why this missing-data treatment (docs/operations.md shows it) */
  readonly missingDataReason: string;
  readonly kind: "static" | "anomaly";
}

/** The prefix of every alarm of a stage; health alarms add `health-`. */
export function alarmPrefix(stage: string): string {
  return `tapestry-${stage}-`;
}

export function thresholdAlarmName(
  stage: string,
  key: { pipeline: string; rule: AlertRule; step?: string },
): string {
  return `${alarmPrefix(stage)}${key.pipeline}-${key.rule}${key.step ? `-${key.step}` : ""}`;
}

/** The composite "pipeline degraded" alarm of a pipeline: any of its threshold alarms in ALARM. */
export function degradedAlarmName(stage: string, pipeline: string): string {
  return `${alarmPrefix(stage)}${pipeline}-degraded`;
}

/** A run's figures arrive once per run: one data point, judged in the minute it lands. */
const PER_RUN_PERIOD_SECONDS = 60;
/** The freshness check writes every 5 minutes: a 10-minute period always holds one, whatever the jitter. */
export const FRESHNESS_PERIOD_SECONDS = 600;
/** The anomaly model's granularity: the lowest run of each hour against the band. */
export const ANOMALY_PERIOD_SECONDS = 3600;

const KEEP_STATE =
  "ignore: a figure comes once per run, so the minutes between runs have no data; the alarm keeps its state until the next run's figure says otherwise";

/** The alarms of one pipeline's thresholds, in the order of the rules. */
export function pipelineAlarmSpecs(stage: string, thresholds: PipelineThresholds): ThresholdAlarmSpec[] {
  const { pipeline } = thresholds;
  const specs: ThresholdAlarmSpec[] = [];
  const run = { Pipeline: pipeline };
  const perRun = (
    metric: MetricName,
    dimensions: MetricDimensions,
    statistic: "Maximum" | "Minimum",
  ): ThresholdAlarmSpec["metric"] => ({
    namespace: METRIC_NAMESPACE,
    name: metric,
    dimensions,
    statistic,
    periodSeconds: PER_RUN_PERIOD_SECONDS,
  });
  const once = { evaluationPeriods: 1, datapointsToAlarm: 1 } as const;

  if (thresholds.onFailure) {
    specs.push({
      name: thresholdAlarmName(stage, { pipeline, rule: "run-failed" }),
      pipeline,
      rule: "run-failed",
      description: `Tapestry ${stage}: a run of ${pipeline} failed (RunFailed is 1 per failed run, 0 per successful one); OK again when a run succeeds`,
      metric: perRun("RunFailed", run, "Maximum"),
      ...once,
      comparison: "GreaterThanOrEqualToThreshold",
      threshold: 1,
      treatMissingData: "ignore",
      missingDataReason: KEEP_STATE,
      kind: "static",
    });
  }
  if (thresholds.maxDurationMinutes !== undefined) {
    specs.push({
      name: thresholdAlarmName(stage, { pipeline, rule: "run-too-long" }),
      pipeline,
      rule: "run-too-long",
      description: `Tapestry ${stage}: a run of ${pipeline} took longer than ${thresholds.maxDurationMinutes} min; OK again when a run ends within it`,
      metric: perRun("RunDurationSeconds", run, "Maximum"),
      ...once,
      comparison: "GreaterThanThreshold",
      threshold: Math.round(thresholds.maxDurationMinutes * 60),
      treatMissingData: "ignore",
      missingDataReason: KEEP_STATE,
      kind: "static",
    });
  }
  for (const step of thresholds.steps) {
    if (step.minRows === undefined) continue;
    specs.push({
      name: thresholdAlarmName(stage, { pipeline, rule: "rows-below-minimum", step: step.step }),
      pipeline,
      rule: "rows-below-minimum",
      stage: step.stage,
      step: step.step,
      description: `Tapestry ${stage}: ${pipeline} ${step.stage}/${step.step} moved fewer than its minRows of ${step.minRows}; OK again when it moves enough`,
      metric: perRun("RowsSynced", { Pipeline: pipeline, Step: step.step }, "Minimum"),
      ...once,
      comparison: "LessThanThreshold",
      threshold: step.minRows,
      treatMissingData: "ignore",
      missingDataReason: KEEP_STATE,
      kind: "static",
    });
  }
  if (thresholds.maxStaleMinutes !== undefined) {
    specs.push({
      name: thresholdAlarmName(stage, { pipeline, rule: "stale" }),
      pipeline,
      rule: "stale",
      description: `Tapestry ${stage}: no run of ${pipeline} succeeded within ${thresholds.maxStaleMinutes} min (or the freshness check stopped reporting); OK again once one does`,
      metric: {
        namespace: METRIC_NAMESPACE,
        name: "MinutesSinceLastSuccess",
        dimensions: run,
        statistic: "Maximum",
        periodSeconds: FRESHNESS_PERIOD_SECONDS,
      },
      ...once,
      comparison: "GreaterThanThreshold",
      threshold: thresholds.maxStaleMinutes,
      treatMissingData: "breaching",
      missingDataReason:
        "breaching: the freshness check writes every 5 minutes, so a 10-minute period without data means nothing is checking; silence is the failure this alarm exists for",
      kind: "static",
    });
  }
  for (const step of thresholds.steps) {
    if (step.rowsAnomaly === undefined) continue;
    specs.push({
      name: thresholdAlarmName(stage, { pipeline, rule: "rows-anomaly", step: step.step }),
      pipeline,
      rule: "rows-anomaly",
      stage: step.stage,
      step: step.step,
      description: `Tapestry ${stage}: ${pipeline} ${step.stage}/${step.step} moved far fewer rows than its history (below the anomaly band of ${step.rowsAnomaly.stdDevs} standard deviations); OK again when it is back in the band`,
      metric: {
        namespace: METRIC_NAMESPACE,
        name: "RowsSynced",
        dimensions: { Pipeline: pipeline, Step: step.step },
        statistic: "Minimum",
        periodSeconds: ANOMALY_PERIOD_SECONDS,
      },
      ...once,
      comparison: "LessThanLowerThreshold",
      threshold: step.rowsAnomaly.stdDevs,
      treatMissingData: "ignore",
      missingDataReason: KEEP_STATE,
      kind: "anomaly",
    });
  }
  return specs;
}

/** Every threshold alarm of a deployment, pipeline by pipeline. */
export function thresholdAlarmSpecs(
  config: Pick<TapestryConfig, "pipelines">,
  stage: string,
  from?: Date,
): ThresholdAlarmSpec[] {
  return config.pipelines.flatMap((pipeline) =>
    pipelineAlarmSpecs(stage, pipelineThresholds(pipeline, from)),
  );
}
