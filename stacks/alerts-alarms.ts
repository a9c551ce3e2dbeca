import {
  alarmPrefix,
  degradedAlarmName,
  type MissingData,
  type ThresholdAlarmSpec,
} from "@tapestry/core/alerts";
import { Duration, type Stack } from "aws-cdk-lib";
import {
  Alarm,
  AlarmRule,
  AnomalyDetectionAlarm,
  ComparisonOperator,
  CompositeAlarm,
  type IAlarm,
  type IAlarmAction,
  Metric,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import type { IStateMachine } from "aws-cdk-lib/aws-stepfunctions";
import type { Function as SstFunction } from "sst/constructs";
import { toolHostMetric } from "./alerts-dashboard";

/**
 * The alarms of the Alerts stack: one per threshold of each pipeline (from core's specs), a
 * composite "pipeline degraded" per pipeline (what e-mail and chat subscribers hear of), and the
 * control plane's health alarms (the state machine, every function, every dead-letter queue).
 */

const MISSING_DATA: Readonly<Record<MissingData, TreatMissingData>> = {
  breaching: TreatMissingData.BREACHING,
  notBreaching: TreatMissingData.NOT_BREACHING,
  ignore: TreatMissingData.IGNORE,
  missing: TreatMissingData.MISSING,
};

const COMPARISON: Readonly<Record<ThresholdAlarmSpec["comparison"], ComparisonOperator>> = {
  GreaterThanOrEqualToThreshold: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  GreaterThanThreshold: ComparisonOperator.GREATER_THAN_THRESHOLD,
  LessThanThreshold: ComparisonOperator.LESS_THAN_THRESHOLD,
  LessThanLowerThreshold: ComparisonOperator.LESS_THAN_LOWER_THRESHOLD,
};

/** `RunLock` -> `run-lock`, for alarm names. */
export function kebab(id: string): string {
  return id
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/[^A-Za-z0-9-]+/g, "-")
    .toLowerCase();
}

/** A threshold's alarm, without actions: the pipeline's composite alarm is what notifies. */
export function thresholdAlarm(stack: Stack, spec: ThresholdAlarmSpec): Alarm {
  const metric = new Metric({
    namespace: spec.metric.namespace,
    metricName: spec.metric.name,
    dimensionsMap: { ...spec.metric.dimensions },
    statistic: spec.metric.statistic,
    period: Duration.seconds(spec.metric.periodSeconds),
  });
  const common = {
    alarmName: spec.name,
    alarmDescription: `${spec.description}. Missing data: ${spec.missingDataReason}.`.slice(0, 1024),
    metric,
    evaluationPeriods: spec.evaluationPeriods,
    datapointsToAlarm: spec.datapointsToAlarm,
    comparisonOperator: COMPARISON[spec.comparison],
    treatMissingData: MISSING_DATA[spec.treatMissingData],
  };
  const id = `Threshold-${spec.name}`;
  return spec.kind === "anomaly"
    ? new AnomalyDetectionAlarm(stack, id, { ...common, stdDevs: spec.threshold })
    : new Alarm(stack, id, { ...common, threshold: spec.threshold });
}

/** Any of a pipeline's threshold alarms in ALARM: the pipeline is degraded; OK when all are. */
export function degradedAlarm(
  stack: Stack,
  stage: string,
  pipeline: string,
  alarms: readonly IAlarm[],
  action: IAlarmAction,
): CompositeAlarm {
  const composite = new CompositeAlarm(stack, `Degraded-${pipeline}`, {
    compositeAlarmName: degradedAlarmName(stage, pipeline),
    alarmDescription: `Tapestry ${stage}: pipeline ${pipeline} is degraded: one of its thresholds is breached (see its alarms ${alarmPrefix(stage)}${pipeline}-*, GET /alerts, and docs/operations.md)`,
    alarmRule: AlarmRule.anyOf(...alarms),
  });
  composite.addAlarmAction(action);
  composite.addOkAction(action);
  return composite;
}

/** The prefix of the health alarms the Slack notifier and the subscribers hear of. */
export function healthAlarmPrefix(stage: string): string {
  return `${alarmPrefix(stage)}health-`;
}

export interface HealthAlarmSpec {
  readonly name: string;
  readonly description: string;
  readonly metric: Metric;
  readonly threshold: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly treatMissingData: TreatMissingData;
  /** false: shown in the console and on the dashboard only (each case is already reported, with context) */
  readonly notifies: boolean;
}

const FIVE_MINUTES = Duration.minutes(5);

/**
 * The state machine's execution alarms. Throttled executions notify; failed, timed-out and aborted
 * ones do not: every such run is reported per pipeline by its run-failed rule (with the failed
 * step, the tool's error and link), and an execution that ends without its outcome being recorded
 * shows as the reconciler's errors and dead letters, which notify.
 */
export function stateMachineHealthAlarms(stage: string, stateMachine: IStateMachine): HealthAlarmSpec[] {
  const metric = (metricName: string) =>
    new Metric({
      namespace: "AWS/States",
      metricName,
      dimensionsMap: { StateMachineArn: stateMachine.stateMachineArn },
      statistic: "Sum",
      period: FIVE_MINUTES,
    });
  const quiet = (metricName: string, what: string): HealthAlarmSpec => ({
    name: `${alarmPrefix(stage)}executions-${kebab(metricName.replace(/^Executions?/, ""))}`,
    description: `Tapestry ${stage}: pipeline-run executions ${what} in the last 5 minutes. Each run is reported per pipeline (run-failed, GET /alerts): this alarm has no action. What to do: docs/operations.md`,
    metric: metric(metricName),
    threshold: 1,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    treatMissingData: TreatMissingData.NOT_BREACHING,
    notifies: false,
  });
  return [
    quiet("ExecutionsFailed", "failed"),
    quiet("ExecutionsTimedOut", "timed out"),
    quiet("ExecutionsAborted", "were aborted"),
    {
      name: `${healthAlarmPrefix(stage)}executions-throttled`,
      description: `Tapestry ${stage}: Step Functions throttled pipeline-run state transitions in the last 5 minutes: runs slow down. What to do: check the account's Step Functions quotas (StateTransition) and other state machines sharing them; docs/operations.md`,
      metric: metric("ExecutionThrottled"),
      threshold: 1,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      notifies: true,
    },
  ];
}

/**
 * The provisioning state machines' failed, timed-out and aborted executions: unlike a pipeline
 * run, a provisioning run has no per-pipeline rule that reports it, so each of these notifies (the
 * topic, and Slack through the health-alarm rule). What failed and why is the run's
 * ProvisioningFailed event and `GET /provisioning`.
 */
export function provisioningHealthAlarms(
  stage: string,
  machines: readonly { readonly name: string; readonly stateMachine: IStateMachine }[],
): HealthAlarmSpec[] {
  return machines.flatMap(({ name, stateMachine }) =>
    (
      [
        ["ExecutionsFailed", "failed"],
        ["ExecutionsTimedOut", "timed out"],
        ["ExecutionsAborted", "were stopped"],
      ] as const
    ).map(([metricName, what]) => ({
      name: `${healthAlarmPrefix(stage)}${name}-${kebab(metricName.replace(/^Executions?/, ""))}`,
      description: `Tapestry ${stage}: ${name} runs ${what} in the last 5 minutes: the tools or the warehouse may be half set up. What to do: GET /provisioning (or \`tapestry provision --stage ${stage}\`) names the failed step and its reason; fix it and run provisioning again (a re-run resumes); docs/operations.md`,
      metric: new Metric({
        namespace: "AWS/States",
        metricName,
        dimensionsMap: { StateMachineArn: stateMachine.stateMachineArn },
        statistic: "Sum",
        period: FIVE_MINUTES,
      }),
      threshold: 1,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      notifies: true,
    })),
  );
}

/**
 * The self-hosted Airbyte host's CPU, memory and disk (its CloudWatch agent's metrics by ToolHost):
 * a sync that needs more than the host has slows every job (the 2021 host ran out of CPU on a
 * Salesforce sync), a full disk stops Airbyte. Sustained CPU and memory (15 minutes), disk at once.
 * A host that reports nothing is not judged here: its health route is (provisioning, the runs).
 */
export function toolHostHealthAlarms(stage: string, toolHost: string): HealthAlarmSpec[] {
  const alarm = (
    what: string,
    metricName: string,
    threshold: number,
    periods: number,
    meaning: string,
  ): HealthAlarmSpec => ({
    name: `${healthAlarmPrefix(stage)}airbyte-host-${what}`,
    description: `Tapestry ${stage}: the Airbyte host's ${meaning} (${metricName} at or above ${threshold}% in ${periods} of the last ${periods} 5-minute periods). What to do: a larger provisioning.airbyteHost.instanceType or volumeGiB, then provision again; docs/operations.md`,
    metric: toolHostMetric(toolHost, metricName),
    threshold,
    evaluationPeriods: periods,
    datapointsToAlarm: periods,
    treatMissingData: TreatMissingData.NOT_BREACHING,
    notifies: true,
  });
  return [
    alarm("cpu", "cpu_usage_active", 90, 3, "CPU is saturated"),
    alarm("memory", "mem_used_percent", 90, 3, "memory is nearly all used"),
    alarm("disk", "disk_used_percent", 85, 1, "root volume is filling up"),
  ];
}

/**
 * A function's errors and throttles, sustained for 15 minutes (three 5-minute periods in a row):
 * the pipeline's tasks fail on purpose when a tool is down and the state machine retries them,
 * so a passing error is no alarm; one that lasts is.
 */
export function functionHealthAlarms(stage: string, id: string, fn: SstFunction): HealthAlarmSpec[] {
  const alarm = (metricName: "Errors" | "Throttles", what: string): HealthAlarmSpec => ({
    name: `${healthAlarmPrefix(stage)}${kebab(id)}-${metricName.toLowerCase()}`,
    description: `Tapestry ${stage}: function ${id} ${what} in each of the last three 5-minute periods. What to do: read its log group (the error's name says which), fix the cause (a secret, a permission, a tool); docs/operations.md`,
    metric: new Metric({
      namespace: "AWS/Lambda",
      metricName,
      dimensionsMap: { FunctionName: fn.functionName },
      statistic: "Sum",
      period: FIVE_MINUTES,
    }),
    threshold: 1,
    evaluationPeriods: 3,
    datapointsToAlarm: 3,
    treatMissingData: TreatMissingData.NOT_BREACHING,
    notifies: true,
  });
  return [alarm("Errors", "failed"), alarm("Throttles", "was throttled")];
}

/** A dead-letter queue that is not empty: something failed for good and waits to be redriven. */
export function deadLetterHealthAlarm(stage: string, id: string, queue: IQueue): HealthAlarmSpec {
  return {
    name: `${healthAlarmPrefix(stage)}${kebab(id)}`,
    description: `Tapestry ${stage}: dead-letter queue ${queue.queueName} holds messages: something failed for good after its retries. What to do: read a message (its attributes name the error), fix the cause, then redrive the queue; docs/operations.md`,
    metric: new Metric({
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensionsMap: { QueueName: queue.queueName },
      statistic: "Maximum",
      period: FIVE_MINUTES,
    }),
    threshold: 1,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    treatMissingData: TreatMissingData.NOT_BREACHING,
    notifies: true,
  };
}

export function healthAlarm(stack: Stack, spec: HealthAlarmSpec, action: IAlarmAction): Alarm {
  const alarm = new Alarm(stack, `Health-${spec.name}`, {
    alarmName: spec.name,
    alarmDescription: spec.description.slice(0, 1024),
    metric: spec.metric,
    threshold: spec.threshold,
    evaluationPeriods: spec.evaluationPeriods,
    datapointsToAlarm: spec.datapointsToAlarm,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: spec.treatMissingData,
  });
  if (spec.notifies) {
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
  }
  return alarm;
}
