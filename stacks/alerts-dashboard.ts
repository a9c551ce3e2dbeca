import { METRIC_NAMESPACE, type PipelineThresholds } from "@tapestry/core/alerts";
import { Duration, type Stack } from "aws-cdk-lib";
import {
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type IAlarm,
  type IWidget,
  Metric,
  SingleValueWidget,
  TextWidget,
} from "aws-cdk-lib/aws-cloudwatch";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import type { IStateMachine } from "aws-cdk-lib/aws-stepfunctions";
import type { Function as SstFunction } from "sst/constructs";
import { TOOL_HOST_DIMENSION } from "./tools/names";

/**
 * The stage's CloudWatch dashboard, `tapestry-<stage>`: per pipeline its runs, failures,
 * durations, rows per step and freshness beside its alarms; the control plane's executions,
 * function errors and dead-letter depths; and the self-hosted tools' hosts, when there are any.
 */

/**
 * The tools' hosts, once self-hosted tool stacks exist (issue 11 deploys them): the Airbyte EC2
 * host (its CPU from AWS/EC2; memory and disk from the CloudWatch agent's CWAgent namespace) and
 * the Grouparoo ECS services (CPU and memory from AWS/ECS). Empty today: Airbyte Cloud and a
 * Grouparoo run elsewhere have no hosts of ours to show.
 */
export interface SelfHostedTools {
  /** the ToolHost dimension's value of the host's CloudWatch agent metrics (stacks/tools/names.ts) */
  readonly airbyteHost?: { readonly toolHost: string };
  readonly grouparoo?: { readonly clusterName: string; readonly serviceNames: readonly string[] };
}

const HOUR = Duration.hours(1);
const FIVE_MINUTES = Duration.minutes(5);

const tapestryMetric = (
  metricName: string,
  dimensionsMap: Record<string, string>,
  statistic: string,
  label: string,
  period = HOUR,
) => new Metric({ namespace: METRIC_NAMESPACE, metricName, dimensionsMap, statistic, period, label });

/** A pipeline's row of widgets: runs and failures, durations, rows per step, freshness, its alarms. */
export function pipelineWidgets(thresholds: PipelineThresholds, alarms: readonly IAlarm[]): IWidget[][] {
  const run = { Pipeline: thresholds.pipeline };
  return [
    [new TextWidget({ markdown: `## ${thresholds.pipeline}`, width: 24, height: 1 })],
    [
      new GraphWidget({
        title: `${thresholds.pipeline}: runs`,
        left: [
          tapestryMetric("RunSucceeded", run, "Sum", "succeeded"),
          tapestryMetric("RunFailed", run, "Sum", "failed"),
          tapestryMetric("RunSkipped", run, "Sum", "skipped"),
        ],
        width: 6,
      }),
      new GraphWidget({
        title: `${thresholds.pipeline}: run duration (s)`,
        left: [tapestryMetric("RunDurationSeconds", run, "Maximum", "longest run")],
        width: 6,
      }),
      new GraphWidget({
        title: `${thresholds.pipeline}: rows per step`,
        left: thresholds.steps.map((step) =>
          tapestryMetric("RowsSynced", { ...run, Step: step.step }, "Sum", `${step.stage}/${step.step}`),
        ),
        width: 6,
      }),
      new SingleValueWidget({
        title: `${thresholds.pipeline}: minutes since the last success`,
        metrics: [tapestryMetric("MinutesSinceLastSuccess", run, "Maximum", "minutes", FIVE_MINUTES)],
        width: 6,
      }),
    ],
    ...(alarms.length > 0
      ? [
          [
            new AlarmStatusWidget({
              title: `${thresholds.pipeline}: alarms`,
              alarms: [...alarms],
              width: 24,
              height: 3,
            }),
          ],
        ]
      : []),
  ];
}

/** The control plane's row: executions, function errors, dead-letter depths. */
export function controlPlaneWidgets(
  stateMachine: IStateMachine,
  functions: readonly { readonly id: string; readonly fn: SstFunction }[],
  queues: readonly { readonly id: string; readonly queue: IQueue }[],
): IWidget[][] {
  const execution = (metricName: string, label: string) =>
    new Metric({
      namespace: "AWS/States",
      metricName,
      dimensionsMap: { StateMachineArn: stateMachine.stateMachineArn },
      statistic: "Sum",
      period: FIVE_MINUTES,
      label,
    });
  return [
    [new TextWidget({ markdown: "## Control plane", width: 24, height: 1 })],
    [
      new GraphWidget({
        title: "pipeline-run executions",
        left: [
          execution("ExecutionsSucceeded", "succeeded"),
          execution("ExecutionsFailed", "failed"),
          execution("ExecutionsTimedOut", "timed out"),
          execution("ExecutionsAborted", "aborted"),
          execution("ExecutionThrottled", "throttled"),
        ],
        width: 8,
      }),
      new GraphWidget({
        title: "function errors",
        left: functions.map(
          ({ id, fn }) =>
            new Metric({
              namespace: "AWS/Lambda",
              metricName: "Errors",
              dimensionsMap: { FunctionName: fn.functionName },
              statistic: "Sum",
              period: FIVE_MINUTES,
              label: id,
            }),
        ),
        width: 8,
      }),
      new GraphWidget({
        title: "dead-letter queues (messages waiting)",
        left: queues.map(
          ({ id, queue }) =>
            new Metric({
              namespace: "AWS/SQS",
              metricName: "ApproximateNumberOfMessagesVisible",
              dimensionsMap: { QueueName: queue.queueName },
              statistic: "Maximum",
              period: FIVE_MINUTES,
              label: id,
            }),
        ),
        width: 8,
      }),
    ],
  ];
}

/**
 * A metric of a tool host's CloudWatch agent, rolled up by its ToolHost dimension (the agent's
 * aggregation_dimensions), so it is known at deploy time, before the host and its instance id are.
 */
export function toolHostMetric(toolHost: string, metricName: string, label?: string): Metric {
  return new Metric({
    namespace: "CWAgent",
    metricName,
    dimensionsMap: { [TOOL_HOST_DIMENSION]: toolHost },
    statistic: "Maximum",
    period: FIVE_MINUTES,
    // a label makes an alarm's metric a metric-math entry: only the dashboard's graphs name theirs
    ...(label === undefined ? {} : { label }),
  });
}

/** The hosts' widgets: none for a tool that has no host of ours (the rule a test holds it to). */
export function hostWidgets(tools: SelfHostedTools): IWidget[][] {
  const rows: IWidget[][] = [];
  if (tools.airbyteHost) {
    const { toolHost } = tools.airbyteHost;
    rows.push([
      new GraphWidget({
        title: "Airbyte host: CPU, memory, disk (%)",
        left: [
          toolHostMetric(toolHost, "cpu_usage_active", "CPU"),
          toolHostMetric(toolHost, "mem_used_percent", "memory"),
          toolHostMetric(toolHost, "disk_used_percent", "disk"),
        ],
        width: 12,
      }),
    ]);
  }
  if (tools.grouparoo && tools.grouparoo.serviceNames.length > 0) {
    const { clusterName, serviceNames } = tools.grouparoo;
    const service = (metricName: string, serviceName: string) =>
      new Metric({
        namespace: "AWS/ECS",
        metricName,
        dimensionsMap: { ClusterName: clusterName, ServiceName: serviceName },
        statistic: "Average",
        period: FIVE_MINUTES,
        label: `${serviceName} ${metricName === "CPUUtilization" ? "CPU" : "memory"}`,
      });
    rows.push([
      new GraphWidget({
        title: "Grouparoo services: CPU and memory (%)",
        left: serviceNames.flatMap((name) => [
          service("CPUUtilization", name),
          service("MemoryUtilization", name),
        ]),
        width: 12,
      }),
    ]);
  }
  return rows.length > 0
    ? [[new TextWidget({ markdown: "## Tool hosts", width: 24, height: 1 })], ...rows]
    : [];
}

export function alertsDashboard(stack: Stack, name: string, rows: readonly IWidget[][]): Dashboard {
  return new Dashboard(stack, "Dashboard", {
    dashboardName: name,
    defaultInterval: Duration.days(7),
    widgets: rows.map((row) => [...row]),
  });
}
